"""`billadmin import institutional FILE`: a hospital's claims export, one row per revenue line.

Layout (CSV or XLSX; headers case-insensitive, aliases in COLUMNS): every row is one revenue
line of the claim named in its `claim` column; the claim's header values (type of bill,
statement period, admission, providers, diagnoses, procedures, codes) are given on the claim's
first row, and on its later rows are either left blank or repeated unchanged. This is how a
hospital's UB-04 detail export reads (header fields repeated or blank on each line), and one
file keeps a claim's lines next to its header, so no row refers to another file.

List cells hold several items separated by ";": other_dx "E119:Y;D62:N" (code, then its POA
indicator), reason_dx "R195;R10" (up to 3), other_procedures "0DJ08ZZ:2026-06-02", condition_codes
"39;A1", occurrence_codes "11:2026-05-31", occurrence_spans "74:2026-06-03:2026-06-05",
value_codes "80:3;A1:1676.00" (an amount in dollars, stored in cents).

Rules (each refusal names file, row and column, never the value; any problem: nothing is
written, exit 2):
- claim: the claim's key (the hospital's patient control number, up to 20 characters; it is
  the claim's encounter number), new to the database: a claim is imported once.
- mrn: a registered patient; facility: a facility code (`billadmin facility set`), optional
  when there is one facility.
- type_of_bill: one that exists (billtypes.BILL_TYPES: facility type and classification) with a
  frequency an import may carry (billtypes.IMPORT_FREQUENCIES: a replacement 7 or void 8 is
  issued by `invoice replace|void`).
- statement_from <= statement_through; admission_date, line_date and code dates are dates
  (ISO, or --date-format); hours are 00-23; admission_type one digit; patient_status two digits.
- attending_npi required (CMS requires an attending provider on institutional claims), a valid
  NPI of a provider registered with `billadmin provider add` (the encounter's provider);
  operating, other and referring NPIs valid; a name not given is taken from the providers.
- principal_dx required; POA indicators one of Y N U W 1 or blank (an indicator on an outpatient
  claim is kept: the scrub holds it, it is not refused here).
- revenue_code 4 digits (3 digits take a leading 0); hcpcs 5 letters or digits; up to 4
  two-character modifiers; units a whole number >= 1; unit_type UN or DA; charge and
  non_covered amounts >= 0; at most 999 lines per claim (837I loop 2400).
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audit, db, npi
from ..dates import DateError, parse_date
from ..errors import BadInput, InvalidRows, Problem
from ..money import MoneyError, parse_cents
from . import billtypes
from .store import correct_claim, insert_claim

if TYPE_CHECKING:
    from ..db import Database

# field -> accepted header spellings (lower case, spaces and dashes read as underscores)
COLUMNS: dict[str, tuple[str, ...]] = {
    "claim": ("claim", "claim_key", "patient_control_number", "pcn", "account_number"),
    "mrn": ("mrn", "medical_record_number"),
    "facility": ("facility", "facility_code"),
    "type_of_bill": ("type_of_bill", "tob", "bill_type"),
    "statement_from": ("statement_from", "from_date", "statement_from_date"),
    "statement_through": ("statement_through", "through_date", "statement_to", "to_date"),
    "admission_date": ("admission_date", "admit_date"),
    "admission_hour": ("admission_hour", "admit_hour"),
    "admission_type": ("admission_type", "admit_type", "priority_of_visit"),
    "admission_source": ("admission_source", "admit_source", "point_of_origin"),
    "discharge_hour": ("discharge_hour",),
    "patient_status": ("patient_status", "discharge_status"),
    "prior_auth": ("prior_auth", "treatment_authorization"),
    "attending_npi": ("attending_npi",),
    "attending_last": ("attending_last", "attending_last_name"),
    "attending_first": ("attending_first", "attending_first_name"),
    "operating_npi": ("operating_npi",),
    "operating_last": ("operating_last", "operating_last_name"),
    "operating_first": ("operating_first", "operating_first_name"),
    "other_npi": ("other_npi",),
    "other_last": ("other_last", "other_last_name"),
    "other_first": ("other_first", "other_first_name"),
    "referring_npi": ("referring_npi",),
    "referring_last": ("referring_last", "referring_last_name"),
    "referring_first": ("referring_first", "referring_first_name"),
    "principal_dx": ("principal_dx", "principal_diagnosis"),
    "principal_poa": ("principal_poa",),
    "admitting_dx": ("admitting_dx", "admitting_diagnosis"),
    "reason_dx": ("reason_dx", "reason_for_visit"),
    "other_dx": ("other_dx", "other_diagnoses"),
    "external_cause_dx": ("external_cause_dx", "external_cause"),
    "principal_procedure": ("principal_procedure", "principal_pcs"),
    "principal_procedure_date": ("principal_procedure_date",),
    "other_procedures": ("other_procedures",),
    "condition_codes": ("condition_codes",),
    "occurrence_codes": ("occurrence_codes",),
    "occurrence_spans": ("occurrence_spans",),
    "value_codes": ("value_codes",),
    "revenue_code": ("revenue_code", "rev_code", "revenue"),
    "hcpcs": ("hcpcs", "hcpcs_code", "cpt"),
    "modifiers": ("modifiers", "modifier"),
    "units": ("units", "service_units"),
    "unit_type": ("unit_type", "unit_basis"),
    "charge": ("charge", "total_charges", "charges"),
    "non_covered": ("non_covered", "non_covered_charges"),
    "line_date": ("line_date", "service_date"),
}
REQUIRED = ("claim", "mrn", "type_of_bill", "statement_from", "statement_through")
REQUIRED_LINE = ("revenue_code", "charge")
LINE_FIELDS = (
    "revenue_code",
    "hcpcs",
    "modifiers",
    "units",
    "unit_type",
    "charge",
    "non_covered",
    "line_date",
)
MAX_LINES = 999  # 837I loop 2400 repeats at most 999 times
ROLES = ("attending", "operating", "other", "referring")

_ICD10CM = re.compile(r"[A-Z][0-9][0-9A-Z]{1,5}")
_ICD10PCS = re.compile(r"[0-9A-HJ-NP-Z]{7}")  # no I or O
_HCPCS = re.compile(r"[A-Z0-9]{5}")
_CODE2 = re.compile(r"[A-Z0-9]{2}")


@dataclass
class ImportResult:
    file: str
    sha256: str
    claims: int = 0
    lines: int = 0
    batch_id: int | None = None
    dry_run: bool = False
    previous_batch: int | None = None
    keys: list[str] = field(default_factory=list)
    corrected: int = 0

    def summary(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        fixed = f" ({self.corrected} corrected)" if self.corrected else ""
        return (
            f"{self.file}: {verb} {self.claims} institutional claim(s){fixed},"
            f" {self.lines} revenue line(s)"
        )


def _header_map(headers: list[str], file: str) -> dict[str, int]:
    by_alias = {a: f for f, aliases in COLUMNS.items() for a in aliases}
    out: dict[str, int] = {}
    unknown = []
    for i, h in enumerate(headers):
        k = re.sub(r"[\s\-]+", "_", h.strip().lower())
        f = by_alias.get(k)
        if f is None:
            unknown.append(h)
        elif f in out:
            raise BadInput(f"{file}: column {h!r} repeats field {f!r}")
        else:
            out[f] = i
    missing = [f for f in REQUIRED + REQUIRED_LINE if f not in out]
    if missing:
        raise BadInput(
            f"{file}: missing column(s) {', '.join(missing)} (see billadmin import institutional --help)"
        )
    if unknown:
        raise BadInput(
            f"{file}: unknown column(s) {', '.join(repr(u) for u in unknown)}; the columns are"
            f" {', '.join(COLUMNS)}"
        )
    return out


class _Row:
    """One row's cells by field, with parse helpers that record a Problem instead of raising."""

    def __init__(self, n: int, cells: list, cols: dict[str, int], file: str, date_format):
        self.n, self.file, self.date_format = n, file, date_format
        self.values = {
            f: ("" if cells[i] is None else str(cells[i]).strip()) for f, i in cols.items()
        }
        self.problems: list[Problem] = []

    def get(self, f: str) -> str:
        return self.values.get(f, "")

    def bad(self, col: str, reason: str) -> None:
        self.problems.append(Problem(self.n, col, reason, file=self.file))

    def date(self, col: str, text: str | None = None) -> str | None:
        s = self.get(col) if text is None else text
        if not s:
            return None
        try:
            return parse_date(s, self.date_format).isoformat()
        except DateError as e:
            self.bad(col, str(e))
            return None

    def cents(self, col: str, text: str | None = None, *, negative: bool = False) -> int | None:
        s = self.get(col) if text is None else text
        if not s:
            return None
        try:
            return parse_cents(s, allow_negative=negative)
        except MoneyError as e:
            self.bad(col, str(e))
            return None


def _items(text: str) -> list[list[str]]:
    return [[p.strip() for p in it.split(":")] for it in text.split(";") if it.strip()]


def _dx(row: _Row, col: str, code: str) -> str | None:
    c = code.replace(".", "").strip().upper()
    if not _ICD10CM.fullmatch(c):
        row.bad(col, "not an ICD-10-CM code (a letter, a digit, then 1-5 letters or digits)")
        return None
    return c


def _poa(row: _Row, col: str, value: str) -> str:
    v = value.strip().upper()
    if v not in billtypes.POA_VALUES:
        row.bad(col, "POA indicator must be Y, N, U, W, 1 or blank")
        return ""
    return v


def _hour(row: _Row, col: str) -> str | None:
    s = row.get(col)
    if not s:
        return None
    if not (re.fullmatch(r"\d{2}", s) or re.fullmatch(r"\d{4}", s)) or int(s[:2]) > 23:
        row.bad(col, "an hour is HH (00-23) or HHMM")
        return None
    if len(s) == 4 and int(s[2:]) > 59:
        row.bad(col, "minutes must be 00-59")
        return None
    return s


def _header(row: _Row, conn_data: dict) -> dict | None:
    """The claim-level values of a claim's first row, checked; None when any is wrong."""
    before = len(row.problems)
    c: dict = {"key": row.get("claim")}
    if len(c["key"]) > 20:
        row.bad("claim", "a claim key has at most 20 characters (CLM01 is 1-38; 20 fit the UB-04)")
    pid = conn_data["patients"].get(row.get("mrn"))
    if not row.get("mrn"):
        row.bad("mrn", "required")
    elif pid is None:
        row.bad("mrn", "no registered patient has this MRN (billadmin import patients)")
    c["patient_id"] = pid
    fac = row.get("facility").upper()
    facs = conn_data["facilities"]
    if fac:
        c["facility_id"] = facs.get(fac)
        if c["facility_id"] is None:
            row.bad("facility", "no facility with this code (billadmin facility set)")
    elif len(facs) == 1:
        c["facility_id"] = next(iter(facs.values()))
    else:
        row.bad(
            "facility",
            "required: no facility is set up (billadmin facility set)"
            if not facs
            else "required: more than one facility is set up",
        )
    try:
        tob = billtypes.check_type_of_bill(row.get("type_of_bill"))
        if tob[2] not in billtypes.IMPORT_FREQUENCIES:
            row.bad(
                "type_of_bill",
                "a replacement (frequency 7) or void (8) is issued with `billadmin invoice"
                " replace|void` from the claim it corrects, not imported",
            )
        c["type_of_bill"] = tob
    except ValueError as e:
        row.bad("type_of_bill", str(e))
    c["statement_from"] = row.date("statement_from")
    c["statement_through"] = row.date("statement_through")
    if not row.get("statement_from"):
        row.bad("statement_from", "required")
    if not row.get("statement_through"):
        row.bad("statement_through", "required")
    if (
        c["statement_from"]
        and c["statement_through"]
        and c["statement_from"] > c["statement_through"]
    ):
        row.bad("statement_through", "the statement period ends before it starts")
    c["admission_date"] = row.date("admission_date")
    c["admission_hour"] = _hour(row, "admission_hour")
    c["discharge_hour"] = _hour(row, "discharge_hour")
    at = row.get("admission_type")
    if at and not re.fullmatch(r"[1-59]", at):
        row.bad("admission_type", "one digit: 1-5 or 9")
    c["admission_type"] = at or None
    src = row.get("admission_source").upper()
    if src and not re.fullmatch(r"[0-9A-Z]", src):
        row.bad("admission_source", "one letter or digit")
    c["admission_source"] = src or None
    st = row.get("patient_status")
    if st and not re.fullmatch(r"\d{2}", st):
        row.bad("patient_status", "two digits (e.g. 01 discharged home)")
    c["patient_status"] = st or None
    pa = row.get("prior_auth")
    if len(pa) > 50:
        row.bad("prior_auth", "at most 50 characters")
    c["prior_auth"] = pa or None
    c["providers"] = _providers(row, conn_data, c)
    c["diagnoses"] = _diagnoses(row)
    c["procedures"] = _procedures(row)
    _codes(row, c)
    return c if len(row.problems) == before else None


def _providers(row: _Row, conn_data: dict, c: dict) -> list[tuple]:
    out = []
    for role in ROLES:
        col = f"{role}_npi"
        v = re.sub(r"[\s-]", "", row.get(col))
        if not v:
            if role == "attending":
                row.bad(col, "required: every institutional claim names its attending provider")
            continue
        p = npi.problem(v)
        if p:
            row.bad(col, p)
            continue
        known = conn_data["providers"].get(v)
        if role == "attending":
            if known is None:
                row.bad(col, "not a registered provider (billadmin provider add)")
                continue
            c["provider_id"] = known[0]
        last = row.get(f"{role}_last") or (known[1] if known else "")
        first = row.get(f"{role}_first") or (known[2] if known else "") or None
        if not last:
            row.bad(f"{role}_last", "required when the NPI is not a registered provider")
            continue
        out.append((role, v, last, first))
    return out


def _diagnoses(row: _Row) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    p = row.get("principal_dx")
    if not p:
        row.bad("principal_dx", "required (HI*ABK)")
    else:
        code = _dx(row, "principal_dx", p)
        if code:
            out.append(("ABK", code, _poa(row, "principal_poa", row.get("principal_poa"))))
    a = row.get("admitting_dx")
    if a:
        code = _dx(row, "admitting_dx", a)
        if code:
            out.append(("ABJ", code, ""))
    reasons = _items(row.get("reason_dx"))
    if len(reasons) > 3:
        row.bad("reason_dx", "at most 3 reasons for visit (HI*APR)")
    for it in reasons[:3]:
        code = _dx(row, "reason_dx", it[0])
        if code:
            out.append(("APR", code, ""))
    others = _items(row.get("other_dx"))
    if len(others) > 24:
        row.bad("other_dx", "at most 24 other diagnoses (two HI*ABF segments of 12)")
    for it in others[:24]:
        if len(it) > 2:
            row.bad("other_dx", "each item is CODE or CODE:POA")
            continue
        code = _dx(row, "other_dx", it[0])
        if code:
            out.append(("ABF", code, _poa(row, "other_dx", it[1]) if len(it) == 2 else ""))
    ext = _items(row.get("external_cause_dx"))
    for it in ext[:12]:
        code = _dx(row, "external_cause_dx", it[0])
        if code:
            out.append(("ABN", code, _poa(row, "external_cause_dx", it[1]) if len(it) > 1 else ""))
    return out


def _pcs(row: _Row, col: str, code: str) -> str | None:
    c = code.replace(".", "").strip().upper()
    if not _ICD10PCS.fullmatch(c):
        row.bad(col, "not an ICD-10-PCS code (7 letters or digits, no I or O)")
        return None
    return c


def _procedures(row: _Row) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    p = row.get("principal_procedure")
    if p:
        code = _pcs(row, "principal_procedure", p)
        day = row.date("principal_procedure_date")
        if not row.get("principal_procedure_date"):
            row.bad("principal_procedure_date", "required with a principal procedure")
        if code and day:
            out.append(("BBR", code, day))
    others = _items(row.get("other_procedures"))
    if others and not p:
        row.bad("other_procedures", "other procedures need a principal procedure")
    if len(others) > 24:
        row.bad("other_procedures", "at most 24 other procedures")
    for it in others[:24]:
        if len(it) != 2:
            row.bad("other_procedures", "each item is CODE:DATE")
            continue
        code = _pcs(row, "other_procedures", it[0])
        day = row.date("other_procedures", it[1])
        if code and day:
            out.append(("BBQ", code, day))
    return out


def _code2(row: _Row, col: str, code: str) -> str | None:
    c = code.strip().upper()
    if not _CODE2.fullmatch(c):
        row.bad(col, "each code is 2 letters or digits")
        return None
    return c


def _codes(row: _Row, c: dict) -> None:
    c["conditions"] = []
    for it in _items(row.get("condition_codes"))[:24]:
        code = _code2(row, "condition_codes", it[0])
        if code:
            c["conditions"].append(code)
    c["occurrences"] = []
    for it in _items(row.get("occurrence_codes"))[:24]:
        if len(it) != 2:
            row.bad("occurrence_codes", "each item is CODE:DATE")
            continue
        code, day = _code2(row, "occurrence_codes", it[0]), row.date("occurrence_codes", it[1])
        if code and day:
            c["occurrences"].append((code, day))
    c["spans"] = []
    for it in _items(row.get("occurrence_spans"))[:24]:
        if len(it) != 3:
            row.bad("occurrence_spans", "each item is CODE:FROM:THROUGH")
            continue
        code = _code2(row, "occurrence_spans", it[0])
        d1, d2 = row.date("occurrence_spans", it[1]), row.date("occurrence_spans", it[2])
        if d1 and d2 and d1 > d2:
            row.bad("occurrence_spans", "a span ends before it starts")
        elif code and d1 and d2:
            c["spans"].append((code, d1, d2))
    c["values"] = []
    for it in _items(row.get("value_codes"))[:24]:
        if len(it) != 2:
            row.bad("value_codes", "each item is CODE:AMOUNT")
            continue
        code = _code2(row, "value_codes", it[0])
        cents = row.cents("value_codes", it[1], negative=True)
        if code and cents is not None:
            c["values"].append((code, cents))


def _line(row: _Row) -> dict | None:
    before = len(row.problems)
    rev = row.get("revenue_code")
    if re.fullmatch(r"\d{3}", rev):
        rev = "0" + rev
    if not rev:
        row.bad("revenue_code", "required: every row is a revenue line")
    elif not re.fullmatch(r"\d{4}", rev):
        row.bad("revenue_code", "a revenue code is 4 digits (e.g. 0450)")
    hcpcs = row.get("hcpcs").upper() or None
    if hcpcs and not _HCPCS.fullmatch(hcpcs):
        row.bad("hcpcs", "a HCPCS/CPT code is 5 letters or digits")
    mods = [m.upper() for m in re.split(r"[\s,;]+", row.get("modifiers")) if m]
    if len(mods) > 4 or any(not _CODE2.fullmatch(m) for m in mods):
        row.bad("modifiers", "up to 4 modifiers of 2 letters or digits")
    if mods and not hcpcs:
        row.bad("modifiers", "modifiers need a HCPCS code")
    units_s = row.get("units") or "1"
    units = int(units_s) if units_s.isdigit() else 0
    if units < 1 or units > 9_999_999:
        row.bad("units", "a whole number of units from 1")
    ut = (row.get("unit_type") or "UN").upper()
    if ut not in billtypes.UNIT_TYPES:
        row.bad("unit_type", "UN (units) or DA (days)")
    if not row.get("charge"):
        row.bad("charge", "required")
    charge = row.cents("charge")
    non_cov = row.cents("non_covered")
    if charge is not None and non_cov is not None and non_cov > charge:
        row.bad("non_covered", "more than the line's charge")
    if len(row.problems) > before:
        return None
    return {
        "revenue_code": rev,
        "hcpcs": hcpcs,
        "modifiers": mods,
        "units": units,
        "unit_type": ut,
        "charge_cents": charge,
        "non_covered_cents": non_cov or 0,
        "line_date": row.date("line_date"),
    }


def _lookups(conn: Database) -> dict:
    return {
        "patients": dict(conn.execute("SELECT mrn, id FROM patients").fetchall()),
        "facilities": dict(conn.execute("SELECT code, id FROM facilities").fetchall()),
        "providers": {
            r[0]: (r[1], r[2], r[3])
            for r in conn.execute("SELECT npi, id, last_name, first_name FROM providers")
        },
    }


HEADER_FIELDS = [f for f in COLUMNS if f not in LINE_FIELDS and f != "claim"]


def read_claims(
    conn: Database,
    path: Path,
    *,
    encoding: str = "utf-8",
    sheet=None,
    date_format: str | None = None,
    correct: bool = False,
) -> tuple[list[dict], list[Problem], str]:
    """Every claim of the file, checked: (claims, problems, file name). With `correct`, a claim
    whose key is an imported institutional claim of the same patient is a correction of it
    (its dict gets "claim_id")."""
    from ..ingest.readers import open_table

    problems: list[Problem] = []
    claims: OrderedDict[str, dict] = OrderedDict()
    first_row: dict[str, _Row] = {}
    data = _lookups(conn)
    with open_table(
        path, sheet=sheet, encoding=encoding, on_bad_row=lambda n, cells, p: problems.append(p)
    ) as t:
        cols = _header_map(t.headers, t.file)
        for n, cells in t:
            row = _Row(n, cells, cols, t.file, date_format)
            key = row.get("claim")
            if not key:
                row.bad("claim", "required: every row names its claim")
            elif key not in claims:
                first_row[key] = row
                claims[key] = _header(row, data) or {"key": key, "bad": True}
                claims[key]["lines"] = []
            else:
                head = first_row[key]
                for f in HEADER_FIELDS:
                    v = row.get(f)
                    if v and v != head.get(f):
                        row.bad(f, f"differs from the claim's first row (row {head.n})")
            line = _line(row) if key else None
            if line and key and len(claims[key]["lines"]) >= MAX_LINES:
                row.bad("revenue_code", f"more than {MAX_LINES} lines on one claim (837I limit)")
            elif line and key:
                claims[key]["lines"].append(line)
            problems += row.problems
        file = t.file
    existing = _existing_keys(conn, list(claims))
    for key, (claim_id, patient_id) in existing.items():
        if correct and claim_id is not None:
            if claims[key].get("patient_id") not in (None, patient_id):
                problems.append(
                    Problem(
                        first_row[key].n,
                        "mrn",
                        "a correction keeps the claim's patient (void the claim instead)",
                        file=file,
                    )
                )
            claims[key]["claim_id"] = claim_id
            continue
        problems.append(
            Problem(
                first_row[key].n,
                "claim",
                "this claim key is already in the database (imported before, or a"
                " professional encounter's number): a claim is imported once (a corrected"
                " institutional claim is imported with --correct)",
                file=file,
            )
        )
    problems.sort(key=lambda p: p.row or 0)
    return [c for c in claims.values() if not c.get("bad")], problems, file


def _existing_keys(conn: Database, keys: list[str]) -> dict[str, tuple[int | None, int]]:
    """Keys already encounter numbers -> (their institutional claim id or None, patient id)."""
    import json

    return {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            "SELECT e.number, c.id, e.patient_id FROM encounters e"
            " LEFT JOIN inst_claims c ON c.encounter_id = e.id"
            " WHERE e.number IN (SELECT value FROM json_each(?))",
            (json.dumps(keys),),
        )
    }


def import_file(
    conn: Database,
    path: Path,
    *,
    encoding: str = "utf-8",
    sheet: str | None = None,
    date_format: str | None = None,
    dry_run: bool = False,
    correct: bool = False,
) -> ImportResult:
    """Read, check and write the file's claims in one transaction (all or nothing); with
    `correct`, claims already imported are corrected (store.correct_claim)."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    claims, problems, file = read_claims(
        conn, path, encoding=encoding, sheet=sheet, date_format=date_format, correct=correct
    )
    if problems:
        raise InvalidRows(problems=problems, file=file)
    result = ImportResult(file=file, sha256=sha, dry_run=dry_run)
    result.claims = len(claims)
    result.lines = sum(len(c["lines"]) for c in claims)
    result.keys = [c["key"] for c in claims]
    result.corrected = sum(1 for c in claims if c.get("claim_id"))
    prev = conn.execute(
        "SELECT id FROM import_batches WHERE kind = 'institutional' AND sha256 = ?"
        " ORDER BY id DESC LIMIT 1",
        (sha,),
    ).fetchone()
    result.previous_batch = prev[0] if prev else None
    if dry_run:
        return result
    now = audit.utcnow()
    with db.write(conn):
        batch = conn.execute(
            "INSERT INTO import_batches (kind, file_name, sha256, rows_total, inserted, os_user, at)"
            " VALUES ('institutional', ?, ?, ?, ?, ?, ?)",
            (file, sha, result.lines, result.claims, audit.os_user(), now),
        ).lastrowid
        ids = []
        for c in claims:
            c["batch_id"] = batch
            if c.get("claim_id"):
                correct_claim(conn, c["claim_id"], c, at=now)
                ids.append(c["claim_id"])
            else:
                ids.append(insert_claim(conn, c))
        audit.record(
            conn,
            "import institutional",
            entity="inst_claims",
            ids=ids,
            count=len(ids),
            detail={"batch": batch, "lines": result.lines, "corrected": result.corrected},
        )
    result.batch_id = batch
    return result
