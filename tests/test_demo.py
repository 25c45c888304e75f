"""The demo practice: the README's main-job command, and an integration test of every step."""

import datetime as dt
import os
import stat

import pytest

from billadmin import audit, demo, npi
from billadmin import db as dbmod

AS_OF = dt.date(2026, 11, 26)


@pytest.fixture
def demo_db(demo_practice):
    return demo_practice


def test_demo_practice_shape(demo_db):
    path, summary = demo_db
    conn = dbmod.connect(path)
    q = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    assert q("SELECT COUNT(*) FROM patients") >= 300
    assert q("SELECT COUNT(*) FROM encounters") >= 3000
    assert q("SELECT COUNT(*) FROM providers") >= 3
    assert all(npi.is_valid(r[0]) for r in conn.execute("SELECT npi FROM providers"))
    assert npi.is_valid(q("SELECT npi FROM practice"))
    kinds = {r[0] for r in conn.execute("SELECT kind FROM payers")}
    assert kinds == {"medicare", "medicaid", "hmo", "commercial", "self"}
    # two commercial plans and the paper-only workers' comp carrier (demo/paper.py)
    assert q("SELECT COUNT(*) FROM payers WHERE kind='commercial'") == 3
    # some coverages lapsed, some expiring within 30 days
    assert q(f"SELECT COUNT(*) FROM coverages WHERE effective_to < '{AS_OF}'") > 0
    assert (
        q(
            f"SELECT COUNT(*) FROM coverages WHERE effective_to BETWEEN '{AS_OF}' AND date('{AS_OF}', '+30 days')"
        )
        > 0
    )
    # encounters over the last 6 months, none in the future
    assert (
        q("SELECT MIN(date_of_service) FROM encounters")
        >= (AS_OF - dt.timedelta(days=183)).isoformat()
    )
    assert q("SELECT MAX(date_of_service) FROM encounters") < AS_OF.isoformat()
    # modifiers and multiple diagnoses are present
    assert q("SELECT COUNT(*) FROM charge_lines WHERE modifier1 IS NOT NULL") > 0
    assert q("SELECT MAX(seq) FROM encounter_diagnoses") >= 3


def test_demo_plants_about_three_percent_errors(demo_db):
    data = demo.generate(AS_OF)
    n_enc = len({r["Encounter"] for r in data.tables["charges"]})
    planted = sum(len(v) for v in data.planted.values())
    assert 0.02 <= planted / n_enc <= 0.04
    assert all(data.planted[k] for k in ("header", "inactive", "pointer", "unbundle"))


def test_demo_is_deterministic():
    a, b = demo.generate(AS_OF), demo.generate(AS_OF)
    assert a.tables == b.tables


def test_demo_files_private_and_audit_chain_verifies(demo_db):
    path, _ = demo_db
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for suffix in ("-wal", "-shm"):
        if os.path.exists(str(path) + suffix):
            assert stat.S_IMODE(os.stat(str(path) + suffix).st_mode) == 0o600
    conn = dbmod.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] >= 2
    assert audit.verify(conn) == []


def test_demo_command_tells_the_story(demo_practice):
    path, stderr = demo_practice
    for step in (
        "Imported them as a clerk would",
        "Billed on 7 days",
        "Payers answered with",
        "Patients paid",
        "Reconcile remits",
        "Planted errors caught by the scrubber",
        "A/R aging",
        "KPIs",
        "Demo database",
    ):
        assert step in stderr, step
    assert "unbundle 27/27" in stderr and "inactive 22/22" in stderr and "pointer 19/19" in stderr
    files = path.parent / f"{path.stem}-files"
    assert (files / "reports.xlsx").exists() and list((files / "out").glob("*/*.edi"))
    assert list((files / "remits").glob("*/*.835"))


def test_demo_dates_are_in_order(demo_practice):
    """No payment before the claim it pays; nothing dated after the as-of day."""
    path, _ = demo_practice
    conn = dbmod.connect(path)
    early = conn.execute(
        "SELECT COUNT(*) FROM payment_allocations a JOIN payments p ON p.id = a.payment_id"
        " JOIN invoices i ON i.id = a.invoice_id WHERE p.received_on < i.issued_on"
    ).fetchone()[0]
    assert early == 0
    assert conn.execute("SELECT MAX(received_on) FROM payments").fetchone()[0] <= AS_OF.isoformat()
    assert conn.execute("SELECT MAX(issued_on) FROM invoices").fetchone()[0] <= AS_OF.isoformat()


def test_demo_coordination_of_benefits(demo_practice):
    """A share of Medicare patients has a second coverage (Medigap and Medicaid); Medicare's
    answers cross some claims over and leave others to a COB claim; the secondary payers answer
    on the claim they were sent; nothing routed reaches a patient statement; the clerk replaces
    denied claims and writes off small balances; the summary says so; `check` passes."""
    from billadmin import integrity

    path, stderr = demo_practice
    coverage = demo.generate(AS_OF).tables["coverage"]
    medicare = {c["MRN"] for c in coverage if c["Payer Code"] == "MCR"}
    second = [c for c in coverage if c["Priority"] == "secondary"]
    assert {c["Payer Code"] for c in second} == {"SUM", "MCD"}  # Medigap, Medicaid
    assert {c["MRN"] for c in second} <= medicare and 0.3 <= len(second) / len(medicare) <= 0.8
    conn = dbmod.connect(path)
    q = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    crossed = q("SELECT COUNT(DISTINCT invoice_id) FROM cob_crossovers")
    cob_claims = q("SELECT COUNT(*) FROM cob_claims")
    assert crossed > 20 and cob_claims > 20
    # the crossover payers answer on the crossed-over claim itself, as secondary
    assert (
        q(
            "SELECT COUNT(*) FROM cob_crossovers x JOIN remit_claims c ON c.invoice_id ="
            " x.invoice_id JOIN remit_transactions t ON t.id = c.transaction_id"
            " WHERE t.payer_id = x.next_payer_id AND c.status_code = '2'"
        )
        > crossed // 2
    )
    # every answer to a COB claim is a secondary's: OA-23 on each line, the claim then closed
    answers = conn.execute(
        "SELECT c.id, c.status_code, b.total_cents + b.credited_cents - b.paid_cents"
        " - b.adjusted_cents FROM cob_claims x JOIN remit_claims c ON c.invoice_id = x.invoice_id"
        " JOIN invoice_balances b ON b.invoice_id = x.invoice_id"
    ).fetchall()
    assert len(answers) > cob_claims // 2
    assert {(status, balance) for _, status, balance in answers} == {("2", 0)}
    assert (
        q(
            "SELECT COUNT(*) FROM remit_claims c JOIN cob_claims x ON x.invoice_id = c.invoice_id"
            " WHERE NOT EXISTS (SELECT 1 FROM remit_adjustments a WHERE a.claim_id = c.id"
            " AND a.group_code = 'OA' AND a.reason_code = '23')"
        )
        == 0
    )
    # what a payer passed on never reaches a patient statement
    assert (
        q(
            "SELECT COUNT(*) FROM cob_routes r JOIN patient_invoice_adjustments x"
            " ON x.adjustment_id = r.adjustment_id"
        )
        == 0
    )
    replaced = q("SELECT COUNT(*) FROM invoices WHERE kind = 'claim' AND frequency_code = '7'")
    written_off = q(
        "SELECT COUNT(*) FROM clerk_adjustments WHERE kind = 'writeoff' AND reason = 'small-balance'"
    )
    assert replaced > 0 and written_off > 0
    assert f"Medicare forwarded {crossed} of their claims" in stderr
    assert f"billed {cob_claims} COB 837P claims" in stderr
    assert f"The clerk corrected and replaced {replaced} claims denied CO-16" in stderr
    assert f"wrote off {written_off} small balances" in stderr
    assert integrity.run_checks(conn) == []


def test_demo_medicare_ma130_corrected_and_resubmitted(demo_practice):
    """Issue 12: Medicare returns claims unprocessable (CO-16 with MA130, no appeal rights); the
    demo's clerk corrects each encounter (`charge correct`, with a reason) and resubmits it as a
    new claim (`invoice resubmit`: frequency 1, no REF*F8), and the summary says so."""
    import re

    path, stderr = demo_practice
    conn = dbmod.connect(path)
    rows = conn.execute(
        "SELECT i.id, i.number, s.status, c.status_code, c.paid_cents FROM invoices i"
        " JOIN invoice_status s ON s.invoice_id = i.id JOIN payers p ON p.id = i.payer_id"
        " JOIN remit_claims c ON c.invoice_id = i.id"
        " WHERE p.kind = 'medicare' AND ',' || c.remarks || ',' LIKE '%,MA130,%'"
    ).fetchall()
    assert rows, "no Medicare claim came back MA130"
    for iid, number, status, _clp02, paid in rows:
        assert paid == 0 and status == "corrected", (number, status)
        # the correction: modifier 25 on the E/M, with a reason naming MA130
        fix = conn.execute(
            "SELECT reason, after FROM charge_corrections WHERE invoice_id = ?", (iid,)
        ).fetchall()
        assert len(fix) == 1 and "MA130" in fix[0][0] and '"modifiers": "25"' in fix[0][1]
        # the new claim: frequency 1 (not a replacement), the whole claim, sent with 99xxx:25
        new, freq, total, orig_total = conn.execute(
            "SELECT n.number, n.frequency_code, n.total_cents, o.total_cents FROM invoices n"
            " JOIN invoices o ON o.id = n.original_invoice_id"
            " WHERE n.original_invoice_id = ? AND n.kind = 'claim'",
            (iid,),
        ).fetchone()
        assert freq == "1" and total == orig_total, (number, new)
        # the original's open amount moved once: 0.00 left on it
        assert (
            conn.execute(
                "SELECT total_cents + credited_cents - paid_cents - adjusted_cents"
                " FROM invoice_balances WHERE invoice_id = ?",
                (iid,),
            ).fetchone()[0]
            == 0
        )
    first_new = conn.execute(
        "SELECT number FROM invoices WHERE original_invoice_id = ? AND kind = 'claim'",
        (rows[0][0],),
    ).fetchone()[0]
    files = path.parent / f"{path.stem}-files" / "out"
    text = "".join(p.read_text() for p in files.glob("*/837P-MCR-*.edi"))
    claim = re.search(rf"CLM\*{first_new}\*[^~]*~(.*?)(?=CLM\*|SE\*)", text, re.S)
    assert claim and ":B:1*" in claim.group(0) and "REF*F8" not in claim.group(1)
    assert re.search(r"SV1\*HC:992\d\d:25\*", claim.group(1)), claim.group(0)
    assert f"Medicare returned {len(rows)} claims unprocessable (CO-16 with MA130" in stderr
    assert "`invoice resubmit`, frequency 1:" in stderr
