"""`billadmin init`: create or upgrade a database."""

from __future__ import annotations

from . import note, state


def init():
    """Create or upgrade a database (idempotent) and say what was done.

    Example:
        billadmin --db practice.db init
    """
    from .. import setup

    result = setup.init_database(state.db_path)
    for line in result.lines:
        note(line)
