"""Test-only ledger builders for account and report tests: issued invoices, lines, events,
remittance postings and adjustments inserted directly, following the ledger conventions
(immutable invoices numbered from `series`, content hash from billadmin.ledger, events appended,
payments allocated to invoices and lines). Each function runs inside the caller's write().

Amounts are cents. Kept small and explicit so every expectation in a test can be computed by
hand from the calls that built it.
"""

from __future__ import annotations

from billadmin import ledger

NOW = "2026-01-01T00:00:00+00:00"

PAYERS = [  # code, name, kind, timely_filing_days, timely_filing_months
    ("MCR", "Medicare Part B", "medicare", None, 12),
    ("MCD", "State Medicaid", "medicaid", 365, None),
    ("KEY", "Keystone Commercial", "commercial", 180, None),
    ("BVH", "Blue Valley HMO", "hmo", 90, None),
    ("SELF", "Self-pay", "self", None, None),
]


def practice(conn) -> None:
    conn.execute(
        "INSERT INTO practice (id, name, npi, tax_id, address1, city, state, zip, phone)"
        " VALUES (1, 'Test Family Practice', '1234567893', '812345678', '1 Main St', 'Columbus', "
        "'OH', '43215', '6145550100')"
    )
    conn.execute(
        "INSERT INTO providers (id, npi, first_name, last_name) VALUES (1, '1245319599', 'Ann', 'Okafor')"
    )
    conn.execute(
        "INSERT INTO providers (id, npi, first_name, last_name) VALUES (2, '1679576722', 'Ben', 'Lind')"
    )
    for code, name, kind, days, months in PAYERS:
        conn.execute(
            "INSERT INTO payers (code, name, kind, x12_payer_id, address1, city, state, zip,"
            " timely_filing_days, timely_filing_months) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (code, name, kind, code + "01", "PO Box 100", "Columbus", "OH", "43216", days, months),
        )


def payer_id(conn, code: str) -> int:
    return conn.execute("SELECT id FROM payers WHERE code = ?", (code,)).fetchone()[0]


def patient(
    conn, mrn: str, first: str = "Pat", last: str = "Sample", dob: str = "1950-03-04"
) -> int:
    return conn.execute(
        "INSERT INTO patients (mrn, first_name, last_name, dob, sex, address1, city, state, zip, "
        "created_at, updated_at)"
        " VALUES (?,?,?,?, 'F', '5 Oak St', 'Columbus', 'OH', '43215', ?, ?)",
        (mrn, first, last, dob, NOW, NOW),
    ).lastrowid


def coverage(
    conn,
    patient_id: int,
    payer: str,
    eff_from: str = "2020-01-01",
    eff_to: str | None = None,
    copay: int = 0,
    priority: int = 1,
    member: str = "MEM0001",
) -> int:
    return conn.execute(
        "INSERT INTO coverages (patient_id, payer_id, member_id, priority, effective_from, effective_to, copay_cents)"
        " VALUES (?,?,?,?,?,?,?)",
        (patient_id, payer_id(conn, payer), member, priority, eff_from, eff_to, copay),
    ).lastrowid


_enc_no = [0]


def encounter(
    conn,
    patient_id: int,
    dos: str,
    lines: list[tuple[str, int]],
    provider_id: int = 1,
    status: str = "unbilled",
) -> tuple[int, list[int]]:
    n = conn.execute("SELECT COUNT(*) FROM encounters").fetchone()[0] + 1
    eid = conn.execute(
        "INSERT INTO encounters (number, patient_id, provider_id, date_of_service) VALUES (?,?,?,?)",
        (f"E{n:06d}", patient_id, provider_id, dos),
    ).lastrowid
    ids = []
    for ln, (code, cents) in enumerate(lines, start=1):
        ids.append(
            conn.execute(
                "INSERT INTO charge_lines (encounter_id, line_no, code, dx_pointers, units, charge_cents, status)"
                " VALUES (?,?,?,'1',1,?,?)",
                (eid, ln, code, cents, status),
            ).lastrowid
        )
    return eid, ids


def _number(conn, kind: str) -> str:
    prefix, n = conn.execute(
        "SELECT prefix, next_number FROM series WHERE kind = ?", (kind,)
    ).fetchone()
    conn.execute("UPDATE series SET next_number = next_number + 1 WHERE kind = ?", (kind,))
    return f"{prefix}{n:06d}"


def _issue(conn, inv: dict, lines: list[dict], status: str = "issued") -> int:
    inv = {
        "coverage_id": None,
        "encounter_id": None,
        "original_invoice_id": None,
        "frequency_code": "1",
        "due_on": None,
        "filing_deadline": None,
        "copay_cents": 0,
        "payer_id": None,
        **inv,
    }
    inv["number"] = inv.get("number") or _number(conn, inv["kind"])
    for i, ln in enumerate(lines, start=1):
        ln.setdefault("line_no", i)
        ln.setdefault("charge_line_id", None)
        ln.setdefault("modifiers", "")
        ln.setdefault("units", 1)
        ln.setdefault("description", None)
        ln.setdefault("date_of_service", None)
        ln.setdefault("code", None)
    inv["total_cents"] = sum(ln["amount_cents"] for ln in lines)
    inv["content_hash"] = ledger.content_hash(inv, lines)
    cols = list(ledger.INVOICE_FIELDS) + ["content_hash"]
    iid = conn.execute(
        f"INSERT INTO invoices ({', '.join(cols)}, created_at) VALUES ({', '.join('?' * len(cols))}, ?)",
        [inv[c] for c in cols] + [NOW],
    ).lastrowid
    lcols = list(ledger.LINE_FIELDS)
    for ln in lines:
        conn.execute(
            f"INSERT INTO invoice_lines (invoice_id, {', '.join(lcols)}) VALUES (?, {', '.join('?' * len(lcols))})",
            [iid] + [ln[c] for c in lcols],
        )
    event(conn, iid, status, inv["issued_on"])
    return iid


def event(conn, invoice_id: int, status: str, at: str, note: str | None = None) -> None:
    conn.execute(
        "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?,?,?,?)",
        (invoice_id, status, at, note),
    )


def claim(
    conn,
    encounter_id: int,
    payer: str,
    issued_on: str,
    *,
    frequency: str = "1",
    original: int | None = None,
    filing_deadline: str | None = None,
) -> int:
    pid, dos = conn.execute(
        "SELECT patient_id, date_of_service FROM encounters WHERE id = ?", (encounter_id,)
    ).fetchone()
    cl = conn.execute(
        "SELECT id, code, charge_cents FROM charge_lines WHERE encounter_id = ? AND status != 'void' ORDER BY line_no",
        (encounter_id,),
    ).fetchall()
    conn.execute(
        "UPDATE charge_lines SET status = 'billed' WHERE encounter_id = ?", (encounter_id,)
    )
    return _issue(
        conn,
        {
            "kind": "claim",
            "patient_id": pid,
            "payer_id": payer_id(conn, payer),
            "encounter_id": encounter_id,
            "issued_on": issued_on,
            "frequency_code": frequency,
            "original_invoice_id": original,
            "filing_deadline": filing_deadline,
        },
        [
            {"charge_line_id": c[0], "date_of_service": dos, "code": c[1], "amount_cents": c[2]}
            for c in cl
        ],
    )


def patient_invoice(
    conn,
    patient_id: int,
    issued_on: str,
    lines: list[tuple[str, str, int]],
    *,
    encounter_id: int | None = None,
    due_on: str | None = None,
    carries: int | None = None,
) -> int:
    """lines: (date_of_service, code, amount_cents). carries: a claim whose patient
    responsibility (transfers) this invoice bills, linked to its first line as
    billing/patient_invoices.py links them (else they count as pending, accounts.balances)."""
    inv = _issue(
        conn,
        {
            "kind": "patient",
            "patient_id": patient_id,
            "issued_on": issued_on,
            "encounter_id": encounter_id,
            "due_on": due_on,
        },
        [{"date_of_service": d, "code": c, "amount_cents": a} for d, c, a in lines],
    )
    if carries is not None:
        line = conn.execute(
            "SELECT MIN(id) FROM invoice_lines WHERE invoice_id = ?", (inv,)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO patient_invoice_adjustments (adjustment_id, invoice_line_id)"
            " SELECT id, ? FROM adjustments WHERE invoice_id = ? AND source = 'transfer'",
            (line, carries),
        )
    return inv


def credit_note(conn, invoice_id: int, issued_on: str, amount: int | None = None) -> int:
    """A credit note for the whole invoice (voids it) or for `amount` cents of it."""
    kind, pid, payer, total = conn.execute(
        "SELECT kind, patient_id, payer_id, total_cents FROM invoices WHERE id = ?", (invoice_id,)
    ).fetchone()
    amt = total if amount is None else amount
    cid = _issue(
        conn,
        {
            "kind": "credit",
            "patient_id": pid,
            "payer_id": payer,
            "issued_on": issued_on,
            "original_invoice_id": invoice_id,
        },
        [{"description": "credit", "amount_cents": -amt}],
    )
    if amount is None:
        event(conn, invoice_id, "voided", issued_on)
    return cid


def remit(
    conn,
    invoice_id: int,
    on: str,
    *,
    paid: int = 0,
    adjustments: list[tuple[str, str, int]] = (),
    status: str | None = None,
    line_paid: list[int] | None = None,
    payer: str | None = None,
) -> int | None:
    """Post a remittance for a claim: one insurance payment (when paid != 0) allocated to the claim
    (per line when line_paid is given), adjustments (group, CARC, cents) at claim level with source
    'remit' ('transfer' for PR), and a status event (paid, partially_paid or denied by default)."""
    pid_payer = (
        payer_id(conn, payer)
        if payer
        else conn.execute("SELECT payer_id FROM invoices WHERE id = ?", (invoice_id,)).fetchone()[0]
    )
    pay_id = None
    if paid:
        pay_id = conn.execute(
            "INSERT INTO payments (kind, payer_id, amount_cents, method, reference, received_on, created_at)"
            " VALUES ('insurance', ?, ?, 'eft', 'TRN' || ?, ?, ?)",
            (pid_payer, paid, invoice_id, on, NOW),
        ).lastrowid
        if line_paid:
            assert sum(line_paid) == paid
            lines = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM invoice_lines WHERE invoice_id = ? ORDER BY line_no",
                    (invoice_id,),
                )
            ]
            for lid, amt in zip(lines, line_paid, strict=False):
                if amt:
                    conn.execute(
                        "INSERT INTO payment_allocations (payment_id, invoice_id, invoice_line_id, amount_cents)"
                        " VALUES (?,?,?,?)",
                        (pay_id, invoice_id, lid, amt),
                    )
        else:
            conn.execute(
                "INSERT INTO payment_allocations (payment_id, invoice_id, amount_cents) VALUES (?,?,?)",
                (pay_id, invoice_id, paid),
            )
    for group, carc, amt in adjustments:
        conn.execute(
            "INSERT INTO adjustments (invoice_id, group_code, reason_code, amount_cents, source, "
            "created_on, created_at)"
            " VALUES (?,?,?,?,?,?,?)",
            (invoice_id, group, carc, amt, "transfer" if group == "PR" else "remit", on, NOW),
        )
    if status is None:
        denial = any(
            g in ("CO", "OA", "PI") and c not in ("45", "253", "24", "44", "59")
            for g, c, _ in adjustments
        )
        status = "denied" if not paid and denial else ("partially_paid" if denial else "paid")
    event(conn, invoice_id, status, on)
    return pay_id


def adjust(
    conn,
    invoice_id: int,
    on: str,
    amount: int,
    group: str | None = None,
    carc: str | None = None,
    source: str = "writeoff",
) -> None:
    conn.execute(
        "INSERT INTO adjustments (invoice_id, group_code, reason_code, amount_cents, source, created_on, created_at)"
        " VALUES (?,?,?,?,?,?,?)",
        (invoice_id, group, carc, amount, source, on, NOW),
    )


def owes_invoice_and_share(conn, share: int = 5000) -> tuple[int, int]:
    """0000301 (KEY) owes P000001 300.00 (issued 10-01) and a share pending since 10-20 (a claim
    for a 99213 at 150.00, paid 150.00 - share, PR-1 share): (patient id, claim id). Call inside
    a write transaction."""
    practice(conn)
    pid = patient(conn, "0000301")
    coverage(conn, pid, "KEY")
    patient_invoice(conn, pid, "2026-10-01", [("2026-09-29", "99215", 30000)])
    enc, _ = encounter(conn, pid, "2026-10-02", [("99213", 15000)])
    cid = claim(conn, enc, "KEY", "2026-10-03")
    remit(conn, cid, "2026-10-20", paid=15000 - share, adjustments=[("PR", "1", share)])
    return pid, cid
