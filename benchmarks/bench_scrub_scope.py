"""The scrub of a chosen set (`invoice generate --payer/--through`) against the scrub of
everything, per encounter (issue 15: "the same per-encounter cost").

  scrub of one payer's unbilled encounters, chosen by id   vs  scrub of everything in a database
  (the path `invoice generate --payer MCR` takes)              where those are all that is unbilled

Both sides scrub the same encounters with the same billed history around them, so the ratio of
the two whole processes is the ratio per encounter (target <= 1.2x). Data: bench_codes' database
(gen.py at --scale lines, imported with billadmin), migrated, with the demo's NCCI PTP excerpt
loaded (so the same-day rules read the billed lines) and every encounter older than 90 days
marked billed: a practice with history, as `invoice generate` meets it. The history is marked
with an UPDATE (no invoices behind it), which is what the scrubber reads of it.

    python benchmarks/run.py --only scrub-scope --scale 300000
    python benchmarks/bench_scrub_scope.py scrub DB (--payer CODE | --all)   # one timed side
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

AS_OF = "2026-11-01"  # gen.py's as-of date
PAYER = "MCR"  # one of gen.py's five payers: about a fifth of the patients
VERSION = 1


def _chosen_sql(payer: str) -> str:
    return (
        "SELECT DISTINCT l.encounter_id FROM charge_lines l JOIN encounters e ON e.id = l.encounter_id"
        " JOIN coverages c ON c.patient_id = e.patient_id JOIN payers p ON p.id = c.payer_id"
        f" WHERE l.status = 'unbilled' AND p.code = '{payer}'"
    )


def build(work: Path, lines: int, billadmin: str) -> tuple[Path, Path]:
    """(scope.db: history billed, every payer's recent encounters unbilled; whole.db: the same
    with only PAYER's recent encounters unbilled), cached per size."""
    import bench_codes
    from bench_codes import _copy_db

    from billadmin.demo.scrub import write_ptp_excerpt

    src = bench_codes.build(work, lines, billadmin)["scrub"]
    folder = work / f"scrub-scope-{lines}"
    scope, whole = folder / "scope.db", folder / "whole.db"
    if (folder / f"built-v{VERSION}").exists():
        return scope, whole
    folder.mkdir(parents=True, exist_ok=True)
    _copy_db(src, scope)
    ptp = write_ptp_excerpt(folder / "ncci-ptp-demo-excerpt.txt")
    for cmd in (
        ["init"],
        ["codes", "load", "ncci-ptp", str(ptp), "--version", "demo", "--effective", "2020-01-01"],
    ):
        subprocess.run(
            [billadmin, "--db", str(scope), "-q", *cmd], check=True, stdout=subprocess.DEVNULL
        )
    cutoff = (_dt.date.fromisoformat(AS_OF) - _dt.timedelta(days=90)).isoformat()
    con = sqlite3.connect(scope)
    with con:
        con.execute(
            "UPDATE charge_lines SET status = 'billed' WHERE encounter_id IN"
            " (SELECT id FROM encounters WHERE date_of_service < ?)",
            (cutoff,),
        )
    con.close()
    _copy_db(scope, whole)
    con = sqlite3.connect(whole)
    with con:
        con.execute(
            "UPDATE charge_lines SET status = 'billed' WHERE status = 'unbilled'"
            f" AND encounter_id NOT IN ({_chosen_sql(PAYER)})"
        )
    con.close()
    (folder / f"built-v{VERSION}").write_text("ok\n")
    return scope, whole


# what its workloads' names start with: run.py --only skips (and builds no data for) the rest
NAMES = ("scrub-scope",)


def workloads(ctx):
    from harness import Workload

    lines = min(ctx.scale, 1_000_000)
    scope, whole = build(ctx.work, lines, ctx.billadmin)
    me = str(Path(__file__).resolve())
    return [
        Workload(
            name=f"scrub-scope: one payer's encounters chosen by id ({lines:,}-line practice)",
            subject=[ctx.python, me, "scrub", str(scope), "--payer", PAYER],
            anchor=[ctx.python, me, "scrub", str(whole), "--all"],
            anchor_name="scrub of everything, the same encounters unbilled",
            target=1.2,
            runs=min(ctx.runs, 3),
            note="same encounters, same billed history: the ratio is per encounter",
        )
    ]


def scrub(path: Path, payer: str | None) -> None:
    """One side: the scrub as `invoice generate` calls it (holds.py: ids, or None for all)."""
    from billadmin import db as dbmod
    from billadmin.scrub import check

    conn = dbmod.connect(path)
    t0 = time.perf_counter()
    ids = [r[0] for r in conn.execute(_chosen_sql(payer))] if payer else None
    out = check(conn, encounter_ids=ids, as_of=_dt.date.fromisoformat(AS_OF))
    n = (
        len(ids)
        if ids is not None
        else conn.execute(
            "SELECT COUNT(DISTINCT encounter_id) FROM charge_lines WHERE status = 'unbilled'"
        ).fetchone()[0]
    )
    s = time.perf_counter() - t0
    print(
        f"{n:,} encounters scrubbed in {s:.2f} s ({s / max(n, 1) * 1e6:.0f} us each),"
        f" {len(out):,} findings",
        file=sys.stderr,
    )


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["scrub", "build"])
    ap.add_argument("db", type=Path, nargs="?")
    ap.add_argument("--payer")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--lines", type=int, default=300_000)
    a = ap.parse_args()
    if a.cmd == "build":
        print(build(HERE / "work", a.lines, str(Path(sys.executable).parent / "billadmin")))
    else:
        scrub(a.db, None if a.all else a.payer)
