"""`codes check --file charges.csv`: scrub a charge file without importing it.

The file is read by the charge import itself (billadmin/ingest: the same columns, mapping,
date formats and validation a clerk gets from `billadmin import charges`), inside a write
transaction that is always rolled back: the scrubber sees the file's encounters as they would
be after the import, and nothing is written (no encounters, no import batch, no audit row).
A file the import would refuse (bad cells, unknown MRN or NPI) fails the same way, exit 2.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import db as dbmod
from ..errors import BadInput
from ..findings import Finding

if TYPE_CHECKING:
    from ..db import Database


class _Rollback(Exception):
    "Always raised: the file is checked, never imported."


@dataclass
class FileCheck:
    file: str
    rows: int = 0
    encounters: int = 0
    lines: int = 0
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _file_encounter_numbers(path: Path, sheet: str | None, encoding: str) -> set[str]:
    from ..ingest.readers import normalise_header, open_table

    with open_table(path, sheet=sheet, encoding=encoding) as t:
        keys = [normalise_header(h) for h in t.headers]
        i = next(
            (k for k, h in enumerate(keys) if h in ("encounter", "encounternumber", "encounterno")),
            None,
        )
        if i is None:
            return set()
        return {str(cells[i]).strip() for _, cells in t if str(cells[i]).strip()}


def check_file(
    conn: Database,
    path,
    *,
    as_of: _dt.date | None = None,
    sheet: str | None = None,
    encoding: str = "utf-8",
    map_file: Path | None = None,
    profile: str | None = None,
    date_format: str | None = None,
) -> FileCheck:
    try:
        from ..ingest.engine import ImportOptions, run_import
    except ImportError:  # pragma: no cover - the import package is part of billadmin
        raise BadInput(
            "--file needs the charge import (billadmin.ingest), which is not installed"
        ) from None
    from . import check

    path = Path(path)
    as_of = as_of or _dt.date.today()
    out = FileCheck(path.name)
    opts = ImportOptions(
        sheet=sheet,
        encoding=encoding,
        map_file=map_file,
        profile=profile,
        date_format=date_format,
        today=as_of,
    )
    c = conn.conn
    try:
        with dbmod.write(conn):
            max_enc = c.execute("SELECT COALESCE(MAX(id), 0) FROM encounters").fetchone()[0]
            max_line = c.execute("SELECT COALESCE(MAX(id), 0) FROM charge_lines").fetchone()[0]
            result = run_import(conn, "charges", path, opts)
            out.rows = result.rows_total
            numbers = _file_encounter_numbers(path, sheet, encoding)
            ids = {
                r[0]
                for r in c.execute(
                    "SELECT id FROM encounters WHERE id > ? UNION SELECT encounter_id FROM charge_lines WHERE id > ?",
                    (max_enc, max_line),
                )
            }
            if numbers:
                import json

                ids |= {
                    r[0]
                    for r in c.execute(
                        "SELECT id FROM encounters WHERE number IN (SELECT value FROM json_each(?))",
                        (json.dumps(sorted(numbers)),),
                    )
                }
            billed = c.execute(
                "SELECT COUNT(DISTINCT e.id) FROM encounters e WHERE e.id IN (SELECT value FROM json_each(?))"
                " AND NOT EXISTS (SELECT 1 FROM charge_lines l WHERE l.encounter_id = e.id AND +l.status = 'unbilled')",
                (_json(ids),),
            ).fetchone()[0]
            if billed:
                out.notes.append(
                    f"{billed} encounter(s) of the file are already billed: not scrubbed again"
                )
            if result.conflict_count:
                out.notes.append(
                    f"{result.conflict_count} row(s) differ from encounters already recorded; the recorded "
                    f"version was checked (import with --update to replace it)"
                )
            # the ids exist only inside this rolled-back transaction: findings name encounters by number
            out.findings = [
                dataclasses.replace(f, encounter_id=None)
                for f in check(conn, encounter_ids=sorted(ids), as_of=as_of)
            ]
            out.encounters = len(ids) - billed
            out.lines = c.execute(
                "SELECT COUNT(*) FROM charge_lines WHERE +status = 'unbilled' AND encounter_id IN"
                " (SELECT value FROM json_each(?))",
                (_json(ids),),
            ).fetchone()[0]
            raise _Rollback()
    except _Rollback:
        pass
    return out


def _json(ids) -> str:
    import json

    return json.dumps(sorted(ids))
