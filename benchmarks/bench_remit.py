"""`remit show` on a large 835 against pyx12 reading the same file (target: pyx12 takes >= 50x
as long, i.e. billadmin/pyx12 <= 0.02).

The 835 is generated here (deterministic, see generate()): the corpus files' shape, one ST with
scale/50 claim payments (20,000 at the default scale; 3 service lines each, about 30 segments
per claim, 18 MB), PLB at the end; it balances, so `remit show` exits 0.

Anchor: pyx12's X12ContextReader walking the 835 map loop by loop (iter_segments), which is
what "reading" an 835 with pyx12 means (loops resolved, as remit show does). (pyx12's bare
segment tokenizer, x12file.X12Reader, does no loop or amount work and is faster than remit show:
it is not the comparison the target names.) Subject: `remit show --totals`, which reads and
balance-checks everything and prints one row per transaction; printing all 80,000 claim and
line rows as CSV is measured as a second workload.

    python benchmarks/run.py --only remit
    python benchmarks/bench_remit.py gen 10000 /tmp/big.835     # just write the file
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from harness import Workload

CODES = [
    ("99213", 14000, 9000),
    ("99214", 20500, 13000),
    ("36415", 1500, 1000),
    ("80053", 4800, 1400),
    ("85025", 3200, 1100),
    ("93000", 6500, 2200),
    ("J1030", 1800, 900),
    ("20610", 16000, 7500),
]


def _amt(c: int) -> str:
    s = f"{c // 100}.{c % 100:02d}" if c >= 0 else "-" + _amt(-c)
    return s.rstrip("0").rstrip(".") if "." in s else s


def generate(path: Path, claims: int, seed: int = 5) -> Path:
    """A payer's 835 in the shape of the corpus files (multiple-claims-single-check.edi and the
    Medicare samples): per claim LX, CLP, NM1*QC, NM1*82, MOA now and then, DTM*232/233,
    AMT*AU; per service line SVC, DTM*472, CAS (contractual, patient share, or a denial),
    REF*6R, AMT*B6, LQ remark on denials. About 30 segments per 3-line claim."""
    rnd = random.Random(seed)
    segs: list[str] = []
    total = 0
    for n in range(1, claims + 1):
        lines = []
        for _ in range(3):
            code, charge, allowed = rnd.choice(CODES)
            pr = allowed // 5 if rnd.random() < 0.5 else 0
            paid = allowed - pr
            denied = rnd.random() < 0.05
            if denied:
                paid, pr, allowed = 0, 0, 0
            lines.append((code, charge, paid, pr, allowed, denied))
        charge = sum(x[1] for x in lines)
        paid = sum(x[2] for x in lines)
        pr = sum(x[3] for x in lines)
        total += paid
        segs.append(f"LX*{n}")
        segs.append(
            f"CLP*C{n:07d}*1*{_amt(charge)}*{_amt(paid)}*{_amt(pr) if pr else ''}*12*PCN{n:09d}*11*1"
        )
        segs.append(f"NM1*QC*1*DOE*JANE****MI*M{n:09d}")
        segs.append("NM1*82*1*OKAFOR*ANITA****XX*1627384951")
        if rnd.random() < 0.3:
            segs.append("MOA***MA01")
        segs.append("DTM*232*20260302")
        segs.append("DTM*233*20260302")
        segs.append(f"AMT*AU*{_amt(sum(x[4] for x in lines))}")
        for i, (code, lcharge, lpaid, lpr, allowed, denied) in enumerate(lines, start=1):
            segs.append(f"SVC*HC:{code}*{_amt(lcharge)}*{_amt(lpaid)}**1")
            segs.append("DTM*472*20260302")
            if denied:
                segs.append(f"CAS*CO*50*{_amt(lcharge)}")
            else:
                if lpr:
                    segs.append(f"CAS*PR*2*{_amt(lpr)}")
                segs.append(f"CAS*CO*45*{_amt(lcharge - allowed)}")
            segs.append(f"REF*6R*{n}-{i}")
            if denied:
                segs.append("LQ*HE*N115")
            else:
                segs.append(f"AMT*B6*{_amt(allowed)}")
    plb = 1234
    body = (
        [
            f"BPR*I*{_amt(total - plb)}*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20260314",
            "TRN*1*EFT900001*1512345678",
            "DTM*405*20260314",
            "N1*PR*KEYSTONE COMMERCIAL",
            "N3*1 MAIN ST",
            "N4*COLUMBUS*OH*43215",
            "PER*BL*PROVIDER SERVICES*TE*8005551212",
            "N1*PE*RIVERBEND FAMILY MEDICINE*XX*1234567893",
        ]
        + segs
        + [f"PLB*1234567893*20261231*WO:C0000001*{_amt(plb)}"]
    )
    st = ["ST*835*0001"] + body
    st.append(f"SE*{len(st) + 1}*0001")
    text = (
        "ISA*00*          *00*          *ZZ*KEY77          *ZZ*RBFM01         *260314*1200*^*00501*000000001*0*P*:~"
        "GS*HP*KEY77*RBFM01*20260314*1200*1*X*005010X221A1~"
        + "~".join(st)
        + "~GE*1*1~IEA*1*000000001~\n"
    )
    path.write_text(text)
    return path


PYX12_CONTEXT = (
    "import sys, pyx12.params, pyx12.error_handler, pyx12.x12context\n"
    "src = pyx12.x12context.X12ContextReader(pyx12.params.params(), pyx12.error_handler.errh_null(), sys.argv[1])\n"
    "n = sum(1 for _ in src.iter_segments('2100'))\n"
    "assert n > 0\n"
)


# what its workloads' names start with: run.py --only skips (and builds no data for) the rest
NAMES = ("remit show",)


def workloads(ctx):
    claims = max(100, ctx.scale // 50)
    path = ctx.work / f"remit-{claims}.835"
    if not path.exists():
        generate(path, claims)
    anchor = [ctx.python, "-c", PYX12_CONTEXT, str(path)]
    return [
        Workload(
            name=f"remit show --totals ({claims:,} claims)",
            subject=[ctx.billadmin, "-q", "remit", "show", "--totals", str(path)],
            anchor=anchor,
            anchor_name="pyx12 X12ContextReader",
            target=0.02,
            runs=min(ctx.runs, 3),
            note="reads every segment, checks every balance rule, prints the transaction totals",
        ),
        Workload(
            name=f"remit show -f csv ({claims:,} claims)",
            subject=[ctx.billadmin, "-q", "remit", "show", "-f", "csv", str(path)],
            anchor=anchor,
            anchor_name="pyx12 X12ContextReader",
            target=0.1,
            runs=min(ctx.runs, 3),
            note="informational: the same, printing every claim and line (80,000 CSV rows through render.emit)",
        ),
    ]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "gen":
        print(generate(Path(sys.argv[3]), int(sys.argv[2])))
    else:
        print(__doc__)
