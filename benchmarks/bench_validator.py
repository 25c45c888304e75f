"""The compiled X12 validator against pyx12 on the same files (issue 15: >= 20x faster).

Files: the 837P files of one `invoice generate` run of bench_invoice's 100k encounters (its
x12-ref folder, built once and shared with bench_invoice's "pyx12 alone" row).

  billadmin invoice validate FILES      vs  pyx12 (billadmin.x12.validate) on the same FILES,
  (the compiled validator, one process)     one process, file after file

Both sides are whole processes in one CPU, so the ratio is per CPU (target: <= 0.05, i.e. the
compiled validator at least 20x faster). The compiled maps are cached in the user's cache folder
(warmed before the timed runs); pyx12 loads its XML maps in each process, as it always does.

    python benchmarks/run.py --only validator
    python benchmarks/bench_validator.py FILE...     # in-process timings of both and the ratio
    python benchmarks/bench_validator.py --gate FILE...  # the gate alone: CPU and peak RSS
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

PYX12 = (
    "import sys\n"
    "from billadmin.x12 import validate\n"
    "bad = [v.name for v in map(validate.validate_file, sys.argv[1:]) if not v.valid]\n"
    "sys.exit(1 if bad else 0)\n"
)
WARM = "from billadmin.x12 import compiled_maps as m; m.load('x12.control.00501.xml'); m.load('837.5010.X222.A1.xml')"


def reference_files(ctx) -> list[str]:
    """The 837P files of one generate run over bench_invoice's database (cached)."""
    import bench_invoice

    lines = bench_invoice._lines(ctx)
    folder, _base, charged = bench_invoice.prepare(ctx.billadmin, ctx.work, lines)
    ref = folder / "x12-ref"  # bench_invoice's "pyx12 alone" files: the same folder and marker
    marker = ref / f"done-v{bench_invoice.VERSION}"
    if not marker.exists():
        shutil.rmtree(ref, ignore_errors=True)
        bench_invoice._fresh(charged, folder / "ref.db")
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
        marker.write_text("ok\n")
    return sorted(str(p) for p in ref.glob("*.edi"))


# what its workloads' names start with: run.py --only skips (and builds no data for) the rest
NAMES = ("compiled validator",)


def workloads(ctx):
    from harness import Workload

    edi = reference_files(ctx)

    def warm() -> None:
        subprocess.run([ctx.python, "-c", WARM], check=True)

    return [
        Workload(
            name=f"compiled validator: invoice validate of {len(edi)} 837P files of a 100k run",
            subject=[ctx.billadmin, "-q", "invoice", "validate", "--format", "csv", *edi],
            anchor=[ctx.python, "-c", PYX12, *edi],
            anchor_name="pyx12 on the same files (one process)",
            target=0.05,
            setup=warm,
            runs=min(ctx.runs, 3),
            note="per CPU: both sides one process; target 0.05 = at least 20x faster",
        )
    ]


def compare(paths: list[str]) -> None:
    """Both validators in this process on the same files: seconds, segments and the ratio."""
    from billadmin.x12 import compiled, validate

    compiled.validate_paths(paths[:1])  # maps loaded (and compiled once) outside the timing
    t0 = time.perf_counter()
    mine = compiled.validate_paths(paths)
    t_mine = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = [validate.validate_file(p) for p in paths]
    t_theirs = time.perf_counter() - t0
    segs = sum(v.segments for v in mine)
    same = sum(
        (a.valid, a.problems[:1] and a.problems[0].segment)
        == (b.valid, b.problems[:1] and b.problems[0].segment)
        for a, b in zip(mine, theirs, strict=True)
    )
    print(
        f"{len(paths)} files, {segs:,} segments: compiled {t_mine:.2f} s "
        f"({t_mine / segs * 1e6:.1f} us/segment), pyx12 {t_theirs:.2f} s "
        f"({t_theirs / segs * 1e6:.1f} us/segment): {t_theirs / t_mine:.1f}x faster; "
        f"same verdict on {same} of {len(paths)}"
    )


def gate(paths: list[str]) -> None:
    """The generate gate on these files (compiled.Checker, as billing/x12files.Gate uses it):
    once in this process, file after file, then through its worker process (the files handed
    over one by one as a run stages them); CPU seconds (time.process_time is this process's
    own; the worker's from getrusage of the children once it has ended) and peak RSS of each."""
    import os
    import resource

    from billadmin.x12 import compiled, compiled_maps

    # the maps loaded outside the timing, its caches cold (as the worker's are when it starts)
    compiled_maps.load("x12.control.00501.xml")
    compiled_maps.load("837.5010.X222.A1.xml")

    worker_peak = [0.0]

    def run(min_segments: int | None) -> tuple[float, float, list]:
        c = compiled.Checker(workers=2, parallel_min_segments=min_segments)
        w, cpu = time.perf_counter(), time.process_time()
        try:
            for p in paths:
                c.add_file(p, None, os.path.basename(p), 0)
            verdicts = c.verdicts()
            if c.worker is not None:  # its own peak (getrusage's counts the fork before exec)
                with open(f"/proc/{c.worker.proc.pid}/status") as f:
                    hwm = next(x for x in f if x.startswith("VmHWM:"))
                worker_peak[0] = int(hwm.split()[1]) / 1024
        finally:
            c.close()
        return time.perf_counter() - w, time.process_time() - cpu, verdicts

    wall, cpu, here = run(10**12)
    rss_here = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    segs = sum(v.segments for v in here)
    print(
        f"{len(paths)} files, {segs:,} segments, in this process: {cpu:.2f} s CPU"
        f" ({cpu / segs * 1e6:.2f} us/segment), {wall:.2f} s wall, peak RSS {rss_here:,.0f} MB"
    )
    child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, cpu, there = run(0)
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_cpu = child.ru_utime + child.ru_stime - child0.ru_utime - child0.ru_stime
    print(
        f"  through the worker: {worker_cpu:.2f} s CPU in the worker, {cpu:.2f} s in this"
        f" process, {wall:.2f} s wall, worker's peak RSS {worker_peak[0]:,.0f} MB;"
        f" same verdicts: {there == here}; load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--gate"]:
        gate(sys.argv[2:])
    else:
        compare(sys.argv[1:])
