"""Audit log: one append-only, hash-chained row per command that writes or shows PHI.

Rule: HIPAA Security Rule audit controls, 45 CFR 164.312(b). Each row stores the OS user, the
command, the entity kind and internal ids (never PHI values), counts, UTC time, the previous
row's hash, and hash = sha256(canonical JSON of the row + prev_hash). Triggers abort UPDATE and
DELETE; verify() recomputes the chain so a row changed or removed behind our back is detected.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import hashlib
import json
import os
from dataclasses import dataclass

GENESIS = "0" * 64
_FIELDS = ("at", "os_user", "command", "action", "entity", "entity_ids", "row_count", "detail")

# The command line being run, set once by the CLI (argv without values that could be PHI is
# not knowable in general, so only the command path is kept: "import patients").
current_command = "python"


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def utcnow() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def _hash(row: dict, prev_hash: str) -> str:
    payload = json.dumps({k: row.get(k) for k in _FIELDS}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((payload + prev_hash).encode()).hexdigest()


def record(
    db,
    action: str,
    *,
    entity: str | None = None,
    ids=None,
    count: int | None = None,
    detail: dict | str | None = None,
    command: str | None = None,
) -> int:
    """Append one audit row. Call inside the command's write transaction."""
    if not db.conn.in_transaction:
        raise RuntimeError("audit.record must run inside db.write()")
    prev = db.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    prev_hash = prev[0] if prev else GENESIS
    if ids is not None and not isinstance(ids, str):
        ids = ",".join(str(i) for i in ids)
    if detail is not None and not isinstance(detail, str):
        detail = json.dumps(detail, sort_keys=True, default=str)
    row = {
        "at": utcnow(),
        "os_user": os_user(),
        "command": command or current_command,
        "action": action,
        "entity": entity,
        "entity_ids": ids,
        "row_count": count,
        "detail": detail,
    }
    row["prev_hash"] = prev_hash
    row["hash"] = _hash(row, prev_hash)
    cur = db.execute(
        "INSERT INTO audit_log (at, os_user, command, action, entity, entity_ids, row_count, detail, prev_hash, hash)"
        " VALUES (:at, :os_user, :command, :action, :entity, :entity_ids, :row_count, :detail, :prev_hash, :hash)",
        row,
    )
    return cur.lastrowid


@dataclass(frozen=True)
class ChainBreak:
    audit_id: int
    reason: str


def verify(db) -> list[ChainBreak]:
    """Recompute the chain; every break is returned (empty list: intact)."""
    breaks: list[ChainBreak] = []
    prev_hash = GENESIS
    prev_id = 0
    cols = ", ".join(("id",) + _FIELDS + ("prev_hash", "hash"))
    for r in db.execute(f"SELECT {cols} FROM audit_log ORDER BY id"):
        row = dict(zip(("id",) + _FIELDS + ("prev_hash", "hash"), r, strict=True))
        if row["id"] != prev_id + 1:
            breaks.append(ChainBreak(row["id"], f"rows {prev_id + 1}..{row['id'] - 1} are missing"))
        if row["prev_hash"] != prev_hash:
            breaks.append(ChainBreak(row["id"], "prev_hash does not match the previous row's hash"))
        if _hash(row, row["prev_hash"]) != row["hash"]:
            breaks.append(ChainBreak(row["id"], "row content does not match its hash (edited)"))
        prev_hash, prev_id = row["hash"], row["id"]
    return breaks
