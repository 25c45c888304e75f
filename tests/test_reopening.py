"""Payers that correct adjudicated claims by reopening (issue 12; accounts.rules): Medicare Part
B takes no replacement claim (frequency 7) for a claim it processed; the clerk requests a
reopening (CMS Pub. 100-04 ch. 34) and billadmin says so; `payer set --corrections` changes it.
The tiny practice of tests/ledger_scenarios.py: MCR (Medicare Part B), KEY (commercial)."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import ledger_scenarios as ls
import pytest
from typer.testing import CliRunner


class Desk:
    def __init__(self, folder: Path):
        from billadmin.cli import app

        self.app, self.folder, self.db = app, folder, folder / "reopen.db"
        self.runner = CliRunner()

    def run(self, *args, expect: int = 0):
        res = self.runner.invoke(self.app, ["--db", str(self.db), *map(str, args)])
        assert res.exit_code == expect, (args, res.stdout[-2000:], res.stderr[-2000:])
        return res

    def json(self, *args):
        return json.loads(self.run(*args, "--format", "json").stdout)

    def count(self, sql: str) -> int:
        from billadmin import db as dbmod

        conn = dbmod.connect(self.db)
        try:
            return conn.execute(sql).fetchone()[0]
        finally:
            conn.close()


def _desk(tmp_path: Path, payer: str) -> Desk:
    d = Desk(tmp_path)
    d.run("init")
    d.run(*ls.PRACTICE_ARGS)
    for kind, f in ls.base_practice_files(tmp_path):
        d.run("import", kind, f)
    pts = [{"mrn": "G7701", "coverages": [{"payer": payer, "member": "1EG4TE5MK77"}]}]
    for kind, f in ls.patient_files(tmp_path, pts):
        d.run("import", kind, f)
    enc = [{"encounter": "E7701", "mrn": "G7701", "dos": "D-4", "lines": [["99213", "120.00"]]}]
    d.run("import", "charges", ls.charges_file(tmp_path / "charges.csv", enc))
    d.run("invoice", "generate", "--through", ls.DAY0, "--out", tmp_path / "out", "--no-pdf")
    return d


def _deny(d: Desk, payer: str, remarks: list[str]) -> None:
    """The payer denies C000001 in full on D+14: CO-16 120.00 (missing information)."""
    step = {
        "payer": payer,
        "on": "D+14",
        "trace": "DENY77",
        "claims": [
            {
                "claim": "C000001",
                "status": "4",
                "charge": "120.00",
                "paid": "0.00",
                "pcn": f"{payer}-7701",
                "cas": [["CO", "16", "120.00"]],
                "remarks": remarks,
            }
        ],
    }
    f = d.folder / "deny.835"
    f.write_text(ls.remit_text(step))
    d.run("remit", "import", f)


@pytest.fixture
def medicare_denied(tmp_path: Path) -> Desk:
    d = _desk(tmp_path, "MCR")
    _deny(d, "MCR", ["M51"])
    return d


def test_medicare_defaults_to_reopening(medicare_denied: Desk) -> None:
    rows = {r["payer"]: r for r in medicare_denied.json("payer", "list")}
    assert rows["MCR"]["corrections"] == "reopening (default)"
    assert rows["KEY"]["corrections"] == "replacement (default)"


def test_replace_of_an_adjudicated_medicare_claim_is_refused(medicare_denied: Desk) -> None:
    d = medicare_denied
    before = (d.count("SELECT COUNT(*) FROM invoices"), d.count("SELECT COUNT(*) FROM audit_log"))
    res = d.run("invoice", "replace", "C000001", "--payer-claim-number", "MCR-7701", expect=2)
    assert "C000001" in res.stderr and "request a reopening" in res.stderr
    assert res.stderr.count("\n") == 1  # one line
    # nothing written: no credit note, no new claim, no audit row
    after = (d.count("SELECT COUNT(*) FROM invoices"), d.count("SELECT COUNT(*) FROM audit_log"))
    assert after == before
    assert d.json("invoice", "show", "C000001")["status"] == "denied"


def test_denial_worklist_says_request_a_reopening(medicare_denied: Desk) -> None:
    [row] = medicare_denied.json("denial", "list", "--as-of", ls.day("D+20"))
    assert row["invoice"] == "C000001"
    assert row["next_step"].startswith("request a reopening")
    denied_on = ls.day("D+14")
    # one year from the determination (42 CFR 405.980(b)(1)); by hand, not by our date helper
    try:
        year_later = denied_on.replace(year=denied_on.year + 1)
    except ValueError:  # Feb 29
        year_later = _dt.date(denied_on.year + 1, 2, 28)
    assert row["deadline"] == year_later.isoformat()


def test_payer_set_corrections_replacement_allows_replace(medicare_denied: Desk) -> None:
    d = medicare_denied
    d.run("payer", "set", "MCR", "--corrections", "replacement")
    rows = {r["payer"]: r for r in d.json("payer", "list")}
    assert rows["MCR"]["corrections"] == "replacement"
    audit = d.count(
        "SELECT COUNT(*) FROM audit_log WHERE command = 'payer set'"
        ' AND detail LIKE \'%"corrections": "replacement"%\''
    )
    assert audit == 1
    [row] = d.json("denial", "list", "--as-of", ls.day("D+20"))
    assert row["next_step"] == "correct and resubmit"
    d.run("invoice", "replace", "C000001", "--payer-claim-number", "MCR-7701")
    assert d.json("invoice", "show", "C000001")["status"] == "replaced"


def test_bad_corrections_value_is_refused(medicare_denied: Desk) -> None:
    res = medicare_denied.run("payer", "set", "MCR", "--corrections", "sometimes", expect=2)
    assert "--corrections must be reopening or replacement" in res.stderr


def test_unprocessable_is_resubmitted_not_replaced(tmp_path: Path) -> None:
    """MA130: returned unprocessable, never adjudicated: replace says to resubmit, and
    resubmit makes the new claim (CMS Pub. 100-04 ch. 1 s. 80.3.2)."""
    d = _desk(tmp_path, "MCR")
    _deny(d, "MCR", ["MA130"])
    assert d.json("invoice", "show", "C000001")["status"] == "unprocessable"
    res = d.run("invoice", "replace", "C000001", expect=2)
    assert "invoice resubmit C000001" in res.stderr
    d.run("invoice", "resubmit", "C000001")
    assert d.json("invoice", "show", "C000001")["status"] == "corrected"


def test_a_replacement_payer_still_replaces(tmp_path: Path) -> None:
    d = _desk(tmp_path, "KEY")
    _deny(d, "KEY", ["M51"])
    d.run("invoice", "replace", "C000001", "--payer-claim-number", "KEY-7701")
    shown = d.json("invoice", "show", "C000002")
    assert (shown["frequency"], shown["original"]) == ("7", "C000001")


def test_paper_eob_on_a_resubmitted_claim_is_refused(tmp_path: Path) -> None:
    """A claim resubmitted as a new claim (state 'corrected') takes no EOB, as a voided or
    replaced one does not: its open amount moved to the new claim once."""
    d = _desk(tmp_path, "MCR")
    _deny(d, "MCR", ["MA130"])
    d.run("invoice", "resubmit", "C000001")
    before = d.count("SELECT COUNT(*) FROM payments")
    res = d.run(
        "payment", "eob", "C000001", "--paid", "100.00", "--adjust", "CO-45:20.00",
        "--reference", "EOB77", expect=2,
    )  # fmt: skip
    assert "C000001: the claim is corrected" in res.stderr
    assert d.count("SELECT COUNT(*) FROM payments") == before


def test_import_summary_on_a_billed_encounter_does_not_suggest_update(tmp_path: Path) -> None:
    """Every conflict is on a billed encounter: --update would not apply it either, so the
    summary does not tell the clerk to rerun with it (charge correct is the way)."""
    d = _desk(tmp_path, "KEY")
    enc = [{"encounter": "E7701", "mrn": "G7701", "dos": "D-4", "lines": [["99214", "150.00"]]}]
    f = ls.charges_file(tmp_path / "changed.csv", enc)
    for extra in ([], ["--update"]):
        res = d.run("import", "charges", f, *extra, expect=1)
        assert "charge correct" in res.stderr
        assert "rerun with --update" not in res.stderr
        assert "--update would not apply them either" in res.stderr
