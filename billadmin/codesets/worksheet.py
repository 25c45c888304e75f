"""The ICD-9-CM conversion worksheet for a legacy charge file (`codes worksheet FILE`).

A file from an older system may carry ICD-9-CM codes on dates of service from 2015-10-01,
which must be coded in ICD-10-CM (45 CFR 162.1002(c)(2)). Nothing is converted silently: the
worksheet lists each ICD-9-CM code of the file, how many rows need it converted, and its GEM
candidates with their flags; a coder writes the chosen ICD-10-CM code(s) in its `icd10cm`
column; `--apply` then writes a copy of the charge file with those codes, importable with
`billadmin import charges`. Rows before 2015-10-01 keep their ICD-9-CM codes.

A choice of several codes (a GEM combination: one code from each choice list) puts the first
in the cell of the ICD-9-CM code, so its pointers stay right, and the others in the row's
next free Dx cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadInput, InvalidRows, Problem
from . import icd9, legacy, normalize

if TYPE_CHECKING:
    from ..db import Database

COLUMNS = [
    "icd9cm",
    "description",
    "rows_kept",
    "rows_to_convert",
    "candidates",
    "icd10cm",
]


@dataclass
class _File:
    headers: list[str]
    rows: list[tuple[int, list]]
    dos_i: int
    dx_i: list[int]
    name: str
    dos: dict[int, str] = field(default_factory=dict)  # row number -> ISO DOS


def _read(path: Path, date_format: str | None) -> _File:
    from ..ingest.columns import CellError, parse_cell
    from ..ingest.fields import normalise_header
    from ..ingest.readers import open_table
    from ..ingest.specs import CHARGES

    by = {c.field: c for c in CHARGES}

    def find(fld: str) -> int | None:
        col = by[fld]
        names = {normalise_header(n) for n in (col.header, *col.aliases)}
        return next((i for i, h in enumerate(keys) if h in names), None)

    with open_table(path) as t:
        keys = [normalise_header(h) for h in t.headers]
        dos_i = find("dos")
        dx_i = [i for i in (find(f"dx{n}") for n in range(1, 13)) if i is not None]
        if dos_i is None or not dx_i:
            raise BadInput(f"{t.file}: a charge file needs a DOS column and Dx1.. columns")
        f = _File(list(t.headers), [(n, list(cells)) for n, cells in t], dos_i, dx_i, t.file)
    problems = []
    for n, cells in f.rows:
        try:
            f.dos[n] = parse_cell(cells[f.dos_i], by["dos"], date_format=date_format)
        except CellError as e:
            problems.append(Problem(n, f.headers[f.dos_i], str(e), f.name))
    if problems:
        raise InvalidRows(problems[:50], file=f.name)
    return f


def _late_icd9(f: _File):
    """(row, cell index, dotted ICD-9-CM code) of each ICD-9-CM code to convert."""
    for n, cells in f.rows:
        if icd9.is_legacy_dos(f.dos[n]):
            continue
        for i in f.dx_i:
            v = cells[i] if i < len(cells) else None
            if isinstance(v, str) and icd9.only_icd9(v):
                yield n, i, icd9.icd9(v)


def build(conn: Database, path: Path, *, date_format: str | None = None) -> list[dict]:
    """One row per ICD-9-CM code of the file: kept (rows before 2015-10-01), to convert (rows
    from 2015-10-01), its GEM candidates checked on the latest such date, the column to fill."""
    if not legacy.loaded(conn):
        raise BadInput("ICD-9-CM and the GEMs are not loaded: run `billadmin codes load icd9cm`")
    f = _read(path, date_format)
    kept: dict[str, int] = {}
    convert: dict[str, int] = {}
    last: dict[str, str] = {}
    for n, cells in f.rows:
        if not icd9.is_legacy_dos(f.dos[n]):
            continue
        for i in f.dx_i:
            v = cells[i] if i < len(cells) else None
            c = icd9.icd9(v) if isinstance(v, str) else None
            if c:
                kept[c] = kept.get(c, 0) + 1
    for n, _i, c in _late_icd9(f):
        convert[c] = convert.get(c, 0) + 1
        last[c] = max(last.get(c, ""), f.dos[n])
    out = []
    for code in sorted(set(kept) | set(convert)):
        hit = legacy.lookup_icd9(conn, code)
        cands = legacy.candidates(conn, code, to="icd10cm", on=last.get(code)) if hit else []
        text = "; ".join(
            "no map"
            if c["no_map"]
            else f"{c['target']} [{c['flags']}]" + ("" if c["valid_on_date"] else " (not valid)")
            for c in cands
        )
        out.append(
            {
                "icd9cm": code,
                "description": hit["description"] if hit else "not an ICD-9-CM v32 code",
                "rows_kept": kept.get(code, 0),
                "rows_to_convert": convert.get(code, 0),
                "candidates": text,
                "icd10cm": "",
            }
        )
    return out


def apply(
    conn: Database,
    path: Path,
    worksheet: Path,
    output: Path,
    *,
    date_format: str | None = None,
) -> int:
    """Write ``output``: the charge file with each ICD-9-CM code on a date of service from
    2015-10-01 replaced by the coder's choice. Every problem is listed (file, row, column) and
    nothing is written when any is found. Returns the number of cells converted."""
    from ..ingest.fields import normalise_header
    from ..ingest.readers import open_table

    chosen: dict[str, list[str]] = {}
    problems: list[Problem] = []
    with open_table(worksheet) as t:
        keys = [normalise_header(h) for h in t.headers]
        if "icd9cm" not in keys or "icd10cm" not in keys:
            raise BadInput(f"{t.file}: a worksheet has the columns icd9cm and icd10cm")
        ci, ti = keys.index("icd9cm"), keys.index("icd10cm")
        for n, cells in t:
            code = icd9.icd9(str(cells[ci] or ""))
            picks = str(cells[ti] or "").replace(",", " ").split()
            if code is None:
                problems.append(Problem(n, t.headers[ci], "is not an ICD-9-CM code", t.file))
                continue
            good = []
            for p in picks:
                c = normalize.icd(p)
                if not normalize.looks_like_icd(c):
                    problems.append(
                        Problem(n, t.headers[ti], "is not shaped like an ICD-10-CM code", t.file)
                    )
                good.append(c)
            if picks:
                chosen[code] = good
        wname = t.file
    f = _read(path, date_format)
    cells_by_row = dict(f.rows)
    converted = 0
    for n, i, code in _late_icd9(f):
        choice = chosen.get(code)
        if not choice:
            problems.append(
                Problem(
                    n,
                    f.headers[i],
                    f"ICD-9-CM {code} on a date of service from 2015-10-01: no ICD-10-CM code"
                    f" chosen for it in {wname} (column icd10cm)",
                    f.name,
                )
            )
            continue
        for c in choice:
            st = _valid(conn, c, f.dos[n])
            if st:
                problems.append(Problem(n, f.headers[i], f"chosen {c} {st}", f.name))
        row = cells_by_row[n]
        row[i] = choice[0]
        free = [j for j in f.dx_i if j < len(row) and not str(row[j] or "").strip()]
        if len(choice) - 1 > len(free):
            problems.append(
                Problem(n, f.headers[i], "no free Dx cells for the combination codes", f.name)
            )
            continue
        for j, c in zip(free, choice[1:], strict=False):
            row[j] = c
        converted += 1
    if problems:
        raise InvalidRows(problems[:50], file=f.name)
    _write_csv(output, f.headers, [cells for _, cells in f.rows])
    return converted


def _valid(conn: Database, code: str, dos: str) -> str | None:
    """Why a chosen code cannot be billed on the DOS (None when it can)."""
    r = conn.execute(
        "SELECT billable FROM codes WHERE code_system = 'icd10cm' AND code = ?"
        " AND (effective_from IS NULL OR effective_from <= ?)"
        " AND (effective_to IS NULL OR effective_to >= ?)",
        (code, dos, dos),
    ).fetchone()
    if r is None:
        return f"is not an ICD-10-CM code of the release in force on {dos}"
    if not r[0]:
        return "is a header, not billable: choose a code under it"
    return None


def _write_csv(output: Path, headers: list[str], rows: list[list]) -> None:
    import csv

    from ..outfile import private_output

    with private_output(output, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])
