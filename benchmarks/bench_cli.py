"""Start-up: `billadmin --help` against `sqlite-utils --help` (target <= 0.6x)."""

from pathlib import Path

from harness import Workload

# what its workloads' names start with: run.py --only skips (and builds no data for) the rest
NAMES = ("billadmin --help",)


def workloads(ctx):
    su = str(Path(ctx.billadmin).parent / "sqlite-utils")
    return [
        Workload(
            name="billadmin --help",
            subject=[ctx.billadmin, "--help"],
            anchor=[su, "--help"],
            anchor_name="sqlite-utils --help",
            target=0.6,
            runs=max(ctx.runs, 15),
        )
    ]
