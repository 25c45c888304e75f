"""The institutional claim as the rest of billadmin reads it (837I writer, scrub rules, UB-04).

Every value is as stored; money in integer cents; dates ISO-8601 text; codes upper case.

Facility (the institutional billing provider, loop 2010AA; `billadmin facility set`):
  id, code (ours), name, npi, tax_id (9 digits), taxonomy, facility_type (first digit of the
  type of bill it bills: 1 hospital, 2 SNF, ...), address1, address2, city, state, zip
  (9 digits: 5010 requires ZIP+4 for the billing provider), phone.

InstitutionalClaim (one claim, one encounter row; loop 2300, the UB-04 header):
  id (inst_claims.id), key (the encounter number: the hospital's patient control number,
  CLM01 and FL 3a), encounter_id, patient_id, facility,
  type_of_bill (3 characters, e.g. "131"; .facility_type "1", .classification "3",
    .frequency "1", .facility_code "13" = CLM05-1, .inpatient per billtypes.INPATIENT),
  statement_from, statement_through (DTP*434, FL 6),
  admission_date (DTP*435, FL 12), admission_hour ("HH" or "HHMM", FL 13), admission_type
    (CL101, FL 14), admission_source (CL102, FL 15), discharge_hour (DTP*096, FL 16),
    patient_status (CL103, FL 17; 2 digits) -- all None when not given,
  prior_auth (REF*G1) or None,
  providers: tuple of ClaimProvider(role, npi, last_name, first_name), role one of attending
    (2310A, FL 76), operating (2310B, FL 77), other (2310C, FL 78), referring (2310F);
    .attending / .provider(role) pick one,
  diagnoses: tuple of Diagnosis(seq, qualifier, code, poa) in claim order; qualifier ABK
    principal (exactly one), ABJ admitting, APR reason for visit (up to 3), ABF other, ABN
    external cause; poa one of Y N U W 1 or "" (blank: exempt or not applicable); code without
    the dot; .principal, .others pick them,
  procedures: tuple of Procedure(seq, qualifier, code, date), BBR principal ICD-10-PCS, BBQ other,
  condition_codes: tuple of str (HI*BG, FL 18-28),
  occurrence_codes: tuple of Occurrence(code, date) (HI*BH, FL 31-34),
  occurrence_spans: tuple of OccurrenceSpan(code, date_from, date_through) (HI*BI, FL 35-36),
  value_codes: tuple of ValueCode(code, amount_cents) (HI*BE, FL 39-41),
  lines: tuple of RevenueLine (loop 2400, FL 42-48), in line order,
  status "unbilled" or "billed"; .total_cents sums the lines' charges.

RevenueLine: id (inst_lines.id), line_no, revenue_code (4 digits, SV201), hcpcs (SV202-2) or
  None, modifiers (tuple, up to 4), units (int), unit_type "UN" or "DA" (SV204), charge_cents
  (SV203), non_covered_cents (SV207), line_date (DTP*472) or None.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import NotFound
from . import billtypes

if TYPE_CHECKING:
    from ..db import Database


@dataclass(frozen=True)
class Facility:
    id: int
    code: str
    name: str
    npi: str
    tax_id: str
    taxonomy: str | None
    facility_type: str
    address1: str
    address2: str | None
    city: str
    state: str
    zip: str
    phone: str | None


@dataclass(frozen=True)
class ClaimProvider:
    role: str
    npi: str
    last_name: str
    first_name: str | None


@dataclass(frozen=True)
class Diagnosis:
    seq: int
    qualifier: str
    code: str
    poa: str = ""


@dataclass(frozen=True)
class Procedure:
    seq: int
    qualifier: str
    code: str
    date: str


@dataclass(frozen=True)
class Occurrence:
    code: str
    date: str


@dataclass(frozen=True)
class OccurrenceSpan:
    code: str
    date_from: str
    date_through: str


@dataclass(frozen=True)
class ValueCode:
    code: str
    amount_cents: int


@dataclass(frozen=True)
class RevenueLine:
    id: int
    line_no: int
    revenue_code: str
    hcpcs: str | None
    modifiers: tuple[str, ...]
    units: int
    unit_type: str
    charge_cents: int
    non_covered_cents: int
    line_date: str | None


@dataclass(frozen=True)
class InstitutionalClaim:
    id: int
    key: str
    encounter_id: int
    patient_id: int
    facility: Facility
    type_of_bill: str
    statement_from: str
    statement_through: str
    admission_date: str | None
    admission_hour: str | None
    admission_type: str | None
    admission_source: str | None
    discharge_hour: str | None
    patient_status: str | None
    prior_auth: str | None
    providers: tuple[ClaimProvider, ...]
    diagnoses: tuple[Diagnosis, ...]
    procedures: tuple[Procedure, ...]
    condition_codes: tuple[str, ...]
    occurrence_codes: tuple[Occurrence, ...]
    occurrence_spans: tuple[OccurrenceSpan, ...]
    value_codes: tuple[ValueCode, ...]
    lines: tuple[RevenueLine, ...]
    status: str

    @property
    def facility_type(self) -> str:
        return self.type_of_bill[0]

    @property
    def classification(self) -> str:
        return self.type_of_bill[1]

    @property
    def frequency(self) -> str:
        return self.type_of_bill[2]

    @property
    def facility_code(self) -> str:
        "CLM05-1: the first two characters of the type of bill."
        return self.type_of_bill[:2]

    @property
    def inpatient(self) -> bool:
        return billtypes.is_inpatient(self.type_of_bill)

    @property
    def total_cents(self) -> int:
        return sum(ln.charge_cents for ln in self.lines)

    def provider(self, role: str) -> ClaimProvider | None:
        return next((p for p in self.providers if p.role == role), None)

    @property
    def attending(self) -> ClaimProvider | None:
        return self.provider("attending")

    @property
    def principal(self) -> Diagnosis | None:
        return next((d for d in self.diagnoses if d.qualifier == "ABK"), None)

    @property
    def others(self) -> tuple[Diagnosis, ...]:
        return tuple(d for d in self.diagnoses if d.qualifier == "ABF")


_FACILITY_COLS = (
    "id, code, name, npi, tax_id, taxonomy, facility_type, address1, address2, city, state, zip,"
    " phone"
)
_CLAIM_COLS = (
    "c.id, e.number, c.encounter_id, e.patient_id, c.facility_id, c.type_of_bill,"
    " c.statement_from, c.statement_through, c.admission_date, c.admission_hour,"
    " c.admission_type, c.admission_source, c.discharge_hour, c.patient_status, c.prior_auth,"
    " c.status"
)


def facilities(conn: Database) -> dict[int, Facility]:
    return {
        r[0]: Facility(*r)
        for r in conn.execute(f"SELECT {_FACILITY_COLS} FROM facilities ORDER BY id").fetchall()
    }


def load_claim(conn: Database, key: str) -> InstitutionalClaim:
    """The institutional claim whose encounter number is `key` (NotFound when none)."""
    found = list_claims(conn, keys=[key])
    if not found:
        raise NotFound(f"no institutional claim {key} (see billadmin import institutional)")
    return found[0]


def list_claims(
    conn: Database,
    *,
    status: str | None = None,
    keys: list[str] | None = None,
    ids: list[int] | None = None,
    through: _dt.date | str | None = None,
    facility: str | None = None,
) -> list[InstitutionalClaim]:
    """Institutional claims, ordered by key: all, or those with the given status ('unbilled',
    'billed'), keys (encounter numbers), inst_claims ids, statement-through date on or before
    `through`, or facility code. Filters combine."""
    where, args = [], []
    if status:
        where.append("c.status = ?")
        args.append(status)
    if keys is not None:
        where.append("e.number IN (SELECT value FROM json_each(?))")
        args.append(_json(keys))
    if ids is not None:
        where.append("c.id IN (SELECT value FROM json_each(?))")
        args.append(_json(ids))
    if through is not None:
        where.append("c.statement_through <= ?")
        args.append(through.isoformat() if isinstance(through, _dt.date) else through)
    if facility is not None:
        where.append("c.facility_id = (SELECT id FROM facilities WHERE code = ?)")
        args.append(facility)
    sql = f"SELECT {_CLAIM_COLS} FROM inst_claims c JOIN encounters e ON e.id = c.encounter_id"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = conn.execute(sql + " ORDER BY e.number", args).fetchall()
    if not rows:
        return []
    fac = facilities(conn)
    claim_ids = [r[0] for r in rows]
    parts = _children(conn, claim_ids)
    out = []
    for r in rows:
        cid = r[0]
        p = parts[cid]
        out.append(
            InstitutionalClaim(
                id=cid,
                key=r[1],
                encounter_id=r[2],
                patient_id=r[3],
                facility=fac[r[4]],
                type_of_bill=r[5],
                statement_from=r[6],
                statement_through=r[7],
                admission_date=r[8],
                admission_hour=r[9],
                admission_type=r[10],
                admission_source=r[11],
                discharge_hour=r[12],
                patient_status=r[13],
                prior_auth=r[14],
                providers=tuple(p["providers"]),
                diagnoses=tuple(p["diagnoses"]),
                procedures=tuple(p["procedures"]),
                condition_codes=tuple(p["condition"]),
                occurrence_codes=tuple(p["occurrence"]),
                occurrence_spans=tuple(p["span"]),
                value_codes=tuple(p["value"]),
                lines=tuple(p["lines"]),
                status=r[15],
            )
        )
    return out


def _json(values) -> str:
    import json

    return json.dumps(list(values))


_ROLE_ORDER = {"attending": 1, "operating": 2, "other": 3, "referring": 4}


def _children(conn: Database, claim_ids: list[int]) -> dict[int, dict[str, list]]:
    """Each claim's providers, diagnoses, procedures, codes and lines, read set-based."""
    parts: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    ids = _json(claim_ids)
    sel = "claim_id IN (SELECT value FROM json_each(?))"
    for cid, role, npi, last, first in conn.execute(
        f"SELECT claim_id, role, npi, last_name, first_name FROM inst_claim_providers WHERE {sel}",
        (ids,),
    ):
        parts[cid]["providers"].append(ClaimProvider(role, npi, last, first))
    for p in parts.values():
        p["providers"].sort(key=lambda x: _ROLE_ORDER[x.role])
    for cid, seq, qual, code, poa in conn.execute(
        f"SELECT claim_id, seq, qualifier, code, poa FROM inst_diagnoses WHERE {sel}"
        " ORDER BY claim_id, seq",
        (ids,),
    ):
        parts[cid]["diagnoses"].append(Diagnosis(seq, qual, code, poa))
    for cid, seq, qual, code, day in conn.execute(
        f"SELECT claim_id, seq, qualifier, code, date FROM inst_procedures WHERE {sel}"
        " ORDER BY claim_id, seq",
        (ids,),
    ):
        parts[cid]["procedures"].append(Procedure(seq, qual, code, day))
    for cid, kind, code, d1, d2, cents in conn.execute(
        f"SELECT claim_id, kind, code, date_from, date_through, amount_cents FROM inst_codes"
        f" WHERE {sel} ORDER BY claim_id, kind, seq",
        (ids,),
    ):
        if kind == "condition":
            parts[cid][kind].append(code)
        elif kind == "occurrence":
            parts[cid][kind].append(Occurrence(code, d1))
        elif kind == "span":
            parts[cid][kind].append(OccurrenceSpan(code, d1, d2))
        else:
            parts[cid][kind].append(ValueCode(code, cents))
    for r in conn.execute(
        "SELECT claim_id, id, line_no, revenue_code, hcpcs, modifier1, modifier2, modifier3,"
        " modifier4, units, unit_type, charge_cents, non_covered_cents, line_date FROM inst_lines"
        f" WHERE {sel} ORDER BY claim_id, line_no",
        (ids,),
    ):
        mods = tuple(m for m in r[5:9] if m)
        parts[r[0]]["lines"].append(
            RevenueLine(r[1], r[2], r[3], r[4], mods, r[9], r[10], r[11], r[12], r[13])
        )
    return parts
