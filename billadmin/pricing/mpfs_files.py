"""Readers for CMS's Medicare Physician Fee Schedule files, in the layouts CMS publishes them.

RVU file (``PPRRVUyy_<quarter>.csv`` or ``.xlsx`` in the quarterly ``RVUyyA..D.zip`` of the
"PFS Relative Value Files" page): a few title and copyright lines, then a header whose names may
be split over two or three rows (``STATUS`` above ``CODE``, ``NON-FAC`` above ``PE RVU``), then
one row per code and modifier. The columns read, found by their names: HCPCS, MOD, STATUS CODE,
WORK RVU, NON-FAC PE RVU, FACILITY PE RVU, MP RVU, MULT PROC and CONV FACTOR (DESCRIPTION, the
AMA's short descriptor, is never read or stored).

GPCI file (``GPCIyyyy.csv`` or ``.xlsx`` in the same zip; Addendum E of the final rule): a title
line, then the header ``Medicare Administrative Contractor (MAC)``, ``State``, ``Locality
Number``, ``Locality Name``, ``yyyy PW GPCI (with 1.0 Floor)`` (some years also a column
without the floor: the one with the floor is the one CMS pays), ``yyyy PE GPCI``, ``yyyy MP
GPCI``, then one row per locality and footnotes.

Every row is checked before anything is loaded; a bad one is reported with file, row and
column (exit 2). Decimal values are kept as exact text, never floats.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..errors import BadInput, InvalidRows, Problem

HEADER_SEARCH_ROWS = 40


@dataclass
class Parsed:
    rows: list[tuple] = field(default_factory=list)


def _cells(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Every row of a CSV or the first sheet of an XLSX, as text cells, numbered from 1."""
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from ..ingest.readers import check_zip

        check_zip(path, path.name)
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises many types for damaged files
            raise BadInput(f"{path.name}: cannot read as .xlsx ({type(e).__name__})") from None
        try:
            ws = wb.worksheets[0]
            for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
                yield n, ["" if v is None else str(v).strip() for v in row]
        finally:
            wb.close()
        return
    if suffix not in (".csv", ".txt"):
        raise BadInput(f"{path.name}: read as .csv or .xlsx (CMS ships both in the RVU zip)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # CMS's older files are Windows-1252
    for n, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        yield n, [c.strip() for c in row]


def _name(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", " ", text.upper()).strip()


def _decimal(value: str) -> Decimal:
    v = value.strip().replace(",", "")
    if v == "":
        return Decimal(0)
    d = Decimal(v)
    if not d.is_finite() or d < 0:
        raise InvalidOperation
    return d


def _text(d: Decimal) -> str:
    return format(d.normalize(), "f") if d else "0"


# ------------------------------------------------------------------------------ RVU file

RVU_FIELDS = (
    "code",
    "modifier",
    "status",
    "work",
    "pe_nonfac",
    "pe_fac",
    "mp",
    "mult_proc",
    "conv_factor",
)
RVU_LABELS = {
    "code": "HCPCS",
    "modifier": "MOD",
    "status": "STATUS CODE",
    "work": "WORK RVU",
    "pe_nonfac": "NON-FAC PE RVU",
    "pe_fac": "FACILITY PE RVU",
    "mp": "MP RVU",
    "mult_proc": "MULT PROC",
    "conv_factor": "CONV FACTOR",
}


def _rvu_field(n: str) -> str | None:
    """Which field a (joined, normalised) header names, or None."""
    if "OPPS" in n:
        return None
    if n in ("HCPCS", "HCPCS CODE", "CPT HCPCS"):
        return "code"
    if n in ("MOD", "MODIFIER"):
        return "modifier"
    if "STATUS" in n:
        return "status"
    if "WORK" in n and "RVU" in n:
        return "work"
    if ("NON FAC" in n or "NONFAC" in n) and "PE RVU" in n:
        return "pe_nonfac"
    if "FACILITY PE RVU" in n:
        return "pe_fac"
    if n in ("MP RVU", "MALPRACTICE RVU", "PLI RVU") or n.endswith(" MP RVU"):
        return "mp"
    if "MULT" in n and "PROC" in n:
        return "mult_proc"
    if "CONV" in n and "FACTOR" in n:
        return "conv_factor"
    return None


def _header_block(rows: list[tuple[int, list[str]]], at: int) -> list[str]:
    """The header names of the row at index `at`, joined column by column with the rows above
    it that continue the header (their first cell empty, others not: CMS splits names there)."""
    top = at
    while top > 0 and (not rows[top - 1][1] or rows[top - 1][1][0] == "") and any(rows[top - 1][1]):
        top -= 1
    width = max(len(r[1]) for r in rows[top : at + 1])
    names = []
    for i in range(width):
        parts = [r[1][i] for r in rows[top : at + 1] if i < len(r[1]) and r[1][i]]
        names.append(" ".join(parts))
    return names


def parse_rvu(path: Path) -> Parsed:
    """The PPRRVU rows: (code, modifier, status, work, pe_nonfac, pe_fac, mp, mult_proc, cf)."""
    it = _cells(path)
    head: list[tuple[int, list[str]]] = []
    at = None
    for n, cells in it:
        head.append((n, cells))
        if cells and _name(cells[0]) == "HCPCS":
            at = len(head) - 1
            break
        if len(head) >= HEADER_SEARCH_ROWS:
            break
    if at is None:
        raise BadInput(
            f"{path.name}: no header row starting with HCPCS in the first {HEADER_SEARCH_ROWS}"
            " rows: is this CMS's PPRRVU file?"
        )
    cols: dict[str, int] = {}
    for i, name in enumerate(_header_block(head, at)):
        fld = _rvu_field(_name(name))
        if fld and fld not in cols:
            cols[fld] = i
    missing = [RVU_LABELS[f] for f in RVU_FIELDS if f not in cols]
    if missing:
        raise BadInput(f"{path.name}: needs the column(s) {', '.join(missing)}")
    out = Parsed()
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}

    def cell(cells: list[str], fld: str) -> str:
        i = cols[fld]
        return cells[i] if i < len(cells) else ""

    for n, cells in it:
        code = cell(cells, "code").upper()
        if not code:
            continue  # blank rows and trailing notes
        bad = len(problems)
        if not re.fullmatch(r"[A-Z0-9]{5}", code):
            problems.append(
                Problem(n, "HCPCS", "a procedure code is 5 letters or digits", path.name)
            )
        mod = cell(cells, "modifier").upper()
        if mod and not re.fullmatch(r"[A-Z0-9]{2}", mod):
            problems.append(Problem(n, "MOD", "a modifier is 2 letters or digits", path.name))
        status = cell(cells, "status").upper()
        if not re.fullmatch(r"[A-Z]", status):
            problems.append(Problem(n, "STATUS CODE", "a status code is one letter", path.name))
        values = []
        for fld in ("work", "pe_nonfac", "pe_fac", "mp", "conv_factor"):
            try:
                values.append(_text(_decimal(cell(cells, fld))))
            except InvalidOperation:
                problems.append(Problem(n, RVU_LABELS[fld], "not a number (0 or more)", path.name))
        mp_ind = cell(cells, "mult_proc")
        if mp_ind and not re.fullmatch(r"\d", mp_ind):
            problems.append(Problem(n, "MULT PROC", "an indicator is one digit", path.name))
        if (code, mod) in seen and len(problems) == bad:
            problems.append(
                Problem(
                    n, "HCPCS", f"the same code and modifier as row {seen[(code, mod)]}", path.name
                )
            )
        seen.setdefault((code, mod), n)
        if len(problems) == bad:
            work, pe_n, pe_f, mp, cf = values
            out.rows.append((code, mod, status, work, pe_n, pe_f, mp, mp_ind, cf))
        if len(problems) > 50:
            break
    if problems:
        raise InvalidRows(problems[:50], file=path.name)
    if not out.rows:
        raise BadInput(f"{path.name}: no code rows under the header")
    return out


# ----------------------------------------------------------------------------- GPCI file

GPCI_LABELS = {
    "carrier": "Medicare Administrative Contractor (MAC)",
    "locality": "Locality Number",
    "name": "Locality Name",
    "work": "PW GPCI",
    "pe": "PE GPCI",
    "mp": "MP GPCI",
}


def _gpci_columns(names: list[str]) -> dict[str, int]:
    cols: dict[str, int] = {}
    pw: list[tuple[int, str]] = []
    for i, raw in enumerate(names):
        n = _name(raw)
        if (
            "CONTRACTOR" in n or n in ("MAC", "CARRIER") or "CARRIER" in n
        ) and "carrier" not in cols:
            cols["carrier"] = i
        elif n in ("LOCALITY NUMBER", "LOCALITY") and "locality" not in cols:
            cols["locality"] = i
        elif n == "LOCALITY NAME" and "name" not in cols:
            cols["name"] = i
        elif "GPCI" in n and ("PW" in n.split() or "WORK" in n):
            pw.append((i, n))
        elif "GPCI" in n and "PE" in n.split() and "pe" not in cols:
            cols["pe"] = i
        elif "GPCI" in n and ("MP" in n.split() or "PLI" in n.split()) and "mp" not in cols:
            cols["mp"] = i
    floor = [i for i, n in pw if "WITH 1 0 FLOOR" in n]
    plain = [i for i, n in pw if "WITHOUT" not in n]
    if floor or plain:
        cols["work"] = (floor or plain)[0]
    return cols


def parse_gpci(path: Path) -> Parsed:
    """The GPCI rows: (carrier, locality, name, work, pe, mp)."""
    it = _cells(path)
    cols: dict[str, int] = {}
    for n, cells in it:
        names = [_name(c) for c in cells]
        if any("LOCALITY" in c for c in names) and any("GPCI" in c for c in names):
            cols = _gpci_columns(cells)
            break
        if n >= HEADER_SEARCH_ROWS:
            break
    if not cols:
        raise BadInput(
            f"{path.name}: no header row naming the locality and its GPCIs in the first"
            f" {HEADER_SEARCH_ROWS} rows: is this CMS's GPCI file?"
        )
    missing = [GPCI_LABELS[f] for f in ("carrier", "locality", "work", "pe", "mp") if f not in cols]
    if missing:
        raise BadInput(f"{path.name}: needs the column(s) {', '.join(missing)}")
    out = Parsed()
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}

    def cell(cells: list[str], fld: str) -> str:
        i = cols.get(fld)
        return cells[i] if i is not None and i < len(cells) else ""

    for n, cells in it:
        if all(cell(cells, f) == "" for f in ("work", "pe", "mp")):
            continue  # blank rows and footnotes
        bad = len(problems)
        carrier = cell(cells, "carrier")
        locality = cell(cells, "locality")
        if carrier.isdigit() and len(carrier) <= 5:
            carrier = carrier.zfill(5)  # a spreadsheet drops the leading zeros of 01112
        else:
            problems.append(
                Problem(n, GPCI_LABELS["carrier"], "a MAC number is 5 digits", path.name)
            )
        if locality.isdigit() and len(locality) <= 2:
            locality = locality.zfill(2)
        else:
            problems.append(Problem(n, "Locality Number", "a locality is 2 digits", path.name))
        values = []
        for fld in ("work", "pe", "mp"):
            try:
                d = _decimal(cell(cells, fld))
                if d == 0 or d > 10:
                    raise InvalidOperation
                values.append(_text(d))
            except InvalidOperation:
                problems.append(
                    Problem(
                        n, GPCI_LABELS[fld], "a GPCI is a number above 0 (e.g. 1.024)", path.name
                    )
                )
        if len(problems) == bad and (carrier, locality) in seen:
            problems.append(
                Problem(
                    n,
                    "Locality Number",
                    f"the same MAC and locality as row {seen[(carrier, locality)]}",
                    path.name,
                )
            )
        seen.setdefault((carrier, locality), n)
        if len(problems) == bad:
            out.rows.append((carrier, locality, cell(cells, "name").rstrip("*").strip(), *values))
        if len(problems) > 50:
            break
    if problems:
        raise InvalidRows(problems[:50], file=path.name)
    if not out.rows:
        raise BadInput(f"{path.name}: no locality rows under the header")
    return out
