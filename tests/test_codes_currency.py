"""Code-set currency: an ended ICD-10-CM release is reported once a run (lines, encounters,
dates, the release to load and how), not once a visit."""

from __future__ import annotations

import datetime as dt

import codes_fixtures as fx
from codes_fixtures import cdb, codes_db_path, icd_template  # noqa: F401  (fixtures)

from billadmin.scrub import check


def _enc(conn, dos, n_lines=1):
    lines = tuple(("99213" if i == 0 else "36415", (), "1", 1, 14000) for i in range(n_lines))
    return fx.add_encounter(conn, fx.add_patient(conn), dx=("E11.9",), lines=lines, dos=dos)


def test_an_ended_release_is_said_once_per_run(cdb):
    fx.setup_parties(cdb)
    _enc(cdb, "2026-10-05", 2)
    _enc(cdb, "2026-11-20", 1)
    _enc(cdb, "2026-11-20", 2)
    inside = _enc(cdb, "2026-09-30", 1)
    found = check(cdb, as_of=dt.date(2026, 11, 26))
    rel = [f for f in found if f.rule == "ICD-RELEASE"]
    assert len(rel) == 1
    (f,) = rel
    assert (f.severity, f.encounter, f.line) == ("warning", None, None)
    # 2 + 1 + 2 lines in three encounters after 2026-09-30
    assert f.message.startswith(
        "5 unbilled line(s) in 3 encounter(s) with dates of service 2026-10-05 to 2026-11-20"
        " are after the loaded ICD-10-CM release 'CDC April 2026 (bundled)' (in force to 2026-09-30)"
    )
    assert "load the FY2027 ICD-10-CM release (effective 2026-10-01) or later" in f.message
    assert "`billadmin codes load icd10cm icd10cm-order-2027.txt`" in f.message
    assert "CDC April 2026 (bundled)" in f.source
    assert not [f for f in found if f.encounter_id == inside and f.rule == "ICD-RELEASE"]


def test_codes_check_prints_one_release_line(cli, cdb):
    fx.setup_parties(cdb)
    for day in ("2026-10-05", "2026-10-06", "2026-10-07"):
        _enc(cdb, day)
    r = cli("codes", "check", "--as-of", "2026-11-01", "-f", "csv")
    assert r.exit_code == 0, r.output
    assert r.stdout.count("ICD-RELEASE") == 1 and "3 unbilled line(s) in 3 encounter(s)" in r.stdout
    assert "0 error(s) in 0 encounter(s), 1 warning(s)" in r.stderr


def test_no_release_line_when_every_dos_is_covered(cdb):
    fx.setup_parties(cdb)
    _enc(cdb, "2026-06-15")
    assert not [f for f in check(cdb, as_of=dt.date(2026, 6, 30)) if f.rule == "ICD-RELEASE"]


def test_hcpcs_quarterly_files_take_their_quarter_from_the_name(cli, cdb, tmp_path):
    """CMS's quarterly files (HCPC2026_JAN_ANWEB.txt, HCPC2026_APR_ANWEB_v2.txt): same 320-character
    record, the quarter in the name gives the label and window; the next quarter ends the last."""
    from billadmin.codesets import loader, store

    jan = fx.hcpcs_file(
        tmp_path / "HCPC2026_JAN_ANWEB.txt",
        [
            fx.hcpcs_record("G0439", "Annual wellness visit, subsequent", "Ppps, subseq visit"),
            fx.hcpcs_record("A4550", "Surgical trays", "Surgical trays"),
        ],
    )
    apr = fx.hcpcs_file(
        tmp_path / "HCPC2026_APR_ANWEB_v2.txt",
        [
            fx.hcpcs_record("G0439", "Annual wellness visit, subsequent", "Ppps, subseq visit"),
            fx.hcpcs_record(
                "A4550", "Surgical trays", "Surgical trays", term="20260331", action="D"
            ),
            fx.hcpcs_record(
                "G0560", "Safety planning interventions", "Safety plan", added="20260401"
            ),
        ],
    )
    rep = loader.load(cdb, "hcpcs", [jan])
    assert (rep.label, rep.effective_from) == ("CMS 2026 January quarterly", "2026-01-01")
    rep = loader.load(cdb, "hcpcs", [apr])
    assert (rep.label, rep.effective_from) == ("CMS 2026 April quarterly", "2026-04-01")
    assert [
        (v["label"], v["effective_from"], v["effective_to"]) for v in store.versions(cdb, "hcpcs")
    ] == [
        ("CMS 2026 January quarterly", "2026-01-01", "2026-03-31"),
        ("CMS 2026 April quarterly", "2026-04-01", "2026-06-30"),
    ]
    r = cli("codes", "sets", "--as-of", "2026-07-15", "-f", "json")
    assert r.exit_code == 1
    import json

    row = {x["code_set"]: x for x in json.loads(r.stdout)}["HCPCS Level II"]
    assert row["covers_today"] is False and "ended 2026-06-30" in row["note"]
    assert "codes load hcpcs" in row["note"]
    r = cli("codes", "lookup", "A4550", "--date", "2026-04-02", "-f", "json")
    assert "not valid on 2026-04-02" in r.stdout
