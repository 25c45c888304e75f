"""837I generation against 837P generation, per claim (issue 17: "837I generation at the same
throughput per claim as 837P, same run").

  `invoice generate` of N institutional claims  vs  `invoice generate` of N professional claims
  (837I: 3 revenue lines, 4 diagnoses each)         (837P: 3 service lines, 2 diagnoses each)

Both databases hold the same practice, payer and N patients (one Medicare coverage each); one
has N unbilled institutional claims of the hospital (TOB 131), the other N unbilled encounters.
Each timed run bills a fresh copy (build, number, insert, render, pyx12, record), with the
scrubber left out on both sides (generation is what is compared). N = scale / 200 (5,000 at the
default scale), at most 20,000.

    python benchmarks/run.py --only 837I
    python benchmarks/bench_institutional.py generate DB OUT   # one timed side
"""

from __future__ import annotations

import datetime as _dt
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

TODAY = _dt.date(2026, 6, 30)
VERSION = 1
NAMES = ("837I generate",)  # run.py --only: build this module's data only when asked


def _base(conn, n: int) -> list[int]:
    """Practice, provider, Medicare, the hospital and n patients with coverage: patient ids."""
    from billadmin import npi

    conn.execute(
        "INSERT INTO practice (id, name, npi, tax_id, taxonomy, address1, city, state, zip, phone,"
        " contact_name, submitter_id, receiver_id, receiver_name) VALUES (1, 'Bench Practice', ?,"
        " '812345678', '207Q00000X', '1 Main St', 'Columbus', 'OH', '432151234', '6145550100',"
        " 'Billing', 'BENCH01', 'CLEARHOUSE01', 'TEST CLEARINGHOUSE')",
        (npi.make("174839201"),),
    )
    conn.execute(
        "INSERT INTO providers (id, npi, first_name, last_name) VALUES (1, ?, 'Ann', 'Okafor')",
        (npi.make("162738495"),),
    )
    conn.execute(
        "INSERT INTO payers (code, name, kind, x12_payer_id, timely_filing_months)"
        " VALUES ('MCR', 'Medicare', 'medicare', '15202', 12)"
    )
    conn.execute(
        "INSERT INTO facilities (code, name, npi, tax_id, taxonomy, facility_type, address1, city,"
        " state, zip, phone) VALUES ('RGH', 'Riverside General Hospital', ?, '311234567',"
        " '282N00000X', '1', '100 River Rd', 'Columbus', 'OH', '432151000', '6145550199')",
        (npi.make("187654321"),),
    )
    now = "2026-06-01T00:00:00+00:00"
    conn.conn.executemany(
        "INSERT INTO patients (id, mrn, first_name, last_name, dob, sex, address1, city, state,"
        " zip, created_at, updated_at) VALUES (?, ?, 'Pat', 'Sample', '1950-03-04', 'F',"
        " '5 Oak St', 'Columbus', 'OH', '43215', ?, ?)",
        [(i, f"M{i:07d}", now, now) for i in range(1, n + 1)],
    )
    conn.conn.executemany(
        "INSERT INTO coverages (patient_id, payer_id, member_id, effective_from)"
        " VALUES (?, 1, ?, '2020-01-01')",
        [(i, f"1EG4TE{i:05d}") for i in range(1, n + 1)],
    )
    return list(range(1, n + 1))


def build(work: Path, n: int) -> tuple[Path, Path]:
    """(inst.db with n institutional claims, prof.db with n encounters), cached per size."""
    from billadmin import db as dbmod
    from billadmin import npi
    from billadmin.institutional.store import insert_claim

    folder = work / f"institutional-{n}"
    inst, prof = folder / "inst.db", folder / "prof.db"
    if (folder / f"built-v{VERSION}").exists():
        for p in (inst, prof):  # migrations added since the cache was built
            dbmod.connect(p, create=True).close()
        return inst, prof
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    attending = npi.make("162738495")
    conn = dbmod.connect(inst, create=True)
    with dbmod.write(conn):
        for pid in _base(conn, n):
            insert_claim(
                conn,
                {
                    "key": f"H{pid:07d}",
                    "patient_id": pid,
                    "provider_id": 1,
                    "facility_id": 1,
                    "type_of_bill": "131",
                    "statement_from": "2026-06-10",
                    "statement_through": "2026-06-10",
                    "admission_type": "3",
                    "admission_source": "1",
                    "patient_status": "01",
                    "providers": [("attending", attending, "Okafor", "Ann")],
                    "diagnoses": [
                        ("ABK", "K635", ""),
                        ("APR", "R195", ""),
                        ("ABF", "Z1211", ""),
                        ("ABF", "I10", ""),
                    ],
                    "lines": [
                        {"revenue_code": "0750", "hcpcs": "45380", "units": 1,
                         "charge_cents": 185000, "line_date": "2026-06-10"},
                        {"revenue_code": "0310", "hcpcs": "88305", "units": 2,
                         "charge_cents": 42000, "line_date": "2026-06-10"},
                        {"revenue_code": "0710", "units": 1, "charge_cents": 30000,
                         "line_date": "2026-06-10"},
                    ],
                },
            )  # fmt: skip
    conn.close()
    conn = dbmod.connect(prof, create=True)
    with dbmod.write(conn):
        for pid in _base(conn, n):
            eid = conn.execute(
                "INSERT INTO encounters (number, patient_id, provider_id, date_of_service,"
                " place_of_service) VALUES (?, ?, 1, '2026-06-10', '22')",
                (f"E{pid:07d}", pid),
            ).lastrowid
            conn.conn.executemany(
                "INSERT INTO encounter_diagnoses (encounter_id, seq, code) VALUES (?, ?, ?)",
                [(eid, 1, "K63.5"), (eid, 2, "Z12.11")],
            )
            conn.conn.executemany(
                "INSERT INTO charge_lines (encounter_id, line_no, code, modifier1, dx_pointers,"
                " units, charge_cents) VALUES (?, ?, ?, ?, '1', ?, ?)",
                [
                    (eid, 1, "45380", None, 1, 45000),
                    (eid, 2, "88305", "26", 2, 9000),
                    (eid, 3, "99152", None, 1, 7000),
                ],
            )
    conn.close()
    (folder / f"built-v{VERSION}").touch()
    return inst, prof


def _fresh(src: Path, dst: Path, out: Path):
    def setup() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(dst) + suffix).unlink(missing_ok=True)
        shutil.copy2(src, dst)
        shutil.rmtree(out, ignore_errors=True)

    return setup


def workloads(ctx):
    from harness import Workload

    n = max(100, min(ctx.scale // 200, 20_000))
    inst, prof = build(ctx.work, n)
    me = str(Path(__file__).resolve())
    run_inst, run_prof = inst.with_name("run-inst.db"), prof.with_name("run-prof.db")
    out_inst, out_prof = inst.with_name("out-inst"), prof.with_name("out-prof")
    return [
        Workload(
            name=f"837I generate: {n:,} institutional claims",
            subject=[ctx.python, me, "generate", str(run_inst), str(out_inst)],
            anchor=[ctx.python, me, "generate", str(run_prof), str(out_prof)],
            anchor_name=f"837P generate of {n:,} professional claims",
            target=1.5,
            setup_subject=_fresh(inst, run_inst, out_inst),
            setup_anchor=_fresh(prof, run_prof, out_prof),
            runs=min(ctx.runs, 3),
            note="same number of claims and lines: the ratio is per claim",
        )
    ]


def generate(path: Path, out: Path) -> None:
    """One side: `invoice generate` without the scrubber, timed and reported on stderr."""
    from billadmin import db as dbmod
    from billadmin.billing import generate as gen

    conn = dbmod.connect(path)
    t0 = time.perf_counter()
    r = gen.generate(
        conn, today=TODAY, out_dir=out, scrub=lambda *a, **k: [], patients=False, xlsx=False
    )
    s = time.perf_counter() - t0
    n = len(r.issued)
    print(f"{n:,} claims in {s:.2f} s ({s / max(n, 1) * 1e3:.2f} ms each)", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "generate":
        generate(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        raise SystemExit(__doc__)
