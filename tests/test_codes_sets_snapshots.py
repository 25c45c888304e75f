"""`codes sets` lists every medical-necessity snapshot (lab NCD lists, MCD articles): version,
window (an open one ended by the next), rows, whether it covers the day and which is current."""

from __future__ import annotations

import json

from test_necessity import HEADER, ROWS, write_csv, write_mcd


def test_codes_sets_lists_the_necessity_snapshots(db, cli, tmp_path):
    oct_ = write_csv(tmp_path / "lab-ncd-2026-10.csv", HEADER, ROWS)
    jan = write_csv(tmp_path / "lab-ncd-2027-01.csv", HEADER, ROWS[:4])
    assert cli("codes", "load", "lab-ncd", oct_).exit_code == 0
    assert cli("codes", "load", "lab-ncd", jan).exit_code == 0
    mcd = write_mcd(tmp_path / "mcd")
    r = cli(
        "codes", "load", "mcd-articles", mcd, "--contractor", "12502", "--effective", "2026-01-01"
    )
    assert r.exit_code == 0, r.output
    r = cli("codes", "sets", "--as-of", "2026-11-15", "-f", "json")
    assert r.exit_code == 0, r.output
    rows = {(x["code_set"], x["version"]): x for x in json.loads(r.stdout)}
    old = rows[("Lab NCD code lists", "Lab NCD 2026-10")]
    assert (old["effective_from"], old["effective_to"], old["covers_today"]) == (
        "2026-10-01",
        "2026-12-31",
        True,
    )
    assert old["in_use"] is True and old["note"] == "current; Lab NCD 2027-01 from 2027-01-01"
    new = rows[("Lab NCD code lists", "Lab NCD 2027-01")]
    assert new["in_use"] is False and new["covers_today"] is False
    assert new["note"] == "starts 2027-01-01"
    assert new["rows"] == 4 and old["rows"] == 7
    (art,) = [v for (k, _), v in rows.items() if k == "MCD billing and coding articles"]
    assert art["note"] == "current" and art["covers_today"] is True
    r = cli("codes", "sets", "--as-of", "2027-02-01", "-f", "json")
    assert r.exit_code == 0, r.output
    later = {(x["code_set"], x["version"]): x for x in json.loads(r.stdout)}
    old = later[("Lab NCD code lists", "Lab NCD 2026-10")]
    assert old["in_use"] is False and old["note"] == "superseded by Lab NCD 2027-01"
    assert later[("Lab NCD code lists", "Lab NCD 2027-01")]["note"] == "current"
