"""Cooprogreso service layer: SQLite-backed, no UI imports, usable from tests, the CLI and scripts."""
