"""Deterministic data generator for the benchmarks: the demo practice's shape at any scale.

    python benchmarks/gen.py OUT_DIR --lines 1000000

writes providers.csv, payers.csv, patients.csv, coverage.csv and charges.csv in the import
formats (1M charge lines, about 100 MB, in a few seconds). Lines come 3 per encounter.

Charge lines carry what the scrubber's issue-20 rules ask of their code, as the demo's do
(demo/auths.py claim_field_cells): a lab test its CLIA number and ordering provider, imaging its
ordering provider, an injection its NDC, therapy its referring provider. Without them the
scrubber holds most encounters (CLIA-MISSING, REF-MISSING, NDC-MISSING: 6,927 of 10,000), and a
benchmark of `invoice generate` would bill a third of what it claims to.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from billadmin import demo  # noqa: E402
from billadmin.demo import auths  # noqa: E402

CODES = [(c, a) for c, a in demo.FEES.items() if not c.startswith(("9047", "992", "993", "G04"))]
DX = [
    "I10",
    "E78.5",
    "E11.9",
    "J06.9",
    "R05.9",
    "M17.11",
    "N39.0",
    "F41.1",
    "K21.9",
    "E55.9",
    "M54.50",
    "Z79.4",
]


def generate(
    out: Path,
    lines: int,
    *,
    as_of: _dt.date = _dt.date(2026, 11, 1),
    seed: int = 7,
    self_pay_every: int = 0,
) -> dict[str, Path]:
    """self_pay_every=N: one patient in N of each payer's has no coverage (their visits are
    billed to them: patient invoices)."""
    out.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    n_enc = max(1, lines // 3)
    n_pat = max(10, n_enc // 10)
    paths = {}
    base = demo.generate(as_of, patients=1, encounters=1)
    for kind in ("providers", "payers"):
        p = out / f"{kind}.csv"
        with open(p, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=demo.HEADERS[kind])
            w.writeheader()
            w.writerows(base.tables[kind])
        paths[kind] = p
    payers = ["MCR", "MCD", "BVHMO", "KEY", "SUM"]
    with open(out / "patients.csv", "w") as pf, open(out / "coverage.csv", "w") as cf:
        pf.write(",".join(demo.HEADERS["patients"]) + "\n")
        cf.write(",".join(demo.HEADERS["coverage"]) + "\n")
        for i in range(n_pat):
            mrn = f"{i + 1:08d}"
            dob = _dt.date(1940, 1, 1) + _dt.timedelta(days=rnd.randint(0, 28000))
            pf.write(
                f"{mrn},{rnd.choice(demo.FIRST)},{rnd.choice(demo.LAST)},{dob.isoformat()},{'MF'[i % 2]},"
                f"{i % 9000 + 10} Main St,Columbus,OH,43215,6145550{i % 1000:03d}\n"
            )
            payer = payers[i % 5]
            if self_pay_every and (i // 5) % self_pay_every == 0:
                continue
            copay = "20.00" if payer in ("BVHMO", "KEY", "SUM") else "0.00"
            cf.write(
                f"{mrn},{payer},{payer[0]}{100000000 + i},,self,,,,primary,2020-01-01,,{copay}\n"
            )
    paths["patients"], paths["coverage"] = out / "patients.csv", out / "coverage.csv"
    npis = [p["NPI"] for p in demo.PROVIDERS]
    by_npi = {p["NPI"]: p for p in demo.PROVIDERS}
    extra: dict[tuple[str, str], str] = {}  # (code, rendering NPI) -> the claim-field cells

    def fields(code: str, npi: str) -> str:
        key = (code, npi)
        if key not in extra:
            cells = auths.claim_field_cells(code, by_npi[npi])
            extra[key] = ",".join(cells.get(h, "") for h in auths.EXTRA_HEADERS)
        return extra[key]

    start = as_of - _dt.timedelta(days=180)
    with open(out / "charges.csv", "w") as fh:
        fh.write(",".join(demo.HEADERS["charges"] + auths.EXTRA_HEADERS) + "\n")
        written = 0
        for e in range(n_enc):
            enc = f"B{e + 1:09d}"
            mrn = f"{rnd.randrange(n_pat) + 1:08d}"
            dos = (start + _dt.timedelta(days=rnd.randrange(180))).isoformat()
            npi = npis[e % len(npis)]
            dx = rnd.sample(DX, 2)
            dxcols = ",".join(dx + [""] * 10)
            for ln in range(1, 4):
                if written >= lines:
                    break
                code, amt = CODES[rnd.randrange(len(CODES))] if ln > 1 else ("99213", "140.00")
                fh.write(
                    f"{enc},{mrn},{dos},{npi},11,{ln},{code},,,,,{dxcols},1,1,{amt},"
                    f"{fields(code, npi)}\n"
                )
                written += 1
    paths["charges"] = out / "charges.csv"
    return paths


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--self-pay-every", type=int, default=0)
    a = ap.parse_args()
    print(generate(a.out, a.lines, self_pay_every=a.self_pay_every))
