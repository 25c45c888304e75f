"""PHI reads are audited by the domain function that returns the rows (45 CFR 164.312(b)):
`patient list`, `payment list`, `invoice list` (and `patient show`, `note list` in their own
modules) each record one row with the count, never a search term.

A database that cannot be written (a read-only copy under review, a file marked immutable) can
still be read: anyone who can read the file can read it with sqlite3, so refusing would protect
nothing. The read goes ahead and stderr says it was not recorded.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from . import audit
from . import db as dbmod

if TYPE_CHECKING:
    from .db import Database


def record_read(conn: Database, action: str, **kw: Any) -> None:
    """audit.record(conn, action, **kw) in its own write transaction; on a read-only database a
    warning instead (see the module docstring). Any other failure propagates."""
    try:
        with dbmod.write(conn):
            audit.record(conn, action, **kw)
    except Exception as e:
        msg = str(e).lower()
        if not (dbmod.is_db_error(e) and ("readonly" in msg or "read-only" in msg)):
            raise
        sys.stderr.write(
            f"Warning: the database is read-only: this {action} is not in the audit log\n"
        )
