"""837P output: every file the tests generate must pass pyx12 (005010X222A1), across payers,
dependents, modifiers, secondary coverage, voids and replacements; and pyx12 must catch errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin.billing import generate as gen
from billadmin.billing import lifecycle
from billadmin.x12 import envelope, validate, x837


def _segs(path: Path) -> list[str]:
    return [s.strip() for s in path.read_text().split("~") if s.strip()]


def _run(db, tmp_path, **kw):
    kw.setdefault("today", fx.TODAY)
    kw.setdefault("scrub", fx.no_scrub)
    kw.setdefault("out_dir", tmp_path / "out")
    return gen.generate(db, **kw)


def _assert_valid(path: Path) -> None:
    v = validate.validate_file(path)
    assert v.valid, [str(p) for p in v.problems]
    assert v.version == "005010X222A1" and v.transaction == "837"


@pytest.fixture
def practice_db(db):
    with dbmod.write(db):
        fx.practice(db)
    return db


def test_single_claim_structure_and_pyx12(practice_db, tmp_path):
    db = practice_db
    with dbmod.write(db):
        p = fx.patient(db, "0001", "Jane", "Smith")
        fx.coverage(db, p, "KEY", member="K123456789", group="G77", copay=2500)
        fx.encounter(
            db,
            p,
            "2026-06-10",
            [("99213", 14000, "25", "1,2"), ("36415", 1500, "", "2")],
            dx=("E11.9", "I10"),
        )
        fx.copay_payment(db, p, 2500, "2026-06-10")
    res = _run(db, tmp_path)
    [f] = [x for x in res.files if x.suffix == ".edi"]
    _assert_valid(f)
    segs = _segs(f)
    assert segs[0].startswith("ISA*00*") and len(segs[0]) == 105
    assert "CLM*C000001*155***11:B:1*Y*A*Y*Y" in segs
    assert "AMT*F5*25" in segs  # collected co-pay
    assert "HI*ABK:E119*ABF:I10" in segs  # ICD-10-CM, no dots
    assert "SV1*HC:99213:25*140*UN*1***1:2" in segs
    assert "SV1*HC:36415*15*UN*1***2" in segs
    assert segs.count("DTP*472*D8*20260610") == 2
    assert "SBR*P*18*G77******CI" in segs
    assert any(
        s.startswith("NM1*82*1*OKAFOR*ANN****XX*") for s in segs
    )  # rendering provider differs from billing
    assert "REF*EI*812345678" in segs and "N4*COLUMBUS*OH*432151234" in segs
    # envelope counts
    se = [s for s in segs if s.startswith("SE*")][0].split("*")
    st_i = [i for i, s in enumerate(segs) if s.startswith("ST*")][0]
    assert int(se[1]) == segs.index("*".join(se)) - st_i + 1
    assert (
        segs[-2] == "GE*1*" + segs[1].split("*")[6]
        and segs[-1] == "IEA*1*" + segs[0].split("*")[13]
    )


def test_multiple_payers_one_file_each_all_valid(practice_db, tmp_path):
    db = practice_db
    with dbmod.write(db):
        for i, payer in enumerate(["MCR", "MCD", "KEY", "BVH"]):
            p = fx.patient(
                db,
                f"00{i}",
                f"First{i}",
                "Last",
                dob="1940-01-01" if payer == "MCR" else "1980-05-05",
            )
            fx.coverage(db, p, payer, member=f"M{i}000000")
            fx.encounter(db, p, "2026-06-01", [("99213", 14000)])
            fx.encounter(db, p, "2026-06-02", [("99214", 20500), ("93000", 6500, "", "1,2")])
    res = _run(db, tmp_path)
    edis = sorted(x for x in res.files if x.suffix == ".edi")
    assert [f.name.split("-")[1] for f in edis] == ["BVH", "KEY", "MCD", "MCR"]
    for f in edis:
        _assert_valid(f)
    filing = {
        f.name.split("-")[1]: [s for s in _segs(f) if s.startswith("SBR*")][0].split("*")[-1]
        for f in edis
    }
    assert filing == {"BVH": "HM", "KEY": "CI", "MCD": "MC", "MCR": "MB"}
    # ISA13 control numbers increase across files and persist across runs
    isas = [int(_segs(f)[0].split("*")[13]) for f in edis]
    assert isas == sorted(isas) and len(set(isas)) == 4
    with dbmod.write(db):
        p = fx.patient(db, "0099")
        fx.coverage(db, p, "KEY")
        fx.encounter(db, p, "2026-06-03", [("99212", 9500)])
    res2 = _run(db, tmp_path)
    [f2] = [x for x in res2.files if x.suffix == ".edi"]
    assert int(_segs(f2)[0].split("*")[13]) == max(isas) + 1


def test_dependent_patient_loop(practice_db, tmp_path):
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
    res = _run(db, tmp_path)
    [f] = [x for x in res.files if x.suffix == ".edi"]
    _assert_valid(f)
    segs = _segs(f)
    assert "HL*2*1*22*1" in segs and "HL*3*2*23*0" in segs
    assert "PAT*19" in segs and "NM1*QC*1*YOUNG*TIM" in segs
    assert "NM1*IL*1*YOUNG*RITA****MI*B555" in segs
    assert "SBR*P********HM" in segs  # SBR02 empty: the patient is not the subscriber
    assert "DMG*D8*20150202*M" in segs


def test_secondary_coverage_reported_in_2320(practice_db, tmp_path):
    db = practice_db
    with dbmod.write(db):
        p = fx.patient(db, "0200", "Old", "Timer", dob="1940-01-01", sex="M")
        fx.coverage(db, p, "MCR", member="1EG4TE5MK72")
        fx.coverage(db, p, "KEY", member="K999", priority=2, group="MEDIGAP")
        fx.encounter(
            db, p, "2026-06-05", [("99214", 20500), ("20610", 16000, "RT", "1")], dx=("M17.11",)
        )
    res = _run(db, tmp_path)
    [f] = [x for x in res.files if x.suffix == ".edi"]
    assert f.name.startswith("837P-MCR-")
    _assert_valid(f)
    segs = _segs(f)
    assert "SBR*S*18*MEDIGAP******CI" in segs and "OI***Y*P**Y" in segs
    assert "NM1*PR*2*KEYSTONE COMMERCIAL*****PI*KEY77" in segs
    assert "SV1*HC:20610:RT*160*UN*1***1" in segs


def test_many_lines_and_modifiers(practice_db, tmp_path):
    db = practice_db
    with dbmod.write(db):
        p = fx.patient(db, "0300")
        fx.coverage(db, p, "MCD")
        lines = [
            ("97110", 6000, "GP", "1", 2),
            ("97140", 5500, "GP,59", "1,2"),
            ("20610", 16000, "RT,59,XS,76", "1,2,3,4"),
        ]
        lines += [(f"8{i:04d}", 1000 + i, "", "1") for i in range(20)]
        fx.encounter(
            db, p, "2026-06-05", lines, dx=("M54.50", "M25.561", "M17.11", "Z79.4", "I10", "E78.5")
        )
    res = _run(db, tmp_path)
    [f] = [x for x in res.files if x.suffix == ".edi"]
    _assert_valid(f)
    segs = _segs(f)
    assert "SV1*HC:97110:GP*60*UN*2***1" in segs
    assert "SV1*HC:20610:RT:59:XS:76*160*UN*1***1:2:3:4" in segs
    assert "HI*ABK:M5450*ABF:M25561*ABF:M1711*ABF:Z794*ABF:I10*ABF:E785" in segs
    assert sum(1 for s in segs if s.startswith("LX*")) == 23


def test_void_and_replacement_files_are_valid(practice_db, tmp_path):
    db = practice_db
    with dbmod.write(db):
        p = fx.patient(db, "0400")
        fx.coverage(db, p, "KEY")
        e1 = fx.encounter(db, p, "2026-06-05", [("99213", 14000)])
        p2 = fx.patient(db, "0401")
        fx.coverage(db, p2, "KEY")
        e2 = fx.encounter(db, p2, "2026-06-06", [("99214", 20500)])
    _run(db, tmp_path)
    lifecycle.void(
        db, "C000001", reason="wrong patient", payer_claim_number_="ICN0001", today=fx.TODAY
    )
    with dbmod.write(db):
        db.execute("UPDATE charge_lines SET charge_cents = 21000 WHERE encounter_id = ?", (e2,))
    lifecycle.replace(
        db, "C000002", scrub=fx.no_scrub, payer_claim_number_="ICN0002", today=fx.TODAY
    )
    res = _run(db, tmp_path)
    [f] = [x for x in res.files if x.suffix == ".edi"]
    _assert_valid(f)
    segs = _segs(f)
    assert "CLM*C000001*140***11:B:8*Y*A*Y*Y" in segs and "REF*F8*ICN0001" in segs
    assert "CLM*C000003*210***11:B:7*Y*A*Y*Y" in segs and "REF*F8*ICN0002" in segs
    assert not any(s.startswith("CLM*C000002") for s in segs)
    assert e1 and e2


def test_pyx12_catches_a_broken_file(practice_db, tmp_path):
    db = practice_db
    with dbmod.write(db):
        p = fx.patient(db, "0500")
        fx.coverage(db, p, "KEY")
        fx.encounter(db, p, "2026-06-05", [("99213", 14000)])
    res = _run(db, tmp_path)
    [f] = [x for x in res.files if x.suffix == ".edi"]
    text = f.read_text()
    bad = tmp_path / "bad.edi"
    bad.write_text(text.replace("N4*COLUMBUS*OH*43215~", "N4*COLUMBUS*ZZ*43215~", 1))
    v = validate.validate_file(bad)
    assert not v.valid and any(p.segment == "N4" for p in v.problems)
    missing = tmp_path / "missing.edi"
    missing.write_text(text.replace("REF*EI*812345678~\n", ""))
    assert not validate.validate_file(missing).valid
    bom = tmp_path / "bom.edi"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert validate.validate_file(bom).valid


@pytest.mark.parametrize("pyx12", [False, True], ids=["compiled-gate", "pyx12-too"])
def test_invalid_837_rolls_the_run_back(practice_db, tmp_path, pyx12):
    """A place of service pyx12 does not know makes the file invalid: nothing is issued or
    written, whether the gate is the compiled validator alone or pyx12 as well."""
    db = practice_db
    with dbmod.write(db):
        p = fx.patient(db, "0600")
        fx.coverage(db, p, "KEY")
        fx.encounter(db, p, "2026-06-05", [("99213", 14000)], pos="00")
    before = db.execute("SELECT next_number FROM series WHERE kind = 'claim'").fetchone()[0]
    with pytest.raises(gen.X12Invalid) as ei:
        _run(db, tmp_path, pyx12=pyx12)
    assert ei.value.exit_code == 2 and any(
        "CLM05" in d or "Place" in d or "CLM" in d for d in ei.value.details
    )
    assert db.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 0
    assert db.execute("SELECT next_number FROM series WHERE kind = 'claim'").fetchone()[0] == before
    assert (
        db.execute("SELECT COUNT(*) FROM charge_lines WHERE status = 'unbilled'").fetchone()[0] == 1
    )
    out = tmp_path / "out"
    assert not out.exists() or not any(p.suffix in (".edi", ".csv", ".tmp") for p in out.iterdir())


def _seven_claims_in_three_sets():
    practice = dict(fx.PRACTICE)
    claims = []
    for i in range(7):
        claims.append(
            {
                "number": f"C{i:06d}",
                "frequency": "1",
                "place_of_service": "11",
                "total_cents": 1000,
                "copay_cents": 0,
                "date_of_service": "2026-06-01",
                "diagnoses": ["E11.9"],
                "payer": {"code": "KEY", "name": "Keystone", "kind": "commercial", "id": "KEY77"},
                "subscriber": {
                    "last": f"L{i}",
                    "first": "F",
                    "dob": "1970-01-01",
                    "sex": "F",
                    "address1": "1 A St",
                    "city": "Columbus",
                    "state": "OH",
                    "zip": "43215",
                    "member_id": f"M{i}",
                    "relationship": "self",
                },
                "patient": None,
                "other_payers": [],
                "rendering": {"npi": "1245319599", "last": "Doe", "first": "J"},
                "lines": [
                    {
                        "code": "99213",
                        "modifiers": [],
                        "units": 1,
                        "charge_cents": 1000,
                        "pointers": [1],
                    }
                ],
            }
        )
    env = envelope.Envelope(
        sender_id="TFP01",
        receiver_id="CH01",
        isa_control=42,
        gs_control=7,
        created=dt.datetime(2026, 6, 30, 12, 0),
    )
    return x837.render(env, practice, claims, claims_per_st=3)


@pytest.mark.slow
def test_parallel_validation_of_a_multi_transaction_file():
    r = _seven_claims_in_three_sets()
    assert len(r.st_sets) == 3 and r.claim_st == ["0001"] * 3 + ["0002"] * 3 + ["0003"]
    v = validate.validate_segments(r.segments, r.st_sets, "big.edi", workers=2)
    assert v.valid, v.problems
    assert v.as_row() == validate.validate_text(r.text, "big.edi").as_row()
    # a problem in the third transaction set is reported at its line in the whole file
    segs = list(r.segments)
    i = max(k for k, s in enumerate(segs) if s.startswith("N4*COLUMBUS*OH"))
    segs[i] = "N4*COLUMBUS*ZZ*43215"
    v2 = validate.validate_segments(segs, r.st_sets, "big.edi", workers=2)
    assert not v2.valid and any(p.line == i + 1 for p in v2.problems)


@pytest.mark.slow
def test_validate_paths_in_workers_agrees_with_pyx12_on_the_whole_file(tmp_path):
    """`invoice validate` on large files: set by set in worker processes, or whole in one
    worker when the file is not one ISA/GS of ST sets; the verdict is pyx12's on the whole file,
    including what it checks across sets (ST02 unique, GE01 and IEA counts)."""
    r = _seven_claims_in_three_sets()
    segs = list(r.segments)
    files = {"good.edi": segs}
    bad = list(segs)
    i = max(k for k, s in enumerate(bad) if s.startswith("N4*COLUMBUS*OH"))
    bad[i] = "N4*COLUMBUS*ZZ*43215"  # a bad state in the third set
    files["bad-state.edi"] = bad
    dup = list(segs)
    st3, se3 = r.st_sets[2][1], r.st_sets[2][2]
    dup[st3] = dup[st3].replace("*0003*", "*0001*")  # ST02 repeated ...
    dup[se3] = dup[se3].replace("*0003", "*0001")
    files["dup-st.edi"] = dup
    ge = list(segs)
    ge[-2] = ge[-2].replace("GE*3*", "GE*2*")  # GE01 miscounts the sets
    files["ge-count.edi"] = ge
    two_gs = (
        segs[:-2]
        + ["GE*3*7", segs[1].replace("*7*X*", "*8*X*")]
        + segs[2:-2]
        + ["GE*3*8", segs[-1]]
    )
    files["two-groups.edi"] = two_gs  # not one GS: checked whole
    paths = []
    for name, ss in files.items():
        p = tmp_path / name
        p.write_text(envelope.to_text(ss))
        paths.append(p)
    bom = tmp_path / "bom.edi"
    bom.write_bytes(b"\xef\xbb\xbf" + envelope.to_text(segs).encode())
    paths.append(bom)

    whole = [validate.validate_file(p) for p in paths]
    split = validate.validate_paths(paths, workers=2, parallel_min_segments=0)
    assert [v.name for v in split] == [str(p) for p in paths]
    assert (
        [v.valid for v in split]
        == [v.valid for v in whole]
        == [True, False, False, False, False, True]
    )
    for w, s in zip(whole, split, strict=True):
        assert (s.version, s.transaction, s.segments) == (w.version, w.transaction, w.segments)
    assert any(p.line == i + 1 and p.segment == "N4" for p in split[1].problems)
    assert any(p.segment == "ST" and "not unique" in p.message for p in split[2].problems)
    assert any("not unique" in p.message for p in whole[2].problems)
    assert any(p.segment == "GE" for p in split[3].problems) and not whole[3].valid
    assert validate.transaction_sets(two_gs) is None
    # small inputs stay in this process and say the same
    assert [v.valid for v in validate.validate_paths(paths, workers=2)] == [v.valid for v in whole]


@pytest.mark.corpus
def test_validate_accepts_the_published_examples(corpus):
    # 837P and 835 only: the 837I, 999, 270/271 and 276/277 examples have their own verdicts
    paths = sorted((corpus / "x12" / "837p").glob("*.edi")) + sorted(
        (corpus / "x12" / "835").glob("*.edi")
    )
    verdicts = {p.name: validate.validate_file(p) for p in paths}
    assert len(verdicts) == 23
    bad = {name for name, v in verdicts.items() if not v.valid}
    assert bad == {"oxygen.edi", "wheelchair.edi"}
    assert all("PWK" in str(p) for p in verdicts["oxygen.edi"].problems)
    assert verdicts["era-sample.edi"].version == "005010X221A1"


@pytest.mark.slow
def test_generate_validates_large_runs_in_worker_processes(practice_db, tmp_path, monkeypatch):
    """The path a large run takes: files written first, each transaction set checked by pyx12 in
    a worker process, errors mapped back to the file's segment numbers, and a failure rolls back."""
    db = practice_db
    monkeypatch.setattr(validate, "PARALLEL_MIN_SEGMENTS", 0)
    monkeypatch.setattr(x837, "CLAIMS_PER_ST", 2)
    with dbmod.write(db):
        for i in range(5):
            p = fx.patient(db, f"07{i}")
            fx.coverage(db, p, "KEY", member=f"K{i}")
            fx.encounter(db, p, "2026-06-05", [("99213", 14000)])
    counts = []
    res = _run(
        db,
        tmp_path,
        workers=2,
        pyx12=True,
        progress=lambda step, *count: count and counts.append(count),
    )
    [f] = [x for x in res.files if x.suffix == ".edi"]
    assert sum(1 for s in _segs(f) if s.startswith("ST*")) == 3
    _assert_valid(f)
    # the spinner's bar: every segment of every transaction set checked (all but ISA, GS, GE, IEA)
    assert counts[-1][0] == counts[-1][1] == len(_segs(f)) - 4
    with dbmod.write(db):
        for i in range(5):
            p = fx.patient(db, f"08{i}")
            fx.coverage(db, p, "KEY", member=f"L{i}")
            fx.encounter(db, p, "2026-06-06", [("99213", 14000)], pos="00" if i == 4 else "11")
    with pytest.raises(gen.X12Invalid) as ei:
        _run(db, tmp_path, workers=2, pyx12=True)
    assert any("segment " in d and "CLM" in d for d in ei.value.details)
    assert db.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 5
    assert not any(p.name.startswith(".") for p in (tmp_path / "out").iterdir())


@pytest.mark.slow
def test_a_run_that_fails_while_building_stops_its_pyx12_workers(
    practice_db, tmp_path, monkeypatch
):
    db = practice_db
    monkeypatch.setattr(validate, "PARALLEL_MIN_SEGMENTS", 0)
    pools = []

    class Recorded(validate.Pool):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            pools.append(self)

    monkeypatch.setattr(validate, "Pool", Recorded)
    with dbmod.write(db):
        for i, payer in enumerate(("KEY", "MCR")):
            p = fx.patient(db, f"09{i}")
            fx.coverage(db, p, payer, member=f"M{i}")
            fx.encounter(db, p, "2026-06-05", [("99213", 14000)])
    real = gen.insert_invoices
    calls = []

    def second_payer_fails(conn, issues, **kw):
        calls.append(1)
        if len(calls) == 2:  # KEY's file is with the workers by now
            raise RuntimeError("disk trouble while inserting")
        return real(conn, issues, **kw)

    monkeypatch.setattr(gen, "insert_invoices", second_payer_fails)
    with pytest.raises(RuntimeError, match="disk trouble"):
        _run(db, tmp_path, workers=2, pyx12=True)
    [pool] = pools
    assert all(p.poll() is not None for p in pool.procs)
    assert db.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 0


def test_validation_messages_never_quote_the_data(practice_db, tmp_path):
    """pyx12's own texts quote values (a name too long, a date, an address in a misplaced N3);
    the problems we print name the segment, element and rule only."""
    db = practice_db
    with dbmod.write(db):
        p = fx.patient(db, "0900", "Zebulon", "Quixotefrost", dob="1937-08-14")
        fx.coverage(db, p, "KEY", member="QX7734219056")
        fx.encounter(db, p, "2026-06-05", [("99213", 14000)])
    res = _run(db, tmp_path)
    [f] = [x for x in res.files if x.suffix == ".edi"]
    text = f.read_text()
    damaged = tmp_path / "damaged.edi"
    damaged.write_text(
        text.replace("*QUIXOTEFROST*", "*" + "QUIXOTEFROST" * 6 + "*")
        .replace("DMG*D8*19370814", "DMG*D8*1937-08-14")
        .replace("HL*2*1*22*0~", "HL*2*1*22*0~\nN3*8817 XYLOPHONE CRESCENT~")
        .replace("NM1*IL*1*", "NM1*IL*1*QX7734219056ZZ*")
    )
    v = validate.validate_file(damaged)
    assert not v.valid and len(v.problems) >= 3
    printed = "\n".join(str(p) for p in v.problems).upper()
    for secret in ("QUIXOTEFROST", "ZEBULON", "1937", "XYLOPHONE", "QX7734219056"):
        assert secret not in printed, (secret, printed)
    assert "DATA ELEMENT TOO LONG (LENGTH 72, AT MOST 35)" in printed  # the name, pushed into NM104
    assert "INVALID DATE: SUBSCRIBER BIRTH DATE, DMG02" in printed
    assert "N3: UNRECOGNIZED SEGMENT" in printed
