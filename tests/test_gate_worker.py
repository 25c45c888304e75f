"""The gate's worker process (billadmin/x12/gate_worker.py, issue 15): on a large run the
compiled validator checks each staged 837 in one worker process while the next payer is built.
Its verdicts are those of the in-process check (valid and broken files, in file order); a
worker that dies or fails on a file rejects the file, naming it; no worker outlives its run;
small runs (the demo, the tests) start none."""

from __future__ import annotations

from pathlib import Path

import invoice_fixtures as fx
import pytest
from test_x12_compiled import mutate, seed_277ca, seed_835, seed_837p, seed_999

from billadmin import db as dbmod
from billadmin.billing import generate as gen
from billadmin.billing import x12files
from billadmin.x12 import compiled, gate_worker, validate


@pytest.fixture(scope="module")
def seed(tmp_path_factory) -> str:
    return seed_837p(tmp_path_factory.mktemp("seed"))


def _files(seed: str, folder: Path) -> list[tuple[Path, list]]:
    """(file, problems the caller adds) of every kind the gate can meet: valid, an element
    error, an envelope count error, a file pyx12 cannot read (a verdict on the interchange),
    bytes outside ASCII, a byte-order mark, not X12 at all, and a file with one problem a
    claim line repeated 300 times (an answer longer than a pipe's buffer)."""
    segs = [s.strip() for s in seed.split("~") if s.strip()]
    lines = [i for i, s in enumerate(segs) if s.startswith(("LX*", "SV1*", "DTP*472"))]
    many = segs[: lines[0]] + [segs[i] for i in lines[:3]] * 300 + segs[lines[2] + 1 :]
    kinds = {
        "valid.edi": seed,
        "clm02.edi": seed.replace("CLM*C000001*155", "CLM*C000001*ABC"),
        "se01.edi": seed.replace("SE*", "SE*9", 1),
        "isa.edi": seed.replace("*00501*", "*00501**", 1),
        "bytes.edi": seed.replace("SMITH", "SMÏTH"),
        "bom.edi": "\ufeff" + seed,
        "not-x12.edi": "hello\n",
        "many.edi": "~\n".join(many) + "~\n",
    }
    out: list[tuple[Path, list]] = []
    for name, text in kinds.items():
        f = folder / name
        f.write_bytes(text.encode("utf-8"))
        out.append((f, []))
    out.append((folder / "valid.edi", [validate.X12Problem(None, None, None, "found on reading")]))
    return out


def _check(files, *, min_segments) -> tuple[list, compiled.Checker]:
    c = compiled.Checker(workers=2, parallel_min_segments=min_segments)
    try:
        for f, problems in files:
            c.add_file(f, None, f.name, 40, problems=problems)
        return c.verdicts(), c
    finally:
        c.close()


def test_the_workers_verdicts_are_the_in_process_ones(seed, tmp_path):
    files = _files(seed, tmp_path)
    here, c_here = _check(files, min_segments=10**9)
    there, c_there = _check(files, min_segments=0)
    assert c_here.worker is None and c_there.worker is not None
    assert len(c_there.worker.answers) == len(files)  # every file answered by the worker
    assert there == here  # name, accept/reject, version, set, segments, every problem in order
    assert [v.valid for v in there] == [True, False, False, False, False, True, False, False, False]
    assert [v.name for v in there] == [f.name for f, _ in files]
    clm02 = there[1].problems[0]
    assert (clm02.segment, clm02.element) == ("CLM", "CLM02")
    assert len(there[7].problems) > 300  # the long answer came through whole
    assert there[8].problems[0].message == "found on reading"
    assert c_there.worker.proc.returncode == 0  # closed once every file was answered


def test_mutated_files_get_the_same_verdicts_both_ways(seed, tmp_path):
    """120 mutations (test_x12_compiled's) of an 837P, an 835, a 999 and a 277CA: every verdict
    through the worker equals the in-process one, problem for problem."""
    import random

    rnd = random.Random(1515)
    seeds = [seed, seed_835(), seed_999(), seed_277ca()]
    files: list[tuple[Path, list]] = []
    for n in range(120):
        _what, text = mutate(seeds[n % len(seeds)], rnd)
        f = tmp_path / f"m{n:03d}.edi"
        f.write_text(text)
        files.append((f, []))
    here, _ = _check(files, min_segments=10**9)
    there, c = _check(files, min_segments=0)
    assert len(c.worker.answers) == 120 and there == here
    assert 0 < sum(v.valid for v in here) < 120  # both kinds of verdict were compared


def test_small_runs_stay_in_process_and_large_ones_start_one_worker(seed, tmp_path, monkeypatch):
    started = []
    real = gate_worker.Worker.__init__

    def record(self):
        real(self)
        started.append(self)

    monkeypatch.setattr(gate_worker.Worker, "__init__", record)
    (tmp_path / "a.edi").write_text(seed)
    c = compiled.Checker(workers=2, parallel_min_segments=100)
    c.add_file(tmp_path / "a.edi", None, "a.edi", 60)
    c.add_segments([s.strip() for s in seed.split("~") if s.strip()], [], "dry.edi")
    assert started == []  # 60 staged segments: below the threshold
    c.add_file(tmp_path / "a.edi", None, "b.edi", 60)  # the run reaches 100 staged segments
    c.add_file(tmp_path / "a.edi", None, "c.edi", 60)
    assert len(started) == 1 and sorted(c.jobs) == [0, 2, 3]  # every staged file, in-memory not
    seen: list = []
    c.on_progress = lambda done, total: seen.append((done, total))
    verdicts = c.verdicts()
    c.close()
    assert [v.name for v in verdicts] == ["a.edi", "dry.edi", "b.edi", "c.edi"]
    assert all(v.valid for v in verdicts)
    assert seen[-1] == (c.segments, c.segments)
    # one CPU (or --workers 1): no worker
    one = compiled.Checker(workers=1, parallel_min_segments=0)
    one.add_file(tmp_path / "a.edi", None, "a.edi", 60)
    assert one.worker is None and one.verdicts()[0].valid


def test_a_worker_that_dies_rejects_every_file_it_did_not_answer(seed, tmp_path):
    (tmp_path / "a.edi").write_text(seed)
    c = compiled.Checker(workers=2, parallel_min_segments=0)
    c.add_file(tmp_path / "a.edi", None, "a.edi", 60)
    c.worker.proc.kill()
    c.worker.proc.wait()
    c.add_file(tmp_path / "a.edi", None, "b.edi", 60)  # fed to a worker already gone
    a, b = c.verdicts()
    c.close()
    for v, name in ((a, "a.edi"), (b, "b.edi")):
        assert not v.valid and v.name == name
        assert v.transaction == "837" and v.version == "005010X222A1"
        [p] = v.problems
        assert "not checked: the gate's worker process stopped (exit code -9)" in p.message
        assert "not accepted" in p.message


def test_a_file_the_worker_cannot_read_is_rejected_naming_the_error(seed, tmp_path):
    (tmp_path / "a.edi").write_text(seed)
    c = compiled.Checker(workers=2, parallel_min_segments=0)
    c.add_file(tmp_path / "gone.edi", None, "gone.edi", 60)
    c.add_file(tmp_path / "a.edi", None, "a.edi", 60)
    gone, a = c.verdicts()
    c.close()
    assert not gone.valid and gone.problems[0].message == (
        "not checked: the check failed (FileNotFoundError); the file is not accepted"
    )
    assert a.valid  # the worker goes on after a file it could not check


def test_close_kills_a_worker_still_checking(tmp_path):
    """A run that rolls back does not wait for checks it no longer needs: the worker, stuck on
    a file that never finishes reading (a FIFO nobody writes to), is killed by close()."""
    import os
    import signal
    import time

    stuck = tmp_path / "stuck.edi"
    os.mkfifo(stuck)
    c = compiled.Checker(workers=2, parallel_min_segments=0)
    c.add_file(stuck, None, "stuck.edi", 60)
    t = time.monotonic()
    c.close()
    assert time.monotonic() - t < 10
    assert c.worker.proc.returncode == -signal.SIGKILL and not c.worker.reader.is_alive()


@pytest.fixture
def practice(db):
    """Three insured patients (KEY, MCD, KEY) with a visit each: two 837P files."""
    with dbmod.write(db):
        fx.practice(db)
        for i, payer in enumerate(("KEY", "MCD", "KEY")):
            p = fx.patient(db, f"70{i}")
            fx.coverage(db, p, payer, member=f"W{i:04d}")
            fx.encounter(db, p, "2026-06-10", [("99213", 14000)], number=f"W{i}")
    return db


@pytest.fixture
def workers(monkeypatch) -> list:
    """Every run's files go to a worker; the workers started, recorded."""
    monkeypatch.setattr(compiled, "BACKGROUND_MIN_SEGMENTS", 0)
    started: list = []
    real = gate_worker.Worker.__init__

    def record(self):
        real(self)
        started.append(self)

    monkeypatch.setattr(gate_worker.Worker, "__init__", record)
    return started


def _run(db, tmp_path, **kw):
    return gen.generate(
        db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out", pdf=False, **kw
    )


def test_a_run_checked_by_the_worker_issues_its_claims(practice, tmp_path, workers):
    res = _run(practice, tmp_path, workers=2)
    [w] = workers
    assert len(w.answers) == 2 and w.proc.returncode == 0
    edis = sorted(f for f in res.files if f.suffix == ".edi")
    assert [f.name[:8] for f in edis] == ["837P-KEY", "837P-MCD"]
    assert all(v.valid for v in compiled.validate_paths(edis))
    assert practice.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 3


def test_a_dead_worker_fails_the_run_closed_naming_the_file(
    practice, tmp_path, workers, monkeypatch
):
    real = gate_worker.Worker.submit

    def submit_then_die(self, path):
        jid = real(self, path)
        self.proc.kill()
        return jid

    monkeypatch.setattr(gate_worker.Worker, "submit", submit_then_die)
    with pytest.raises(x12files.X12Invalid) as ei:
        _run(practice, tmp_path, workers=2)
    assert ei.value.exit_code == 2 and "nothing was issued" in str(ei.value)
    details = ei.value.details
    assert any(d.startswith("837P-KEY-") and "worker process stopped" in d for d in details)
    assert practice.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 0
    out = tmp_path / "out"
    assert not out.exists() or not any(p.suffix in (".edi", ".tmp") for p in out.iterdir())
    assert all(w.proc.poll() is not None for w in workers)


def test_a_run_that_fails_while_building_leaves_no_worker(practice, tmp_path, workers, monkeypatch):
    real = gen.insert_invoices
    calls = []

    def second_payer_fails(conn, issues, **kw):
        calls.append(1)
        if len(calls) == 2:  # KEY's file is with the worker by now
            raise RuntimeError("disk trouble while inserting")
        return real(conn, issues, **kw)

    monkeypatch.setattr(gen, "insert_invoices", second_payer_fails)
    with pytest.raises(RuntimeError, match="disk trouble"):
        _run(practice, tmp_path, workers=2)
    [w] = workers
    assert w.proc.poll() is not None and not w.reader.is_alive()
    assert practice.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 0


def test_demo_sized_runs_start_no_worker(practice, tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(gate_worker.Worker, "__init__", lambda self: started.append(self))
    _run(practice, tmp_path, workers=2)
    assert started == []
