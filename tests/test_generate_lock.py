"""`invoice generate` never holds the write lock while it builds, renders or validates (issue 15):
other commands write during a run and succeed at once; a change to what the run bills, made
while it is prepared, is seen under the lock and the run is prepared again; the files it puts in
place are the files pyx12 validated, with the numbers the database recorded."""

from __future__ import annotations

import json
import threading
import time

import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin import integrity
from billadmin.billing import generate as gen
from billadmin.billing import numbering, x12files
from billadmin.x12 import validate

PAUSE_TIMEOUT = 60


@pytest.fixture
def practice(db):
    """20 insured patients (KEY and MCD alternately), two visits each in June 2026, and a
    self-pay patient: 40 claims and one patient invoice for a run on fx.TODAY."""
    with dbmod.write(db):
        fx.practice(db)
        for i in range(20):
            p = fx.patient(db, f"90{i:02d}")
            fx.coverage(db, p, "KEY" if i % 2 else "MCD", member=f"M{i:04d}")
            fx.encounter(db, p, "2026-06-10", [("99213", 14000), ("36415", 1500)], number=f"A{i}")
            fx.encounter(db, p, "2026-06-11", [("99212", 9500)], number=f"B{i}")
        s = fx.patient(db, "9900")
        fx.encounter(db, s, "2026-06-12", [("99203", 17500)], number="S1")
    return db


class Paused:
    """Replaces X12Run.check (where phase (a) waits for pyx12's verdicts): the run stops there
    until released, so the test can act while it is being prepared. `on_pause(n)` runs (in the
    generating thread) at the n-th preparation, instead of waiting, when given."""

    def __init__(self, monkeypatch, *, pause_at=(1,), on_pause=None):
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0
        self.pause_at = set(pause_at)
        self.on_pause = on_pause
        real = x12files.X12Run.check

        def check(run):
            self.calls += 1
            if self.on_pause is not None:
                self.on_pause(self.calls)
            elif self.calls in self.pause_at:
                self.entered.set()
                assert self.release.wait(PAUSE_TIMEOUT), "the test never released the run"
            return real(run)

        monkeypatch.setattr(x12files.X12Run, "check", check)


class Generating(threading.Thread):
    """`invoice generate` on its own connection in a thread (as another process would)."""

    def __init__(self, db_path, out, **kw):
        super().__init__(daemon=True)
        self.db_path, self.out, self.kw = db_path, out, kw
        self.result = None
        self.error: BaseException | None = None

    def run(self):
        conn = dbmod.connect(self.db_path)
        try:
            self.result = gen.generate(
                conn, today=fx.TODAY, scrub=fx.no_scrub, out_dir=self.out, pdf=False, **self.kw
            )
        except BaseException as e:  # reported by the test
            self.error = e
        finally:
            conn.close()

    def finish(self):
        self.join(PAUSE_TIMEOUT)
        assert not self.is_alive(), "the run did not finish"
        if self.error is not None:
            raise self.error
        return self.result


def _claims(conn) -> list[tuple[str, str, int]]:
    return conn.execute(
        "SELECT i.number, e.number, i.total_cents FROM invoices i"
        " JOIN encounters e ON e.id = i.encounter_id WHERE i.kind = 'claim' ORDER BY i.number"
    ).fetchall()


def _billed_once(conn) -> None:
    twice = conn.execute(
        "SELECT charge_line_id FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
        " WHERE i.kind != 'credit' AND charge_line_id IS NOT NULL"
        " GROUP BY charge_line_id HAVING COUNT(*) > 1"
    ).fetchall()
    assert twice == []


def _files_valid_and_recorded(conn, out=None, files=None) -> None:
    """Each 837 in place (`files`, else the 837Ps in `out`) passes pyx12 again, and its ISA13
    and claim numbers are the ones the database recorded for it."""
    edis = files if files is not None else sorted(out.glob("837P-*.edi"))
    assert edis
    for v in validate.validate_paths(edis, workers=1):
        assert v.valid, v.problems
    for f in edis:
        text = f.read_text()
        isa13 = text.split("*")[13]
        rec = conn.execute(
            "SELECT x.isa_control, group_concat(i.number) FROM x12_interchanges x"
            " JOIN invoice_files f ON f.interchange_id = x.id JOIN invoices i ON i.id = f.invoice_id"
            " WHERE x.path LIKE ? GROUP BY x.id",
            ("%" + f.name,),
        ).fetchone()
        assert rec[0] == isa13 and f.name.endswith(f"-{isa13}.edi")
        in_file = sorted(seg.split("*")[1] for seg in text.split("~\n") if seg.startswith("CLM*"))
        assert in_file == sorted(rec[1].split(","))


def test_payment_post_and_checkin_succeed_at_once_during_a_run(
    practice, db_path, tmp_path, cli, monkeypatch
):
    paused = Paused(monkeypatch)
    run = Generating(db_path, tmp_path / "out")
    run.start()
    assert paused.entered.wait(PAUSE_TIMEOUT), run.error
    # the run is between its snapshot and its write phase: other writers go straight through
    # (with the lock held they would wait the 15 s busy timeout, then exit 3)
    t = time.perf_counter()
    r = cli("payment", "post", "9001", "20.00", "--method", "cash", "--credit")
    assert r.exit_code == 0, r.stderr
    r = cli("checkin", "9001", "--collect", "25.00", "--method", "card")
    assert r.exit_code == 0, r.stderr
    assert time.perf_counter() - t < 5
    paused.release.set()
    res = run.finish()

    assert paused.calls == 1  # neither write touched what the run bills: prepared once
    # what it read was hashed again before the lock (the writes were done by then), not under it
    assert "readset recheck" in res.timings and "readset again" not in res.timings
    claims = _claims(practice)
    assert [c[0] for c in claims] == [f"C{n:06d}" for n in range(1, 41)]
    totals = {enc: cents for _, enc, cents in claims}
    assert totals["A0"] == 14000 + 1500 and totals["B7"] == 9500
    assert sum(1 for r in res.issued if r["kind"] == "claim") == 40
    assert sum(1 for r in res.issued if r["kind"] == "patient") == 1
    assert res.timings["write lock"] < 5
    assert (
        practice.execute("SELECT COUNT(*) FROM charge_lines WHERE status != 'billed'").fetchone()[0]
        == 0
    )
    kinds = practice.execute("SELECT kind, amount_cents FROM payments ORDER BY id").fetchall()
    assert kinds == [("patient", 2000), ("copay", 2500)]
    _billed_once(practice)
    _files_valid_and_recorded(practice, tmp_path / "out")
    assert integrity.run_checks(practice) == []


def test_a_charge_changed_while_the_run_is_prepared_is_billed_as_changed(
    practice, db_path, tmp_path, monkeypatch
):
    """A0's visit line goes from 140.00 to 155.00 while the run waits for pyx12: under the lock
    the run sees it and prepares again; the claim carries 155.00 + 15.00 = 170.00."""
    paused = Paused(monkeypatch)
    run = Generating(db_path, tmp_path / "out")
    run.start()
    assert paused.entered.wait(PAUSE_TIMEOUT), run.error
    other = dbmod.connect(db_path)
    with dbmod.write(other):
        other.execute(
            "UPDATE charge_lines SET charge_cents = 15500 WHERE line_no = 1 AND encounter_id ="
            " (SELECT id FROM encounters WHERE number = 'A0')"
        )
    other.close()
    paused.release.set()
    run.finish()

    assert paused.calls == 2
    totals = {enc: cents for _, enc, cents in _claims(practice)}
    assert totals["A0"] == 17000 and len(totals) == 40
    text = "".join(p.read_text() for p in (tmp_path / "out").glob("837P-*.edi"))
    assert any(seg.startswith("CLM*") and seg.split("*")[2] == "170" for seg in text.split("~\n"))
    _files_valid_and_recorded(practice, tmp_path / "out")
    assert integrity.run_checks(practice) == []


def test_a_line_added_to_a_billed_visit_while_prepared_joins_its_claim(
    practice, db_path, tmp_path, monkeypatch
):
    """A late line on B3 (not yet billed) arrives during preparation: the claim carries it."""
    paused = Paused(monkeypatch)
    run = Generating(db_path, tmp_path / "out")
    run.start()
    assert paused.entered.wait(PAUSE_TIMEOUT), run.error
    other = dbmod.connect(db_path)
    with dbmod.write(other):
        other.execute(
            "INSERT INTO charge_lines (encounter_id, line_no, code, dx_pointers, units,"
            " charge_cents) SELECT id, 2, '36415', '1', 1, 1500 FROM encounters WHERE number = 'B3'"
        )
    other.close()
    paused.release.set()
    run.finish()
    assert paused.calls == 2
    totals = {enc: cents for _, enc, cents in _claims(practice)}
    assert totals["B3"] == 9500 + 1500
    _billed_once(practice)


def test_control_numbers_taken_meanwhile_give_a_file_with_the_new_ones(
    practice, db_path, tmp_path, monkeypatch
):
    """Another command takes an ISA13 while the run is prepared (an eligibility 270, say): the
    rendered numbers are no longer the next ones, so the run is prepared again and its files
    carry (and validate with) the numbers it took."""
    paused = Paused(monkeypatch)
    run = Generating(db_path, tmp_path / "out")
    run.start()
    assert paused.entered.wait(PAUSE_TIMEOUT), run.error
    other = dbmod.connect(db_path)
    with dbmod.write(other):
        assert numbering.next_control(other, "isa") == 1
        numbering.next_control(other, "gs")
    other.close()
    paused.release.set()
    run.finish()
    assert paused.calls == 2
    isas = sorted(
        r[0] for r in practice.execute("SELECT isa_control FROM x12_interchanges").fetchall()
    )
    assert isas == ["000000002", "000000003"]  # KEY and MCD, after the one taken meanwhile
    _files_valid_and_recorded(practice, tmp_path / "out")


def test_changes_on_every_preparation_give_up_with_exit_3_and_write_nothing(
    practice, db_path, tmp_path, monkeypatch
):
    def change(n):
        other = dbmod.connect(db_path)
        with dbmod.write(other):
            other.execute(
                "UPDATE charge_lines SET charge_cents = charge_cents + 100 WHERE encounter_id ="
                " (SELECT id FROM encounters WHERE number = 'A1')"
            )
        other.close()

    paused = Paused(monkeypatch, on_pause=change)
    out = tmp_path / "out"
    with pytest.raises(gen.RunChanged) as ei:
        gen.generate(practice, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, pdf=False)
    assert ei.value.exit_code == 3 and "charge_lines" in str(ei.value)
    assert paused.calls == gen.ATTEMPTS
    assert practice.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 0
    assert (
        practice.execute("SELECT next_number FROM series WHERE kind = 'claim'").fetchone()[0] == 1
    )
    assert list(out.iterdir()) == []  # the staged files of every attempt removed


def test_two_runs_at_once_bill_nothing_twice(practice, db_path, tmp_path, monkeypatch):
    """The first run is paused while prepared; a second run bills everything meanwhile. The
    first, under the lock, sees the lines billed, prepares again and issues nothing."""
    paused = Paused(monkeypatch, pause_at=(1,))
    first = Generating(db_path, tmp_path / "out1")
    first.start()
    assert paused.entered.wait(PAUSE_TIMEOUT), first.error
    second = Generating(db_path, tmp_path / "out2")
    second.start()
    res2 = second.finish()
    paused.release.set()
    res1 = first.finish()
    assert len(res2.issued) == 41 and res1.issued == []
    assert paused.calls == 2  # the first (paused), the second; prepared again, nothing to render
    nums = [c[0] for c in _claims(practice)]
    assert nums == [f"C{n:06d}" for n in range(1, 41)]
    _billed_once(practice)
    assert integrity.run_checks(practice) == []


def test_dry_run_writes_nothing_and_leaves_no_plan(practice, tmp_path):
    res = gen.generate(
        practice, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o", dry_run=True
    )
    assert len(res.issued) == 41
    assert practice.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 0
    temp = practice.execute(
        "SELECT name FROM temp.sqlite_master WHERE name LIKE '_plan_%'"
    ).fetchall()
    assert temp == []


def test_peeked_control_numbers_wrap_as_taken_ones(db):
    with dbmod.write(db):
        db.execute("UPDATE x12_counters SET last_value = 999999998 WHERE name = 'isa'")
    assert numbering.peek_controls(db, "isa", 3) == [999999999, 1, 2]
    with dbmod.write(db):
        assert [numbering.next_control(db, "isa") for _ in range(3)] == [999999999, 1, 2]


def test_the_optional_lock_timer_logs_each_outermost_transaction(practice, tmp_path, monkeypatch):
    log = tmp_path / "lock.log"
    monkeypatch.setenv(dbmod.LOCK_LOG_ENV, str(log))
    with dbmod.write(practice):
        with dbmod.write(practice):  # a nested call joins the outer transaction
            pass
    assert len(log.read_text().split()) == 1
    res = gen.generate(practice, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o")
    secs = [float(x) for x in log.read_text().split()[1:]]
    # the run's write phase, its files marked placed, then its listing (rendered without the
    # lock) recorded and marked placed
    assert len(secs) == 4
    assert secs[0] >= res.timings["write lock"] * 0.5 and all(s < 5 for s in secs)
    assert (tmp_path / "o" / "invoices.csv").read_text().count("\nC0000") == 40


def test_a_listing_lost_after_commit_is_written_by_the_next_run(practice, tmp_path, monkeypatch):
    """invoices.csv is rendered after COMMIT, without the lock: a run stopped just then has
    billed (its 837Ps in place) but has no listing; the next run into the folder lists both."""
    out = tmp_path / "out"
    real = gen._listing_after_commit
    monkeypatch.setattr(
        gen, "_listing_after_commit", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt())
    )
    with pytest.raises(KeyboardInterrupt):
        gen.generate(practice, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, pdf=False)
    assert not (out / "invoices.csv").exists() and len(list(out.glob("837P-*.edi"))) == 2
    monkeypatch.setattr(gen, "_listing_after_commit", real)
    with dbmod.write(practice):
        p = fx.patient(practice, "9990")
        fx.coverage(practice, p, "KEY", member="M9990")
        fx.encounter(practice, p, "2026-06-20", [("99213", 14000)], number="LATE")
    gen.generate(practice, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, pdf=False)
    listed = (out / "invoices.csv").read_text()
    assert listed.count("\nC0000") == 41 and "\nP000001," in listed
    assert integrity.run_checks(practice) == []


def test_a_change_made_after_the_recheck_is_found_under_the_lock(
    practice, db_path, tmp_path, monkeypatch
):
    """A charge edited between the recheck (without the lock) and BEGIN IMMEDIATE: the write
    phase hashes what the run read again under the lock, sees it and sends the run back."""
    real, edits = gen._recheck, []

    def recheck_then_edit(conn, result, plan):
        real(conn, result, plan)
        if not edits:
            other = dbmod.connect(db_path)
            with dbmod.write(other):
                other.execute(
                    "UPDATE charge_lines SET charge_cents = 15500 WHERE line_no = 1 AND"
                    " encounter_id = (SELECT id FROM encounters WHERE number = 'A0')"
                )
            other.close()
            edits.append(1)

    monkeypatch.setattr(gen, "_recheck", recheck_then_edit)
    paused = Paused(monkeypatch, pause_at=())
    res = gen.generate(practice, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o")
    assert paused.calls == 2 and "readset again" not in res.timings  # the second went through
    totals = {enc: cents for _, enc, cents in _claims(practice)}
    assert totals["A0"] == 15500 + 1500


# ---- batch seals planned before the lock (audit.plan_batches / insert_planned) ----------------


def _fetched(monkeypatch) -> dict[str, list[int]]:
    """Rows the seal reads back from the database, by table (audit.fetch_rows)."""
    from billadmin import audit

    seen: dict[str, list[int]] = {}
    real = audit.fetch_rows

    def fetch(conn, table, ids):
        seen.setdefault(table, []).extend(ids)
        return real(conn, table, ids)

    monkeypatch.setattr(audit, "fetch_rows", fetch)
    return seen


def test_the_runs_rows_are_sealed_by_batch_records_planned_before_the_lock(
    practice, tmp_path, monkeypatch
):
    seen = _fetched(monkeypatch)
    res = gen.generate(
        practice, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o", pdf=False
    )
    assert "seal digests" in res.timings
    n = {
        t: practice.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("invoices", "invoice_lines", "invoice_snapshots")
    }
    assert n == {"invoices": 41, "invoice_lines": 61, "invoice_snapshots": 41}
    # 40 claims and the patient invoice planned: their rows were not read back, only the
    # sample (each batch's first row and one in 64)
    assert sorted(seen["invoice_lines"]) == [1, 61]  # the first planned line and the patient's
    assert sorted(seen["invoices"]) == [1, 41]
    # one batch record per planned table (the 'sent' events a second one for invoice_events),
    # the patient invoice's rows and statement content their own batches (planned apart,
    # patient_invoices.plan and plan_contents: no credit to apply under the lock)
    batches = practice.execute(
        "SELECT tbl, row_id, last_id FROM row_seals WHERE last_id IS NOT NULL ORDER BY id"
    ).fetchall()
    events = practice.execute("SELECT COUNT(*) FROM invoice_events").fetchone()[0]
    assert batches == [
        ("invoices", 1, 40),
        ("invoice_lines", 1, 60),
        ("invoice_events", 1, 40),
        ("invoice_snapshots", 1, 40),
        ("invoice_files", 1, 40),
        ("invoice_events", 41, 80),
        ("invoices", 41, 41),
        ("invoice_lines", 61, 61),
        ("invoice_events", 81, 81),
        ("invoice_snapshots", 41, 41),
    ]
    per_row = practice.execute(
        "SELECT tbl, row_id FROM row_seals WHERE last_id IS NULL AND tbl IN ('invoices',"
        " 'invoice_lines', 'invoice_snapshots', 'invoice_events') ORDER BY tbl, row_id"
    ).fetchall()
    assert events == 81 and per_row == []
    assert practice.execute("SELECT COUNT(*) FROM seal_pending").fetchone()[0] == 0
    assert integrity.run_checks(practice) == []


def test_a_wrong_planned_digest_is_sealed_and_found_by_check(practice, tmp_path, monkeypatch, cli):
    """Sealing trusts what billadmin computed before the lock only as far as `check` proves it:
    a digest in a batch that is not the row's (here changed on purpose, outside the sample) is
    the LEDGER-SEAL finding it would be if the row had been edited after it was sealed."""
    real = gen._plan_seals

    def plan_then_spoil(conn, result, plan):
        real(conn, result, plan)
        first, blob = conn.execute(
            f"SELECT first_id, digests FROM {gen.DIGESTS}"
            " WHERE tbl = 'invoice_lines' AND 7 BETWEEN first_id AND last_id"
        ).fetchone()
        k = 7 - first
        spoilt = blob[: 32 * k] + bytes(32) + blob[32 * (k + 1) :]
        conn.execute(
            f"UPDATE {gen.DIGESTS} SET digests = ? WHERE tbl = 'invoice_lines' AND first_id = ?",
            (spoilt, first),
        )

    monkeypatch.setattr(gen, "_plan_seals", plan_then_spoil)
    gen.generate(practice, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o", pdf=False)
    r = cli("check")
    assert r.exit_code == 1
    assert "invoice_lines row 7 changed since it was sealed" in r.stdout + r.stderr


def test_a_row_of_a_runs_batch_changed_afterwards_is_named_by_check(practice, tmp_path, cli):
    gen.generate(practice, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o", pdf=False)
    assert cli("check").exit_code == 0
    practice.execute("DROP TRIGGER invoice_lines_immutable_update")  # behind billadmin's back
    practice.execute("UPDATE invoice_lines SET amount_cents = amount_cents + 1 WHERE id = 33")
    r = cli("check", "--format", "json")
    assert r.exit_code == 1
    found = [(f["rule"], f["message"]) for f in json.loads(r.stdout)]
    assert ("LEDGER-SEAL", "invoice_lines row 33 changed since it was sealed") in found
    assert [m for rule, m in found if rule == "LEDGER-SEAL"] == [
        "invoice_lines row 33 changed since it was sealed",  # only that row of its batch
        "invoice_lines: 1 row change(s) made outside billadmin, never sealed (first row 33)",
    ]


def _patient_invoice_first(practice, tmp_path) -> str:
    res = gen.generate(
        practice,
        today=fx.TODAY,
        scrub=fx.no_scrub,
        out_dir=tmp_path / "p",
        pdf=False,
        claims=False,
    )
    (number,) = [r["number"] for r in res.issued]
    return number


def _events_follow(practice) -> None:
    ids = [r[0] for r in practice.execute("SELECT id FROM invoice_events ORDER BY id")]
    assert ids == list(range(1, len(ids) + 1))
    issued = practice.execute(
        "SELECT COUNT(*) FROM invoice_events e JOIN invoices i ON i.id = e.invoice_id"
        " WHERE e.status = 'issued' AND i.kind = 'claim'"
    ).fetchone()[0]
    assert issued == 40


def test_an_invoice_event_added_while_prepared_moves_the_planned_events(
    practice, db_path, tmp_path, monkeypatch, cli
):
    """A payment applied to a patient invoice adds an invoice event while the run is prepared:
    the planned 'issued' events move up after it, their digests computed again before the lock,
    and every row verifies."""
    number = _patient_invoice_first(practice, tmp_path)
    seen = _fetched(monkeypatch)
    paused = Paused(monkeypatch)
    run = Generating(db_path, tmp_path / "out")
    run.start()
    assert paused.entered.wait(PAUSE_TIMEOUT), run.error
    r = cli("payment", "post", "9900", "10.00", "--method", "cash", "--invoice", number)
    assert r.exit_code == 0, r.stderr
    paused.release.set()
    res = run.finish()
    assert paused.calls == 1 and "readset recheck" in res.timings
    _events_follow(practice)
    planned = practice.execute(
        "SELECT MIN(id), MAX(id) FROM invoice_events WHERE status = 'issued' AND invoice_id > 1"
    ).fetchone()
    # the 40 planned events were read back only as the sample: their digests were recomputed
    assert len([i for i in seen.get("invoice_events", []) if planned[0] <= i <= planned[1]]) <= 2
    assert integrity.run_checks(practice) == []


def test_an_invoice_event_added_after_the_recheck_moves_them_under_the_lock(
    practice, db_path, tmp_path, monkeypatch
):
    """Added between the recheck and BEGIN IMMEDIATE: moved under the lock, and sealed from
    the stored rows (their planned digests dropped)."""
    from billadmin.accounts import payments

    number = _patient_invoice_first(practice, tmp_path)
    real, posted = gen._recheck, []

    def recheck_then_post(conn, result, plan):
        real(conn, result, plan)
        if not posted:
            other = dbmod.connect(db_path)
            payments.post_payment(
                other, "9900", 1000, method="cash", on=fx.TODAY, invoice_number=number
            )
            other.close()
            posted.append(1)

    monkeypatch.setattr(gen, "_recheck", recheck_then_post)
    seen = _fetched(monkeypatch)
    gen.generate(practice, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o", pdf=False)
    assert posted
    _events_follow(practice)
    claim_events = practice.execute(
        "SELECT e.id FROM invoice_events e JOIN invoices i ON i.id = e.invoice_id"
        " WHERE e.status = 'issued' AND i.kind = 'claim'"
    ).fetchall()
    assert {i for (i,) in claim_events} <= set(seen["invoice_events"])
    assert integrity.run_checks(practice) == []
