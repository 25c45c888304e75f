"""ICD-10-PCS (inpatient hospital procedures): CMS's order file loaded as a versioned code set.

`billadmin codes load icd10pcs icd10pcs_order_2026.txt` reads CMS's order file (from the
ICD-10-PCS page of the release year on cms.gov, in the "Code Tables and Index" zip). Its layout
(CMS icd10pcsOrderFile.pdf; the same as ICD-10-CM's order file):

    columns 1-5   order number, right-justified, zero-filled
    column  6     blank
    columns 7-13  the code, no dots (a 3-character table header is padded with blanks)
    column  14    blank
    column  15    0 = a header, not valid on a UB-04 / 837I; 1 = valid for submission
    column  16    blank
    columns 17-76 short description (60)
    column  77    blank
    columns 78-   long description (up to 300)

Releases: the fiscal-year release takes effect October 1 (CMS has also issued April 1 updates
since FY2024) and stays in force until the next one; without a later release, to the next
September 30 (as for ICD-10-CM). A release is a row of ``pcs_versions`` with that window and
the file's sha256; each code row has its own window (a later release closes the row of a code
it deletes or changes, the day before it takes effect), so an inpatient claim is checked
against the release in force on its dates. Every row is checked first: a bad record is refused
with the file, row and columns, exit 2, nothing written.

License: ICD-10-PCS is developed and maintained by CMS, a U.S. government work in the public
domain: codes and descriptions may be shipped and shown. ``pcs_order_2026_excerpt.txt`` beside
this module is a small excerpt of the FY2026 codes in the order file's layout, for the tests and
the demo (order numbers and header texts are the excerpt's own); load the real file to bill.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadInput, InvalidRows, Problem
from .icd10cm import infer_release, release_through
from .store import ChangeReport, count_changes, day_before, now_utc

if TYPE_CHECKING:
    from ..db import Database

SYSTEM = "icd10pcs"
LICENSE = "public domain (CMS, U.S. government work)"
SAMPLE = Path(__file__).with_name("pcs_order_2026_excerpt.txt")
# ICD-10-PCS characters: digits and letters except I and O (ICD-10-PCS Official Guidelines A.2)
CODE_RX = re.compile(r"^[0-9A-HJ-NP-Z]{7}$")
_HEADER_RX = re.compile(r"^[0-9A-HJ-NP-Z]{3,6}$")


@dataclass(slots=True)
class PcsRow:
    code: str
    description: str
    short_description: str | None
    billable: int


@dataclass(slots=True)
class ParsedOrderFile:
    rows: list[PcsRow]
    label: str | None
    effective: str | None


def _record(line: str, n: int, name: str) -> tuple[PcsRow | None, list[Problem]]:
    """One order-file record, or the problems that make it one no more (columns as CMS numbers
    them, 1-based; values never quoted)."""
    p: list[Problem] = []
    if len(line) < 17:
        return None, [Problem(n, None, "too short for an order-file record", name)]
    if not line[:5].isdigit():
        p.append(Problem(n, "order number (columns 1-5)", "is not 5 digits", name))
    code = line[6:13].strip()
    if line[5] != " " or line[13] != " " or line[15] != " ":
        p.append(Problem(n, "columns 6, 14 and 16", "must be blank (fixed-width layout)", name))
    flag = line[14]
    if flag not in "01":
        p.append(Problem(n, "header flag (column 15)", "must be 0 (header) or 1 (valid)", name))
    elif flag == "1" and not CODE_RX.match(code):
        p.append(Problem(n, "code (columns 7-13)", "is not a 7-character ICD-10-PCS code", name))
    elif flag == "0" and not _HEADER_RX.match(code):
        p.append(Problem(n, "code (columns 7-13)", "is not an ICD-10-PCS header", name))
    short = line[16:76].strip()
    desc = line[77:].strip() if len(line) > 77 else ""
    if not desc:
        p.append(Problem(n, "long description (column 78 on)", "is empty", name))
    if p:
        return None, p
    return PcsRow(code, desc, short or None, int(flag)), []


def parse_order_file(path: Path) -> ParsedOrderFile:
    """Every record of a CMS ICD-10-PCS order file, or InvalidRows listing every bad one."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise BadInput(f"{path}: cannot read ({e.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    rows: list[PcsRow] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        row, p = _record(line.rstrip("\r\n"), n, path.name)
        problems += p
        if row is not None:
            if row.code in seen:
                problems.append(
                    Problem(n, "code (columns 7-13)", f"repeats row {seen[row.code]}", path.name)
                )
            seen.setdefault(row.code, n)
            rows.append(row)
        if len(problems) >= 50:
            break
    if problems:
        raise InvalidRows(problems[:50], file=path.name)
    if not rows:
        raise BadInput(f"{path.name}: no ICD-10-PCS codes found")
    label, effective = infer_release(path.name)
    return ParsedOrderFile(rows, label, effective)


def _current(conn: Database) -> dict[str, tuple]:
    """The latest row of every code: (id, description, short, billable, from, to)."""
    out: dict[str, tuple] = {}
    for r in conn.execute(
        "SELECT code, id, description, short_description, billable, effective_from, effective_to"
        " FROM pcs_codes ORDER BY code, COALESCE(effective_from, '')"
    ):
        out[r[0]] = r[1:]
    return out


def current_version(conn: Database) -> dict | None:
    r = conn.execute(
        "SELECT id, label, effective_from, effective_to, source, row_count, loaded_at"
        " FROM pcs_versions ORDER BY effective_from DESC, id DESC LIMIT 1"
    ).fetchone()
    keys = ("id", "label", "effective_from", "effective_to", "source", "row_count", "loaded_at")
    return dict(zip(keys, r, strict=True)) if r else None


def _check_order(conn: Database, label: str, effective: str) -> dict | None:
    prev = current_version(conn)
    if conn.execute("SELECT 1 FROM pcs_versions WHERE label = ?", (label,)).fetchone():
        raise BadInput(
            f"ICD-10-PCS version '{label}' is already loaded; give the new release its own"
            " --version LABEL"
        )
    if prev is not None and effective <= prev["effective_from"]:
        raise BadInput(
            f"ICD-10-PCS '{prev['label']}' effective {prev['effective_from']} is in place; a new"
            f" release must take effect after it (got --effective {effective})"
        )
    return prev


def load_release(
    conn: Database,
    kind: str,
    paths: list[Path],
    label: str | None,
    effective: str | None,
    source: str,
    sha: str,
) -> ChangeReport:
    """`codes load icd10pcs FILE` (inside loader.load's write transaction, which also records
    the audit row and rolls a --dry-run back): the release recorded, codes added, changed
    (description or header/valid flag: old row closed, new row opened) and deleted (row closed
    the day before the release takes effect)."""
    parsed = parse_order_file(paths[0])
    label = label or (f"CMS {parsed.label}" if parsed.label else None)
    effective = effective or parsed.effective
    if not label or not effective:
        raise BadInput(
            f"{paths[0].name}: cannot tell the release from the file name: give --version LABEL"
            " and --effective DATE (the release's first date of service)"
        )
    prev = _check_order(conn, label, effective)
    current = _current(conn)
    first = not current
    conn.execute(
        "UPDATE pcs_versions SET effective_to = ? WHERE effective_from < ?"
        " AND (effective_to IS NULL OR effective_to >= ?)",
        (day_before(effective), effective, effective),
    )
    vid = conn.execute(
        "INSERT INTO pcs_versions (label, effective_from, effective_to, source, license, sha256,"
        " row_count, loaded_at) VALUES (?,?,?,?,?,?,?,?)",
        (
            label,
            effective,
            release_through(effective),
            source,
            LICENSE,
            sha,
            len(parsed.rows),
            now_utc(),
        ),
    ).lastrowid
    changes = _merge(conn, parsed.rows, current, None if first else effective, vid)
    rep = ChangeReport(
        SYSTEM,
        label,
        effective,
        source,
        rows_in_file=len(parsed.rows),
        previous=prev["label"] if prev else None,
    )
    rep.changes = changes
    if prev:
        rep.counts = count_changes(changes)
    rep.notes.append(f"ICD-10-PCS is {LICENSE}")
    return rep


def _merge(
    conn: Database, rows: list[PcsRow], current: dict[str, tuple], E: str | None, vid
) -> list[dict]:
    """Rows in, rows closed; returns the changes (none listed for the first load)."""
    changes: list[dict] = []
    inserts: list[tuple] = []
    closes: list[tuple[str, int]] = []
    listed = set()
    for r in rows:
        listed.add(r.code)
        cur = current.get(r.code)
        if cur is None or (E and cur[5] is not None and cur[5] < E):
            inserts.append((r.code, r.description, r.short_description, r.billable, E, vid))
            if E:
                changes.append(
                    {
                        "change": "added",
                        "code": r.code,
                        "field": "",
                        "old": None,
                        "new": r.description,
                    }
                )
            continue
        cid, cdesc, _cshort, cbill, _cfrom, _cto = cur
        diffs = []
        if cdesc != r.description:
            diffs.append(("description", cdesc, r.description))
        if cbill != r.billable:
            diffs.append(("billable", "yes" if cbill else "no", "yes" if r.billable else "no"))
        if diffs and E:
            closes.append((day_before(E), cid))
            inserts.append((r.code, r.description, r.short_description, r.billable, E, vid))
            for field_, old, new in diffs:
                changes.append(
                    {"change": "changed", "code": r.code, "field": field_, "old": old, "new": new}
                )
    if E:
        for code, cur in current.items():
            if code not in listed and cur[5] is None:
                closes.append((day_before(E), cur[0]))
                changes.append(
                    {"change": "deleted", "code": code, "field": "", "old": cur[1], "new": None}
                )
    conn.conn.executemany("UPDATE pcs_codes SET effective_to = ? WHERE id = ?", closes)
    conn.conn.executemany(
        "INSERT INTO pcs_codes (code, description, short_description, billable, effective_from,"
        " version_id) VALUES (?,?,?,?,?,?)",
        inserts,
    )
    return changes


def loaded(conn: Database) -> bool:
    return conn.execute("SELECT 1 FROM pcs_codes LIMIT 1").fetchone() is not None


def lookup_rows(conn: Database, codes: set[str]) -> list[tuple]:
    """Rows shaped like query.lookup's: (code, 'icd10pcs', description, billable, kind, from,
    to, version label, 0), every window of each code, oldest first."""
    import json

    return conn.execute(
        "SELECT c.code, 'icd10pcs', c.description, c.billable,"
        " CASE WHEN c.billable = 1 THEN 'code' ELSE 'table' END, c.effective_from,"
        " c.effective_to, v.label, 0"
        " FROM pcs_codes c JOIN pcs_versions v ON v.id = c.version_id"
        " WHERE c.code IN (SELECT value FROM json_each(?))"
        " ORDER BY c.code, COALESCE(c.effective_from, '')",
        (json.dumps(sorted(codes)),),
    ).fetchall()


def valid_on(conn: Database, code: str, on: str) -> bool | None:
    """Whether a procedure code is valid for submission on a date: None when ICD-10-PCS is not
    loaded (nothing to check against)."""
    if not loaded(conn):
        return None
    return (
        conn.execute(
            "SELECT 1 FROM pcs_codes WHERE code = ? AND billable = 1"
            " AND (effective_from IS NULL OR effective_from <= ?)"
            " AND (effective_to IS NULL OR effective_to >= ?)",
            (code, on, on),
        ).fetchone()
        is not None
    )
