"""Review of issue 15's own-share cuts to `invoice generate` (digests, loading, scrubbing):
cases the benchmark and the speed tests do not build, each held to what the code before the
cuts (e380769) did, written here by hand from the billing rules.

The practice is test_one_scrub's `claims_db`: one encounter failing each CLAIM-* rule, E-OK
clean (a 99213 at 140.00 to Medicare), E-SELF self-pay."""

from __future__ import annotations

import functools

import invoice_fixtures as ifx
from codes_fixtures import cdb, codes_db_path, icd_template  # noqa: F401  (fixtures)
from test_one_scrub import claims_db  # noqa: F401  (fixture)

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
