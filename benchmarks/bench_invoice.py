"""Invoice generation: `billadmin invoice generate` of 100k encounters (837P files + invoices.csv,
PDFs off) against `billadmin import charges` of the same encounters' lines (300k), same run
(issue 15's targets: <= 3x and 400 MB; the write lock held at most 2 s, from db.write's optional
timer; billadmin's own share, the same run with the files unchecked, <= 2x).

The files come from benchmarks/gen.py (3 lines per encounter, every patient insured by one of
five payers). The base database holds the practice, providers, payers (timely-filing limits
widened to ten years so that no encounter is held for age whatever day the benchmark runs),
patients and coverage, imported with billadmin; the subject's copy also holds the charges. Both
are copied fresh before every timed run. The subject runs the real scrubber and validates every
837P with pyx12 (worker processes, one per CPU), exactly as the nightly job does.

    python benchmarks/run.py --only invoice
The second workload validates the files of one such run with `billadmin invoice validate`
(pyx12, one worker process per CPU): the part of the first that the issue requires and that
billadmin cannot make faster, measured against the same anchor. A third runs the first on data
where one patient in five has no coverage (gen.py self_pay_every=5): their visits become patient
invoices (statements), which the run also issues, so its write lock shows their share.
    python benchmarks/bench_invoice.py breakdown [--encounters N]   # where the time goes (in-process)
    python benchmarks/bench_invoice.py lock-floor [--encounters N]  # SQLite's own share of the lock
    python benchmarks/bench_invoice.py fingerprint [--encounters N] # what a run writes, hashed
    python benchmarks/bench_invoice.py pdf [--patients N]           # PDF rendering rate, pages per second
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
VERSION = 2  # 2: gen.py charges carry their claim fields (CLIA, NDC, ordering, referring)
ENCOUNTERS = 100_000


def _lines(ctx) -> int:
    return min(ctx.scale, ENCOUNTERS * 3)


def _fresh(src: Path, dst: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    dst.chmod(0o600)


def prepare(
    billadmin: str, work: Path, lines: int, *, self_pay_every: int = 0
) -> tuple[Path, Path, Path]:
    """(folder, base.db without charges, charged.db with them), cached per size (and share of
    self-pay patients: gen.py's self_pay_every)."""
    import gen

    from billadmin import demo

    folder = work / (f"invoice-{lines}" + (f"-selfpay{self_pay_every}" if self_pay_every else ""))
    marker = folder / f"v{VERSION}"
    base, charged = folder / "base.db", folder / "charged.db"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        gen.generate(folder, lines, self_pay_every=self_pay_every)

        def ba(*args):
            subprocess.run(
                [billadmin, "--db", str(base), "-q", *args], check=True, stdout=subprocess.DEVNULL
            )

        ba("init")
        p = demo.PRACTICE
        ba(
            "practice",
            "set",
            "--name",
            p["name"],
            "--npi",
            p["npi"],
            "--tax-id",
            p["tax_id"],
            "--taxonomy",
            p["taxonomy"],
            "--address1",
            p["address1"],
            "--address2",
            p["address2"],
            "--city",
            p["city"],
            "--state",
            p["state"],
            "--zip",
            p["zip"],
            "--phone",
            p["phone"],
            "--contact-name",
            p["contact_name"],
            "--submitter-id",
            p["submitter_id"],
            "--receiver-id",
            p["receiver_id"],
            "--receiver-name",
            p["receiver_name"],
        )
        for kind in ("providers", "payers", "patients", "coverage"):
            ba("import", kind, str(folder / f"{kind}.csv"))
        for code in ("MCR", "MCD", "BVHMO", "KEY", "SUM"):
            ba("payer", "set", code, "--timely-filing-days", "3650")
        _fresh(base, charged)
        subprocess.run(
            [
                billadmin,
                "--db",
                str(charged),
                "-q",
                "import",
                "charges",
                str(folder / "charges.csv"),
            ],
            check=True,
        )
        marker.write_text("ok\n")
    for cached in (base, charged):  # migrations added since the data was built (init applies them)
        subprocess.run(
            [billadmin, "--db", str(cached), "-q", "init"], check=True, stdout=subprocess.DEVNULL
        )
    return folder, base, charged


# what its workloads' names start with: run.py --only skips (and builds no data for) the rest
NAMES = ("invoice generate", "pyx12 alone")


class _LockLog:
    """db.write's optional timer (BILLADMIN_LOCK_LOG) over a workload's subject runs: each run's
    write transactions' seconds, collected when the next run's copy is made fresh."""

    def __init__(self, log: Path, charged: Path, subject_db: Path, out: Path):
        self.log, self.charged, self.subject_db, self.out = log, charged, subject_db, out
        self.runs: list[list[float]] = []
        log.unlink(missing_ok=True)

    def fresh(self) -> None:
        if self.log.exists():
            self.runs.append([float(x) for x in self.log.read_text().split()])
            self.log.unlink()
        _fresh(self.charged, self.subject_db)
        shutil.rmtree(self.out, ignore_errors=True)


def _locked_runs(log: Path, charged: Path, subject_db: Path, out: Path):
    """(its _LockLog, the row the harness adds after the workload: the median over the runs of
    each run's longest write transaction, against issue 15's 2 s)."""
    runs = _LockLog(log, charged, subject_db, out)

    def lock_row() -> list[tuple[str, str, str, bool]]:
        runs.fresh()  # collects the last run's log
        longest = sorted(max(r) for r in runs.runs if r)
        if not longest:
            return []
        mid = longest[len(longest) // 2]
        return [
            (
                f"write lock held by that invoice generate (longest transaction, median of"
                f" {len(longest)})",
                f"{mid:.2f} s",
                "<= 2 s",
                mid <= 2.0,
            )
        ]

    return runs, lock_row


def workloads(ctx):
    from harness import Workload

    lines = _lines(ctx)
    folder, base, charged = prepare(ctx.billadmin, ctx.work, lines)
    anchor_db, subject_db, out = folder / "anchor.db", folder / "subject.db", folder / "out"

    main_runs, lock_row = _locked_runs(folder / "lock-seconds.log", charged, subject_db, out)
    sp_folder, sp_base, sp_charged = prepare(ctx.billadmin, ctx.work, lines, self_pay_every=5)
    sp_runs, sp_lock_row = _locked_runs(
        sp_folder / "lock-seconds.log", sp_charged, sp_folder / "subject.db", sp_folder / "out"
    )

    def generate_row(name: str, data: Path, base_db: Path, runs: _LockLog, lock, note: str):
        """`invoice generate` of `data`'s charged copy against `import charges` of its lines
        into its base copy, with the write-lock row (`lock`) after it."""
        anchor = data / "anchor.db"
        return Workload(
            name=name,
            subject=[
                *(ctx.billadmin, "--db", str(runs.subject_db), "-q", "invoice", "generate"),
                *("--no-pdf", "--no-xlsx", "--out", str(runs.out), "--format", "csv"),
            ],
            anchor=[
                *(ctx.billadmin, "--db", str(anchor), "-q", "import", "charges"),
                str(data / "charges.csv"),
            ],
            anchor_name=f"import charges ({lines:,} lines)",
            target=3.0,
            rss_limit_mb=400,
            setup_subject=runs.fresh,
            setup_anchor=lambda: _fresh(base_db, anchor),
            runs=min(ctx.runs, 3),
            ok_codes=(0,),
            env={"BILLADMIN_LOCK_LOG": str(runs.log)},
            note=note,
            extra=lock,
        )

    ref = folder / "x12-ref"  # the 837P files of one generate run, for the pyx12 floor
    if not (ref / f"done-v{VERSION}").exists():
        shutil.rmtree(ref, ignore_errors=True)
        _fresh(charged, folder / "ref.db")
        subprocess.run(
            [
                ctx.billadmin,
                "--db",
                str(folder / "ref.db"),
                "-q",
                "invoice",
                "generate",
                "--no-pdf",
                "--no-xlsx",
                "--out",
                str(ref),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        (ref / f"done-v{VERSION}").write_text("ok\n")
    edi = sorted(str(p) for p in ref.glob("*.edi"))

    return [
        generate_row(
            f"invoice generate ({lines // 3:,} encounters)",
            folder,
            base,
            main_runs,
            lock_row,
            "scrubber + 837P per payer validated by the compiled validator + invoices.csv;"
            " PDFs and xlsx off",
        ),
        generate_row(
            f"invoice generate, one patient in five self-pay ({lines // 3:,} encounters)",
            sp_folder,
            sp_base,
            sp_runs,
            sp_lock_row,
            "as above, with a patient invoice (statement) for each self-pay patient's visits",
        ),
        Workload(
            name=f"invoice generate --pyx12 ({lines // 3:,} encounters)",
            subject=[
                ctx.billadmin,
                "--db",
                str(subject_db),
                "-q",
                "invoice",
                "generate",
                "--pyx12",
                "--no-pdf",
                "--no-xlsx",
                "--out",
                str(out),
                "--format",
                "csv",
            ],
            anchor=[ctx.billadmin, "-q", "invoice", "validate", "--pyx12", "--format", "csv", *edi],
            anchor_name=f"pyx12 alone on the {len(edi)} 837P files of such a run",
            target=1.2,
            setup_subject=lambda: (
                _fresh(charged, subject_db),
                shutil.rmtree(out, ignore_errors=True),
            ),
            runs=min(ctx.runs, 3),
            ok_codes=(0,),
            note="the files validated by the compiled validator and by pyx12 (worker processes)",
        ),
        Workload(
            name=f"invoice generate without pyx12 ({lines // 3:,} encounters): billadmin's own share",
            subject=[
                ctx.python,
                str(HERE / "bench_invoice.py"),
                "own-share",
                str(subject_db),
                str(out),
            ],
            anchor=[
                ctx.billadmin,
                "--db",
                str(anchor_db),
                "-q",
                "import",
                "charges",
                str(folder / "charges.csv"),
            ],
            anchor_name=f"import charges ({lines:,} lines)",
            target=2.0,
            setup_subject=lambda: (
                _fresh(charged, subject_db),
                shutil.rmtree(out, ignore_errors=True),
            ),
            setup_anchor=lambda: _fresh(base, anchor_db),
            runs=min(ctx.runs, 3),
            ok_codes=(0,),
            note="the same run with the files unchecked (never how the command runs): everything billadmin does itself",
        ),
        Workload(
            name=f"pyx12 alone: invoice validate of those {len(edi)} 837P files",
            # --pyx12: `invoice validate` runs the compiled validator, and pyx12 only when asked
            subject=[
                ctx.billadmin,
                "-q",
                "invoice",
                "validate",
                "--pyx12",
                "--format",
                "csv",
                *edi,
            ],
            anchor=[
                ctx.billadmin,
                "--db",
                str(anchor_db),
                "-q",
                "import",
                "charges",
                str(folder / "charges.csv"),
            ],
            anchor_name=f"import charges ({lines:,} lines)",
            target=2.0,
            setup_anchor=lambda: _fresh(base, anchor_db),
            runs=min(ctx.runs, 3),
            ok_codes=(0,),
            note="the floor under the row above: the validation the issue requires, one worker per CPU",
        ),
    ]


def breakdown(
    encounters: int,
    *,
    pyx12: bool = True,
    profile: bool = False,
    concurrent: bool = False,
    self_pay_every: int = 0,
) -> None:
    """Run generate in-process on a fresh copy and print where the time goes (and the peak RSS
    while each step the run announces was under way). With
    pyx12=False the files are not validated (to measure billadmin's own share; never how the
    command runs); profile=True prints the 30 most expensive functions; concurrent=True posts a
    patient payment from another connection while the run is prepared (as a clerk would), so
    the run checks what it read again under the lock (readset.py); self_pay_every=N: one
    patient in N has no coverage (patient invoices, built under the lock until issue 15's
    patient plan)."""
    import resource

    from billadmin import db
    from billadmin.billing import generate
    from billadmin.scrub import check

    if not pyx12:
        _skip_pyx12()

    bindir = Path(sys.executable).parent
    folder, _base, charged = prepare(
        str(bindir / "billadmin"), HERE / "work", encounters * 3, self_pay_every=self_pay_every
    )
    run = folder / "breakdown.db"
    _fresh(charged, run)
    shutil.rmtree(folder / "out-breakdown", ignore_errors=True)
    conn = db.connect(run)
    if concurrent:
        _post_while_prepared(run)
    held = _time_write_lock(db)
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    peaks, stop = _rss_by_step()
    t0 = time.perf_counter()
    res = generate.generate(
        conn,
        out_dir=folder / "out-breakdown",
        pdf=False,
        xlsx=False,
        scrub=check,
        progress=peaks.step,
    )
    total = time.perf_counter() - t0
    stop()
    if prof:
        import pstats

        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        if os.environ.get("BENCH_PROFILE_OUT"):
            prof.dump_stats(os.environ["BENCH_PROFILE_OUT"])
    segs = sum(sum(1 for _ in open(f)) for f in res.files if f.suffix == ".edi")
    print(
        f"{len(res.issued):,} claims, {len(res.held):,} held, {total:.1f}s in all; {segs:,} X12 segments"
    )
    for k, v in res.timings.items():
        print(f"  {k:8s} {v:7.2f}s")
    if pyx12:
        print(
            "  (pyx12 checks each payer's file while the next is built; 'pyx12' is the wait after the last one)"
        )
    print(
        f"  write lock held {sum(held):.2f}s (BEGIN IMMEDIATE to COMMIT, {len(held)} transaction(s))"
    )
    print(
        f"  peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB"
    )
    for step, mb in peaks.items():
        print(f"  peak RSS while {step}: {mb:,.0f} MB")


class _Peaks(dict):
    """Peak RSS (MB) per step the run announces (its progress callback), sampled every 20 ms."""

    def __init__(self):
        super().__init__()
        self.current = "starting"

    def step(self, what: str, *counts) -> None:
        if not counts:  # ("837 segments checked", done, total) is progress within a step
            self.current = what.split(":")[0]


def _rss_by_step():
    import os
    import threading

    page = os.sysconf("SC_PAGE_SIZE")
    peaks, done = _Peaks(), threading.Event()

    def sample() -> None:
        while not done.is_set():
            with open("/proc/self/statm") as f:
                mb = int(f.read().split()[1]) * page / 2**20
            step = peaks.current
            peaks[step] = max(peaks.get(step, 0.0), mb)
            done.wait(0.02)

    threading.Thread(target=sample, daemon=True).start()
    return peaks, done.set


def _post_while_prepared(path: Path) -> None:
    """`payment post` (20.00 kept as credit) from another connection, once, while the run waits
    for its files' verdicts (phase (a): no lock held)."""
    from billadmin import db
    from billadmin.accounts import payments
    from billadmin.billing import x12files

    real, done = x12files.X12Run.check, []

    def check(run):
        if not done:
            other = db.connect(path)
            mrn = other.execute("SELECT mrn FROM patients ORDER BY id LIMIT 1").fetchone()[0]
            payments.post_payment(other, mrn, 2000, method="cash", on=_dt.date.today(), credit=True)
            other.close()
            done.append(1)
        return real(run)

    x12files.X12Run.check = check  # type: ignore[method-assign]


def _skip_pyx12() -> None:
    """Every file accepted unchecked, by the compiled validator (the gate) and pyx12 alike:
    billadmin's own share of a run (never how it runs)."""
    from billadmin.billing import x12files
    from billadmin.x12 import compiled, validate

    compiled.BACKGROUND_MIN_SEGMENTS = None  # no gate worker either (its CPU is not our share)

    def accept_all(gate):
        return [
            validate.Verdict(name, True, "005010X222A1", "837", count)
            for _kind, _what, name, count, _problems in gate.files
        ]

    x12files.Gate.verdicts = accept_all  # type: ignore[method-assign]

    class Unchecked(validate.Checker):
        def _add(self, f):
            self.files.append(f)
            self.segments += f.count

        def verdicts(self):
            return [
                validate.Verdict(f.name, True, "005010X222A1", "837", f.count) for f in self.files
            ]

    validate.Checker = Unchecked


def own_share(db_path: str, out: str) -> None:
    """`invoice generate` in-process, files unchecked (the own-share workload's subject)."""
    from billadmin import db
    from billadmin.billing import generate
    from billadmin.scrub import check

    _skip_pyx12()
    conn = db.connect(db_path)
    generate.generate(conn, out_dir=Path(out), pdf=False, xlsx=False, scrub=check)


def _time_write_lock(db) -> list[float]:
    """Wrap db.write so that each outermost transaction's time from BEGIN IMMEDIATE to COMMIT
    is recorded: how long other writers would wait (issue 15's lock target)."""
    import contextlib

    inner, held, depth = db.write, [], [0]

    @contextlib.contextmanager
    def write(conn, *a, **kw):
        depth[0] += 1
        t = time.perf_counter()
        try:
            with inner(conn, *a, **kw) as x:
                yield x
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                held.append(time.perf_counter() - t)

    db.write = write
    return held


def pdf_rate(patients: int) -> None:
    """Issue patient invoices for self-pay patients with PDFs; report rendering pages per second."""
    import io
    import json

    import pypdf

    from billadmin import db, setup
    from billadmin.billing import generate, pdf

    sys.path.insert(0, str(HERE.parent / "tests"))
    import invoice_fixtures as fx

    folder = HERE / "work" / f"invoice-pdf-{patients}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    path = folder / "pdf.db"
    setup.init_database(path)
    conn = db.connect(path)
    today = _dt.date(2026, 6, 30)
    with db.write(conn):
        fx.practice(conn)
        for i in range(patients):
            p = fx.patient(conn, f"{i:07d}", f"First{i}", f"Last{i}")
            for v in range(1 + i % 4):
                fx.encounter(
                    conn,
                    p,
                    f"2026-06-{1 + v * 5:02d}",
                    [("99213", 14000), ("36415", 1500), ("80053", 4800)],
                    number=f"P{i:06d}-{v}",
                )
    t0 = time.perf_counter()
    res = generate.generate(conn, today=today, out_dir=folder / "out", scrub=None)
    issue_s = time.perf_counter() - t0
    contents = [
        json.loads(r[0])
        for r in conn.execute(
            "SELECT s.data FROM invoice_snapshots s JOIN invoices i ON i.id = s.invoice_id WHERE i.kind = 'patient'"
        )
    ]
    t1 = time.perf_counter()
    blobs = [pdf.render(c) for c in contents]
    render_s = time.perf_counter() - t1
    pages = sum(len(pypdf.PdfReader(io.BytesIO(b)).pages) for b in blobs)
    print(f"{len(res.issued):,} patient invoices issued with PDFs in {issue_s:.1f}s")
    print(
        f"PDF rendering: {pages:,} pages in {render_s:.2f}s = {pages / render_s:,.0f} pages/s "
        f"({len(blobs) / render_s:,.0f} invoices/s)"
    )


_FLOOR_TABLES = (
    "invoices",
    "invoice_lines",
    "invoice_events",
    "invoice_snapshots",
    "invoice_files",
)


def lock_floor(encounters: int, *, foreign_keys: bool = True, self_pay_every: int = 0) -> None:
    """What SQLite alone costs under the write lock: the rows the last `breakdown` run of this
    size wrote (invoices, lines, events, snapshots, file rows) copied into a fresh copy of the
    database before the run in one transaction, as audit.insert_planned copies them (INSERT ...
    SELECT from temp tables, the seal window open), its charge lines marked billed, COMMIT.
    Prints each statement's wall and CPU seconds (issue 15's 2 s lock target against one
    all-or-nothing transaction)."""
    import sqlite3

    bindir = Path(sys.executable).parent
    folder, _base, charged = prepare(
        str(bindir / "billadmin"), HERE / "work", encounters * 3, self_pay_every=self_pay_every
    )
    ran = folder / "breakdown.db"
    if not ran.exists():
        raise SystemExit(f"run `breakdown --encounters {encounters} --no-pyx12` first ({ran})")
    db = folder / "floor.db"
    _fresh(charged, db)
    c = sqlite3.connect(db, isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = FULL", "cache_size = -131072"):
        c.execute(f"PRAGMA {pragma}")  # as db.connect and generate set them
    c.execute("ATTACH ? AS r", (str(ran),))
    for t in _FLOOR_TABLES:
        c.execute(f"CREATE TEMP TABLE p_{t} AS SELECT * FROM r.{t}")
    c.execute("CREATE TEMP TABLE p_billed AS SELECT charge_line_id AS id FROM r.invoice_lines")
    for t in ("billing_runs", "x12_interchanges"):  # what the file rows refer to (a few rows)
        c.execute(f"INSERT INTO {t} SELECT * FROM r.{t}")
    c.execute("DETACH r")
    c.execute("DELETE FROM seal_pending")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    w0, c0 = time.perf_counter(), time.process_time()
    c.execute("BEGIN IMMEDIATE")
    for t in _FLOOR_TABLES:
        n, lo, hi = c.execute(f"SELECT COUNT(*), MIN(rowid), MAX(rowid) FROM p_{t}").fetchone()
        w, cpu = time.perf_counter(), time.process_time()
        c.execute("INSERT INTO seal_window (tbl, first_id, last_id) VALUES (?, ?, ?)", (t, lo, hi))
        c.execute(f"INSERT INTO {t} SELECT * FROM p_{t} ORDER BY rowid")
        c.execute("DELETE FROM seal_window")
        indexes = c.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (t,)
        ).fetchone()[0]
        print(
            f"  {n:9,} {t} ({indexes} indexes): {time.perf_counter() - w:5.2f}s wall,"
            f" {time.process_time() - cpu:5.2f}s CPU"
        )
    w, cpu = time.perf_counter(), time.process_time()
    n = c.execute(
        "UPDATE charge_lines SET status = 'billed' WHERE id IN (SELECT id FROM p_billed)"
    ).rowcount
    print(
        f"  {n:9,} charge_lines marked billed: {time.perf_counter() - w:5.2f}s wall,"
        f" {time.process_time() - cpu:5.2f}s CPU"
    )
    c.execute("DELETE FROM seal_pending")
    w = time.perf_counter()
    c.execute("COMMIT")
    wal = Path(f"{db}-wal").stat().st_size / 2**20
    print(
        f"  COMMIT ({wal:,.0f} MiB of WAL, synchronous=FULL): {time.perf_counter() - w:.2f}s wall"
    )
    print(
        f"  the transaction: {time.perf_counter() - w0:.2f}s wall,"
        f" {time.process_time() - c0:.2f}s CPU (foreign keys {'on' if foreign_keys else 'off'})"
    )
    c.close()


# columns that hold the clock (differ between two runs of the same input)
_CLOCK = {
    "created_at",
    "at",
    "started_at",
    "placed_at",
    "updated_at",
    "applied_at",
    "read_at",
    "queued_at",
    "routed_at",
    "loaded_at",
    "recorded_at",
    "imported_at",
    "set_at",
    "staged",  # a random temporary name
}
_CLOCK_TABLES = {"row_seals", "audit_log", "seal_pending", "seal_window", "_sqlite_migrations"}


def _x12_normal(text: str) -> str:
    """An 837 with its clock fields blanked (ISA09/10, GS04/05, BHT04/05)."""
    if len(text) < 106:
        return text
    sep, seg_end = text[3], text[105]
    out = []
    for seg in text.split(seg_end):
        el = seg.strip().split(sep) if seg.strip() else []
        if el and el[0] == "ISA" and len(el) > 10:
            el[9] = el[10] = ""
        elif el and el[0] == "GS" and len(el) > 5:
            el[4] = el[5] = ""
        elif el and el[0] == "BHT" and len(el) > 5:
            el[4] = el[5] = ""
        out.append("*".join(el))
    return "~".join(out)


def fingerprint(encounters: int, *, self_pay_every: int = 0) -> None:
    """`invoice generate` in-process on a fresh copy (the compiled validator as the gate, PDFs
    off), then one sha256 per output file and per table of what it wrote, the clock blanked:
    a speed change must leave every one unchanged (compare with a run of the code before it).
    Ends with `billadmin check`'s seal findings (row_seals and audit_log hold the clock, so they
    are checked rather than compared)."""
    import hashlib
    import re
    import sqlite3

    from billadmin import db, integrity
    from billadmin.billing import generate
    from billadmin.scrub import check

    bindir = Path(sys.executable).parent
    folder, _base, charged = prepare(
        str(bindir / "billadmin"), HERE / "work", encounters * 3, self_pay_every=self_pay_every
    )
    run = folder / "fingerprint.db"
    _fresh(charged, run)
    out = folder / "out-fingerprint"
    shutil.rmtree(out, ignore_errors=True)
    conn = db.connect(run)
    res = generate.generate(conn, out_dir=out, pdf=False, xlsx=False, scrub=check)
    print(f"{len(res.issued):,} issued, {len(res.held):,} held")
    for f in sorted(out.rglob("*")):
        if f.is_file():
            text = f.read_text(errors="replace")
            if f.suffix == ".edi":
                text = _x12_normal(text)
            print(f"  file {f.relative_to(out)}: {hashlib.sha256(text.encode()).hexdigest()[:16]}")
    problems = [x for x in integrity.check_seals(conn) if x.severity == "error"]
    conn.close()
    c = sqlite3.connect(run)
    tables = [
        r[0]
        for r in c.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"
        )
    ]
    for t in tables:
        if t in _CLOCK_TABLES or t.startswith("codes_fts"):
            continue
        cols = [r[1] for r in c.execute(f"PRAGMA table_info({t})")]
        keep = ", ".join(f'"{x}"' for x in cols if x not in _CLOCK)
        h = hashlib.sha256()
        n = 0  # the 837s hold the clock: the sha256 of them differs
        keep = (
            keep.replace(', "sha256"', "")
            if t in ("billing_run_files", "x12_interchanges")
            else keep
        )
        for row in c.execute(f"SELECT {keep} FROM {t} ORDER BY {keep}"):
            text = repr(row).replace(str(out.resolve()), "OUT").replace(str(out), "OUT")
            if t == "x12_interchanges":  # the envelope's creation time
                text = re.sub(r'"created": "[^"]*"', "", text)
            h.update(text.encode())
            n += 1
        print(f"  table {t} ({n:,} rows): {h.hexdigest()[:16]}")
    print(f"  seal findings (errors): {len(problems)}")


if __name__ == "__main__" and len(sys.argv) > 1:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["breakdown", "pdf", "own-share", "lock-floor", "fingerprint"])
    ap.add_argument("paths", nargs="*", help="own-share: DB OUT")
    ap.add_argument("--encounters", type=int, default=ENCOUNTERS)
    ap.add_argument("--patients", type=int, default=500)
    ap.add_argument(
        "--no-pyx12", action="store_true", help="breakdown: skip validation (billadmin's own share)"
    )
    ap.add_argument("--profile", action="store_true", help="breakdown: cProfile the run")
    ap.add_argument(
        "--concurrent",
        action="store_true",
        help="breakdown: a payment posted from another connection while the run is prepared",
    )
    ap.add_argument(
        "--self-pay-every",
        type=int,
        default=0,
        help="breakdown, lock-floor, fingerprint: one patient in N without coverage",
    )
    a = ap.parse_args()
    sp = a.self_pay_every
    if a.cmd == "own-share":
        own_share(*a.paths)
    elif a.cmd == "breakdown":
        breakdown(
            a.encounters,
            pyx12=not a.no_pyx12,
            profile=a.profile,
            concurrent=a.concurrent,
            self_pay_every=sp,
        )
    elif a.cmd == "lock-floor":
        lock_floor(a.encounters, self_pay_every=sp)
    elif a.cmd == "fingerprint":
        fingerprint(a.encounters, self_pay_every=sp)
    else:
        pdf_rate(a.patients)
