"""HCPCS Level II: the CMS annual alpha-numeric file, fixed width or its spreadsheet twin.

Fixed-width layout (CMS "HCPCS record layout", 320-character records, Windows-1252, CRLF, after
a disclaimer preamble); positions are 1-based and inclusive:
    1-5    HCPCS code (modifiers are 2 characters, right-aligned: "   RT")
    6-10   sequence number
    11     record id: 3 = procedure, first line; 4 = procedure, continuation of the long
           description; 7 = modifier, first line; 8 = modifier, continuation
    12-91  long description (continuation records carry only this field)
    92-119 short description
    230    coverage code
    269-276 code added date (YYYYMMDD)
    277-284 action effective date
    285-292 termination date (blank while active)
    293    action code (A add, C change, D discontinued, N no change, ...)
Continuation records may be cut short (their trailing blanks are not written). The CMS file
names codes as of January 1 of its year; it also keeps discontinued codes with a termination
date, which is the end of their row's validity window here.

CMS's current quarterly files keep this 320-character record (the "HCPCS Contractor Record"
of HCPC2024_recordlayout.txt) and name their quarter: HCPC2024_JUL_ANWEB_v2.txt (or .xlsx) is
the update in force from 2024-07-01 to the next quarter, 2024-09-30. The quarter, read from the
file name (JAN, APR, JUL, OCT or the month in full), gives the release's label and window;
a name with a year only is the annual file (January 1 to December 31).

The spreadsheet twin (.xlsx) has a header row (HCPC, SEQNUM, RECID, LONG DESCRIPTION, SHORT
DESCRIPTION, ..., ADD DT, ACT EFF DT, TERM DT, ACTION CD) after its own preamble; columns are
found by name. The old binary .xls is not read: save it as .xlsx, or load the .txt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput, InvalidRows, Problem
from .store import CodeRow

RECORD_RX = re.compile(r"^[A-Z0-9 ]{5}\d{5}[3478]")


@dataclass
class ParsedHcpcs:
    procedures: list[CodeRow]
    modifiers: list[CodeRow]
    year: int | None
    month: int | None = None  # the quarter's first month (a quarterly file), None for annual


def _date(s: str | None) -> str | None:
    s = (str(s) if s is not None else "").strip()
    if s.endswith(".0"):
        s = s[:-2]
    if len(s) == 8 and s.isdigit():
        return f"{s[:4]}-{s[4:6]}-{s[6:]}"
    if re.match(r"^\d{4}-\d\d-\d\d", s):
        return s[:10]
    return None


class _Builder:
    def __init__(self, fname: str):
        self.fname = fname
        self.procs: dict[str, dict] = {}
        self.mods: dict[str, dict] = {}
        self.last: dict | None = None
        self.problems: list[Problem] = []

    def record(
        self,
        n: int,
        code: str,
        recid: str,
        long: str,
        short: str,
        added: str | None,
        eff: str | None,
        term: str | None,
        action: str,
    ) -> None:
        code = code.strip().upper()
        if recid in "48":
            if self.last is None or self.last["code"] != code:
                self.problems.append(
                    Problem(
                        n,
                        "record id",
                        f"continuation of {code} without its first record",
                        self.fname,
                    )
                )
                return
            self.last["long"].append(long.strip())
            return
        if not code:
            self.problems.append(Problem(n, "HCPCS code", "is empty", self.fname))
            return
        rec = {
            "code": code,
            "long": [long.strip()],
            "short": short.strip(),
            "added": added,
            "eff": eff,
            "term": term,
            "action": action.strip(),
        }
        (self.procs if recid == "3" else self.mods)[code] = rec
        self.last = rec

    def result(self, year: int | None) -> ParsedHcpcs:
        if self.problems:
            raise InvalidRows(self.problems[:50], file=self.fname)
        if not self.procs and not self.mods:
            raise BadInput(f"{self.fname}: no HCPCS records found (record ids 3, 4, 7, 8)")

        def rows(d: dict, kind: str) -> list[CodeRow]:
            out = []
            for code, r in d.items():
                desc = " ".join(x for x in r["long"] if x) or r["short"]
                out.append(
                    CodeRow(code, desc, 1, kind, r["short"] or None, None, 0, r["added"], r["term"])
                )
            return out

        return ParsedHcpcs(rows(self.procs, "procedure"), rows(self.mods, "modifier"), year)


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def quarter_from_name(name: str) -> int | None:
    """The month a quarterly file takes effect, from its name (HCPC2024_JUL_ANWEB_v2.txt -> 7)."""
    m = re.search(
        r"(?i)HCPCS?_?20\d\d[_ -]?(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[A-Z]*", name
    )
    return _MONTHS.index(m.group(1).upper()) + 1 if m else None


def release_window(year: int, month: int | None) -> tuple[str, str, str]:
    """(label, first day, last day) of an annual file or of a quarterly update (its quarter)."""
    import calendar

    if month is None:
        return f"CMS {year} annual", f"{year}-01-01", f"{year}-12-31"
    end_m = month + (2 - (month - 1) % 3)  # the quarter's last month
    last = calendar.monthrange(year, end_m)[1]
    label = f"CMS {year} {calendar.month_name[month]} quarterly"
    return label, f"{year}-{month:02d}-01", f"{year}-{end_m:02d}-{last:02d}"


def parse_file(path: Path) -> ParsedHcpcs:
    suffix = path.suffix.lower()
    m = re.search(r"(?:HCPC|hcpc)S?_?(20\d\d)", path.name)
    year = int(m.group(1)) if m else None
    parsed = _parse(path, suffix, year)
    parsed.month = quarter_from_name(path.name) if year else None
    return parsed


def _parse(path: Path, suffix: str, year: int | None) -> ParsedHcpcs:
    if suffix == ".xls":
        raise BadInput(
            f"{path.name}: the binary .xls format is not read; open it and save as .xlsx, or load the .txt file"
        )
    if suffix == ".xlsx":
        return _parse_xlsx(path, year)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise BadInput(f"{path}: cannot read ({e.strerror})") from None
    text = raw.decode("cp1252", errors="replace")
    b = _Builder(path.name)
    seen_record = False
    for n, line in enumerate(text.splitlines(), start=1):
        if not RECORD_RX.match(line):
            if seen_record and line.strip():
                b.problems.append(
                    Problem(
                        n,
                        None,
                        "not an HCPCS record (code, sequence, record id 3/4/7/8)",
                        path.name,
                    )
                )
            continue  # the disclaimer preamble
        seen_record = True
        recid = line[10]
        long = line[11:91]
        if recid in "37" and len(line) < 293:
            b.problems.append(
                Problem(
                    n, None, f"record is {len(line)} characters; a first record has 320", path.name
                )
            )
            continue
        b.record(
            n,
            line[0:5],
            recid,
            long,
            line[91:119],
            _date(line[268:276]),
            _date(line[276:284]),
            _date(line[284:292]),
            line[292:293] if len(line) > 292 else "",
        )
        if len(b.problems) > 50:
            break
    return b.result(year)


def _parse_xlsx(path: Path, year: int | None) -> ParsedHcpcs:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a file that is not a workbook
        raise BadInput(f"{path.name}: not a readable .xlsx workbook ({type(e).__name__})") from None
    b = _Builder(path.name)
    try:
        ws = wb.worksheets[0]
        cols: dict[str, int] | None = None
        for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = ["" if v is None else str(v) for v in row]
            if cols is None:
                names = [c.strip().upper() for c in cells]
                if "HCPC" in names and "RECID" in names:
                    cols = {nm: i for i, nm in enumerate(names)}
                continue
            if not any(c.strip() for c in cells):
                continue

            def get(name: str, cols: dict[str, int] = cols, cells: list = cells) -> str:
                i = cols.get(name)
                return cells[i] if i is not None and i < len(cells) else ""

            recid = get("RECID").strip()
            if recid.endswith(".0"):
                recid = recid[:-2]
            if recid not in ("3", "4", "7", "8"):
                b.problems.append(Problem(n, "RECID", "must be 3, 4, 7 or 8", path.name))
                continue
            b.record(
                n,
                get("HCPC"),
                recid,
                get("LONG DESCRIPTION"),
                get("SHORT DESCRIPTION"),
                _date(get("ADD DT")),
                _date(get("ACT EFF DT")),
                _date(get("TERM DT")),
                get("ACTION CD"),
            )
        if cols is None:
            raise BadInput(f"{path.name}: no header row with HCPC and RECID columns")
    finally:
        wb.close()
    return b.result(year)
