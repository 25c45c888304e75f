"""`reconcile reports` on two 1M-row CSVs with 1% differences, against the sqlite3 CLI doing the
same job in the same run (target <= 2x the CLI's time; peak RSS <= 300 MB).

The same job, in SQL: import both CSVs, normalise the keys (trim, upper case) in indexed
expressions, list the duplicate keys on each side, join on the key and list the amounts that
differ, list the keys only in A and only in B, and total each side. Amounts are compared in
cents (round(amount * 100)). billadmin additionally parses every amount by the money rules,
refuses bad rows, writes the differences as CSV and keeps the run in its history.

Data (deterministic, --scale rows per file): A is an ERP export (Invoice No, Customer, Invoice
Date, Amount); B a CMS report with other headers (invoice_number, account, date, total) where
0.4% of A's keys are missing, 0.4% have another amount, 0.2% are extra keys, a few keys appear
twice, and 5% of keys are lower case with surrounding spaces.

    python benchmarks/run.py --only reconcile
    python benchmarks/run.py --only result.xlsx --scale 1000000   # the xlsx row alone
"""

from __future__ import annotations

import random
import shlex
import tempfile
from pathlib import Path

from harness import Workload

SQL = """.mode csv
.import {a} a
.import {b} b
.mode list
CREATE INDEX a_k ON a(upper(trim("Invoice No")));
CREATE INDEX b_k ON b(upper(trim("invoice_number")));
SELECT 'duplicate_in_a', upper(trim("Invoice No")), COUNT(*), SUM(round("Amount" * 100)) FROM a
  GROUP BY 2 HAVING COUNT(*) > 1;
SELECT 'duplicate_in_b', upper(trim("invoice_number")), COUNT(*), SUM(round("total" * 100)) FROM b
  GROUP BY 2 HAVING COUNT(*) > 1;
SELECT 'amount_differs', a."Invoice No", a."Amount", b."total", round(a."Amount" * 100) - round(b."total" * 100)
  FROM a JOIN b ON upper(trim(b."invoice_number")) = upper(trim(a."Invoice No"))
  WHERE round(a."Amount" * 100) != round(b."total" * 100);
SELECT 'only_in_a', a."Invoice No", a."Amount" FROM a
  WHERE NOT EXISTS (SELECT 1 FROM b WHERE upper(trim(b."invoice_number")) = upper(trim(a."Invoice No")));
SELECT 'only_in_b', b."invoice_number", b."total" FROM b
  WHERE NOT EXISTS (SELECT 1 FROM a WHERE upper(trim(a."Invoice No")) = upper(trim(b."invoice_number")));
SELECT 'matched', COUNT(*), SUM(round(a."Amount" * 100)) FROM a
  JOIN b ON upper(trim(b."invoice_number")) = upper(trim(a."Invoice No"))
  WHERE round(a."Amount" * 100) = round(b."total" * 100);
SELECT 'all rows', (SELECT COUNT(*) FROM a), (SELECT SUM(round("Amount" * 100)) FROM a),
  (SELECT COUNT(*) FROM b), (SELECT SUM(round("total" * 100)) FROM b);
"""


def generate(out: Path, rows: int, seed: int = 1) -> tuple[Path, Path]:
    rnd = random.Random(seed)
    a_path, b_path = out / f"recon-a-{rows}.csv", out / f"recon-b-{rows}.csv"
    with open(a_path, "w") as fa, open(b_path, "w") as fb:
        fa.write("Invoice No,Customer,Invoice Date,Amount\n")
        fb.write("invoice_number,account,date,total\n")
        for i in range(rows):
            amt = rnd.randint(100, 500000)
            key = f"INV{i:08d}"
            cust = f"CUST{i % 5000:05d}"
            day = f"2026-03-{i % 28 + 1:02d}"
            fa.write(f"{key},{cust},{day},{amt // 100}.{amt % 100:02d}\n")
            r = rnd.random()
            if r < 0.004:
                continue  # only in A
            if r < 0.008:
                amt += rnd.randint(1, 10000)  # amount differs
            bkey = f" {key.lower()} " if r > 0.95 else key
            fb.write(f"{bkey},{cust},{day},{amt // 100}.{amt % 100:02d}\n")
            if r > 0.998:
                fb.write(f"NEW{i:08d},X,{day},10.00\n")  # only in B
            elif 0.9979 < r <= 0.998:
                fb.write(f"{key},{cust},{day},{amt // 100}.{amt % 100:02d}\n")  # duplicate in B
    return a_path, b_path


# what its workloads' names start with: run.py --only skips (and builds no data for) the rest
NAMES = ("reconcile reports", "reconcile reports -o result.xlsx")


def workloads(ctx):
    rows = ctx.scale
    a, b = ctx.work / f"recon-a-{rows}.csv", ctx.work / f"recon-b-{rows}.csv"
    if not (a.exists() and b.exists()):
        generate(ctx.work, rows)
    db = ctx.work / "recon-bench.db"
    import subprocess

    # init creates it, or upgrades one an older billadmin made (other commands refuse that)
    subprocess.run([ctx.billadmin, "--db", str(db), "init"], check=True, capture_output=True)
    sql = ctx.work / "recon-anchor.sql"
    sql.write_text(SQL.format(a=a, b=b))
    out = ctx.work / "recon-out.csv"
    anchor_db = Path(tempfile.gettempdir()) / "billadmin-bench-recon-anchor.db"

    def fresh_anchor():
        for suffix in ("", "-journal", "-wal"):
            Path(str(anchor_db) + suffix).unlink(missing_ok=True)

    return [
        Workload(
            name=f"reconcile reports ({rows:,} rows x 2)",
            subject=[
                ctx.billadmin,
                "-q",
                "--db",
                str(db),
                "reconcile",
                "reports",
                str(a),
                str(b),
                "--key",
                "Invoice No",
                "--key-b",
                "invoice_number",
                "--amount",
                "Amount",
                "--amount-b",
                "total",
                "-f",
                "csv",
                "-o",
                str(out),
            ],
            anchor=["sh", "-c", f"{ctx.sqlite3} {anchor_db} < {sql}"],
            anchor_name="sqlite3 CLI: import, index, join, compare",
            target=2.0,
            rss_limit_mb=300,
            ok_codes=(0, 1),
            setup_anchor=fresh_anchor,
            note="billadmin exits 1: the files differ",
        ),
        _xlsx_workload(ctx, rows, a, b),
    ]


def _xlsx_workload(ctx, rows, a, b) -> Workload:
    """The same comparison written as result.xlsx against it written as CSV (issue 15/21:
    target <= 3x; the Matched sheet lists its first 20,000 pairs and says how many more). Both
    one-off, without a database (none is created; the history write is the same either way)."""
    none = ctx.work / "recon-no-database.db"
    none.unlink(missing_ok=True)
    common = [
        ctx.billadmin, "-q", "--db", str(none), "reconcile", "reports", str(a), str(b),
        "--key", "Invoice No", "--key-b", "invoice_number", "--amount", "Amount",
        "--amount-b", "total",
    ]  # fmt: skip
    return Workload(
        name=f"reconcile reports -o result.xlsx ({rows:,} rows x 2)",
        subject=[*common, "-o", str(ctx.work / "recon-out.xlsx")],
        # the anchor exits 1 too (the files differ): the harness wants 0 from an anchor
        anchor=[
            "sh",
            "-c",
            shlex.join([*common, "-f", "csv", "-o", str(ctx.work / "recon-out-anchor.csv")])
            + "; test $? -le 1",
        ],
        anchor_name="the same run written as CSV",
        target=3.0,
        rss_limit_mb=300,
        ok_codes=(0, 1),
        note="both exit 1: the files differ",
    )
