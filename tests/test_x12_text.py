"""X12 text (issue 13): names and addresses transliterated, never shortened; a required name
or address with nothing writable holds that encounter only; identifiers with X12 delimiters
refused where they enter, never altered; 2010BA DMG only when the subscriber is the patient.
Every 837P written here passes pyx12 and parses with a second library (linuxforhealth-x12)."""

from __future__ import annotations

import json
from pathlib import Path

import invoice_fixtures as fx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from billadmin import db as dbmod
from billadmin.billing import generate as gen
from billadmin.billing import lifecycle
from billadmin.errors import BadInput
from billadmin.scrub import check as scrub_check
from billadmin.x12 import text, validate

CHINESE = "王芳"


def _segs(path: Path) -> list[str]:
    return [s.strip() for s in path.read_text().split("~") if s.strip()]


def _run(db, tmp_path, **kw):
    kw.setdefault("today", fx.TODAY)
    kw.setdefault("scrub", fx.no_scrub)
    kw.setdefault("out_dir", tmp_path / "out")
    return gen.generate(db, **kw)


def _edis(res) -> list[Path]:
    return [f for f in res.files if f.suffix == ".edi"]


def _assert_valid(path: Path) -> None:
    v = validate.validate_file(path)
    assert v.valid, [str(p) for p in v.problems]


def _lfh_models(path: Path) -> list:
    """The 837P parsed by linuxforhealth-x12 into its typed models (pydantic 1). Its quirks:
    it models 005010X222A2 and maps our X222A1 onto it (its "consolidated versions" lookup);
    its reader removes every newline from the stream (ours sit only after "~"); it takes a
    str that is a file path, or the X12 text itself."""
    io = pytest.importorskip("linuxforhealth.x12.io")
    with io.X12ModelReader(str(path)) as r:
        return list(r.models())


def _lfh_subscribers(path: Path) -> list:
    return [b for m in _lfh_models(path) for a in m.loop_2000a for b in a.loop_2000b]


@pytest.fixture
def practice_db(db):
    with dbmod.write(db):
        fx.practice(db)
    return db


# ----------------------------------------------------------------- transliteration


@pytest.mark.parametrize(
    ("written", "x12"),
    [
        ("Łukasiewicz", "LUKASIEWICZ"),
        ("Strauß", "STRAUSS"),
        ("O’Brien", "O'BRIEN"),
        ("Ørsted", "ORSTED"),
        ("Ærø", "AERO"),
        ("Đoković", "DOKOVIC"),
        ("Œuvre", "OEUVRE"),
        ("Þórsdóttir", "THORSDOTTIR"),
        ("Muñoz–Pérez", "MUNOZ-PEREZ"),
        ("“Bud” Smith—Jr", '"BUD" SMITH-JR'),
        ("Anne\u00a0Marie", "ANNE MARIE"),
        ("Rue de l’Église", "RUE DE L'EGLISE"),
        ("a*b:c^d~e", "A B C D E"),
        (CHINESE, ""),
    ],
)
def test_transliteration_table(written, x12):
    assert text.clean(written) == x12
    assert text.lost(written) is (x12 == "")


@given(st.text())
def test_clean_writes_only_the_character_set_and_never_a_delimiter(s):
    out = text.clean(s)
    assert out == out.strip() and "  " not in out
    assert all(" " <= ch <= "~" for ch in out)
    assert not set(out) & set(text.DELIMITERS)
    assert out == out.upper()


@pytest.mark.parametrize(
    ("value", "spaces", "refused"),
    [
        ("K123456789", False, False),
        ("AB*12", False, True),
        ("AB:12", False, True),
        ("AB^12", False, True),
        ("AB~12", False, True),
        ("AB\t12", False, True),
        ("AB\x0012", False, True),
        ("ÄB12", False, True),
        ("AB 12", False, True),
        ("GROUP 7", True, False),
        ("GROUP  7", True, True),
    ],
)
def test_identifier_rule(value, spaces, refused):
    why = text.identifier_problem(value, spaces=spaces)
    assert (why is not None) is refused
    if why:
        assert value not in why


# ----------------------------------------------------------------- names kept in the 837P


def test_names_keep_their_letters_in_the_837p(practice_db, tmp_path):
    db = practice_db
    with dbmod.write(db):
        a = fx.patient(db, "0001", "Jan", "Łukasiewicz")
        fx.coverage(db, a, "KEY", member="L1")
        fx.encounter(db, a, "2026-06-10", [("99213", 14000)])
        b = fx.patient(db, "0002", "Liesl", "Strauß")
        fx.coverage(db, b, "KEY", member="S2")
        fx.encounter(db, b, "2026-06-10", [("99213", 14000)])
        c = fx.patient(db, "0003", "Seán", "O’Brien")
        fx.coverage(db, c, "KEY", member="O3")
        fx.encounter(db, c, "2026-06-10", [("99213", 14000)])
    res = _run(db, tmp_path)
    [f] = _edis(res)
    _assert_valid(f)
    segs = _segs(f)
    for seg in (
        "NM1*IL*1*LUKASIEWICZ*JAN****MI*L1",
        "NM1*IL*1*STRAUSS*LIESL****MI*S2",
        "NM1*IL*1*O'BRIEN*SEAN****MI*O3",
    ):
        assert seg in segs
    names = {b.loop_2010ba.nm1_segment.name_last_or_organization_name for b in _lfh_subscribers(f)}
    assert names == {"LUKASIEWICZ", "STRAUSS", "O'BRIEN"}


# ----------------------------------------------------------------- nothing left: hold that one


def _two_patients_one_unwritable(db, *, where: str = "last") -> tuple[int, int]:
    with dbmod.write(db):
        ok = fx.patient(db, "0010", "Ann", "Able")
        fx.coverage(db, ok, "KEY", member="A10")
        fx.encounter(db, ok, "2026-06-10", [("99213", 14000)], number="E-OK")
        if where == "last":
            bad = fx.patient(db, "0011", "Fang", CHINESE)
        else:
            bad = fx.patient(db, "0011", "Fang", "Wang")
            db.execute("UPDATE patients SET address1 = ? WHERE id = ?", ("北京路 ", bad))
        fx.coverage(db, bad, "KEY", member="W11")
        fx.encounter(db, bad, "2026-06-10", [("99213", 14000)], number="E-BAD")
    return ok, bad


def _x12_only(conn, *, encounter_ids=None, as_of=None):
    """The real scrubber (billadmin.scrub.check), limited to the X12 rules of its registry."""
    return scrub_check(
        conn, encounter_ids=encounter_ids, as_of=as_of, rules=["X12-TEXT-EMPTY", "X12-ID-CHARS"]
    )


@pytest.mark.parametrize("scrub", [fx.no_scrub, _x12_only], ids=["claim-rules", "scrubber"])
@pytest.mark.parametrize("where", ["last", "address"])
def test_empty_name_or_address_holds_only_that_encounter(practice_db, tmp_path, scrub, where):
    db = practice_db
    _two_patients_one_unwritable(db, where=where)
    res = _run(db, tmp_path, scrub=scrub)
    [held] = res.held
    assert held.encounter == "E-BAD"
    [finding] = held.findings  # one finding even when both sides run the rule
    assert finding.rule == "X12-TEXT-EMPTY"
    pid = db.execute("SELECT id FROM patients WHERE mrn = '0011'").fetchone()[0]
    assert f"patient {pid}:" in finding.message and "0011" not in finding.message  # no MRN
    assert ("last name" if where == "last" else "street") in finding.message
    assert CHINESE not in finding.message and "北京" not in finding.message
    [f] = _edis(res)  # the run went on: the other patient is billed, the file is valid
    _assert_valid(f)
    assert "NM1*IL*1*ABLE*ANN****MI*A10" in _segs(f)
    assert db.execute(
        "SELECT status FROM charge_lines c JOIN encounters e ON e.id = c.encounter_id"
        " WHERE e.number = 'E-BAD'"
    ).fetchall() == [("unbilled",)]


def test_before_the_fix_the_whole_file_failed(practice_db, tmp_path, monkeypatch):
    """What the hold prevents: without it the empty NM103 reaches pyx12 and the run stops."""
    db = practice_db
    _two_patients_one_unwritable(db)
    from billadmin.billing import holds

    real = holds.check_claim

    def without_x12(*a, **k):
        return [f for f in real(*a, **k) if not f.rule.startswith("X12-")]

    monkeypatch.setattr(holds, "check_claim", without_x12)
    with pytest.raises(gen.X12Invalid):
        _run(db, tmp_path)


def test_dependent_subscriber_name_and_payer_name(practice_db, tmp_path):
    db = practice_db
    with dbmod.write(db):
        kid = fx.patient(db, "0020", "Tim", "Young", dob="2015-02-02", sex="M")
        cov = fx.coverage(
            db, kid, "BVH", member="B20", relationship="child", sub_first="芳", sub_last="Young"
        )
        fx.encounter(db, kid, "2026-06-05", [("99213", 14000)], number="E-KID")
        p = fx.patient(db, "0021")
        fx.coverage(db, p, "MCD", member="M21")
        fx.encounter(db, p, "2026-06-05", [("99213", 14000)], number="E-MCD")
        db.execute("UPDATE payers SET name = ? WHERE code = 'MCD'", ("医疗补助",))
    res = _run(db, tmp_path)
    by_enc = {h.encounter: [f.message for f in h.findings] for h in res.held}
    assert by_enc == {
        "E-KID": [f"coverage {cov} subscriber: first name has {text.EMPTY_MESSAGE}"],
        "E-MCD": [f"payer MCD: name has {text.EMPTY_MESSAGE}"],
    }
    assert _edis(res) == []


def test_codes_check_reports_it(practice_db, cli):
    _two_patients_one_unwritable(practice_db)
    r = cli("codes", "check", "--unbilled", "--rule", "X12-TEXT-EMPTY", "-f", "json")
    assert r.exit_code == 1, r.output
    rows = json.loads(r.stdout)
    assert [(x["rule"], x["encounter"]) for x in rows] == [("X12-TEXT-EMPTY", "E-BAD")]
    pid = practice_db.execute("SELECT id FROM patients WHERE mrn = '0011'").fetchone()[0]
    assert f"patient {pid}:" in rows[0]["message"] and "0011" not in rows[0]["message"]
    assert CHINESE not in r.output
    r = cli("codes", "rules", "-f", "json")
    assert "X12-TEXT-EMPTY" in r.stdout and "X12-ID-CHARS" in r.stdout


def test_rendering_provider_name_holds_in_the_scrubber(practice_db):
    db = practice_db
    with dbmod.write(db):
        db.execute("UPDATE providers SET last_name = ? WHERE id = 2", (CHINESE,))
        p = fx.patient(db, "0030")
        fx.coverage(db, p, "KEY", member="K30")
        fx.encounter(db, p, "2026-06-05", [("99213", 14000)], provider_id=2, number="E-PRV")
    [f] = _x12_only(db, as_of=fx.TODAY)
    assert f.rule == "X12-TEXT-EMPTY" and f.encounter == "E-PRV"
    assert f.message.startswith("rendering provider ") and CHINESE not in f.message


def test_practice_set_refuses_unwritable_names(practice_db, cli):
    for opt in ("--name", "--address1", "--city", "--receiver-name"):
        r = cli("practice", "set", opt, CHINESE)
        assert r.exit_code == 2, (opt, r.output)
        assert CHINESE not in r.output
    r = cli("practice", "set", "--name", "Praxis Łódź")
    assert r.exit_code == 0, r.output


# ----------------------------------------------------------------- identifiers refused at entry


def _write(path: Path, rows: list[list[str]]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("Member ID", "K12*3"),
        ("Member ID", "K12~3"),
        ("Member ID", "K12^3"),
        ("Member ID", "K12:3"),
        ("Member ID", "K12\x073"),
        ("Group", "G:7"),
        ("Group", "G\x1d7"),
    ],
)
def test_import_refuses_delimiters_in_coverage_ids(practice_db, cli, tmp_path, column, value):
    with dbmod.write(practice_db):
        fx.patient(practice_db, "0040")
    row = {"MRN": "0040", "Payer Code": "KEY", "Member ID": "K1", "Group": "G1"}
    row["Effective From"] = "2025-01-01"
    row[column] = value
    f = _write(tmp_path / "cov.csv", [list(row), list(row.values())])
    r = cli("import", "coverage", f)
    assert r.exit_code == 2, r.output
    assert "cov.csv" in r.stderr and "row 2" in r.stderr and column in r.stderr
    assert value not in r.output
    assert practice_db.execute("SELECT COUNT(*) FROM coverages").fetchone() == (0,)


def test_import_refuses_delimiters_in_payer_id(db, cli, tmp_path):
    rows = [["Code", "Name", "Kind", "Payer ID"], ["ACME", "Acme Health", "commercial", "AC*ME"]]
    r = cli("import", "payers", _write(tmp_path / "payers.csv", rows))
    assert r.exit_code == 2, r.output
    assert "payers.csv" in r.stderr and "Payer ID" in r.stderr and "AC*ME" not in r.output
    rows[1][3] = "ACME1"
    r = cli("import", "payers", _write(tmp_path / "payers.csv", rows))
    assert r.exit_code == 0, r.output


def test_stored_identifier_with_a_delimiter_holds_the_claim(practice_db, tmp_path):
    """Recorded before import checked it: held (X12-ID-CHARS), never sent altered."""
    db = practice_db
    with dbmod.write(db):
        p = fx.patient(db, "0050")
        fx.coverage(db, p, "KEY", member="K50*1")
        fx.encounter(db, p, "2026-06-05", [("99213", 14000)], number="E-ID")
    res = _run(db, tmp_path, scrub=_x12_only)
    [held] = res.held
    assert [f.rule for f in held.findings] == ["X12-ID-CHARS"]
    assert "member id" in held.findings[0].message and "K50" not in held.findings[0].message
    assert _edis(res) == []


# ----------------------------------------------------------------- payer claim number (REF*F8)


@pytest.fixture
def sent_claim(practice_db, tmp_path):
    db = practice_db
    with dbmod.write(db):
        p = fx.patient(db, "0060")
        fx.coverage(db, p, "KEY", member="K60")
        fx.encounter(db, p, "2026-06-05", [("99213", 14000)])
    res = _run(db, tmp_path, out_dir=tmp_path / "first")
    assert len(_edis(res)) == 1
    cid = db.execute("SELECT id FROM invoices WHERE number = 'C000001'").fetchone()[0]
    return db, cid


def test_payer_claim_number_with_a_delimiter_is_kept_but_never_sent(sent_claim, tmp_path):
    db, cid = sent_claim
    with dbmod.write(db):  # as 835 posting keeps it (a remittance may use other delimiters)
        lifecycle.record_payer_claim_number(db, cid, "2026:0001*7", source="835 remit claim 1")
    assert lifecycle.payer_claim_number(db, cid) == "2026:0001*7"
    n_invoices = db.execute("SELECT COUNT(*) FROM invoices").fetchone()
    for action in (
        lambda: lifecycle.void(db, "C000001", reason="wrong patient", today=fx.TODAY),
        lambda: lifecycle.replace(db, "C000001", scrub=fx.no_scrub, today=fx.TODAY),
    ):
        with pytest.raises(BadInput) as e:
            action()
        assert "--payer-claim-number" in str(e.value) and "2026:0001" not in str(e.value)
        assert db.execute("SELECT COUNT(*) FROM invoices").fetchone() == n_invoices
    with pytest.raises(BadInput):
        lifecycle.void(db, "C000001", reason="x", payer_claim_number_="ICN*1", today=fx.TODAY)
    lifecycle.void(
        db, "C000001", reason="wrong patient", payer_claim_number_="2026-0001-7", today=fx.TODAY
    )
    res = _run(db, tmp_path, out_dir=tmp_path / "second")
    [f] = _edis(res)
    _assert_valid(f)
    assert "REF*F8*2026-0001-7" in _segs(f)


def test_invoice_void_cli_refuses_a_delimiter(sent_claim, cli):
    r = cli("invoice", "void", "C000001", "--reason", "x", "--payer-claim-number", "IC~N1")
    assert r.exit_code == 2, r.output
    assert "IC~N1" not in r.output


# ----------------------------------------------------------------- 2010BA DMG


def test_dmg_in_2010ba_only_when_the_subscriber_is_the_patient(practice_db, tmp_path):
    db = practice_db
    with dbmod.write(db):
        kid = fx.patient(db, "0100", "Tim", "Young", dob="2015-02-02", sex="M")
        fx.coverage(
            db,
            kid,
            "BVH",
            member="B555",
            relationship="child",
            sub_first="Rita",
            sub_last="Young",
            sub_dob="1985-03-03",
        )
        fx.encounter(db, kid, "2026-06-05", [("99213", 14000)], dx=("J06.9",))
        me = fx.patient(db, "0101", "Sam", "Self", dob="1970-07-07", sex="F")
        fx.coverage(db, me, "BVH", member="B556")
        fx.encounter(db, me, "2026-06-05", [("99213", 14000)], dx=("J06.9",))
    res = _run(db, tmp_path)
    [f] = _edis(res)
    _assert_valid(f)
    segs = _segs(f)
    kid_sub = segs.index("NM1*IL*1*YOUNG*RITA****MI*B555")
    assert segs[kid_sub + 1].startswith("NM1*PR*")  # no N3/N4/DMG for the dependent's subscriber
    assert not any("19850303" in s for s in segs)  # the subscriber's birth date is not sent
    assert "DMG*D8*20150202*M" in segs  # the patient's, in 2010CA
    self_sub = segs.index("NM1*IL*1*SELF*SAM****MI*B556")
    assert segs[self_sub + 3] == "DMG*D8*19700707*F"  # N3, N4, DMG when the patient is
    subs = {b.loop_2010ba.nm1_segment.identification_code: b for b in _lfh_subscribers(f)}
    assert subs["B555"].loop_2010ba.dmg_segment is None
    [dep] = subs["B555"].loop_2000c
    assert dep.loop_2010ca.dmg_segment.gender_code == "M"
    assert subs["B556"].loop_2010ba.dmg_segment.gender_code == "F"


def test_identifiers_are_sent_exactly_as_written():
    """A member id or payer claim number keeps its case (issue 13: never silently altered);
    only a character no X12 file can carry is dropped, as a last guard behind the entry checks."""
    from billadmin.x12.envelope import ident

    assert ident("abC123xyz") == "abC123xyz"
    assert ident("KEY-0002/a", 50) == "KEY-0002/a"
    assert ident("A*B~C:D^E\x07 F") == "ABCDEF"
    assert ident("W123456789012", 5) == "W1234"
