"""Benchmark harness: each workload is timed as a whole process, several runs, median, and
reported as a ratio against its anchor measured in the same run (never as a timed unit test).

A bench_*.py module beside this file defines ``workloads(ctx) -> list[Workload]``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass
class Context:
    work: Path  # scratch folder (benchmarks/work), kept between workloads
    scale: int  # charge lines for the big workloads (default 1,000,000)
    runs: int
    billadmin: str  # path of the billadmin console script
    python: str
    sqlite3: str | None = shutil.which("sqlite3")


@dataclass
class Workload:
    name: str
    subject: list[str]  # the command measured
    anchor: list[str]  # the command it is compared with
    anchor_name: str
    target: float  # pass when subject/anchor <= target
    setup: Callable[[], None] | None = None  # before each timed run of either
    setup_subject: Callable[[], None] | None = None  # before each subject run
    setup_anchor: Callable[[], None] | None = None  # before each anchor run
    rss_limit_mb: float | None = None
    # the subject's environment only: the anchor runs in the benchmark's own (a timer such as
    # BILLADMIN_LOCK_LOG must log the subject's transactions, not the anchor import's too)
    env: dict = field(default_factory=dict)
    ok_codes: tuple = (0,)
    note: str = ""
    runs: int | None = None
    # more rows measured by the same runs (e.g. the write lock held): (name, value, target, ok)
    extra: Callable[[], list[tuple[str, str, str, bool]]] | None = None


@dataclass
class Timing:
    seconds: list[float]
    max_rss_mb: float
    # CPU seconds (user + system, the process and its children) of each run: on a shared
    # machine the wall ratio moves with the load, the CPU ratio much less
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else 0.0


def run_once(cmd: list[str], env: dict, ok_codes=(0,), stdin=None) -> tuple[float, float, float]:
    """Wall time, peak RSS (MB) and CPU seconds (user + system, with the children it waited
    for: pyx12's or the gate's worker processes) of one process."""
    full_env = {**os.environ, **env}
    t0 = time.perf_counter()
    p = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=full_env, stdin=stdin
    )
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    p.stderr.close()
    if code not in ok_codes:
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {err[-2000:]}")
    # Linux's wait4 usage is the process's own and that of the children it waited for
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, usage.ru_maxrss / 1024, cpu  # Linux reports KB


def measure(w: Workload, runs: int) -> tuple[Timing, Timing]:
    subj, anch = Timing([], 0.0), Timing([], 0.0)
    for _ in range(w.runs or runs):
        # alternate so drift on a shared machine hits both sides alike
        for side, cmd, t, pre in (
            ("anchor", w.anchor, anch, w.setup_anchor),
            ("subject", w.subject, subj, w.setup_subject),
        ):
            if w.setup:
                w.setup()
            if pre:
                pre()
            if side == "subject":
                s, rss, cpu = run_once(cmd, w.env, w.ok_codes)
            else:
                s, rss, cpu = run_once(cmd, {})
            t.seconds.append(s)
            t.cpu.append(cpu)
            t.max_rss_mb = max(t.max_rss_mb, rss)
            # each run as it ends: a long workload can be read (and judged) while it goes
            print(
                f"    {side} run {len(t.seconds)}: {s:.2f} s wall, {cpu:.2f} s CPU,"
                f" {rss:.0f} MB, load average {os.getloadavg()[0]:.2f}",
                file=sys.stderr,
                flush=True,
            )
    return subj, anch
