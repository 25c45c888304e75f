"""Import: `billadmin import charges` of 1M charge lines (about 90 MB CSV) with full validation,
against `sqlite3 DB ".import --csv FILE t"` of the same file into a fresh database (target: <= 6x,
peak RSS <= 200 MB).

The files come from benchmarks/gen.py (cached per scale in benchmarks/work/import-N/). The
database the subject imports into is built once with providers, payers, patients and coverage
(imported with billadmin too) and copied fresh before every timed run, so each run inserts all
lines and creates all encounters.

    python benchmarks/run.py --only import
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from harness import Workload

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
VERSION = 2  # 2: gen.py charges carry their claim fields (CLIA, NDC, ordering, referring)


def _prepare(ctx) -> tuple[Path, Path]:
    import gen

    folder = ctx.work / f"import-{ctx.scale}"
    marker = folder / f"v{VERSION}"
    base = folder / "base.db"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        gen.generate(folder, ctx.scale)
        for kind in ("providers", "payers", "patients", "coverage"):
            if kind == "providers":
                subprocess.run([ctx.billadmin, "--db", str(base), "-q", "init"], check=True)
            subprocess.run(
                [
                    ctx.billadmin,
                    "--db",
                    str(base),
                    "-q",
                    "import",
                    kind,
                    str(folder / f"{kind}.csv"),
                ],
                check=True,
            )
        marker.write_text("ok\n")
    return folder, base


# what its workloads' names start with: run.py --only skips (and builds no data for) the rest
NAMES = ("import charges",)


def workloads(ctx):
    if not ctx.sqlite3:
        return []
    folder, base = _prepare(ctx)
    charges = folder / "charges.csv"
    run_db = folder / "run.db"
    anchor_db = folder / "anchor.db"

    def fresh_subject():
        for suffix in ("", "-wal", "-shm"):
            Path(str(run_db) + suffix).unlink(missing_ok=True)
        shutil.copyfile(base, run_db)
        run_db.chmod(0o600)

    def fresh_anchor():
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(anchor_db) + suffix).unlink(missing_ok=True)

    return [
        Workload(
            name=f"import charges ({ctx.scale:,} lines)",
            subject=[ctx.billadmin, "--db", str(run_db), "-q", "import", "charges", str(charges)],
            anchor=[ctx.sqlite3, str(anchor_db), f".import --csv {charges} t"],
            anchor_name="sqlite3 .import --csv",
            target=6.0,
            rss_limit_mb=200,
            setup_subject=fresh_subject,
            setup_anchor=fresh_anchor,
            runs=min(ctx.runs, 3),
            note="full validation: NPI check digits, dates, codes, diagnoses, pointers, encounter consistency",
        )
    ]
