"""The demo's medical-necessity step: its lab NCD excerpt loaded, a Medicare TSH line held by
NCD-NECESSITY and the same line with GA passed with its warning (scrubbed from a file, nothing
imported)."""

from __future__ import annotations

import csv

from billadmin import db as dbmod


def test_demo_shows_a_necessity_hold_and_its_abn_path(demo_practice):
    path, stderr = demo_practice
    assert "1 held by NCD-NECESSITY (no modifier), 1 with GA passing with a warning" in stderr
    conn = dbmod.connect(path)
    try:
        assert conn.execute("SELECT kind, label FROM necessity_versions").fetchall() == [
            ("lab-ncd", "demo excerpt (not CMS's list): NCD 190.22, 84443 only")
        ]
        # the two lines were checked from a file, never imported
        assert conn.execute(
            "SELECT count(*) FROM encounters WHERE number LIKE 'NEC-%'"
        ).fetchone() == (0,)
        # the excerpt lists only 84443, which the demo never bills: no demo line is affected
        assert conn.execute(
            "SELECT count(*) FROM charge_lines WHERE code = '84443'"
        ).fetchone() == (0,)
    finally:
        conn.close()
    files = path.parent / f"{path.stem}-files" / "imports"
    with open(files / "necessity-charges.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["Code"], r["Mod1"], r["Dx1"]) for r in rows] == [
        ("84443", "", "R53.83"),
        ("84443", "GA", "R53.83"),
    ]
