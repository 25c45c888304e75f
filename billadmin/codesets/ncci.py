"""NCCI procedure-to-procedure (PTP) edits and medically unlikely edits (MUE), as CMS ships them.

PTP, practitioner (CMS "Medicare NCCI Procedure to Procedure (PTP) Edits", files
ccipra-vNNNrN-fK.txt, a quarter split over several files, or .xlsx): a copyright preamble, a
header row "Column 1 | Column 2 | *=in existence prior to 1996 | Effective Date | Deletion Date |
Modifier | PTP Edit Rationale" (its legend - "*=no data", "0=not allowed", "1=allowed",
"9=not applicable" - on the following rows), then tab-delimited rows: column 1 code, column 2
code, "*" or blank, effective date YYYYMMDD, deletion date YYYYMMDD or "*" (none), modifier
indicator 0/1/9, rationale. A file carries every edit ever made, deleted ones with their
deletion date, so a load replaces the edits in place.

MUE, practitioner (CMS "Medically Unlikely Edits", MCR_MUE_PractitionerServices_Eff_DATE.csv or
.xlsx): a quoted AMA-copyright preamble, a header row "HCPCS/CPT Code | Practitioner Services MUE
Values | MUE Adjudication Indicator | MUE Rationale", then one row per code; the indicator cell
reads "1 Line Edit", "2 Date of Service Edit: Policy" or "3 Date of Service Edit: Clinical".

Hospital outpatient (`codes load ncci-hospital` / `mue-hospital`): CMS publishes the edits for
outpatient hospital services as separate files of the same layout: PTP ccioph-vNNNrN-fK.txt
(practitioner: ccipra-...), MUE MCR_MUE_OutpatientHospitalServices_Eff_DATE.csv whose value
column reads "Outpatient Hospital Services MUE Values". A file of the other setting is refused.

NCCI version numbers count quarters: vXY.Z is calendar year 1994+XY, quarter Z+1 (v32.2 is
July 2026), which gives the effective date when --effective is not given.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput, InvalidRows, Problem


def _read_rows(path: Path):
    """(row number, stripped cells) of a .txt (tab), .csv or .xlsx file, preamble included."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as e:
            raise BadInput(
                f"{path.name}: not a readable .xlsx workbook ({type(e).__name__})"
            ) from None
        try:
            for n, row in enumerate(wb.worksheets[0].iter_rows(values_only=True), start=1):
                yield n, [_cell(v) for v in row]
        finally:
            wb.close()
        return
    if suffix == ".xls":
        raise BadInput(
            f"{path.name}: the binary .xls format is not read; save it as .xlsx or use the .txt/.csv file"
        )
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise BadInput(f"{path}: cannot read ({e.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # CMS preambles carry a Windows-1252 (R) sign
    delim = "\t" if (suffix in (".txt", ".tsv") or text.count("\t") > text.count(",")) else ","
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    try:
        for row in reader:
            yield reader.line_num, [c.strip() for c in row]
    except csv.Error as e:
        raise BadInput(f"{path.name}: row {reader.line_num}: {e}") from None


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, (_dt.datetime, _dt.date)):
        return v.strftime("%Y%m%d")
    return str(v).strip()


def _ymd(s: str) -> str | None:
    s = s.strip()
    if len(s) == 8 and s.isdigit():
        try:
            return _dt.date(int(s[:4]), int(s[4:6]), int(s[6:])).isoformat()
        except ValueError:
            return None
    return None


def version_from_name(name: str) -> tuple[str | None, str | None]:
    """("v32.2r0", "2026-07-01") from ccipra-v322r0-f1.txt; (None, None) when the name has no version."""
    m = re.search(r"v(\d\d)(\d)r(\d+)", name.lower())
    if m:
        year = 1994 + int(m.group(1))
        q = int(m.group(2))
        if 0 <= q <= 3:
            return f"v{m.group(1)}.{m.group(2)}r{m.group(3)}", _dt.date(
                year, 3 * q + 1, 1
            ).isoformat()
    m = re.search(r"eff[_-]?(\d{4})-(\d\d)-(\d\d)", name.lower())
    if m:
        return None, f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    return None, None


def quarter_end(effective: str) -> str:
    d = _dt.date.fromisoformat(effective)
    m = ((d.month - 1) // 3) * 3 + 3
    nxt = _dt.date(d.year + (m == 12), 1 if m == 12 else m + 1, 1)
    return (nxt - _dt.timedelta(days=1)).isoformat()


@dataclass(slots=True)
class PtpEdit:
    column1: str
    column2: str
    prior_1996: int
    effective_from: str
    deleted_on: str | None
    modifier_indicator: int
    rationale: str


# the PTP files' name prefix of each setting (CMS: ccipra practitioner, ccioph outpatient hospital)
_PTP_PREFIX = {"practitioner": "ccipra", "hospital": "ccioph"}


def _other_setting(setting: str, text: str, words: dict[str, str]) -> str | None:
    """The other setting when `text` (a file name, a header cell) names it instead of ours."""
    low = text.lower()
    for other, word in words.items():
        if other != setting and word in low and words[setting] not in low:
            return other
    return None


def parse_ptp(paths: list[Path], setting: str = "practitioner") -> list[PtpEdit]:
    edits: list[PtpEdit] = []
    for path in paths:
        other = _other_setting(setting, path.name, _PTP_PREFIX)
        if other:
            raise BadInput(
                f"{path.name}: the name says {other} PTP edits ({_PTP_PREFIX[other]}-...);"
                f" load it as {'ncci-hospital' if other == 'hospital' else 'ncci-ptp'}"
            )
        problems: list[Problem] = []
        header = False
        found = 0
        for n, cells in _read_rows(path):
            if not header:
                low = [c.lower() for c in cells]
                if (
                    len(low) >= 2
                    and low[0].startswith("column 1")
                    and low[1].startswith("column 2")
                ):
                    header = True
                continue
            if not any(cells):
                continue
            c1 = cells[0].upper() if cells else ""
            if not c1:
                continue  # the legend rows under the header ("*=no data", "0=not allowed", ...)
            if len(cells) < 6:
                problems.append(
                    Problem(n, None, f"has {len(cells)} columns; a PTP edit has 7", path.name)
                )
                continue
            c2, star, eff, dele, mod = cells[1].upper(), cells[2], cells[3], cells[4], cells[5]
            rationale = cells[6] if len(cells) > 6 else ""
            e = _ymd(eff)
            if e is None:
                problems.append(Problem(n, "Effective Date", "must be a date YYYYMMDD", path.name))
                continue
            d = None
            if dele not in ("*", ""):
                d = _ymd(dele)
                if d is None:
                    problems.append(
                        Problem(
                            n, "Deletion Date", "must be a date YYYYMMDD or * (none)", path.name
                        )
                    )
                    continue
            if mod not in ("0", "1", "9"):
                problems.append(
                    Problem(
                        n,
                        "Modifier",
                        "must be 0 (not allowed), 1 (allowed) or 9 (not applicable)",
                        path.name,
                    )
                )
                continue
            if not re.match(r"^[0-9A-Z]{5}$", c1) or not re.match(r"^[0-9A-Z]{5}$", c2):
                problems.append(
                    Problem(
                        n,
                        "Column 1" if not re.match(r"^[0-9A-Z]{5}$", c1) else "Column 2",
                        "is not a 5-character HCPCS/CPT code",
                        path.name,
                    )
                )
                continue
            edits.append(PtpEdit(c1, c2, int(star == "*"), e, d, int(mod), rationale))
            found += 1
            if len(problems) > 50:
                break
        if not header:
            raise BadInput(
                f"{path.name}: no header row starting 'Column 1', 'Column 2' (is this an NCCI PTP file?)"
            )
        if problems:
            raise InvalidRows(problems[:50], file=path.name)
        if not found:
            raise BadInput(f"{path.name}: no PTP edits after the header")
    return edits


def _check_mue_setting(path: Path, n: int, column: str, setting: str) -> None:
    """CMS names each MUE table's value column after its setting ("Practitioner Services MUE
    Values", "Outpatient Hospital Services MUE Values", "DME Supplier Services MUE Values")."""
    low = " ".join(column.lower().split())
    if setting == "hospital" and "hospital" not in low:
        raise BadInput(
            f"{path.name}: row {n}: the value column is not 'Outpatient Hospital Services MUE"
            " Values' (a practitioner or DME table? load the outpatient hospital one)"
        )
    if setting == "practitioner" and "hospital" in low:
        raise BadInput(
            f"{path.name}: row {n}: an outpatient hospital MUE table: load it as mue-hospital"
        )


@dataclass(slots=True)
class MueRow:
    code: str
    mue_value: int
    mai: int
    rationale: str


def parse_mue(paths: list[Path], setting: str = "practitioner") -> list[MueRow]:
    out: dict[str, MueRow] = {}
    for path in paths:
        problems: list[Problem] = []
        cols: dict[str, int] | None = None
        for n, cells in _read_rows(path):
            if cols is None:
                low = [c.lower() for c in cells]
                if low and "hcpcs" in low[0] and any("mue" in c and "value" in c for c in low):
                    cols = {
                        "code": 0,
                        "value": next(i for i, c in enumerate(low) if "mue" in c and "value" in c),
                        "mai": next((i for i, c in enumerate(low) if "adjudication" in c), 2),
                        "rationale": next((i for i, c in enumerate(low) if "rationale" in c), 3),
                    }
                    _check_mue_setting(path, n, cells[cols["value"]], setting)
                continue
            if not any(cells):
                continue
            code = cells[0].upper()
            value = cells[cols["value"]] if cols["value"] < len(cells) else ""
            mai_cell = cells[cols["mai"]] if cols["mai"] < len(cells) else ""
            if not re.match(r"^[0-9A-Z]{5}$", code):
                problems.append(
                    Problem(n, "HCPCS/CPT Code", "is not a 5-character HCPCS/CPT code", path.name)
                )
                continue
            if not value.isdigit():
                problems.append(
                    Problem(n, "MUE Values", "must be a whole number of units", path.name)
                )
                continue
            m = re.match(r"^\s*([123])\b", mai_cell)
            if not m:
                problems.append(
                    Problem(n, "MUE Adjudication Indicator", "must start with 1, 2 or 3", path.name)
                )
                continue
            rationale = cells[cols["rationale"]] if cols["rationale"] < len(cells) else ""
            out[code] = MueRow(code, int(value), int(m.group(1)), rationale)
            if len(problems) > 50:
                break
        if cols is None:
            raise BadInput(
                f"{path.name}: no header row 'HCPCS/CPT Code, ... MUE Values, MUE Adjudication Indicator'"
                " (is this an MUE file?)"
            )
        if problems:
            raise InvalidRows(problems[:50], file=path.name)
    if not out:
        raise BadInput("no MUE rows found")
    return list(out.values())
