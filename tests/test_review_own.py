"""Review of issue 15's own-share cuts to `invoice generate` (digests, loading, scrubbing):
cases the benchmark and the speed tests do not build, each held to what the code before the
cuts (e380769) did, written here by hand from the billing rules.

The practice is test_one_scrub's `claims_db`: one encounter failing each CLAIM-* rule, E-OK
clean (a 99213 at 140.00 to Medicare), E-SELF self-pay."""

from __future__ import annotations

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
