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
    from ..pricing import prices
    from .practice import FEES

    files = Path(ctx.summary.files_dir)
    start = f"{ctx.as_of.year - 1}-01-01"
    change = (ctx.as_of.replace(day=1) - _dt.timedelta(days=1)).replace(day=1).isoformat()
    cdm = [[c, "", p, start, ""] for c, p in FEES.items()]
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
