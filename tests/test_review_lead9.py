"""Adversarial review of the lead's ledger changes (session 9): a voided patient invoice's
payments held as credit, allocation dates in balances as of a date, credit notes of negative
lines, patient shares a payer takes back (lifecycle.credit_reversed_shares) and next-payer claims
voided with --rebill (cob_rebills). Every expected number is worked by hand in the docstring.
"""

from __future__ import annotations

import datetime as dt
import json

import invoice_fixtures as fx
from test_remit_support import Remit, issue_claim

from billadmin import db as dbmod
from billadmin import integrity
from billadmin.accounts import payments
from billadmin.billing import cob, lifecycle
from billadmin.billing import generate as gen


def _ok(r) -> None:
    assert r.exit_code == 0, r.stdout + r.stderr


def _run(db, out, today=fx.TODAY) -> list[tuple[str, int]]:
    res = gen.generate(db, today=today, scrub=fx.no_scrub, out_dir=out, pdf=False)
    return [(r["number"], r["total_cents"]) for r in res.issued]


def _balance(conn, number: str) -> tuple[int, int, int, int, int]:
    """(total, credited, paid, adjusted, balance) of one invoice."""
    return conn.execute(
        "SELECT total_cents, credited_cents, paid_cents, adjusted_cents,"
        " total_cents + credited_cents - paid_cents - adjusted_cents"
        " FROM invoice_balances WHERE number = ?",
        (number,),
    ).fetchone()


def _summary(cli, mrn: str) -> dict:
    r = cli("account", "show", mrn, "-f", "json")
    _ok(r)
    return json.loads(r.stdout)["summary"]


def _messages(db) -> list[str]:
    return [f"{f.rule}: {f.message}" for f in integrity.run_checks(db)]


# --- a patient share the payer takes back (credit_reversed_shares) ----------------------------

FIRST = Remit().claim(
    "C000001", "1", "140", "90", "20", pcn="KP-1",
    lines=[("HC:99213", "140", "90", [("CO", "45", "30"), ("PR", "2", "20")])],
)  # fmt: skip


def _again() -> Remit:
    """Keystone's reversal of its first answer (PR-2 -20.00) and a new answer (PR-2 10.00)."""
    return (
        Remit(trace="EFT2002")
        .claim(
            "C000001", "22", "-140", "-90", "-20", pcn="KP-1",
            lines=[("HC:99213", "-140", "-90", [("CO", "45", "-30"), ("PR", "2", "-20")])],
        )
        .claim(
            "C000001", "1", "140", "100", "10", pcn="KP-2",
            lines=[("HC:99213", "140", "100", [("CO", "45", "30"), ("PR", "2", "10")])],
        )
    )  # fmt: skip


def _billed(db, cli, tmp_path) -> int:
    """C000001 (T0001, Keystone) 99213 140.00; the 835 leaves PR-2 20.00, billed on P000001."""
    with dbmod.write(db):
        fx.practice(db)
    issue_claim(db, "C000001", [("99213", "", "140.00")])
    _ok(cli("remit", "import", FIRST.write(tmp_path / "a.835")))
    assert _run(db, tmp_path / "o1") == [("P000001", 2000)]
    return db.execute("SELECT patient_id FROM invoices WHERE number = 'P000001'").fetchone()[0]


def test_a_reversal_after_a_partial_write_off_refunds_only_what_was_paid(db, cli, tmp_path):
    """P000001 bills the 20.00 share; the clerk writes off 5.00 (courtesy) and the patient pays
    15.00: 20.00 - 15.00 - 5.00 = 0.00. Keystone reverses (PR-2 -20.00) and answers again with
    PR-2 10.00. The patient paid 15.00 towards a share now 10.00: 15.00 - 10.00 = 5.00 is his
    to be refunded, no more (the 5.00 written off is money he never paid). Before the fix the credit
    note takes off the whole 20.00: P000001 20.00 - 20.00 - 15.00 paid - 5.00 written off =
    -20.00, 15.00 held as credit, -5.00 left; the run bills P000002 10.00 paid by the credit:
    refundable 5.00 credit + 5.00 overpaid P000001 = 10.00."""
    patient = _billed(db, cli, tmp_path)
    _ok(cli("invoice", "writeoff", "P000001", "5.00", "--reason", "courtesy"))
    _ok(cli("payment", "post", "T0001", "15.00", "--method", "cash"))
    assert _balance(db, "P000001") == (2000, 0, 1500, 500, 0)
    _ok(cli("remit", "import", _again().write(tmp_path / "b.835")))
    assert _run(db, tmp_path / "o2") == [("P000002", 1000)]
    assert _balance(db, "P000002") == (1000, 0, 1000, 0, 0)
    credit, over = payments.refundable(db, patient)
    assert credit - sum(i["balance_cents"] for i in over) == 500
    assert _messages(db) == []


# two visits' shares on one patient invoice (claims C000001 and C000002 of T0001)
TWO = (
    Remit()
    .claim(
        "C000001", "1", "140", "90", "20", pcn="KP-1",
        lines=[("HC:99213", "140", "90", [("CO", "45", "30"), ("PR", "2", "20")])],
    )
    .claim(
        "C000002", "1", "200", "140", "30", pcn="KP-3",
        lines=[("HC:99214", "200", "140", [("CO", "45", "30"), ("PR", "2", "30")])],
    )
)  # fmt: skip

BACK2 = Remit(trace="EFT3003").claim(
    "C000002", "22", "-200", "-140", "-30", pcn="KP-3",
    lines=[("HC:99214", "-200", "-140", [("CO", "45", "-30"), ("PR", "2", "-30")])],
)  # fmt: skip


def _two(db, cli, tmp_path) -> int:
    """C000001 (99213 140.00, PR-2 20.00) and C000002 (99214 200.00, PR-2 30.00), both billed
    on P000001: line 1 the 20.00 (claim C000001), line 2 the 30.00 (claim C000002)."""
    with dbmod.write(db):
        fx.practice(db)
    issue_claim(db, "C000001", [("99213", "", "140.00")])
    issue_claim(db, "C000002", [("99214", "", "200.00")])
    _ok(cli("remit", "import", TWO.write(tmp_path / "a.835")))
    assert _run(db, tmp_path / "o1") == [("P000001", 5000)]
    assert _lines(db, "P000001") == [(1, "99213", 2000), (2, "99214", 3000)]
    return db.execute("SELECT patient_id FROM invoices WHERE number = 'P000001'").fetchone()[0]


def _lines(db, number: str) -> list[tuple[int, str, int]]:
    return db.execute(
        "SELECT l.line_no, l.code, l.amount_cents FROM invoice_lines l"
        " JOIN invoices i ON i.id = l.invoice_id WHERE i.number = ? ORDER BY l.line_no",
        (number,),
    ).fetchall()


def test_a_dry_run_of_a_reversal_writes_nothing(db, cli, tmp_path):
    """The patient pays the 50.00 of P000001. `remit import --dry-run` of Keystone's reversal of
    C000002 (PR-2 -30.00) says what it would post and writes nothing: no credit note, no held
    credit, no allocation, the number series untouched (the real import then takes CN000001).
    The real import credits P000001 30.00 (CN000001) and holds the 30.00 paid on it: P000001
    50.00 - 30.00 - 20.00 paid = 0.00, refundable 30.00; check is clean."""
    patient = _two(db, cli, tmp_path)
    _ok(cli("payment", "post", "T0001", "50.00", "--method", "cash"))
    tables = (
        "invoices", "invoice_lines", "payment_allocations", "unapplied_credits",
        "patient_invoice_adjustments", "adjustments", "audit_log", "invoice_snapshots",
    )  # fmt: skip
    before = [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables]
    r = cli("remit", "import", BACK2.write(tmp_path / "b.835"), "--dry-run", "-f", "json")
    _ok(r)
    assert [t["result"] for t in json.loads(r.stdout)] == ["would post"]
    assert [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables] == before
    assert payments.credit_balance(db, patient) == 0
    _ok(cli("remit", "import", BACK2.write(tmp_path / "b.835")))
    assert db.execute(
        "SELECT number, total_cents FROM invoices WHERE kind = 'credit'"
    ).fetchall() == [("CN000001", -3000)]
    assert _balance(db, "P000001") == (5000, -3000, 2000, 0, 0)
    assert payments.refundable(db, patient) == (3000, [])
    assert _messages(db) == []


def test_a_reversal_credits_the_line_of_the_claim_it_takes_back(db, cli, tmp_path):
    """Keystone reverses C000002 only (PR-2 -30.00). The credit note CN000001 must take the
    30.00 off line 2 (99214, 'Coinsurance, claim C000002'), and nothing off line 1 (C000001's
    20.00, still owed): lines 0.00 and -30.00. A later void of P000001 credits what is left,
    20.00: each line is then credited exactly its amount over both notes (99213: -20.00,
    99214: -30.00). Before the fix CN000001 is -20.00 (99213), -10.00 (99214) and the void's CN000002
    -20.00 (99213), 0.00 (99214)."""
    _two(db, cli, tmp_path)
    _ok(cli("remit", "import", BACK2.write(tmp_path / "b.835")))
    assert _balance(db, "P000001") == (5000, -3000, 0, 0, 2000)
    assert _lines(db, "CN000001") == [(1, "99213", 0), (2, "99214", -3000)]
    _ok(cli("invoice", "void", "P000001", "--reason", "wrong guarantor"))
    per_line = db.execute(
        "SELECT l.line_no, SUM(l.amount_cents) FROM invoice_lines l"
        " JOIN invoices i ON i.id = l.invoice_id WHERE i.kind = 'credit' GROUP BY l.line_no"
    ).fetchall()
    assert per_line == [(1, -2000), (2, -3000)]


# a claim's share billed on two patient invoices (two answers), both taken back at once
L1 = ("HC:99213", "140", "90", [("CO", "45", "30"), ("PR", "2", "20")])
L2_DENIED = ("HC:99214", "200", "0", [("CO", "16", "200")])
L2 = ("HC:99214", "200", "140", [("CO", "45", "30"), ("PR", "2", "30")])


def test_a_share_billed_on_two_invoices_and_taken_back_is_refundable(db, cli, tmp_path):
    """C000001: 99213 140.00 + 99214 200.00. Keystone's first 835 pays the 99213 (90.00, CO-45
    30.00, PR-2 20.00) and denies the 99214 (CO-16, left open); the run bills the 20.00 on
    P000001, paid. Its second 835 pays the 99214 (140.00, CO-45 30.00, PR-2 30.00); the run bills
    the 30.00 on P000002, paid. Keystone then reverses both answers (PR-2 -20.00 and -30.00) and
    pays the claim in full (280.00, CO-45 60.00, no patient share). The patient owes nothing and
    paid 50.00: P000001 and P000002 are credited (20.00, 30.00), the 50.00 held as credit and
    refundable, nothing pending. Before the fix nothing is credited: pending -50.00, refundable 0.00,
    and `payment refund` refuses the 50.00."""
    with dbmod.write(db):
        fx.practice(db)
    issue_claim(db, "C000001", [("99213", "", "140.00"), ("99214", "", "200.00")])
    first = Remit().claim("C000001", "1", "340", "90", "20", pcn="KP-1", lines=[L1, L2_DENIED])
    _ok(cli("remit", "import", first.write(tmp_path / "a.835")))
    assert _run(db, tmp_path / "o1") == [("P000001", 2000)]
    _ok(cli("payment", "post", "T0001", "20.00", "--method", "cash"))
    second = Remit(trace="E2").claim("C000001", "1", "200", "140", "30", pcn="KP-2", lines=[L2])
    _ok(cli("remit", "import", second.write(tmp_path / "b.835")))
    assert _run(db, tmp_path / "o2", fx.TODAY + dt.timedelta(days=1)) == [("P000002", 3000)]
    _ok(cli("payment", "post", "T0001", "30.00", "--method", "cash"))
    back = (
        Remit(trace="E3")
        .claim(
            "C000001", "22", "-340", "-90", "-20", pcn="KP-1",
            lines=[
                ("HC:99213", "-140", "-90", [("CO", "45", "-30"), ("PR", "2", "-20")]),
                ("HC:99214", "-200", "0", [("CO", "16", "-200")]),
            ],
        )
        .claim(
            "C000001", "22", "-200", "-140", "-30", pcn="KP-2",
            lines=[("HC:99214", "-200", "-140", [("CO", "45", "-30"), ("PR", "2", "-30")])],
        )
        .claim(
            "C000001", "1", "340", "280", "0", pcn="KP-3",
            lines=[
                ("HC:99213", "140", "110", [("CO", "45", "30")]),
                ("HC:99214", "200", "170", [("CO", "45", "30")]),
            ],
        )
    )  # fmt: skip
    _ok(cli("remit", "import", back.write(tmp_path / "c.835")))
    summary = _summary(cli, "T0001")
    assert (summary["patient_pending"], summary["credit"]) == ("0.00", "50.00")
    assert _balance(db, "P000001")[4] == 0 and _balance(db, "P000002")[4] == 0
    _ok(cli("payment", "refund", "T0001", "50.00", "--method", "check"))
    assert _messages(db) == []


# --- a voided patient invoice's payments held as credit ----------------------------------------


def _cy(db, lines=((("99213", 14000),),)) -> int:
    """Cy (MRN 2001, self-pay): a 20.00 co-pay on 2026-06-10 and the visits given; the run of
    2026-06-30 bills them on P000001 (one invoice), the co-pay applied."""
    with dbmod.write(db):
        fx.practice(db)
        cy = fx.patient(db, "2001", "Cy", "Cole")
        fx.copay_payment(db, cy, 2000, "2026-06-10")
        for i, visit in enumerate(lines, start=1):
            fx.encounter(db, cy, "2026-06-10", list(visit), number=f"V{i}")
    return cy


def _aging(cli, as_of: str) -> str:
    r = cli("report", "aging", "--as-of", as_of, "--per", "patient", "-f", "json")
    _ok(r)
    return json.loads(r.stdout)[-1]["total"]


def test_payments_and_a_refund_before_a_void_are_held_once_and_age_by_their_day(db, cli, tmp_path):
    """P000001 140.00, the 20.00 co-pay applied (120.00 due). Cy pays 50.00 on 07-01 (70.00
    open), 30.00 on 07-10 (40.00 open), 100.00 on 07-20 with --credit (40.00 applied, 60.00 kept
    as credit) and gets the 60.00 back on 07-25. The invoice is voided on 08-15: the credit
    note takes off 140.00, the 140.00 paid on it (20.00 + 50.00 + 30.00 + 40.00) is held as
    credit, newest first: 40.00, 30.00, 50.00, 20.00. He paid 200.00 and got 60.00 back, so his
    credit is 140.00, all refundable. Aging by patient as of 07-05: 70.00; 07-15: 40.00; 07-31:
    0.00; 08-20: 0.00 (the credit is held, not an overpaid invoice). After a refund of the
    140.00 the account is 0.00 and check is clean."""
    cy = _cy(db)
    assert _run(db, tmp_path / "o1") == [("P000001", 14000)]
    for amount, day, extra in (
        ("50.00", "2026-07-01", ()),
        ("30.00", "2026-07-10", ()),
        ("100.00", "2026-07-20", ("--credit",)),
    ):
        _ok(cli("payment", "post", "2001", amount, "--method", "cash", "--date", day, *extra))
    _ok(cli("payment", "refund", "2001", "60.00", "--method", "cash", "--date", "2026-07-25"))
    assert _balance(db, "P000001") == (14000, 0, 14000, 0, 0)
    out = lifecycle.void(db, "P000001", reason="wrong patient", today=dt.date(2026, 8, 15))
    assert (out["credit_cents"], out["held_as_credit_cents"]) == (-14000, 14000)
    assert db.execute(
        "SELECT p.amount_cents, c.amount_cents FROM unapplied_credits c"
        " JOIN payments p ON p.id = c.payment_id WHERE c.created_on = '2026-08-15' ORDER BY c.id"
    ).fetchall() == [(10000, 4000), (3000, 3000), (5000, 5000), (2000, 2000)]
    assert payments.refundable(db, cy) == (14000, [])
    assert [_aging(cli, d) for d in ("2026-07-05", "2026-07-15", "2026-07-31", "2026-08-20")] == [
        "70.00", "40.00", "0.00", "0.00",
    ]  # fmt: skip
    summary = _summary(cli, "2001")
    assert (summary["patient_owes"], summary["credit"]) == ("-140.00", "140.00")
    r = cli("statement", "credits", "-f", "json")
    _ok(r)
    assert [(c["mrn"], c["refund"]) for c in json.loads(r.stdout)] == [("2001", "140.00")]
    assert payments.ledger_findings(db) == []
    assert _messages(db) == []
    _ok(cli("payment", "refund", "2001", "140.00", "--method", "check"))
    assert _summary(cli, "2001")["patient_owes"] == "0.00"
    _ok(cli("check"))


# --- a void of an invoice on a payment plan, or sent to collections ----------------------------


def test_a_void_of_the_invoice_on_a_payment_plan_ends_the_plan(db, cli, tmp_path):
    """P000001 at 300.00 (a 320.00 visit less the 20.00 co-pay). Cy sets up a plan on 07-05:
    300.00, 100.00 a month on the 15th from 07-15; pays the first 100.00 on 07-15 (200.00 left).
    P000001 is voided on 07-20 (wrong patient): the 120.00 paid on it (co-pay + installment) is
    held as credit, he owes nothing. The plan has nothing left to collect: on 09-30 `plan list`
    must not report it missed (the 08-15 and 09-15 installments), and a further installment
    to it is refused (exit 2) instead of adding 100.00 to his credit."""
    cy = _cy(db, ((("99214", 32000),),))
    assert _run(db, tmp_path / "o1") == [("P000001", 32000)]
    _ok(cli("plan", "create", "2001", "--monthly", "100.00", "--day", "15",
            "--start", "2026-07-15", "--date", "2026-07-05"))  # fmt: skip
    _ok(cli("plan", "pay", "2001", "100.00", "--method", "cash", "--date", "2026-07-15"))
    out = lifecycle.void(db, "P000001", reason="wrong patient", today=dt.date(2026, 7, 20))
    assert out["held_as_credit_cents"] == 12000
    assert payments.credit_balance(db, cy) == 12000
    r = cli("plan", "list", "--date", "2026-09-30", "-f", "json")
    _ok(r)
    assert [p["status"] for p in json.loads(r.stdout)] != ["missed"]
    r = cli("plan", "pay", "2001", "100.00", "--method", "cash", "--date", "2026-09-30")
    assert r.exit_code == 2
    assert payments.credit_balance(db, cy) == 12000


def _to_collections(db, cli, tmp_path) -> int:
    """P000001 140.00 (120.00 due after the co-pay) issued 06-30, never paid: a final notice on
    11-01, sent to the agency on 12-01 (120.00 written off, bad debt)."""
    cy = _cy(db)
    assert _run(db, tmp_path / "o1") == [("P000001", 14000)]
    _ok(cli("statement", "run", "--date", "2026-11-01", "--out", tmp_path / "s"))
    _ok(cli("collections", "send", "--agency", "K", "--out", tmp_path / "a.csv",
            "--date", "2026-12-01"))  # fmt: skip
    assert _balance(db, "P000001") == (14000, 0, 2000, 12000, 0)
    return cy


def test_a_recovery_then_a_void_holds_what_was_paid(db, cli, tmp_path):
    """The agency recovers 50.00 on 12-03: 50.00 of the write-off is reversed and posted as a
    payment (P000001 140.00 - 70.00 paid - 70.00 written off = 0.00). P000001 is then voided
    (12-05): the credit note takes off 140.00 - 70.00 written off = 70.00, and the 70.00 paid
    (co-pay 20.00 + recovery 50.00) is held as his credit, refundable; check is clean."""
    cy = _to_collections(db, cli, tmp_path)
    _ok(cli("collections", "recover", "2001", "50.00", "--method", "check", "--date", "2026-12-03"))
    assert _balance(db, "P000001") == (14000, 0, 7000, 7000, 0)
    out = lifecycle.void(db, "P000001", reason="wrong patient", today=dt.date(2026, 12, 5))
    assert (out["credit_cents"], out["held_as_credit_cents"]) == (-7000, 7000)
    assert _balance(db, "P000001") == (14000, -7000, 0, 7000, 0)
    assert payments.refundable(db, cy) == (7000, [])
    assert _messages(db) == []


def test_a_recovery_after_the_invoice_was_voided_is_refused_with_the_way_to_post_it(
    db, cli, tmp_path
):
    """P000001 is voided on 12-02 after the hand-off (wrong patient): the credit note takes off
    140.00 - 120.00 written off = 20.00 (the co-pay, held as credit). The agency, not yet told,
    recovers 50.00 on 12-03. P000001 owed nothing, so there is nothing to recover on it:
    `collections recover` is refused (exit 2, nothing written) and says to post the money as
    the patient's credit, which the clerk does: 20.00 + 50.00 = 70.00 refundable."""
    cy = _to_collections(db, cli, tmp_path)
    out = lifecycle.void(db, "P000001", reason="wrong patient", today=dt.date(2026, 12, 2))
    assert (out["credit_cents"], out["held_as_credit_cents"]) == (-2000, 2000)
    before = db.execute("SELECT COUNT(*) FROM payments").fetchone()
    r = cli("collections", "recover", "2001", "50.00", "--method", "check", "--date", "2026-12-03")
    assert r.exit_code == 2
    assert "P000001 was voided after the hand-off" in r.stderr and "--credit" in r.stderr
    assert db.execute("SELECT COUNT(*) FROM payments").fetchone() == before
    _ok(cli("payment", "post", "2001", "50.00", "--method", "check", "--credit"))
    assert payments.refundable(db, cy) == (7000, [])
    assert _messages(db) == []


def test_a_void_with_rebill_does_not_list_the_held_co_pay_as_a_refund(db, cli, tmp_path):
    """P000001 140.00 (co-pay 20.00 applied, 120.00 due) is voided with --rebill (a wrong code):
    the 20.00 is held as credit for the rebill and V1 (140.00) is unbilled again. Until the
    next run bills it, Cy owes the visit less the co-pay (120.00), not -20.00: `statement
    credits` must not list him with a 20.00 refund to make (it does: the unbilled visit counts
    for nothing), and the run then applies the 20.00 (P000002 140.00, 120.00 due)."""
    _cy(db)
    assert _run(db, tmp_path / "o1") == [("P000001", 14000)]
    _ok(cli("invoice", "void", "P000001", "--reason", "wrong code", "--rebill"))
    r = cli("statement", "credits", "-f", "json")
    _ok(r)
    assert [c["mrn"] for c in json.loads(r.stdout)] == []


# --- next-payer (COB) claims voided with --rebill ---------------------------------------------


def _key_line(charge: str, paid: str, cas: list) -> dict:
    return {"code": "99214", "charge": charge, "paid": paid, "cas": cas}


def _cora_reversal(db, tmp_path) -> None:
    """Keystone reverses its answer on C000001 (-120.00 paid, CO-45 -50.00, PR-2 -30.00) and
    answers again: 140.00 paid, CO-45 50.00, PR-2 10.00 (routed to Blue Valley)."""
    import ledger_scenarios as ls

    from billadmin.remit import post

    claims = [
        {
            "claim": "C000001", "status": "22", "charge": "-200.00", "paid": "-120.00",
            "pr": "-30.00", "pcn": "KEY-1",
            "lines": [_key_line("-200.00", "-120.00", [["CO", "45", "-50.00"], ["PR", "2", "-30.00"]])],
        },
        {
            "claim": "C000001", "status": "1", "charge": "200.00", "paid": "140.00",
            "pr": "10.00", "pcn": "KEY-2",
            "lines": [_key_line("200.00", "140.00", [["CO", "45", "50.00"], ["PR", "2", "10.00"]])],
        },
    ]  # fmt: skip
    path = tmp_path / "K2.835"
    path.write_text(ls.remit_text({"payer": "KEY", "trace": "K2", "on": "D+2", "claims": claims}))
    res = post.import_files(db, [path], today=_day(2))
    assert [t.result for t in res.transactions] == ["posted"]


def _day(n: int) -> dt.date:
    import test_audit_claims as ac

    return ac.TODAY + dt.timedelta(days=n)


def _cob_run(db, tmp_path, n: int, *, dry_run: bool = False) -> list[tuple[str, int]]:
    res = gen.generate(
        db, out_dir=tmp_path / f"c{n}{dry_run}", today=_day(n), scrub=fx.no_scrub, pdf=False,
        xlsx=False, dry_run=dry_run,
    )  # fmt: skip
    return [(r["number"], r["total_cents"]) for r in res.issued]


def _cora_owes(cli) -> tuple[str, str]:
    s = _summary(cli, "C0001")
    return s["insurance_balance"], s["patient_owes"]


def test_a_next_payer_claim_voided_with_rebill_twice_then_voided(db, cli, tmp_path):
    """tests/test_audit_claims.py's Cora: Keystone left 30.00 (PR-2) that Blue Valley is billed on
    C000002 (200.00 - 170.00 OA-23). Voided with --rebill, the 30.00 is due again and the run
    bills C000003 (30.00 open; C000002 0.00, its credit note CN000001 -30.00 sent as the void);
    C000003 voided with --rebill the same way gives C000004. Each time Blue Valley owes 30.00
    once (insurance 30.00). C000004 voided without --rebill: nothing is due, Blue Valley owes
    nothing (0.00), the next run bills only the void (CN000003); check is clean throughout."""
    import test_audit_claims as ac

    ac._secondary(db, tmp_path)
    for claim, n, nxt, cn in (
        ("C000002", 2, "C000003", "CN000001"),
        ("C000003", 3, "C000004", "CN000002"),
    ):
        _ok(cli("invoice", "void", claim, "--reason", "wrong subscriber", "--rebill"))
        assert [d.left_cents for d in cob.due(db)] == [3000]
        assert _cora_owes(cli) == ("30.00", "0.00")
        assert _cob_run(db, tmp_path, n) == [(nxt, 20000), (cn, -3000)]
        assert _balance(db, claim) == (20000, -3000, 0, 17000, 0)
        assert _balance(db, nxt) == (20000, 0, 0, 17000, 3000)
        assert cob.due(db) == []
        assert _messages(db) == []
    _ok(cli("invoice", "void", "C000004", "--reason", "not covered after all"))
    assert cob.due(db) == []
    assert _cora_owes(cli) == ("0.00", "0.00")
    assert _cob_run(db, tmp_path, 4) == [("CN000003", -3000)]
    assert _messages(db) == []


def test_the_primarys_reversal_then_the_next_payer_claim_voided_with_rebill(db, cli, tmp_path):
    """Cora's C000002 bills Blue Valley the 30.00; Keystone then reverses and answers again with
    PR-2 10.00: the -30.00 is routed to Blue Valley like the +30.00 it reverses, the +10.00 is
    due. The run bills C000003 (200.00 - 190.00 = 10.00 open) while C000002 still asks 30.00
    (insurance 40.00) until the clerk voids it. Voided with --rebill, its +30.00 is due again
    and nets with the -30.00: nothing is due, the run (dry run first, the same) bills only the
    void (CN000001), and Blue Valley owes 10.00, the share Keystone left."""
    import test_audit_claims as ac

    ac._secondary(db, tmp_path)
    _cora_reversal(db, tmp_path)
    assert [d.left_cents for d in cob.due(db)] == [1000]
    assert _cob_run(db, tmp_path, 2) == [("C000003", 20000)]
    assert _balance(db, "C000003") == (20000, 0, 0, 19000, 1000)
    assert _cora_owes(cli) == ("40.00", "0.00")
    _ok(cli("invoice", "void", "C000002", "--reason", "share taken back", "--rebill"))
    assert cob.due(db) == []
    assert _cora_owes(cli) == ("10.00", "0.00")
    assert _cob_run(db, tmp_path, 3, dry_run=True) == [("CN000001", -3000)]
    assert _cob_run(db, tmp_path, 3) == [("CN000001", -3000)]
    assert _messages(db) == []


def _kpis(cli) -> dict:
    r = cli("report", "kpi", "--from", "2026-06-01", "--to", "2026-07-31", "-f", "json")
    _ok(r)
    return {k["kpi"]: (k["value"], k["numerator"], k["denominator"]) for k in json.loads(r.stdout)}


def test_a_later_void_leaves_an_earlier_aging(db, cli, tmp_path):
    """P000001 140.00 (120.00 due after the co-pay); Cy pays 50.00 on 07-01: as of 07-31 70.00
    is open. P000001 is voided on 08-15 (140.00 credited, the 70.00 paid held as credit on
    08-15): as of 07-31 the aging still says 70.00 (the credit note and the hold count from
    08-15), as of 08-20 0.00; check (AGING-BALANCE among its rules) is clean."""
    _cy(db)
    assert _run(db, tmp_path / "o1") == [("P000001", 14000)]
    _ok(cli("payment", "post", "2001", "50.00", "--method", "cash", "--date", "2026-07-01"))
    assert _aging(cli, "2026-07-31") == "70.00"
    lifecycle.void(db, "P000001", reason="duplicate visit", today=dt.date(2026, 8, 15))
    assert _aging(cli, "2026-07-31") == "70.00"
    assert _aging(cli, "2026-08-20") == "0.00"
    assert _messages(db) == []


def test_a_later_void_leaves_an_earlier_periods_kpis(db, cli, tmp_path):
    """The same sequence. KPIs of 06-01..07-31 read before the void: gross charges 140.00 (V1 of
    06-10), A/R 70.00 at 07-31: days in A/R = 70.00 / (140.00 / 61 days) = 30.5; payments
    received 70.00 (co-pay 20.00 + 50.00): net collection rate = 70.00 / 140.00 = 50.0 %. The
    void on 08-15 is after the period: read again, the KPIs must be the same."""
    _cy(db)
    assert _run(db, tmp_path / "o1") == [("P000001", 14000)]
    _ok(cli("payment", "post", "2001", "50.00", "--method", "cash", "--date", "2026-07-01"))
    before = _kpis(cli)
    assert before["days_in_ar"] == ("30.5", "A/R 70.00", "charges 140.00 / 61 days")
    assert before["net_collection_rate"][0] == "50.0"
    lifecycle.void(db, "P000001", reason="duplicate visit", today=dt.date(2026, 8, 15))
    assert _kpis(cli) == before


def test_a_dry_run_after_a_credited_invoice_is_voided_with_rebill_bills_what_the_run_bills(
    db, cli, tmp_path
):
    """tests/test_reversed_patient_share.py's sequence: P000001 bills the 20.00 share, paid; the
    reversal credits it (CN000001 -20.00, the 20.00 held) and a new share of 10.00 is pending;
    P000001 is voided with --rebill (CN000002 0.00: nothing left). `invoice generate --dry-run`
    says the run bills P000002 10.00 and writes nothing (no invoice, credit still 20.00); the run
    then bills exactly that, paid by the credit (10.00 left)."""
    patient = _billed(db, cli, tmp_path)
    _ok(cli("payment", "post", "T0001", "20.00", "--method", "cash"))
    _ok(cli("remit", "import", _again().write(tmp_path / "b.835")))
    _ok(cli("invoice", "void", "P000001", "--reason", "wrong guarantor", "--rebill"))
    count = db.execute("SELECT COUNT(*) FROM invoices").fetchone()
    res = gen.generate(
        db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "d", pdf=False, dry_run=True
    )
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [("P000002", 1000)]
    assert db.execute("SELECT COUNT(*) FROM invoices").fetchone() == count
    assert payments.credit_balance(db, patient) == 2000
    assert _run(db, tmp_path / "o2") == [("P000002", 1000)]
    assert _balance(db, "P000002") == (1000, 0, 1000, 0, 0)
    assert payments.credit_balance(db, patient) == 1000
    assert _messages(db) == []


def test_a_payment_after_a_transfer_to_the_patient_credits_the_patient_invoice(db, cli, tmp_path):
    """C000001 (99213 140.00) is denied (CO-27, left open); the clerk moves the 140.00 to the
    patient (`invoice to-patient`), the run bills it on P000001 and the patient pays 140.00.
    Keystone then pays after all (100.00, CO-45 40.00): the posting takes the transfer back
    (-140.00, the patient never owes what a payer paid), and credit_reversed_shares credits
    P000001 140.00 (CN000001) and holds the 140.00 paid as his credit: P000001 0.00, refundable
    140.00, nothing pending; check is clean."""
    with dbmod.write(db):
        fx.practice(db)
    issue_claim(db, "C000001", [("99213", "", "140.00")])
    denied = Remit().claim(
        "C000001", "4", "140", "0", "", pcn="KP-1",
        lines=[("HC:99213", "140", "0", [("CO", "27", "140")])],
    )  # fmt: skip
    _ok(cli("remit", "import", denied.write(tmp_path / "a.835")))
    _ok(cli("invoice", "to-patient", "C000001", "140.00"))
    assert _run(db, tmp_path / "o1") == [("P000001", 14000)]
    _ok(cli("payment", "post", "T0001", "140.00", "--method", "cash"))
    paid = Remit(trace="E2").claim(
        "C000001", "1", "140", "100", "", pcn="KP-1",
        lines=[("HC:99213", "140", "100", [("CO", "45", "40")])],
    )  # fmt: skip
    _ok(cli("remit", "import", paid.write(tmp_path / "b.835")))
    assert _balance(db, "C000001") == (14000, 0, 10000, 4000, 0)
    assert _balance(db, "P000001") == (14000, -14000, 0, 0, 0)
    assert payments.refundable(db, 1) == (14000, [])
    s = _summary(cli, "T0001")
    assert (s["patient_pending"], s["credit"], s["patient_owes"]) == ("0.00", "140.00", "-140.00")
    assert _messages(db) == []
