"""`billadmin import template institutional`: the layout `import institutional` reads, with two
example claims of made-up data (no real patient) that import as written.

The header is every column of ingest.COLUMNS under its canonical name, in that order; each is
described in HELP (the XLSX template's "columns" sheet; docs/institutional.md has the same
table). The examples are one outpatient endoscopy with its pathology (type of bill 131, three
revenue lines) and one three-day inpatient stay (111, three lines): the claim's header values
on its first row, blank on its later rows. They import on a database with one facility
(`billadmin facility set`), patients H0001 and H0002 and the attending provider 1627384955
(`billadmin provider add`); a clerk replaces them with the hospital's rows.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TextIO

from .ingest import COLUMNS

# column -> what it holds (UB-04 form locator, 837I element) and its rules, in our own words
HELP: dict[str, str] = {
    "claim": "the claim's key, the hospital's patient control number (FL 3a, CLM01 of the"
    " claim); required on every row, up to 20 characters, new to the database",
    "mrn": "the patient's medical record number; a registered patient",
    "facility": "the facility's code (billadmin facility set); blank when there is one facility",
    "type_of_bill": "FL 4: facility type, classification, frequency (131, 111); frequency 0-5 or 9",
    "statement_from": "FL 6 statement period from (DTP*434); a date, required",
    "statement_through": "FL 6 statement period through; a date on or after statement_from",
    "admission_date": "FL 12 (DTP*435); a date, required on inpatient claims",
    "admission_hour": "FL 13; HH (00-23) or HHMM",
    "admission_type": "FL 14 (CL101); one digit 1-5 or 9",
    "admission_source": "FL 15 (CL102); one letter or digit",
    "discharge_hour": "FL 16 (DTP*096); HH or HHMM",
    "patient_status": "FL 17 (CL103); two digits (01 discharged home)",
    "prior_auth": "FL 63 treatment authorization (REF*G1); up to 50 characters",
    "attending_npi": "FL 76 attending provider (2310A); required; a registered provider's NPI",
    "attending_last": "attending provider's last name; blank to take it from the provider",
    "attending_first": "attending provider's first name; blank to take it from the provider",
    "operating_npi": "FL 77 operating provider (2310B); a valid NPI",
    "operating_last": "operating provider's last name; needed when the NPI is not registered",
    "operating_first": "operating provider's first name",
    "other_npi": "FL 78 other operating provider (2310C); a valid NPI",
    "other_last": "other provider's last name; needed when the NPI is not registered",
    "other_first": "other provider's first name",
    "referring_npi": "referring provider (2310F); a valid NPI",
    "referring_last": "referring provider's last name; needed when the NPI is not registered",
    "referring_first": "referring provider's first name",
    "principal_dx": "FL 67 principal diagnosis (HI*ABK); required; ICD-10-CM, dot optional",
    "principal_poa": "its present-on-admission indicator: Y, N, U, W, 1 or blank (inpatient only)",
    "admitting_dx": "FL 69 admitting diagnosis (HI*ABJ)",
    "reason_dx": "FL 70 patient's reasons for visit (HI*APR); up to 3, ; between",
    "other_dx": "FL 67A-Q other diagnoses (HI*ABF); up to 24, each CODE or CODE:POA, ; between",
    "external_cause_dx": "FL 72 external causes of injury (HI*ABN); each CODE or CODE:POA",
    "principal_procedure": "FL 74 principal ICD-10-PCS procedure (HI*BBR); 7 characters",
    "principal_procedure_date": "FL 74 the principal procedure's date",
    "other_procedures": "FL 74a-e other procedures (HI*BBQ); each CODE:DATE, ; between",
    "condition_codes": "FL 18-28 condition codes (HI*BG); 2 characters each, ; between",
    "occurrence_codes": "FL 31-34 occurrence codes (HI*BH); each CODE:DATE",
    "occurrence_spans": "FL 35-36 occurrence spans (HI*BI); each CODE:FROM:THROUGH",
    "value_codes": "FL 39-41 value codes (HI*BE); each CODE:AMOUNT in dollars",
    "revenue_code": "FL 42 revenue code (SV201); required on every row; 4 digits",
    "hcpcs": "FL 44 HCPCS code (SV202); 5 letters or digits; required for some revenue codes"
    " on outpatient claims",
    "modifiers": "FL 44 modifiers; up to 4 two-character modifiers, ; between",
    "units": "FL 46 service units (SV205); a whole number from 1 (default 1)",
    "unit_type": "SV204: UN units (default) or DA days",
    "charge": "FL 47 total charge (SV203); required; dollars, at most two decimals",
    "non_covered": "FL 48 non-covered charge (SV207); dollars",
    "line_date": "FL 45 service date (DTP*472); a date",
}

_ATTENDING = "1627384955"
_OPERATING = "1516273848"
_OUTPATIENT = {
    "claim": "OP26001",
    "mrn": "H0001",
    "type_of_bill": "131",
    "statement_from": "2026-06-10",
    "statement_through": "2026-06-10",
    "admission_type": "3",
    "admission_source": "1",
    "patient_status": "01",
    "attending_npi": _ATTENDING,
    "principal_dx": "K63.5",
    "reason_dx": "R19.5",
    "other_dx": "Z12.11",
}
_INPATIENT = {
    "claim": "IP26001",
    "mrn": "H0002",
    "type_of_bill": "111",
    "statement_from": "2026-06-01",
    "statement_through": "2026-06-04",
    "admission_date": "2026-06-01",
    "admission_hour": "14",
    "admission_type": "1",
    "admission_source": "7",
    "discharge_hour": "11",
    "patient_status": "01",
    "prior_auth": "PA2026EXAMPLE",
    "attending_npi": _ATTENDING,
    "operating_npi": _OPERATING,
    "operating_last": "Lind",
    "operating_first": "Ben",
    "principal_dx": "K92.2",
    "principal_poa": "Y",
    "admitting_dx": "K92.2",
    "other_dx": "D62:Y;E11.9:Y",
    "principal_procedure": "0DB68ZX",
    "principal_procedure_date": "2026-06-02",
    "occurrence_codes": "11:2026-05-31",
    "value_codes": "80:3;A1:1676.00",
}
# (claim header or None for a later line, line values)
EXAMPLES: list[tuple[dict[str, str] | None, dict[str, str]]] = [
    (
        _OUTPATIENT,
        {
            "revenue_code": "0750",
            "hcpcs": "45380",
            "modifiers": "PT",
            "units": "1",
            "charge": "1850.00",
            "line_date": "2026-06-10",
        },
    ),
    (
        None,
        {
            "claim": "OP26001",
            "revenue_code": "0310",
            "hcpcs": "88305",
            "units": "2",
            "charge": "420.00",
            "line_date": "2026-06-10",
        },
    ),
    (
        None,
        {
            "claim": "OP26001",
            "revenue_code": "0710",
            "units": "1",
            "charge": "300.00",
            "line_date": "2026-06-10",
        },
    ),
    (
        _INPATIENT,
        {"revenue_code": "0120", "units": "3", "unit_type": "DA", "charge": "5400.00"},
    ),
    (None, {"claim": "IP26001", "revenue_code": "0250", "units": "12", "charge": "360.00"}),
    (
        None,
        {
            "claim": "IP26001",
            "revenue_code": "0360",
            "units": "1",
            "charge": "4200.00",
            "line_date": "2026-06-02",
        },
    ),
]


def headers() -> list[str]:
    return list(COLUMNS)


def rows() -> list[list[str]]:
    """The example rows, as text cells in header order."""
    out = []
    for head, line in EXAMPLES:
        values = {**(head or {}), **line}
        out.append([values.get(h, "") for h in COLUMNS])
    return out


def write_template(out: Path | None, fh: TextIO | None = None) -> None:
    """The template as CSV (to `out`, or to `fh` when `out` is None) or XLSX (`out` ending in
    .xlsx: the rows on the first sheet, every cell Text so Excel keeps codes such as 0120 and
    dates as written; a "columns" sheet describing each column)."""
    if out is not None and Path(out).suffix.lower() == ".xlsx":
        _write_xlsx(Path(out))
        return
    if out is not None:
        from ..fileutil import private_open

        # made-up example data only: no PHI
        with private_open(Path(out), "w", encoding="utf-8", newline="", phi=False) as f:
            _write_csv(f)
        return
    assert fh is not None
    _write_csv(fh)


def _write_csv(f) -> None:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(headers())
    w.writerows(rows())


def _write_xlsx(path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from ..fileutil import save_workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "institutional"
    ws.append(headers())
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i, h in enumerate(headers(), start=1):
        # the column's own format (Text) applies to every cell typed in it later; formatting
        # 1,000 rows cell by cell took 1.7 s for these 46 columns
        dim = ws.column_dimensions[get_column_letter(i)]
        dim.width = max(len(h) + 2, 12)
        dim.number_format = "@"
    for r, values in enumerate(rows(), start=2):
        for i, v in enumerate(values, start=1):
            cell = ws.cell(row=r, column=i, value=v or None)
            cell.number_format = "@"
    ws.freeze_panes = "A2"
    doc = wb.create_sheet("columns")
    doc.append(["column", "what it holds and its rules"])
    for cell in doc[1]:
        cell.font = Font(bold=True)
    for h in headers():
        doc.append([h, HELP[h]])
    doc.column_dimensions["A"].width = 26
    doc.column_dimensions["B"].width = 100
    save_workbook(wb, path, phi=False)  # made-up example data only
