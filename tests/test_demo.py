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
    assert q("SELECT COUNT(*) FROM payers WHERE kind='commercial'") == 2
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
