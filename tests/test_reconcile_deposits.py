"""`reconcile remits --deposits` on a bank file as banks export it: EFTs with their trace, a
deposit covering several 835s, an 835 paid in several deposits (with and without the trace),
deposits without a trace matched by payer, amount and date window, card batches against the
day's card payments, and what stays unmatched listed with its reason (never a refused file).

Every expected match is worked by hand in the fixture's comments."""

from __future__ import annotations

import csv
import datetime as _dt
import json

import pytest
from test_remit_support import Remit, ensure_party

from billadmin import audit
from billadmin import db as dbmod
from billadmin.reconcile import deposits as dep


def _835(tmp_path, cli, name, trace, amount, date, payer="KEYSTONE COMMERCIAL", tin="1812345678"):
    r = Remit(trace=trace, date=date, payer=payer, payer_tin=tin).claim(
        f"X-{trace}", "1", amount, amount
    )
    res = cli("remit", "import", r.write(tmp_path / f"{name}.835"))
    assert res.exit_code in (0, 1), res.output


@pytest.fixture
def bank(db, cli, tmp_path):
    # the 835s (BPR02 = the one claim's payment), by trace and payment date
    _835(tmp_path, cli, "a", "EFT1", "220.00", "20260314")  # traced deposit: matched by trace
    _835(tmp_path, cli, "b", "EFT2", "100.00", "20260314")  # } one deposit of 150.00 for both
    _835(tmp_path, cli, "c", "EFT3", "50.00", "20260315")  # }
    _835(tmp_path, cli, "d", "EFT4", "300.00", "20260314")  # two traced deposits 200 + 100
    _835(tmp_path, cli, "e", "EFT5", "80.00", "20260315")  # no-trace deposit "KEYSTONE" 80.00
    _835(
        tmp_path, cli, "f", "EFT8", "80.00", "20260315", payer="SUMMIT HEALTH", tin="1999999999"
    )  # no-trace deposit "SUMMIT HEALTH" 80.00: this one, not EFT5
    _835(tmp_path, cli, "g", "EFT6", "90.00", "20260314")  # two no-trace deposits 60 + 30
    _835(tmp_path, cli, "h", "EFT7", "45.00", "20260301")  # deposit of 45.00 19 days later
    # the ledger's card payments: 25.00 + 40.00 on 03-16 (one batch of 65.00), 12.34 on 03-18
    _, patient = ensure_party(db)
    with dbmod.write(db):
        for cents, day in ((2500, "2026-03-16"), (4000, "2026-03-16"), (1234, "2026-03-18")):
            db.execute(
                "INSERT INTO payments (kind, patient_id, amount_cents, method, received_on,"
                " created_at) VALUES ('patient', ?, ?, 'card', ?, ?)",
                (patient, cents, day, audit.utcnow()),
            )
    path = tmp_path / "bank.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Date", "Description", "Trace", "Credit"])
        w.writerows(
            [
                ("2026-03-16", "HCCLAIMPMT KEYSTONE COMMERCIAL", "EFT1", "220.00"),  # row 2
                ("2026-03-16", "HCCLAIMPMT KEYSTONE COMMERCIAL", "", "150.00"),  # row 3
                ("2026-03-16", "HCCLAIMPMT KEYSTONE COMMERCIAL", "EFT4", "200.00"),  # row 4
                ("2026-03-17", "HCCLAIMPMT KEYSTONE COMMERCIAL", "EFT4", "100.00"),  # row 5
                ("2026-03-17", "HCCLAIMPMT SUMMIT HEALTH", "", "80.00"),  # row 6: EFT8
                ("2026-03-17", "HCCLAIMPMT KEYSTONE COMMERCIAL", "", "80.00"),  # row 7: EFT5
                ("2026-03-16", "DEPOSIT", "", "60.00"),  # row 8 } EFT6
                ("2026-03-17", "DEPOSIT", "", "30.00"),  # row 9 }
                ("2026-03-20", "HCCLAIMPMT KEYSTONE COMMERCIAL", "", "45.00"),  # row 10: EFT7?
                ("2026-03-17", "MERCHANT DEPOSIT VISA", "", "65.00"),  # row 11: batch of 03-16
                ("2026-03-19", "MERCHANT DEPOSIT VISA", "", "12.00"),  # row 12: no batch
                ("2026-03-18", "ONLINE TRANSFER FROM SAVINGS", "", "1000.00"),  # row 13
                ("2026-03-18", "HCCLAIMPMT", "EFT404", "99.00"),  # row 14: no such trace
            ]
        )
    return path


def _remits(cli, bank, *extra):
    res = cli(
        "reconcile",
        "remits",
        "--as-of",
        "2026-03-31",
        "--deposits",
        bank,
        "--key",
        "Trace",
        "--amount",
        "Credit",
        "--date",
        "Date",
        "--description",
        "Description",
        "-f",
        "json",
        *extra,
    )
    assert res.exit_code in (0, 1), res.output
    return res, json.loads(res.stdout)


def _matched(db):
    """The matched deposits, as the summary keeps them in the run history."""
    return json.loads(
        db.execute("SELECT summary FROM reconcile_runs ORDER BY id DESC LIMIT 1").fetchone()[0]
    )


def test_deposits_without_trace_groups_and_card_batches(cli, db, bank):
    res, doc = _remits(cli, bank)
    dep_rows = [
        (r["category"], r["trace_number"], r["expected"], r["amount"], r["note"])
        for r in doc["rows"]
        if r["category"] in ("only_in_835", "only_in_bank", "not_from_835", "deposit_duplicate")
    ]
    assert [(c, t, e, a) for c, t, e, a, _ in dep_rows] == [
        ("only_in_835", "EFT7", "45.00", None),  # its deposit came 19 days later (window 5)
        ("only_in_bank", "EFT404", None, "99.00"),
        ("not_from_835", None, None, "45.00"),  # row 10
        ("not_from_835", None, None, "12.00"),  # row 12: no day's card payments make 12.00
        ("not_from_835", None, None, "1000.00"),  # row 13
    ]
    notes = [n for *_, n in dep_rows]
    assert "bank.csv row 10" in notes[2] and "names" in notes[2]
    assert "card deposit" in notes[3] and "bank.csv row 12" in notes[3]
    assert "not from an 835" in notes[4] and "bank.csv row 13" in notes[4]
    s = {(r["category"], r["payer"]): r for r in doc["summary"]}
    # matched: EFT1 (trace), EFT2+EFT3 (group of 150.00), EFT4 (split 200 + 100 by trace),
    # EFT8 and EFT5 (payer, amount, date), EFT6 (split 60 + 30 without trace), card batch 65.00:
    # 220 + 150 + 300 + 80 + 80 + 90 + 65 = 985.00
    m = s[("deposit_matched", "")]
    assert (m["count"], m["expected"], m["amount"]) == (7, "985.00", "985.00")
    by = {p: r["count"] for (c, p), r in s.items() if c == "deposit_matched" and p}
    assert by == {
        "by trace": 1,
        "by group": 1,
        "by split": 2,
        "by payer/amount/date": 2,
        "by card batch": 1,
    }
    assert (s[("not_from_835", "")]["count"], s[("not_from_835", "")]["amount"]) == (3, "1057.00")
    assert "refused" not in res.stderr


def test_matched_deposits_name_their_rows(cli, db, bank, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "r.xlsx"
    res = cli(
        "reconcile", "remits", "--as-of", "2026-03-31", "--deposits", bank, "--key", "Trace",
        "--amount", "Credit", "--date", "Date", "--description", "Description", "-o", out,
    )  # fmt: skip
    assert res.exit_code == 1, res.output
    ws = load_workbook(out)["Deposits matched"]
    head = [c.value for c in ws[1]]
    rows = [dict(zip(head, [c.value for c in r], strict=True)) for r in ws.iter_rows(min_row=2)]
    got = {(r["trace_number"], r["reasons"]): r["note"] for r in rows}
    assert got[("EFT2+EFT3", "group")].endswith("bank.csv row 3")
    assert got[("EFT4", "split")].endswith("bank.csv rows 4, 5")
    assert got[("EFT6", "split")].endswith("bank.csv rows 8, 9")
    assert "bank.csv row 6" in got[("EFT8", "payer/amount/date")]
    assert "bank.csv row 7" in got[("EFT5", "payer/amount/date")]
    assert "card batch of 2026-03-16 (2 card payments" in got[(None, "card batch")]


def test_window_and_card_pattern_are_options(cli, db, bank):
    _, doc = _remits(cli, bank, "--window", "30")
    cats = [(r["category"], r["amount"]) for r in doc["rows"] if "835" in r["category"]]
    assert ("not_from_835", "45.00") not in cats and ("only_in_835", None) not in [
        (c, a) for c, a in cats
    ]  # EFT7's deposit 19 days later is inside 30 days
    _, doc = _remits(cli, bank, "--card-pattern", "NO CARD HERE")
    nf = [r["amount"] for r in doc["rows"] if r["category"] == "not_from_835"]
    assert "65.00" in nf  # the batch is no longer read as a card batch
    assert cli("reconcile", "remits", "--card-pattern", "(").exit_code == 2
    assert cli("reconcile", "remits", "--window", "-1").exit_code == 2
    assert cli("reconcile", "remits", "--description", "D").exit_code == 2  # needs --deposits


def test_a_bank_file_of_only_deposits_without_trace_is_read(cli, db, tmp_path):
    """The file that used to be refused ("key is empty"): every row without a trace."""
    _835(tmp_path, cli, "a", "EFT1", "220.00", "20260314")
    bank = tmp_path / "cards.csv"
    bank.write_text("Trace,Credit,Memo\n,220.00,ACH\n,17.50,CARD\n")
    res = cli(
        "reconcile", "remits", "--as-of", "2026-03-31", "--deposits", bank, "--key", "Trace",
        "--amount", "Credit", "--description", "Memo", "-f", "json",
    )  # fmt: skip
    assert res.exit_code == 1, res.output
    rows = json.loads(res.stdout)["rows"]
    assert [(r["category"], r["amount"]) for r in rows if "835" in r["category"]] == [
        ("not_from_835", "17.50")
    ]  # 220.00 matched by amount (no date column: no window; no payer named: any payer)


def test_subset_search_is_bounded_and_deterministic():
    d = _dt.date(2026, 3, 1)
    rems = [dep.Remittance(i, f"T{i}", c, "P", d) for i, c in enumerate([500, 300, 200, 100], 1)]
    bank = [dep.BankRow(2, "", 600, d, "")]
    res = dep.match_deposits(rems, bank, card_pattern=None)
    (m,) = res.matched
    # 500+100 and 300+200+100 both make 6.00: the smaller group, oldest first, is taken
    assert m.how == "group" and [r.trace for r in m.remits] == ["T1", "T4"]
    many = [dep.Remittance(i, f"T{i}", 1, "P", d) for i in range(1, 40)]
    res = dep.match_deposits(many, [dep.BankRow(2, "", 39, d, "")], card_pattern=None)
    assert not res.matched and len(res.not_from_835) == 1  # needs 39: beyond MAX_GROUP


def test_the_demos_bank_file_is_matched_whole(demo_practice):
    """The demo's bank file (card batches without a trace, an 835 in two deposits) is read, not
    refused, and everything in it is matched but the one short deposit."""
    from billadmin import db as dbmod

    path, stderr = demo_practice
    step = next(ln for ln in stderr.splitlines() if "Reconcile remits" in ln)
    assert "by card batch" in step and "by split" in step and "no file refused" in step
    conn = dbmod.connect(path)
    try:
        (summary,) = conn.execute(
            "SELECT summary FROM reconcile_runs WHERE kind = 'remits' ORDER BY id LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    s = {(r["category"], r["payer"]): r["count"] for r in json.loads(summary)}
    assert s[("deposit_matched", "by card batch")] > 50  # a batch on most days since June
    assert s[("deposit_matched", "by split")] == 1
    assert s[("not_from_835", "")] == 0 and s[("only_in_bank", "")] == 0
    assert s[("deposit_amount_differs", "")] == 1  # the deposit short by a 2.50 bank fee


def test_payer_column_and_a_traced_row_covering_several_835s():
    """A payer column names the payer like a description does; a traced row no 835 has is
    still a deposit for a group of 835s (a bank that shows its own batch number)."""
    d = _dt.date(2026, 3, 10)
    key = ("KEY", "KEY77")
    rems = [
        dep.Remittance(1, "E1", 4000, "KEY", d, key),
        dep.Remittance(2, "E2", 6000, "KEY", d, key),
        dep.Remittance(3, "E3", 6000, "SUM", d, ("SUM",)),
    ]
    bank = [
        dep.BankRow(2, "BATCH9", 10000, d, ""),  # 40 + 60 of one payer... or 40 + SUM's 60
        dep.BankRow(3, "", 6000, d + _dt.timedelta(days=1), "SUM"),  # payer column: SUM
    ]
    res = dep.match_deposits(rems, bank, card_pattern=None)
    got = sorted((m.how, [r.tid for r in m.remits], [b.row for b in m.bank]) for m in res.matched)
    # row 3 names SUM: E3 (not E2 of the same amount); then BATCH9 = E1 + E2
    assert got == [("group", [1, 2], [2]), ("payer/amount/date", [3], [3])]
    assert not res.only_in_bank and not res.not_from_835 and not res.only_in_835


def test_payer_patterns_name_the_payer_of_a_description(cli, db):
    """The bank writes Summit as "SMT HLTH CLM": a declared pattern names the payer, so the
    no-trace deposit goes to Summit's 835, not Keystone's of the same amount and day."""
    d = _dt.date(2026, 3, 10)
    rems = [
        dep.Remittance(1, "E1", 5000, "KEY", d, ("KEY",)),
        dep.Remittance(2, "E2", 5000, "SUM", d, ("SUM",)),
    ]

    def bank():
        return [dep.BankRow(2, "", 5000, d, "SMT HLTH CLM 0310")]

    res = dep.match_deposits(rems, bank(), card_pattern=None)
    assert [r.tid for r in res.matched[0].remits] == [1]  # no payer named: the oldest fits
    res = dep.match_deposits(rems, bank(), card_pattern=None, payer_patterns={"SUM": r"SMT\s*HLTH"})
    assert [r.tid for r in res.matched[0].remits] == [2]
    for bad in ("SUM", "=X", "SUM=("):
        res = cli("reconcile", "remits", "--deposits", "b.csv", "--key", "k", "--amount", "a",
                  "--payer-pattern", bad)  # fmt: skip
        assert res.exit_code == 2 and "--payer-pattern" in res.stderr, bad
