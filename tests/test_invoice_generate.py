"""`billadmin invoice generate`: what is billed, what is held, numbering, idempotency, outputs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin import integrity
from billadmin.billing import content
from billadmin.billing import generate as gen


def _run(db, tmp_path, **kw):
    kw.setdefault("today", fx.TODAY)
    kw.setdefault("scrub", fx.no_scrub)
    kw.setdefault("out_dir", tmp_path / "out")
    return gen.generate(db, **kw)


def _q(db, sql, args=()):
    return db.execute(sql, args).fetchall()


@pytest.fixture
def practice_db(db):
    with dbmod.write(db):
        fx.practice(db)
    return db


@pytest.fixture
def mixed(practice_db):
    """Two insured patients (KEY, MCR), one self-pay patient with two visits."""
    db = practice_db
    with dbmod.write(db):
        a = fx.patient(db, "1001", "Ann", "Able")
        fx.coverage(db, a, "KEY", copay=3000)
        b = fx.patient(db, "1002", "Bob", "Baker", dob="1940-02-02", sex="M")
        fx.coverage(db, b, "MCR")
        c = fx.patient(db, "1003", "Cat", "Cole")
        fx.encounter(db, a, "2026-06-01", [("99213", 14000), ("36415", 1500)], number="E1")
        fx.encounter(db, b, "2024-02-29", [("99214", 20500)], number="E2")
        fx.encounter(db, b, "2026-06-02", [("99212", 9500)], number="E3")
        fx.encounter(db, c, "2026-06-03", [("99203", 17500)], number="E4")
        fx.encounter(db, c, "2026-06-20", [("99212", 9500), ("J3301", 1200)], number="E5")
        fx.encounter(
            db, a, "2026-07-15", [("99213", 14000)], number="E6"
        )  # after --through: not yet
    return db


def test_progress_names_each_step_in_order_without_phi(mixed, tmp_path):
    steps = []
    _run(
        mixed,
        tmp_path,
        through=dt.date(2026, 6, 30),
        progress=lambda step, *count: steps.append(step),
    )
    assert steps[0] == "reading unbilled charge lines"
    assert steps[1:4] == [
        "scrubbing 5 encounter(s)",
        "claims to KEY: 1 new",
        "claims to MCR: 2 new",
    ]
    assert steps[4].startswith("validating 2 837 file(s), ") and steps[4].endswith(
        " segments (compiled validator)"
    )
    assert steps[-3:] == [
        "patient invoices",
        "writing 1 patient invoice PDF(s)",  # after COMMIT, with the listing
        "writing invoices.csv and invoices.xlsx",
    ]
    assert not any(
        name in " ".join(steps) for name in ("Ann", "Able", "Bob", "Baker", "Cat", "Cole")
    )


def test_bills_everything_ready_once(mixed, tmp_path):
    db = mixed
    res = _run(db, tmp_path, through=dt.date(2026, 6, 30))
    got = sorted(
        (r["number"], r["kind"], r["bill_to"], r["encounter"], r["total_cents"]) for r in res.issued
    )
    assert got == [
        ("C000001", "claim", "KEY", "E1", 15500),
        ("C000002", "claim", "MCR", "E2", 20500),
        ("C000003", "claim", "MCR", "E3", 9500),
        ("P000001", "patient", "patient", None, 17500 + 9500 + 1200),
    ]
    assert res.held == []
    # charge lines billed, E6 untouched
    assert _q(
        db,
        "SELECT e.number, c.status FROM charge_lines c JOIN encounters e ON e.id = c.encounter_id"
        " WHERE c.status != 'billed'",
    ) == [("E6", "unbilled")]
    # every invoice has an issued event, claims a sent event naming their file
    ev = dict(
        _q(
            db,
            "SELECT i.number, group_concat(v.status) FROM invoices i JOIN invoice_events v ON"
            " v.invoice_id = i.id GROUP BY i.id",
        )
    )
    assert ev == {
        "C000001": "issued,sent",
        "C000002": "issued,sent",
        "C000003": "issued,sent",
        "P000001": "issued",
    }
    # the run again bills nothing new and writes nothing
    again = _run(db, tmp_path, through=dt.date(2026, 6, 30))
    assert again.issued == [] and again.files == []
    assert _q(db, "SELECT COUNT(*) FROM invoices") == [(4,)]
    # the integrity check agrees: hashes, totals, numbering, billed lines
    assert integrity.run_checks(db) == []


def test_timely_filing_deadlines(mixed, tmp_path):
    db = mixed
    _run(db, tmp_path, through=dt.date(2026, 6, 30))
    dl = dict(_q(db, "SELECT number, filing_deadline FROM invoices"))
    assert dl["C000001"] == "2026-11-28"  # KEY: 180 days after 2026-06-01
    assert (
        dl["C000002"] == "2025-02-28"
    )  # Medicare: 12 months; a Feb 29 DOS ends Feb 28 (42 CFR 424.44)
    assert dl["C000003"] == "2027-06-02"
    assert dl["P000001"] is None
    assert content.filing_deadline("2026-01-31", {"timely_filing_months": 1}) == "2026-02-28"
    assert content.filing_deadline("2026-01-31", {"kind": "medicare"}) == "2027-01-31"
    assert content.filing_deadline("2026-01-31", {"kind": "commercial"}) is None


def test_held_encounters_are_listed_and_not_billed(mixed, tmp_path):
    db = mixed
    with dbmod.write(db):
        d = fx.patient(db, "1004", address=False)
        fx.coverage(db, d, "KEY")
        fx.encounter(db, d, "2026-06-05", [("99213", 14000)], number="E7")  # no address
        fx.encounter(db, d, "2026-06-06", [("99213", 14000, "", "")], number="E8")  # no pointer
    res = _run(db, tmp_path, through=dt.date(2026, 6, 30), scrub=fx.scrub_flagging("E1", "E4"))
    held = {h.encounter: sorted({f.rule for f in h.findings}) for h in res.held}
    assert held == {
        "E1": ["TEST-RULE"],
        "E4": ["TEST-RULE"],
        "E7": ["CLAIM-ADDRESS"],
        "E8": ["CLAIM-ADDRESS", "CLAIM-POINTER"],
    }
    assert res.warnings > 0
    issued = {r["encounter"] for r in res.issued}
    assert issued == {"E2", "E3", "E5"}  # the patient invoice now covers only E5
    assert _q(db, "SELECT total_cents FROM invoices WHERE kind = 'patient'") == [(10700,)]
    assert _q(
        db,
        "SELECT COUNT(*) FROM charge_lines c JOIN encounters e ON e.id = c.encounter_id"
        " WHERE e.number IN ('E1', 'E4', 'E7', 'E8') AND c.status = 'unbilled'",
    ) == [(5,)]
    # corrected: the next run bills them, numbers continue without a gap
    res2 = _run(db, tmp_path, through=dt.date(2026, 6, 30), scrub=fx.scrub_flagging("E7", "E8"))
    assert sorted(r["number"] for r in res2.issued) == ["C000003", "P000002"]
    assert integrity.check_numbering(db) == []


def test_late_line_on_a_billed_encounter_is_held(mixed, tmp_path):
    db = mixed
    _run(db, tmp_path, through=dt.date(2026, 6, 30))
    with dbmod.write(db):
        eid = _q(db, "SELECT id FROM encounters WHERE number = 'E1'")[0][0]
        db.execute(
            "INSERT INTO charge_lines (encounter_id, line_no, code, dx_pointers, units, charge_cents)"
            " VALUES (?, 3, '81002', '1', 1, 1200)",
            (eid,),
        )
    res = _run(db, tmp_path, through=dt.date(2026, 6, 30))
    assert res.issued == []
    [h] = res.held
    assert (
        h.encounter == "E1"
        and h.findings[0].rule == "ALREADY-BILLED"
        and "C000001" in h.findings[0].message
    )


def test_scope_options(mixed, tmp_path):
    db = mixed
    r1 = _run(db, tmp_path, through=dt.date(2026, 6, 30), payer="MCR")
    assert sorted(r["encounter"] for r in r1.issued) == ["E2", "E3"]
    r2 = _run(db, tmp_path, through=dt.date(2026, 6, 30), patients=False)
    assert [r["encounter"] for r in r2.issued] == ["E1"]
    r3 = _run(db, tmp_path, through=dt.date(2026, 6, 30), claims=False)
    assert [r["kind"] for r in r3.issued] == ["patient"]
    with pytest.raises(Exception) as ei:
        _run(db, tmp_path, payer="NOPE")
    assert ei.value.exit_code == 2


def test_copay_carried_on_claim_and_applied_to_patient_share(practice_db, tmp_path):
    db = practice_db
    with dbmod.write(db):
        a = fx.patient(db, "2001")
        fx.coverage(db, a, "KEY", copay=3000)
        fx.encounter(db, a, "2026-06-01", [("99213", 14000)])
        pay = fx.copay_payment(db, a, 3000, "2026-06-01")
    _run(db, tmp_path)
    assert _q(db, "SELECT number, copay_cents FROM invoices") == [("C000001", 3000)]
    assert _q(db, "SELECT payment_id FROM claim_copays") == [(pay,)]
    assert "AMT*F5*30~" in next((tmp_path / "out").glob("*.edi")).read_text()
    # the remittance transfers the co-pay to the patient (PR-3): the next run bills the patient and applies the co-pay
    with dbmod.write(db):
        cid, lid = _q(
            db, "SELECT i.id, l.id FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id"
        )[0]
        db.execute(
            "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code, reason_code, amount_cents, source,"
            " created_on, created_at) VALUES (?, ?, 'PR', '3', 3000, 'transfer', '2026-06-20', ?)",
            (cid, lid, fx.NOW),
        )
        db.execute(
            "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code, reason_code, amount_cents, source,"
            " created_on, created_at) VALUES (?, ?, 'PR', '1', 2000, 'transfer', '2026-06-20', ?)",
            (cid, lid, fx.NOW),
        )
    res = _run(db, tmp_path)
    [p] = [r for r in res.issued if r["kind"] == "patient"]
    assert p["number"] == "P000001" and p["total_cents"] == 5000
    lines = _q(
        db,
        "SELECT description, amount_cents FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
        " WHERE i.kind = 'patient' ORDER BY line_no",
    )
    assert lines == [("Co-payment, claim C000001", 3000), ("Deductible, claim C000001", 2000)]
    paid = _q(
        db,
        "SELECT SUM(amount_cents) FROM payment_allocations a JOIN invoices i ON i.id ="
        " a.invoice_id WHERE i.kind = 'patient'",
    )
    assert paid == [(3000,)]
    # the same adjustments are never invoiced twice
    assert _run(db, tmp_path).issued == []


def test_zero_patient_responsibility_is_skipped(practice_db, tmp_path):
    db = practice_db
    with dbmod.write(db):
        a = fx.patient(db, "2101")
        fx.encounter(db, a, "2026-06-01", [("99211", 0)])
    res = _run(db, tmp_path)
    assert res.issued == [] and res.skipped_zero == 1


def test_dry_run_writes_nothing(mixed, tmp_path):
    db = mixed
    before = _q(db, "SELECT COUNT(*) FROM audit_log")
    res = _run(db, tmp_path, dry_run=True, through=dt.date(2026, 6, 30))
    assert len(res.issued) == 4 and res.dry_run
    assert _q(db, "SELECT COUNT(*) FROM invoices") == [(0,)]
    assert _q(db, "SELECT next_number FROM series WHERE kind = 'claim'") == [(1,)]
    assert _q(db, "SELECT COUNT(*) FROM audit_log") == before
    assert not (tmp_path / "out").exists()


def test_listing_files_and_formula_injection(practice_db, tmp_path):
    db = practice_db
    with dbmod.write(db):
        a = fx.patient(db, "=HYPERLINK(1)")
        fx.coverage(db, a, "KEY")
        fx.encounter(db, a, "2026-06-01", [("99213", 14000)], number="+E1")
        b = fx.patient(db, "3002")
        fx.encounter(db, b, "2026-06-02", [("99213", 14000)])
    res = _run(db, tmp_path)
    out = tmp_path / "out"
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["837P-KEY-000000001.edi", "P000001.pdf", "invoices.csv", "invoices.xlsx"]
    for p in out.iterdir():
        assert (p.stat().st_mode & 0o077) == 0, p
    rows = list(csv.DictReader(io.StringIO((out / "invoices.csv").read_text())))
    assert [r["number"] for r in rows] == ["C000001", "P000001"]
    assert rows[0]["account"] == "'=HYPERLINK(1)" and rows[0]["encounter"] == "'+E1"
    assert rows[0]["total"] == "140.00" and rows[0]["file"] == "837P-KEY-000000001.edi"
    from openpyxl import load_workbook

    ws = load_workbook(out / "invoices.xlsx").active
    header = [c.value for c in ws[1]]
    r2 = dict(zip(header, [c.value for c in ws[2]], strict=True))
    assert (
        r2["account"] == "'=HYPERLINK(1)"
        and float(r2["total"]) == 140.0
        and isinstance(r2["total"], (int, float))
    )
    # a second run into the same folder lists both runs
    with dbmod.write(db):
        fx.encounter(db, b, "2026-06-03", [("99212", 9500)])
    _run(db, tmp_path)
    rows = list(csv.DictReader(io.StringIO((out / "invoices.csv").read_text())))
    assert [r["number"] for r in rows] == ["C000001", "P000001", "P000002"]
    assert res.summary()[0]["file"] == "837P-KEY-000000001.edi"


def test_issued_invoices_are_immutable(mixed, tmp_path):
    db = mixed
    _run(db, tmp_path, through=dt.date(2026, 6, 30))
    conn = db.conn
    for sql in (
        "UPDATE invoices SET total_cents = 1 WHERE number = 'C000001'",
        "DELETE FROM invoices WHERE number = 'C000001'",
        "UPDATE invoice_lines SET amount_cents = 1",
        "DELETE FROM invoice_lines",
        "UPDATE invoice_snapshots SET data = '{}'",
        "DELETE FROM invoice_snapshots",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="immutable"):
            conn.execute(sql)
    assert _q(db, "SELECT total_cents FROM invoices WHERE number = 'C000001'") == [(15500,)]


def test_practice_must_be_complete_for_claims(db, tmp_path):
    with dbmod.write(db):
        fx.practice(db, submitter_id=None)
        a = fx.patient(db, "4001")
        fx.coverage(db, a, "KEY")
        fx.encounter(db, a, "2026-06-01", [("99213", 14000)])
    with pytest.raises(Exception) as ei:
        _run(db, tmp_path)
    assert ei.value.exit_code == 2 and any("--submitter-id" in d for d in ei.value.details)
    with pytest.raises(Exception) as ei:
        _run(db, tmp_path, through=dt.date(2026, 7, 1))
    assert "after today" in str(ei.value)


def test_patient_invoice_pdf_text(practice_db, tmp_path):
    import pypdf

    db = practice_db
    with dbmod.write(db):
        kid = fx.patient(db, "5001", "Tim", "Young", dob="2015-02-02")
        fx.coverage(
            db,
            kid,
            "KEY",
            member="K99887766",
            relationship="child",
            sub_first="Rita",
            sub_last="Young",
            eff_to="2026-05-01",
        )  # lapsed: the visit is self-pay
        fx.coverage(
            db,
            kid,
            "BVH",
            member="B12345678",
            relationship="child",
            sub_first="Rita",
            sub_last="Young",
            eff_from="2026-06-29",
        )
        fx.encounter(
            db,
            kid,
            "2026-06-10",
            [("99213", 14000), ("J3301", 1200, "", "1,2")],
            dx=("J06.9", "E55.9"),
        )
        db.execute(
            "INSERT INTO payments (kind, patient_id, amount_cents, method, received_on, created_at)"
            " VALUES ('copay', ?, 2000, 'cash', '2026-06-10', ?)",
            (kid, fx.NOW),
        )
        pid = db.execute("SELECT max(id) FROM payments").fetchone()[0]
        db.execute(
            "INSERT INTO unapplied_credits (payment_id, patient_id, amount_cents, reason, created_on, created_at)"
            " VALUES (?, ?, 2000, 'copay', '2026-06-10', ?)",
            (pid, kid, fx.NOW),
        )
    res = _run(db, tmp_path)
    [pdf_path] = [f for f in res.files if f.suffix == ".pdf"]
    reader = pypdf.PdfReader(pdf_path)
    text = "\n".join(p.extract_text() for p in reader.pages)
    for want in (
        "Test Family Practice",
        "P000001",
        "Invoice date: 06/30/2026",
        "Due date: 07/30/2026",
        "Account: 5001",
        "Rita Young (for Tim Young)",
        "5 Oak St",
        "06/10/2026",
        "99213",
        "J3301",
        "Dx J06.9, E55.9",
        "Total charges 152.00",
        "Patient payments -20.00",
        "Balance due $132.00",
        "How to pay",
        "Page 1 of 1",
        "member ****5678",
    ):
        assert want in text, want
    assert "K99887766" not in text and "B12345678" not in text
    # re-rendering from the stored content gives the same bytes
    from billadmin.billing import lifecycle

    data, _ = lifecycle.export(db, "P000001", "pdf")
    assert data == pdf_path.read_bytes()


def test_descriptions_from_loaded_code_sets(practice_db, tmp_path):
    """HCPCS and ICD-10-CM descriptions print when loaded; CPT only from a loaded CPT file."""
    import pypdf

    db = practice_db
    with dbmod.write(db):
        vid = db.execute(
            "INSERT INTO code_versions (code_system, label, source, loaded_at) VALUES ('hcpcs', 'T', 'test', ?)",
            (fx.NOW,),
        ).lastrowid
        db.execute(
            "INSERT INTO codes (code_system, code, kind, description, billable, version_id) VALUES"
            " ('hcpcs', 'J3301', 'code', 'Triamcinolone acetonide inj', 1, ?)",
            (vid,),
        )
        db.execute(
            "INSERT INTO codes (code_system, code, kind, description, billable, version_id) VALUES"
            " ('icd10cm', 'J06.9', 'code', 'Acute upper respiratory infection, unspecified', 1, ?)",
            (vid,),
        )
        cpt = db.execute(
            "INSERT INTO code_versions (code_system, label, source, loaded_at) VALUES ('cpt', 'L', 'licensed', ?)",
            (fx.NOW,),
        ).lastrowid
        db.execute(
            "INSERT INTO codes (code_system, code, kind, description, billable, version_id) VALUES"
            " ('cpt', '99214', 'code', 'Office visit established patient moderate', 1, ?)",
            (cpt,),
        )
        a = fx.patient(db, "6001")
        fx.encounter(
            db,
            a,
            "2026-06-10",
            [("99213", 14000), ("J3301", 1200), ("99214", 20500)],
            dx=("J06.9",),
        )
    res = _run(db, tmp_path)
    [pdf_path] = [f for f in res.files if f.suffix == ".pdf"]
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(pdf_path).pages)
    assert "Triamcinolone acetonide inj" in text  # HCPCS Level II, loaded
    assert "Office visit established patient moderate" in text  # CPT from the licensed file
    assert "99213 Dx J06.9" in text  # CPT not in the file: the code alone
    assert "J06.9 Acute upper respiratory infection" in text


@pytest.mark.slow
def test_numbering_gapless_under_two_concurrent_processes(mixed, tmp_path, db_path):
    """Two `invoice generate` processes at once (different payers, then the rest): every number
    once, no gap, no line billed twice."""
    db = mixed
    with dbmod.write(db):
        for i in range(40):
            p = fx.patient(db, f"9{i:03d}")
            fx.coverage(db, p, "KEY" if i % 2 else "MCD")
            fx.encounter(db, p, "2026-06-10", [("99213", 14000), ("36415", 1500)])
            fx.encounter(db, p, "2026-06-11", [("99212", 9500)])
    db.close()
    code = (
        "import sys, datetime as dt; from pathlib import Path; from billadmin import db;"
        "from billadmin.billing import generate as g; import invoice_fixtures as fx;"
        "c = db.connect(sys.argv[1]); r = g.generate(c, payer=sys.argv[2] or None, today=dt.date(2026, 6, 30),"
        " through=dt.date(2026, 6, 30), scrub=fx.no_scrub, out_dir=Path(sys.argv[3]), pdf=False);"
        "print(len(r.issued))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(db_path), payer, str(tmp_path / f"out{i}")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, payer in enumerate(["KEY", "MCD", "", ""])
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    conn = dbmod.connect(db_path)
    nums = sorted(
        int(n[1:]) for (n,) in conn.execute("SELECT number FROM invoices WHERE kind = 'claim'")
    )
    assert nums == list(range(1, len(nums) + 1)) and len(nums) == 3 + 80
    assert (
        conn.execute("SELECT COUNT(*) FROM charge_lines WHERE status != 'billed'").fetchone()[0]
        == 1
    )  # E6 (July)
    twice = conn.execute(
        "SELECT charge_line_id FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
        " WHERE i.kind != 'credit' AND charge_line_id IS NOT NULL GROUP BY charge_line_id HAVING COUNT(*) > 1"
    ).fetchall()
    assert twice == []
    assert (
        sum(int(o[0].strip()) for o in outs)
        == conn.execute("SELECT COUNT(*) FROM invoices").fetchone()[0]
    )
    assert integrity.run_checks(conn) == []
    conn.close()


# ---------------------------------------------------------------------------------------------
# the command


def _cli_setup(cli, tmp_path):
    r = cli("init")
    assert r.exit_code == 0, r.stderr
    r = cli(
        "practice",
        "set",
        "--name",
        "Test Family Practice",
        "--npi",
        fx.PRACTICE["npi"],
        "--tax-id",
        "81-2345678",
        "--address1",
        "1 Main St",
        "--city",
        "Columbus",
        "--state",
        "OH",
        "--zip",
        "43215-1234",
        "--phone",
        "614-555-0100",
        "--submitter-id",
        "TFP01",
        "--receiver-id",
        "CH01",
        "--receiver-name",
        "Test CH",
    )
    assert r.exit_code == 0, r.stderr


def test_cli_generate_exit_codes_and_outputs(cli, tmp_path, db_path, monkeypatch):
    _cli_setup(cli, tmp_path)
    conn = dbmod.connect(db_path)
    with dbmod.write(conn):
        conn.execute(
            "INSERT INTO providers (id, npi, first_name, last_name) VALUES (1, ?, 'Ann', 'Okafor')",
            (fx.npi.make("162738495"),),
        )
        for code, name, kind, x12, days, months in fx.PAYERS:
            conn.execute(
                "INSERT INTO payers (code, name, kind, x12_payer_id, timely_filing_days, timely_filing_months)"
                " VALUES (?,?,?,?,?,?)",
                (code, name, kind, x12, days, months),
            )
        a = fx.patient(conn, "7001")
        fx.coverage(conn, a, "KEY")
        recent = (dt.date.today() - dt.timedelta(days=10)).isoformat()
        fx.encounter(conn, a, recent, [("99213", 14000)], dx=("E11.9",), number="E1")
        fx.encounter(
            conn, a, recent, [("99213", 14000, "", "")], dx=("E11.9",), number="E2"
        )  # no pointer: held
    conn.close()
    out = tmp_path / "o"
    r = cli("invoice", "generate", "--out", str(out), "--format", "json")
    assert r.exit_code == 1, r.stderr
    rows = json.loads(r.stdout)
    assert [(x["number"], x["kind"], x["bill_to"], x["encounter"], x["total"]) for x in rows] == [
        ("C000001", "claim", "KEY", "E1", "140.00")
    ]
    assert (
        "held E2 line 1: CLM-POINTER" in r.stderr and "CLAIM-POINTER" not in r.stderr
    )  # one finding per line
    assert (
        (out / "held.csv").read_text().startswith("encounter,rule,line,message\nE2,CLM-POINTER,1,")
    )
    r = cli("invoice", "generate", "--out", str(out), "--claims-only", "--patients-only")
    assert r.exit_code == 2
    r = cli("invoice", "validate", str(next(out.glob("*.edi"))))
    assert r.exit_code == 0 and "True" in r.stdout
    broken = tmp_path / "broken.edi"
    broken.write_text(
        next(out.glob("*.edi")).read_text().replace("CLM*C000001*140", "CLM*C000001*ABC")
    )
    r = cli("invoice", "validate", str(broken), "--format", "json")
    assert r.exit_code == 1 and json.loads(r.stdout)[0]["valid"] is False
    r = cli("invoice", "list", "--kind", "claim", "--format", "csv")
    assert r.exit_code == 0 and "C000001,claim,1," in r.stdout
    r = cli("invoice", "show", "C000001", "--format", "json")
    data = json.loads(r.stdout)
    assert (
        data["status"] == "sent" and data["files"][0]["kind"] == "x12" and len(data["lines"]) == 1
    )
