"""readset.digest (issue 15): each part of what a billing run read changes when a row it read
changes, in any column, and stays the same when only what the run does not read changes. The
parts' queries and their row serialisation (json_array of STRICT tables, marshal) are what is
tested here; test_generate_lock.py tests the runs sent back."""

from __future__ import annotations

import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin.billing import content, readset


@pytest.fixture
def run(db):
    """Patient 9001 billed for visit A1 on 2026-06-10; A2 is their other visit that day (read:
    the same-day rules see it), A3 another day and B1 another patient's (neither read)."""
    with dbmod.write(db):
        fx.practice(db)
        a = fx.patient(db, "9001")
        fx.coverage(db, a, "KEY", member="M0001")
        b = fx.patient(db, "9002")
        fx.coverage(db, b, "MCD", member="M0002")
        a1 = fx.encounter(db, a, "2026-06-10", [("99213", 14000), ("36415", 1500)], number="A1")
        fx.encounter(db, a, "2026-06-10", [("99212", 9500)], number="A2")
        fx.encounter(db, a, "2026-06-11", [("99212", 9500)], number="A3")
        fx.encounter(db, b, "2026-06-10", [("99213", 14000)], number="B1")
    billed = content.temp_ids(db, "_t_billed", [a1])
    pats = content.temp_ids(db, "_t_pat", [a])

    def digest() -> dict[str, str]:
        return readset.digest(db, billed, pats)

    return db, digest


def _enc(number: str) -> str:
    return f"(SELECT id FROM encounters WHERE number = '{number}')"


def _pat(mrn: str) -> str:
    return f"(SELECT id FROM patients WHERE mrn = '{mrn}')"


READ = {
    "a charge edited": (
        f"UPDATE charge_lines SET charge_cents = 15500 WHERE encounter_id = {_enc('A1')}"
        " AND line_no = 1",
        ["charge_lines"],
    ),
    "a modifier from none to empty": (
        f"UPDATE charge_lines SET modifier2 = '' WHERE encounter_id = {_enc('A1')} AND line_no = 2",
        ["charge_lines"],
    ),
    "a late line": (
        "INSERT INTO charge_lines (encounter_id, line_no, code, dx_pointers, units, charge_cents)"
        f" VALUES ({_enc('A1')}, 3, '81002', '1', 1, 800)",
        ["charge_lines"],
    ),
    "the same-day visit's line billed by another run": (
        f"UPDATE charge_lines SET status = 'billed' WHERE encounter_id = {_enc('A2')}",
        ["charge_lines"],
    ),
    "a line moved to the same-day visit": (
        f"UPDATE charge_lines SET encounter_id = {_enc('A2')}, line_no = 2"
        f" WHERE encounter_id = {_enc('A1')} AND line_no = 2",
        ["charge_lines"],
    ),
    "a place of service": (
        f"UPDATE encounters SET place_of_service = '22' WHERE id = {_enc('A1')}",
        ["encounters"],
    ),
    "the same-day visit's provider": (
        f"UPDATE encounters SET provider_id = 2 WHERE id = {_enc('A2')}",
        ["encounters"],
    ),
    "a diagnosis": (
        f"UPDATE encounter_diagnoses SET code = 'E78.5' WHERE encounter_id = {_enc('A1')}"
        " AND seq = 2",
        ["diagnoses"],
    ),
    "an accident date": (
        "INSERT INTO encounter_fields (encounter_id, accident_date)"
        f" VALUES ({_enc('A1')}, '2026-06-01')",
        ["encounter_fields"],
    ),
    "a line's NDC": (
        "INSERT INTO charge_line_fields (encounter_id, line_no, ndc)"
        f" VALUES ({_enc('A1')}, 1, '00002143380')",
        ["charge_line_fields"],
    ),
    "an address": (
        f"UPDATE patients SET address1 = '7 Elm St' WHERE id = {_pat('9001')}",
        ["patients"],
    ),
    "a member id": (
        f"UPDATE coverages SET member_id = 'M0009' WHERE patient_id = {_pat('9001')}",
        ["coverages"],
    ),
}


@pytest.mark.parametrize("change", READ, ids=list(READ))
def test_a_change_to_what_the_run_read_changes_its_part(run, change):
    db, digest = run
    sql, parts = READ[change]
    before = digest()
    assert digest() == before  # the same rows hash the same
    with dbmod.write(db):
        assert db.execute(sql).rowcount == 1
    assert readset.changed(before, digest()) == parts


def test_a_new_visit_on_a_billed_day_changes_the_encounters_and_their_lines(run):
    db, digest = run
    before = digest()
    with dbmod.write(db):
        a = db.execute("SELECT id FROM patients WHERE mrn = '9001'").fetchone()[0]
        fx.encounter(db, a, "2026-06-10", [("J3420", 900)])
    assert readset.changed(before, digest()) == ["charge_lines", "diagnoses", "encounters"]


NOT_READ = {
    "another day's visit": f"UPDATE charge_lines SET charge_cents = 1 WHERE encounter_id = {_enc('A3')}",
    "another patient's visit": f"UPDATE encounters SET place_of_service = '22' WHERE id = {_enc('B1')}",
    "another patient's diagnosis": (
        f"UPDATE encounter_diagnoses SET code = 'E78.5' WHERE encounter_id = {_enc('B1')}"
    ),
    "another patient's coverage": (
        f"UPDATE coverages SET member_id = 'M0009' WHERE patient_id = {_pat('9002')}"
    ),
    "another patient's address": f"UPDATE patients SET city = 'Dayton' WHERE id = {_pat('9002')}",
}


@pytest.mark.parametrize("change", NOT_READ, ids=list(NOT_READ))
def test_a_change_to_what_the_run_did_not_read_changes_nothing(run, change):
    db, digest = run
    before = digest()
    with dbmod.write(db):
        assert db.execute(NOT_READ[change]).rowcount >= 1
    assert readset.changed(before, digest()) == []


def test_json_rows_only_for_strict_integer_and_text_tables(db):
    """json_array writes a REAL to 15 digits: a table that may hold one is hashed from its
    values (marshal), where 0.1 and 0.1000000000000001 differ."""
    with dbmod.write(db):
        db.execute("CREATE TABLE t_text (a INTEGER, b TEXT) STRICT")
        db.execute("CREATE TABLE t_real (a INTEGER, r REAL) STRICT")
        db.execute("CREATE TABLE t_loose (a INTEGER, b TEXT)")
        db.execute("INSERT INTO t_real VALUES (1, 0.1)")
    assert readset._row(db, "t_text", "x") == 'json_array(x."a", x."b")'
    assert readset._row(db, "t_real", "x") == "x.*"
    assert readset._row(db, "t_loose", "x") == "x.*"
    sql = f"SELECT {readset._row(db, 't_real', 'x')} FROM t_real x"
    before = readset._hash(db, sql)
    with dbmod.write(db):
        db.execute("UPDATE t_real SET r = 0.1000000000000001")
    assert readset._hash(db, sql) != before


@pytest.mark.parametrize(
    "one, other", [("1", "'1'"), ("NULL", "''"), ("1", "1.0"), ("'a', 'b'", "'a,b', NULL")]
)
def test_values_of_other_types_hash_differently(db, one, other):
    assert readset._hash(db, f"SELECT {one}") != readset._hash(db, f"SELECT {other}")
    assert readset._hash(db, f"SELECT {one}") == readset._hash(db, f"SELECT {one}")


# ---- the recheck before the lock (generate._recheck) ------------------------------------------


@pytest.fixture
def billable(db):
    """Six insured patients with a visit each: six claims."""
    with dbmod.write(db):
        fx.practice(db)
        for i in range(6):
            p = fx.patient(db, f"91{i:02d}")
            fx.coverage(db, p, "KEY", member=f"M{i:04d}")
            fx.encounter(db, p, "2026-06-10", [("99213", 14000)], number=f"V{i}")
    return db


def _commit_elsewhere(db_path, mrn: str) -> None:
    """A commit by another connection of nothing a run reads (a new patient)."""
    other = dbmod.connect(db_path)
    with dbmod.write(other):
        fx.patient(other, mrn)
    other.close()


def _committing(monkeypatch, db_path, during_recheck: int) -> list[str]:
    """A commit while the run is prepared (where it waits for the files' verdicts), and one
    while each of the first `during_recheck` digests after it is computed; the digests' calls."""
    from billadmin.billing import generate as gen
    from billadmin.billing import x12files

    calls: list[str] = []
    real_check, real_digest = x12files.X12Run.check, gen._digest

    def check(run):
        _commit_elsewhere(db_path, "8000")
        return real_check(run)

    def digest(conn, plan):
        out = real_digest(conn, plan)
        calls.append("digest")
        if len(calls) <= during_recheck:
            _commit_elsewhere(db_path, f"80{len(calls):02d}")
        return out

    monkeypatch.setattr(x12files.X12Run, "check", check)
    monkeypatch.setattr(gen, "_digest", digest)
    return calls


def test_a_commit_while_the_recheck_hashes_is_hashed_again_before_the_lock(
    billable, db_path, tmp_path, monkeypatch
):
    from billadmin.billing import generate as gen

    calls = _committing(monkeypatch, db_path, during_recheck=1)
    res = gen.generate(
        billable, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o", pdf=False
    )
    assert calls == ["digest", "digest"]  # both before the lock
    assert "readset recheck" in res.timings and "readset again" not in res.timings
    assert len(res.issued) == 6


def test_commits_during_every_recheck_leave_the_last_hash_to_the_lock(
    billable, db_path, tmp_path, monkeypatch
):
    from billadmin.billing import generate as gen

    calls = _committing(monkeypatch, db_path, during_recheck=gen.RECHECKS)
    res = gen.generate(
        billable, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o", pdf=False
    )
    assert len(calls) == gen.RECHECKS + 1 and "readset again" in res.timings
    assert len(res.issued) == 6
    n = billable.execute("SELECT COUNT(*) FROM invoices WHERE kind = 'claim'").fetchone()[0]
    assert n == 6
