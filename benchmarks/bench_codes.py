"""Code sets and the scrubber, timed as whole processes.

  codes check (scrub 1M unbilled lines)   vs  billadmin import charges (the same 1M lines)   <= 1.0x
  codes lookup (one code)                 vs  sleep 0.2 (an absolute 0.2 s budget)             <= 1.0x
  init (bundled ICD-10-CM load)           vs  sleep 3   (an absolute ~3 s budget)              <= 1.0x

Data: benchmarks/gen.py at --scale lines (3 per encounter), imported once with the ordinary
`billadmin import` commands into benchmarks/work/codes-scrub.db (kept between runs); the anchor
imports the charges again into a copy of the same database before its charges are loaded.

    python benchmarks/run.py --only codes
    python benchmarks/bench_codes.py build --lines 1000000    # build, then time one scrub in-process
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

AS_OF = "2026-11-01"  # gen.py's as-of date: DOS in the 180 days before it
VERSION = 3  # bump when the data's shape changes: the cached databases are rebuilt


def _paths(work: Path, lines: int) -> dict[str, Path]:
    base = work / f"codes-{lines}"
    return {
        "dir": base,
        "gen": base / "gen",
        "base": base / "base.db",
        "scrub": base / "scrub.db",
        "anchor": base / "anchor.db",
        "stamp": base / f"built-v{VERSION}",
    }


def _run(cmd: list[str]) -> None:
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr[-2000:]}")


def _copy_db(src: Path, dst: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    shutil.copy2(src, dst)


def build(work: Path, lines: int, billadmin: str) -> dict[str, Path]:
    """gen.py data; base.db = init + providers, payers, patients, coverage; scrub.db = base + charges."""
    import gen

    p = _paths(work, lines)
    if p["stamp"].exists():
        return p
    shutil.rmtree(p["dir"], ignore_errors=True)
    p["dir"].mkdir(parents=True)
    files = gen.generate(p["gen"], lines)
    from billadmin import demo

    _run([billadmin, "--db", str(p["base"]), "init"])
    pr = demo.PRACTICE
    _run(
        [
            billadmin,
            "--db",
            str(p["base"]),
            "practice",
            "set",
            "--name",
            pr["name"],
            "--npi",
            pr["npi"],
            "--tax-id",
            pr["tax_id"],
            "--address1",
            pr["address1"],
            "--city",
            pr["city"],
            "--state",
            pr["state"],
            "--zip",
            pr["zip"],
        ]
    )
    for kind in ("providers", "payers", "patients", "coverage"):
        _run([billadmin, "--db", str(p["base"]), "import", kind, str(files[kind])])
    _copy_db(p["base"], p["scrub"])
    t0 = time.perf_counter()
    _run([billadmin, "--db", str(p["scrub"]), "import", "charges", str(files["charges"])])
    print(
        f"built {p['scrub']} ({lines:,} lines imported in {time.perf_counter() - t0:.1f} s)",
        file=sys.stderr,
    )
    p["stamp"].write_text("ok")
    return p


# what its workloads' names start with: run.py --only skips (and builds no data for) the rest
NAMES = ("codes check", "codes lookup", "codes: init")


def workloads(ctx):
    from harness import Workload

    p = build(ctx.work, ctx.scale, ctx.billadmin)
    charges = p["gen"] / "charges.csv"
    icd_db = ctx.work / "codes-init.db"

    def fresh_anchor():
        _copy_db(p["base"], p["anchor"])

    def fresh_init():
        for suffix in ("", "-wal", "-shm"):
            Path(str(icd_db) + suffix).unlink(missing_ok=True)

    return [
        Workload(
            name="codes check (scrub 1M unbilled lines)",
            subject=[
                ctx.billadmin,
                "--db",
                str(p["scrub"]),
                "codes",
                "check",
                "--as-of",
                AS_OF,
                "-f",
                "csv",
            ],
            anchor=[ctx.billadmin, "--db", str(p["anchor"]), "import", "charges", str(charges)],
            anchor_name="import charges (same lines)",
            target=1.0,
            setup_anchor=fresh_anchor,
            ok_codes=(0, 1),
            runs=min(ctx.runs, 3),
            note="subject exits 1 when a scrub finds errors; both sides see the same lines",
        ),
        Workload(
            name="codes lookup (one code)",
            subject=[ctx.billadmin, "--db", str(p["scrub"]), "codes", "lookup", "E11.9"],
            anchor=["sleep", "0.2"],
            anchor_name="0.2 s budget (sleep 0.2)",
            target=1.0,
            runs=max(ctx.runs, 10),
        ),
        Workload(
            name="codes: init (bundled ICD-10-CM load)",
            subject=[ctx.billadmin, "--db", str(icd_db), "init"],
            anchor=["sleep", "3"],
            anchor_name="3 s budget (sleep 3)",
            target=1.0,
            setup_subject=fresh_init,
            runs=min(ctx.runs, 3),
        ),
    ]


def _direct(work: Path, lines: int) -> Path:
    """A scrub database loaded without the import (plain inserts of gen.py's rows): for timing
    the scrubber on its own when the import is unavailable."""
    import csv
    import datetime as _dt

    import gen

    from billadmin import db as dbmod
    from billadmin import money, setup

    out = work / f"codes-direct-{lines}"
    dbp = out / "direct.db"
    if (out / f"built-v{VERSION}").exists():
        return dbp
    shutil.rmtree(out, ignore_errors=True)
    files = gen.generate(out / "gen", lines)
    setup.init_database(dbp)
    conn = dbmod.connect(dbp)
    c = conn.conn
    c.execute("PRAGMA synchronous = OFF")
    now = _dt.datetime.now(_dt.UTC).isoformat()
    c.execute("BEGIN")
    from billadmin import demo

    c.execute(
        "INSERT INTO practice (id, name, npi, tax_id, address1, city, state, zip) VALUES (1,?,?,?,?,?,?,?)",
        (
            demo.PRACTICE["name"],
            demo.PRACTICE["npi"],
            demo.PRACTICE["tax_id"],
            demo.PRACTICE["address1"],
            demo.PRACTICE["city"],
            demo.PRACTICE["state"],
            demo.PRACTICE["zip"],
        ),
    )
    with open(files["providers"]) as fh:
        c.executemany(
            "INSERT INTO providers (npi, first_name, last_name) VALUES (?,?,?)",
            [(r["NPI"], r["First Name"], r["Last Name"]) for r in csv.DictReader(fh)],
        )
    with open(files["payers"]) as fh:
        c.executemany(
            "INSERT INTO payers (code, name, kind, timely_filing_days, timely_filing_months) VALUES (?,?,?,?,?)",
            [
                (
                    r["Code"],
                    r["Name"],
                    r["Kind"],
                    int(r["Timely Filing Days"]) if r["Timely Filing Days"] else None,
                    12 if r["Kind"] == "medicare" else None,
                )
                for r in csv.DictReader(fh)
            ],
        )
    with open(files["patients"]) as fh:
        c.executemany(
            "INSERT INTO patients (mrn, first_name, last_name, dob, sex, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?)",
            [
                (r["MRN"], r["First Name"], r["Last Name"], r["DOB"], r["Sex"], now, now)
                for r in csv.DictReader(fh)
            ],
        )
    pid = dict(c.execute("SELECT mrn, id FROM patients"))
    payid = dict(c.execute("SELECT code, id FROM payers"))
    provid = dict(c.execute("SELECT npi, id FROM providers"))
    with open(files["coverage"]) as fh:
        c.executemany(
            "INSERT INTO coverages (patient_id, payer_id, member_id, effective_from) VALUES (?,?,?,?)",
            [
                (pid[r["MRN"]], payid[r["Payer Code"]], r["Member ID"], r["Effective From"])
                for r in csv.DictReader(fh)
            ],
        )
    encs: dict[str, int] = {}
    enc_rows, dx_rows, line_rows = [], [], []
    with open(files["charges"]) as fh:
        for r in csv.DictReader(fh):
            e = encs.get(r["Encounter"])
            if e is None:
                e = encs[r["Encounter"]] = len(encs) + 1
                enc_rows.append(
                    (
                        e,
                        r["Encounter"],
                        pid[r["MRN"]],
                        provid[r["Rendering NPI"]],
                        r["DOS"],
                        r["POS"],
                    )
                )
                dx_rows += [(e, i, r[f"Dx{i}"]) for i in range(1, 13) if r[f"Dx{i}"]]
            line_rows.append(
                (
                    e,
                    int(r["Line"]),
                    r["Code"],
                    r["Pointers"],
                    int(r["Units"]),
                    money.parse_cents(r["Charge"]),
                )
            )
    c.executemany(
        "INSERT INTO encounters (id, number, patient_id, provider_id, date_of_service, place_of_service)"
        " VALUES (?,?,?,?,?,?)",
        enc_rows,
    )
    c.executemany(
        "INSERT INTO encounter_diagnoses (encounter_id, seq, code) VALUES (?,?,?)", dx_rows
    )
    c.executemany(
        "INSERT INTO charge_lines (encounter_id, line_no, code, dx_pointers, units, charge_cents)"
        " VALUES (?,?,?,?,?,?)",
        line_rows,
    )
    c.execute("COMMIT")
    conn.close()
    (out / f"built-v{VERSION}").write_text("ok")
    return dbp


if __name__ == "__main__":
    import argparse
    import datetime as _dt

    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["build", "direct"])
    ap.add_argument("--lines", type=int, default=1_000_000)
    a = ap.parse_args()
    work = HERE / "work"
    work.mkdir(exist_ok=True)
    if a.what == "build":
        p = build(work, a.lines, str(Path(sys.executable).parent / "billadmin"))
        dbp = p["scrub"]
    else:
        dbp = _direct(work, a.lines)
    from billadmin import db as dbmod
    from billadmin.scrub import check

    conn = dbmod.connect(dbp)
    t0 = time.perf_counter()
    out = check(conn, as_of=_dt.date.fromisoformat(AS_OF))
    print(
        f"scrubbed {a.lines:,} lines in-process: {time.perf_counter() - t0:.1f} s, {len(out):,} findings",
        file=sys.stderr,
    )
