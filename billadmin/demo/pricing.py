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
KEY_BEFORE = {"99213": "140.00", "99214": "205.00", "99203": "175.00", "36415": "15.00"}
KEY_AFTER = {"99213": "145.00", "99214": "212.00"}
MCR = {"99213": "92.03", "99214": "130.36", "99203": "110.63", "36415": "8.00"}


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
    ct += [["SUM", c, "", "", "120", "MCR", start, ""] for c in MCR]
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
