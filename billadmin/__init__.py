"""billadmin: medical billing from the terminal, over one local SQLite file."""

__version__ = "0.1.0"
