"""--profile synthea against the real export in ../shared/data/synthea-us: every row imports."""

from __future__ import annotations

import csv

import pytest

from billadmin.ingest.profiles import synthea_mrn, synthea_payer_code

pytestmark = pytest.mark.corpus


def _open(db_path):
    """A raw connection to the test database, plain or encrypted alike (pytest --encrypted)."""
    from billadmin import db as dbmod

    return dbmod.connect(db_path, migrate=False).conn


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_synthea_row_imports_deterministically_and_idempotently(cli, db, db_path, corpus):
    db.close()
    s = corpus / "synthea-us"
    patients, payers, trans = (
        _rows(s / "patients.csv"),
        _rows(s / "payers.csv"),
        _rows(s / "payer_transitions.csv"),
    )
    expected = {
        "payers": len(payers),
        "patients": len(patients),
        "coverage": len(trans) + sum(1 for t in trans if t["SECONDARY_PAYER"]),
    }
    for kind, name in (
        ("payers", "payers.csv"),
        ("patients", "patients.csv"),
        ("coverage", "payer_transitions.csv"),
    ):
        r = cli("import", kind, s / name, "--profile", "synthea")
        assert r.exit_code == 0, r.stderr
        assert f"{expected[kind]} inserted" in r.stderr and "0 rejected" in r.stderr, r.stderr
    conn = _open(db_path)
    mrns = {m for (m,) in conn.execute("SELECT mrn FROM patients")}
    assert mrns == {synthea_mrn(p["Id"]) for p in patients}
    assert {c for (c,) in conn.execute("SELECT code FROM payers")} == {
        synthea_payer_code(p["Id"]) for p in payers
    }
    kinds = dict(conn.execute("SELECT name, kind FROM payers"))
    assert (
        kinds["Medicare"] == "medicare"
        and kinds["Medicaid"] == "medicaid"
        and kinds["No insurance (self-pay)"] == "self"
    )
    first = patients[0]
    row = conn.execute(
        "SELECT first_name, dob, sex, state, zip FROM patients WHERE mrn = ?",
        (synthea_mrn(first["Id"]),),
    ).fetchone()
    assert row == (
        first["FIRST"].rstrip("0123456789"),
        first["BIRTHDATE"],
        first["GENDER"],
        "MA",
        first["ZIP"],
    )
    t0 = trans[0]
    cov = conn.execute(
        "SELECT c.member_id, c.effective_from, c.effective_to FROM coverages c JOIN patients p ON p.id = c.patient_id"
        " WHERE p.mrn = ? AND c.effective_from = ?",
        (synthea_mrn(t0["PATIENT"]), t0["START_DATE"][:10]),
    ).fetchone()
    assert cov == (t0["MEMBERID"], t0["START_DATE"][:10], t0["END_DATE"][:10])
    rel = dict(conn.execute("SELECT relationship, COUNT(*) FROM coverages GROUP BY 1"))
    assert rel.get("spouse") and rel.get("child")
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM coverages WHERE relationship != 'self' AND subscriber_last IS NULL"
        ).fetchone()[0]
        == 0
    )
    conn.close()
    for kind, name in (
        ("payers", "payers.csv"),
        ("patients", "patients.csv"),
        ("coverage", "payer_transitions.csv"),
    ):
        r = cli("import", kind, s / name, "--profile", "synthea")
        assert (
            r.exit_code == 0
            and " 0 inserted" in r.stderr
            and f"{expected[kind]} unchanged" in r.stderr
        )
