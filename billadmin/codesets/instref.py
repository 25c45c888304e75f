"""Reference files of the institutional scrub rules (scrub/institutional.py), loaded by
`billadmin codes load KIND FILE` (codesets/loader.py) into the tables of codesets m006, each
load a row of ``inst_ref_versions`` with the window of dates it covers and the file's sha256:

  poa-exempt     CMS's ICD-10-CM POA-exempt list of a fiscal year (INST-POA).
  ncci-hospital  CMS's hospital outpatient NCCI PTP edits of a quarter (INST-NCCI; the parser
                 and the merge are the practitioner file's: codesets/ncci.py, loader.py).
  mue-hospital   CMS's outpatient hospital services MUE table of a quarter (INST-MUE).
  ioce-revenue   the revenue codes that need a HCPCS code on an outpatient claim, from the
                 I/OCE's quarterly data files, in a flat layout of ours (INST-REV-HCPCS).

The POA-exempt list (CMS, ICD-10-CM page of each fiscal year, "POA Exempt Codes" zip, whose
ReadMePOAexempt file documents it): POAexemptCodesFY25.txt (tab delimited; the same as .xlsx),
a header row "Order25 | POAexemptCode | Description" (the first name varies: Order2021,
OrdApr23), then one row per exempt code: the code's order number in the classification (digits,
as text), the ICD-10-CM code with its dot, its long title (quoted when it holds a comma). The
zip's POAexemptAddCodes, ...DeleteCodes and ...ReviseCodes files list the changes from the
previous list; they are refused here (load the whole list: the change report is computed).
A fiscal year's list is in force for discharges from October 1 to the next September 30 (an
April update, POAexemptCodesApr23, from April 1); a later list closes the earlier one the day
before it takes effect. ICD-10-CM is a U.S. government work (CDC, CMS), public domain: the codes
are stored, the titles are not (the ICD-10-CM release has them).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadInput, InvalidRows, Problem
from . import normalize
from .icd10cm import release_through
from .store import SYSTEM_NAMES, ChangeReport, count_changes, day_before, now_utc

if TYPE_CHECKING:
    from ..db import Database

KINDS = ("poa-exempt", "ncci-hospital", "mue-hospital", "ioce-revenue")


# ------------------------------------------------------------------ versions


def versions(conn: Database, kind: str | None = None) -> list[dict]:
    sql = (
        "SELECT id, kind, label, effective_from, effective_to, source, row_count, loaded_at"
        " FROM inst_ref_versions"
    )
    args: tuple = ()
    if kind:
        sql += " WHERE kind = ?"
        args = (kind,)
    cur = conn.execute(sql + " ORDER BY kind, effective_from, id", args)
    cols = ("id", "kind", "label", "effective_from", "effective_to", "source", "row_count")
    return [dict(zip((*cols, "loaded_at"), r, strict=True)) for r in cur.fetchall()]


def current_version(conn: Database, kind: str) -> dict | None:
    vs = versions(conn, kind)
    return vs[-1] if vs else None


def check_order(conn: Database, kind: str, label: str, effective: str | None) -> dict | None:
    """The release in place, after making sure the new one can follow it."""
    name = SYSTEM_NAMES[kind]
    if not effective:
        raise BadInput(f"{name}: give --effective DATE (the first day the release applies to)")
    if conn.execute(
        "SELECT 1 FROM inst_ref_versions WHERE kind = ? AND label = ?", (kind, label)
    ).fetchone():
        raise BadInput(
            f"{name} '{label}' is already loaded; give the new release its own --version LABEL"
        )
    prev = current_version(conn, kind)
    if prev is not None and effective <= prev["effective_from"]:
        raise BadInput(
            f"{name} '{prev['label']}' effective {prev['effective_from']} is in place; a new"
            f" release must take effect after it (got --effective {effective})"
        )
    return prev


def add_version(
    conn: Database,
    kind: str,
    label: str,
    effective_from: str,
    effective_to: str | None,
    source: str,
    sha256: str | None,
    rows: int,
) -> int:
    """Record the release; the one before it ends the day before this one starts."""
    conn.execute(
        "UPDATE inst_ref_versions SET effective_to = ? WHERE kind = ? AND effective_from < ?"
        " AND (effective_to IS NULL OR effective_to >= ?)",
        (day_before(effective_from), kind, effective_from, effective_from),
    )
    vid = conn.execute(
        "INSERT INTO inst_ref_versions (kind, label, effective_from, effective_to, source, sha256,"
        " row_count, loaded_at) VALUES (?,?,?,?,?,?,?,?)",
        (kind, label, effective_from, effective_to, source, sha256, rows, now_utc()),
    ).lastrowid
    assert vid is not None  # set by every INSERT
    return vid


def version_on(conn: Database, kind: str, day: str) -> tuple[int, str] | None:
    """(id, label) of the release of `kind` in force on `day`, None when none covers it."""
    r = conn.execute(
        "SELECT id, label FROM inst_ref_versions WHERE kind = ? AND effective_from <= ?"
        " AND (effective_to IS NULL OR effective_to >= ?) ORDER BY effective_from DESC, id DESC"
        " LIMIT 1",
        (kind, day, day),
    ).fetchone()
    return (r[0], r[1]) if r else None


# ------------------------------------------------------------------ the POA-exempt list

_POA_NAME = re.compile(r"poaexempt(add|delete|revise)?codes[-_ ]?(fy)?(apr)?(\d{2,4})")
_POA_HEADER = re.compile(r"^ord(?:er)?[-_ ]?(fy)?(apr)?(\d{2,4})$")


def poa_release(text: str) -> tuple[str | None, str | None]:
    """(label, effective date) from a POA file name or its header's first cell:
    POAexemptCodesFY25 and Order25 are FY2025 (from 2024-10-01), POAexemptCodes2021 FY2021,
    POAexemptCodesApr23 and OrdApr23 the April 2023 update (from 2023-04-01)."""
    low = text.lower()
    m = _POA_NAME.search(low) or _POA_HEADER.match(low.strip())
    if not m:
        return None, None
    groups = m.groups()
    april, digits = groups[-2], groups[-1]
    year = int(digits) if len(digits) == 4 else 2000 + int(digits)
    if not 2000 < year < 2100:
        return None, None
    if april:
        return f"April {year} update", f"{year}-04-01"
    return f"FY{year}", f"{year - 1}-10-01"


def parse_poa_exempt(path: Path) -> tuple[list[str], str | None, str | None]:
    """The codes (without dots) of CMS's POA-exempt list file, with the release its name or
    header gives; InvalidRows listing every bad row, BadInput for a file that is not the list."""
    from .ncci import _read_rows

    m = _POA_NAME.search(path.name.lower())
    if m and m.group(1):
        raise BadInput(
            f"{path.name}: the list of codes {m.group(1)}d from the previous POA-exempt list;"
            " load the whole list (POAexemptCodes...), and the change is reported"
        )
    codes: list[str] = []
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    header: list[str] | None = None
    for n, cells in _read_rows(path):
        if not any(cells):
            continue
        if header is None:
            low = [c.lower() for c in cells]
            if len(low) < 3 or not low[0].startswith("ord") or low[1] != "poaexemptcode":
                raise BadInput(
                    f"{path.name}: row {n}: the header must be 'OrderNN, POAexemptCode,"
                    " Description' (is this CMS's POA-exempt list?)"
                )
            header = cells
            continue
        order = cells[0]
        code = normalize.icd(cells[1] if len(cells) > 1 else "")
        if not order.isdigit():
            problems.append(Problem(n, header[0], "is not an order number (digits)", path.name))
        if not normalize.ICD_RX.match(code):
            problems.append(Problem(n, "POAexemptCode", "is not an ICD-10-CM code", path.name))
        else:
            key = normalize.nodot(code)
            if key in seen:
                problems.append(Problem(n, "POAexemptCode", f"repeats row {seen[key]}", path.name))
            else:
                seen[key] = n
                codes.append(key)
        if len(problems) >= 50:
            break
    if header is None:
        raise BadInput(f"{path.name}: empty file (no header row)")
    if problems:
        raise InvalidRows(problems[:50], file=path.name)
    if not codes:
        raise BadInput(f"{path.name}: no codes after the header")
    label, effective = poa_release(path.name)
    if label is None:
        label, effective = poa_release(header[0])
    return codes, label, effective


def load_poa_exempt(
    conn: Database, kind, paths: list[Path], label, effective, source, sha
) -> ChangeReport:
    """`codes load poa-exempt FILE` (inside loader.load's write transaction): the list stored
    as its own snapshot; the report lists the codes added to and removed from the list before."""
    codes, file_label, file_effective = parse_poa_exempt(paths[0])
    label = label or (f"CMS {file_label}" if file_label else None)
    effective = effective or file_effective
    if not label or not effective:
        raise BadInput(
            f"{paths[0].name}: cannot tell the fiscal year from the file name or header: give"
            " --version LABEL and --effective DATE (the first discharge date it applies to)"
        )
    prev = check_order(conn, kind, label, effective)
    before: set[str] = set()
    if prev:
        before = {
            r[0]
            for r in conn.execute("SELECT code FROM poa_exempt WHERE version_id = ?", (prev["id"],))
        }
    vid = add_version(
        conn, kind, label, effective, release_through(effective), source, sha, len(codes)
    )
    conn.conn.executemany(
        "INSERT INTO poa_exempt (version_id, code) VALUES (?, ?)", [(vid, c) for c in codes]
    )
    rep = ChangeReport(
        kind,
        label,
        effective,
        source,
        rows_in_file=len(codes),
        previous=prev["label"] if prev else None,
    )
    if prev:
        now = set(codes)
        rep.changes = [
            {"change": "added", "code": c, "field": "", "old": None, "new": "exempt"}
            for c in sorted(now - before)
        ] + [
            {"change": "deleted", "code": c, "field": "", "old": "exempt", "new": None}
            for c in sorted(before - now)
        ]
        rep.counts = count_changes(rep.changes)
    return rep


class PoaExempt:
    """The POA-exempt lists, read once per scrub run: the list in force on a discharge date."""

    def __init__(self, conn: Database):
        self.conn = conn
        self._lists: dict[int, frozenset[str]] = {}

    def on(self, day: str) -> tuple[str, frozenset[str]] | None:
        """(label, exempt codes without dots) of the list covering `day`; None when none does."""
        got = version_on(self.conn, "poa-exempt", day)
        if got is None:
            return None
        vid, label = got
        if vid not in self._lists:
            self._lists[vid] = frozenset(
                r[0]
                for r in self.conn.execute(
                    "SELECT code FROM poa_exempt WHERE version_id = ?", (vid,)
                )
            )
        return label, self._lists[vid]


# ------------------------------------------------------------------ I/OCE revenue codes

IOCE_COLUMNS = ("revenue_code", "hcpcs_required", "effective_from", "effective_to")
_YES = {"1": 1, "y": 1, "yes": 1, "0": 0, "n": 0, "no": 0}


def _date(cell: str) -> str | None:
    """ISO 2026-07-01 or CMS's 20260701; None when neither."""
    import datetime as _dt

    c = cell.strip()
    if len(c) == 8 and c.isdigit():
        c = f"{c[:4]}-{c[4:6]}-{c[6:]}"
    try:
        return _dt.date.fromisoformat(c).isoformat()
    except ValueError:
        return None


def parse_ioce_revenue(path: Path) -> list[tuple[str, int, str | None, str | None]]:
    """(revenue code, HCPCS required 0/1, from, through) of each row of the flat layout
    `revenue_code,hcpcs_required,effective_from,effective_to` (CSV, tab text or .xlsx; a header
    row with exactly these names; from and through ISO dates or YYYYMMDD, through may be
    blank). A revenue code that lost its leading zero to a spreadsheet (750) is read as 0750."""
    from .ncci import _read_rows

    rows: list[tuple[str, int, str | None, str | None]] = []
    problems: list[Problem] = []
    header = False
    seen: dict[tuple[str, str | None], int] = {}
    for n, cells in _read_rows(path):
        if not any(cells):
            continue
        if not header:
            if tuple(c.lower() for c in cells[:4]) != IOCE_COLUMNS:
                raise BadInput(f"{path.name}: row {n}: the header must be {','.join(IOCE_COLUMNS)}")
            header = True
            continue
        cells = (cells + ["", "", "", ""])[:4]
        rev, req, frm, to = cells
        if rev.isdigit() and len(rev) == 3:
            rev = "0" + rev
        if not (rev.isdigit() and len(rev) == 4):
            problems.append(Problem(n, "revenue_code", "is not a 4-digit revenue code", path.name))
        if req.lower() not in _YES:
            problems.append(Problem(n, "hcpcs_required", "must be 1/Y or 0/N", path.name))
        f = _date(frm) if frm else None
        if not f:
            problems.append(Problem(n, "effective_from", "must be a date", path.name))
        t = _date(to) if to else None
        if to and not t:
            problems.append(Problem(n, "effective_to", "must be a date or blank", path.name))
        elif f and t and t < f:
            problems.append(Problem(n, "effective_to", "is before effective_from", path.name))
        if (rev, f) in seen:
            problems.append(Problem(n, "revenue_code", f"repeats row {seen[(rev, f)]}", path.name))
        seen.setdefault((rev, f), n)
        if not problems:
            rows.append((rev, _YES[req.lower()], f, t))
        if len(problems) >= 50:
            break
    if not header:
        raise BadInput(f"{path.name}: empty file (no header row)")
    if problems:
        raise InvalidRows(problems[:50], file=path.name)
    if not rows:
        raise BadInput(f"{path.name}: no revenue codes after the header")
    return rows


def load_ioce_revenue(
    conn: Database, kind, paths: list[Path], label, effective, source, sha
) -> ChangeReport:
    """`codes load ioce-revenue FILE`: the list stored as its own snapshot, in force from
    --effective (default: its earliest row's date) until the next list; the report lists the
    codes whose flag changed, joined or left against the list before."""
    rows = parse_ioce_revenue(paths[0])
    effective = effective or min(r[2] or "" for r in rows)
    label = label or f"I/OCE revenue codes {paths[0].stem}"
    prev = check_order(conn, kind, label, effective)
    before: dict[str, int] = {}
    if prev:
        for rev, req in conn.execute(
            "SELECT revenue_code, hcpcs_required FROM ioce_revenue_codes WHERE version_id = ?"
            " AND effective_to IS NULL",
            (prev["id"],),
        ):
            before[rev] = req
    vid = add_version(conn, kind, label, effective, None, source, sha, len(rows))
    conn.conn.executemany(
        "INSERT INTO ioce_revenue_codes (version_id, revenue_code, hcpcs_required,"
        " effective_from, effective_to) VALUES (?,?,?,?,?)",
        [(vid, *r) for r in rows],
    )
    rep = ChangeReport(
        kind,
        label,
        effective,
        source,
        rows_in_file=len(rows),
        previous=prev["label"] if prev else None,
    )
    if prev:
        now = {r[0]: r[1] for r in rows if r[3] is None}
        word = {1: "HCPCS required", 0: "not required"}
        for rev in sorted(now.keys() | before.keys()):
            old, new = before.get(rev), now.get(rev)
            if old != new:
                change = "added" if old is None else "deleted" if new is None else "changed"
                rep.changes.append(
                    {
                        "change": change,
                        "code": rev,
                        "field": "hcpcs_required",
                        "old": None if old is None else word[old],
                        "new": None if new is None else word[new],
                    }
                )
        rep.counts = count_changes(rep.changes)
    return rep


class IoceRevenue:
    """The loaded I/OCE revenue-code lists, read once per scrub run."""

    def __init__(self, conn: Database):
        self.conn = conn
        self._rows: dict[int, dict[str, list[tuple[int, str | None, str | None]]]] = {}

    def hcpcs_required(self, revenue_code: str, day: str) -> tuple[bool, str] | None:
        """(whether the code needs a HCPCS on `day`, the list's label) from the list in force
        on that day, None when no list covers the day or the list does not name the code."""
        got = version_on(self.conn, "ioce-revenue", day)
        if got is None:
            return None
        vid, label = got
        if vid not in self._rows:
            by_code: dict[str, list[tuple[int, str | None, str | None]]] = {}
            for rev, req, frm, to in self.conn.execute(
                "SELECT revenue_code, hcpcs_required, effective_from, effective_to"
                " FROM ioce_revenue_codes WHERE version_id = ?",
                (vid,),
            ):
                by_code.setdefault(rev, []).append((req, frm, to))
            self._rows[vid] = by_code
        for req, frm, to in self._rows[vid].get(revenue_code, []):
            if (frm is None or frm <= day) and (to is None or to >= day):
                return bool(req), label
        return None
