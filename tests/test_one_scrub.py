"""One scrub (issue 14): `codes check` runs every rule `invoice generate` holds on (the scrubber's
registry is the one list, `codes rules`), so a clean `codes check` means a clean run; hold
messages name what a clerk can look up (encounter, payer code, invoice), never a row id."""

from __future__ import annotations

import json
import re

import invoice_fixtures as fx
import pytest
from codes_fixtures import cdb, codes_db_path, icd_template  # noqa: F401  (fixtures)

from billadmin import db as dbmod
from billadmin.billing import generate as gen
from billadmin.scrub import check
from billadmin.scrub.rules import RULES

DOS = "2026-06-15"  # inside the bundled ICD-10-CM release's window


@pytest.fixture
def claims_db(cdb):
    """The code-set template with fx's practice and an encounter failing each CLAIM-* rule."""
    db = cdb
    with dbmod.write(db):
        fx.practice(db)
        db.execute(
            "INSERT INTO payers (code, name, kind, timely_filing_months) VALUES"
            " ('NOID', 'No Id Health', 'commercial', 12)"
        )

        def one(number, *, address=True, payer="MCR", lines=None, dx=("E11.9",), **cov):
            p = fx.patient(db, f"M-{number}", address=address)
            if payer:
                fx.coverage(db, p, payer, **cov)
            fx.encounter(db, p, DOS, lines or [("99213", 14000)], dx=dx, number=number)

        one("E-OK")
        one("E-ADDR", address=False)
        one("E-SELF", address=False, payer=None)  # self-pay: no claim, no claim rule
        one("E-PAYER", payer="NOID")
        one("E-MEMBER", member="")
        one("E-SUB", relationship="child")
        one("E-LINES", lines=[("99213", 100)] * 51)
        one("E-NEG", lines=[("99213", 14000), ("99212", -500)])
        one("E-NODX", dx=(), lines=[("99213", 14000, "", "")])
        one("E-PTR", lines=[("99213", 14000, "", "3")])
    return db


EXPECTED = {
    ("E-ADDR", "CLAIM-ADDRESS"),
    ("E-PAYER", "CLAIM-PAYER-ID"),
    ("E-MEMBER", "CLAIM-MEMBER-ID"),
    ("E-MEMBER", "CLM-COVERAGE"),
    ("E-SUB", "CLAIM-SUBSCRIBER"),
    ("E-LINES", "CLAIM-LINES"),
    ("E-NEG", "CLAIM-CHARGE"),
    ("E-NEG", "CLM-CHARGE"),
    ("E-NODX", "CLAIM-NO-DX"),
    ("E-NODX", "CLM-DX"),
    ("E-NODX", "CLM-POINTER"),
    ("E-PTR", "CLM-POINTER"),  # CLAIM-POINTER says the same: reported once, on both sides
}


def _held(stderr: str) -> set[tuple[str, str]]:
    return set(re.findall(r"^\s*held (\S+)(?: line \d+)?: ([A-Z0-9-]+):", stderr, re.M))


def test_codes_check_names_the_rules_generate_holds_on(cli, claims_db):
    r = cli("codes", "check", "--errors-only", "-f", "json")
    assert r.exit_code == 1, r.output
    rows = json.loads(r.stdout)
    found = {(x["encounter"], x["rule"]) for x in rows}
    assert found == EXPECTED
    r = cli("invoice", "generate", "--dry-run", "--through", DOS, "--no-pdf")
    assert r.exit_code == 1, r.output
    assert _held(r.stderr) == EXPECTED
    # the messages name the payer code and the encounter, never a row id or the MRN
    for x in rows:
        assert not re.search(r"\b(patient|coverage|encounter) \d+\b", x["message"]), x
        assert "M-E-" not in x["message"], x
    by = {(x["encounter"], x["rule"]): x["message"] for x in rows}
    assert "MCR coverage has no member id" in by[("E-MEMBER", "CLAIM-MEMBER-ID")]
    assert "payer NOID has no X12 payer id" in by[("E-PAYER", "CLAIM-PAYER-ID")]
    assert "patient's address" in by[("E-ADDR", "CLAIM-ADDRESS")]


def test_a_clean_codes_check_is_a_clean_run(cli, claims_db):
    with dbmod.write(claims_db):
        claims_db.execute(
            "DELETE FROM charge_lines WHERE encounter_id IN"
            " (SELECT id FROM encounters WHERE number != 'E-OK' AND number != 'E-SELF')"
        )
    r = cli("codes", "check", "--errors-only", "-f", "json")
    assert r.exit_code == 0, r.output
    r = cli("invoice", "generate", "--dry-run", "--through", DOS, "--no-pdf")
    assert r.exit_code == 0, r.output
    assert "held" not in r.stderr


def test_codes_rules_lists_every_rule_a_run_holds_on(cli, claims_db):
    r = cli("codes", "rules", "-f", "json")
    listed = {x["rule"]: x for x in json.loads(r.stdout)}
    for rid in (
        "CLAIM-NO-DX",
        "CLAIM-POINTER",
        "CLAIM-LINES",
        "CLAIM-CHARGE",
        "CLAIM-ADDRESS",
        "CLAIM-PAYER-ID",
        "CLAIM-SUBSCRIBER",
        "CLAIM-MEMBER-ID",
        "ALREADY-BILLED",
        "COB-BALANCE",
        "COB-MSP-TYPE",
        "COB-QMB",
        "COB-MEDICAID-PAID-IN-FULL",
        "X12-TEXT-EMPTY",
        "X12-ID-CHARS",
    ):
        assert rid in listed and listed[rid]["source"] and listed[rid]["checks"], rid
    assert listed["COB-BALANCE"]["scope"] == "next-payer"


def test_generate_takes_severity_and_source_from_the_registry(claims_db, tmp_path):
    res = gen.generate(
        claims_db,
        today=fx.TODAY,
        through=fx.TODAY,
        scrub=fx.no_scrub,
        out_dir=tmp_path / "o",
        dry_run=True,
    )
    got = {f.rule: f for h in res.held for f in h.findings}
    assert {"CLAIM-ADDRESS", "CLAIM-PAYER-ID", "CLAIM-LINES"} <= set(got)
    for rid, f in got.items():
        assert (f.severity, f.source) == (RULES[rid].severity, RULES[rid].source)


def test_already_billed_in_codes_check_and_generate(claims_db, tmp_path):
    db = claims_db
    with dbmod.write(db):
        db.execute(
            "DELETE FROM charge_lines WHERE encounter_id IN"
            " (SELECT id FROM encounters WHERE number != 'E-OK')"
        )
    res = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "a", pdf=False)
    [claim] = [r["number"] for r in res.issued]
    with dbmod.write(db):  # a late line on the billed encounter
        db.execute(
            "INSERT INTO charge_lines (encounter_id, line_no, code, dx_pointers, units, charge_cents)"
            " SELECT id, 2, '99212', '1', 1, 9000 FROM encounters WHERE number = 'E-OK'"
        )
    [f] = check(db, as_of=fx.TODAY, rules=["ALREADY-BILLED"])
    assert (f.encounter, f.rule) == ("E-OK", "ALREADY-BILLED") and claim in f.message
    res = gen.generate(
        db, today=fx.TODAY, scrub=check, out_dir=tmp_path / "b", dry_run=True, pdf=False
    )
    [held] = res.held
    assert [(g.rule, g.message) for g in held.findings] == [(f.rule, f.message)]


def test_next_payer_holds_name_the_payer_never_a_row_id():
    from billadmin.billing import cob

    ans = cob.Answer(1, 1, 1, "1", 10000, 8000, [], "")
    cov = {"id": 4242, "member_id": "", "relationship": "child"}
    payer = {"code": "MCR", "kind": "medicare", "x12_payer_id": None}
    found = cob._checks(
        {"id": 77, "number": "E-7"}, cov, payer, {"total_cents": 0, "lines": []}, ans
    )
    assert [f.rule for f in found] == [
        "CLAIM-PAYER-ID",
        "CLAIM-MEMBER-ID",
        "CLAIM-SUBSCRIBER",
        "COB-MSP-TYPE",
        "COB-BALANCE",
    ]
    assert all(f.encounter == "E-7" and "4242" not in f.message for f in found)
    assert all("MCR" in f.message for f in found[:4])
