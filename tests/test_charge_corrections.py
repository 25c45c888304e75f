"""`billadmin charge list|correct|remove` and `invoice resubmit` (issue 12): an unbilled line is
changed or removed and billed as corrected; a visit the scrubber holds is fixed and billed (the
nightly `invoice generate` stops exiting 1); a billed encounter is corrected with a reason, its
claim untouched, and the replacement (frequency 7) or the MA130 resubmission (a new claim,
frequency 1) carries the corrected lines and diagnoses; a voided claim cannot be corrected;
`import charges` says to use `charge correct`, not --update. Every amount is written by hand."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import invoice_fixtures as fx
import ledger_scenarios as ls
import pytest

from billadmin import db as dbmod
from billadmin.remit import post

TODAY = ls.DAY0
DOS = (TODAY - dt.timedelta(days=4)).isoformat()


@pytest.fixture(scope="module")
def initialised(tmp_path_factory) -> Path:
    """A database `init` made once (its code sets, so the real scrubber runs); each test copies it."""
    from typer.testing import CliRunner

    from billadmin.cli import app
    from billadmin.commands import state

    path = tmp_path_factory.mktemp("charge-template") / "template.db"
    assert CliRunner().invoke(app, ["--db", str(path), "init"]).exit_code == 0
    state.db_path, state.quiet = None, False
    return path


@pytest.fixture
def practice_db(initialised, db_path):
    """E000001 for Keystone: 99214 at 200.00 (pointer 1) and 36415 at 30.00 (pointer 2), with
    diagnoses E11.9 and I10."""
    src = dbmod.connect(initialised)
    db = dbmod.connect(db_path, create=True, migrate=False)
    src.conn.backup(db.conn)
    src.close()
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "K0001", "Kai", "Fix")
        fx.coverage(db, pid, "KEY", member="KEY001")
        fx.encounter(db, pid, DOS, [("99214", 20000, "", "1"), ("36415", 3000, "", "2")])
    yield db
    db.close()


def _generate(cli, tmp_path: Path, name: str, expect: int = 0) -> list[str]:
    r = cli(
        "invoice",
        "generate",
        "--through",
        TODAY.isoformat(),
        "--out",
        tmp_path / name,
        "--no-pdf",
        "--no-xlsx",
        "-f",
        "json",
    )
    assert r.exit_code == expect, r.stderr
    return [x["number"] for x in json.loads(r.stdout or "[]")]


def _edi(tmp_path: Path, name: str) -> str:
    return "".join(p.read_text() for p in sorted((tmp_path / name).rglob("*.edi")))


def _lines(db, number: str) -> list[tuple]:
    return db.execute(
        "SELECT l.code, l.modifiers, l.units, l.amount_cents FROM invoice_lines l"
        " JOIN invoices i ON i.id = l.invoice_id WHERE i.number = ? ORDER BY l.line_no",
        (number,),
    ).fetchall()


def _balance(db, number: str) -> int:
    return db.execute(
        "SELECT total_cents + credited_cents - paid_cents - adjusted_cents FROM invoice_balances"
        " WHERE number = ?",
        (number,),
    ).fetchone()[0]


def _total(db, number: str) -> int:
    return db.execute("SELECT total_cents FROM invoices WHERE number = ?", (number,)).fetchone()[0]


def _count(db, table: str) -> int:
    return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_an_unbilled_line_is_corrected_and_billed_as_corrected(cli, practice_db, tmp_path):
    db = practice_db
    r = cli("charge", "correct", "E000001", "--line", "2", "--code", "36416", "--units", "2")
    assert r.exit_code == 0, r.stderr
    r = cli("charge", "correct", "E000001", "--line", "1", "--modifier", "25", "--charge", "180")
    assert r.exit_code == 0, r.stderr
    assert _generate(cli, tmp_path, "r1") == ["C000001"]
    assert _lines(db, "C000001") == [("99214", "25", 1, 18000), ("36416", "", 2, 3000)]
    assert _total(db, "C000001") == 18000 + 3000  # 210.00
    assert "SV1*HC:99214:25*180*UN*1***1~" in _edi(tmp_path, "r1")
    assert _count(db, "charge_corrections") == 2
    actions = [
        r[0] for r in db.execute("SELECT action FROM audit_log WHERE action LIKE 'charge %'")
    ]
    assert actions == ["charge correct", "charge correct"]


def test_a_removed_line_is_never_billed(cli, practice_db, tmp_path):
    db = practice_db
    r = cli("charge", "remove", "E000001", "--line", "2", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["lines_left"] == 1
    assert _generate(cli, tmp_path, "r1") == ["C000001"]
    assert _lines(db, "C000001") == [("99214", "", 1, 20000)]  # 200.00, the 30.00 line left out


@pytest.mark.parametrize(
    "args, text",
    [
        (["--line", "1", "--units", "0"], "remove the line instead"),
        (["--code", "99214"], "has 2 lines: say which with --line N"),
        (["--line", "3", "--units", "2"], "has no line 3"),
        (["--line", "1", "--modifier", "2X5"], "a modifier is 2 letters or digits"),
        (["--line", "1", "--code", "ABC"], "not a CPT or HCPCS code"),
        (["--line", "1", "--charge", "-5.00"], "--charge"),
        (["--line", "1", "--pointers", "13"], "--pointers"),
        (["--line", "1", "--pointers", "3"], "line 1: diagnosis pointer 3 has no diagnosis"),
        (["--dx", "E11.9"], "line 2: diagnosis pointer 2 has no diagnosis"),
        (["--dx", "NOT A CODE"], "not an ICD-10-CM code"),
        ([], "nothing to correct"),
        (["--line", "1", "--code", "99214"], "nothing changes"),
    ],
)
def test_bad_corrections_are_refused_and_nothing_is_written(cli, practice_db, args, text):
    db = practice_db
    before = db.execute("SELECT * FROM charge_lines ORDER BY id").fetchall()
    r = cli("charge", "correct", "E000001", *args)
    assert r.exit_code == 2 and text in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1
    assert db.execute("SELECT * FROM charge_lines ORDER BY id").fetchall() == before
    assert _count(db, "charge_corrections") == 0
    assert [r[0] for r in db.execute("SELECT code FROM encounter_diagnoses ORDER BY seq")] == [
        "E11.9",
        "I10",
    ]


def test_a_held_visit_is_fixed_and_the_nightly_job_stops_exiting_1(cli, practice_db, tmp_path):
    db = practice_db
    # line 2 points at a third diagnosis the encounter does not have: CLAIM-POINTER holds it
    db.execute("UPDATE charge_lines SET dx_pointers = '3' WHERE line_no = 2")
    assert _generate(cli, tmp_path, "night1", expect=1) == []
    assert _generate(cli, tmp_path, "night2", expect=1) == []  # held every night
    r = cli("charge", "correct", "E000001", "--line", "2", "--pointers", "2")
    assert r.exit_code == 0, r.stderr
    assert _generate(cli, tmp_path, "night3") == ["C000001"]
    assert _total(db, "C000001") == 20000 + 3000  # 230.00


def _deny(db, tmp_path: Path, remarks: list[str] | None = None, payer: str = "KEY") -> None:
    """The payer denies C000001 (CLP02 4): paid 0.00, CO-16 230.00 (200.00 + 30.00)."""
    claim = {
        "claim": "C000001",
        "status": "4",
        "charge": "230.00",
        "paid": "0.00",
        "pcn": f"{payer}-1",
        "cas": [["CO", "16", "230.00"]],
        "remarks": remarks or ["M51"],
    }
    path = tmp_path / "DENY.835"
    path.write_text(ls.remit_text({"payer": payer, "trace": "DENY1", "on": "D", "claims": [claim]}))
    assert [t.result for t in post.import_files(db, [path]).transactions] == ["posted"]


def test_a_billed_encounter_is_corrected_then_replaced_with_every_line(cli, practice_db, tmp_path):
    db = practice_db
    assert _generate(cli, tmp_path, "r1") == ["C000001"]
    _deny(db, tmp_path)
    r = cli("charge", "correct", "E000001", "--line", "1", "--modifier", "25")
    assert r.exit_code == 2 and "C000001" in r.stderr and "--reason" in r.stderr, r.stderr
    assert _count(db, "charge_corrections") == 0
    r = cli(
        "charge",
        "correct",
        "E000001",
        "--line",
        "1",
        "--modifier",
        "25",
        "--dx",
        "E11.65",
        "--dx",
        "I10",
        "--reason",
        "CO-16 M51: modifier 25 missing",
        "-f",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    assert (res["claim"], res["claim_status"], res["changed"]) == (
        "C000001",
        "denied",
        "modifiers,diagnoses",
    )
    assert "invoice replace C000001" in r.stderr
    # the issued claim is untouched: its lines are what was billed
    assert _lines(db, "C000001") == [("99214", "", 1, 20000), ("36415", "", 1, 3000)]
    r = cli("invoice", "replace", "C000001")
    assert r.exit_code == 0, r.stderr
    # 230.00 open on C000001 moves once: C000001 230.00 - 230.00 = 0.00, C000002 230.00
    assert (_balance(db, "C000001"), _balance(db, "C000002")) == (23000 - 23000, 23000)
    assert _lines(db, "C000002") == [("99214", "25", 1, 20000), ("36415", "", 1, 3000)]
    assert _generate(cli, tmp_path, "r2") == ["C000002"]
    text = _edi(tmp_path, "r2")
    assert "CLM*C000002*230***11:B:7*" in text and "REF*F8*KEY-1~" in text
    assert "HI*ABK:E1165*ABF:I10~" in text and "E119" not in text  # the corrected diagnosis
    assert "SV1*HC:99214:25*200*" in text and "SV1*HC:36415*30*" in text  # every line
    assert cli("check").exit_code == 0


def test_a_line_removed_from_a_billed_encounter_is_left_out_of_the_replacement(
    cli, practice_db, tmp_path
):
    db = practice_db
    _generate(cli, tmp_path, "r1")
    _deny(db, tmp_path)
    r = cli("charge", "remove", "E000001", "--line", "2", "--reason", "CO-97: bundled")
    assert r.exit_code == 0, r.stderr
    assert cli("invoice", "replace", "C000001").exit_code == 0
    assert _lines(db, "C000002") == [("99214", "", 1, 20000)]
    # 230.00 - 230.00 = 0.00 on C000001; C000002 carries the 200.00 line only
    assert (_balance(db, "C000001"), _balance(db, "C000002")) == (0, 20000)


def test_a_voided_claim_cannot_be_corrected(cli, practice_db, tmp_path):
    db = practice_db
    _generate(cli, tmp_path, "r1")
    assert cli("invoice", "void", "C000001", "--reason", "billed in error").exit_code == 0
    r = cli("charge", "correct", "E000001", "--line", "1", "--modifier", "25", "--reason", "x")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "C000001 is voided" in r.stderr
    assert _count(db, "charge_corrections") == 0


def test_ma130_is_resubmitted_as_a_new_claim(cli, practice_db, tmp_path):
    db = practice_db
    with dbmod.write(db):  # the patient's coverage is Medicare Part B
        db.execute("UPDATE coverages SET payer_id = (SELECT id FROM payers WHERE code = 'MCR')")
    _generate(cli, tmp_path, "r1")
    _deny(db, tmp_path, remarks=["MA130"], payer="MCR")
    assert cli("invoice", "list", "-f", "json").stdout.count('"unprocessable"') == 1
    r = cli("charge", "correct", "E000001", "--dx", "E11.65", "--dx", "I10", "--reason", "MA130")
    assert r.exit_code == 0 and "invoice resubmit C000001" in r.stderr, r.stderr
    r = cli("invoice", "resubmit", "C000001", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["frequency"] == "1"
    # 230.00 moves once: off C000001 (230.00 - 230.00), onto C000002
    assert (_balance(db, "C000001"), _balance(db, "C000002")) == (0, 23000)
    status = dict(
        db.execute(
            "SELECT i.number, s.status FROM invoice_status s JOIN invoices i ON i.id = s.invoice_id"
        )
    )
    assert status["C000001"] == "corrected"
    assert _generate(cli, tmp_path, "r2") == ["C000002"]
    text = _edi(tmp_path, "r2")
    assert "CLM*C000002*230***11:B:1*" in text and "REF*F8" not in text  # new, not a replacement
    assert "HI*ABK:E1165*ABF:I10~" in text
    r = cli("check")
    assert r.exit_code == 0, r.stdout
    r = cli("invoice", "resubmit", "C000001")
    assert r.exit_code == 2 and "C000001 is already corrected" in r.stderr, r.stderr
    assert cli("check").exit_code == 0


def test_only_an_unprocessable_claim_is_resubmitted(cli, practice_db, tmp_path):
    db = practice_db
    _generate(cli, tmp_path, "r1")
    _deny(db, tmp_path)
    before = _count(db, "invoices")
    r = cli("invoice", "resubmit", "C000001")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "C000001 is denied, not unprocessable" in r.stderr and "invoice replace" in r.stderr
    assert _count(db, "invoices") == before


def test_corrections_are_append_only(cli, practice_db):
    db = practice_db
    assert cli("charge", "correct", "E000001", "--line", "2", "--units", "3").exit_code == 0
    with pytest.raises(Exception, match="append-only"):
        db.execute("UPDATE charge_corrections SET reason = 'x'")
    with pytest.raises(Exception, match="append-only"):
        db.execute("DELETE FROM charge_corrections")


def test_charge_list_shows_lines_status_and_claim(cli, practice_db, tmp_path):
    _generate(cli, tmp_path, "r1")
    r = cli("charge", "list", "E000001", "-f", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(x["line_no"], x["code"], x["status"], x["claim"]) for x in rows] == [
        (1, "99214", "billed", "C000001"),
        (2, "36415", "billed", "C000001"),
    ]
    assert "E11.9" in r.stderr


def test_import_update_of_a_billed_encounter_says_charge_correct(cli, practice_db, tmp_path):
    _generate(cli, tmp_path, "r1")
    f = ls.write_csv(
        tmp_path / "charges.csv",
        ["Encounter", "MRN", "DOS", "Rendering NPI", "POS", "Line", "Code", "Mod1", "Dx1", "Dx2"]
        + ["Pointers", "Units", "Charge"],
        [
            ["E000001", "K0001", DOS, fx.npi.make("162738495"), "11", 1, "99214", "25"]
            + ["E11.9", "I10", "1", 1, "200.00"]
        ],
    )
    for extra in ([], ["--update"]):
        r = cli("import", "charges", f, *extra)
        assert "billadmin charge correct" in r.stderr, r.stderr
        assert "(use --update)" not in r.stderr
