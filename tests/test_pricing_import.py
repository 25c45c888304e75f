"""Charge lines imported without an amount are priced from the charge master on their date of
service (unit price x units); without a price the row is refused (file, row, column)."""

from __future__ import annotations

import csv

from test_import import base, charge, q, write  # noqa: F401  (fixture and helpers)


def test_empty_charge_is_priced_from_the_charge_master(base, cli, db_path, tmp_path):
    cdm = tmp_path / "cdm.csv"
    with open(cdm, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Code", "Price", "Effective From"])
        w.writerows([["99213", "140.00", "2026-01-01"], ["99213", "150.00", "2026-10-01"]])
    assert cli("codes", "price-load", "charge-master", cdm).exit_code == 0
    f = write(
        tmp_path / "charges.csv",
        "charges",
        [
            charge("E1", 1, dos="2026-09-30", amount=""),
            charge("E2", 1, dos="2026-10-01", amount="", units="2"),
            charge("E3", 1, dos="2026-10-02", amount="99.00"),  # an amount given is kept
        ],
    )
    r = cli("import", "charges", f)
    assert r.exit_code == 0, r.output
    assert q(
        db_path,
        "SELECT e.number, l.units, l.charge_cents FROM charge_lines l JOIN encounters e"
        " ON e.id = l.encounter_id ORDER BY e.number",
    ) == [("E1", 1, 14000), ("E2", 2, 30000), ("E3", 1, 9900)]


def test_empty_charge_without_a_price_is_refused(base, cli, db_path, tmp_path):
    f = write(tmp_path / "charges.csv", "charges", [charge("E1", 1, code="99214", amount="")])
    r = cli("import", "charges", f)
    assert r.exit_code == 2
    assert "charges.csv, row 2, column 'Charge': is empty and the charge master has no price" in (
        r.output
    )
    assert q(db_path, "SELECT COUNT(*) FROM charge_lines") == [(0,)]
