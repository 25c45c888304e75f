"""Issue 20, what real claims carry: the charge file's NDC, ordering and referring providers,
prior authorization, referral and CLIA numbers and claim dates, imported (bad cells: file, row,
column, exit 2, nothing written), carried into the 837P in their own loops, and valid in pyx12."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin import npi
from billadmin.billing import generate as gen
from billadmin.ingest.claim_fields import normalise_ndc
from billadmin.ingest.columns import CellError
from billadmin.x12 import validate

REFERRING = npi.make("198765432")
ORDERING = npi.make("187654321")
HEAD = ["Encounter", "MRN", "DOS", "Rendering NPI", "Line", "Code", "Dx1", "Pointers", "Charge"]


@pytest.fixture
def practice_db(db):
    with dbmod.write(db):
        fx.practice(db)
        p = fx.patient(db, "0001", "Jane", "Smith")
        fx.coverage(db, p, "MCD", member="MCD0001")
    return db


def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _row(enc="E1", line=1, code="99213", charge="100.00"):
    return [enc, "0001", "2026-06-10", fx.npi.make("162738495"), line, code, "E11.9", "1", charge]


# ---- NDC normalisation: the forms accepted and refused -------------------------------------


@pytest.mark.parametrize(
    "raw, want",
    [
        ("12345-6789-01", "12345678901"),  # 5-4-2 as is
        ("12345678901", "12345678901"),  # 11 digits
        ("1234-5678-90", "01234567890"),  # 4-4-2: labeler padded
        ("12345-678-90", "12345067890"),  # 5-3-2: product padded
        ("12345-6789-1", "12345678901"),  # 5-4-1: package padded
        ("N412345678901", "12345678901"),  # the 837 qualifier written in front
        ("", None),
    ],
)
def test_ndc_forms_accepted(raw, want):
    assert normalise_ndc(raw) == want


@pytest.mark.parametrize(
    "raw, why",
    [
        ("1234567890", "ambiguous"),  # unhyphenated 10 digits
        ("123-4567-890", "5-4-2"),
        ("1234567890123", "11 digits"),
        ("12345-6789-0A", "11 digits"),
        (1234567890, "number cell"),
    ],
)
def test_ndc_forms_refused(raw, why):
    with pytest.raises(CellError, match=why):
        normalise_ndc(raw)


# ---- import ---------------------------------------------------------------------------------

FULL = HEAD + [
    "NDC",
    "NDC Unit",
    "NDC Quantity",
    "Ordering NPI",
    "Ordering Last Name",
    "Referring NPI",
    "Referring Last Name",
    "Referring First Name",
    "Prior Auth",
    "Referral Number",
    "CLIA",
    "Onset Date",
    "Accident Date",
    "Accident Cause",
    "Accident State",
]


def _full_rows() -> list[list]:
    extra_inj = ["1234-5678-90", "ml", "2", "", "", REFERRING, "Hale", "Rita", "PA777", "RF55"]
    extra_inj += ["", "2026-06-01", "2026-05-30", "auto", "Ohio"]
    extra_lab = ["", "", "", ORDERING, "Mori", REFERRING, "Hale", "Rita", "PA777", "RF55"]
    extra_lab += ["05D0123456", "", "", "", ""]
    return [
        _row(line=1, code="J1030", charge="40.00") + extra_inj,
        _row(line=2, code="85025", charge="25.00") + extra_lab,
    ]


def test_import_stores_the_claim_fields(practice_db, cli, db_path, tmp_path):
    f = _write(tmp_path / "charges.csv", FULL, _full_rows())
    r = cli("import", "charges", f)
    assert r.exit_code == 0, r.stderr
    rows = practice_db.execute(
        "SELECT line_no, ndc, ndc_unit, ndc_quantity, ordering_npi, ordering_last, referring_npi,"
        " referring_last, referring_first, prior_auth, referral_number, clia"
        " FROM charge_line_fields ORDER BY line_no"
    ).fetchall()
    assert rows == [
        (1, "01234567890", "ML", "2", None, None, REFERRING, "Hale", "Rita", "PA777", "RF55", None),
        (
            2,
            None,
            None,
            None,
            ORDERING,
            "Mori",
            REFERRING,
            "Hale",
            "Rita",
            "PA777",
            "RF55",
            "05D0123456",
        ),
    ]
    enc = practice_db.execute(
        "SELECT onset_date, initial_treatment_date, last_seen_date, accident_date,"
        " accident_cause, accident_state FROM encounter_fields"
    ).fetchall()
    assert enc == [("2026-06-01", None, None, "2026-05-30", "AA", "OH")]
    # the same file again changes nothing
    r = cli("import", "charges", f)
    assert r.exit_code == 0, r.stderr
    assert practice_db.execute("SELECT COUNT(*) FROM charge_line_fields").fetchone()[0] == 2


def test_an_unhyphenated_10_digit_ndc_is_refused_with_file_row_and_column(
    practice_db, cli, tmp_path
):
    rows = _full_rows()
    rows[1][FULL.index("NDC")] = "1234567890"
    rows[1][FULL.index("NDC Unit")] = "UN"
    rows[1][FULL.index("NDC Quantity")] = "1"
    f = _write(tmp_path / "charges.csv", FULL, rows)
    r = cli("import", "charges", f)
    assert r.exit_code == 2
    assert "charges.csv" in r.stderr and "row 3" in r.stderr and "'NDC'" in r.stderr
    assert "ambiguous" in r.stderr and "1234567890" not in r.stderr
    assert practice_db.execute("SELECT COUNT(*) FROM charge_lines").fetchone()[0] == 0
    assert practice_db.execute("SELECT COUNT(*) FROM charge_line_fields").fetchone()[0] == 0


@pytest.mark.parametrize(
    "column, value, reason",
    [
        ("NDC Unit", "KG", "must be one of"),
        ("NDC Quantity", "0", "above 0"),
        ("CLIA", "5D0123456", "CLIA number is 10"),
        ("Referring Last Name", "", "required with the referring NPI"),
        ("Accident Cause", "", "required with an accident date"),
        ("Accident State", "", "required for an auto accident"),
    ],
)
def test_bad_claim_field_cells_are_refused(practice_db, cli, tmp_path, column, value, reason):
    rows = _full_rows()
    rows[0][FULL.index(column)] = value
    f = _write(tmp_path / "charges.csv", FULL, rows)
    r = cli("import", "charges", f)
    assert r.exit_code == 2, r.stderr
    assert "row 2" in r.stderr and reason in r.stderr
    assert practice_db.execute("SELECT COUNT(*) FROM charge_lines").fetchone()[0] == 0


def test_claim_dates_of_one_encounter_must_agree(practice_db, cli, tmp_path):
    rows = _full_rows()
    rows[1][FULL.index("Onset Date")] = "2026-06-02"
    f = _write(tmp_path / "charges.csv", FULL, rows)
    r = cli("import", "charges", f)
    assert r.exit_code == 2
    assert "row 3" in r.stderr and "onset date" in r.stderr


def test_a_changed_ndc_is_a_conflict_until_update(practice_db, cli, tmp_path):
    f = _write(tmp_path / "charges.csv", FULL, _full_rows())
    assert cli("import", "charges", f).exit_code == 0
    rows = _full_rows()
    rows[0][FULL.index("NDC")] = "55555-4444-22"
    f2 = _write(tmp_path / "charges2.csv", FULL, rows)
    r = cli("import", "charges", f2)
    assert "conflict" in (r.stdout + r.stderr).lower()
    assert practice_db.execute("SELECT ndc FROM charge_line_fields WHERE line_no = 1").fetchone()[
        0
    ] == ("01234567890")
    r = cli("import", "charges", f2, "--update")
    assert r.exit_code == 0, r.stderr
    assert practice_db.execute("SELECT ndc FROM charge_line_fields WHERE line_no = 1").fetchone()[
        0
    ] == ("55555444422")


def test_a_file_without_the_columns_writes_no_field_rows(practice_db, cli, tmp_path):
    f = _write(tmp_path / "charges.csv", HEAD, [_row()])
    assert cli("import", "charges", f).exit_code == 0
    assert practice_db.execute("SELECT COUNT(*) FROM charge_line_fields").fetchone()[0] == 0
    assert practice_db.execute("SELECT COUNT(*) FROM encounter_fields").fetchone()[0] == 0


# ---- 837P -----------------------------------------------------------------------------------


def _segs(path: Path) -> list[str]:
    return [s.strip() for s in path.read_text().split("~") if s.strip()]


def _generate(db, tmp_path) -> list[str]:
    res = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out")
    [f] = [x for x in res.files if x.suffix == ".edi"]
    v = validate.validate_file(f)
    assert v.valid, [str(p) for p in v.problems]
    return _segs(f)


def _claim(segs: list[str]) -> list[str]:
    """The segments of the first claim: from CLM to the end of its lines."""
    start = next(i for i, s in enumerate(segs) if s.startswith("CLM*"))
    end = next(i for i, s in enumerate(segs) if s.startswith("SE*"))
    return segs[start:end]


def test_837p_carries_every_field_in_its_loop_and_pyx12_accepts_it(practice_db, cli, tmp_path):
    f = _write(tmp_path / "charges.csv", FULL, _full_rows())
    assert cli("import", "charges", f).exit_code == 0
    segs = _claim(_generate(practice_db, tmp_path))
    # 2300: CLM11 auto accident in Ohio, the dates, then REF*9F, REF*G1 (both lines share
    # them: claim level), REF*X4 (one CLIA on the claim: claim level)
    assert segs[0] == "CLM*C000001*65***11:B:1*Y*A*Y*Y**AA:::OH"
    assert segs[1:3] == ["DTP*431*D8*20260601", "DTP*439*D8*20260530"]
    assert segs[3:6] == ["REF*9F*RF55", "REF*G1*PA777", "REF*X4*05D0123456"]
    assert segs[6].startswith("HI*")
    # 2310A: one referring provider for the claim, before the rendering provider (2310B)
    assert segs[7] == f"NM1*DN*1*HALE*RITA****XX*{REFERRING}"
    assert segs[8].startswith("NM1*82*")
    # line 1: J1030 with its NDC (2410), no line-level REFs beyond 6R
    lx1 = segs.index("LX*1")
    lx2 = segs.index("LX*2")
    line1 = segs[lx1:lx2]
    assert line1[1] == "SV1*HC:J1030*40*UN*1***1"
    assert line1[3].startswith("REF*6R*")
    assert line1[4:6] == ["LIN**N4*01234567890", "CTP****2*ML"]
    # line 2: the lab test with its ordering provider (2420E)
    line2 = segs[lx2:]
    assert f"NM1*DK*1*MORI*****XX*{ORDERING}" in line2
    assert not any(s.startswith(("LIN*", "NM1*DN")) for s in line2)


def test_different_values_per_line_go_on_the_lines(practice_db, cli, tmp_path):
    rows = _full_rows()
    other = npi.make("176543210")
    rows[1][FULL.index("Referring NPI")] = other
    rows[1][FULL.index("Prior Auth")] = "PA888"
    rows[0][FULL.index("CLIA")] = "36D0999999"
    f = _write(tmp_path / "charges.csv", FULL, rows)
    assert cli("import", "charges", f).exit_code == 0
    segs = _claim(_generate(practice_db, tmp_path))
    head = segs[: segs.index("LX*1")]
    assert "REF*9F*RF55" in head  # the referral number is still one for both lines
    assert not any(s.startswith(("REF*G1", "REF*X4", "NM1*DN")) for s in head)
    lx2 = segs.index("LX*2")
    line1, line2 = segs[segs.index("LX*1") : lx2], segs[lx2:]
    assert line1[3] == "REF*G1*PA777" and line1[4].startswith("REF*6R*")
    assert line1[5] == "REF*X4*36D0999999"
    assert line1[-1] == f"NM1*DN*1*HALE*RITA****XX*{REFERRING}"  # 2420F
    assert line2[3] == "REF*G1*PA888" and "REF*X4*05D0123456" in line2
    assert line2[-2:] == [
        f"NM1*DK*1*MORI*****XX*{ORDERING}",  # 2420E before 2420F
        f"NM1*DN*1*HALE*RITA****XX*{other}",
    ]


def test_a_claim_without_the_fields_is_unchanged(practice_db, cli, tmp_path):
    f = _write(tmp_path / "charges.csv", HEAD, [_row()])
    assert cli("import", "charges", f).exit_code == 0
    segs = _claim(_generate(practice_db, tmp_path))
    assert segs[0] == "CLM*C000001*100***11:B:1*Y*A*Y*Y"
    assert not any(
        s.startswith(("DTP*431", "REF*G1", "REF*X4", "LIN*", "NM1*DN", "NM1*DK")) for s in segs
    )


# ---- scrub rules ----------------------------------------------------------------------------


def _scrub(db, rules) -> list[tuple]:
    from billadmin import scrub

    found = scrub.check(db, as_of=fx.TODAY, rules=rules)
    return sorted((f.rule, f.encounter, f.line) for f in found)


def _fields(db, enc_id: int, line_no: int, **values) -> None:
    cols = ", ".join(values)
    db.execute(
        f"INSERT INTO charge_line_fields (encounter_id, line_no, {cols}) VALUES (?, ?"
        + ", ?" * len(values)
        + ")",
        (enc_id, line_no, *values.values()),
    )


@pytest.fixture
def payers_db(db):
    """One patient per payer kind, each with an encounter of a J-code, a lab test and a visit."""
    with dbmod.write(db):
        fx.practice(db)
        for mrn, payer in (("0001", "MCD"), ("0002", "MCR"), ("0003", "KEY"), ("0004", "SELF")):
            p = fx.patient(db, mrn)
            fx.coverage(db, p, payer, member=f"M{mrn}")
            fx.encounter(
                db,
                p,
                "2026-06-10",
                [("J1030", 4000), ("85025", 2500), ("99213", 10000)],
                number=f"E{payer}",
            )
    return db


def _enc(db, number: str) -> int:
    return db.execute("SELECT id FROM encounters WHERE number = ?", (number,)).fetchone()[0]


def test_ndc_missing_for_medicaid_drugs_and_for_payers_that_require_it(payers_db, cli):
    db = payers_db
    # Medicaid (built-in, DRA 2005): the J-code line; Medicare and commercial: no rule
    assert _scrub(db, ["NDC-MISSING"]) == [("NDC-MISSING", "EMCD", 1)]
    # the commercial payer records its own requirement
    assert cli("auth", "require", "ndc", "--payer", "KEY", "--codes", "J*").exit_code == 0
    assert _scrub(db, ["NDC-MISSING"]) == [
        ("NDC-MISSING", "EKEY", 1),
        ("NDC-MISSING", "EMCD", 1),
    ]
    with dbmod.write(db):
        _fields(db, _enc(db, "EMCD"), 1, ndc="01234567890", ndc_unit="ML", ndc_quantity="2")
    assert _scrub(db, ["NDC-MISSING", "NDC-FORMAT", "NDC-UNIT"]) == [("NDC-MISSING", "EKEY", 1)]


def test_ndc_format_and_unit(payers_db):
    db = payers_db
    with dbmod.write(db):
        _fields(db, _enc(db, "EMCD"), 1, ndc="1234567890", ndc_unit="KG", ndc_quantity="0")
        _fields(db, _enc(db, "EKEY"), 1, ndc="12345678901")  # no unit, no quantity
    got = _scrub(db, ["NDC-FORMAT", "NDC-UNIT"])
    assert got == [
        ("NDC-FORMAT", "EMCD", 1),
        ("NDC-UNIT", "EKEY", 1),
        ("NDC-UNIT", "EKEY", 1),
        ("NDC-UNIT", "EMCD", 1),
        ("NDC-UNIT", "EMCD", 1),
    ]


def test_clia_missing_on_insurance_lab_lines(payers_db):
    db = payers_db
    # every insurance payer's lab line (85025), never the self-pay patient's
    assert _scrub(db, ["CLIA-MISSING"]) == [
        ("CLIA-MISSING", "EKEY", 2),
        ("CLIA-MISSING", "EMCD", 2),
        ("CLIA-MISSING", "EMCR", 2),
    ]
    with dbmod.write(db):
        for n in ("EKEY", "EMCD", "EMCR"):
            _fields(db, _enc(db, n), 2, clia="05D0123456")
    assert _scrub(db, ["CLIA-MISSING"]) == []


def test_referring_provider_for_medicare_lab_and_payer_rules(payers_db, cli):
    db = payers_db
    assert _scrub(db, ["REF-MISSING"]) == [("REF-MISSING", "EMCR", 2)]
    # the ordering provider on the lab line satisfies it
    with dbmod.write(db):
        _fields(db, _enc(db, "EMCR"), 2, ordering_npi=ORDERING, ordering_last="Mori")
    assert _scrub(db, ["REF-MISSING"]) == []
    # a commercial payer that wants the referring provider on office visits
    assert cli("auth", "require", "referring", "--payer", "KEY", "--codes", "99213").exit_code == 0
    assert _scrub(db, ["REF-MISSING"]) == [("REF-MISSING", "EKEY", 3)]
    with dbmod.write(db):
        _fields(db, _enc(db, "EKEY"), 1, referring_npi=REFERRING, referring_last="Hale")
    assert _scrub(db, ["REF-MISSING"]) == []  # a referring provider on the claim (2310A)


AUTH_RULES = ["AUTH-MISSING", "AUTH-EXPIRED", "AUTH-USED-UP"]


def test_authorization_missing_expired_and_used_up(db, cli, tmp_path):
    with dbmod.write(db):
        fx.practice(db)
        p = fx.patient(db, "0001")
        fx.coverage(db, p, "BVH", member="B0001")
        for i, d in enumerate(["2026-06-02", "2026-06-05", "2026-06-09", "2026-06-12"], 1):
            fx.encounter(db, p, d, [("97110", 6000), ("99213", 9000)], number=f"T{i}")
    assert _scrub(db, AUTH_RULES) == []  # no payer rule, no authorization: nothing to check
    assert cli("auth", "require", "auth", "--payer", "BVH", "--codes", "97110-97546").exit_code == 0
    assert _scrub(db, AUTH_RULES) == [("AUTH-MISSING", f"T{i}", 1) for i in range(1, 5)]
    # an authorization for 2 visits from June 4: T1 is before it, T2 and T3 use it, T4 is past
    r = cli(
        "auth",
        "add",
        "--payer",
        "BVH",
        "--mrn",
        "0001",
        "--number",
        "PA9",
        "--codes",
        "97110",
        "--from",
        "2026-06-04",
        "--to",
        "2026-06-30",
        "--visits",
        "2",
    )
    assert r.exit_code == 0, r.stderr
    assert _scrub(db, AUTH_RULES) == [("AUTH-EXPIRED", "T1", 1), ("AUTH-USED-UP", "T4", 1)]
    # the claims carry the register's number: one line authorized -> one number for the claim
    # (2300 REF*G1); T1's DOS is outside the authorization, so it carries none
    segs = _generate(db, tmp_path)
    claims = "~".join(segs).split("CLM*")[1:]
    assert [("REF*G1*PA9" in c) for c in claims] == [False, True, True, True]


def test_a_next_payer_claim_repeats_the_service_fields_not_the_authorization(db, tmp_path):
    """COB: the secondary's 837P names the same drug, ordering provider and dates as the
    primary's claim; the primary's authorization number is the primary's own."""
    import test_cob as cob_t

    with dbmod.write(db):
        fx.practice(db)
    cob_t._patient(db, "KEY", "BVH")
    eid = db.execute("SELECT id FROM encounters").fetchone()[0]
    with dbmod.write(db):
        _fields(
            db,
            eid,
            1,
            ndc="01234567890",
            ndc_unit="UN",
            ndc_quantity="1",
            ordering_npi=ORDERING,
            ordering_last="Mori",
            prior_auth="KEYPA1",
        )
        db.execute(
            "INSERT INTO encounter_fields (encounter_id, onset_date) VALUES (?, ?)",
            (eid, cob_t.DOS),
        )
    first = cob_t._run(db, tmp_path, "r1")
    _, segs = cob_t._edi(first, "KEY")
    assert "REF*G1*KEYPA1" in segs and "LIN**N4*01234567890" in segs
    cob_t._remit(db, tmp_path, "KEY", "EFT1", cob_t.KEY_ANSWER)
    _, segs = cob_t._edi(cob_t._run(db, tmp_path, "r2"), "BVH")
    onset = "DTP*431*D8*" + cob_t.DOS.replace("-", "")
    assert onset in segs and "LIN**N4*01234567890" in segs and "CTP****1*UN" in segs
    assert f"NM1*DK*1*MORI*****XX*{ORDERING}" in segs
    assert not any(s.startswith("REF*G1") for s in segs)


def test_a_replacement_claim_carries_the_fields_as_corrected(practice_db, cli, tmp_path):
    """invoice replace (frequency 7) rebuilds the claim from the encounter as it is now: an NDC
    corrected after billing goes out on the replacement, in the same 2410 loop."""
    from billadmin.billing import lifecycle

    f = _write(tmp_path / "charges.csv", FULL, _full_rows())
    assert cli("import", "charges", f).exit_code == 0
    _generate(practice_db, tmp_path)
    with dbmod.write(practice_db):
        practice_db.execute("UPDATE charge_line_fields SET ndc = '55555444422' WHERE line_no = 1")
    lifecycle.replace(
        practice_db, "C000001", scrub=fx.no_scrub, payer_claim_number_="ICN9", today=fx.TODAY
    )
    segs = _claim(_generate(practice_db, tmp_path))
    assert segs[0].startswith("CLM*C000002*65***11:B:7")
    assert "LIN**N4*55555444422" in segs and "REF*G1*PA777" in segs


def test_codes_check_file_sees_the_ndc_column(practice_db, cli, tmp_path):
    """A charge file scrubbed without import: its NDC column counts (Medicaid J-code)."""
    bare = _write(tmp_path / "bare.csv", HEAD, [_row(code="J1030", charge="40.00")])
    r = cli("codes", "check", "--file", bare, "--rule", "NDC-MISSING", "-f", "json")
    assert [x["rule"] for x in json.loads(r.stdout)] == ["NDC-MISSING"]
    head = HEAD + ["NDC", "NDC Unit", "NDC Quantity"]
    full = _write(
        tmp_path / "full.csv",
        head,
        [_row(code="J1030", charge="40.00") + ["1234-5678-90", "ML", "1"]],
    )
    r = cli(
        "codes",
        "check",
        "--file",
        full,
        "--rule",
        "NDC-MISSING",
        "--rule",
        "NDC-UNIT",
        "-f",
        "json",
    )
    assert json.loads(r.stdout) == [], r.stderr
    assert practice_db.execute("SELECT COUNT(*) FROM charge_line_fields").fetchone()[0] == 0
