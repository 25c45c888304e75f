"""The coverage facts COB needs (issue 12): the Medicare secondary payer type (837P SBR05) and the
QMB flag, from `import coverage` (MSP Type, QMB columns) or `patient coverage-set` (audited);
the COB claim to Medicare then carries SBR05, and a QMB flag set this way holds Medicare
cost-sharing from the patient (COB-QMB). Every amount is written by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import invoice_fixtures as fx
import ledger_scenarios as ls
import pytest

from billadmin import db as dbmod
from billadmin.billing import generate as gen
from billadmin.remit import post

TODAY = ls.DAY0
DOS = (TODAY - dt.timedelta(days=4)).isoformat()


@pytest.fixture
def practice_db(db):
    with dbmod.write(db):
        fx.practice(db)
        fx.patient(db, "Q0001", "Quinn", "Benefit")
    return db


def _coverage_csv(tmp_path: Path, rows: list[list[str]], extra: list[str]) -> Path:
    header = ["MRN", "Payer Code", "Member ID", "Priority", "Effective From", *extra]
    return ls.write_csv(tmp_path / "coverage.csv", header, rows)


def _facts(db) -> list[tuple]:
    return db.execute(
        "SELECT p.code, c.msp_type, c.qmb FROM coverages c JOIN payers p ON p.id = c.payer_id"
        " ORDER BY c.priority"
    ).fetchall()


def test_import_reads_msp_type_and_qmb(cli, practice_db, tmp_path):
    f = _coverage_csv(
        tmp_path,
        [
            ["Q0001", "KEY", "KEY001", "primary", "2020-01-01", "", ""],
            ["Q0001", "MCR", "1EG4TE5MK01", "secondary", "2020-01-01", "working aged", "yes"],
        ],
        ["MSP Type", "QMB"],
    )
    r = cli("import", "coverage", f)
    assert r.exit_code == 0, r.stderr
    assert _facts(practice_db) == [("KEY", None, 0), ("MCR", "12", 1)]


def test_import_refuses_msp_type_on_a_payer_not_medicare(cli, practice_db, tmp_path):
    f = _coverage_csv(
        tmp_path, [["Q0001", "KEY", "KEY001", "primary", "2020-01-01", "12"]], ["MSP Type"]
    )
    r = cli("import", "coverage", f)
    assert r.exit_code == 2
    assert "row 2" in r.stderr and "msp" in r.stderr.lower(), r.stderr
    assert "1EG4" not in r.stderr and "Quinn" not in r.stderr
    assert _facts(practice_db) == []  # nothing written


def test_import_refuses_an_unknown_msp_type(cli, practice_db, tmp_path):
    f = _coverage_csv(
        tmp_path, [["Q0001", "MCR", "1EG4TE5MK01", "primary", "2020-01-01", "99"]], ["MSP Type"]
    )
    r = cli("import", "coverage", f)
    assert r.exit_code == 2 and "row 2" in r.stderr, r.stderr
    assert _facts(practice_db) == []


def _two_coverages(db) -> None:
    pid = db.execute("SELECT id FROM patients").fetchone()[0]
    with dbmod.write(db):
        fx.coverage(db, pid, "KEY", member="KEY001", priority=1)
        fx.coverage(db, pid, "MCR", member="1EG4TE5MK01", priority=2)


def test_coverage_set_records_msp_type_and_qmb_audited(cli, practice_db):
    db = practice_db
    _two_coverages(db)
    r = cli("patient", "coverage-set", "Q0001", "MCR", "--msp-type", "43", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert _facts(db) == [("KEY", None, 0), ("MCR", "43", 0)]
    assert cli("patient", "coverage-set", "Q0001", "MCR", "--qmb").exit_code == 0
    assert _facts(db) == [("KEY", None, 0), ("MCR", "43", 1)]
    rows = db.execute(
        "SELECT detail FROM audit_log WHERE action = 'patient coverage-set' ORDER BY id"
    ).fetchall()
    assert [r[0] for r in rows] == ['{"fields": ["msp_type"]}', '{"fields": ["qmb"]}']
    assert cli("patient", "coverage-set", "Q0001", "MCR", "--msp-type", "-").exit_code == 0
    assert _facts(db) == [("KEY", None, 0), ("MCR", None, 1)]


@pytest.mark.parametrize(
    "args, text",
    [
        (["Q0001", "KEY", "--msp-type", "12"], "not Medicare"),
        (["Q0001", "MCR", "--msp-type", "11"], "--msp-type must be one of"),
        (["Q0001", "BVH", "--qmb"], "no BVH coverage"),
        (["Q9999", "MCR", "--qmb"], "no patient with that MRN"),
        (["Q0001", "MCR"], "nothing to set"),
    ],
)
def test_coverage_set_refusals(cli, practice_db, args, text):
    _two_coverages(practice_db)
    r = cli("patient", "coverage-set", *args)
    assert r.exit_code == 2 and text in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and "Q9999" not in r.stderr
    assert _facts(practice_db) == [("KEY", None, 0), ("MCR", None, 0)]


# the primary's answer: charge 200.00, allowed 150.00 (CO-45 50.00), paid 100.00, PR-1 50.00
ANSWER = {
    "claim": "C000001",
    "status": "1",
    "charge": "200.00",
    "paid": "100.00",
    "pr": "50.00",
    "pcn": "X-1",
    "lines": [
        {
            "code": "99214",
            "charge": "200.00",
            "paid": "100.00",
            "cas": [["CO", "45", "50.00"], ["PR", "1", "50.00"]],
        }
    ],
}


def _generate(db, tmp_path: Path, name: str) -> gen.RunResult:
    return gen.generate(
        db, out_dir=tmp_path / name, today=TODAY, scrub=fx.no_scrub, pdf=False, xlsx=False
    )


def _remit(db, tmp_path: Path, payer: str) -> None:
    path = tmp_path / f"{payer}.835"
    step = {"payer": payer, "trace": f"T{payer}", "on": "D", "claims": [ANSWER]}
    path.write_text(ls.remit_text(step))
    assert [t.result for t in post.import_files(db, [path]).transactions] == ["posted"]


def test_msp_type_set_by_command_goes_out_as_sbr05(cli, practice_db, tmp_path):
    db = practice_db
    _two_coverages(db)
    pid = db.execute("SELECT id FROM patients").fetchone()[0]
    with dbmod.write(db):
        fx.encounter(db, pid, DOS, [("99214", 20000)])
    assert [r["number"] for r in _generate(db, tmp_path, "r1").issued] == ["C000001"]
    _remit(db, tmp_path, "KEY")
    held = _generate(db, tmp_path, "r2")
    assert [f.rule for h in held.held for f in h.findings] == ["COB-MSP-TYPE"]
    assert cli("patient", "coverage-set", "Q0001", "MCR", "--msp-type", "12").exit_code == 0
    res = _generate(db, tmp_path, "r3")
    assert [r["number"] for r in res.issued] == ["C000002"]
    text = "".join(f.read_text() for f in res.files if f.name.startswith("837P-MCR-"))
    assert "SBR*S*18***12****MB~" in text  # SBR05 12: working aged
    assert ls.cob_findings(text) == []
    # 200.00 - 100.00 paid - 50.00 CO-45 = 50.00 billed to Medicare
    bal = db.execute(
        "SELECT total_cents + credited_cents - paid_cents - adjusted_cents FROM invoice_balances"
        " WHERE number = 'C000002'"
    ).fetchone()[0]
    assert bal == 20000 - 10000 - 5000


def test_qmb_set_by_command_holds_medicare_cost_sharing(cli, practice_db, tmp_path):
    db = practice_db
    pid = db.execute("SELECT id FROM patients").fetchone()[0]
    with dbmod.write(db):
        fx.coverage(db, pid, "MCR", member="1EG4TE5MK01")
        fx.encounter(db, pid, DOS, [("99214", 20000)])
    _generate(db, tmp_path, "r1")
    assert cli("patient", "coverage-set", "Q0001", "MCR", "--qmb").exit_code == 0
    _remit(db, tmp_path, "MCR")
    res = _generate(db, tmp_path, "r2")
    assert [r["number"] for r in res.issued] == []  # no statement for the deductible
    # 200.00 - 100.00 paid - 50.00 CO-45 = 50.00 PR-1 held on the claim, not billed
    assert [(r["rule"], r["amount_cents"]) for r in res.cob] == [("COB-QMB", 5000)]


def test_a_coverage_file_without_the_columns_keeps_what_was_set(cli, practice_db, tmp_path):
    """The nightly registration file has no MSP Type or QMB column: re-importing it leaves what
    the front desk set with coverage-set."""
    f = _coverage_csv(tmp_path, [["Q0001", "MCR", "1EG4TE5MK01", "secondary", "2020-01-01"]], [])
    assert cli("import", "coverage", f).exit_code == 0
    args = ["patient", "coverage-set", "Q0001", "MCR", "--msp-type", "12", "--qmb"]
    assert cli(*args).exit_code == 0
    r = cli("import", "coverage", f)
    assert r.exit_code == 0, r.stderr
    assert _facts(practice_db) == [("MCR", "12", 1)]
