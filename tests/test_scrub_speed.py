"""The scrubber's shortcuts change no finding (issue 15): on a varied set of encounters, what
check() returns equals the findings computed the slow way, every rule's own function called on
every encounter and line with no cache, no shared pass (model.FAMILY) and no rule skipped for
the run (model.QUIET)."""

from __future__ import annotations

import datetime as dt
import itertools

import codes_fixtures as fx
import pytest
from codes_fixtures import AS_OF, cdb, codes_db_path, icd_template  # noqa: F401  (fixtures)

from billadmin import db as dbmod
from billadmin.scrub import check, engine
from billadmin.scrub.claim import GENERATE_RULES
from billadmin.scrub.model import FAMILY, QUIET
from billadmin.scrub.rules import RULES

# diagnoses: valid, header, deleted header, 7th character, placeholder, unknown, ICD-9, an
# Excludes1 pair, maternity, newborn, male-only, none
DX = [
    ("E11.9",),
    ("E11",),
    ("M54.5", "I10"),
    ("S52.501",),
    ("T78.40A",),
    ("Q99.99",),
    ("250.00",),
    ("E11.9", "E10.9"),
    ("O80",),
    ("Z38.00",),
    ("N40.0", "E11.9"),
    (),
]
# lines: (code, modifiers, pointers, units, cents)
LINES = [
    (("99213", (), "1", 1, 14000),),
    (("80053", (), "1", 1, 4800), ("80048", (), "1", 1, 3800)),
    (("99213", ("LT", "RT"), "1,1", 0, 0), ("J1100", ("ZZ",), "", 1, 900)),
    (("97110", ("26", "TC", "26"), "5", 5, -100), ("XXXXX", (), "1", 1, 100)),
    (("20610", (), "1", 3, 9000), ("99213", ("25",), "2", 1, 14000)),
    (("80061", ("GA",), "1", 1, 2500), ("J3490", (), "1", 1, 1200)),
]
DOS = ["2026-06-15", "2026-06-16", "2014-06-01", "2026-12-01", "2025-01-10"]


def _varied(conn) -> list[int]:
    """Patients of every coverage situation, each with encounters crossing the lists above."""
    fx.setup_parties(conn)
    with dbmod.write(conn):
        conn.execute(
            "INSERT INTO payers (code, name, kind, timely_filing_days, x12_payer_id) VALUES"
            " ('MCD', 'Medicaid', 'medicaid', 365, NULL), ('ODD', 'Odd*Plan', 'hmo', 400, 'OD1')"
        )
    covs = [
        "default",
        None,
        {"payer": "MCR", "member_id": "1EG4TE5MK72", "from": "2020-01-01"},
        {"payer": "MCD", "member_id": " ", "from": "2020-01-01"},
        {"payer": "KEY", "member_id": "K1", "from": "2020-01-01", "to": "2026-01-01"},
        {"payer": "SELF", "member_id": "S1", "from": "2020-01-01"},
        {"payer": "ODD", "member_id": "A*1", "from": "2020-01-01"},
    ]
    people = [("F", "1980-05-01"), ("M", "1950-02-02"), ("U", "2026-01-01"), ("F", "2020-03-03")]
    ids, pids = [], []
    for i, (cov, (sex, dob)) in enumerate(itertools.product(covs, people)):
        pid = fx.add_patient(conn, sex=sex, dob=dob, coverage=cov)
        pids.append(pid)
        if i % 5 == 0:
            with dbmod.write(conn):
                conn.execute("UPDATE patients SET zip = '123' WHERE id = ?", (pid,))
        for j in range(4):
            n = i * 4 + j
            ids.append(
                fx.add_encounter(
                    conn,
                    pid,
                    dx=DX[n % len(DX)],
                    lines=LINES[n % len(LINES)],
                    dos=DOS[(n // 3) % len(DOS)],
                    provider_npi=fx.PROVIDER_NPI if n % 7 else "1234567890",
                    status="billed" if n % 11 == 0 else "unbilled",
                )
            )
    with dbmod.write(conn):
        # a second encounter the same patient, provider and day (NCCI and MUE over both)
        conn.execute(
            "UPDATE encounters SET date_of_service = '2026-06-15' WHERE id IN (?, ?)", ids[4:6]
        )
        conn.execute(
            "INSERT INTO charge_line_fields (encounter_id, line_no, ndc, ndc_unit, ndc_quantity)"
            " VALUES (?, 2, '123', 'XX', '0'), (?, 1, '12345678901', 'ML', '1')",
            (ids[14], ids[40]),
        )
        # diagnoses numbered from 2 (CLAIM-POINTER), a dependent without the subscriber's name,
        # a name without a Latin form (X12-TEXT-EMPTY)
        conn.execute("UPDATE encounter_diagnoses SET seq = 2 WHERE encounter_id = ?", ids[:1])
        conn.execute("UPDATE coverages SET relationship = 'child' WHERE member_id = 'A*1'")
        conn.execute("UPDATE patients SET last_name = '王' WHERE id = ?", (pids[3],))
        (pid1, payer), (pid2, _) = conn.execute(
            "SELECT c.patient_id, c.payer_id FROM coverages c JOIN payers p ON p.id = c.payer_id"
            " WHERE p.code = 'KEY' ORDER BY c.patient_id LIMIT 2"
        ).fetchall()
        # one authorization used up by the patient's second visit, one that ended before the DOS
        conn.execute(
            "INSERT INTO authorizations (payer_id, patient_id, number, codes, valid_from,"
            " valid_to, visits_allowed, created_at) VALUES (?, ?, 'PA1', '99213', '2026-06-01',"
            " '2026-12-31', 1, '2026-01-01'), (?, ?, 'PA2', '99213', '2026-01-01', '2026-03-01',"
            " NULL, '2026-01-01')",
            (payer, pid1, payer, pid2),
        )
        conn.execute(
            "INSERT INTO payer_requirements (payer_id, requirement, codes, created_at)"
            " VALUES (?, 'auth', '20610', '2026-01-01')",
            (payer,),
        )
    return ids


@pytest.fixture
def varied(cdb, tmp_path):
    from billadmin.codesets import loader

    ids = _varied(cdb)
    edits = [("80053", "80048", "20000101", "*", 0), ("20610", "99213", "19950101", "*", 1)]
    loader.load(cdb, "ncci-ptp", [fx.ptp_file(tmp_path / "ccipra-v322r0-f1.txt", edits)])
    mue = [("99213", 1, 2), ("20610", 2, 1), ("97110", 4, 3)]
    loader.load(
        cdb, "mue", [fx.mue_file(tmp_path / "MCR_MUE_PractitionerServices_Eff_2026-04-01.csv", mue)]
    )
    return cdb, ids


def _slow(monkeypatch, conn, **kw) -> list:
    """check() with every encounter's findings computed rule by rule: the engine's own loading,
    grouping (NCCI, MUE per day) and ICD-RELEASE summary, but none of its per-encounter
    shortcuts."""

    def encounter(self, enc, dx_key=None, line_keys=None):
        legacy = enc.dos < engine.ICD10_START
        for rule in RULES.values():
            if rule.level not in ("dx", "encounter", "line") or rule not in self.chosen:
                continue
            if legacy and rule.id.startswith("ICD-"):
                continue
            static = rule.id in engine._STATIC or rule.id in engine._PATIENT_DX
            for ln in enc.lines if rule.level == "line" else [None]:
                if ln is not None and ln.context:
                    continue
                args = (ln,) if ln is not None else ()
                for item in rule.fn(self.ref, enc, *args):
                    if static or ln is not None:
                        src = self._source(rule, enc, *((ln.code, ln.mods) if ln else ()))
                    else:
                        src = rule.source
                    sev = item[2] if len(item) > 2 else rule.severity
                    line = ln.no if ln is not None else item[0]
                    self.findings.append(
                        engine.Finding(rule.id, sev, item[1], enc.number, line, src, enc.id)
                    )

    with monkeypatch.context() as m:
        init = engine.Runner.__init__

        def init_chosen(self, ref, rules=None):
            init(self, ref, rules)
            self.chosen = [RULES[r] for r in (rules or RULES)]

        m.setattr(engine.Runner, "__init__", init_chosen)
        m.setattr(engine.Runner, "encounter", encounter)
        return check(conn, **kw)


SCOPES: list[dict] = [
    {},
    {"as_of": dt.date(2026, 6, 20)},
    {"rules": ["CLAIM-MEMBER-ID", "NDC-UNIT", "ICD-7TH", "CLM-DOS", "X12-ID-CHARS"]},
    {"rules": ["ICD-EXISTS", "ICD9-CODE", "ICD-RELEASE", "ALREADY-BILLED", "AUTH-EXPIRED"]},
    {"some": True},
    # what `invoice generate` asks (billing/holds.py: all but the rules it computes itself)
    {"rules": [r for r in RULES if r not in GENERATE_RULES], "some": True},
]


def test_findings_equal_the_slow_way(varied, monkeypatch):
    conn, ids = varied
    for scope in SCOPES:  # (one set built for all: building it is most of the test's time)
        kw: dict = {"as_of": scope.get("as_of", AS_OF)}
        if "rules" in scope:
            kw["rules"] = scope["rules"]
        if scope.get("some"):
            kw["encounter_ids"] = ids[::3]
        fast = check(conn, **kw)
        assert fast == _slow(monkeypatch, conn, **kw), scope
        if not scope:
            # the set is varied enough to mean something: every rule the shortcuts touch fires
            fired = {f.rule for f in fast}
            touched = set(FAMILY) | set(QUIET) | engine._ICD_STATE | engine._BY_DOS
            # (one ICD-10-CM release and no necessity policy loaded; an invoice is not built here)
            unfired = {"ICD-DOS", "LCD-NECESSITY", "NCD-NECESSITY", "ALREADY-BILLED"}
            missing = touched - fired - unfired
            assert not missing, missing
            assert len(fast) > 300


def test_quiet_rules_are_skipped_only_when_they_cannot_find_anything(cdb):
    fx.setup_parties(cdb)
    clean = fx.add_encounter(cdb, fx.add_patient(cdb))
    ref = engine.Ref(cdb, AS_OF)
    ref.load_coverages()
    run = engine.Runner(ref)
    run._prepare()
    kept = {r.id for r in run._plain or ()} | {rid for _, rules in run._families for rid in rules}
    skipped = {r.id for r in run.patient_rules} - kept
    assert {"ALREADY-BILLED", "CLAIM-ADDRESS", "X12-TEXT-EMPTY", "X12-ID-CHARS"} <= skipped
    assert {"CLAIM-PAYER-ID", "NCD-NECESSITY", "LCD-NECESSITY"} <= skipped
    assert check(cdb, encounter_ids=[clean], as_of=AS_OF) == []
    # the same run once a patient's address is incomplete: CLAIM-ADDRESS runs and finds it
    with dbmod.write(cdb):
        cdb.execute("UPDATE patients SET city = NULL")
    run = engine.Runner(engine.Ref(cdb, AS_OF))
    run._prepare()
    assert "CLAIM-ADDRESS" in {r.id for r in run._plain or ()}
    assert [f.rule for f in check(cdb, encounter_ids=[clean], as_of=AS_OF)] == ["CLAIM-ADDRESS"]
