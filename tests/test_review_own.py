"""Review of issue 15's own-share cuts to `invoice generate` (digests, loading, scrubbing):
cases the benchmark and the speed tests do not build, each held to what the code before the
cuts (e380769) did, written here by hand from the billing rules.

The practice is test_one_scrub's `claims_db`: one encounter failing each CLAIM-* rule, E-OK
clean (a 99213 at 140.00 to Medicare), E-SELF self-pay."""

from __future__ import annotations

import datetime as dt
import functools

import invoice_fixtures as ifx
import pytest
from codes_fixtures import cdb, codes_db_path, icd_template  # noqa: F401  (fixtures)
from test_one_scrub import claims_db  # noqa: F401  (fixture)

from billadmin import audit, integrity
from billadmin.billing import generate as gen
from billadmin.scrub import check


def _held(conn, scrub, out) -> dict[str, set[str]]:
    res = gen.generate(
        conn, today=ifx.TODAY, through=ifx.TODAY, scrub=scrub, out_dir=out, dry_run=True, pdf=False
    )
    return {h.encounter: {f.rule for f in h.findings} for h in res.held}


def test_a_scrubber_with_its_rules_bound_is_asked_for_those_rules_only(claims_db, tmp_path):
    """A Python caller narrowing the scrubber (functools.partial(check, rules=[...]), or a
    `rules` default) gets the holds of those rules and of generate's own CLAIM-* checks, as
    before the cuts: generate does not replace the rules the caller bound with all of them.
    E-NODX has no diagnosis and its line no pointer: generate's own CLAIM-NO-DX and
    CLAIM-POINTER hold it; the scrubber's CLM-DX and CLM-POINTER (which would stand for
    CLAIM-POINTER) were not asked for. E-NEG's -5.00 line: CLAIM-CHARGE, not CLM-CHARGE."""
    only_ndc = functools.partial(check, rules=["NDC-FORMAT"])
    got = _held(claims_db, only_ndc, tmp_path / "p")
    assert got["E-NODX"] == {"CLAIM-NO-DX", "CLAIM-POINTER"}
    assert got["E-NEG"] == {"CLAIM-CHARGE"}
    assert got["E-MEMBER"] == {"CLAIM-MEMBER-ID"}  # (not the scrubber's CLM-COVERAGE)

    def with_default(conn, *, encounter_ids=None, as_of=None, rules=("NDC-FORMAT",)):
        return check(conn, encounter_ids=encounter_ids, as_of=as_of, rules=rules)

    assert _held(claims_db, with_default, tmp_path / "d") == got

    def positional(conn, rules=("NDC-FORMAT",), /, *, encounter_ids=None, as_of=None):
        return check(conn, encounter_ids=encounter_ids, as_of=as_of, rules=rules)

    assert _held(claims_db, positional, tmp_path / "o") == got  # (not given rules= by name)
    # asked for everything (a `rules` defaulting to None): the scrubber's rules hold too
    full = _held(claims_db, check, tmp_path / "f")
    assert full["E-NODX"] == {"CLAIM-NO-DX", "CLM-DX", "CLM-POINTER"}
    assert full["E-NEG"] == {"CLAIM-CHARGE", "CLM-CHARGE"}


# the steps the digest cuts added to phase (a): numbering the 'issued' events' digests, the
# files' rows and 'sent' events digested as planned, each table's records written (finish)
_DIGEST_STEPS = [
    (audit.PlannedDigests, "number", 1),
    (audit.PlannedDigests, "add", "invoice_files"),
    (audit.PlannedDigests, "finish", "invoice_events"),
    (audit.PlannedDigests, "finish", "invoice_files"),
]


@pytest.mark.parametrize(("owner", "name", "at"), _DIGEST_STEPS)
def test_ctrl_c_at_a_digest_step_writes_nothing_and_the_next_run_is_sealed(
    claims_db, tmp_path, owner, name, at, monkeypatch, cli
):
    """Ctrl-C while the run's planned rows are digested: nothing written, `check` clean; the
    next run on the same connection issues E-OK's claim (C000001, 140.00) with its 'issued' and
    'sent' events and its 837P's file row, and E-SELF's patient invoice (P000001, 140.00), every
    row sealed (billadmin check exits 0)."""
    real = getattr(owner, name)
    calls: list = []

    def interrupted(self, *a, **kw):
        calls.append(a)
        if at == len(calls) or at in a:
            raise KeyboardInterrupt
        return real(self, *a, **kw)

    monkeypatch.setattr(owner, name, interrupted)
    with pytest.raises(KeyboardInterrupt):
        _issue(claims_db, tmp_path / "o")
    monkeypatch.setattr(owner, name, real)
    assert claims_db.execute("SELECT COUNT(*) FROM invoices").fetchone() == (0,)
    assert claims_db.execute("SELECT COUNT(*) FROM invoice_events").fetchone() == (0,)
    assert integrity.run_checks(claims_db) == []
    res = _issue(claims_db, tmp_path / "o")
    assert sorted((r["number"], r["total_cents"]) for r in res.issued) == [
        ("C000001", 14000),
        ("P000001", 14000),
    ]
    assert claims_db.execute(
        "SELECT e.status FROM invoice_events e JOIN invoices i ON i.id = e.invoice_id"
        " WHERE i.number = 'C000001' ORDER BY e.id"
    ).fetchall() == [("issued",), ("sent",)]
    assert claims_db.execute("SELECT kind FROM invoice_files").fetchall() == [("x12",)]
    # sealed by the batches planned in phase (a), not a row at a time
    batched = {t for (t,) in claims_db.execute("SELECT tbl FROM row_seals WHERE last_id > 0")}
    assert {"invoice_events", "invoice_files", "invoices"} <= batched
    assert integrity.run_checks(claims_db) == []
    r = cli("check")
    assert r.exit_code == 0, r.stdout + r.stderr


def _issue(conn, out) -> gen.RunResult:
    return gen.generate(
        conn, today=ifx.TODAY, through=ifx.TODAY, scrub=check, out_dir=out, pdf=False
    )


def test_ndcs_malformed_in_some_lines_of_encounters_sharing_a_day(cdb, tmp_path):  # noqa: F811
    """The cuts' loading (line fields as one json_array text, a line found at its position, the
    fields' dicts shared by value) and NDC-FORMAT/NDC-UNIT once per distinct dict, on a practice
    the benchmark does not have. Ann (Medicare) has E1 and E2 the same day with the same
    provider, each a 99213 at 140.00 and a J1100 (2 units, 9.00 the line): line 1's NDC well formed,
    line 2's '123' with unit 'XX' and quantity '0' (NDC-FORMAT, and NDC-UNIT twice: no unit, no
    quantity). Bo's E3: line 1 billed already with a bad NDC (not scrubbed), line 2's quantity
    'abc' (NDC-UNIT), line 3 a CLIA number only. Cy's E4: every NDC well formed (issued,
    C000001, 140.00 + 9.00 = 149.00). Ann's E5 is after --through. The same holds on the
    scrubber's own run (`codes check`)."""
    from billadmin import db as dbmod

    with dbmod.write(cdb):
        ifx.practice(cdb)
        ann, bo, cy = (ifx.patient(cdb, mrn) for mrn in ("1001", "1002", "1003"))
        for p in (ann, bo, cy):
            ifx.coverage(cdb, p, "MCR")
        two = [("99213", 14000), ("J1100", 900, "", "1", 2)]
        e1 = ifx.encounter(cdb, ann, "2026-06-10", two, number="E1")
        e2 = ifx.encounter(cdb, ann, "2026-06-10", two, number="E2")
        e3 = ifx.encounter(cdb, bo, "2026-06-11", [*two, ("99212", 9000)], number="E3")
        e4 = ifx.encounter(cdb, cy, "2026-06-12", two, number="E4")
        ifx.encounter(cdb, ann, "2026-06-25", two, number="E5")
        cdb.execute(
            "UPDATE charge_lines SET status = 'billed' WHERE encounter_id = ? AND line_no = 1",
            (e3,),
        )
        good, bad = ("12345678901", "ML", "1"), ("123", "XX", "0")
        for eid, no, rec, clia in [
            (e1, 1, good, None),
            (e1, 2, bad, None),
            (e2, 2, bad, None),
            (e3, 1, ("bad", None, None), None),
            (e3, 2, ("12345678901", "UN", "abc"), None),
            (e3, 3, (None, None, None), "11D0000001"),
            (e4, 1, good, None),
            (e4, 2, good, None),
        ]:
            cdb.execute(
                "INSERT INTO charge_line_fields (encounter_id, line_no, ndc, ndc_unit,"
                " ndc_quantity, clia) VALUES (?, ?, ?, ?, ?, ?)",
                (eid, no, *rec, clia),
            )
    bad_three = [(2, "NDC-FORMAT"), (2, "NDC-UNIT"), (2, "NDC-UNIT")]
    want = {"E1": bad_three, "E2": bad_three, "E3": [(2, "NDC-UNIT")]}
    res = gen.generate(
        cdb,
        today=ifx.TODAY,
        through=dt.date(2026, 6, 20),
        scrub=check,
        out_dir=tmp_path / "o",
        dry_run=True,
        pdf=False,
    )
    assert {h.encounter: sorted((f.line, f.rule) for f in h.findings) for h in res.held} == want
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [("C000001", 14900)]
    found = [f for f in check(cdb, as_of=ifx.TODAY) if f.rule.startswith("NDC-")]
    by_number = {e1: "E1", e2: "E2", e3: "E3"}
    assert {
        n: sorted((f.line, f.rule) for f in found if f.encounter_id == eid)
        for eid, n in by_number.items()
    } == want
    assert len(found) == 7  # (E4 and E5 have none)
