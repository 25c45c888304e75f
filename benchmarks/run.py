"""Run the benchmarks: `make bench` (or python benchmarks/run.py [--only NAME] [--scale N])."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import HERE, Context, measure  # noqa: E402


def _wanted(mod, only: list[str]) -> bool:
    """A module is loaded when --only names part of its module name or of one of the NAMES its
    workloads start with, or starts with one of them ("invoice generate (" picks the plain run
    alone); a module without NAMES always is."""
    names = getattr(mod, "NAMES", None)
    if names is None:
        return True
    stem = mod.__name__.removeprefix("bench_").replace("_", "-")
    return any(o in stem or any(o in n or o.startswith(n) for n in names) for o in only)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", action="append", help="run workloads whose name contains this")
    ap.add_argument(
        "--scale", type=int, default=1_000_000, help="charge lines for the big workloads"
    )
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    bindir = Path(sys.executable).parent
    ctx = Context(
        work=HERE / "work",
        scale=args.scale,
        runs=args.runs,
        billadmin=str(bindir / "billadmin"),
        python=sys.executable,
    )
    ctx.work.mkdir(exist_ok=True)
    head = (
        "workload",
        "anchor",
        "billadmin s",
        "anchor s",
        "ratio",
        "target",
        "peak RSS",
        "",
        "CPU s (billadmin / anchor, ratio)",
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head), flush=True)
    failed = 0
    for mod_path in sorted(HERE.glob("bench_*.py")):
        mod = importlib.import_module(mod_path.stem)
        if args.only and not _wanted(mod, args.only):
            continue  # its workloads() would build their data first
        for w in mod.workloads(ctx):
            if args.only and not any(o in w.name for o in args.only):
                continue
            print(f"... {w.name} ({_load()})", file=sys.stderr, flush=True)
            load_before = _load()
            subj, anch = measure(w, ctx.runs)
            print(
                f"... {w.name}: {len(subj.seconds)} runs each, alternating;"
                f" {load_before} before, {_load()} after",
                file=sys.stderr,
                flush=True,
            )
            ratio = subj.median / anch.median
            ok = ratio <= w.target and (w.rss_limit_mb is None or subj.max_rss_mb <= w.rss_limit_mb)
            failed += not ok
            rss = f"{subj.max_rss_mb:.0f} MB" + (
                f" (<= {w.rss_limit_mb:.0f})" if w.rss_limit_mb else ""
            )
            row = (
                w.name,
                w.anchor_name,
                f"{subj.median:.3f}",
                f"{anch.median:.3f}",
                f"{ratio:.2f}x",
                f"<= {w.target}x",
                rss,
                "ok" if ok else "MISSED",
                f"{subj.cpu_median:.2f} / {anch.cpu_median:.2f},"
                f" {subj.cpu_median / max(anch.cpu_median, 1e-9):.2f}x",
            )
            print(
                "| " + " | ".join(row) + " |", flush=True
            )  # as each finishes: a long run can be read as it goes
            for name, value, target, good in w.extra() if w.extra else []:
                failed += not good
                cells = (name, "", value, "", "", target, "", "ok" if good else "MISSED", "")
                print("| " + " | ".join(cells) + " |", flush=True)
    print(f"\n{os.cpu_count()} CPUs, {_load()} at the end", flush=True)
    return 1 if failed else 0


def _load() -> str:
    """The load average (1, 5, 15 minutes): every number measured on a shared machine needs it."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


if __name__ == "__main__":
    raise SystemExit(main())
