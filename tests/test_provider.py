"""`billadmin provider list|show|set`: the rendering providers, changed one field at a time."""

from __future__ import annotations

import json

from billadmin import npi

NPI_A = npi.make("174839202")
NPI_B = npi.make("174839203")


def _providers(tmp_path, cli):
    f = tmp_path / "providers.csv"
    f.write_text(
        f"NPI,First Name,Last Name,Taxonomy\n{NPI_A},Ana,Zeller,207Q00000X\n{NPI_B},Ben,Adams,\n"
    )
    assert cli("init").exit_code == 0
    r = cli("import", "providers", f)
    assert r.exit_code == 0, r.stderr


def test_list_show_set(tmp_path, cli, db):
    _providers(tmp_path, cli)
    r = cli("provider", "list", "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [p["npi"] for p in rows] == [NPI_B, NPI_A]  # by last name
    assert rows[1]["taxonomy"] == "207Q00000X" and rows[1]["active"] is True

    r = cli("provider", "set", NPI_B, "--taxonomy", "208d00000x", "--inactive", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {
        "npi": NPI_B,
        "first_name": "Ben",
        "last_name": "Adams",
        "taxonomy": "208D00000X",
        "active": False,
    }
    r = cli("provider", "list", "--active", "--format", "json")
    assert [p["npi"] for p in json.loads(r.stdout)] == [NPI_A]
    r = cli("provider", "show", NPI_B, "--format", "json")
    assert json.loads(r.stdout)["active"] is False
    audited = [
        (a, e)
        for a, e in db.execute(
            "SELECT action, entity_ids FROM audit_log WHERE action LIKE 'provider %' ORDER BY id"
        )
    ]
    assert ("provider set", NPI_B) in audited and ("provider list", None) in audited


def test_bad_input_exit_2_nothing_written(tmp_path, cli, db):
    _providers(tmp_path, cli)
    before = db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    bad_npi = NPI_A[:-1] + str((int(NPI_A[-1]) + 1) % 10)
    for args, words in [
        (("show", bad_npi), "NPI"),
        (("set", NPI_A, "--taxonomy", "12345"), "--taxonomy"),
        (("set", NPI_A, "--last-name", " "), "--last-name"),
        (("set", NPI_A), "nothing to change"),
        (("show", npi.make("999999990")), "no provider"),
    ]:
        r = cli("provider", *args)
        assert r.exit_code == 2, (args, r.stderr)
        assert words in r.stderr and r.stderr.startswith("Error:"), r.stderr
    assert db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == before
    assert db.execute("SELECT taxonomy FROM providers WHERE npi = ?", (NPI_A,)).fetchone()[0] == (
        "207Q00000X"
    )
