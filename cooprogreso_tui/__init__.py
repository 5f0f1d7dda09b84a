"""Cooprogreso en línea — terminal edition: the App, its CLI and configuration."""

__version__ = "0.1.0"
