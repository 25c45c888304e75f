"""Eligibility (270/271, 005010X279A1): requests written, answers read, differences applied.

Oracle: linuxforhealth-x12 (pydantic 1) has 270 and 271 models (pyx12 4 has no 270/271 map).
Every 270 written here is parsed by it, every 271 read here is accepted by it first, and the
malformed 271s billadmin refuses are refused by it too. Known difference, kept here: its HL
check accepts only a single chain (one subscriber per receiver, one receiver per payer), which
the TR3 does not require; billadmin writes one transaction set per person so both agree.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin.eligibility import x270, x271

DR_NPI = fx.npi.make("162738495")  # provider 1 of the fixtures (Ann Okafor)
AS_OF = "2026-06-30"
TOMORROW = "2026-07-01"


def _lfh(text: str) -> list:
    io = pytest.importorskip("linuxforhealth.x12.io")
    with io.X12ModelReader(text) as r:
        return list(r.models())


def _lfh_refuses(text: str) -> bool:
    pytest.importorskip("linuxforhealth.x12.io")
    try:
        _lfh(text)
    except Exception:
        return True
    return False


@pytest.fixture
def office(db):
    """Ann (self, KEY, co-pay 25.00, ends 2026-07-20), Kid (child of Mary, KEY), Sol (self-pay),
    Bo (MCR, no end)."""
    with dbmod.write(db):
        fx.practice(db)
        ann = fx.patient(db, "M001", "Ann", "O'Brien", "1950-03-04")
        kid = fx.patient(db, "M002", "Kid", "Smith", "2015-01-02", "M")
        sol = fx.patient(db, "M003", "Sol", "Cash", "1970-01-01")
        bo = fx.patient(db, "M004", "Bo", "Lee", "1940-02-02", "M")
        fx.coverage(db, ann, "KEY", member="KEY111", copay=2500, eff_to="2026-07-20")
        fx.coverage(db, kid, "KEY", member="KEY222", relationship="child", sub_first="Mary",
                    sub_last="Smith", sub_dob="1980-05-05")  # fmt: skip
        fx.coverage(db, sol, "SELF", member="SELF")
        fx.coverage(db, bo, "MCR", member="1EG4TE5MK73")
    return {"ann": ann, "kid": kid, "sol": sol, "bo": bo}


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _appointments(tmp_path: Path) -> Path:
    return _csv(
        tmp_path / "schedule.csv",
        [
            ["MRN", "Date", "Time", "Provider NPI", "Payer"],
            ["M001", TOMORROW, "09:00", DR_NPI, ""],
            ["M002", TOMORROW, "08:30", "", "KEY"],
            ["M003", TOMORROW, "10:00", DR_NPI, ""],
            ["M004", "2026-07-02", "09:00", DR_NPI, ""],
        ],
    )


def _request(cli, tmp_path, *args):
    out = tmp_path / "outbox"
    out.mkdir(exist_ok=True)
    return cli("eligibility", "request", *args, "--as-of", AS_OF, "--out", out, "-f", "json"), out


def test_appointments_of_tomorrow_become_one_270_per_payer(office, cli, tmp_path, db):
    r, out = _request(cli, tmp_path, "--appointments", _appointments(tmp_path))
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    # ordered by time: Kid 08:30, Ann 09:00, Sol 10:00; Bo's visit is another day
    assert [(x["mrn"], x["payer"], x["skipped"]) for x in rows] == [
        ("M002", "KEY", None),
        ("M001", "KEY", None),
        ("M003", None, "self-pay: nobody to ask"),
    ]
    assert "1 appointment(s) of other days left out" in r.stderr
    files = sorted(out.glob("270-*.x12"))
    assert [f.name for f in files] == ["270-KEY-000000001.x12"]
    text = files[0].read_text()
    assert x270.check(text) == []
    models = _lfh(text)
    assert [type(m).__name__ for m in models] == ["EligibilityInquiry"] * 2
    # the dependent is asked in 2000D under the subscriber; Ann's receiver is her provider
    segs = [s for s in text.split("~\n") if s]
    assert "NM1*03*1*SMITH*KID" in segs and "NM1*IL*1*SMITH*MARY****MI*KEY222" in segs
    assert f"NM1*1P*1*OKAFOR*ANN****XX*{DR_NPI}" in segs
    assert "NM1*IL*1*O'BRIEN*ANN****MI*KEY111" in segs and "DTP*291*D8*20260701" in segs
    assert "GS*HS*TFP01*CLEARHOUSE01" in text and "ST*270*0002*005010X279A1" in segs
    sent = db.execute(
        "SELECT trace, st_control, patient_id, service_date, reason FROM eligibility_requests"
        " ORDER BY id"
    ).fetchall()
    assert sent == [
        ("000000001-1", "0001", office["kid"], TOMORROW, "appointment"),
        ("000000001-2", "0002", office["ann"], TOMORROW, "appointment"),
    ]
    for name in ("O'BRIEN", "Brien", "KEY111", "1950"):
        assert name not in r.stderr
    # the ISA/GS counters are the 837P's: the next interchange gets 2
    r2, _ = _request(cli, tmp_path, "--expiring", "30")
    assert r2.exit_code == 0, r2.stderr
    assert (out / "270-KEY-000000002.x12").exists()


def test_expiring_coverage_is_asked_as_of_today(office, cli, tmp_path, db):
    r, out = _request(cli, tmp_path, "--expiring", "30", "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert [(x["mrn"], x["service_date"], x["trace"]) for x in json.loads(r.stdout)] == [
        ("M001", AS_OF, None)
    ]
    assert not list(out.iterdir())
    assert db.execute("SELECT COUNT(*) FROM eligibility_requests").fetchone()[0] == 0
    r, out = _request(cli, tmp_path, "--expiring", "19")  # Ann ends in 20 days
    assert json.loads(r.stdout) == [] and not list(out.iterdir())


def test_a_bad_appointment_list_is_refused_whole(office, cli, tmp_path, db):
    f = _csv(
        tmp_path / "bad.csv",
        [
            ["mrn", "date", "provider_npi", "payer"],
            ["M001", TOMORROW, DR_NPI, ""],
            ["M999", TOMORROW, "", ""],
            ["M002", "2026-13-01", "1234567890", "NOPE"],
        ],
    )
    r, out = _request(cli, tmp_path, "--appointments", f)
    assert r.exit_code == 2
    assert "bad.csv: 4 problem(s)" in r.stderr
    assert "row 3, column 'mrn': no patient with that MRN" in r.stderr
    assert "row 4, column 'date'" in r.stderr and "row 4, column 'provider_npi'" in r.stderr
    assert "row 4, column 'payer': no payer with that code" in r.stderr
    assert not list(out.iterdir())
    assert db.execute("SELECT COUNT(*) FROM eligibility_requests").fetchone()[0] == 0


def test_the_270_check_finds_what_it_must():
    good = x270.build(
        x270.env.Envelope("S", "R", 7, 7, fx.dt.datetime(2026, 6, 30, 9), functional_id="HS",
                          version=x270.VERSION),
        "PAYER", "P1",
        [(x270.Receiver(DR_NPI, "OKAFOR", "ANN", person=True),
          x270.Inquiry("T-1", TOMORROW, "M1", "DOE", "JO", "1950-01-01", "F"))],
        "812345678",
    )  # fmt: skip
    assert x270.check(good) == []
    assert _lfh(good)
    assert any("SE01" in p for p in x270.check(good.replace("SE*13*0001", "SE*12*0001")))
    assert any("NPI" in p for p in x270.check(good.replace(DR_NPI, "1234567890")))
    assert any("lacks TRN" in p for p in x270.check(good.replace("TRN*1*T-1*1812345678~\n", "")))


# ---- 271 ----------------------------------------------------------------------------------------


def _x271(*sets: list[str], isa: str = "000000555") -> str:
    """A 271 interchange around the given transaction bodies (the segments after ST)."""
    out = [
        f"ISA*00*          *00*          *ZZ*CLEARHOUSE01   *ZZ*TFP01          *260701*0800*^*00501*{isa}*0*P*:",
        "GS*HB*CLEARHOUSE01*TFP01*20260701*0800*55*X*005010X279A1",
    ]  # fmt: skip
    for n, body in enumerate(sets, start=1):
        st = f"{n:04d}"
        out += [f"ST*271*{st}*005010X279A1", *body, f"SE*{len(body) + 2}*{st}"]
    out += [f"GE*{len(sets)}*55", f"IEA*1*{isa}"]
    return "~\n".join(out) + "~\n"


def _head(trace: str) -> list[str]:
    return [
        f"BHT*0022*11*{trace}*20260701*0800",
        "HL*1**20*1",
        "NM1*PR*2*KEYSTONE COMMERCIAL*****PI*KEY77",
        "HL*2*1*21*1",
        f"NM1*1P*1*OKAFOR*ANN****XX*{DR_NPI}",
    ]


def _ann_active(trace: str, *, extra: list[str] | None = None, name="O'BRIEN*ANN",
                member="KEY111", dob="19500304") -> list[str]:  # fmt: skip
    return [
        *_head(trace),
        "HL*3*2*22*0",
        f"TRN*2*{trace}*1812345678",
        f"NM1*IL*1*{name}****MI*{member}",
        f"DMG*D8*{dob}*F",
        *(extra or []),
        "DTP*346*D8*20260101",
        "DTP*347*D8*20261231",
        "EB*1**30**GOLD PLAN",
        "EB*B**98*HM*GOLD PLAN*27*30*****Y",
        "EB*B**98*HM*GOLD PLAN*27*60*****N",
        "EB*A**98*HM*GOLD PLAN***.2****Y",
        "EB*C*IND*30*HM*GOLD PLAN*23*1500*****Y",
        "EB*C*IND*30*HM*GOLD PLAN*29*400.25*****Y",
        "EB*C*FAM*30*HM*GOLD PLAN*23*3000*****Y",
    ]


@pytest.fixture
def asked(office, cli, tmp_path):
    """Ann and Kid asked about (traces 000000001-1 Kid, 000000001-2 Ann)."""
    r, _ = _request(cli, tmp_path, "--appointments", _appointments(tmp_path))
    assert r.exit_code == 0, r.stderr
    return office


def _import(cli, tmp_path, text: str, name="answer.271"):
    p = tmp_path / name
    p.write_text(text)
    return cli("eligibility", "import", p, "-f", "json")


def test_active_answer_with_copay_coinsurance_and_deductible(asked, cli, tmp_path, db):
    text = _x271(_ann_active("000000001-2"))
    assert _lfh(text)
    r = _import(cli, tmp_path, text)
    assert r.exit_code == 0, r.stderr
    [row] = json.loads(r.stdout)
    assert row["mrn"] == "M001" and row["status"] == "active"
    # in-network office-visit co-pay 30.00 (the 60.00 is out of network, EB12 N), stored 25.00;
    # the coverage is stored 2020-01-01 to 2026-07-20, the payer says 2026-01-01 to 2026-12-31
    assert row["copay"] == "30.00"
    assert row["differences"] == "effective_from, effective_to, copay"
    a = db.execute(
        "SELECT status, plan_begin, plan_end, copay_cents, coinsurance_pct, deductible_cents,"
        " deductible_remaining_cents, answered_on FROM eligibility_answers"
    ).fetchone()
    # coinsurance .2 = 20 %; deductible: individual calendar year 1,500.00 (not the family
    # 3,000.00), remaining (EB06 29) 400.25
    assert a == ("active", "2026-01-01", "2026-12-31", 3000, "20", 150000, 40025, "2026-07-01")
    # the same file again changes nothing
    r = _import(cli, tmp_path, text)
    assert r.exit_code == 0 and "already read; nothing changed" in r.stderr
    assert db.execute("SELECT COUNT(*) FROM eligibility_answers").fetchone()[0] == 1


def test_payer_corrections_are_shown_then_applied_when_asked(asked, cli, tmp_path, db):
    text = _x271(
        _ann_active("000000001-2", extra=["INS*Y*18*001*25"], name="OBRIEN-HALL*ANN",
                    member="KEY111A", dob="19500403"),
    )  # fmt: skip
    assert _lfh(text)
    r = _import(cli, tmp_path, text)
    assert r.exit_code == 0, r.stderr
    [row] = json.loads(r.stdout)
    assert row["corrected"] is True
    assert row["differences"] == ("effective_from, effective_to, copay, member_id, last_name, dob")
    for phi in ("OBRIEN", "KEY111A", "1950"):
        assert phi not in r.stderr
    # nothing changed yet
    assert db.execute("SELECT member_id FROM coverages WHERE id = 1").fetchone()[0] == "KEY111"
    r = cli("eligibility", "show", "M001", "-f", "json")
    assert r.exit_code == 0, r.stderr
    shown = json.loads(r.stdout)
    assert {"field": "member_id", "stored": "KEY111", "payer": "KEY111A"} in shown["differences"]
    assert {"field": "copay", "stored": "25.00", "payer": "30.00"} in shown["differences"]
    assert [a["answer"] for a in shown["answers"]] == [row["answer"]]
    answer = row["answer"]
    r = cli("eligibility", "apply", answer, "--field", "member_id", "--field", "effective_to")
    assert r.exit_code == 0, r.stderr
    assert db.execute(
        "SELECT member_id, effective_to, copay_cents FROM coverages WHERE id = 1"
    ).fetchone() == ("KEY111A", "2026-12-31", 2500)
    detail = db.execute(
        "SELECT detail FROM audit_log WHERE action = 'eligibility apply'"
    ).fetchone()[0]
    assert json.loads(detail)["fields"] == ["member_id", "effective_to"]
    assert "KEY111A" not in detail and "2026-12-31" not in detail
    r = cli("eligibility", "apply", answer)
    assert r.exit_code == 2 and "already applied" in r.stderr
    # the sealed coverage row was re-sealed in the same transaction: the check finds nothing
    r = cli("check")
    assert "coverages" not in r.stdout + r.stderr


def test_apply_everything_updates_the_patient_too(asked, cli, tmp_path, db):
    text = _x271(_ann_active("000000001-2", name="OBRIEN*ANNE", dob="19500403"))
    r = _import(cli, tmp_path, text)
    answer = json.loads(r.stdout)[0]["answer"]
    r = cli("eligibility", "apply", answer)
    assert r.exit_code == 0, r.stderr
    assert db.execute(
        "SELECT last_name, first_name, dob FROM patients WHERE mrn = 'M001'"
    ).fetchone() == ("OBRIEN", "ANNE", "1950-04-03")
    assert db.execute(
        "SELECT effective_from, effective_to, copay_cents FROM coverages WHERE id = 1"
    ).fetchone() == ("2026-01-01", "2026-12-31", 3000)


def test_dependent_inactive_and_rejected_answers(asked, cli, tmp_path, db):
    kid = [
        *_head("000000001-1"),
        "HL*3*2*22*1",
        "NM1*IL*1*SMITH*MARY****MI*KEY222",
        "HL*4*3*23*0",
        "TRN*2*000000001-1*1812345678",
        "NM1*03*1*SMITH*KID",
        "DMG*D8*20150102*M",
        "INS*N*19",
        "EB*6**30",
        "DTP*357*D8*20260630",
    ]
    ann = [
        *_head("000000001-2"),
        "HL*3*2*22*0",
        "TRN*2*000000001-2*1812345678",
        "NM1*IL*1*O'BRIEN*ANN****MI*KEY111",
        "AAA*N**72*C",
    ]
    text = _x271(kid, ann)
    # known oracle difference: linuxforhealth-x12 checks 2100C AAA03 against the 2100B code
    # list (its 271 loops.py: "Loop2100C AAA is identical to Loop2100B AAA"), but TR3
    # 005010X279A1 2100C AAA03 lists 72 (invalid/missing subscriber id), 73, 75 ...; with a
    # code both lists share (15) it accepts the same file
    assert _lfh_refuses(text)
    assert _lfh(text.replace("AAA*N**72*C", "AAA*N**15*C"))
    r = _import(cli, tmp_path, text)
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(x["mrn"], x["status"], x["differences"]) for x in rows] == [
        ("M002", "inactive", "status, effective_to"),
        ("M001", "rejected", ""),
    ]
    assert rows[1]["reason"] == "invalid or missing subscriber/insured id"
    # status is not a stored field: applying the inactive answer ends the coverage
    r = cli("eligibility", "apply", rows[0]["answer"])
    assert r.exit_code == 0, r.stderr
    assert db.execute("SELECT effective_to FROM coverages WHERE id = 2").fetchone()[0] == (
        "2026-06-30"
    )


def test_an_answer_for_a_request_we_never_sent_is_reported_by_numbers(asked, cli, tmp_path, db):
    text = _x271(_ann_active("000000001-2"), _ann_active("999999999-9"), isa="000000777")
    assert _lfh(text)
    r = _import(cli, tmp_path, text)
    assert r.exit_code == 1
    assert len(json.loads(r.stdout)) == 1
    assert "interchange 000000777, transaction 0002, trace 999999999-9: matches no 270" in r.stderr
    for phi in ("O'BRIEN", "KEY111", "1950"):
        assert phi not in r.stderr


@pytest.mark.parametrize(
    "broken, why",
    [
        (lambda t: t.replace("SE*20*0001", "SE*19*0001"), "SE01"),
        (lambda t: t.replace("HL*3*2*22*0", "HL*3*2*22*1"), "HL04 is 1"),
        (lambda t: t.replace("HL*3*2*22*0", "HL*3*1*22*0"), "HL02"),
    ],
)
def test_a_malformed_271_is_refused_whole(asked, cli, tmp_path, db, broken, why):
    good = _x271(_ann_active("000000001-2"))
    bad = broken(good)
    assert bad != good
    assert _lfh_refuses(bad)
    r = _import(cli, tmp_path, bad)
    assert r.exit_code == 2
    assert why in r.stderr and "nothing was read" in r.stderr
    assert (
        db.execute("SELECT COUNT(*) FROM eligibility_files WHERE kind = '271'").fetchone()[0] == 0
    )


def test_reader_picks_in_network_office_visit_values():
    """Hand-read: EB*B for 98 in network 30.00, out of network 60.00 -> 30.00; coinsurance .2 ->
    20; remaining deductible 400.25; a year-to-date amount (EB06 24) is not a deductible."""
    body = _ann_active("T1")
    body.insert(-1, "EB*C*IND*30*HM*GOLD PLAN*24*900*****Y")
    [a] = x271.read(_x271(body), "f").answers
    assert (a.copay_cents, a.coinsurance_pct, a.deductible_cents) == (3000, "20", 150000)
    assert a.deductible_remaining_cents == 40025 and a.traces == ["T1"]


# ---- the implementation guide's examples (BSD-licensed stupidedi fixtures) ----------------------

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "x12"


@pytest.mark.corpus
def test_the_guides_271_examples(office, cli, tmp_path):
    if not (CORPUS / "271").is_dir():
        pytest.skip("../shared/data/x12/271 is absent")
    sub = (CORPUS / "271" / "response-to-generic-request-by-clinic-for-patient-subscriber"
           "-eligibility.edi").read_bytes()  # fmt: skip
    assert _lfh(sub.decode())
    [a] = x271.read(sub, "sub.edi").answers
    # EB*B ... *27*10*****Y: 10.00 per visit in network (the 30.00 is EB12 N)
    assert (a.status, a.copay_cents, a.plan_begin, a.traces) == (
        "active", 1000, "2006-01-01", ["93175-012547"]
    )  # fmt: skip
    r = cli("eligibility", "import", CORPUS / "271" / ("response-to-generic-request-by-clinic-"
            "for-patient-subscriber-eligibility.edi"))  # fmt: skip
    assert r.exit_code == 1
    assert "trace 93175-012547: matches no 270 we sent" in r.stderr
    assert "SMITH" not in r.stderr and "123456789" not in r.stderr
    err = (
        CORPUS
        / "271"
        / "error-response-from-payer-to-clinic-not-eligible-for-inquiries-with-payer.edi"
    )
    assert _lfh(err.read_text())
    r = cli("eligibility", "import", err)
    assert r.exit_code == 1
    assert "transaction 4323 (reference 10001234): the payer answered no one: AAA 50" in r.stderr


@pytest.mark.corpus
def test_the_guides_270_examples_pass_our_check():
    if not (CORPUS / "270").is_dir():
        pytest.skip("../shared/data/x12/270 is absent")
    for f in sorted((CORPUS / "270").glob("*.edi")):
        text = f.read_text()
        assert _lfh(text)
        # the examples identify the provider by a service provider number (NM108 SV), where
        # billadmin always sends the NPI (XX): that is the only rule they break
        problems = x270.check(text)
        assert all("NPI" in p for p in problems), problems


# ---- check-in and coverage-expiring use the answers ---------------------------------------------


def test_checkin_shows_the_last_answer_and_warns_when_none_is_recent(asked, cli, tmp_path):
    r = cli("checkin", "M001", "--date", TOMORROW, "-f", "json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["eligibility_checked"] is None
    assert "no eligibility answer (271) from the payer within 30 days" in r.stderr
    assert _import(cli, tmp_path, _x271(_ann_active("000000001-2"))).exit_code == 0
    r = cli("checkin", "M001", "--date", TOMORROW, "-f", "json")
    out = json.loads(r.stdout)
    # the answer of 2026-07-01: active, co-pay 30.00 (the stored co-pay due stays 25.00 until
    # the answer is applied)
    assert (out["eligibility_checked"], out["eligibility_status"]) == ("2026-07-01", "active")
    assert out["eligibility_copay"] == "30.00" and out["copay_due"] == "25.00"
    assert "271" not in r.stderr
    # 18 days later, with a 10-day limit, it is stale
    r = cli("checkin", "M001", "--date", "2026-07-19", "--eligibility-days", "10", "-f", "json")
    assert "no eligibility answer (271) from the payer within 10 days" in r.stderr
    # self-pay: nobody to ask, no warning
    r = cli("checkin", "M003", "--date", TOMORROW, "-f", "json")
    assert r.exit_code == 0 and "271" not in r.stderr


def test_coverage_expiring_uses_the_payers_plan_end(asked, cli, tmp_path):
    def report():
        r = cli("report", "coverage-expiring", "--as-of", AS_OF, "-f", "json")
        assert r.exit_code == 0, r.stderr
        return [(x["mrn"], x["effective_to"], x["ends_per"], x["eligibility_status"])
                for x in json.loads(r.stdout)]  # fmt: skip

    # stored: Ann's coverage ends 2026-07-20, within 30 days of 2026-06-30
    assert report() == [("M001", "2026-07-20", "records", None)]
    # the payer says the plan runs to 2026-12-31: no longer expiring
    assert _import(cli, tmp_path, _x271(_ann_active("000000001-2"))).exit_code == 0
    assert report() == []
    # Kid's stored coverage has no end; the payer says inactive, ended 2026-06-30 (day 0)
    kid = [
        *_head("000000001-1"),
        "HL*3*2*22*1",
        "NM1*IL*1*SMITH*MARY****MI*KEY222",
        "HL*4*3*23*0",
        "TRN*2*000000001-1*1812345678",
        "NM1*03*1*SMITH*KID",
        "EB*6**30",
        "DTP*357*D8*20260630",
    ]
    assert _import(cli, tmp_path, _x271(kid), name="kid.271").exit_code == 0
    assert report() == [("M002", "2026-06-30", "271", "inactive")]


def test_the_demo_asks_about_tomorrows_appointments(demo_practice):
    """The demo's 270s and its payers' 271s pass linuxforhealth-x12; answers 4 and 8 are planted
    inactive, answer 6 with a co-pay 5.00 above the records (demo/eligibility.py)."""
    path, stderr = demo_practice
    folder = path.parent / f"{path.stem}-files" / "eligibility"
    sent, answered = sorted(folder.glob("270-*.x12")), sorted(folder.glob("271-*.x12"))
    assert sent and len(sent) == len(answered)
    for f in sent + answered:
        assert _lfh(f.read_text())
    conn = dbmod.connect(path)
    q = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
    assert q("SELECT COUNT(*), MIN(service_date) FROM eligibility_requests") == [(8, "2026-11-27")]
    assert q("SELECT status, COUNT(*) FROM eligibility_answers GROUP BY status") == [
        ("active", 6),
        ("inactive", 2),
    ]
    assert "tomorrow's 8 appointments" in stderr and "2 inactive, 3 differing" in stderr


def test_a_file_that_is_not_a_271_is_refused(office, cli, tmp_path, db):
    text = _x271(_ann_active("T1")).replace("005010X279A1", "005010X221A1")
    r = _import(cli, tmp_path, text)
    assert r.exit_code == 2 and "GS08 is not 005010X279A1" in r.stderr
    r = _import(cli, tmp_path, "hello", name="note.txt")
    assert r.exit_code == 2 and "not an X12 interchange" in r.stderr
    assert db.execute("SELECT COUNT(*) FROM eligibility_files").fetchone()[0] == 0


def test_an_xlsx_appointment_list_by_patient_id(office, cli, tmp_path, db):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Patient ID", "Appointment Date", "Start", "Rendering NPI"])
    ws.append([office["bo"], fx.dt.datetime(2026, 7, 1), fx.dt.time(14, 0), DR_NPI])
    wb.save(tmp_path / "schedule.xlsx")
    r, out = _request(cli, tmp_path, "--appointments", tmp_path / "schedule.xlsx")
    assert r.exit_code == 0, r.stderr
    assert [(x["mrn"], x["payer"], x["trace"]) for x in json.loads(r.stdout)] == [
        ("M004", "MCR", "000000001-1")
    ]
    assert [f.name for f in out.iterdir()] == ["270-MCR-000000001.x12"]
    assert _lfh((out / "270-MCR-000000001.x12").read_text())


def test_a_dependents_subscriber_corrections(asked, cli, tmp_path, db):
    kid = [
        *_head("000000001-1"),
        "HL*3*2*22*1",
        "NM1*IL*1*SMITH*MARIE****MI*KEY222",
        "DMG*D8*19800506*F",
        "HL*4*3*23*0",
        "TRN*2*000000001-1*1812345678",
        "NM1*03*1*SMITH*KID",
        "DMG*D8*20150102*M",
        "EB*1**30",
    ]
    text = _x271(kid)
    assert _lfh(text)
    r = _import(cli, tmp_path, text)
    [row] = json.loads(r.stdout)
    assert row["differences"] == "subscriber_first, subscriber_dob"
    assert cli("eligibility", "apply", row["answer"]).exit_code == 0
    assert db.execute(
        "SELECT subscriber_first, subscriber_dob, member_id FROM coverages WHERE id = 2"
    ).fetchone() == ("MARIE", "1980-05-06", "KEY222")


def test_a_270_failing_its_check_writes_nothing(office, cli, tmp_path, db, monkeypatch):
    """Stand-in for a builder bug: the check's verdict stops the run before anything is kept."""
    monkeypatch.setattr(x270, "check", lambda data: ["segment 9: TRN needs TRN01 1"])
    r, out = _request(cli, tmp_path, "--expiring", "30")
    assert r.exit_code == 2
    assert "the 270 for payer KEY failed its check; nothing was written" in r.stderr
    assert "segment 9: TRN needs TRN01 1" in r.stderr
    assert list(out.iterdir()) == []  # not even a temporary file
    assert db.execute("SELECT COUNT(*) FROM eligibility_requests").fetchone()[0] == 0
    assert db.execute("SELECT last_value FROM x12_counters WHERE name = 'isa'").fetchone()[0] == 0
