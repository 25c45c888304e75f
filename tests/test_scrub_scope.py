"""A chosen set of encounters (`invoice generate --payer/--through`, `codes check -e`) is scrubbed
with the same findings as a whole-table run gives those encounters: the billed lines of the same
patient, provider and day, the patients' addresses and X12 text are read for the set only."""

from __future__ import annotations

import codes_fixtures as fx
import pytest
from codes_fixtures import AS_OF, cdb, codes_db_path, icd_template  # noqa: F401  (fixtures)

from billadmin import db as dbmod
from billadmin.scrub import check


@pytest.fixture
def practice(cdb, tmp_path):
    """PTP edit 80053/80048 (modifier indicator 0) and, per patient, one planted problem."""
    from billadmin.codesets import loader

    fx.setup_parties(cdb)
    ptp = fx.ptp_file(tmp_path / "ccipra-v322r0-f1.txt", [("80053", "80048", "20000101", "*", 0)])
    loader.load(cdb, "ncci-ptp", [ptp], effective="2026-04-01")
    enc: dict[str, int] = {}
    # 80053 already billed the same day: the unbilled 80048 is unbundled (NCCI-PTP)
    p = fx.add_patient(cdb)
    fx.add_encounter(cdb, p, lines=(("80053", (), "1", 1, 4800),), status="billed")
    enc["ptp"] = fx.add_encounter(cdb, p, lines=(("80048", (), "1", 1, 3800),))
    # no street address: CLAIM-ADDRESS
    p = fx.add_patient(cdb)
    with dbmod.write(cdb):
        cdb.execute("UPDATE patients SET address1 = NULL WHERE id = ?", (p,))
    enc["address"] = fx.add_encounter(cdb, p)
    # a header code: ICD-BILLABLE
    enc["header"] = fx.add_encounter(cdb, fx.add_patient(cdb), dx=("E11",))
    # clean, and a billed-history patient outside any chosen set
    enc["clean"] = fx.add_encounter(cdb, fx.add_patient(cdb))
    q = fx.add_patient(cdb)
    with dbmod.write(cdb):
        cdb.execute("UPDATE patients SET address1 = NULL WHERE id = ?", (q,))
    for _ in range(3):
        fx.add_encounter(cdb, q, lines=(("80053", (), "1", 1, 4800),), status="billed")
    enc["other"] = fx.add_encounter(cdb, q, lines=(("80048", (), "1", 1, 3800),))
    return cdb, enc


def _key(findings):
    return sorted((f.encounter_id, f.rule, f.line, f.message) for f in findings)


def test_each_chosen_set_finds_what_the_whole_run_finds(practice):
    conn, enc = practice
    whole = check(conn, as_of=AS_OF)
    rules = {(f.encounter_id, f.rule) for f in whole}
    assert (enc["ptp"], "NCCI-PTP") in rules
    assert (enc["address"], "CLAIM-ADDRESS") in rules
    assert (enc["header"], "ICD-BILLABLE") in rules
    assert (enc["other"], "NCCI-PTP") in rules and (enc["other"], "CLAIM-ADDRESS") in rules
    assert not [f for f in whole if f.encounter_id == enc["clean"]]
    for chosen in (
        [enc["ptp"]],
        [enc["address"], enc["clean"]],
        [enc["ptp"], enc["header"]],
        [enc["clean"]],
        list(enc.values()),
    ):
        got = check(conn, encounter_ids=chosen, as_of=AS_OF)
        assert _key(got) == _key(f for f in whole if f.encounter_id in chosen), chosen


def test_a_chosen_set_does_not_report_billed_history_of_other_days(practice):
    conn, enc = practice
    # the billed 80053 of another day is no context for the 80048
    p = fx.add_patient(conn)
    fx.add_encounter(
        conn, p, lines=(("80053", (), "1", 1, 4800),), status="billed", dos="2026-05-01"
    )
    e = fx.add_encounter(conn, p, lines=(("80048", (), "1", 1, 3800),))
    assert [f for f in check(conn, encounter_ids=[e], as_of=AS_OF) if f.rule == "NCCI-PTP"] == []
