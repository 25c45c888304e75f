"""An adversarial audit of what the reports and `billadmin check` say about the ledger, after
sequences of ordinary clerk commands the other tests do not try (two operations on one invoice,
an operation after a void or a replacement, an undo after a void...).

Every expected number is worked out by hand from the billing rules (docs/claim-states.md,
docs/reports.md), with the arithmetic in the docstring or a comment. A wrong ledger `check` must
name is built either by the commands or, where a command's bug is someone else's to fix, by one
bogus row inserted through db.write (sealed, as a command's row would be).

The practice (tests/invoice_fixtures.py): Sy (MRN S1) is self-pay, a 99213 at 140.00 (visit
V1); Al (MRN A1) has Keystone (KEY), a 99214 at 200.00 (visit V1). Dates of service are 4 days
before today (bucket 0-30).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import invoice_fixtures as fx
import ledger_scenarios as ls
import test_audit_claims as ac

from billadmin import db as dbmod
from billadmin import integrity
from billadmin.billing import generate as gen
from billadmin.billing import lifecycle
from billadmin.reports import aging

TODAY = ls.DAY0
DOS = (TODAY - dt.timedelta(days=4)).isoformat()


# ---------------------------------------------------------------------------------------------
# the practice and what a clerk sees


def _selfpay(db) -> int:
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "S1", "Sy", "Sims")
        fx.encounter(db, pid, DOS, [("99213", 14000)], number="V1")
    return pid


def _insured(db, payer: str = "KEY") -> int:
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "A1", "Al", "Ames")
        fx.coverage(db, pid, payer, member=f"{payer}001")
        fx.encounter(db, pid, DOS, [("99214", 20000)], number="V1")
    return pid


def _run(db, tmp_path: Path) -> list[str]:
    n = len(list(tmp_path.glob("run*")))
    res = gen.generate(
        db,
        out_dir=tmp_path / f"run{n}",
        today=TODAY,
        scrub=fx.no_scrub,
        pdf=False,
        xlsx=False,
    )
    return [r["number"] for r in res.issued]


def _remit(cli, tmp_path: Path, payer: str, claims: list[dict], on: str = "D") -> None:
    n = len(list(tmp_path.glob("*.835")))
    path = tmp_path / f"remit{n}.835"
    path.write_text(ls.remit_text({"payer": payer, "trace": f"T{n}", "on": on, "claims": claims}))
    _ok(cli("remit", "import", path))


def _ok(r) -> None:
    assert r.exit_code == 0, r.stdout + r.stderr


def _balance(db, number: str) -> tuple[int, int, int, int, int]:
    """(total, credited, paid, adjusted, balance) of one invoice (invoice_balances)."""
    return db.execute(
        "SELECT total_cents, credited_cents, paid_cents, adjusted_cents,"
        " total_cents + credited_cents - paid_cents - adjusted_cents"
        " FROM invoice_balances WHERE number = ?",
        (number,),
    ).fetchone()


def _aging(db, on: dt.date = TODAY) -> dict[str, int]:
    """payer -> total of `report aging` as of a day (pending included), TOTAL included."""
    return {r["payer"]: r["total_cents"] for r in aging.by_payer(db, on)}


def _findings(db) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in integrity.run_checks(db)]


def _bogus_adjustment(db, number: str, cents: int, source: str = "writeoff") -> None:
    """One adjustment row no command should write, as a command's bug would write it."""
    with dbmod.write(db):
        (iid,) = db.execute("SELECT id FROM invoices WHERE number = ?", (number,)).fetchone()
        db.execute(
            "INSERT INTO adjustments (invoice_id, amount_cents, source, created_on, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (iid, cents, source, TODAY.isoformat(), fx.NOW),
        )


def _entry(db, number: str) -> int:
    """The id of the first write-off entry on an invoice."""
    return db.execute(
        "SELECT MIN(d.id) FROM adjustments d JOIN invoices i ON i.id = d.invoice_id"
        " WHERE i.number = ? AND d.source = 'writeoff'",
        (number,),
    ).fetchone()[0]


# ---------------------------------------------------------------------------------------------
# CLAIM-STATE: an invoice whose state says it is closed owes nothing


def test_check_names_a_voided_patient_invoice_left_open(db, cli, tmp_path):
    """P000001 (140.00) voided: credit note -140.00, balance 140.00 - 140.00 = 0.00. A bogus
    -40.00 write-off entry on it (what `invoice writeoff-undo` of an earlier write-off wrote
    after the void, before accounts/adjust.py refused it) reopens 140.00 - 140.00 - (-40.00)
    = 40.00 on a voided invoice: the aging shows PATIENT 40.00 the patient does not owe.
    `check` passed over it; it must name P000001 (CLAIM-STATE)."""
    _selfpay(db)
    assert _run(db, tmp_path) == ["P000001"]
    _ok(cli("invoice", "void", "P000001", "--reason", "billed in error"))
    assert _balance(db, "P000001") == (14000, -14000, 0, 0, 0)
    assert _findings(db) == []
    _bogus_adjustment(db, "P000001", -4000)
    assert _balance(db, "P000001") == (14000, -14000, 0, -4000, 4000)
    assert _aging(db) == {"PATIENT": 4000, "TOTAL": 4000}
    assert _findings(db) == [
        ("CLAIM-STATE", "P000001: state voided but 40.00 is still open"),
    ]
    r = cli("check")
    assert r.exit_code == 1 and "P000001: state voided but 40.00 is still open" in r.stdout


def test_check_names_a_replaced_claim_left_open(db, cli, tmp_path):
    """C000001 (200.00) with a 50.00 courtesy write-off is replaced: the write-off is undone
    first (the corrected claim asks the payer for all of it, commit 85cf836), the credit note
    takes the 200.00 open, and C000002 carries nothing: C000001 200.00 - 200.00 - (50.00 -
    50.00) = 0.00, C000002 200.00 open. A bogus -50.00 entry on C000001 leaves 50.00 open on a
    replaced claim (the A/R says 250.00 for a visit whose claim asks 200.00): CLAIM-STATE
    names it."""
    _insured(db)
    assert _run(db, tmp_path) == ["C000001"]
    _ok(cli("invoice", "writeoff", "C000001", "50.00", "--reason", "courtesy"))
    lifecycle.replace(db, "C000001", scrub=fx.no_scrub, today=TODAY)
    assert _balance(db, "C000001") == (20000, -20000, 0, 0, 0)
    assert _balance(db, "C000002") == (20000, 0, 0, 0, 20000)
    assert _findings(db) == []
    _bogus_adjustment(db, "C000001", -5000)
    assert _aging(db) == {"KEY": 25000, "TOTAL": 25000}
    assert _findings(db) == [
        ("CLAIM-STATE", "C000001: state replaced but 50.00 is still open"),
    ]


def test_check_names_a_paid_patient_invoice_left_open(db, cli, tmp_path):
    """Sy pays 140.00 on P000001: 'paid', balance 0.00. A bogus -25.00 adjustment leaves
    25.00 open under a 'paid' state (as on a claim, CLAIM-STATE: paid leaves nothing open)."""
    _selfpay(db)
    _run(db, tmp_path)
    _ok(cli("payment", "post", "S1", "140.00", "--method", "cash"))
    assert _balance(db, "P000001") == (14000, 0, 14000, 0, 0)
    assert _findings(db) == []
    _bogus_adjustment(db, "P000001", -2500)
    assert _findings(db) == [
        ("CLAIM-STATE", "P000001: state paid but 25.00 is still open"),
    ]


def _denied(claim: str) -> dict:
    """The 835 claim of a denial: CLP02 4, nothing paid, CO-27 200.00 (coverage terminated)."""
    return {
        "claim": claim,
        "status": "4",
        "charge": "200.00",
        "paid": "0.00",
        "pcn": f"KEY-{claim}",
        "lines": [
            {"code": "99214", "charge": "200.00", "paid": "0.00", "cas": [["CO", "27", "200.00"]]}
        ],
    }


# ---------------------------------------------------------------------------------------------
# report timely-filing: what is at stake on a claim no payer answered


def test_timely_filing_leaves_out_a_claim_written_off_and_shows_what_is_open(db, cli, tmp_path):
    """Keystone's limit is 180 days from the date of service. Al's V1 (99214, 200.00) and V2
    (99213, 100.00) were 171 and 170 days ago: C000001 (V1) and C000002 (V2) are due in 9 and
    10 days, unanswered. The clerk gives up on C000001 (a timely-filing write-off of all its
    200.00: 200.00 - 200.00 = 0.00 open, 'written_off') and writes off 40.00 of C000002 as a
    courtesy (100.00 - 40.00 = 60.00 open). The worklist then has C000002 alone, at 60.00: a
    claim with nothing open has nothing to file. Before, it kept both at their totals."""
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "A1", "Al", "Ames")
        fx.coverage(db, pid, "KEY", member="KEY001")
        for n, days, code, cents in (("V1", 171, "99214", 20000), ("V2", 170, "99213", 10000)):
            dos = (TODAY - dt.timedelta(days=days)).isoformat()
            fx.encounter(db, pid, dos, [(code, cents)], number=n)
    assert _run(db, tmp_path) == ["C000001", "C000002"]

    def worklist():
        r = cli("report", "timely-filing", "--as-of", TODAY.isoformat(), "-f", "json")
        _ok(r)
        return [(x["invoice"], x["days_left"], x["amount"]) for x in json.loads(r.stdout)]

    assert worklist() == [("C000001", 9, "200.00"), ("C000002", 10, "100.00")]
    _ok(cli("invoice", "writeoff", "C000001", "200.00", "--reason", "timely-filing"))
    _ok(cli("invoice", "writeoff", "C000002", "40.00", "--reason", "courtesy"))
    assert _balance(db, "C000001") == (20000, 0, 0, 20000, 0)
    assert _balance(db, "C000002") == (10000, 0, 0, 4000, 6000)
    assert worklist() == [("C000002", 10, "60.00")]


# ---------------------------------------------------------------------------------------------
# payer-mix and medicare: a claim voided and billed again is one visit billed once


def _billed_to_the_wrong_payer(db, cli, tmp_path) -> None:
    """Al's V1 (99214, 200.00) goes to Keystone as C000001; Keystone had ended. The clerk
    voids it with --rebill, ends the Keystone coverage and enters Blue Valley: the next run
    bills C000002 to Blue Valley (and sends CN000001, the void, to Keystone)."""
    pid = _insured(db, "KEY")
    assert _run(db, tmp_path) == ["C000001"]
    _ok(cli("invoice", "void", "C000001", "--reason", "billed to the wrong payer", "--rebill"))
    with dbmod.write(db):
        db.execute("UPDATE coverages SET effective_to = '2020-06-01' WHERE patient_id = ?", (pid,))
        fx.coverage(db, pid, "BVH", member="BVH001")
    assert _run(db, tmp_path) == ["C000002", "CN000001"]
    assert _balance(db, "C000001") == (20000, -20000, 0, 0, 0)
    assert _balance(db, "C000002") == (20000, 0, 0, 0, 20000)


def test_payer_mix_gives_a_rebilled_visit_to_the_payer_billed_again(db, cli, tmp_path):
    """One visit, 200.00, now billed to Blue Valley, which owes all of it: payer-mix has BVH 1
    encounter, 200.00 of charges (100%), 200.00 of A/R; nothing for Keystone, whose claim was
    voided. Before, the charges went to the first claim's payer (KEY 200.00) and the A/R to
    BVH: each payer's share of charges and A/R disagreed about the same visit."""
    _billed_to_the_wrong_payer(db, cli, tmp_path)
    start = (TODAY - dt.timedelta(days=29)).isoformat()
    r = cli("report", "payer-mix", "--from", start, "--to", TODAY.isoformat(), "-f", "json")
    _ok(r)
    rows = {x["payer"]: x for x in json.loads(r.stdout)}
    assert list(rows) == ["BVH", "TOTAL"]
    assert (rows["BVH"]["encounters"], rows["BVH"]["charges"], rows["BVH"]["ar"]) == (
        1,
        "200.00",
        "200.00",
    )
    assert rows["BVH"]["charges_pct"] == "100.0"
    assert (rows["TOTAL"]["charges"], rows["TOTAL"]["ar"]) == ("200.00", "200.00")


def test_medicare_report_counts_a_rebilled_visit_once(db, cli, tmp_path):
    """Keystone (commercial) and Blue Valley (HMO) are both under "Commercial". The month's
    claims: C000002, 200.00; C000001 was voided by its credit note and is not counted. Before,
    2 claims and 400.00 of charges for one visit of 200.00."""
    _billed_to_the_wrong_payer(db, cli, tmp_path)
    start = TODAY.replace(day=1).isoformat()
    r = cli("report", "medicare", "--from", start, "--to", TODAY.isoformat(), "-f", "json")
    _ok(r)
    [row] = [
        x
        for x in json.loads(r.stdout)
        if x["program"] == "Commercial" and x["month"] == TODAY.strftime("%Y-%m")
    ]
    assert (row["claims"], row["charges"]) == (1, "200.00")


# ---------------------------------------------------------------------------------------------
# ALLOCATION: payer money is all on the claims it paid, patient money on the patient's invoices


def _bogus_payment(db, kind: str, cents: int, allocations: list[tuple[str, int]], **who) -> int:
    """One payments row and its allocations (invoice number, cents), as a command's bug would
    write them."""
    with dbmod.write(db):
        pay = db.execute(
            "INSERT INTO payments (kind, patient_id, payer_id, amount_cents, method, reference,"
            " received_on, created_at) VALUES (?, ?, ?, ?, 'eft', 'BOGUS1', ?, ?)",
            (kind, who.get("patient_id"), who.get("payer_id"), cents, TODAY.isoformat(), fx.NOW),
        ).lastrowid
        for number, c in allocations:
            (iid,) = db.execute("SELECT id FROM invoices WHERE number = ?", (number,)).fetchone()
            db.execute(
                "INSERT INTO payment_allocations (payment_id, invoice_id, amount_cents)"
                " VALUES (?, ?, ?)",
                (pay, iid, c),
            )
    return pay


def test_check_names_payer_money_on_no_claim(db, tmp_path):
    """Keystone's payment of 100.00 of which only 60.00 is allocated to C000001: 40.00 of the
    payer's money is on no claim and no credit (the day's deposit says 100.00, the ledger
    60.00). Payer money is never held as credit: an insurance payment equals its allocations
    (remit posting, paper EOBs, refunds to payers and recoupments all write it so). `check`
    passed; it must name the payment."""
    _insured(db)
    _run(db, tmp_path)
    assert _findings(db) == []
    pay = _bogus_payment(db, "insurance", 10000, [("C000001", 6000)], payer_id=3)
    assert _balance(db, "C000001") == (20000, 0, 6000, 0, 14000)
    assert _findings(db) == [
        (
            "ALLOCATION",
            f"payment {pay} (insurance): allocations 60.00 != the payment 100.00"
            " (40.00 on no invoice)",
        )
    ]


def test_check_names_patient_money_on_a_claim(db, tmp_path):
    """Al's 50.00 (a patient payment) allocated to his claim C000001: a claim takes payer
    money only (accounts/payments.py; `payment post --invoice C000001` is refused), so the
    claim's 200.00 would show 150.00 owed by Keystone while Al's money never reached a
    statement. `check` passed; it must name the payment and the claim."""
    pid = _insured(db)
    _run(db, tmp_path)
    pay = _bogus_payment(db, "patient", 5000, [("C000001", 5000)], patient_id=pid)
    assert _findings(db) == [
        ("ALLOCATION", f"payment {pay} (patient): 50.00 allocated to C000001, a claim"),
    ]


def test_check_names_one_patients_money_on_anothers_invoice(db, tmp_path):
    """Al's 30.00 allocated to Sy's P000001: Sy's balance goes down by money Al paid. `check`
    must name it."""
    sy = _selfpay(db)
    with dbmod.write(db):
        al = fx.patient(db, "A1", "Al", "Ames")
    _run(db, tmp_path)
    assert sy != al
    pay = _bogus_payment(db, "patient", 3000, [("P000001", 3000)], patient_id=al)
    assert _findings(db) == [
        (
            "ALLOCATION",
            f"payment {pay} (patient): 30.00 allocated to P000001, another patient's invoice",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# a primary payer's reversal when its patient share went to the secondary (COB)

# Keystone primary, Blue Valley secondary. Al's 99214 at 200.00 (C000001); Keystone allows
# 150.00 (CO-45 50.00), pays 120.00, PR-2 30.00: the 30.00 goes to Blue Valley (COB-NEXT-PAYER),
# pending until its claim is issued. Then Keystone reverses its whole answer (CLP02 22).
KEY_PAID = {
    "claim": "C000001",
    "status": "1",
    "charge": "200.00",
    "paid": "120.00",
    "pr": "30.00",
    "pcn": "KEY-1",
    "lines": [
        {
            "code": "99214",
            "charge": "200.00",
            "paid": "120.00",
            "cas": [["CO", "45", "50.00"], ["PR", "2", "30.00"]],
        }
    ],
}
# Keystone takes KEY_PAID back (CLP02 22): -120.00, CO-45 -50.00, PR-2 -30.00
KEY_REVERSAL = ac.PRIMARY_REVERSAL
KEY_REVERSED = {
    **KEY_PAID,
    "status": "22",
    "charge": "-200.00",
    "paid": "-120.00",
    "pr": "-30.00",
    "lines": [
        {
            "code": "99214",
            "charge": "-200.00",
            "paid": "-120.00",
            "cas": [["CO", "45", "-50.00"], ["PR", "2", "-30.00"]],
        }
    ],
}


def _primary_reversed(db, cli, tmp_path) -> int:
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "A1", "Al", "Ames")
        fx.coverage(db, pid, "KEY", member="KEY001", priority=1)
        fx.coverage(db, pid, "BVH", member="BVH001", priority=2)
        fx.encounter(db, pid, DOS, [("99214", 20000)], number="V1")
    assert _run(db, tmp_path) == ["C000001"]
    _remit(cli, tmp_path, "KEY", [KEY_PAID])
    # 200.00 - 120.00 - 50.00 - 30.00 = 0.00 on C000001; 30.00 waits for Blue Valley's claim
    assert _aging(db) == {"BVH": 3000, "TOTAL": 3000}
    _remit(cli, tmp_path, "KEY", [KEY_REVERSED], on="D+5")
    # the reversal takes back all of it: 200.00 - 0.00 - 0.00 - 0.00 = 200.00 open with Keystone
    assert _balance(db, "C000001") == (20000, 0, 0, 0, 20000)
    return pid


def test_check_names_a_patient_charged_below_zero(db, cli, tmp_path):
    """What remit posting left before 654f604 (test below), built by one row: a transfer of
    -30.00 on Al's C000001 (Keystone, 200.00, sent) that no transfer of +30.00 to him preceded
    (a reversal's PR-2 posted to the patient when the PR-2 it reverses went to the secondary).
    C000001 is
    200.00 - (-30.00) = 230.00 with Keystone and Al has -30.00 pending: charged 0.00 +
    (-30.00) = -30.00 though he paid nothing (`account show` says he is owed 30.00). The aging
    total still agrees with the ledger (KEY 230.00 + PATIENT -30.00 = 200.00 = open balances
    230.00 + pending -30.00), so AGING-BALANCE cannot see it; `check` passed. It must name him
    (LEDGER-PATIENT-CHARGED)."""
    pid = _insured(db)
    _run(db, tmp_path)
    _bogus_adjustment(db, "C000001", -3000, source="transfer")
    assert _aging(db) == {"KEY": 23000, "PATIENT": -3000, "TOTAL": 20000}
    r = cli("account", "show", "A1", "-f", "json")
    assert json.loads(r.stdout)["summary"]["patient_owes"] == "-30.00"
    assert _findings(db) == [
        (
            "LEDGER-PATIENT-CHARGED",
            f"patient id {pid}: charged -30.00 (patient invoices less credit notes and"
            " write-offs 0.00 + not on an invoice yet -30.00): 30.00 the patient would be"
            " owed without having paid it",
        )
    ]


def test_a_patient_who_paid_may_be_owed_after_a_reversal(db, cli, tmp_path):
    """The same rule lets a patient's own payment take them below zero: Keystone alone pays
    120.00 with PR-2 30.00, P000001 bills Al 30.00 and he pays it; Keystone then reverses:
    PR-2 -30.00 pending. Al is charged 30.00 - 30.00 = 0.00 and paid 30.00: he is owed 30.00
    (account show: patient_owes 30.00 - 0.00 - 30.00 - 30.00 = -30.00), and `check` passes."""
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "A1", "Al", "Ames")
        fx.coverage(db, pid, "KEY", member="KEY001")
        fx.encounter(db, pid, DOS, [("99214", 20000)], number="V1")
    _run(db, tmp_path)
    _remit(cli, tmp_path, "KEY", [KEY_PAID])
    assert _run(db, tmp_path) == ["P000001"]
    _ok(cli("payment", "post", "A1", "30.00", "--method", "cash"))
    _remit(cli, tmp_path, "KEY", [KEY_REVERSED], on="D+5")
    r = cli("account", "show", "A1", "-f", "json")
    _ok(r)
    assert json.loads(r.stdout)["summary"]["patient_owes"] == "-30.00"
    assert _findings(db) == []


def test_a_primary_reversal_takes_back_the_share_it_routed_to_the_secondary(db, cli, tmp_path):
    """After the reversal nothing is left of Keystone's answer: C000001 is 200.00 open with
    Keystone; Blue Valley is owed nothing (its share came from an answer that no longer stands)
    and Al owes nothing and is owed nothing. Found in this audit: BVH 30.00 pending and PATIENT
    -30.00 pending (account show: insurance 230.00, patient_owes -30.00; fixed in remit
    posting, 654f604: the reversed share goes to Blue Valley too), and then a BVH row of 0.00
    in the aging (+30.00 and -30.00 pending): a party whose pending items cancel out has no
    row."""
    _primary_reversed(db, cli, tmp_path)
    assert _aging(db, TODAY + dt.timedelta(days=5)) == {"KEY": 20000, "TOTAL": 20000}
    r = cli("account", "show", "A1", "-f", "json")
    _ok(r)
    s = json.loads(r.stdout)["summary"]
    assert (s["insurance_balance"], s["patient_owes"]) == ("200.00", "0.00")
    assert _findings(db) == []


def test_check_names_money_on_a_credit_note(db, cli, tmp_path):
    """Sy's P000001 (140.00) voided by CN000001; a 10.00 payment of hers allocated to the
    credit note is on no balance (invoice_balances counts credit notes only through the
    invoice they credit): the aging and every account lose it while the payment still adds
    up (PAYMENT-ALLOCATED). `check` must name it."""
    sy = _selfpay(db)
    _run(db, tmp_path)
    _ok(cli("invoice", "void", "P000001", "--reason", "billed in error"))
    pay = _bogus_payment(db, "patient", 1000, [("CN000001", 1000)], patient_id=sy)
    assert _findings(db) == [
        ("ALLOCATION", f"payment {pay} (patient): 10.00 allocated to CN000001, a credit note"),
    ]


def test_check_names_credit_held_for_another_patient(db, tmp_path):
    """Sy's co-pay of 20.00 (her payment) held as credit for Al (an unapplied-credit row naming
    him): Al's next statement would take 20.00 off with money Sy paid. Each payment still
    equals its allocations plus its credit rows (PAYMENT-ALLOCATED holds), so `check` passed;
    it must name the payment (ALLOCATION)."""
    sy = _selfpay(db)
    with dbmod.write(db):
        al = fx.patient(db, "A1", "Al", "Ames")
        pay = db.execute(
            "INSERT INTO payments (kind, patient_id, amount_cents, method, received_on, created_at)"
            " VALUES ('copay', ?, 2000, 'cash', ?, ?)",
            (sy, TODAY.isoformat(), fx.NOW),
        ).lastrowid
        db.execute(
            "INSERT INTO unapplied_credits (payment_id, patient_id, amount_cents, reason,"
            " created_on, created_at) VALUES (?, ?, 2000, 'copay', ?, ?)",
            (pay, al, TODAY.isoformat(), fx.NOW),
        )
    assert _findings(db) == [
        (
            "ALLOCATION",
            f"payment {pay} (copay): 20.00 held as credit for patient id {al},"
            f" not the payer's (patient id {sy})",
        )
    ]


# ---------------------------------------------------------------------------------------------
# a crossover Medicare takes back

# Medicare Part B primary, Medigap Plan G secondary; a 99214 at 180.00. Medicare's 835 of D+1
# (golden scenario 13): CLP02 19, MA18, allowed 130.00 (CO-45 50.00), paid 88.00, PR-1 20.00 +
# PR-2 22.00 = 42.00 forwarded to the Medigap plan: 180.00 - 88.00 - 50.00 = 42.00 open on
# C000001, under MGP. On D+3 Medicare reverses that answer (CLP02 22, every amount negated).
MCR_CROSSOVER = {
    "claim": "C000001",
    "status": "19",
    "charge": "180.00",
    "paid": "88.00",
    "pr": "42.00",
    "pcn": "MCR-1",
    "remarks": ["MA18"],
    "crossover": "MEDIGAP PLAN G",
    "lines": [
        {
            "code": "99214",
            "charge": "180.00",
            "paid": "88.00",
            "cas": [["CO", "45", "50.00"], ["PR", "1", "20.00"], ["PR", "2", "22.00"]],
        }
    ],
}
MCR_REVERSAL = {
    **MCR_CROSSOVER,
    "status": "22",
    "charge": "-180.00",
    "paid": "-88.00",
    "pr": "-42.00",
    "remarks": [],
    "crossover": None,
    "lines": [
        {
            "code": "99214",
            "charge": "-180.00",
            "paid": "-88.00",
            "cas": [["CO", "45", "-50.00"], ["PR", "1", "-20.00"], ["PR", "2", "-22.00"]],
        }
    ],
}
D1, D3 = TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=3)


def _crossover_reversed(db, cli, tmp_path) -> None:
    with dbmod.write(db):
        fx.practice(db)
        db.execute(
            "INSERT INTO payers (code, name, kind, x12_payer_id, timely_filing_days)"
            " VALUES ('MGP', 'Medigap Plan G', 'commercial', 'MGP01', 365)"
        )
        pid = fx.patient(db, "A1", "Al", "Ames")
        fx.coverage(db, pid, "MCR", member="1EG4TE5MK13", priority=1)
        fx.coverage(db, pid, "MGP", member="MGP001", priority=2)
        fx.encounter(db, pid, DOS, [("99214", 18000)], number="V1")
    assert _run(db, tmp_path) == ["C000001"]
    _remit(cli, tmp_path, "MCR", [MCR_CROSSOVER], on="D+1")
    assert _aging(db, D1) == {"MGP": 4200, "TOTAL": 4200}
    _remit(cli, tmp_path, "MCR", [MCR_REVERSAL], on="D+3")


def test_a_reversed_crossover_ages_under_medicare_again(db, cli, tmp_path):
    """After Medicare's reversal nothing was forwarded: the Medigap plan has no answer of
    Medicare's to pay from, and the follow-up is with Medicare, which owes the claim again.
    C000001 ages under MCR as of D+3, whatever is open on it, and no longer under MGP (before:
    MGP, from the reversed crossover): MCR 180.00 - 0.00 - 0.00 = 180.00. As of D+2 (before
    the reversal's payment date) it is still MGP's 42.00."""
    _crossover_reversed(db, cli, tmp_path)
    assert _aging(db, D3) == {"MCR": 18000, "TOTAL": 18000}
    assert _aging(db, D1 + dt.timedelta(days=1)) == {"MGP": 4200, "TOTAL": 4200}


def test_a_reversed_crossover_leaves_the_claim_whole_and_the_patient_owing_nothing(
    db, cli, tmp_path
):
    """Medicare's reversal negates 88.00 paid, 50.00 CO-45 and 42.00 PR: C000001 is 180.00 -
    0.00 - 0.00 = 180.00 open with Medicare and Al owes nothing, is owed nothing. Found in this
    audit (fixed in remit posting, commit 906a82e): the PR -42.00 pending for Al (check:
    LEDGER-PATIENT-CHARGED) and C000001 180.00 + 42.00 = 222.00 open, more than its total."""
    _crossover_reversed(db, cli, tmp_path)
    assert _balance(db, "C000001")[4] == 18000
    assert _aging(db, D3) == {"MCR": 18000, "TOTAL": 18000}
    assert _findings(db) == []


# ---------------------------------------------------------------------------------------------
# AGING-BALANCE over the whole ledger: credit applied with a later date


def test_check_takes_the_whole_ledger_with_credit_applied_later(db, cli, tmp_path):
    """Sy's P000001 is 140.00; a 20.00 co-pay taken afterwards is her credit, applied with
    `payment apply-credit --date` 20 days ahead (the allocation counts from that day). The
    ledger is right: 140.00 - 20.00 = 120.00 open, credit 0.00. `check` takes the aging as of
    the latest date on the ledger; it missed the applied day and compared the aging of today
    (140.00, the credit not applied yet) with the balances (120.00): AGING-BALANCE failed over
    a right ledger. As of the applied day all three sides are 120.00."""
    pid = _selfpay(db)
    _run(db, tmp_path)
    with dbmod.write(db):
        fx.copay_payment(db, pid, 2000, TODAY.isoformat())
    later = TODAY + dt.timedelta(days=20)
    _ok(cli("payment", "apply-credit", "S1", "--date", later.isoformat()))
    assert _balance(db, "P000001") == (14000, 0, 2000, 0, 12000)
    assert _aging(db) == {"PATIENT": 14000, "TOTAL": 14000}  # today: not applied yet
    assert _aging(db, later) == {"PATIENT": 12000, "TOTAL": 12000}
    assert _findings(db) == []
    _ok(cli("check"))


def test_a_voided_claim_the_payer_took_back_twice_is_open_and_check_passes(db, cli, tmp_path):
    """Keystone pays C000001 150.00 with CO-45 50.00 (200.00 - 150.00 - 50.00 = 0.00). The
    clerk voids it (credit note 0.00 open + 150.00 paid = -150.00: Keystone's credit) and sends
    Keystone its 150.00 back (`payment refund-payer`): 0.00. Keystone also reverses its answer
    (CLP02 22: -150.00, CO-45 -50.00): it has now taken 150.00 back twice and owes it, so the
    voided claim is open by what the payer took back beyond what it paid: paid 150.00 - 150.00
    - 150.00 = -150.00, balance 200.00 - 150.00 + 150.00 - (50.00 - 50.00 + 50.00 carried) =
    150.00 (billing/lifecycle.py settle_takeback). CLAIM-STATE allows exactly that much open on
    a voided claim; 10.00 more (a bogus -10.00 entry) is named."""
    _insured(db)
    _run(db, tmp_path)
    paid = {
        "claim": "C000001",
        "status": "1",
        "charge": "200.00",
        "paid": "150.00",
        "pcn": "KEY-1",
        "lines": [
            {"code": "99214", "charge": "200.00", "paid": "150.00", "cas": [["CO", "45", "50.00"]]}
        ],
    }
    reversal = {
        **paid,
        "status": "22",
        "charge": "-200.00",
        "paid": "-150.00",
        "lines": [
            {
                "code": "99214",
                "charge": "-200.00",
                "paid": "-150.00",
                "cas": [["CO", "45", "-50.00"]],
            }
        ],
    }
    _remit(cli, tmp_path, "KEY", [paid])
    _ok(cli("invoice", "void", "C000001", "--reason", "wrong patient"))
    _ok(cli("payment", "refund-payer", "C000001", "150.00", "--method", "check"))
    assert _balance(db, "C000001") == (20000, -15000, 0, 5000, 0)
    _remit(cli, tmp_path, "KEY", [reversal], on="D+30")
    assert _balance(db, "C000001") == (20000, -15000, -15000, 5000, 15000)
    assert _findings(db) == []
    _bogus_adjustment(db, "C000001", -1000)
    assert _findings(db) == [
        (
            "CLAIM-STATE",
            "C000001: state voided but 160.00 is still open (10.00 more than the payer took back"
            " beyond what it paid)",
        )
    ]


def test_medicare_report_gives_the_crossover_payers_money_to_its_program(db, cli, tmp_path):
    """Golden scenario 13's money: Medicare pays 88.00 on C000001 and crosses it over (MA18);
    the Medigap plan (a commercial payer) pays 22.00 of the 42.00 forwarded, PR-1 20.00 to the
    patient. Its 22.00 is the Medigap plan's money (the payment's payer; payer-mix says so),
    posted to the claim Medicare was billed: the month's Medicare payments are 88.00 and
    Commercial's 22.00. Before, all 88.00 + 22.00 = 110.00 went to Medicare (the claim's payer)
    and payer-mix and medicare disagreed about who paid."""
    with dbmod.write(db):
        fx.practice(db)
        db.execute(
            "INSERT INTO payers (code, name, kind, x12_payer_id, timely_filing_days)"
            " VALUES ('MGP', 'Medigap Plan G', 'commercial', 'MGP01', 365)"
        )
        pid = fx.patient(db, "A1", "Al", "Ames")
        fx.coverage(db, pid, "MCR", member="1EG4TE5MK13", priority=1)
        fx.coverage(db, pid, "MGP", member="MGP001", priority=2)
        fx.encounter(db, pid, DOS, [("99214", 18000)], number="V1")
    _run(db, tmp_path)
    _remit(cli, tmp_path, "MCR", [MCR_CROSSOVER])
    medigap = {
        "claim": "C000001",
        "status": "2",
        "charge": "180.00",
        "paid": "22.00",
        "pr": "20.00",
        "pcn": "MGP-1",
        "lines": [
            {
                "code": "99214",
                "charge": "180.00",
                "paid": "22.00",
                "cas": [["OA", "23", "138.00"], ["PR", "1", "20.00"]],
            }
        ],
    }
    _remit(cli, tmp_path, "MGP", [medigap])
    # 180.00 - 88.00 - 50.00 - 22.00 - 20.00 = 0.00; 20.00 pending for the patient
    assert _balance(db, "C000001")[4] == 0
    start = TODAY.replace(day=1).isoformat()
    r = cli("report", "medicare", "--from", start, "--to", TODAY.isoformat(), "-f", "json")
    _ok(r)
    month = TODAY.strftime("%Y-%m")
    paid = {x["program"]: x["payments"] for x in json.loads(r.stdout) if x["month"] == month}
    assert paid == {"Medicare": "88.00", "Commercial": "22.00"}
    r = cli("report", "payer-mix", "--from", start, "--to", TODAY.isoformat(), "-f", "json")
    mix = {x["payer"]: x["payments"] for x in json.loads(r.stdout)}
    assert (mix["MCR"], mix["MGP"]) == ("88.00", "22.00")


def test_a_voided_crossover_ages_under_the_payer_that_paid(db, cli, tmp_path):
    """Medicare pays 88.00 on C000001 and crosses 42.00 over to the Medigap plan (on D); the
    clerk then voids C000001 (wrong patient): the credit note takes off 42.00 open + 88.00
    paid = 130.00, and 180.00 - 130.00 - 88.00 - (50.00 + 42.00 - 42.00) = -88.00 is
    Medicare's credit, to be taken back by Medicare's reversal or refunded to Medicare. The
    Medigap plan has nothing to pay on a voided claim: the -88.00 ages under MCR. Before, under
    MGP (the crossover payer), which never paid a cent of it."""
    with dbmod.write(db):
        fx.practice(db)
        db.execute(
            "INSERT INTO payers (code, name, kind, x12_payer_id, timely_filing_days)"
            " VALUES ('MGP', 'Medigap Plan G', 'commercial', 'MGP01', 365)"
        )
        pid = fx.patient(db, "A1", "Al", "Ames")
        fx.coverage(db, pid, "MCR", member="1EG4TE5MK13", priority=1)
        fx.coverage(db, pid, "MGP", member="MGP001", priority=2)
        fx.encounter(db, pid, DOS, [("99214", 18000)], number="V1")
    _run(db, tmp_path)
    _remit(cli, tmp_path, "MCR", [MCR_CROSSOVER])
    assert _aging(db) == {"MGP": 4200, "TOTAL": 4200}
    _ok(cli("invoice", "void", "C000001", "--reason", "wrong patient"))
    assert _balance(db, "C000001") == (18000, -13000, 8800, 5000, -8800)
    assert _aging(db) == {"MCR": -8800, "TOTAL": -8800}


def test_payer_cpt_leaves_out_a_voided_claims_unpaid_lines(db, cli, tmp_path):
    """The visit billed to the wrong payer: 99214 was billed to Blue Valley once (C000002,
    200.00); Keystone's C000001 was voided unanswered, so Keystone was never billed a 99214
    that counts (none paid, none denied). payer-cpt: one row, BVH, 1 line, average billed
    200.00. Before, a KEY row with 1 line billed and none paid, as if Keystone refused it."""
    _billed_to_the_wrong_payer(db, cli, tmp_path)
    start = (TODAY - dt.timedelta(days=29)).isoformat()
    r = cli("report", "payer-cpt", "--from", start, "--to", TODAY.isoformat(), "-f", "json")
    _ok(r)
    assert [(x["code"], x["payer"], x["lines"], x["billed_avg"]) for x in json.loads(r.stdout)] == [
        ("99214", "BVH", 1, "200.00")
    ]


def test_an_835_paying_a_voided_claim_is_the_payers_credit_only(db, cli, tmp_path):
    """Al's C000001 (200.00) was sent to Keystone; the clerk voids it unanswered (wrong patient):
    the credit note takes off the 200.00 open, balance 0.00. Keystone's 835 paying the original
    crosses the void: 120.00 paid, CO-45 50.00, PR-2 30.00. The claim was cancelled, so the
    120.00 is Keystone's credit (to be refunded or taken back by its reversal when it processes
    the void): 200.00 - 200.00 - 120.00 - 0.00 = -120.00, and nothing moves to Al (he was never
    Keystone's patient for this claim). Found: CO-45 and PR-2 posted too, 200.00 - 200.00 -
    120.00 - 80.00 = -200.00 (80.00 reduced twice, check: LEDGER-DOUBLE-REDUCTION), and 30.00
    pending for Al."""
    _insured(db)
    _run(db, tmp_path)
    _ok(cli("invoice", "void", "C000001", "--reason", "wrong patient"))
    assert _balance(db, "C000001") == (20000, -20000, 0, 0, 0)
    _remit(cli, tmp_path, "KEY", [KEY_PAID])
    assert _balance(db, "C000001") == (20000, -20000, 12000, 0, -12000)
    assert _aging(db) == {"KEY": -12000, "TOTAL": -12000}
    assert _findings(db) == []


def test_the_payers_reversal_of_its_payment_of_a_voided_claim_leaves_it_at_zero(db, cli, tmp_path):
    """Then Keystone processes the void: it reverses its 120.00 (CLP02 22, -120.00, CO-45
    -50.00, PR-2 -30.00). Its payment put no CO-45 or PR-2 in the ledger, so the reversal takes
    back the 120.00 alone: 200.00 - 200.00 - 0.00 - 0.00 = 0.00, nothing owed by anyone, the
    claim still 'voided'."""
    _insured(db)
    _run(db, tmp_path)
    _ok(cli("invoice", "void", "C000001", "--reason", "wrong patient"))
    _remit(cli, tmp_path, "KEY", [KEY_PAID])
    _remit(cli, tmp_path, "KEY", [KEY_REVERSAL])
    assert _balance(db, "C000001") == (20000, -20000, 0, 0, 0)
    assert db.execute(
        "SELECT s.status FROM invoice_status s JOIN invoices i ON i.id = s.invoice_id"
        " WHERE i.number = 'C000001'"
    ).fetchone() == ("voided",)
    assert _aging(db) == {"TOTAL": 0}
    assert _findings(db) == []


# ---------------------------------------------------------------------------------------------
# a replacement the payer answers


def _paid_then_replaced(db, cli, tmp_path) -> None:
    """Keystone pays C000001 (120.00, CO-45 50.00, PR-2 30.00: 0.00 left); the clerk corrects
    it with a replacement, C000002 (frequency 7), which carries what the original settled:
    200.00 - 200.00 carried = 0.00 open; the original's credit note takes its 0.00 open."""
    _insured(db)
    _run(db, tmp_path)
    _remit(cli, tmp_path, "KEY", [KEY_PAID])
    lifecycle.replace(db, "C000001", scrub=fx.no_scrub, today=TODAY)
    assert _balance(db, "C000001") == (20000, 0, 12000, 8000, 0)
    assert _balance(db, "C000002") == (20000, 0, 0, 20000, 0)


def test_a_denied_replacement_settled_on_its_original_passes_check(db, cli, tmp_path):
    """Keystone denies the replacement C000002 (CO-27 200.00; its payment of the original is
    not reversed). Nothing is open: 200.00 - 200.00 carried = 0.00, state 'denied'. The
    denial was not adjusted away: what the original settled closed it ('carried'). `check`
    said CLAIM-STATE "denied but the balance is 0.00 with no write-off, transfer or payment",
    failing over a right ledger."""
    _paid_then_replaced(db, cli, tmp_path)
    _remit(cli, tmp_path, "KEY", [_denied("C000002")])
    assert _balance(db, "C000002") == (20000, 0, 0, 20000, 0)
    assert db.execute(
        "SELECT s.status FROM invoice_status s JOIN invoices i ON i.id = s.invoice_id"
        " WHERE i.number = 'C000002'"
    ).fetchone() == ("denied",)
    assert _findings(db) == []


def test_a_replacement_paid_without_reversing_the_original_is_an_overpayment(db, cli, tmp_path):
    """Keystone pays the replacement C000002 the same (120.00, CO-45 50.00, PR-2 30.00) without
    reversing its payment of C000001: it has paid 120.00 twice. C000002 must show Keystone's
    overpayment only: 200.00 - 120.00 - 200.00 carried = -120.00, refundable; Al's PR-2 moved
    once (30.00). Found: CO-45 and PR-2 posted again, 200.00 - 120.00 - 280.00 = -200.00
    (check: LEDGER-DOUBLE-REDUCTION) and 30.00 more pending for Al."""
    _paid_then_replaced(db, cli, tmp_path)
    _remit(cli, tmp_path, "KEY", [{**KEY_PAID, "claim": "C000002", "pcn": "KEY-2"}])
    assert _balance(db, "C000002") == (20000, 0, 12000, 20000, -12000)
    assert _transfers(db) == 3000
    assert _findings(db) == []


def _transfers(db) -> int:
    """What 835s moved to the patient on any claim (PR transfers, reversals netted)."""
    return db.execute(
        "SELECT COALESCE(SUM(amount_cents), 0) FROM adjustments WHERE source = 'transfer'"
    ).fetchone()[0]


def test_a_replacement_paid_after_the_original_was_reversed_posts_its_answer(db, cli, tmp_path):
    """The usual order: Keystone first reverses its payment of C000001 (-120.00, CO-45 -50.00,
    PR-2 -30.00): the original re-opens 200.00, which is closed on it again and taken off what
    C000002 carried (it carries nothing now: 200.00 open). Then it pays C000002 120.00, CO-45
    50.00, PR-2 30.00: posted in full, 200.00 - 120.00 - 80.00 = 0.00; Al's 30.00 moved once
    (30.00 - 30.00 + 30.00)."""
    _paid_then_replaced(db, cli, tmp_path)
    _remit(cli, tmp_path, "KEY", [KEY_REVERSAL])
    assert _balance(db, "C000002") == (20000, 0, 0, 0, 20000)
    _remit(cli, tmp_path, "KEY", [{**KEY_PAID, "claim": "C000002", "pcn": "KEY-2"}])
    assert _balance(db, "C000001")[4] == 0
    assert _balance(db, "C000002") == (20000, 0, 12000, 8000, 0)
    assert _transfers(db) == 3000
    assert _findings(db) == []
