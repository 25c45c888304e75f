"""Per-payer money on one claim (issue 12): a crossover payer answering with its own 835 on the
claim Medicare forwarded is recorded under its own name, and the per-payer views show it.

The practice and the 835s come from tests/ledger_scenarios.py (the golden suite's tiny practice:
MCR 15202, MCD OHMCD, MGP MGP01). Amounts written by hand from the billing rules:
a 99213 at 120.00; Medicare allows 100.00 (CO-45 20.00), pays 80.00, PR-2 coinsurance 20.00,
CLP02 19 + MA07: forwarded to Medicaid. Medicaid pays 15.00 (CO-45 5.00: its rate is payment in
full; OA-23 100.00 is Medicare's impact, explained, not posted).
"""

from __future__ import annotations

import json
from pathlib import Path

import ledger_scenarios as ls
import pytest
from typer.testing import CliRunner

MEDICARE_835 = {
    "payer": "MCR",
    "on": "D+14",
    "trace": "EFT5501",
    "claims": [
        {
            "claim": "C000001",
            "status": "19",
            "charge": "120.00",
            "paid": "80.00",
            "pr": "20.00",
            "pcn": "MCR-5501",
            "remarks": ["MA07"],
            "crossover": "STATE MEDICAID",
            "lines": [
                {
                    "code": "99213",
                    "charge": "120.00",
                    "paid": "80.00",
                    "cas": [["CO", "45", "20.00"], ["PR", "2", "20.00"]],
                }
            ],
        }
    ],
}
MEDICAID_835 = {
    "payer": "MCD",
    "on": "D+40",
    "trace": "EFT5502",
    "claims": [
        {
            "claim": "C000001",
            "status": "2",
            "charge": "120.00",
            "paid": "15.00",
            "pcn": "MCD-5502",
            "lines": [
                {
                    "code": "99213",
                    "charge": "120.00",
                    "paid": "15.00",
                    "cas": [["OA", "23", "100.00"], ["CO", "45", "5.00"]],
                }
            ],
        }
    ],
}


class Desk:
    def __init__(self, folder: Path):
        from billadmin.cli import app

        self.app, self.folder, self.db = app, folder, folder / "ledger.db"
        self.runner = CliRunner()

    def run(self, *args, expect: int = 0):
        res = self.runner.invoke(self.app, ["--db", str(self.db), *map(str, args)])
        assert res.exit_code == expect, (args, res.stdout[-2000:], res.stderr[-2000:])
        return res

    def json(self, *args):
        return json.loads(self.run(*args, "--format", "json").stdout)

    def remit(self, step: dict) -> None:
        f = self.folder / f"{step['trace']}.835"
        f.write_text(ls.remit_text(step))
        self.run("remit", "import", f)


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    d = Desk(tmp_path)
    d.run("init")
    d.run(*ls.PRACTICE_ARGS)
    for kind, f in ls.base_practice_files(tmp_path):
        d.run("import", kind, f)
    patients = [
        {
            "mrn": "G5501",
            "coverages": [
                {"payer": "MCR", "member": "1EG4TE5MK55", "priority": "primary"},
                {"payer": "MCD", "member": "MCD005501", "priority": "secondary"},
            ],
        }
    ]
    for kind, f in ls.patient_files(tmp_path, patients):
        d.run("import", kind, f)
    enc = [{"encounter": "E5501", "mrn": "G5501", "dos": "D-4", "lines": [["99213", "120.00"]]}]
    d.run("import", "charges", ls.charges_file(tmp_path / "charges.csv", enc))
    d.run("invoice", "generate", "--through", ls.DAY0, "--out", tmp_path / "out", "--no-pdf")
    return d


def _cents(row: dict) -> dict:
    """A JSON row with its money back in cents (render prints "80.00" under "paid")."""
    money = ("paid", "adjusted", "patient_resp", "denied", "payments", "balance", "amount")
    return {
        (f"{k}_cents" if k in money else k): (ls.cents(v) if k in money else v)
        for k, v in row.items()
    }


def _per_payer(desk: Desk) -> dict[str, dict]:
    return {r["payer"]: _cents(r) for r in desk.json("invoice", "show", "C000001")["payers"]}


def test_crossover_payer_money_is_its_own(desk: Desk) -> None:
    desk.remit(MEDICARE_835)
    got = _per_payer(desk)
    assert list(got) == ["MCR"]
    assert got["MCR"]["paid_cents"] == 8000  # 80.00
    assert got["MCR"]["adjusted_cents"] == 2000  # CO-45 20.00
    assert got["MCR"]["patient_resp_cents"] == 2000  # PR-2 20.00, crossed over to Medicaid

    desk.remit(MEDICAID_835)
    got = _per_payer(desk)
    assert list(got) == ["MCR", "MCD"]
    # Medicare's answer unchanged by Medicaid's
    assert (got["MCR"]["paid_cents"], got["MCR"]["adjusted_cents"]) == (8000, 2000)
    # Medicaid: 15.00 paid, CO-45 5.00; OA-23 100.00 is Medicare's impact (not posted)
    assert got["MCD"]["paid_cents"] == 1500
    assert got["MCD"]["adjusted_cents"] == 500
    assert got["MCD"]["patient_resp_cents"] == 0
    show = _cents(desk.json("invoice", "show", "C000001"))
    # the claim's own totals are the payers' sum: 120.00 - (80.00 + 15.00) - (20.00 + 5.00) = 0
    assert show["paid_cents"] == 8000 + 1500
    assert show["balance_cents"] == 0 and show["status"] == "paid"

    # the payer mix counts each payer's money under its own name: 80.00 and 15.00
    mix = {
        r["payer"]: _cents(r)
        for r in desk.json(
            "report",
            "payer-mix",
            "--from",
            ls.day("D-10"),
            "--to",
            ls.day("D+60"),
        )
    }
    assert mix["MCR"]["payments_cents"] == 8000
    assert mix["MCD"]["payments_cents"] == 1500
    # the account's payments name who paid
    acct = desk.json("account", "show", "G5501", "--as-of", ls.day("D+40"))
    froms = sorted((p["from"], ls.cents(p["amount"])) for p in acct["payments"])
    assert froms == [("MCD", 1500), ("MCR", 8000)]
    desk.run("check")


def test_account_names_the_crossover_payer(desk: Desk) -> None:
    acct = desk.json("account", "show", "G5501", "--as-of", ls.day("D+1"))
    assert [r["crossed_over_to"] for r in acct["invoices"]] == [None]
    desk.remit(MEDICARE_835)
    acct = desk.json("account", "show", "G5501", "--as-of", ls.day("D+14"))
    row = next(r for r in acct["invoices"] if r["invoice"] == "C000001")
    assert row["status"] == "crossed_over" and row["crossed_over_to"] == "MCD"
    assert row["payer"] == "MCR"  # still Medicare's claim


def test_same_payer_id_keeps_the_claims_payer(desk: Desk) -> None:
    """A payer sharing the claim payer's electronic id (two plans of one carrier) is not taken
    for a crossover payer: the money stays the claim payer's."""
    f = ls.write_csv(
        desk.folder / "more-payers.csv",
        ["Code", "Name", "Kind", "Payer ID", "Timely Filing Days", "Timely Filing Months"],
        [["MCRB", "Medicare Part B Two", "medicare", "15202", "", "12"]],
    )
    desk.run("import", "payers", f)
    desk.remit(MEDICARE_835)
    assert {k: v["paid_cents"] for k, v in _per_payer(desk).items()} == {"MCR": 8000}


# -- COB routing: the crossover payer the 835 names (NM1*TT) --------------------------------------


@pytest.fixture
def three_payers(tmp_path: Path) -> Desk:
    """Medicare primary, Medigap secondary, Medicaid third on the date of service: the next
    coverage after Medicare is Medigap, so a crossover to Medicaid shows whether the payer named
    in NM1*TT or the next coverage was taken."""
    d = Desk(tmp_path)
    d.run("init")
    d.run(*ls.PRACTICE_ARGS)
    for kind, f in ls.base_practice_files(tmp_path):
        d.run("import", kind, f)
    covs = [
        {"payer": "MCR", "member": "1EG4TE5MK56", "priority": "primary"},
        {"payer": "MGP", "member": "MGP005601", "priority": "secondary"},
        {"payer": "MCD", "member": "MCD005601", "priority": "tertiary"},
    ]
    for kind, f in ls.patient_files(tmp_path, [{"mrn": "G5601", "coverages": covs}]):
        d.run("import", kind, f)
    enc = [{"encounter": "E5601", "mrn": "G5601", "dos": "D-4", "lines": [["99213", "120.00"]]}]
    d.run("import", "charges", ls.charges_file(tmp_path / "charges.csv", enc))
    d.run("invoice", "generate", "--through", ls.DAY0, "--out", tmp_path / "out", "--no-pdf")
    return d


def _forward(desk: Desk, crossover: str | None, ident: str = "XOVER1") -> str:
    """Medicare's 835 forwarding C000001 (the amounts of MEDICARE_835), NM1*TT as given;
    returns the crossed_over event's note."""
    claim = {**MEDICARE_835["claims"][0], "crossover": crossover}
    text = ls.remit_text({**MEDICARE_835, "claims": [claim]}).replace("*XOVER1~", f"*{ident}~")
    f = desk.folder / "fwd.835"
    f.write_text(text)
    desk.run("remit", "import", f)
    hist = desk.json("invoice", "show", "C000001")["history"]
    return [h["note"] for h in hist if h["status"] == "crossed_over"][-1]


def _waits_on(desk: Desk) -> str | None:
    acct = desk.json("account", "show", "G5601", "--as-of", ls.day("D+14"))
    return next(r["crossed_over_to"] for r in acct["invoices"] if r["invoice"] == "C000001")


def test_crossover_by_name_is_the_named_payer_not_the_next(three_payers: Desk) -> None:
    note = _forward(three_payers, "STATE MEDICAID")
    assert _waits_on(three_payers) == "MCD"  # not MGP, the next coverage
    assert note.startswith("crossed over to STATE MEDICAID (NM1*TT) = MCD;")
    three_payers.run("check")


def test_crossover_by_payer_id(three_payers: Desk) -> None:
    _forward(three_payers, "DEPT OF JOB AND FAMILY SVCS", ident="OHMCD")
    assert _waits_on(three_payers) == "MCD"


def test_crossover_to_no_known_payer_assumes_the_next_and_says_so(three_payers: Desk) -> None:
    note = _forward(three_payers, "ACME SUPPLEMENTAL CO")
    assert _waits_on(three_payers) == "MGP"
    assert "no coverage of the patient: assumed the next coverage (MGP)" in note
