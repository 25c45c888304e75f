"""`billadmin practice show|set`: the billing provider every claim names, validated."""

from __future__ import annotations

import json

import pytest

from billadmin import npi
from billadmin.billing import practice

GOOD = [
    "--name",
    "Riverbend Family Medicine",
    "--npi",
    npi.make("174839201"),
    "--tax-id",
    "81-2345678",
    "--address1",
    "1200 River Road",
    "--city",
    "Columbus",
    "--state",
    "oh",
    "--zip",
    "43215-1234",
    "--phone",
    "(614) 555-0100",
]


def test_set_then_show(cli):
    assert cli("init").exit_code == 0
    r = cli("practice", "set", *GOOD)
    assert r.exit_code == 0, r.stderr
    assert "--submitter-id" in r.stderr  # what is still missing before claims can go out
    r = cli("practice", "show", "--format", "json")
    p = json.loads(r.stdout)
    assert (p["tax_id"], p["state"], p["zip"], p["phone"], p["usage"]) == (
        "812345678",
        "OH",
        "432151234",
        "6145550100",
        "P",
    )
    r = cli(
        "practice",
        "set",
        "--submitter-id",
        "RBFM01",
        "--receiver-id",
        "CH01",
        "--receiver-name",
        "Demo CH",
        "--usage",
        "test",
        "--due-days",
        "21",
    )
    assert r.exit_code == 0 and "Practice saved" in r.stderr
    p = json.loads(cli("practice", "show", "--format", "json").stdout)
    assert (p["name"], p["submitter_id"], p["usage"], p["due_days"]) == (
        "Riverbend Family Medicine",
        "RBFM01",
        "T",
        "21",
    )


def test_every_problem_reported_nothing_saved(cli, db):
    bad = [
        "--name",
        "X",
        "--npi",
        "1234567890",
        "--tax-id",
        "12-34567",
        "--address1",
        "1 A St",
        "--city",
        "C",
        "--state",
        "ZZ",
        "--zip",
        "43215",
    ]
    r = cli("practice", "set", *bad)
    assert r.exit_code == 2
    err = r.stderr
    assert "--npi: " in err and "check digit" in err
    assert "--tax-id: " in err and "9 digits" in err  # the options as typed (issue 14)
    assert "--state: " in err and "--zip: " in err and "ZIP+4" in err
    assert "column" not in err
    assert "1234567890" not in err and "12-34567" not in err  # values are not echoed
    assert db.execute("SELECT COUNT(*) FROM practice").fetchone()[0] == 0
    r = cli("practice", "show")
    assert r.exit_code == 2 and "not set up" in r.stderr


def test_first_set_needs_the_required_fields(cli):
    cli("init")
    r = cli("practice", "set", "--name", "Only A Name")
    assert r.exit_code == 2
    for k in ("--npi", "--tax-id", "--address1", "--city", "--state", "--zip"):
        assert f"{k}: required" in r.stderr
    r = cli("practice", "set")
    assert r.exit_code == 2


def test_audit_and_normalise(db):
    p = practice.update(
        db,
        {
            "name": "A",
            "npi": npi.make("123456789"),
            "tax_id": "812345678",
            "address1": "1 A St",
            "city": "Columbus",
            "state": "OH",
            "zip": "432151234",
            "taxonomy": "207q00000x",
        },
    )
    assert p["taxonomy"] == "207Q00000X"
    row = db.execute(
        "SELECT action, entity, detail FROM audit_log ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row[0] == "practice set" and "npi" in row[2] and npi.make("123456789") not in row[2]
    with pytest.raises(Exception) as ei:
        practice.for_claims(db)
    assert ei.value.exit_code == 2 and any("--submitter-id" in d for d in ei.value.details)
    for field, value in [
        ("phone", "555-0100"),
        ("submitter_id", "WAY TOO LONG FOR ISA"),
        ("usage", "maybe"),
        ("due_days", "-3"),
        ("taxonomy", "207Q"),
    ]:
        with pytest.raises(ValueError):
            practice.normalise(field, value)


def test_option_errors_name_the_option_not_a_column(cli):
    """`practice set --zip 123` names --zip as typed (issue 14), not "column 'zip'"."""
    cli("init")
    r = cli("practice", "set", "--zip", "987", "--due-days", "999")
    assert r.exit_code == 2
    assert "--zip: ZIP must be ZIP+4" in r.stderr and "--due-days: due days" in r.stderr
    assert "column" not in r.stderr and "987" not in r.stderr
