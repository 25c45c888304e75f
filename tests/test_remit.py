"""835 reading and balance checks (remit show): files the tests write, payer variations, every
balance rule refusing with both sides shown."""

from __future__ import annotations

import json

import pytest
from test_remit_support import Remit

from billadmin.remit import balance, codes, parse


def _parse(r: Remit) -> parse.RemitFile:
    return parse.parse_bytes(r.text().encode(), name="t.835")


def _paid_claim(r: Remit) -> Remit:
    return r.claim(
        "C000001",
        "1",
        "155",
        "100",
        "20",
        pcn="PAYER-77",
        lines=[
            ("HC:99213:25", "140", "90", [("CO", "45", "30"), ("PR", "2", "20")], ["N130", "M15"]),
            ("HC:36415", "15", "10", [("CO", "45", "5")]),
        ],
    )


def test_header_claims_lines_and_adjustments_are_read():
    rf = _parse(_paid_claim(Remit(trace="EFT77", method="CHK")))
    assert not rf.issues
    (tx,) = rf.transactions
    assert (tx.trace_number, tx.trace_company, tx.method, tx.payment_date) == (
        "EFT77",
        "1812345678",
        "CHK",
        "2026-03-14",
    )
    assert tx.amount_cents == 10000 and tx.credit_debit == "C" and tx.handling_code == "I"
    assert tx.payer_name == "KEYSTONE COMMERCIAL" and tx.payee_id == "1234567893"
    assert tx.payer_key == "1812345678|KEYSTONE COMMERCIAL"
    (c,) = tx.claims
    assert (
        c.claim_number,
        c.status_code,
        c.charge_cents,
        c.paid_cents,
        c.patient_resp_cents,
        c.payer_claim_number,
    ) == ("C000001", "1", 15500, 10000, 2000, "PAYER-77")
    l1, l2 = c.lines
    assert (l1.qualifier, l1.code, l1.modifiers, l1.service_from) == (
        "HC",
        "99213",
        ["25"],
        "2026-03-02",
    )
    assert [(a.group, a.reason, a.amount_cents) for a in l1.adjustments] == [
        ("CO", "45", 3000),
        ("PR", "2", 2000),
    ]
    assert l1.remarks == ["N130", "M15"]
    assert c.group_total("PR") == 2000 and c.adjusted_cents == 5500
    assert balance.check_file(rf) == []


def test_cas_with_six_triplets_and_empty_quantities():
    r = Remit().claim("C1", "1", "100", "40", "60", cas=[])
    r.claims[0].insert(
        1,
        [
            "CAS",
            "PR",
            "1",
            "10",
            "",
            "2",
            "10",
            "1",
            "3",
            "10",
            "",
            "A1",
            "0",
            "",
            "B1",
            "0",
            "",
            "45",
            "30",
        ],
    )
    rf = _parse(r)
    c = rf.transactions[0].claims[0]
    assert [(a.reason, a.amount_cents, a.quantity) for a in c.adjustments] == [
        ("1", 1000, None),
        ("2", 1000, "1"),
        ("3", 1000, None),
        ("A1", 0, None),
        ("B1", 0, None),
        ("45", 3000, None),
    ]
    assert [d.rule for d in balance.check_file(rf)] == []


def test_plb_takeback_and_interest_balance_the_payment():
    r = _paid_claim(Remit())
    r.provider_adjustment("WO", "C000009", "25.00").provider_adjustment("L6", None, "-1.27")
    rf = _parse(r)
    tx = rf.transactions[0]
    assert [(p.reason, p.reference, p.amount_cents) for p in tx.plb] == [
        ("WO", "C000009", 2500),
        ("L6", None, -127),
    ]
    assert tx.amount_cents == 10000 - 2500 + 127
    assert balance.check_file(rf) == []


def test_debit_bpr_when_takebacks_exceed_payments():
    r = Remit().claim("C1", "1", "50", "10", cas=[("CO", "45", "40")])
    r.provider_adjustment("WO", "C0", "30")
    rf = _parse(r)
    tx = rf.transactions[0]
    assert tx.credit_debit == "D" and tx.amount_cents == 2000 and tx.signed_amount_cents == -2000
    assert balance.check_file(rf) == []


def test_line_claim_and_transaction_imbalances_are_all_reported():
    r = Remit().claim(
        "C1",
        "1",
        "155",
        "100",
        lines=[
            ("HC:99213", "140", "90", [("CO", "45", "30")]),  # 140 - 30 = 110, not 90
            ("HC:36415", "15", "5", [("CO", "45", "5")]),
        ],
    )  # 15 - 5 = 10, not 5; lines pay 95
    r.bpr_override = "99.99"
    diffs = balance.check_file(_parse(r))
    rules = sorted(d.rule for d in diffs)
    assert rules == [
        "CLAIM-BALANCE",
        "CLAIM-LINES",
        "LINE-BALANCE",
        "LINE-BALANCE",
        "TRANSACTION-BALANCE",
    ]
    claim = next(d for d in diffs if d.rule == "CLAIM-BALANCE")
    assert "expected 120.00 != found 100.00" in claim.message
    assert (
        "expected 95.00 != found 100.00 (5.00 too much)"
        in next(d for d in diffs if d.rule == "CLAIM-LINES").message
    )
    line = next(d for d in diffs if d.rule == "LINE-BALANCE")
    assert "expected 110.00 != found 90.00 (20.00 too little)" in line.message and line.line == 1
    tx = next(d for d in diffs if d.rule == "TRANSACTION-BALANCE")
    assert "expected 100.00 != found 99.99" in tx.message


def test_patient_responsibility_mismatch_is_a_warning():
    r = Remit().claim("C1", "1", "100", "70", "25", cas=[("PR", "1", "30")])
    diffs = balance.check_file(_parse(r))
    assert [(d.rule, d.severity) for d in diffs] == [("CLAIM-PR", "warning")]


@pytest.mark.parametrize(
    "bad, msg",
    [
        ("12.345", "more than two decimal places"),
        ("12,50", "not an X12 decimal amount"),
        ("", "required but empty"),
    ],
)
def test_bad_amounts_are_errors_naming_the_element(bad, msg):
    r = Remit().claim("C1", "1", "100", bad, cas=[("CO", "45", "100")])
    rf = _parse(r)
    assert any(msg in i.message and "CLP04" in i.message for i in rf.errors)


def test_missing_trn_and_cut_file_are_errors():
    text = Remit().claim("C1", "1", "10", "10").text()
    rf = parse.parse_bytes(text.replace("TRN*1*EFT1001*1812345678~", "").encode())
    assert any("no TRN" in i.message for i in rf.errors)
    cut = text[: text.index("SE*")]
    rf = parse.parse_bytes(cut.encode())
    assert any("no SE segment" in i.message for i in rf.errors)


def test_count_mismatches_are_warnings_and_unknown_segments_ignored():
    text = Remit().claim("C1", "1", "10", "10").text()
    text = text.replace("~LX*1~", "~TS3*X*11*20261231*1*10~ZZZ*1~LX*1~").replace("SE*", "SE*9")
    rf = parse.parse_bytes(text.encode())
    assert not rf.errors
    assert any("SE01" in w.message for w in rf.warnings)


def test_several_transactions_and_newline_terminators():
    a = Remit(trace="T1").claim("C1", "1", "10", "10").segments()
    b = Remit(trace="T2").claim("C2", "1", "20", "20").segments()
    segs = a[:-2] + [["ST" if s[0] == "ST" else s[0], *s[1:]] for s in b[2:-2]] + a[-2:]
    text = "".join("*".join(s) + "~\r\n" for s in segs)
    rf = parse.parse_bytes(text.encode())
    assert not rf.errors
    assert [t.trace_number for t in rf.transactions] == ["T1", "T2"]
    assert [t.claims[0].claim_number for t in rf.transactions] == ["C1", "C2"]


def test_codes_have_meanings_and_categories():
    assert codes.describe("CARC", "45")[0] == "contractual"
    assert codes.describe("CARC", "1")[0] == "patient_responsibility"
    assert codes.describe("CARC", "29")[0] == "timely_filing"
    assert codes.describe("RARC", "N130")[0] == "non_covered"
    cat, meaning = codes.describe("CARC", "Z99")
    assert cat == "other" and "not in our table" in meaning
    assert codes.is_denial("CO", "50") and codes.is_denial("OA", "18")
    assert (
        not codes.is_denial("CO", "45")
        and not codes.is_denial("PR", "1")
        and not codes.is_denial("CR", "50")
    )
    assert set(c for _, c, _ in codes.CARC + codes.RARC) <= set(codes.CATEGORIES)
    assert len({c for c, _, _ in codes.CARC}) == len(codes.CARC)


def test_codes_table_is_in_the_database(db):
    n_carc = db.execute("SELECT COUNT(*) FROM remit_codes WHERE kind = 'CARC'").fetchone()[0]
    assert n_carc == len(codes.CARC)
    assert (
        db.execute(
            "SELECT category FROM remit_codes WHERE kind = 'RARC' AND code = 'M15'"
        ).fetchone()[0]
        == "bundling"
    )


# --- remit show ---------------------------------------------------------------------------


def test_show_table_lists_totals_claims_and_lines(cli, tmp_path):
    p = _paid_claim(Remit()).write(tmp_path / "era.835")
    res = cli("remit", "show", p)
    assert res.exit_code == 0, res.output
    assert "EFT1001" in res.stdout and "C000001" in res.stdout and "99213:25" in res.stdout
    assert "CO-45 30.00; PR-2 20.00" in res.stdout
    assert (
        "DOE" not in res.output and "X999" not in res.output
    )  # patient name and member id never shown
    assert "every amount balances" in res.stderr


def test_show_json_has_meanings_and_balance(cli, tmp_path):
    p = _paid_claim(Remit()).write(tmp_path / "era.835")
    res = cli("remit", "show", p, "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    tx = doc["transactions"][0]
    assert tx["amount"] == "100.00" and tx["balance"] == "ok" and tx["balance_check"] == []
    line = tx["claims"][0]["lines"][0]
    assert line["adjustments"][0] == {
        "group": "CO",
        "reason": "45",
        "amount": "30.00",
        "quantity": None,
        "category": "contractual",
        "meaning": "Charge above the fee schedule, maximum allowable or contracted rate",
    }
    assert [r["code"] for r in line["remarks"]] == ["N130", "M15"]


def test_show_csv_rows(cli, tmp_path):
    p = _paid_claim(Remit()).write(tmp_path / "era.835")
    res = cli("remit", "show", p, "-f", "csv")
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("file,trace_number,claim,line,code")
    assert len(lines) == 1 + 3


def test_show_unbalanced_exits_1_with_differences(cli, tmp_path):
    r = _paid_claim(Remit())
    r.bpr_override = "90"
    res = cli("remit", "show", r.write(tmp_path / "bad.835"))
    assert res.exit_code == 1
    assert "Does not balance" in res.stderr and "expected 100.00 != found 90.00" in res.stderr


def test_show_not_x12_exits_2(cli, tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("this is not an 835")
    res = cli("remit", "show", p)
    assert res.exit_code == 2 and "does not start with an ISA" in res.stderr
    res = cli("remit", "show", tmp_path / "missing.835")
    assert res.exit_code == 2 and "no such file" in res.stderr


def test_a_non_835_transaction_is_skipped_with_a_warning():
    segs = Remit().claim("C1", "1", "10", "10").segments()
    other = [["ST", "999", "0002"], ["AK1", "HC", "1"], ["SE", "3", "0002"]]
    text = "".join("*".join(s) + "~" for s in segs[:2] + other + segs[2:])
    rf = parse.parse_bytes(text.encode())
    assert not rf.errors
    assert [t.control_number for t in rf.transactions] == ["0001"]
    assert any("ST01 is '999'" in w.message for w in rf.warnings)
