"""Creating and upgrading a database: the domain behind `billadmin init`."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import audit, db, integrity


@dataclass
class InitResult:
    path: str
    created: bool
    migrations: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def init_database(path=None) -> InitResult:
    p = db.resolve_path(path)
    created = not p.exists()
    conn = db.connect(p, create=True, migrate=False)
    applied = db.migrate_db(conn)
    res = InitResult(str(p), created, applied)
    res.lines.append(f"{'Created' if created else 'Opened'} {p} (mode 0600, WAL)")
    if applied:
        res.lines.append(f"Applied {len(applied)} migration(s): " + ", ".join(applied))
    else:
        res.lines.append("Schema is up to date")
    restored = integrity.restore_triggers(conn)
    if restored:
        res.lines.append(
            f"Restored {len(restored)} protective trigger(s) that were missing or changed: "
            + ", ".join(restored)
        )
    for step in post_init_steps():
        msg = step(conn)
        if msg:
            res.lines.append(msg)
    with db.write(conn):
        audit.record(conn, "init", detail={"created": created, "migrations": len(applied)})
    conn.close()
    return res


def post_init_steps():
    """Loaders that run after migrations (code sets, reference tables). Each is idempotent and
    returns a one-line message or None."""
    from .codesets.loader import (
        ensure_icd10cm,
    )  # ICD-10-CM from the bundled CDC release, if none is loaded

    return [ensure_icd10cm]
