"""Denial worklist (categories, amounts, deadlines, next steps) and appeals with PDF letters."""

import json

import ledger_fixtures as lf
import pytest

from billadmin import audit
from billadmin import db as dbmod

AS_OF = "2026-11-26"


@pytest.fixture
def claims(db):
    """C1 KEY fully denied CO-16 (missing info); C2 MCR partly denied CO-50 on line 2; C3 MCR paid;
    C4 KEY duplicate CO-18; C5 KEY denied then reversed; C6 KEY CO-27 eligibility; C7 MCR CO-50
    denied long ago (appeal deadline passed)."""
    with dbmod.write(db):
        lf.practice(db)
        pid = lf.patient(db, "0000101", "Rosa", "Keller", "1948-02-03")
        lf.coverage(db, pid, "MCR", "2013-02-01", member="1EG4TE5MK72")
        lf.coverage(db, pid, "KEY", "2013-02-01", priority=2, member="K555")
        ids = {}

        def mk(name, payer, dos, lines):
            eid, _ = lf.encounter(db, pid, dos, lines)
            ids[name] = lf.claim(db, eid, payer, dos)

        mk("C1", "KEY", "2026-08-01", [("99214", 20000), ("93000", 10000)])
        lf.remit(db, ids["C1"], "2026-09-01", adjustments=[("CO", "16", 30000)])
        mk("C2", "MCR", "2026-07-01", [("99213", 10000), ("71046", 10000)])
        lf.remit(
            db,
            ids["C2"],
            "2026-08-01",
            paid=8000,
            adjustments=[("CO", "45", 2000), ("CO", "50", 10000)],
        )
        mk("C3", "MCR", "2026-07-02", [("99213", 10000)])
        lf.remit(db, ids["C3"], "2026-08-01", paid=8000, adjustments=[("CO", "45", 2000)])
        mk("C4", "KEY", "2026-07-03", [("99213", 14000)])
        lf.remit(db, ids["C4"], "2026-08-05", adjustments=[("CO", "18", 14000)])
        mk("C5", "KEY", "2026-07-04", [("99213", 14000)])
        lf.remit(db, ids["C5"], "2026-08-05", adjustments=[("CO", "16", 14000)])
        lf.remit(db, ids["C5"], "2026-08-20", adjustments=[("CO", "16", -14000)], status="reversed")
        mk("C6", "KEY", "2026-07-05", [("99212", 9000)])
        lf.remit(db, ids["C6"], "2026-08-06", adjustments=[("CO", "27", 9000)])
        mk("C7", "MCR", "2026-03-02", [("99215", 29000)])
        lf.remit(db, ids["C7"], "2026-05-01", adjustments=[("CO", "50", 29000)])
    nums = {
        k: db.execute("SELECT number FROM invoices WHERE id = ?", (v,)).fetchone()[0]
        for k, v in ids.items()
    }
    return nums


def _worklist(cli, *args):
    r = cli("denial", "list", "--as-of", AS_OF, "-f", "json", *args)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_worklist_rows_order_and_next_steps(cli, claims):
    rows = _worklist(cli)
    n = {v: k for k, v in claims.items()}
    assert [n[r["invoice"]] for r in rows] == ["C2", "C1", "C4", "C6", "C7"]
    by = {n[r["invoice"]]: r for r in rows}
    c2 = by["C2"]
    assert (c2["denial"], c2["carcs"], c2["category"], c2["at_stake"]) == (
        "partial",
        "CO-50",
        "medical_necessity",
        "100.00",
    )
    assert (c2["appeal_deadline"], c2["next_step"], c2["deadline"], c2["days_left"]) == (
        "2026-11-29",
        "appeal",
        "2026-11-29",
        3,
    )
    c1 = by["C1"]
    # KEY: 180 days timely filing from DOS 2026-08-01 -> corrected claim by 2027-01-28
    assert (c1["denial"], c1["category"], c1["at_stake"], c1["next_step"], c1["deadline"]) == (
        "full",
        "missing_information",
        "300.00",
        "correct and resubmit",
        "2027-01-28",
    )
    assert c1["meaning"].startswith("Claim lacks information")
    assert by["C4"]["next_step"] == "write off" and by["C6"]["next_step"] == "bill patient"
    assert (
        by["C7"]["next_step"] == "write off (appeal deadline passed)"
        and by["C7"]["appeal_deadline"] == "2026-08-29"
    )


def test_worklist_filters_and_summary(cli, claims):
    assert {r["payer"] for r in _worklist(cli, "--payer", "MCR")} == {"MCR"}
    assert {r["invoice"] for r in _worklist(cli, "--from", "2026-08-06")} == {
        claims["C1"],
        claims["C6"],
    }
    r = cli("denial", "list", "--as-of", AS_OF)
    assert "5 denied claim(s), 920.00 at stake" in r.stderr  # 300 + 100 + 140 + 90 + 290


def test_payer_appeal_limit_moves_deadline(cli, claims):
    assert cli("payer", "set", "MCR", "--appeal-days", "180").exit_code == 0
    c2 = [r for r in _worklist(cli) if r["invoice"] == claims["C2"]][0]
    assert c2["appeal_deadline"] == "2027-01-28"


def test_appeal_create_letter_and_lifecycle(cli, claims, db, tmp_path):
    from pypdf import PdfReader

    pdf = tmp_path / "letters" / "appeal.pdf"
    r = cli(
        "appeal",
        "create",
        claims["C2"],
        "--reason",
        "Chest X-ray ordered for documented dyspnea; notes attached.",
        "-o",
        pdf,
        "--date",
        AS_OF,
        "-f",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    a = json.loads(r.stdout)
    assert (a["appeal"], a["level"], a["status"], a["deadline"], a["at_stake"], a["carcs"]) == (
        1,
        1,
        "draft",
        "2026-11-29",
        "100.00",
        "CO-50",
    )
    text = "\n".join(p.extract_text() for p in PdfReader(pdf).pages)
    for s in (
        claims["C2"],
        "Medicare Part B",
        "CO-50",
        "Not medically necessary",
        "dyspnea",
        "Keller, Rosa",
        "1EG4TE5MK72",
        "Request for redetermination",
        "Test Family Practice",
        "$200.00",
    ):
        assert s in text, s
    assert oct(pdf.stat().st_mode & 0o777) == "0o600"
    # one open appeal per claim
    r = cli(
        "appeal",
        "create",
        claims["C2"],
        "--reason",
        "Second try at the same thing",
        "--date",
        AS_OF,
    )
    assert r.exit_code == 2 and "already has appeal #1" in r.stderr
    # the worklist now says to submit it
    c2 = [x for x in _worklist(cli) if x["invoice"] == claims["C2"]][0]
    assert c2["next_step"] == "submit appeal #1"
    r = cli("appeal", "update", "1", "--status", "won")
    assert r.exit_code == 2 and "cannot become won" in r.stderr
    r = cli(
        "appeal", "update", "1", "--status", "submitted", "--date", "2026-11-27", "--note", "faxed"
    )
    assert r.exit_code == 0, r.stderr
    st = db.execute(
        "SELECT s.status FROM invoice_status s JOIN invoices i ON i.id = s.invoice_id WHERE i.number = ?",
        (claims["C2"],),
    ).fetchone()[0]
    assert st == "appealed"
    c2 = [x for x in _worklist(cli) if x["invoice"] == claims["C2"]][0]
    assert c2["next_step"] == "follow up appeal #1" and c2["deadline"] is None
    assert cli("appeal", "update", "1", "--status", "lost").exit_code == 0
    assert cli("appeal", "update", "1", "--status", "won").exit_code == 2
    rows = json.loads(cli("appeal", "list", "-f", "json").stdout)
    assert [(x["appeal"], x["status"], x["submitted_on"]) for x in rows] == [
        (1, "lost", "2026-11-27")
    ]
    # after a lost first level the next appeal is level 2 (reconsideration)
    r = cli(
        "appeal",
        "create",
        claims["C2"],
        "--reason",
        "Requesting reconsideration with the radiology report.",
        "--date",
        AS_OF,
        "-f",
        "json",
    )
    assert r.exit_code == 0 and json.loads(r.stdout)["level"] == 2
    assert (tmp_path / f"appeal-{claims['C2']}-2.pdf").exists()
    assert audit.verify(db) == []


def test_appeal_refusals(cli, claims, db):
    r = cli("appeal", "create", claims["C3"], "--reason", "It was paid, nothing to appeal here")
    assert r.exit_code == 2 and "no open denial" in r.stderr
    r = cli(
        "appeal",
        "create",
        claims["C7"],
        "--reason",
        "Medical records show necessity",
        "--date",
        AS_OF,
    )
    assert (
        r.exit_code == 2
        and "deadline" in r.stderr
        and "2026-08-29" in r.stderr
        and "--late" in r.stderr
    )
    assert db.execute("SELECT COUNT(*) FROM appeals").fetchone()[0] == 0
    r = cli(
        "appeal",
        "create",
        claims["C7"],
        "--reason",
        "Medical records show necessity",
        "--date",
        AS_OF,
        "--late",
    )
    assert r.exit_code == 0, r.stderr
    r = cli("appeal", "create", claims["C1"], "--reason", "short")
    assert r.exit_code == 2 and "at least 10" in r.stderr
    r = cli("appeal", "create", "C999999", "--reason", "No such claim anywhere")
    assert r.exit_code == 2 and "no invoice" in r.stderr
    r = cli("appeal", "update", "99", "--status", "submitted")
    assert r.exit_code == 2 and "no appeal #99" in r.stderr
    r = cli("appeal", "update", "1", "--status", "maybe")
    assert r.exit_code == 2


def test_denials_report_by_carc_and_category(cli, claims, tmp_path):
    r = cli(
        "report", "denials", "--from", "2026-06-01", "--to", AS_OF, "--by", "carc", "-f", "json"
    )
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    # C5's CO-16 was reversed (140 - 140); C7's CO-50 is before the period
    assert [(x["carc"], x["claims"], x["denied"]) for x in rows] == [
        ("CO-16", 2, "300.00"),
        ("CO-18", 1, "140.00"),
        ("CO-50", 1, "100.00"),
        ("CO-27", 1, "90.00"),
        ("TOTAL", 5, "630.00"),
    ]
    assert rows[0]["meaning"].startswith("Claim lacks information")
    cats = json.loads(
        cli("report", "denials", "--from", "2026-06-01", "--to", AS_OF, "-f", "json").stdout
    )
    assert [(x["category"], x["share_pct"]) for x in cats] == [
        ("missing_information", "47.6"),
        ("duplicate", "22.2"),
        ("medical_necessity", "15.9"),
        ("eligibility", "14.3"),
        ("TOTAL", "100.0"),
    ]
    payers = json.loads(
        cli(
            "report",
            "denials",
            "--from",
            "2026-06-01",
            "--to",
            AS_OF,
            "--by",
            "payer",
            "-f",
            "json",
        ).stdout
    )
    assert [(x["payer"], x["denied"]) for x in payers] == [
        ("KEY", "530.00"),
        ("MCR", "100.00"),
        ("TOTAL", "630.00"),
    ]
    from openpyxl import load_workbook

    p = tmp_path / "d.xlsx"
    assert (
        cli(
            "report", "denials", "--from", "2026-06-01", "--to", AS_OF, "-f", "xlsx", "-o", p
        ).exit_code
        == 0
    )
    wb = load_workbook(p)
    assert wb.sheetnames == [
        "Denials by category",
        "Denials by payer",
        "Denials by code",
        "Denials by provider",
        "Denials by carc",
    ]
    assert len(wb["Denials by category"]._charts) == 1
    assert cli("report", "denials", "--by", "weekday").exit_code == 2


def test_replaced_or_voided_claims_leave_the_worklist(cli, claims, db):
    c1 = db.execute("SELECT id FROM invoices WHERE number = ?", (claims["C1"],)).fetchone()[0]
    c4 = db.execute(
        "SELECT id, encounter_id FROM invoices WHERE number = ?", (claims["C4"],)
    ).fetchone()
    with dbmod.write(db):
        lf.credit_note(db, c1, "2026-11-20")  # voided
        lf.claim(
            db, c4[1], "KEY", "2026-11-21", frequency="7", original=c4[0]
        )  # corrected claim sent
    left = {r["invoice"] for r in _worklist(cli)}
    assert claims["C1"] not in left and claims["C4"] not in left and claims["C2"] in left


@pytest.mark.parametrize("payer_has_address", [True, False], ids=["payer-record", "835-N3-N4"])
def test_appeal_letter_carries_the_payers_address(cli, db, tmp_path, payer_has_address):
    """The letter's address block: the payer record's address, else the one the payer's 835
    gave (N1*PR N3/N4, kept with the posted transaction)."""
    from pypdf import PdfReader
    from test_remit_support import Remit, issue_claim

    issue_claim(db, "C000001", [("99213", "", "140.00")])
    if payer_has_address:
        with dbmod.write(db):
            db.execute(
                "UPDATE payers SET address1 = 'PO Box 7001', city = 'Dayton', state = 'OH',"
                " zip = '45401' WHERE code = 'KEY'"
            )
    r = Remit().claim("C000001", "4", "140", "0", cas=[("CO", "50", "140")])
    assert cli("remit", "import", r.write(tmp_path / "d.835")).exit_code == 0
    assert db.execute(
        "SELECT payer_address1, payer_city, payer_state, payer_zip FROM remit_transactions"
    ).fetchall() == [("1 MAIN ST", "COLUMBUS", "OH", "43215")]
    pdf = tmp_path / "appeal.pdf"
    r = cli(
        "appeal", "create", "C000001", "--reason", "Documented.", "-o", pdf, "--date", "2026-03-20"
    )
    assert r.exit_code == 0, r.stderr
    text = "\n".join(p.extract_text() for p in PdfReader(pdf).pages)
    head = text.split("RE: ")[0]  # the address block, above the subject line
    assert "KEY Insurance\nAppeals" in head
    if payer_has_address:
        assert "PO Box 7001" in head and "Dayton, OH 45401" in head and "1 MAIN ST" not in text
    else:
        assert "1 MAIN ST" in head and "COLUMBUS, OH 43215" in head


def _claim_status(db, number: str) -> str:
    return db.execute(
        "SELECT s.status FROM invoice_status s JOIN invoices i ON i.id = s.invoice_id"
        " WHERE i.number = ?",
        (number,),
    ).fetchone()[0]


def test_appeal_moves_the_claim_and_a_lost_one_puts_it_back(cli, claims, db):
    """docs/claim-states.md: an open appeal (draft included) puts the denied claim in
    'appealed'; a lost or withdrawn appeal puts it back to 'denied'; the amount stays open."""
    number = claims["C1"]  # 300.00 denied CO-16
    assert _claim_status(db, number) == "denied"
    r = cli(
        "appeal", "create", number, "--reason", "records attached", "--date", AS_OF, "-f", "json"
    )
    assert r.exit_code == 0, r.stderr
    appeal_id = json.loads(r.stdout)["appeal"]
    assert _claim_status(db, number) == "appealed"
    r = cli("appeal", "update", str(appeal_id), "--status", "withdrawn", "--date", AS_OF)
    assert r.exit_code == 0, r.stderr
    assert _claim_status(db, number) == "denied"
