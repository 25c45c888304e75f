"""The demo's prices: a charge master and payer contracts, with price changes on the first day
of last month (2026-10-01 for the default --as-of 2026-11-26), loaded the way an administrator
does (`billadmin codes price-load`), so `report price-changes`, `report contract-expected` and
`report underpaid-contracts` have something to show. The files are made up for the demo."""

from __future__ import annotations

import csv
import datetime as _dt
from pathlib import Path

# the raises of the month: code -> new price (the old one is the demo's fee)
RAISES = {"99213": "150.00", "99214": "215.00", "36415": "16.00", "80053": "52.00"}
# Keystone's contract (amounts) before and after its raise; Summit pays 120% of Medicare. The
# demo's payers allow the fee (less on some claims): lines allowed below these are underpaid.
# Medicare's office visits are priced by its fee schedule (MPFS_RVU below); its lab test by a
# contract row (the clinical lab fee schedule's amount).
KEY_BEFORE = {"99213": "140.00", "99214": "205.00", "99203": "175.00", "36415": "15.00"}
KEY_AFTER = {"99213": "145.00", "99214": "212.00"}
MCR = {"36415": "8.00"}
SUM_CODES = ("99203", "99213", "99214", "36415")


def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def step_pricing(ctx) -> None:
    """Demo step: the charge master and contracts, with last month's price changes."""
    from .. import money
    from ..pricing import prices

    files = Path(ctx.summary.files_dir)
    # the practice's own fees (the fee schedule's "default" rows) are its charge master
    fees = ctx.conn.execute(
        "SELECT code, amount_cents FROM fee_schedule WHERE payer_id IS NULL AND modifier = ''"
        " ORDER BY code"
    ).fetchall()
    start = f"{ctx.as_of.year - 1}-01-01"
    change = (ctx.as_of.replace(day=1) - _dt.timedelta(days=1)).replace(day=1).isoformat()
    cdm = [[c, "", money.fmt(p), start, ""] for c, p in fees]
    cdm += [[c, "", p, change, ""] for c, p in RAISES.items()]
    cdm_f = _write(
        files / "charge-master.csv",
        ["Code", "Modifier", "Price", "Effective From", "Effective To"],
        cdm,
    )
    ct = [["KEY", c, "", a, "", "", start, ""] for c, a in KEY_BEFORE.items()]
    ct += [["KEY", c, "", a, "", "", change, ""] for c, a in KEY_AFTER.items()]
    ct += [["MCR", c, "", a, "", "", start, ""] for c, a in MCR.items()]
    ct += [["SUM", c, "", "", "120", "MCR", start, ""] for c in SUM_CODES]
    ct_f = _write(
        files / "contracts.csv",
        [
            "Payer",
            "Code",
            "Modifier",
            "Allowed",
            "Percent",
            "Base",
            "Effective From",
            "Effective To",
        ],
        ct,
    )
    a = prices.load(ctx.conn, "charge-master", cdm_f)
    b = prices.load(ctx.conn, "contracts", ct_f)
    ctx.summary.steps.append(
        f"Loaded the charge master ({a.inserted} prices, {len(RAISES)} raised on {change}) and"
        f" payer contracts ({b.inserted} rows; Keystone's changed on {change}, Summit at 120% of"
        f" Medicare) from {cdm_f.name} and {ct_f.name}"
    )
    _medicare_fee_schedule(ctx, files, start)


# A made-up excerpt of Medicare's fee schedule in CMS's layouts (not CMS's values): the PPRRVU
# file's columns (HCPCS, MOD, STATUS CODE, WORK RVU, NON-FAC PE RVU, FACILITY PE RVU, MP RVU,
# MULT PROC, CONV FACTOR; descriptions left empty) and the GPCI file's.
MPFS_RVU = [  # code, status, work, non-facility PE, facility PE, MP, multiple procedure
    ("99203", "A", "1.60", "1.87", "0.66", "0.13", "0"),
    ("99213", "A", "1.30", "1.34", "0.55", "0.10", "0"),
    ("99214", "A", "1.92", "1.90", "0.81", "0.13", "0"),
    ("36415", "X", "0.00", "0.00", "0.00", "0.00", "9"),
    ("80053", "X", "0.00", "0.00", "0.00", "0.00", "9"),
]
MPFS_CF = "33.4009"
MPFS_LOCALITY = ("15202", "00", "OHIO", "1.000", "0.912", "0.520")


def _medicare_fee_schedule(ctx, files: Path, start: str) -> None:
    """The demo's Medicare fee schedule: a PPRRVU and a GPCI file loaded (`codes mpfs-load`) and
    the practice's locality set, so Medicare's lines are expected at the fee schedule amount."""
    from ..pricing import medicare

    header = [
        ["HCPCS", "MOD", "DESCRIPTION", "STATUS CODE", "WORK RVU", "NON-FAC PE RVU"]
        + ["FACILITY PE RVU", "MP RVU", "MULT PROC", "CONV FACTOR"]
    ]
    rows = [[c, "", "", st, w, pn, pf, mp, mpi, MPFS_CF] for c, st, w, pn, pf, mp, mpi in MPFS_RVU]
    with open(files / "PPRRVU-demo.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Made-up relative values in the PPRRVU layout (not CMS's values)"])
        w.writerows(header + rows)
    gpci = _write(
        files / "GPCI-demo.csv",
        ["Medicare Administrative Contractor (MAC)", "State", "Locality Number"]
        + ["Locality Name", "PW GPCI (with 1.0 Floor)", "PE GPCI", "MP GPCI"],
        [[MPFS_LOCALITY[0], "OH", *MPFS_LOCALITY[1:]]],
    )
    medicare.load(
        ctx.conn, "rvu", files / "PPRRVU-demo.csv", effective_from=start, version="RVU-DEMO"
    )
    medicare.load(ctx.conn, "gpci", gpci, effective_from=start, version="GPCI-DEMO")
    medicare.set_locality(ctx.conn, MPFS_LOCALITY[0], MPFS_LOCALITY[1])
    ctx.summary.steps.append(
        f"Loaded a Medicare fee schedule excerpt ({len(MPFS_RVU)} codes, PPRRVU and GPCI layouts)"
        f" and set the locality {MPFS_LOCALITY[0]}-{MPFS_LOCALITY[1]}: Medicare's lines are"
        " expected at the fee schedule amount (`billadmin report contract-expected`)"
    )


# a legacy export from the practice's old system: ICD-9-CM codes, some after the 2015-10-01 switch
LEGACY = [
    ("L15000001", "2015-03-10", "99213", ("250.00", "401.9"), "1,2"),
    ("L15000002", "2015-08-14", "99214", ("724.2",), "1"),
    ("L15000003", "2015-11-02", "99213", ("250.00", "401.9"), "1,2"),
    ("L15000004", "2016-01-12", "99214", ("724.2", "272.4"), "1,2"),
]


def step_legacy_worksheet(ctx) -> None:
    """Demo step: ICD-9-CM and the GEMs loaded (`codes load icd9cm`), and the conversion worksheet
    of a legacy charge file (`codes worksheet`): nothing is imported or converted by the demo."""
    from ..codesets import legacy, worksheet

    files = Path(ctx.summary.files_dir)
    with open(files / "charges.csv", newline="", encoding="utf-8") as fh:
        first = next(csv.DictReader(fh))
    mrn, npi = first["MRN"], first["Rendering NPI"]
    rows = [
        [enc, mrn, dos, npi, "11", "1", code, *(list(dx) + [""] * (2 - len(dx))), ptr, "1", ""]
        for enc, dos, code, dx, ptr in LEGACY
    ]
    src = _write(
        files / "legacy-charges.csv",
        ["Encounter", "MRN", "DOS", "Rendering NPI", "POS", "Line", "Code", "Dx1", "Dx2"]
        + ["Pointers", "Units", "Charge"],
        rows,
    )
    rep = legacy.load(ctx.conn)
    sheet = worksheet.build(ctx.conn, src)
    out = _write(
        files / "legacy-worksheet.csv",
        worksheet.COLUMNS,
        [[r[c] for c in worksheet.COLUMNS] for r in sheet],
    )
    need = sum(r["rows_to_convert"] for r in sheet)
    ctx.summary.steps.append(
        f"Loaded ICD-9-CM {rep.label} and the GEMs; the legacy file {src.name} has"
        f" {len(sheet)} ICD-9-CM codes, {need} on dates of service from 2015-10-01 that need an"
        f" ICD-10-CM code: the coder's worksheet is {out.name} (`billadmin codes worksheet`)"
    )
