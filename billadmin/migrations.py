"""What every migration set shares: running a migration's SQL script.

A leaf module (it imports nothing from billadmin) so that schema.py, which lists every domain's
migration set, and the domains' schema modules, which use this, form no import cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .db import Database


def exec_statements(db: Database, sql: str) -> None:
    """Run a migration's SQL, statement by statement (statements end with ";" and a newline)."""
    for stmt in [s.strip() for s in sql.split(";\n") if s.strip()]:
        db.execute(stmt)
