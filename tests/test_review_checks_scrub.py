"""Review of issue 15's scrubber shortcuts (model.FAMILY, model.QUIET, the ICD code rules skipped
on valid codes and cached per (diagnoses, release), the DOS-only rules once per DOS) in cases
test_scrub_speed's varied set does not build: a diagnosis valid on one date of service and
deleted on another inside the same release window (and a DOS past the last release, which shares
its label), the ICD-9-CM boundary, scopes where the one encounter with a bad address, an
X12-unsafe name or identifier, or an already-billed invoice is in or out of the run, and
`invoice generate --payer`. Each run's findings must equal the rules' own functions called
rule by rule (test_scrub_speed._slow)."""

from __future__ import annotations

import datetime as dt

import codes_fixtures as fx
import invoice_fixtures as ifx
import pytest
from codes_fixtures import AS_OF, cdb, codes_db_path, icd_template  # noqa: F401  (fixtures)
from test_one_scrub import claims_db  # noqa: F401  (fixture)
from test_scrub_speed import _slow

from billadmin import db as dbmod
from billadmin.billing import generate as gen
from billadmin.scrub import check


def _same(monkeypatch, conn, **kw) -> list:
    fast = check(conn, **kw)
    assert fast == _slow(monkeypatch, conn, **kw), kw
    return fast


@pytest.fixture
def dated(cdb):  # noqa: F811
    """E11.65 deleted from 2026-06-01 and E11.69 added from 2026-07-01, both inside the bundled
    April 2026 release's window (as test_scrub.test_icd_valid_on_dos): the same diagnoses, an
    Excludes1 pair with E10.9, valid on some dates of service of one release and not on others."""
    fx.setup_parties(cdb)
    with dbmod.write(cdb):
        cdb.execute(
            "UPDATE codes SET effective_to = '2026-05-31' WHERE code_system = 'icd10cm'"
            " AND code = 'E11.65'"
        )
        cdb.execute(
            "UPDATE codes SET effective_from = '2026-07-01' WHERE code_system = 'icd10cm'"
            " AND code = 'E11.69'"
        )
    pid = fx.add_patient(cdb)
    ids = {}
    # the valid day first, then the invalid one (the cache filled by the valid one must not
    # answer for it), then the other way round; a DOS past the release (same label); ICD-9 days
    for dx in (("E11.65", "E10.9"), ("E11.69", "E10.9"), ("E11.65",), ("E10.9", "E11.9")):
        for dos in ("2026-05-20", "2026-06-15", "2026-07-02", "2026-05-21", "2026-10-15"):
            ids[dx, dos] = fx.add_encounter(cdb, pid, dx=dx, dos=dos)
    for dos in ("2015-09-30", "2015-10-01"):
        ids["legacy", dos] = fx.add_encounter(cdb, pid, dx=("250.00", "E11.9"), dos=dos)
    return cdb, ids


@pytest.mark.parametrize(
    "rules",
    [
        None,
        ["ICD-EXCLUDES1"],  # no code-state rule chosen: cached per release even on bad codes
        ["ICD-EXCLUDES1", "ICD-DOS", "CLM-DX"],
        ["ICD-DOS", "ICD-RELEASE", "CLM-DOS", "ICD9-CODE"],
    ],
)
def test_diagnoses_valid_on_one_date_and_not_another(dated, monkeypatch, rules):
    conn, ids = dated
    for as_of in (AS_OF, dt.date(2026, 11, 1)):
        kw: dict = {"as_of": as_of, "rules": rules}
        got = _same(monkeypatch, conn, **kw)
        # and one encounter at a time, the invalid day first
        for key in ((("E11.65", "E10.9"), "2026-06-15"), (("E11.65", "E10.9"), "2026-05-20")):
            _same(monkeypatch, conn, encounter_ids=[ids[key]], **kw)
    if rules is None:  # the set means something: each day's verdict shows
        by = {(f.encounter_id, f.rule) for f in got}
        e = ids[("E11.65", "E10.9"), "2026-06-15"]
        assert (e, "ICD-DOS") in by and (e, "ICD-EXCLUDES1") in by
        e = ids[("E11.65", "E10.9"), "2026-05-20"]
        assert (e, "ICD-DOS") not in by and (e, "ICD-EXCLUDES1") in by
        e = ids[("E11.69", "E10.9"), "2026-10-15"]
        assert (e, "ICD-DOS") not in by
        assert (ids["legacy", "2015-09-30"], "ICD9-CODE") in by


@pytest.fixture
def one_odd_each(cdb):  # noqa: F811
    """Clean encounters, and one encounter each with an incomplete address, a name without a
    Latin form, a member id X12 cannot carry, a dependent without the subscriber's name."""
    fx.setup_parties(cdb)
    ids = {"clean": [fx.add_encounter(cdb, fx.add_patient(cdb)) for _ in range(3)]}
    for what in ("address", "name", "member", "subscriber"):
        pid = fx.add_patient(cdb)
        ids[what] = fx.add_encounter(cdb, pid)
        with dbmod.write(cdb):
            if what == "address":
                cdb.execute("UPDATE patients SET zip = NULL WHERE id = ?", (pid,))
            elif what == "name":
                cdb.execute("UPDATE patients SET last_name = '王' WHERE id = ?", (pid,))
            elif what == "member":
                cdb.execute("UPDATE coverages SET member_id = 'K1~2' WHERE patient_id = ?", (pid,))
            else:
                cdb.execute(
                    "UPDATE coverages SET relationship = 'child' WHERE patient_id = ?", (pid,)
                )
    return cdb, ids


RULE_OF = {
    "address": "CLAIM-ADDRESS",
    "name": "X12-TEXT-EMPTY",
    "member": "X12-ID-CHARS",
    "subscriber": "CLAIM-SUBSCRIBER",
}


@pytest.mark.parametrize("what", list(RULE_OF))
def test_the_one_odd_encounter_in_or_out_of_the_scope(one_odd_each, monkeypatch, what):
    conn, ids = one_odd_each
    odd, clean = ids[what], ids["clean"]
    rule = RULE_OF[what]
    # out of the scope: the rule is skipped for the run and finds nothing (neither way)
    assert _same(monkeypatch, conn, encounter_ids=clean, as_of=AS_OF) == []
    assert _same(monkeypatch, conn, encounter_ids=clean, as_of=AS_OF, rules=[rule]) == []
    # in it, last (after clean ones): found on that encounter only, as the rule's own function says
    for scope in ([*clean, odd], [odd], None):
        for rules in (None, [rule], [rule, "CLM-DX", "CLAIM-MEMBER-ID"]):
            got = _same(monkeypatch, conn, encounter_ids=scope, as_of=AS_OF, rules=rules)
            assert {f.encounter_id for f in got if f.rule == rule} == {odd}, (scope, rules)


def test_already_billed_for_one_encounter_of_a_scope_and_a_payer(
    claims_db,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    """E-OK (Medicare) billed, then a late line: ALREADY-BILLED in any scope holding it, none
    in a scope or a `--payer` run without it (the rule skipped there for the whole run)."""
    db = claims_db
    with dbmod.write(db):
        db.execute(
            "DELETE FROM charge_lines WHERE encounter_id IN"
            " (SELECT id FROM encounters WHERE number != 'E-OK')"
        )
    res = gen.generate(db, today=ifx.TODAY, scrub=ifx.no_scrub, out_dir=tmp_path / "a", pdf=False)
    [claim] = [r["number"] for r in res.issued]
    with dbmod.write(db):
        db.execute(
            "INSERT INTO charge_lines (encounter_id, line_no, code, dx_pointers, units, charge_cents)"
            " SELECT id, 2, '99212', '1', 1, 9000 FROM encounters WHERE number = 'E-OK'"
        )
        other = ifx.patient(db, "M-KEY")
        ifx.coverage(db, other, "KEY")
        new = ifx.encounter(db, other, "2026-06-15", [("99213", 14000)], number="E-NEW")
    billed = db.execute("SELECT id FROM encounters WHERE number = 'E-OK'").fetchone()[0]
    kw = {"as_of": ifx.TODAY}
    assert [f.rule for f in _same(monkeypatch, db, encounter_ids=[new], **kw)] == []
    for scope in ([new, billed], [billed], None):
        got = _same(monkeypatch, db, encounter_ids=scope, **kw)
        assert [(f.encounter, f.rule) for f in got if f.rule == "ALREADY-BILLED"] == [
            ("E-OK", "ALREADY-BILLED")
        ]
        assert claim in next(f.message for f in got if f.rule == "ALREADY-BILLED")
    for payer, held in (("MCR", ["E-OK"]), ("KEY", [])):
        res = gen.generate(
            db,
            today=ifx.TODAY,
            payer=payer,
            scrub=check,
            out_dir=tmp_path / payer,
            dry_run=True,
            pdf=False,
        )
        assert [h.encounter for h in res.held] == held, payer
        if held:
            assert [g.rule for g in res.held[0].findings] == ["ALREADY-BILLED"]


def test_a_line_value_holding_a_nul_or_a_separator_is_checked_whole(cdb, monkeypatch):  # noqa: F811
    """check_db's query aggregates each line into one record. Built by printf('%s') (a C string)
    a code, modifier or pointer was cut at a NUL character ('99213' + NUL + 'X' read as 99213:
    no PROC-CODE); a unit or record separator inside a value split the record. Dirty values
    recorded before an import check must reach the rules whole."""
    fx.setup_parties(cdb)
    pid = fx.add_patient(cdb)
    lines = {
        "code": ("99213\x00X", (), "1", 1, 14000),
        "modifier": ("99213", ("25\x00",), "1", 1, 14000),
        "pointer": ("99213", (), "1\x009", 1, 14000),
        "separators": ("99\x1f21\x1e3", (), "1", 1, 14000),
    }
    ids = {
        k: fx.add_encounter(cdb, pid, lines=(ln,), dos=f"2026-06-1{i}")
        for i, (k, ln) in enumerate(lines.items())
    }
    got = _same(monkeypatch, cdb, as_of=AS_OF)
    found = {(f.encounter_id, f.rule) for f in got if f.severity == "error"}
    assert found == {
        (ids["code"], "PROC-CODE"),
        (ids["modifier"], "MOD-EXISTS"),
        (ids["pointer"], "CLM-POINTER"),
        (ids["separators"], "PROC-CODE"),
    }
    [msg] = [f.message for f in got if f.encounter_id == ids["code"]]
    assert "99213\\x00X" in msg


def test_codes_check_of_a_file_not_imported_skips_nothing_its_encounters_need(
    cdb,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    """`codes check --file`: the file's encounters exist only inside a rolled-back transaction,
    and the scope the quiet rules are asked about is theirs. A file's one patient with an
    incomplete address and one with a name without a Latin form are found (and only they);
    the findings are the rules' own, and nothing stays written."""
    import csv

    from billadmin.demo import HEADERS
    from billadmin.scrub.files import check_file

    fx.setup_parties(cdb)
    pids = [fx.add_patient(cdb) for _ in range(3)]
    with dbmod.write(cdb):
        cdb.execute("UPDATE patients SET zip = NULL WHERE id = ?", (pids[1],))
        cdb.execute("UPDATE patients SET last_name = '王' WHERE id = ?", (pids[2],))
    fx.add_encounter(cdb, fx.add_patient(cdb))  # recorded, not in the file
    rows = []
    for n, pid in enumerate(pids, start=1):
        mrn = cdb.execute("SELECT mrn FROM patients WHERE id = ?", (pid,)).fetchone()[0]
        r = {h: "" for h in HEADERS["charges"]}
        r.update(
            {
                "Encounter": f"F{n:04d}",
                "MRN": mrn,
                "DOS": fx.DOS,
                "Rendering NPI": fx.PROVIDER_NPI,
                "POS": "11",
                "Line": "1",
                "Code": "99213",
                "Dx1": "E11.9",
                "Pointers": "1",
                "Units": "1",
                "Charge": "140.00",
            }
        )
        rows.append(r)
    p = tmp_path / "charges.csv"
    with open(p, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADERS["charges"])
        w.writeheader()
        w.writerows(rows)
    before = cdb.execute("SELECT COUNT(*) FROM encounters").fetchone()[0]
    fast = check_file(cdb, p, as_of=AS_OF)
    slow = _slow(monkeypatch, cdb, as_of=AS_OF)  # (the recorded encounter: clean)
    assert slow == []
    import billadmin.scrub as scrub_pkg

    real = scrub_pkg.check
    monkeypatch.setattr(scrub_pkg, "check", lambda conn, **kw: _slow(monkeypatch, conn, **kw))
    slow_file = check_file(cdb, p, as_of=AS_OF)
    monkeypatch.setattr(scrub_pkg, "check", real)
    assert fast.findings == slow_file.findings
    assert {(f.encounter, f.rule) for f in fast.findings} == {
        ("F0002", "CLAIM-ADDRESS"),
        ("F0003", "X12-TEXT-EMPTY"),
    }
    assert (fast.encounters, fast.lines) == (3, 3)
    assert cdb.execute("SELECT COUNT(*) FROM encounters").fetchone()[0] == before
