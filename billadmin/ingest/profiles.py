"""Import profiles: reading another system's export as it is (``--profile synthea``).

Synthea (github.com/synthetichealth/synthea, CSV exporter) writes ``patients.csv``,
``payers.csv`` and ``payer_transitions.csv`` with its own headers and UUID keys. The mapping
is deterministic, so importing the same export twice changes nothing:

* MRN = ``SYN-`` + the first 12 hex digits of the patient's UUID, upper case
  (``b37f7960-7e9e-...`` -> ``SYN-B37F79607E9E``).
* Payer code = ``SYN-`` + the first 8 hex digits of the payer's UUID (``SYN-A735BF55``), so
  payer_transitions.csv resolves its payers without payers.csv at hand.
* Names: Synthea appends digits to make names unique (``Temika453``); they are removed.
* STATE is a full state name (``Massachusetts``) and becomes its USPS code.
* Payer kind: NAME Medicare -> medicare, Medicaid -> medicaid, Dual Eligible -> medicare
  (Medicare pays first for dual-eligible patients), NO_INSURANCE -> self (named "No insurance
  (self-pay)"), any other -> commercial.
* payer_transitions: MEMBERID -> member id (empty for NO_INSURANCE), START_DATE/END_DATE
  (ISO date-times) -> effective from/to (their date), PLAN_OWNERSHIP Self/Spouse/Guardian ->
  relationship self/spouse/child (the patient is the guardian's dependant), OWNER_NAME ->
  subscriber first/last name when not self (a title such as "Mr." is dropped; Synthea often
  gives a spouse only as "Mr. Lastname", so the first name may stay empty). SECONDARY_PAYER, when
  set, adds a second coverage
  with priority secondary and the same member id and dates (Synthea gives only one member id).
* Columns Synthea has and billadmin does not keep (SSN, DRIVERS, PASSPORT, income, LAT/LON,
  DEATHDATE, ...) are ignored: they are not needed for billing and are PHI we need not hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import BadInput

_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)
_TRAILING_DIGITS = re.compile(r"(?<=[^\d\s])\d+$")


@dataclass
class Profile:
    name: str
    kind: str
    fields: dict[str, str | None]  # field -> source header (None: the transform sets it)
    _transform: Callable[..., tuple[list[dict], list]] = field(repr=False)

    def transform(self, run, row: int, raw: dict, cells: list) -> tuple[list[dict], list]:
        """Raw values by field -> one or more raw records (before validation), and problems."""
        return self._transform(run, row, raw, _Cells(run.table.headers, cells))


class _Cells:
    "The row's other cells by header (columns no field reads, e.g. OWNERSHIP)."

    def __init__(self, headers, cells):
        self.headers, self.cells = headers, cells

    def get(self, header: str):
        from .readers import normalise_header

        want = normalise_header(header)
        for i, h in enumerate(self.headers):
            if normalise_header(h) == want:
                return self.cells[i]
        return None


def synthea_mrn(uuid: str) -> str:
    return "SYN-" + uuid.replace("-", "")[:12].upper()


def synthea_payer_code(uuid: str) -> str:
    return "SYN-" + uuid.replace("-", "")[:8].upper()


def _name(s) -> str:
    return _TRAILING_DIGITS.sub("", str(s or "").strip())


def _uuid(run, row, raw, fld, problems) -> str | None:
    v = str(raw.get(fld) or "").strip()
    if not _UUID.match(v):
        problems.append(run.problem(row, fld, "not a Synthea UUID"))
        return None
    return v


def _patients(run, row, raw, cells):
    problems: list = []
    out = dict(raw)
    u = _uuid(run, row, raw, "mrn", problems)
    if u:
        out["mrn"] = synthea_mrn(u)
    out["first_name"] = _name(raw.get("first_name"))
    out["last_name"] = _name(raw.get("last_name"))
    return [out], problems


def _payer_kind(name: str, ownership: str) -> str:
    n = name.strip().lower()
    if n == "medicare" or n == "dual eligible":
        return "medicare"
    if n == "medicaid":
        return "medicaid"
    if n == "no_insurance" or ownership.strip().upper() == "NO_INSURANCE":
        return "self"
    return "commercial"


def _payers(run, row, raw, cells):
    problems: list = []
    out = dict(raw)
    u = _uuid(run, row, raw, "code", problems)
    if u:
        out["code"] = synthea_payer_code(u)
    name = str(raw.get("name") or "").strip()
    out["kind"] = _payer_kind(name, str(cells.get("OWNERSHIP") or ""))
    if name.upper() == "NO_INSURANCE":
        out["name"] = "No insurance (self-pay)"
    return [out], problems


_HONORIFICS = {"mr", "mrs", "ms", "miss", "mx", "dr"}
_OWNERSHIP = {"self": "self", "": "self", "spouse": "spouse", "guardian": "child"}


def _coverage(run, row, raw, cells):
    problems: list = []
    out = dict(raw)
    p = _uuid(run, row, raw, "mrn", problems)
    if p:
        out["mrn"] = synthea_mrn(p)
    pay = _uuid(run, row, raw, "payer_code", problems)
    if pay:
        out["payer_code"] = synthea_payer_code(pay)
    own = str(raw.get("relationship") or "").strip().lower()
    rel = _OWNERSHIP.get(own)
    if rel is None:
        problems.append(
            run.problem(row, "relationship", "PLAN_OWNERSHIP must be Self, Spouse or Guardian")
        )
        rel = "self"
    out["relationship"] = rel
    owner = [
        t
        for t in str(raw.get("subscriber_last") or "").strip().split()
        if t.rstrip(".").lower() not in _HONORIFICS
    ]
    out["subscriber_first"] = _name(owner[0]) if rel != "self" and len(owner) > 1 else ""
    out["subscriber_last"] = _name(owner[-1]) if rel != "self" and owner else ""
    out["priority"] = "primary"
    rows = [out]
    sec = cells.get("SECONDARY_PAYER")
    if sec:
        s_uuid = str(sec).strip()
        if not _UUID.match(s_uuid):
            problems.append(run.problem(row, None, "SECONDARY_PAYER is not a Synthea UUID"))
        else:
            rows.append({**out, "payer_code": synthea_payer_code(s_uuid), "priority": "secondary"})
    return rows, problems


PROFILES: dict[tuple[str, str], tuple[dict[str, str | None], Callable]] = {
    ("synthea", "patients"): (
        {
            "mrn": "Id",
            "first_name": "FIRST",
            "last_name": "LAST",
            "dob": "BIRTHDATE",
            "sex": "GENDER",
            "address1": "ADDRESS",
            "city": "CITY",
            "state": "STATE",
            "zip": "ZIP",
        },
        _patients,
    ),
    ("synthea", "payers"): (
        {
            "code": "Id",
            "name": "NAME",
            "kind": None,
            "address1": "ADDRESS",
            "city": "CITY",
            "state": "STATE_HEADQUARTERED",
            "zip": "ZIP",
        },
        _payers,
    ),
    ("synthea", "coverage"): (
        {
            "mrn": "PATIENT",
            "member_id": "MEMBERID",
            "effective_from": "START_DATE",
            "effective_to": "END_DATE",
            "payer_code": "PAYER",
            "relationship": "PLAN_OWNERSHIP",
            "subscriber_last": "OWNER_NAME",
            "subscriber_first": None,
            "priority": None,
        },
        _coverage,
    ),
}


def get(name: str, kind: str) -> Profile:
    names = sorted({n for n, _ in PROFILES})
    if name not in names:
        raise BadInput(f"unknown profile {name!r}; profiles: {', '.join(names)}")
    if (name, kind) not in PROFILES:
        kinds = sorted(k for n, k in PROFILES if n == name)
        raise BadInput(
            f"profile {name!r} reads {', '.join(kinds)} files, not {kind} "
            "(Synthea's codes are SNOMED CT, not CPT/ICD-10-CM: its claims are not imported)"
        )
    fields, fn = PROFILES[(name, kind)]
    return Profile(name, kind, dict(fields), fn)
