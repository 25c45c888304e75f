"""The terminal face (issue 14): what a clerk reads when an option, a column or a payer is not
what the command expected. Date options never suggest an option the command lacks; `remit list`
names payers one way; "adjusted" is one amount everywhere; key-like import columns that match
nothing stop the import; charge lines that carry only their own diagnoses (--line-diagnoses)."""

from __future__ import annotations

import pytest
from test_import import H, base, charge, dump, patient, q, write  # noqa: F401  (base: a fixture)

from billadmin import dates
from billadmin.errors import BadInput

# --- date options never suggest --date-format -----------------------------------------------


def test_parse_option_never_suggests_date_format():
    with pytest.raises(BadInput) as e:
        dates.parse_option("03/01/2026", "--since")
    assert str(e.value).startswith("--since: not a date in YYYY-MM-DD form")
    assert "--date-format" not in str(e.value)


def test_file_dates_still_name_the_format_option():
    with pytest.raises(dates.DateError, match=r"use --date-format for others"):
        dates.parse_date("03/01/2026")
    with pytest.raises(dates.DateError) as e:
        dates.parse_date("03/01/2026", format_option=None)
    assert "--date-format" not in str(e.value)


@pytest.mark.parametrize(
    "args",
    [
        ("remit", "list", "--since", "03/01/2026"),
        ("report", "aging", "--as-of", "03/01/2026"),
        ("denial", "list", "--as-of", "03/01/2026"),
        ("payment", "list", "--from", "03/01/2026"),
        ("invoice", "list", "--since", "03/01/2026"),
        ("appeal", "list", "--as-of", "03/01/2026"),
    ],
)
def test_date_options_on_commands_without_date_format(db, cli, args):
    r = cli(*args)
    assert r.exit_code == 2, r.output
    assert f"{args[2]}: not a date in YYYY-MM-DD form" in r.stderr
    assert "--date-format" not in r.stderr


def test_import_date_cell_suggests_date_format(db, cli, tmp_path):
    f = tmp_path / "patients.csv"
    f.write_text("MRN,First Name,Last Name,DOB,Sex\n0001,Ann,Lee,02/03/1980,F\n", encoding="utf-8")
    r = cli("import", "patients", f)
    assert r.exit_code == 2, r.output
    assert "use --date-format for others" in r.stderr


# --- remit: payers named one way, "adjusted" one amount -------------------------------------


def _json(r):
    import json

    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_adjusted_is_one_amount_in_remit_show_and_list(cli, db, tmp_path):
    """CO-45 30.00 + CO-45 5.00 adjusted, PR-2 20.00 the patient's: adjusted is 35.00 in
    `remit show` (json and csv, claim and lines) and in `remit list --claims`, and
    charge = paid + patient_resp + adjusted."""
    from test_remit_post import paid_remit
    from test_remit_support import issue_claim

    issue_claim(db, "C000001", [("99213", "", "140.00"), ("36415", "", "15.00")])
    f = paid_remit().write(tmp_path / "a.835")
    doc = _json(cli("remit", "show", f, "-f", "json"))
    claim = doc["transactions"][0]["claims"][0]
    assert claim["adjusted"] == "35.00"
    assert [ln["adjusted"] for ln in claim["lines"]] == ["30.00", "5.00"]
    assert [ln["patient_resp"] for ln in claim["lines"]] == ["20.00", "0.00"]
    shown = cli("remit", "show", f, "-f", "csv")
    assert shown.exit_code == 0, shown.output
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(shown.stdout)))
    assert [(r["line"], r["patient_resp"], r["adjusted"]) for r in rows] == [
        ("", "20.00", "35.00"),
        ("1", "20.00", "30.00"),
        ("2", "0.00", "5.00"),
    ]
    assert cli("remit", "import", f).exit_code == 0
    listed = _json(cli("remit", "list", "--claims", "-f", "json"))
    assert [(c["claim_number"], c["patient_resp"], c["adjusted"]) for c in listed] == [
        ("C000001", "20.00", "35.00")
    ]
    c = listed[0]
    assert float(c["charge"]) == float(c["paid"]) + 20 + 35


def test_split_adjustments_rule():
    from billadmin.remit.views import split_adjustments

    pairs = [("CO", 3000), ("PR", 2000), ("OA", 100), ("PI", 50), ("CR", -25), ("PR", 5)]
    assert split_adjustments(pairs) == (2005, 3125)
    assert split_adjustments([]) == (0, 0)


def test_remit_list_names_payers_one_way(cli, db, tmp_path):
    """Our payer's code whether the posting matched it by electronic id (T1) or only its name
    matches (T2, any case); a payer we do not have keeps its 835 name (T3); --payer KEY finds
    both of Keystone's."""
    from test_remit_support import Remit, ensure_party

    from billadmin import db as dbmod

    with dbmod.write(db):
        ensure_party(db, payer_code="KEY", payer_x12="KEY77")
        db.execute("UPDATE payers SET name = 'Keystone Commercial' WHERE code = 'KEY'")
    files = [
        Remit(trace="T1", payer="KEYSTONE COMM. INS", payer_tin="KEY77"),
        Remit(trace="T2", payer="KEYSTONE COMMERCIAL", payer_tin="1999999999"),
        Remit(trace="T3", payer="ACME HEALTH", payer_tin="1888888888"),
    ]
    for i, rm in enumerate(files):
        rm.claim(f"X{i}", "1", "100", "80", cas=[("CO", "45", "20")])
        assert cli("remit", "import", rm.write(tmp_path / f"{i}.835")).exit_code == 0
    rows = _json(cli("remit", "list", "-f", "json"))
    assert {r["trace_number"]: r["payer"] for r in rows} == {
        "T1": "KEY",
        "T2": "KEY",
        "T3": "ACME HEALTH",
    }
    assert sorted(
        r["trace_number"] for r in _json(cli("remit", "list", "--payer", "key", "-f", "json"))
    ) == ["T1", "T2"]
    assert [
        r["trace_number"] for r in _json(cli("remit", "list", "--payer", "acme", "-f", "json"))
    ] == ["T3"]


def test_remit_list_names_a_payer_added_after_its_835(cli, db, tmp_path):
    """The 835 was posted before the payer existed: listed by name then, by code once added
    (its electronic payer id is the 835's TRN03 without the leading 1)."""
    from test_remit_support import Remit

    from billadmin import db as dbmod

    rm = Remit(trace="T9", payer="SUMMIT HP", payer_tin="1555555555")
    rm.claim("X9", "1", "100", "80", cas=[("CO", "45", "20")])
    assert cli("remit", "import", rm.write(tmp_path / "s.835")).exit_code == 0
    assert [r["payer"] for r in _json(cli("remit", "list", "-f", "json"))] == ["SUMMIT HP"]
    with dbmod.write(db):
        db.execute(
            "INSERT INTO payers (code, name, kind, x12_payer_id)"
            " VALUES ('SUM', 'Summit Health Plan', 'commercial', '555555555')"
        )
    assert [r["payer"] for r in _json(cli("remit", "list", "-f", "json"))] == ["SUM"]


# --- imports: key-like columns that match nothing stop the import ---------------------------


def _renamed(rows: list[dict], old: str, new: str) -> list[dict]:
    return [{(new if k == old else k): v for k, v in r.items()} for r in rows]


def _headers(kind: str, old: str, new: str) -> list[str]:
    return [new if h == old else h for h in H[kind]]


def test_dx_pointer_is_an_alias_of_the_pointer_column(base, cli, db_path, tmp_path):
    rows = [charge("E1", 1, ptr="1"), charge("E1", 2, code="36415", ptr="2", amount="15.00")]
    f = write(
        tmp_path / "c.csv",
        _headers("charges", "Pointers", "Dx Pointer"),
        _renamed(rows, "Pointers", "Dx Pointer"),
    )
    r = cli("import", "charges", f)
    assert r.exit_code == 0, r.stderr
    assert q(db_path, "SELECT line_no, dx_pointers FROM charge_lines ORDER BY line_no") == [
        (1, "1"),
        (2, "2"),
    ]


@pytest.mark.parametrize("header", ["Diag Ptr", "DxPointer Codes", "ICD Pointers (A-L)"])
def test_a_pointer_like_column_that_matches_nothing_stops_the_import(
    base, cli, db_path, tmp_path, header
):
    rows = _renamed([charge("E1", 1, ptr="1")], "Pointers", header)
    f = write(tmp_path / "c.csv", _headers("charges", "Pointers", header), rows)
    before = dump(db_path)
    r = cli("import", "charges", f)
    assert r.exit_code == 2, r.output
    assert f"c.csv: column {header!r} looks like Pointers (pointers)" in r.stderr
    assert "nothing was imported" in r.stderr and "--map" in r.stderr
    assert dump(db_path) == before
    # said which column it is, the same file imports
    m = tmp_path / "map.toml"
    m.write_text(f'[columns]\npointers = "{header}"\n', encoding="utf-8")
    r = cli("import", "charges", f, "--map", m)
    assert r.exit_code == 0, r.stderr
    assert q(db_path, "SELECT dx_pointers FROM charge_lines") == [("1",)]


def test_chart_number_is_the_mrn_for_every_kind_with_one(base, cli, db_path, tmp_path):
    pf = write(
        tmp_path / "p.csv",
        _headers("patients", "MRN", "Chart Number"),
        [_renamed([patient("0009")], "MRN", "Chart Number")[0]],
    )
    assert cli("import", "patients", pf).exit_code == 0
    cov = {
        "Chart No": "0009",
        "Payer Code": "KEY",
        "Member ID": "K0099",
        "Effective From": "2025-01-01",
    }
    cf = write(tmp_path / "cov.csv", list(cov), [cov])
    r = cli("import", "coverage", cf)
    assert r.exit_code == 0, r.stderr
    rows = _renamed([charge("E9", 1, mrn="0009", ptr="1")], "MRN", "Chart Number")
    ch = write(tmp_path / "c.csv", _headers("charges", "MRN", "Chart Number"), rows)
    r = cli("import", "charges", ch)
    assert r.exit_code == 0, r.stderr
    assert q(
        db_path,
        "SELECT p.mrn FROM encounters e JOIN patients p ON p.id = e.patient_id"
        " JOIN coverages c ON c.patient_id = p.id",
    ) == [("0009",)]


def test_a_member_like_column_stops_a_coverage_import(base, cli, db_path, tmp_path):
    cov = {"MRN": "0002", "Payer Code": "KEY", "Member #": "K0123", "Effective From": "2025-01-01"}
    f = write(tmp_path / "cov.csv", list(cov), [cov])
    before = dump(db_path)
    r = cli("import", "coverage", f)
    assert r.exit_code == 2, r.output
    assert "cov.csv: column 'Member #' looks like Member ID (member_id)" in r.stderr
    assert "K0123" not in r.output
    assert dump(db_path) == before


def test_a_missing_required_column_names_the_column_that_looks_like_it(db, cli, tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("Chart Ref,First Name,Last Name,DOB,Sex\n1,A,B,1980-01-01,F\n", encoding="utf-8")
    r = cli("import", "patients", f)
    assert r.exit_code == 2
    assert "missing required column(s): MRN" in r.stderr
    assert "column 'Chart Ref' looks like MRN (mrn)" in r.stderr


@pytest.mark.parametrize(
    "kind,header,field",
    [
        ("charges", "Dx Ptr", "pointers"),
        ("charges", "dx_pointers_1", "pointers"),
        ("charges", "DxPointer", "pointers"),
        ("charges", "Referring NPI", "npi"),
        ("charges", "Date of Service (From)", "dos"),
        ("charges", "CPT Code", "code"),
        ("charges", "Visit #", "encounter"),
        ("charges", "Dosage", None),
        ("charges", "Units of Measure", None),
        ("coverage", "Membership Type", None),
        ("coverage", "Policy No.", "member_id"),
        ("patients", "Patient Chart", "mrn"),
        ("payers", "NPI", None),
    ],
)
def test_looks_like(kind, header, field):
    from billadmin.ingest.columns import looks_like

    assert looks_like(kind, header) == field


# --- charge lines that carry only their own diagnoses (--line-diagnoses) -------------------


def _own(enc, line, dx, **kw):
    """A line of an EHR export: its own diagnoses in Dx1.., no pointers."""
    return charge(enc, line, dx=dx, ptr="", **kw)


def _encounter_dx(db_path, enc):
    return [
        c
        for (c,) in q(
            db_path,
            "SELECT d.code FROM encounter_diagnoses d JOIN encounters e ON e.id = d.encounter_id"
            " WHERE e.number = ? ORDER BY d.seq",
            (enc,),
        )
    ]


def _pointers(db_path, enc):
    return q(
        db_path,
        "SELECT l.line_no, l.dx_pointers FROM charge_lines l JOIN encounters e"
        " ON e.id = l.encounter_id WHERE e.number = ? ORDER BY l.line_no",
        (enc,),
    )


def _line_dx_file(tmp_path):
    rows = [
        _own("E1", 1, ("E11.9", "I10")),
        _own("E2", 1, ("J06.9",), mrn="0002"),
        _own("E1", 2, ("R73.09",), code="83036", amount="40.00"),
        _own("E1", 3, ("I10", "e785"), code="80061", amount="48.00"),
    ]
    headers = [h for h in H["charges"] if h != "Pointers"]
    return write(tmp_path / "ehr-lines.csv", headers, rows)


def test_line_diagnoses_union_and_computed_pointers(base, cli, db_path, tmp_path):
    f = _line_dx_file(tmp_path)
    r = cli("import", "charges", f, "--line-diagnoses")
    assert r.exit_code == 0, r.stderr
    assert "4 inserted" in r.stderr and "2 encounters created" in r.stderr
    assert _encounter_dx(db_path, "E1") == ["E11.9", "I10", "R73.09", "E78.5"]
    assert _pointers(db_path, "E1") == [(1, "1,2"), (2, "3"), (3, "2,4")]
    assert _encounter_dx(db_path, "E2") == ["J06.9"]
    assert _pointers(db_path, "E2") == [(1, "1")]
    # the same file again changes nothing
    before = dump(db_path)
    r = cli("import", "charges", f, "--line-diagnoses")
    assert r.exit_code == 0 and "0 inserted" in r.stderr and "4 unchanged" in r.stderr
    strip = lambda d: [x for x in d if "import_batches" not in x and "audit_log" not in x]  # noqa: E731
    assert strip(dump(db_path)) == strip(before)


def test_without_the_flag_such_a_file_is_refused_with_a_hint(base, cli, db_path, tmp_path):
    before = dump(db_path)
    r = cli("import", "charges", _line_dx_file(tmp_path))
    assert r.exit_code == 2
    assert "disagrees with row 2 of the same encounter in: diagnoses" in r.stderr
    assert "--line-diagnoses" in r.stderr
    assert dump(db_path) == before


def test_line_diagnoses_refuses_a_file_with_pointers(base, cli, db_path, tmp_path):
    rows = [_own("E1", 1, ("E11.9",)), charge("E1", 2, dx=("I10",), ptr="1", code="36415")]
    f = write(tmp_path / "mixed.csv", "charges", rows)
    before = dump(db_path)
    r = cli("import", "charges", f, "--line-diagnoses")
    assert r.exit_code == 2, r.output
    assert "mixed.csv: row 3: column 'Pointers' holds diagnosis pointers" in r.stderr
    assert "one shape or the other" in r.stderr
    assert dump(db_path) == before
    # an empty Pointers column is no second shape
    ok = write(tmp_path / "ok.csv", "charges", [_own("E1", 1, ("E11.9",))])
    assert cli("import", "charges", ok, "--line-diagnoses").exit_code == 0
    assert _pointers(db_path, "E1") == [(1, "1")]


def test_line_diagnoses_line_rules(base, cli, db_path, tmp_path):
    rows = [
        _own("E1", 1, ("E11.9", "I10", "E78.5", "R73.09", "J06.9")),  # 5 on one line
        _own("E1", 2, ("I10", "I10"), code="36415"),  # repeated
        _own("E2", 1, ("E11.9", "X"), mrn="0002"),  # not a code
    ]
    f = write(tmp_path / "bad.csv", [h for h in H["charges"] if h != "Pointers"], rows)
    r = cli("import", "charges", f, "--line-diagnoses")
    assert r.exit_code == 2
    err = r.stderr
    assert "row 2, column 'Dx5': a line names at most 4 diagnoses" in err
    assert "row 3, column 'Dx2': the same diagnosis twice on one line" in err
    assert "row 4, column 'Dx2': not shaped like an ICD-10-CM code" in err
    assert q(db_path, "SELECT COUNT(*) FROM encounters") == [(0,)]


def test_line_diagnoses_more_than_12_in_an_encounter(base, cli, db_path, tmp_path):
    codes = [f"E11.{i}" for i in range(10)] + ["I10", "J06.9", "R73.09"]  # 13
    rows = [
        _own("E1", i + 1, (c,), code="99213" if i == 0 else "36415") for i, c in enumerate(codes)
    ]
    f = write(tmp_path / "many.csv", [h for h in H["charges"] if h != "Pointers"], rows)
    r = cli("import", "charges", f, "--line-diagnoses")
    assert r.exit_code == 2
    assert "the encounter's lines name 13 diagnoses; a claim carries at most 12" in r.stderr


def test_line_diagnoses_add_to_an_existing_encounter(base, cli, db_path, tmp_path):
    """A later file's lines extend the stored list (earlier pointers keep their meaning): a
    conflict on the diagnoses until --update."""
    headers = [h for h in H["charges"] if h != "Pointers"]
    first = write(tmp_path / "a.csv", headers, [_own("E1", 1, ("E11.9", "I10"))])
    assert cli("import", "charges", first, "--line-diagnoses").exit_code == 0
    later = write(
        tmp_path / "b.csv", headers, [_own("E1", 2, ("E78.5", "I10"), code="80061", amount="48")]
    )
    r = cli("import", "charges", later, "--line-diagnoses")
    assert r.exit_code == 1 and "different diagnoses" in r.stderr
    r = cli("import", "charges", later, "--line-diagnoses", "--update")
    assert r.exit_code == 0, r.stderr
    assert _encounter_dx(db_path, "E1") == ["E11.9", "I10", "E78.5"]
    assert _pointers(db_path, "E1") == [(1, "1,2"), (2, "3,2")]


def test_line_diagnoses_is_for_charges_only(base, cli, tmp_path):
    r = cli("import", "patients", tmp_path / "x.csv", "--line-diagnoses")
    assert r.exit_code == 2 and "No such option: --line-diagnoses" in r.output
