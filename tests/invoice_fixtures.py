"""Test-only builders for the invoice tests: a small practice whose every value the tests know.

Each builder runs inside the caller's `with db.write(conn):` and returns internal ids.
"""

from __future__ import annotations

import datetime as dt

from billadmin import npi

NOW = "2026-06-01T00:00:00+00:00"
TODAY = dt.date(2026, 6, 30)

PRACTICE = {
    "name": "Test Family Practice",
    "npi": npi.make("174839201"),
    "tax_id": "812345678",
    "taxonomy": "207Q00000X",
    "address1": "1 Main St",
    "address2": "Suite 2",
    "city": "Columbus",
    "state": "OH",
    "zip": "432151234",
    "phone": "6145550100",
    "contact_name": "Billing Office",
    "submitter_id": "TFP01",
    "receiver_id": "CLEARHOUSE01",
    "receiver_name": "TEST CLEARINGHOUSE",
}

PAYERS = [  # code, name, kind, x12 id, days, months
    ("MCR", "Medicare Part B", "medicare", "15202", None, 12),
    ("MCD", "State Medicaid", "medicaid", "OHMCD", 365, None),
    ("KEY", "Keystone Commercial", "commercial", "KEY77", 180, None),
    ("BVH", "Blue Valley HMO", "hmo", "BVH01", 90, None),
    ("SELF", "Self-pay", "self", None, None, None),
]


def practice(conn, **over) -> None:
    p = {**PRACTICE, **over}
    cols = list(p)
    conn.execute(
        f"INSERT INTO practice (id, {', '.join(cols)}) VALUES (1, {', '.join('?' * len(cols))})",
        [p[c] for c in cols],
    )
    conn.execute(
        "INSERT INTO providers (id, npi, first_name, last_name, taxonomy) VALUES (1, ?, 'Ann', 'Okafor', '207Q00000X')",
        (npi.make("162738495"),),
    )
    conn.execute(
        "INSERT INTO providers (id, npi, first_name, last_name, taxonomy) VALUES (2, ?, 'Ben', 'Lind', NULL)",
        (npi.make("151627384"),),
    )
    for code, name, kind, x12, days, months in PAYERS:
        conn.execute(
            "INSERT INTO payers (code, name, kind, x12_payer_id, timely_filing_days, timely_filing_months)"
            " VALUES (?,?,?,?,?,?)",
            (code, name, kind, x12, days, months),
        )


def payer_id(conn, code: str) -> int:
    return conn.execute("SELECT id FROM payers WHERE code = ?", (code,)).fetchone()[0]


def patient(
    conn,
    mrn: str,
    first: str = "Pat",
    last: str = "Sample",
    dob: str = "1950-03-04",
    sex: str = "F",
    address: bool = True,
) -> int:
    addr = ("5 Oak St", "Columbus", "OH", "43215") if address else (None, None, None, None)
    return conn.execute(
        "INSERT INTO patients (mrn, first_name, last_name, dob, sex, address1, city, state, zip,"
        " created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (mrn, first, last, dob, sex, *addr, NOW, NOW),
    ).lastrowid


def coverage(
    conn,
    patient_id: int,
    payer: str,
    *,
    member: str = "MEM123456",
    priority: int = 1,
    eff_from: str = "2020-01-01",
    eff_to: str | None = None,
    copay: int = 0,
    relationship: str = "self",
    sub_first: str | None = None,
    sub_last: str | None = None,
    sub_dob: str | None = None,
    group: str | None = None,
) -> int:
    return conn.execute(
        "INSERT INTO coverages (patient_id, payer_id, member_id, group_number, relationship,"
        " subscriber_first, subscriber_last,"
        " subscriber_dob, priority, effective_from, effective_to, copay_cents) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            patient_id,
            payer_id(conn, payer),
            member,
            group,
            relationship,
            sub_first,
            sub_last,
            sub_dob,
            priority,
            eff_from,
            eff_to,
            copay,
        ),
    ).lastrowid


_n = [0]


def encounter(
    conn,
    patient_id: int,
    dos: str,
    lines: list[tuple],
    *,
    dx=("E11.9", "I10"),
    provider_id: int = 1,
    number: str | None = None,
    pos: str = "11",
) -> int:
    """lines: (code, cents) or (code, cents, modifiers "25,59", pointers "1,2", units)."""
    _n[0] += 1
    number = number or f"E{conn.execute('SELECT COUNT(*) FROM encounters').fetchone()[0] + 1:06d}"
    eid = conn.execute(
        "INSERT INTO encounters (number, patient_id, provider_id, date_of_service, place_of_service)"
        " VALUES (?,?,?,?,?)",
        (number, patient_id, provider_id, dos, pos),
    ).lastrowid
    for i, code in enumerate(dx, start=1):
        conn.execute(
            "INSERT INTO encounter_diagnoses (encounter_id, seq, code) VALUES (?,?,?)",
            (eid, i, code),
        )
    for ln, spec in enumerate(lines, start=1):
        code, cents = spec[0], spec[1]
        mods = (spec[2].split(",") if len(spec) > 2 and spec[2] else []) + [None] * 4
        ptr = spec[3] if len(spec) > 3 else "1"
        units = spec[4] if len(spec) > 4 else 1
        conn.execute(
            "INSERT INTO charge_lines (encounter_id, line_no, code, modifier1, modifier2, modifier3, modifier4,"
            " dx_pointers, units, charge_cents) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (eid, ln, code, mods[0], mods[1], mods[2], mods[3], ptr, units, cents),
        )
    return eid


def copay_payment(conn, patient_id: int, cents: int, on: str) -> int:
    """A co-pay taken at the desk, as the accounts domain records it (payment + held credit)."""
    pid = conn.execute(
        "INSERT INTO payments (kind, patient_id, amount_cents, method, received_on, created_at)"
        " VALUES ('copay', ?, ?, 'cash', ?, ?)",
        (patient_id, cents, on, NOW),
    ).lastrowid
    conn.execute(
        "INSERT INTO unapplied_credits (payment_id, patient_id, amount_cents, reason, created_on, created_at)"
        " VALUES (?, ?, ?, 'copay', ?, ?)",
        (pid, patient_id, cents, on, NOW),
    )
    return pid


def no_scrub(conn, *, encounter_ids=None, as_of=None):
    return []


def scrub_flagging(*numbers: str, rule: str = "TEST-RULE"):
    """A scrubber that reports an error on the named encounters (and a warning on every other)."""
    from billadmin.findings import Finding

    def scrub(conn, *, encounter_ids=None, as_of=None):
        out = []
        for eid, number in conn.execute("SELECT id, number FROM encounters"):
            if encounter_ids is not None and eid not in encounter_ids:
                continue
            if number in numbers:
                out.append(
                    Finding(
                        rule,
                        "error",
                        "planted error",
                        encounter=number,
                        line=1,
                        source="test",
                        encounter_id=eid,
                    )
                )
            else:
                out.append(
                    Finding(
                        "TEST-WARN", "warning", "just a warning", encounter=number, encounter_id=eid
                    )
                )
        return out

    return scrub
