"""De-identified export under HIPAA Safe Harbor, 45 CFR 164.514(b)(2).

Each claim line becomes one row with the 18 identifiers removed:
- names, street addresses, cities, phone numbers, member ids, MRNs, claim/invoice numbers,
  encounter numbers (identifiers (A)-(R)): dropped, or replaced by keys with no relation to them;
- all elements of dates except the year (B(iii)): dates of service, birth and payment -> year;
- ages over 89 and the year of birth that would reveal them (B(iii)): "90+", birth year blank;
- ZIP codes (B(ii)): first three digits, "000" where the three-digit area holds 20,000 people or
  fewer (the 17 prefixes HHS lists from the 2010 Census);
- patients get a stable random key (a random token stored per patient in this database, not a
  hash of anything about them), so one patient's rows link together across exports while the key
  itself reveals nothing.
Kept: sex, state, payer kind and name, codes, modifiers, units, amounts (not identifiers).
"""

from __future__ import annotations

import datetime as _dt
import secrets
from typing import TYPE_CHECKING

from .dates import age_on

if TYPE_CHECKING:
    from .db import Database


# HHS de-identification guidance (2012), section 4.4: 3-digit ZIPs with <= 20,000 people, 2010 Census.
RESTRICTED_ZIP3 = frozenset(
    {
        "036",
        "059",
        "063",
        "102",
        "203",
        "556",
        "692",
        "790",
        "821",
        "823",
        "830",
        "831",
        "878",
        "879",
        "884",
        "890",
        "893",
    }
)

COLUMNS = [
    "patient_key",
    "sex",
    "age",
    "birth_year",
    "zip3",
    "state",
    "claim_key",
    "service_year",
    "payer_kind",
    "payer",
    "line_no",
    "code",
    "modifiers",
    "units",
    "diagnoses",
    "charge_cents",
    "paid_cents",
    "adjusted_cents",
    "status",
]


def zip3(zipcode: str | None) -> str:
    digits = "".join(ch for ch in (zipcode or "") if ch.isdigit())
    if len(digits) < 5:
        return "000"
    z = digits[:3]
    return "000" if z in RESTRICTED_ZIP3 else z


def age_bucket(dob: str, on: _dt.date) -> tuple[str, str]:
    """(age, birth year) with ages over 89 aggregated to "90+" and their birth year withheld."""
    born = _dt.date.fromisoformat(dob)
    age = age_on(born, on)
    if age > 89:
        return "90+", ""
    return str(age), str(born.year)


def _keys(conn: Database, table: str, id_col: str, ids: set[int]) -> dict[int, str]:
    """Stable random keys, created on first export and kept for the next ones."""
    have = dict(conn.execute(f"SELECT {id_col}, key FROM {table}"))
    new = [(i, secrets.token_hex(8)) for i in sorted(ids - have.keys())]
    if new:
        conn.conn.executemany(f"INSERT INTO {table} ({id_col}, key) VALUES (?, ?)", new)
        have.update(new)
    return have


def deidentified_rows(
    conn: Database,
    *,
    date_from: str | None = None,
    date_to: str | None = None,
    as_of: _dt.date | None = None,
) -> list[dict]:
    """Claim lines in the period (by date of service), de-identified. Runs inside db.write():
    it may create the random keys of patients and claims exported for the first time."""
    as_of = as_of or _dt.date.today()
    where, params = ["i.kind = 'claim'"], []
    if date_from:
        where.append("l.date_of_service >= ?")
        params.append(date_from)
    if date_to:
        where.append("l.date_of_service <= ?")
        params.append(date_to)
    rows = conn.execute(
        f"""
        SELECT i.id, i.patient_id, p.sex, p.dob, p.zip, p.state, l.line_no, l.date_of_service, l.code, l.modifiers,
               l.units, l.amount_cents, py.kind, py.name, i.encounter_id, l.id,
               COALESCE((SELECT SUM(a.amount_cents) FROM payment_allocations a WHERE a.invoice_line_id = l.id), 0),
               COALESCE((SELECT SUM(d.amount_cents) FROM adjustments d WHERE d.invoice_line_id = l.id), 0),
               (SELECT s.status FROM invoice_status s WHERE s.invoice_id = i.id)
        FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id JOIN patients p ON p.id = i.patient_id
        LEFT JOIN payers py ON py.id = i.payer_id
        WHERE {" AND ".join(where)} ORDER BY i.id, l.line_no""",
        params,
    ).fetchall()
    pkeys = _keys(conn, "deid_patient_keys", "patient_id", {r[1] for r in rows})
    ckeys = _keys(conn, "deid_claim_keys", "invoice_id", {r[0] for r in rows})
    dx: dict[int, str] = {}
    enc_ids = {r[14] for r in rows if r[14]}
    if enc_ids:
        for enc_id, codes in conn.execute(
            "SELECT encounter_id, group_concat(code, ' ') FROM (SELECT encounter_id, code FROM encounter_diagnoses"
            f" WHERE encounter_id IN ({','.join('?' * len(enc_ids))}) ORDER BY encounter_id, seq) "
            "GROUP BY encounter_id",
            list(enc_ids),
        ):
            dx[enc_id] = codes
    out = []
    for (
        inv_id,
        pat_id,
        sex,
        dob,
        zipcode,
        state,
        line_no,
        dos,
        code,
        mods,
        units,
        amount,
        pkind,
        pname,
        enc_id,
        _line_id,
        paid,
        adjusted,
        status,
    ) in rows:
        age, birth_year = age_bucket(dob, _dt.date.fromisoformat(dos) if dos else as_of)
        out.append(
            {
                "patient_key": pkeys[pat_id],
                "sex": sex,
                "age": age,
                "birth_year": birth_year,
                "zip3": zip3(zipcode),
                "state": state,
                "claim_key": ckeys[inv_id],
                "service_year": dos[:4] if dos else "",
                "payer_kind": pkind,
                "payer": pname,
                "line_no": line_no,
                "code": code,
                "modifiers": mods,
                "units": units,
                "diagnoses": dx.get(enc_id, ""),
                "charge_cents": amount,
                "paid_cents": paid,
                "adjusted_cents": adjusted,
                "status": status,
            }
        )
    return out


def export_deidentified(
    conn: Database,
    *,
    date_from: str | None = None,
    date_to: str | None = None,
    destination: str = "stdout",
) -> list[dict]:
    """The de-identified claim lines of the period, with the export recorded in the audit log
    (45 CFR 164.312(b): a disclosure of data derived from PHI is logged even when de-identified;
    `destination` is the file name or "stdout", never a path that could name a patient)."""
    from . import audit, db

    with db.write(conn):
        rows = deidentified_rows(conn, date_from=date_from, date_to=date_to)
        audit.record(
            conn,
            "export deidentified",
            entity="claim_line",
            count=len(rows),
            detail={"from": date_from, "to": date_to, "file": destination},
        )
    return rows
