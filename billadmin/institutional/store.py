"""Writes of the institutional domain: the facility (`billadmin facility set`) and claims
(`billadmin import institutional`, tests, the demo). Callers hold `db.write(conn)`.

Facility rules are the practice's (billing/practice.py normalise: NPI check digit, 9-digit tax
id, US state, ZIP+4, which the 837I billing provider address needs as the 837P's does) plus the
type of facility, the first digit of the types of bill it issues (billtypes.FACILITY_TYPES).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import audit, db
from ..errors import BadInput
from . import billtypes

if TYPE_CHECKING:
    from ..db import Database

FACILITY_FIELDS = [
    "name",
    "npi",
    "tax_id",
    "taxonomy",
    "facility_type",
    "address1",
    "address2",
    "city",
    "state",
    "zip",
    "phone",
]
FACILITY_REQUIRED = ["name", "npi", "tax_id", "facility_type", "address1", "city", "state", "zip"]


def _normalise(field: str, value):
    from ..billing.practice import normalise

    if value is None or str(value).strip() == "":
        return None
    if field == "facility_type":
        v = str(value).strip()
        if v not in billtypes.FACILITY_TYPES:
            raise ValueError(
                "type of facility must be one digit: "
                + ", ".join(f"{k} {d}" for k, d in billtypes.FACILITY_TYPES.items())
            )
        return v
    return normalise(field, value)


def save_facility(conn: Database, code: str, changes: dict) -> int:
    """Create or update the facility `code`; every problem reported at once (option names, never
    values). Returns its id."""
    code = (code or "").strip().upper()
    problems: dict[str, str] = {}
    if not code or len(code) > 20 or not code.replace("-", "").isalnum():
        problems["code"] = "a facility code is 1-20 letters, digits or dashes"
    clean = {}
    for k, v in changes.items():
        if k not in FACILITY_FIELDS or v is None:
            continue
        try:
            clean[k] = _normalise(k, v)
        except ValueError as e:
            problems[k] = str(e)
    row = conn.execute(
        f"SELECT id, {', '.join(FACILITY_FIELDS)} FROM facilities WHERE code = ?", (code,)
    ).fetchone()
    current = dict(zip(FACILITY_FIELDS, row[1:], strict=True)) if row else {}
    merged = {**current, **clean}
    for k in FACILITY_REQUIRED:
        if not merged.get(k) and k not in problems:
            problems[k] = "required when the facility is first set up"
    if problems:
        n = len(problems)
        raise BadInput(
            f"{n} problem{'s' if n != 1 else ''} found; nothing was written",
            details=[f"--{k.replace('_', '-')}: {r}" for k, r in problems.items()],
        )
    if not clean and row:
        raise BadInput(
            "nothing to change: give at least one option (see billadmin facility set --help)"
        )
    with db.write(conn):
        if row is None:
            cols = ["code", *FACILITY_FIELDS]
            fid = conn.execute(
                f"INSERT INTO facilities ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [code] + [merged.get(k) for k in FACILITY_FIELDS],
            ).lastrowid
        else:
            fid = row[0]
            conn.execute(
                f"UPDATE facilities SET {', '.join(f'{k} = ?' for k in clean)} WHERE id = ?",
                [*clean.values(), fid],
            )
        audit.record(
            conn,
            "facility set",
            entity="facilities",
            ids=[fid],
            count=len(clean),
            detail={"fields": sorted(clean)},
        )
    assert fid is not None
    return fid


def insert_claim(conn: Database, c: dict) -> int:
    """One institutional claim, already checked (ingest.py does that): its encounter row, header,
    providers, diagnoses, procedures, codes and revenue lines. Returns inst_claims.id.

    `c` keys: key, patient_id, provider_id (the attending provider's providers.id), facility_id,
    type_of_bill, statement_from, statement_through, the admission fields, patient_status,
    prior_auth (optional), batch_id (optional); providers [(role, npi, last, first)],
    diagnoses [(qualifier, code, poa)], procedures [(qualifier, code, date)],
    conditions [code], occurrences [(code, date)], spans [(code, from, through)],
    values [(code, cents)], lines [dict(revenue_code, hcpcs, modifiers, units, unit_type,
    charge_cents, non_covered_cents, line_date)].
    """
    pos = "21" if billtypes.is_inpatient(c["type_of_bill"]) else "22"
    enc_id = conn.execute(
        "INSERT INTO encounters (number, patient_id, provider_id, date_of_service,"
        " place_of_service) VALUES (?,?,?,?,?)",
        (c["key"], c["patient_id"], c["provider_id"], c["statement_from"], pos),
    ).lastrowid
    cid = conn.execute(
        "INSERT INTO inst_claims (encounter_id, facility_id, type_of_bill, statement_from,"
        " statement_through, admission_date, admission_hour, admission_type, admission_source,"
        " discharge_hour, patient_status, prior_auth, batch_id)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            enc_id,
            c["facility_id"],
            c["type_of_bill"],
            c["statement_from"],
            c["statement_through"],
            c.get("admission_date"),
            c.get("admission_hour"),
            c.get("admission_type"),
            c.get("admission_source"),
            c.get("discharge_hour"),
            c.get("patient_status"),
            c.get("prior_auth"),
            c.get("batch_id"),
        ),
    ).lastrowid
    assert cid is not None
    _children(conn, cid, c)
    return cid


_CHILD_TABLES = (
    "inst_claim_providers",
    "inst_diagnoses",
    "inst_procedures",
    "inst_codes",
    "inst_lines",
)
_HEADER = (
    "facility_id",
    "type_of_bill",
    "statement_from",
    "statement_through",
    "admission_date",
    "admission_hour",
    "admission_type",
    "admission_source",
    "discharge_hour",
    "patient_status",
    "prior_auth",
    "batch_id",
)


def correct_claim(conn: Database, claim_id: int, c: dict, *, at: str) -> None:
    """Replace a claim's data with corrected data (`import institutional --correct`): what it
    held before is kept in inst_claim_history (append-only, as JSON of the model), the header
    and every child row are rewritten, the encounter follows (provider, date, place). A billed
    claim keeps its status: the payer gets the correction from `invoice replace` (frequency 7)."""
    import json
    from dataclasses import asdict

    from .model import list_claims

    (before,) = list_claims(conn, ids=[claim_id])
    conn.execute(
        "INSERT INTO inst_claim_history (claim_id, data, replaced_at, batch_id) VALUES (?,?,?,?)",
        (claim_id, json.dumps(asdict(before), sort_keys=True), at, c.get("batch_id")),
    )
    for t in _CHILD_TABLES:
        conn.execute(f"DELETE FROM {t} WHERE claim_id = ?", (claim_id,))
    conn.execute(
        f"UPDATE inst_claims SET {', '.join(f'{k} = ?' for k in _HEADER)} WHERE id = ?",
        [c.get(k) for k in _HEADER] + [claim_id],
    )
    conn.execute(
        "UPDATE encounters SET provider_id = ?, date_of_service = ?, place_of_service = ?"
        " WHERE id = ?",
        (
            c["provider_id"],
            c["statement_from"],
            "21" if billtypes.is_inpatient(c["type_of_bill"]) else "22",
            before.encounter_id,
        ),
    )
    _children(conn, claim_id, c)


def _children(conn: Database, cid: int, c: dict) -> None:
    x = conn.conn.executemany
    x(
        "INSERT INTO inst_claim_providers (claim_id, role, npi, last_name, first_name)"
        " VALUES (?,?,?,?,?)",
        [(cid, *p) for p in c.get("providers", [])],
    )
    x(
        "INSERT INTO inst_diagnoses (claim_id, seq, qualifier, code, poa) VALUES (?,?,?,?,?)",
        [
            (cid, n, q, code, poa or "")
            for n, (q, code, poa) in enumerate(c.get("diagnoses", []), 1)
        ],
    )
    x(
        "INSERT INTO inst_procedures (claim_id, seq, qualifier, code, date) VALUES (?,?,?,?,?)",
        [(cid, n, *p) for n, p in enumerate(c.get("procedures", []), 1)],
    )
    codes = (
        [("condition", code, None, None, None) for code in c.get("conditions", [])]
        + [("occurrence", code, d, None, None) for code, d in c.get("occurrences", [])]
        + [("span", code, d1, d2, None) for code, d1, d2 in c.get("spans", [])]
        + [("value", code, None, None, cents) for code, cents in c.get("values", [])]
    )
    seqs: dict[str, int] = {}
    rows = []
    for kind, code, d1, d2, cents in codes:
        seqs[kind] = seqs.get(kind, 0) + 1
        rows.append((cid, kind, seqs[kind], code, d1, d2, cents))
    x(
        "INSERT INTO inst_codes (claim_id, kind, seq, code, date_from, date_through, amount_cents)"
        " VALUES (?,?,?,?,?,?,?)",
        rows,
    )
    x(
        "INSERT INTO inst_lines (claim_id, line_no, revenue_code, hcpcs, modifier1, modifier2,"
        " modifier3, modifier4, units, unit_type, charge_cents, non_covered_cents, line_date)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                cid,
                n,
                ln["revenue_code"],
                ln.get("hcpcs"),
                *(list(ln.get("modifiers") or []) + [None] * 4)[:4],
                ln.get("units", 1),
                ln.get("unit_type", "UN"),
                ln["charge_cents"],
                ln.get("non_covered_cents", 0),
                ln.get("line_date"),
            )
            for n, ln in enumerate(c["lines"], 1)
        ],
    )
