"""Start-up: `billadmin --help` against `sqlite-utils --help` (target <= 0.6x)."""

from pathlib import Path

from harness import Workload


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
