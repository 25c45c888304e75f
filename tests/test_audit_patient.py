"""An adversarial audit of the patient's side of the account: sequences of ordinary clerk
commands the other tests do not try, each checked against the billing rules with the numbers
worked by hand (never by billadmin's code).

Two small practices:
- Cy (MRN 2001, self-pay) paid a 20.00 co-pay at check-in on 2026-06-10 and had a 99213 at
  140.00 (visit V1); the run of 2026-06-30 issues P000001: 140.00 with the co-pay applied,
  120.00 due (as tests/test_void_patient_money.py).
- Dee (MRN 0000401) owes P000001 100.00 issued 2026-07-01; the statement of 2026-11-01 is her
  final notice (123 days), and on 2026-12-01 her account goes to collections: P000001's 100.00
  is written off to bad debt (as tests/test_collections.py).
"""

from __future__ import annotations

import json

import invoice_fixtures as fx
import ledger_fixtures as lf

from billadmin import db as dbmod
from billadmin import integrity
from billadmin.accounts import payments
from billadmin.billing import generate as gen


def _ok(r) -> None:
    assert r.exit_code == 0, r.stdout + r.stderr


def _cy(conn, tmp_path) -> int:
    with dbmod.write(conn):
        fx.practice(conn)
        cy = fx.patient(conn, "2001", "Cy", "Cole")
        fx.copay_payment(conn, cy, 2000, "2026-06-10")
        fx.encounter(conn, cy, "2026-06-10", [("99213", 14000)], number="V1")
    res = gen.generate(conn, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o1", pdf=False)
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [("P000001", 14000)]
    return cy


def _balance(conn, number: str) -> tuple[int, int, int, int, int]:
    """(total, credited, paid, adjusted, balance) of one invoice."""
    return conn.execute(
        "SELECT total_cents, credited_cents, paid_cents, adjusted_cents,"
        " total_cents + credited_cents - paid_cents - adjusted_cents"
        " FROM invoice_balances WHERE number = ?",
        (number,),
    ).fetchone()


def _status(conn, number: str) -> str:
    return conn.execute(
        "SELECT s.status FROM invoice_status s JOIN invoices i ON i.id = s.invoice_id"
        " WHERE i.number = ?",
        (number,),
    ).fetchone()[0]


def _rows(conn) -> tuple[int, ...]:
    return tuple(
        conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("adjustments", "clerk_adjustments", "invoice_events", "payments", "audit_log")
    )


def _writeoff(cli, number: str, amount: str, reason: str = "courtesy") -> int:
    r = cli("invoice", "writeoff", number, amount, "--reason", reason, "-f", "json")
    _ok(r)
    return json.loads(r.stdout)["entry"]


def _owes(cli, mrn: str) -> dict:
    r = cli("account", "show", mrn, "-f", "json")
    _ok(r)
    s = json.loads(r.stdout)["summary"]
    return {k: s[k] for k in ("patient_balance", "patient_pending", "credit", "patient_owes")}


# --- write-off undo -------------------------------------------------------------------------


def test_a_write_off_of_a_voided_invoice_is_not_undone(db, cli, tmp_path):
    """Write-off 30.00 (90.00 due), then void: the credit note takes 110.00 (140.00 - 30.00) and
    the 20.00 paid is held as credit; P000001 is 140.00 - 110.00 - 0.00 - 30.00 = 0.00. Undoing
    the write-off now would leave 30.00 open on a voided invoice (account show: patient balance
    30.00, owes 30.00 - 20.00 = 10.00, while the statement, which leaves voided invoices out,
    says 20.00 credit). The write-off went with the invoice: the undo is refused, exit 2,
    nothing written."""
    _cy(db, tmp_path)
    entry = _writeoff(cli, "P000001", "30.00")
    _ok(cli("invoice", "void", "P000001", "--reason", "wrong patient"))
    assert _balance(db, "P000001") == (14000, -11000, 0, 3000, 0)
    before = _rows(db)
    r = cli("invoice", "writeoff-undo", "P000001", str(entry))
    assert r.exit_code == 2, r.stdout
    assert "P000001" in r.stderr and "voided" in r.stderr
    assert _rows(db) == before
    assert _balance(db, "P000001") == (14000, -11000, 0, 3000, 0)
    assert _owes(cli, "2001") == {
        "patient_balance": "0.00",
        "patient_pending": "0.00",
        "credit": "20.00",
        "patient_owes": "-20.00",
    }
    assert integrity.run_checks(db) == []


def test_an_undo_after_the_rest_was_paid_reopens_the_invoice(db, cli, tmp_path):
    """Write-off 30.00 (90.00 due), Cy pays the 90.00: P000001 is paid (140.00 - 20.00 - 90.00
    - 30.00 = 0.00). Undoing the write-off puts 30.00 back: 140.00 - 110.00 paid = 30.00 open,
    so the invoice is partially paid again, not 'paid' with 30.00 open."""
    _cy(db, tmp_path)
    entry = _writeoff(cli, "P000001", "30.00")
    _ok(cli("payment", "post", "2001", "90.00", "--method", "cash", "--date", "2026-07-01"))
    assert (_balance(db, "P000001"), _status(db, "P000001")) == ((14000, 0, 11000, 3000, 0), "paid")
    _ok(cli("invoice", "writeoff-undo", "P000001", str(entry)))
    assert _balance(db, "P000001") == (14000, 0, 11000, 0, 3000)
    assert _status(db, "P000001") == "partially_paid"
    assert _owes(cli, "2001")["patient_owes"] == "30.00"
    assert integrity.run_checks(db) == []


# --- collections: recovery and undo ----------------------------------------------------------


def _dee_sent(db, cli, tmp_path) -> int:
    """Dee's P000001 (100.00) sent to collections on 2026-12-01: its bad-debt write-off entry."""
    with dbmod.write(db):
        lf.practice(db)
        dee = lf.patient(db, "0000401")
        lf.patient_invoice(db, dee, "2026-07-01", [("2026-06-30", "99214", 10000)])
    _ok(cli("statement", "run", "--date", "2026-11-01", "--out", tmp_path / "s"))
    _ok(cli("collections", "send", "--agency", "K", "--out", tmp_path / "a.csv", "--date", "2026-12-01"))  # fmt: skip
    assert _balance(db, "P000001") == (10000, 0, 0, 10000, 0)
    return db.execute("SELECT MAX(id) FROM adjustments").fetchone()[0]


def test_a_recovery_after_the_write_off_was_undone_is_refused(db, cli, tmp_path):
    """The clerk undoes the bad-debt write-off (the account came back: 100.00 open again), then
    the agency's 100.00 arrives. Nothing is written off any more, so `collections recover` has
    nothing to reverse: refused, exit 2, nothing written (the money is a plain payment:
    `payment post`). Before the rule the recovery reversed the write-off a second time (adjusted
    100.00 - 100.00 - 100.00 = -100.00) and left Dee owing 100.00 on a 100.00 invoice she paid."""
    entry = _dee_sent(db, cli, tmp_path)
    _ok(cli("invoice", "writeoff-undo", "P000001", str(entry)))
    assert _balance(db, "P000001") == (10000, 0, 0, 0, 10000)
    before = _rows(db)
    r = cli("collections", "recover", "0000401", "100.00", "--method", "check", "--date", "2027-01-15")  # fmt: skip
    assert r.exit_code == 2, r.stdout
    assert "more than the 0.00 written off and not yet recovered" in r.stderr
    assert _rows(db) == before
    _ok(cli("payment", "post", "0000401", "100.00", "--method", "check", "--date", "2027-01-15"))
    assert _balance(db, "P000001") == (10000, 0, 10000, 0, 0)
    assert integrity.run_checks(db) == []


def test_an_undo_after_a_recovery_reopens_only_what_was_not_recovered(db, cli, tmp_path):
    """The agency recovers 60.00 (the write-off reversed by 60.00 and 60.00 paid: 100.00 -
    60.00 - 40.00 = 0.00). The practice takes the account back: undoing the bad-debt write-off
    reverses the 40.00 still written off, not the whole 100.00 (which left 100.00 - 60.00 paid -
    (-60.00) adjusted = 100.00 owed on a 100.00 invoice of which 60.00 was paid). Dee owes
    40.00; nothing more can be recovered. The recovery's own entry is not a write-off and
    cannot be undone (that would write off again the 60.00 she paid, and make it refundable)."""
    entry = _dee_sent(db, cli, tmp_path)
    _ok(cli("collections", "recover", "0000401", "60.00", "--method", "check", "--date", "2027-01-15"))  # fmt: skip
    recovery = db.execute("SELECT MAX(id) FROM adjustments").fetchone()[0]
    assert _balance(db, "P000001") == (10000, 0, 6000, 4000, 0)
    before = _rows(db)
    r = cli("invoice", "writeoff-undo", "P000001", str(recovery))
    assert r.exit_code == 2 and "P000001" in r.stderr
    assert _rows(db) == before
    r = cli("invoice", "writeoff-undo", "P000001", str(entry), "-f", "json")
    _ok(r)
    assert json.loads(r.stdout)["amount"] == "-40.00"
    assert _balance(db, "P000001") == (10000, 0, 6000, 0, 4000)
    assert _status(db, "P000001") == "partially_paid"
    assert _owes(cli, "0000401")["patient_owes"] == "40.00"
    r = cli("collections", "recover", "0000401", "0.01", "--method", "check", "--date", "2027-01-20")  # fmt: skip
    assert r.exit_code == 2 and "more than the 0.00 written off" in r.stderr
    assert payments.refundable(db, 1) == (0, [])
    assert integrity.run_checks(db) == []


def test_an_undo_on_a_claim_closed_since_reopens_it(db, cli, tmp_path):
    """The same on a claim (check's CLAIM-STATE): C000001 (99213 140.00 + 36415 15.00) denied
    CO-27 (coverage ended), 155.00 open. The clerk writes off 55.00 as a courtesy and moves the
    100.00 left to the patient: closed. Undoing the write-off puts 55.00 back with this payer
    (155.00 - 55.00 + 55.00 - 100.00 = 55.00): the claim is denied again, not 'closed' with
    55.00 open (which check reports)."""
    from test_remit_support import Remit, issue_claim

    issue_claim(db, "C000001", [("99213", "", "140.00"), ("36415", "", "15.00")])
    r = Remit().claim("C000001", "4", "155", "0", cas=[("CO", "27", "155")])
    _ok(cli("remit", "import", r.write(tmp_path / "a.835")))
    assert (_balance(db, "C000001"), _status(db, "C000001")) == ((15500, 0, 0, 0, 15500), "denied")
    entry = _writeoff(cli, "C000001", "55.00")
    _ok(cli("invoice", "to-patient", "C000001", "100.00"))
    assert (_balance(db, "C000001"), _status(db, "C000001")) == ((15500, 0, 0, 15500, 0), "closed")
    _ok(cli("invoice", "writeoff-undo", "C000001", str(entry)))
    assert _balance(db, "C000001") == (15500, 0, 0, 10000, 5500)
    assert _status(db, "C000001") == "denied"
    assert integrity.run_checks(db) == []


# --- an 835's patient responsibility taken back after it was invoiced and paid ---------------


def test_a_patient_share_the_payer_takes_back_is_refundable(db, cli, tmp_path):
    """C000001 99213 140.00: the 835 pays 90.00, CO-45 30.00, PR-2 20.00 (coinsurance). The run
    bills the 20.00 on P000001 and the patient pays it. The payer then reverses the claim
    (CLP02 22) and pays it again at 110.00 with no patient share (CO-45 30.00): the -20.00
    reversed transfer is the patient's 20.00 back (account show: owes -20.00). The next run
    issues nothing for it (a patient whose items total 0.00 or less is skipped), so
    `payment refund` finds nothing refundable (credit 0.00, no overpaid invoice) and
    `statement credits` says credit 20.00, refund 0.00: the patient's money is stuck. The rule
    wanted: the reversed share credits the invoice that billed it (P000001 overpaid by 20.00, or
    20.00 held as credit), refundable; afterwards the account is square."""
    from test_remit_support import Remit, issue_claim

    with dbmod.write(db):
        fx.practice(db)
    issue_claim(db, "C000001", [("99213", "", "140.00")])
    paid = Remit().claim(
        "C000001", "1", "140", "90", "20", pcn="KP-1",
        lines=[("HC:99213", "140", "90", [("CO", "45", "30"), ("PR", "2", "20")])],
    )  # fmt: skip
    _ok(cli("remit", "import", paid.write(tmp_path / "a.835")))
    res = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o1", pdf=False)
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [("P000001", 2000)]
    _ok(cli("payment", "post", "T0001", "20.00", "--method", "cash"))
    again = (
        Remit(trace="EFT2002")
        .claim(
            "C000001", "22", "-140", "-90", "-20", pcn="KP-1",
            lines=[("HC:99213", "-140", "-90", [("CO", "45", "-30"), ("PR", "2", "-20")])],
        )
        .claim(
            "C000001", "1", "140", "110", "0", pcn="KP-2",
            lines=[("HC:99213", "140", "110", [("CO", "45", "30")])],
        )
    )  # fmt: skip
    _ok(cli("remit", "import", again.write(tmp_path / "b.835")))
    assert _owes(cli, "T0001")["patient_owes"] == "-20.00"
    gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o2", pdf=False)
    r = cli("statement", "credits", "-f", "json")
    _ok(r)
    assert [(c["credit"], c["refund"]) for c in json.loads(r.stdout)] == [("20.00", "20.00")]
    _ok(cli("payment", "refund", "T0001", "20.00", "--method", "check"))
    assert _owes(cli, "T0001")["patient_owes"] == "0.00"
    assert integrity.run_checks(db) == []


# --- a void's hold, as of an earlier day ----------------------------------------------------


def _aging_by_patient(cli, as_of: str) -> str:
    r = cli("report", "aging", "--as-of", as_of, "--per", "patient", "-f", "json")
    _ok(r)
    return json.loads(r.stdout)[-1]["total"]


def test_a_later_void_does_not_change_an_earlier_aging(db, cli, tmp_path):
    """Cy pays 50.00 on 2026-07-01: as of 2026-08-01 P000001 is 140.00 - 20.00 - 50.00 = 70.00
    open, and the aging by patient says 70.00. The invoice is voided later (today, after
    2026-08-01): the credit note is dated today and the 70.00 paid is held as credit today. The
    aging as of 2026-08-01 must still say 70.00 (it said 140.00: the 70.00 taken off the
    invoice counted on the days the payments were received, the credit note only from today)."""
    _cy(db, tmp_path)
    _ok(cli("payment", "post", "2001", "50.00", "--method", "cash", "--date", "2026-07-01"))
    assert _aging_by_patient(cli, "2026-08-01") == "70.00"
    _ok(cli("invoice", "void", "P000001", "--reason", "duplicate visit"))
    assert _balance(db, "P000001") == (14000, -14000, 0, 0, 0)
    assert _aging_by_patient(cli, "2026-08-01") == "70.00"


def test_an_undo_after_the_payer_paid_part_of_the_write_off_reopens_the_rest(db, cli, tmp_path):
    """C000001 (99213 140.00 + 36415 15.00), nothing answered yet; the clerk writes off 55.00
    (100.00 open). The payer's 835 then answers the office visit alone: paid 100.00, CO-45 40.00;
    the claim would be 155.00 - 100.00 - 95.00 = -40.00, so the import takes 40.00 of the
    write-off back (remit/post.py): 15.00 stays written off, 0.00 open. The clerk undoes the
    write-off: only the 15.00 still written off comes back (155.00 - 100.00 - 40.00 = 15.00, the
    lab line nobody answered), not the whole 55.00 (which would open 55.00), and a second undo
    is refused."""
    from test_remit_support import Remit, issue_claim

    issue_claim(db, "C000001", [("99213", "", "140.00"), ("36415", "", "15.00")])
    entry = _writeoff(cli, "C000001", "55.00")
    r = Remit().claim(
        "C000001", "1", "140", "100", lines=[("HC:99213", "140", "100", [("CO", "45", "40")])]
    )
    _ok(cli("remit", "import", r.write(tmp_path / "a.835")))
    assert _balance(db, "C000001") == (15500, 0, 10000, 5500, 0)
    r = cli("invoice", "writeoff-undo", "C000001", str(entry), "-f", "json")
    _ok(r)
    assert json.loads(r.stdout)["amount"] == "-15.00"
    assert _balance(db, "C000001") == (15500, 0, 10000, 4000, 1500)
    assert _status(db, "C000001") == "partially_paid"
    r = cli("invoice", "writeoff-undo", "C000001", str(entry))
    assert r.exit_code == 2 and "already undone" in r.stderr
    assert integrity.run_checks(db) == []


# --- account show after a void ---------------------------------------------------------------


def test_account_show_says_a_voided_visit_is_void_not_unbilled(db, cli, tmp_path):
    """P000001 voided without --rebill: V1's line is void, nothing will bill it again, so
    `account show` says the visit is void (it said 'unbilled', as if the next run would bill
    it: it will not). With --rebill the line is unbilled again and the visit says so."""
    _cy(db, tmp_path)
    _ok(cli("invoice", "void", "P000001", "--reason", "duplicate visit"))
    (enc,) = json.loads(cli("account", "show", "2001", "-f", "json").stdout)["encounters"]
    assert (enc["encounter"], enc["charges"], enc["billing"]) == ("V1", "0.00", "void")
    with dbmod.write(db):
        cy2 = fx.patient(db, "2002", "Di", "Dunn")
        fx.encounter(db, cy2, "2026-06-11", [("99212", 9000)], number="V2")
    gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o2", pdf=False)
    _ok(cli("invoice", "void", "P000002", "--reason", "wrong code", "--rebill"))
    (enc,) = json.loads(cli("account", "show", "2002", "-f", "json").stdout)["encounters"]
    assert (enc["encounter"], enc["charges"], enc["billing"]) == ("V2", "90.00", "unbilled")


# --- a patient invoice carrying a reversed share, voided -------------------------------------


def _reversed_before_the_run(db, cli, tmp_path) -> None:
    """C000001 99213 140.00 (patient T0001): the 835 pays 90.00 with PR-2 20.00; before the next
    run the payer reverses it and pays again with PR-2 10.00 (CO-45 30.00 both times). The run
    bills the three transfers on P000001: 20.00, -20.00 and 10.00, total 10.00."""
    from test_remit_support import Remit, issue_claim

    with dbmod.write(db):
        fx.practice(db)
    issue_claim(db, "C000001", [("99213", "", "140.00")])
    first = Remit().claim(
        "C000001", "1", "140", "90", "20", pcn="KP-1",
        lines=[("HC:99213", "140", "90", [("CO", "45", "30"), ("PR", "2", "20")])],
    )  # fmt: skip
    _ok(cli("remit", "import", first.write(tmp_path / "a.835")))
    again = (
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
    _ok(cli("remit", "import", again.write(tmp_path / "b.835")))
    res = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o1", pdf=False)
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [("P000001", 1000)]
    assert db.execute(
        "SELECT l.amount_cents FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
        " WHERE i.number = 'P000001' ORDER BY l.line_no"
    ).fetchall() == [(2000,), (-2000,), (1000,)]


def test_a_void_of_an_invoice_with_a_reversed_share_credits_its_total(db, cli, tmp_path):
    """Voiding P000001 (total 10.00, nothing paid or written off) takes off 10.00: credit note
    lines -20.00, +20.00 and -10.00 (each line negated), P000001 at 10.00 - 10.00 = 0.00. The
    credit note's lines were -10.00, +20.00, -10.00 = 0.00: the first line was credited only up
    to the 10.00 to take off, then the negative line put 20.00 back into what the last line could
    take. Check then reports 'P000001: state voided but 10.00 is still open'."""
    _reversed_before_the_run(db, cli, tmp_path)
    _ok(cli("invoice", "void", "P000001", "--reason", "billed in error"))
    assert _balance(db, "P000001") == (1000, -1000, 0, 0, 0)
    assert db.execute(
        "SELECT l.amount_cents FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
        " WHERE i.number = 'CN000001' ORDER BY l.line_no"
    ).fetchall() == [(-2000,), (2000,), (-1000,)]
    assert integrity.run_checks(db) == []


# --- a patient share the payer takes back after the clerk wrote part of it off ---------------


def _share_billed(db, cli, tmp_path) -> int:
    """C000001 99213 140.00 (patient T0001): the 835 pays 60.00, CO-45 30.00, PR-2 50.00; the run
    bills the 50.00 on P000001."""
    from test_remit_support import Remit, issue_claim

    with dbmod.write(db):
        fx.practice(db)
    issue_claim(db, "C000001", [("99213", "", "140.00")])
    first = Remit().claim(
        "C000001", "1", "140", "60", "50", pcn="KP-1",
        lines=[("HC:99213", "140", "60", [("CO", "45", "30"), ("PR", "2", "50")])],
    )  # fmt: skip
    _ok(cli("remit", "import", first.write(tmp_path / "a.835")))
    res = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o1", pdf=False)
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [("P000001", 5000)]
    return db.execute("SELECT id FROM patients WHERE mrn = 'T0001'").fetchone()[0]


def _share_taken_back(cli, tmp_path) -> None:
    """The payer reverses C000001 and pays it again: 100.00, CO-45 30.00, PR-2 10.00."""
    from test_remit_support import Remit

    again = (
        Remit(trace="EFT2002")
        .claim(
            "C000001", "22", "-140", "-60", "-50", pcn="KP-1",
            lines=[("HC:99213", "-140", "-60", [("CO", "45", "-30"), ("PR", "2", "-50")])],
        )
        .claim(
            "C000001", "1", "140", "100", "10", pcn="KP-2",
            lines=[("HC:99213", "140", "100", [("CO", "45", "30"), ("PR", "2", "10")])],
        )
    )  # fmt: skip
    _ok(cli("remit", "import", again.write(tmp_path / "b.835")))


def test_a_share_taken_back_after_a_write_off_is_not_reduced_twice(db, cli, tmp_path):
    """P000001 50.00: the patient pays 20.00, the clerk writes off 15.00 (courtesy): 15.00 open.
    The payer then takes the 50.00 share back and leaves 10.00 (pending, for the next run).
    P000001 must end at 0.00 with nothing taken off twice: of the 50.00 billed, 15.00 was written
    off, so 35.00 is credited (or the write-off taken back and 50.00 credited), and the 20.00
    paid is held as credit. The patient paid 20.00 and owes 10.00: owes -10.00, refundable
    20.00 (before the fix: P000001 at 50.00 - 50.00 - 0.00 - 15.00 = -15.00, owes -25.00, refundable
    20.00 + 15.00 overpaid = 35.00, of which 15.00 was never paid)."""
    pid = _share_billed(db, cli, tmp_path)
    _ok(cli("payment", "post", "T0001", "20.00", "--method", "cash"))
    _writeoff(cli, "P000001", "15.00")
    assert _balance(db, "P000001") == (5000, 0, 2000, 1500, 1500)
    _share_taken_back(cli, tmp_path)
    assert _balance(db, "P000001")[4] == 0
    assert _owes(cli, "T0001") == {
        "patient_balance": "0.00",
        "patient_pending": "10.00",
        "credit": "20.00",
        "patient_owes": "-10.00",
    }
    assert payments.refundable(db, pid) == (2000, [])
    assert integrity.run_checks(db) == []


def test_a_share_taken_back_after_collections_is_not_reduced_twice(db, cli, tmp_path):
    """P000001 50.00 goes to collections on 2026-12-01 (final notice 2026-11-01: 124 days; all
    50.00 written off to bad debt); the agency recovers 30.00 (bad-debt 20.00 left, paid 30.00).
    The payer then takes the 50.00 share back and leaves 10.00 pending. P000001 must end at 0.00:
    credited 30.00 (what was not written off), the 30.00 paid held as credit. The patient paid
    30.00 and owes 10.00: owes -20.00, refundable 30.00 (before the fix: P000001 -20.00, owes -40.00,
    refundable 50.00)."""
    pid = _share_billed(db, cli, tmp_path)
    _ok(cli("statement", "run", "--date", "2026-11-01", "--out", tmp_path / "s"))
    _ok(cli("collections", "send", "--agency", "K", "--out", tmp_path / "k.csv", "--date", "2026-12-01"))  # fmt: skip
    _ok(cli("collections", "recover", "T0001", "30.00", "--method", "check", "--date", "2026-12-10"))  # fmt: skip
    assert _balance(db, "P000001") == (5000, 0, 3000, 2000, 0)
    _share_taken_back(cli, tmp_path)
    assert _balance(db, "P000001")[4] == 0
    assert _owes(cli, "T0001")["patient_owes"] == "-20.00"
    assert payments.refundable(db, pid) == (3000, [])
    assert integrity.run_checks(db) == []


def test_a_share_taken_back_after_its_invoice_was_voided_is_not_owed_back(db, cli, tmp_path):
    """P000001 bills the 50.00 share; the patient pays 20.00; the clerk voids P000001 without
    --rebill (the share is not billed: the credit note takes 50.00 off, the 20.00 is held as
    credit). The payer then takes the 50.00 back and leaves 10.00. The void already took the
    50.00 off the patient, so the share taken back has nothing left to credit; the new 10.00 is
    owed: pending 10.00, credit 20.00, owes -10.00. The next run bills P000002 10.00 and applies
    10.00 of the credit: owes -10.00, refundable 10.00."""
    pid = _share_billed(db, cli, tmp_path)
    _ok(cli("payment", "post", "T0001", "20.00", "--method", "cash"))
    _ok(cli("invoice", "void", "P000001", "--reason", "billed in error"))
    assert _balance(db, "P000001") == (5000, -5000, 0, 0, 0)
    _share_taken_back(cli, tmp_path)
    assert _owes(cli, "T0001") == {
        "patient_balance": "0.00",
        "patient_pending": "10.00",
        "credit": "20.00",
        "patient_owes": "-10.00",
    }
    res = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o2", pdf=False)
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [("P000002", 1000)]
    assert _owes(cli, "T0001")["patient_owes"] == "-10.00"
    assert payments.refundable(db, pid) == (1000, [])
    assert integrity.run_checks(db) == []
