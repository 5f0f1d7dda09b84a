"""The core every area builds on: the database and its migrations, the books (ledger, accounts, money), text,
identity, settings, keys, the clock and errors. It imports no area."""
