"""The demo practice: the README's main-job command, and an integration test of every step."""

import datetime as dt
import os
import stat

import pytest

from billadmin import audit, db as dbmod, demo, npi

AS_OF = dt.date(2026, 11, 26)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "billadmin-demo.db"
    summary = demo.run_demo(path, as_of=AS_OF)
    return path, summary


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
    assert q(f"SELECT COUNT(*) FROM coverages WHERE effective_to BETWEEN '{AS_OF}' AND date('{AS_OF}', '+30 days')") > 0
    # encounters over the last 6 months, none in the future
    assert q("SELECT MIN(date_of_service) FROM encounters") >= (AS_OF - dt.timedelta(days=183)).isoformat()
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


def test_demo_command(cli, tmp_path):
    r = cli("--db", str(tmp_path / "d.db"), "demo", "--as-of", "2026-11-26", db=False)
    assert r.exit_code in (0, 1), r.stderr  # 1 when the pipeline reports held claims / differences
    assert "Demo database" in r.stderr
