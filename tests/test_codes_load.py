"""Code sets: the bundled ICD-10-CM load, lookups, search, and every loader on files in the
official layouts (CDC, CMS HCPCS, NCCI PTP, MUE), including updates across two versions."""

from __future__ import annotations

import json
import zipfile

import codes_fixtures as fx
import pytest
from codes_fixtures import cdb, codes_db_path, icd_template  # noqa: F401  (fixtures)

from billadmin import scrub
from billadmin.codesets import loader, query, store


def _json(result):
    assert result.stdout.strip(), result.output
    return json.loads(result.stdout)


# ------------------------------------------------------------------ bundled ICD-10-CM


def test_init_loads_the_bundled_release(cdb):
    v = store.versions(cdb, "icd10cm")
    assert len(v) == 1 and v[0]["label"] == "CDC April 2026 (bundled)"
    assert (v[0]["effective_from"], v[0]["effective_to"]) == ("2026-04-01", "2026-09-30")
    n, billable = cdb.execute(
        "SELECT COUNT(*), SUM(billable) FROM codes WHERE code_system = 'icd10cm'"
    ).fetchone()
    # 98,505 items in the package's list, 39 of them a block and its only category under one name
    assert n == 98_466
    # every leaf that is a code: the package's 74,731 leaves less 12 empty "super-section" blocks
    assert billable == 74_719
    assert cdb.execute("SELECT COUNT(*) FROM icd10cm_excludes1").fetchone()[0] > 5000
    kinds = dict(cdb.execute("SELECT kind, COUNT(*) FROM codes GROUP BY kind").fetchall())
    assert kinds["chapter"] == 22 and kinds["extension"] == 51_305


def test_init_twice_does_not_reload(cdb, codes_db_path):
    from billadmin import setup

    res = setup.init_database(codes_db_path)
    assert not any("ICD-10-CM" in line for line in res.lines)
    assert len(store.versions(cdb, "icd10cm")) == 1


def test_lookup_cli(cli, codes_db_path):
    r = cli("codes", "lookup", "E11.9", "e119", "M54.5", "S52.501", "-f", "json")
    assert r.exit_code == 0, r.output
    rows = _json(r)
    assert [x["code"] for x in rows] == ["E11.9", "E11.9", "M54.5", "S52.501"]
    assert (
        rows[0]["billable"] is True
        and rows[0]["description"] == "Type 2 diabetes mellitus without complications"
    )
    assert rows[0]["version"] == "CDC April 2026 (bundled)"
    assert rows[2]["billable"] is False and "header" in rows[2]["note"]
    assert rows[3]["billable"] is False and rows[3]["note"] == "needs a 7th character"


def test_lookup_unknown_and_format_only(cli, codes_db_path):
    r = cli("codes", "lookup", "99213", "G0439", "-f", "json")
    assert r.exit_code == 0, r.output
    rows = _json(r)
    assert rows[0]["found"] is False and rows[0]["note"].startswith(
        "format only: no CPT file loaded"
    )
    # G0439 typed without a dot is also ICD-10-CM G04.39: both answers are given
    assert [(x["system"], x["code"], x["found"]) for x in rows[1:]] == [
        ("icd10cm", "G04.39", True),
        ("hcpcs", "G0439", False),
    ]
    assert rows[2]["note"].startswith("format only: no HCPCS file loaded")
    # a code in no loaded set is a finding (exit 1, issue 14), not bad input; a bad option is 2
    r = cli("codes", "lookup", "E11.99Q", "ZZZ")
    assert r.exit_code == 1
    assert "not found in any loaded code set: E11.99Q, ZZZ" in r.output
    assert cli("codes", "lookup", "E11.9", "--date", "2026-13-01").exit_code == 2


def test_search_ranks_descriptions(cli, codes_db_path):
    r = cli(
        "codes",
        "search",
        "type",
        "2",
        "diabetes",
        "without",
        "complications",
        "--billable",
        "-f",
        "json",
    )
    assert r.exit_code == 0, r.output
    rows = _json(r)
    assert rows[0]["code"] == "E11.9"
    assert all(x["billable"] for x in rows)
    r = cli("codes", "search", "low back pain", "-n", "5", "-f", "json")
    codes = [x["code"] for x in _json(r)]
    assert "M54.50" in codes and len(codes) == 5
    r = cli("codes", "search", "xyzzy-nothing")
    assert r.exit_code == 0 and "0 matches" in r.output


@pytest.mark.slow
def test_oracle_every_package_item(cli, codes_db_path):
    """Outside oracle: codes lookup agrees with simple-icd-10-cm on existence and billable status
    of every item of its list (98,505 items)."""
    import simple_icd_10_cm as icd

    items = icd.get_all_codes()
    assert len(items) == 98_505
    r = cli("codes", "lookup", *items, "-s", "icd10cm", "-f", "json")
    assert r.exit_code == 0, r.output[-500:]
    rows = _json(r)
    assert len(rows) == len(items)
    mismatches = []
    for item, row in zip(items, rows, strict=True):
        assert row["found"], item
        # a leaf is billable unless it is a chapter or a block (12 empty "super-section" blocks
        # are leaves in the package's tree but are not codes)
        expected = (
            icd.is_leaf(item)
            and not icd.is_chapter(item)
            and not (icd.is_block(item) and not icd.is_category(item))
        )
        if row["billable"] != expected:
            mismatches.append(item)
    assert mismatches == []


# ------------------------------------------------------------------ CDC files, two versions

FY26 = [
    ("E11", 0, "Type 2 diabetes mellitus"),
    ("E11.9", 1, "Type 2 diabetes mellitus without complications"),
    ("I10", 1, "Essential (primary) hypertension"),
    ("M54", 0, "Dorsalgia"),
    ("M54.5", 1, "Low back pain"),
    ("R05", 1, "Cough"),
    ("Z99.9", 1, "Dependence on unspecified enabling machine and device"),
]
FY27 = [
    ("E11", 0, "Type 2 diabetes mellitus"),
    ("E11.9", 1, "Type 2 diabetes mellitus without complications"),
    ("I10", 1, "Essential (primary) hypertension, new wording"),
    ("M54", 0, "Dorsalgia"),
    ("M54.5", 0, "Low back pain"),
    ("M54.50", 1, "Low back pain, unspecified"),
    ("M54.51", 1, "Vertebrogenic low back pain"),
    ("M54.59", 1, "Other low back pain"),
    ("R05", 1, "Cough"),
]


def _claims_with(db, dx, dos):
    fx.setup_parties(db) if not db.execute("SELECT 1 FROM providers").fetchone() else None
    pid = fx.add_patient(db)
    return fx.add_encounter(db, pid, dx=dx, dos=dos)


def test_cdc_order_files_update_with_change_report(db, tmp_path):
    v1 = fx.cdc_order_file(tmp_path / "icd10cm-order-2026.txt", FY26)
    rep = loader.load(db, "icd10cm", [v1])
    assert (rep.label, rep.effective_from, rep.rows_in_file, rep.previous) == (
        "CDC FY2026",
        "2025-10-01",
        7,
        None,
    )
    late = _claims_with(db, ["M54.5", "Z99.9"], "2026-10-15")
    early = _claims_with(db, ["M54.5"], "2026-09-01")
    v2 = fx.cdc_order_file(tmp_path / "icd10cm-order-2027.txt", FY27)
    before = db.execute("SELECT COUNT(*) FROM codes").fetchone()[0]
    dry = loader.load(db, "icd10cm", [v2], dry_run=True)
    assert dry.dry_run and db.execute("SELECT COUNT(*) FROM codes").fetchone()[0] == before
    assert len(store.versions(db, "icd10cm")) == 1
    rep = loader.load(db, "icd10cm", [v2])
    assert rep.changes == dry.changes and rep.affected == dry.affected
    assert rep.previous == "CDC FY2026" and rep.effective_from == "2026-10-01"
    assert rep.counts == {"added": 3, "deleted": 1, "description changed": 1, "billable changed": 1}
    changed = {(c["change"], c["code"], c["field"]) for c in rep.changes}
    assert ("changed", "M54.5", "billable") in changed and ("deleted", "Z99.9", "") in changed
    assert ("changed", "I10", "description") in changed
    # the line points to diagnosis 1 only: Z99.9 (diagnosis 2) is reported for the encounter
    assert {(a["encounter_id"], a["code"], a["line"]) for a in rep.affected} == {
        (late, "M54.5", 1),
        (late, "Z99.9", None),
    }
    # the earlier release still answers for earlier dates of service
    on_sep = {r["code"]: r for r in query.lookup(db, ["M54.5", "Z99.9", "I10"], on="2026-09-01")}
    on_oct = {r["code"]: r for r in query.lookup(db, ["M54.5", "Z99.9", "I10"], on="2026-10-15")}
    assert on_sep["M54.5"]["billable"] is True and on_oct["M54.5"]["billable"] is False
    assert on_sep["Z99.9"]["found"] and not on_oct["Z99.9"]["found"]
    assert on_oct["I10"]["description"].endswith("new wording") and not on_sep["I10"][
        "description"
    ].endswith("wording")
    hist = query.lookup(db, ["M54.5"], history=True)
    assert [(h["valid_from"], h["valid_to"]) for h in hist] == [
        (None, "2026-09-30"),
        ("2026-10-01", None),
    ]
    v = store.versions(db, "icd10cm")
    assert [(x["label"], x["effective_to"]) for x in v] == [
        ("CDC FY2026", "2026-09-30"),
        ("CDC FY2027", "2027-09-30"),
    ]
    # an older release after a newer one is refused, as is the same label twice
    from billadmin.errors import BadInput

    with pytest.raises(BadInput, match="must take effect after"):
        loader.load(db, "icd10cm", [v1], label="again")
    assert early  # not affected: its DOS is before the change


def test_cdc_codes_file_turns_split_code_into_header(db, tmp_path):
    loader.load(db, "icd10cm", [fx.cdc_order_file(tmp_path / "icd10cm-order-2026.txt", FY26)])
    codes27 = [(c, d) for c, b, d in FY27 if b]
    rep = loader.load(
        db, "icd10cm", [fx.cdc_codes_file(tmp_path / "icd10cm-codes-2027.txt", codes27)]
    )
    ch = {(c["change"], c["code"], c["field"]) for c in rep.changes}
    assert ("changed", "M54.5", "billable") in ch  # became a header, not deleted
    assert ("deleted", "Z99.9", "") in ch
    assert not any(c["code"] in ("E11", "M54") for c in rep.changes)  # headers kept as they are
    row = query.lookup(db, ["M54.50"])[0]
    assert row["billable"] and row["kind"] == "subcategory"


def test_icd_load_cli_dry_run_and_bad_file(cli, db, tmp_path):
    v1 = fx.cdc_order_file(tmp_path / "icd10cm-order-2026.txt", FY26)
    r = cli("codes", "load", "icd10cm", v1)
    assert (
        r.exit_code == 0
        and "Loaded ICD-10-CM 'CDC FY2026' effective 2025-10-01: 7 rows" in r.stderr
    )
    bad = tmp_path / "icd10cm-order-2027.txt"
    bad.write_text("00001 E119    1 short   long\nthis is not a record\n")
    r = cli("codes", "load", "icd10cm", bad)
    assert r.exit_code == 2
    assert "icd10cm-order-2027.txt, row 2" in r.output
    good = fx.cdc_order_file(tmp_path / "icd10cm-order-2027.txt", FY27)
    r = cli("codes", "load", "icd10cm", good, "--dry-run", "-f", "csv")
    assert r.exit_code == 0, r.output
    assert "dry run: nothing loaded" in r.stderr
    assert (
        "Would load ICD-10-CM 'CDC FY2027' effective 2026-10-01: 9 rows; against 'CDC FY2026': added 3, deleted 1"
        in r.stderr
    )
    assert "changed,M54.5,billable,yes,no" in r.stdout
    assert "CDC FY2027" not in cli("codes", "versions", "-f", "csv").stdout


# ------------------------------------------------------------------ HCPCS

LONG = (
    "Annual wellness visit, includes a personalized prevention plan of service (pps), subsequent visit, "
    "with a description long enough to need a continuation record"
)


def _hcpcs_2020(tmp_path):
    return fx.hcpcs_file(
        tmp_path / "HCPC2020_ANWEB_w_disclaimer.txt",
        [
            fx.hcpcs_record(
                "RT",
                "Right side (used to identify procedures performed on the right side of the body)",
                "Right side",
                modifier=True,
            ),
            fx.hcpcs_record(
                "LT",
                "Left side (used to identify procedures performed on the left side of the body)",
                "Left side",
                modifier=True,
            ),
            fx.hcpcs_record("G0439", LONG, "Ppps, subseq visit", added="20110101"),
            fx.hcpcs_record(
                "J1030",
                "Injection, methylprednisolone acetate, 40 mg",
                "Methylprednisolone 40 mg inj",
            ),
            fx.hcpcs_record("G9999", "Retired demo code", "Retired", term="20191231", action="D"),
        ],
    )


def test_hcpcs_fixed_width(db, tmp_path):
    rep = loader.load(db, "hcpcs", [_hcpcs_2020(tmp_path)])
    assert (rep.label, rep.effective_from, rep.rows_in_file) == ("CMS 2020 annual", "2020-01-01", 5)
    rows = {r["code"]: r for r in query.lookup(db, ["G0439", "J1030", "G9999", "RT"], history=True)}
    assert rows["G0439"]["description"] == LONG and rows["G0439"]["valid_from"] == "2011-01-01"
    assert rows["G9999"]["valid_to"] == "2019-12-31"
    assert rows["RT"]["system"] == "modifier" and rows["RT"]["description"].startswith("Right side")
    # next year's file: a description changes, a code is discontinued, a code is added
    nxt = fx.hcpcs_file(
        tmp_path / "HCPC2021_ANWEB.txt",
        [
            fx.hcpcs_record(
                "RT",
                "Right side (used to identify procedures performed on the right side of the body)",
                "Right side",
                modifier=True,
            ),
            fx.hcpcs_record("G0439", LONG, "Ppps, subseq visit", added="20110101"),
            fx.hcpcs_record(
                "J1030",
                "Injection, methylprednisolone acetate, 40 mg (new wording)",
                "Methylprednisolone 40 mg inj",
            ),
            fx.hcpcs_record("G9999", "Retired demo code", "Retired", term="20191231", action="D"),
            fx.hcpcs_record(
                "G2211",
                "Visit complexity inherent to evaluation and management",
                "Complex e/m visit add on",
                added="20210101",
                action="A",
            ),
        ],
    )
    rep = loader.load(db, "hcpcs", [nxt])
    ch = {(c["change"], c["code"], c["field"]) for c in rep.changes}
    assert ch == {
        ("changed", "J1030", "description"),
        ("added", "G2211", ""),
        ("deleted", "LT", "modifier"),
    }
    assert query.lookup(db, ["J1030"], on="2020-06-01")[0]["description"].endswith("40 mg")


def test_hcpcs_xlsx_twin(db, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Note regarding coverage and payment indicators"])
    ws.append([])
    ws.append(
        [
            "HCPC",
            "SEQNUM",
            "RECID",
            "LONG DESCRIPTION",
            "SHORT DESCRIPTION",
            "ADD DT",
            "ACT EFF DT",
            "TERM DT",
            "ACTION CD",
        ]
    )
    ws.append(
        [
            "G0439",
            "00100",
            3,
            "Annual wellness visit, includes a personalized",
            "Ppps, subseq visit",
            "20110101",
            "20110101",
            None,
            "N",
        ]
    )
    ws.append(
        [
            "G0439",
            "00200",
            4,
            "prevention plan of service (pps), subsequent visit",
            None,
            None,
            None,
            None,
            None,
        ]
    )
    ws.append(["   RT", "00100", 7, "Right side", "Right side", 20020701, 20020701, None, "N"])
    p = tmp_path / "HCPC2020_ANWEB.xlsx"
    wb.save(p)
    rep = loader.load(db, "hcpcs", [p])
    assert rep.rows_in_file == 2
    g = query.lookup(db, ["G0439"])[0]
    assert (
        g["description"]
        == "Annual wellness visit, includes a personalized prevention plan of service (pps), subsequent visit"
    )
    assert query.lookup(db, ["RT"])[0]["valid_from"] == "2002-07-01"


def test_hcpcs_bad_record_and_xls(cli, codes_db_path, tmp_path):
    p = _hcpcs_2020(tmp_path)
    with open(p, "ab") as fh:
        fh.write(b"J1030001003too short\r\n")
    r = cli("codes", "load", "hcpcs", p)
    assert r.exit_code == 2 and "row" in r.output and "320" in r.output
    xls = tmp_path / "HCPC2020_ANWEB_w_disclaimer.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    r = cli("codes", "load", "hcpcs", xls)
    assert r.exit_code == 2 and "save as .xlsx" in r.output


@pytest.mark.corpus
def test_hcpcs_2020_release_loads_every_code(corpus, db, tmp_path):
    """The real CMS 2020 release: every procedure and modifier code with its full description."""
    z = zipfile.ZipFile(corpus / "hcpcs" / "2020-Alpha-Numeric-HCPCS-File.zip")
    name = next(n for n in z.namelist() if n.endswith("ANWEB_w_disclaimer.txt"))
    path = tmp_path / name
    path.write_bytes(z.read(name))
    # an independent count of first records straight from the bytes
    text = path.read_bytes().decode("cp1252")
    import re

    firsts = {}
    for line in text.split("\r\n"):
        m = re.match(r"^([A-Z0-9 ]{5})\d{5}([37])", line)
        if m:
            firsts[m.group(1).strip()] = m.group(2)
    rep = loader.load(db, "hcpcs", [path])
    assert rep.label == "CMS 2020 annual"
    procs = db.execute(
        "SELECT COUNT(DISTINCT code) FROM codes WHERE code_system = 'hcpcs'"
    ).fetchone()[0]
    mods = db.execute(
        "SELECT COUNT(DISTINCT code) FROM codes WHERE code_system = 'modifier'"
    ).fetchone()[0]
    assert procs == sum(1 for v in firsts.values() if v == "3") == 6710
    assert mods == sum(1 for v in firsts.values() if v == "7") == 369
    assert db.execute("SELECT COUNT(*) FROM codes WHERE description = ''").fetchone()[0] == 0
    j = query.lookup(db, ["J1030"])[0]
    assert j["description"] == "Injection, methylprednisolone acetate, 40 mg"
    a = query.lookup(db, ["A0090"])[0]  # a long description continued on a second record
    assert a["description"].startswith(
        "Non-emergency transportation, per mile - vehicle provided by individual (family "
    )
    assert len(a["description"]) > 80


# ------------------------------------------------------------------ CPT, modifiers


def test_cpt_and_modifier_lists(db, tmp_path):
    cpt = tmp_path / "cpt-2026.csv"
    cpt.write_text(
        "Code,Description\n99213,Office visit (licensed text)\n0001F,Heart failure assessed\n"
    )
    rep = loader.load(db, "cpt", [cpt], label="CPT 2026 (licensed)", effective="2026-01-01")
    assert rep.rows_in_file == 2
    assert query.lookup(db, ["99213"])[0]["version"] == "CPT 2026 (licensed)"
    mods = tmp_path / "modifiers.csv"
    mods.write_text(
        'Modifier,Description\n25,"Significant, separately identifiable E/M"\n59,Distinct procedural service\n'
    )
    rep = loader.load(
        db, "modifiers", [mods], label="Level I modifiers 2026", effective="2026-01-01"
    )
    assert query.lookup(db, ["59"], system="modifier")[0]["found"]
    bad = tmp_path / "cpt-bad.csv"
    bad.write_text("Code,Description\n9921,Bad\n")
    from billadmin.errors import InvalidRows

    with pytest.raises(InvalidRows) as e:
        loader.load(db, "cpt", [bad], label="bad", effective="2027-01-01")
    assert "row 2" in e.value.details[0] and "5 digits" in e.value.details[0]


# ------------------------------------------------------------------ NCCI PTP and MUE


def test_ptp_text_files_one_quarter(db, tmp_path):
    f1 = fx.ptp_file(tmp_path / "ccipra-v322r0-f1.txt", [("80053", "80048", "20000101", "*", 0)])
    f2 = fx.ptp_file(
        tmp_path / "ccipra-v322r0-f2.txt",
        [("20610", "99213", "19950101", "*", 1), ("20610", "99212", "20100101", "20200101", 1)],
    )
    rep = loader.load(db, "ncci-ptp", [f1, f2])
    assert (rep.label, rep.effective_from, rep.rows_in_file) == ("PTP v32.2r0", "2026-07-01", 3)
    rows = db.execute(
        "SELECT column1, column2, prior_1996, effective_from, deleted_on, modifier_indicator FROM ncci_ptp"
        " ORDER BY column2"
    ).fetchall()
    assert rows == [
        ("80053", "80048", 0, "2000-01-01", None, 0),
        ("20610", "99212", 0, "2010-01-01", "2020-01-01", 1),
        ("20610", "99213", 1, "1995-01-01", None, 1),
    ]
    v = store.versions(db, "ncci-ptp")[0]
    assert v["effective_to"] == "2026-09-30"
    # next quarter: an indicator changes, an edit is deleted, one is added
    fx.setup_parties(db)
    hit = fx.add_encounter(
        db, fx.add_patient(db), lines=(("93000", (), "1", 1, 6500), ("93005", (), "1", 1, 3000))
    )
    g = fx.ptp_file(
        tmp_path / "ccipra-v323r0-f1.txt",
        [
            ("80053", "80048", "20000101", "*", 1),
            ("20610", "99213", "19950101", "20261001", 1),
            ("20610", "99212", "20100101", "20200101", 1),
            ("93000", "93005", "20000101", "*", 0),
        ],
    )
    rep = loader.load(db, "ncci-ptp", [g], scrub=scrub.check)
    assert (
        rep.counts["added"] == 1
        and rep.counts["deleted"] == 1
        and rep.counts["modifier indicator changed"] == 1
    )
    # which unbilled lines the new quarter's edits now deny
    assert [(a["encounter_id"], a["line"], a["code"]) for a in rep.affected] == [(hit, 2, "93005")]
    assert rep.affected[0]["problem"].startswith(
        "NCCI-PTP: 93005 is column 2 of NCCI edit 93000/93005"
    )


def test_ptp_xlsx_and_problems(db, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["CPT only copyright 2025 American Medical Association. All rights reserved."])
    ws.append(
        [
            "Column 1",
            "Column 2",
            "*=in existence prior to 1996",
            "Effective Date",
            "Deletion Date",
            "Modifier",
            "PTP Edit Rationale",
        ]
    )
    ws.append([None, None, None, None, "*=no data", "0=not allowed", None])
    ws.append([80053, "80048", None, 20000101, "*", 0, "CPT Manual"])
    p = tmp_path / "ccipra-v322r0-f1.xlsx"
    wb.save(p)
    rep = loader.load(db, "ncci-ptp", [p])
    assert rep.rows_in_file == 1
    bad = tmp_path / "ccipra-v323r0-f1.txt"
    bad.write_text(
        "Column 1\tColumn 2\t*\tEffective Date\tDeletion Date\tModifier\tRationale\n"
        "80053\t80048\t\t2000-01-01\t*\t0\tx\n80053\t80047\t\t20000101\t*\t5\tx\n"
    )
    from billadmin.errors import InvalidRows

    with pytest.raises(InvalidRows) as e:
        loader.load(db, "ncci-ptp", [bad])
    assert e.value.details == [
        "ccipra-v323r0-f1.txt, row 2, column 'Effective Date': must be a date YYYYMMDD",
        "ccipra-v323r0-f1.txt, row 3, column 'Modifier': must be 0 (not allowed), 1 (allowed) or 9 (not applicable)",
    ]
    nohdr = tmp_path / "notptp.txt"
    nohdr.write_text("a\tb\n")
    from billadmin.errors import BadInput

    with pytest.raises(BadInput, match="no header row"):
        loader.load(db, "ncci-ptp", [nohdr], label="x", effective="2027-01-01")


def test_mue_csv_two_quarters(db, tmp_path):
    f = fx.mue_file(
        tmp_path / "MCR_MUE_PractitionerServices_Eff_2026-07-01.csv",
        [("36415", 2, 2), ("20610", 2, 1)],
    )
    rep = loader.load(db, "mue", [f])
    assert (rep.label, rep.effective_from) == ("MUE effective 2026-07-01", "2026-07-01")
    assert db.execute("SELECT code, mue_value, mai FROM mue ORDER BY code").fetchall() == [
        ("20610", 2, 1),
        ("36415", 2, 2),
    ]
    g = fx.mue_file(
        tmp_path / "MCR_MUE_PractitionerServices_Eff_2026-10-01.csv",
        [("36415", 3, 2), ("97110", 8, 3)],
    )
    rep = loader.load(db, "mue", [g])
    assert rep.counts == {
        "added": 1,
        "deleted": 1,
        "description changed": 0,
        "billable changed": 0,
        "MUE value changed": 1,
    }
    rows = db.execute(
        "SELECT code, mue_value, effective_from, effective_to FROM mue WHERE code = '36415' ORDER BY id"
    ).fetchall()
    assert rows == [("36415", 2, None, "2026-09-30"), ("36415", 3, "2026-10-01", None)]
    nohdr = tmp_path / "x.csv"
    nohdr.write_text("code,value\n36415,2\n")
    from billadmin.errors import BadInput

    with pytest.raises(BadInput, match="no header row"):
        loader.load(db, "mue", [nohdr], label="x", effective="2027-01-01")


def test_versions_and_rules_commands(cli, codes_db_path):
    r = cli("codes", "versions", "-f", "json")
    assert r.exit_code == 0 and _json(r)[0]["label"] == "CDC April 2026 (bundled)"
    r = cli("codes", "rules", "-f", "json")
    rules = {x["rule"]: x for x in _json(r)}
    assert {"ICD-BILLABLE", "ICD-EXCLUDES1", "NCCI-PTP", "MUE-DAY", "CLM-TIMELY"} <= set(rules)
    assert all(x["source"] and x["checks"] for x in rules.values())
