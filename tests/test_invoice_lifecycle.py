"""After issue: void (credit note, frequency-8 claim), replace (frequency 7), list, show, export."""

from __future__ import annotations

import datetime as dt
import json

import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin import integrity
from billadmin.billing import generate as gen
from billadmin.billing import lifecycle
from billadmin.errors import BadInput, ChecksFailed, Conflict, NotFound


def _run(db, tmp_path, **kw):
    kw.setdefault("today", fx.TODAY)
    kw.setdefault("scrub", fx.no_scrub)
    kw.setdefault("out_dir", tmp_path / "out")
    return gen.generate(db, **kw)


def _q(db, sql, args=()):
    return db.execute(sql, args).fetchall()


def _balance(db, number):
    return db.execute(
        "SELECT total_cents + credited_cents - paid_cents - adjusted_cents FROM invoice_balances"
        " WHERE number = ?",
        (number,),
    ).fetchone()[0]


@pytest.fixture
def billed(db, tmp_path):
    """C000001 (KEY, two lines), C000002 (KEY), P000001 (self-pay), all issued and the claims sent."""
    with dbmod.write(db):
        fx.practice(db)
        a = fx.patient(db, "1001")
        fx.coverage(db, a, "KEY")
        fx.encounter(db, a, "2026-06-01", [("99213", 14000), ("36415", 1500)], number="E1")
        b = fx.patient(db, "1002")
        fx.coverage(db, b, "KEY")
        fx.encounter(db, b, "2026-06-02", [("99214", 20500)], number="E2")
        c = fx.patient(db, "1003")
        fx.encounter(db, c, "2026-06-03", [("99203", 17500)], number="E3")
    _run(db, tmp_path)
    return db


def test_void_sent_claim_queues_frequency_8(billed, tmp_path):
    db = billed
    res = lifecycle.void(db, "C000001", reason="billed in error", today=fx.TODAY)
    assert (
        res["credit_note"] == "CN000001"
        and res["sent_as_void"]
        and not res["payer_claim_number_known"]
    )
    cn = _q(
        db,
        "SELECT kind, total_cents, frequency_code, original_invoice_id FROM invoices WHERE number = 'CN000001'",
    )[0]
    orig_id = _q(db, "SELECT id FROM invoices WHERE number = 'C000001'")[0][0]
    assert cn == ("credit", -15500, "8", orig_id)
    assert _balance(db, "C000001") == 0
    assert lifecycle.status_of(db, orig_id) == "voided"
    assert _q(
        db,
        "SELECT DISTINCT status FROM charge_lines c JOIN encounters e ON e.id = c.encounter_id WHERE e.number = 'E1'",
    ) == [("void",)]
    with pytest.raises(Conflict):
        lifecycle.void(db, "C000001", reason="again", today=fx.TODAY)
    with pytest.raises(Conflict):
        lifecycle.void(db, "CN000001", reason="x", today=fx.TODAY)
    with pytest.raises(NotFound):
        lifecycle.void(db, "C999999", reason="x", today=fx.TODAY)
    res = _run(db, tmp_path)
    assert [(r["number"], r["kind"], r["frequency"]) for r in res.issued] == [
        ("CN000001", "credit", "8")
    ]
    [f] = [x for x in res.files if x.suffix == ".edi"]
    text = f.read_text()
    assert "CLM*C000001*155***11:B:8*Y*A*Y*Y~" in text and "REF*F8" not in text
    assert _q(db, "SELECT COUNT(*) FROM claim_queue") == [(0,)]
    assert [
        r[0]
        for r in _q(
            db,
            "SELECT status FROM invoice_events v JOIN invoices i ON i.id = v.invoice_id"
            " WHERE i.number = 'CN000001' ORDER BY v.id",
        )
    ] == ["issued", "sent"]
    assert _run(db, tmp_path).issued == []  # sent once
    assert integrity.run_checks(db) == []


def test_void_with_payer_claim_number_and_rebill(billed, tmp_path):
    db = billed
    lifecycle.void(
        db,
        "C000002",
        reason="wrong payer",
        rebill=True,
        payer_claim_number_="2026123456789",
        today=fx.TODAY,
    )
    assert _q(
        db,
        "SELECT DISTINCT c.status FROM charge_lines c JOIN encounters e ON e.id = c.encounter_id WHERE e.number = 'E2'",
    ) == [("unbilled",)]
    from billadmin import integrity

    assert (
        integrity.run_checks(db) == []
    )  # lines given back by a void are not "billed but unbilled"
    with dbmod.write(db):  # the right payer
        pid = _q(db, "SELECT patient_id FROM encounters WHERE number = 'E2'")[0][0]
        db.execute(
            "UPDATE coverages SET payer_id = (SELECT id FROM payers WHERE code = 'BVH') WHERE patient_id = ?",
            (pid,),
        )
    res = _run(db, tmp_path)
    got = sorted((r["number"], r["bill_to"], r["frequency"]) for r in res.issued)
    assert got == [("C000003", "BVH", "1"), ("CN000001", "KEY", "8")]
    key = next(f for f in res.files if f.name.startswith("837P-KEY")).read_text()
    assert "CLM*C000002*205***11:B:8*Y*A*Y*Y~" in key and "REF*F8*2026123456789~" in key
    assert (
        "CLM*C000003*205***11:B:1"
        in next(f for f in res.files if f.name.startswith("837P-BVH")).read_text()
    )


def test_generate_says_what_it_issued_apart_from_what_it_sent(billed, tmp_path, cli):
    """A void queued by `invoice void` was issued then (its credit note); the next run sends it.
    The summary counts new invoices only and names the queued ones separately."""
    lifecycle.void(billed, "C000002", reason="wrong payer", today=fx.TODAY)
    r = cli("invoice", "generate", "--through", "2026-06-30", "--out", tmp_path / "out2")
    assert r.exit_code == 0, r.stderr
    assert (
        f"Sent 1 void(s)/replacement(s) queued by invoice void|replace; files in {tmp_path / 'out2'}/"
        in r.stderr
    )
    assert "Issued" not in r.stderr


def test_payer_claim_number_from_remittance(billed):
    db = billed
    cid = _q(db, "SELECT id FROM invoices WHERE number = 'C000001'")[0][0]
    assert lifecycle.payer_claim_number(db, cid) is None
    with dbmod.write(db):
        lifecycle.record_payer_claim_number(db, cid, "TYPED1")
    assert lifecycle.payer_claim_number(db, cid) == "TYPED1"
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'remit_claims'").fetchone():
        return
    with dbmod.write(db):
        fid = db.execute(
            "INSERT INTO remit_files (file_name, sha256, size, segments, imported_at, os_user)"
            " VALUES ('r.835', 'x', 1, 1, ?, 'u')",
            (fx.NOW,),
        ).lastrowid
        tid = db.execute(
            "INSERT INTO remit_transactions (file_id, st_control, payer_key, handling_code, credit_debit,"
            " amount_cents, trace_number, claims_paid_cents, plb_cents, posted_cents, unmatched_cents)"
            " VALUES (?, '1', 'KEY', 'I', 'C', 0, 'T1', 0, 0, 0, 0)",
            (fid,),
        ).lastrowid
        db.execute(
            "INSERT INTO remit_claims (transaction_id, seq, claim_number, invoice_id, status_code, charge_cents,"
            " paid_cents, payer_claim_number, outcome) VALUES (?, 1, 'C000001', ?, '1', 15500,"
            " 10000, 'ICN-FROM-835', 'paid')",
            (tid, cid),
        )
    assert lifecycle.payer_claim_number(db, cid) == "ICN-FROM-835"


def test_void_patient_invoice(billed, tmp_path):
    db = billed
    res = lifecycle.void(db, "P000001", reason="service not rendered", today=fx.TODAY)
    assert not res["sent_as_void"]
    assert _balance(db, "P000001") == 0
    data, name = lifecycle.export(db, "CN000001", "pdf")
    assert name == "CN000001.pdf" and data.startswith(b"%PDF")
    import io

    import pypdf

    text = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "CREDIT NOTE" in text and "P000001" in text and "-175.00" in text
    assert _run(db, tmp_path).issued == []


def test_replace_after_correction(billed, tmp_path):
    db = billed
    with dbmod.write(db):
        eid = _q(db, "SELECT id FROM encounters WHERE number = 'E1'")[0][0]
        db.execute(
            "UPDATE charge_lines SET modifier1 = '25' WHERE encounter_id = ? AND line_no = 1",
            (eid,),
        )
        db.execute(
            "INSERT INTO charge_lines (encounter_id, line_no, code, dx_pointers, units, charge_cents, status)"
            " VALUES (?, 3, '81002', '2', 1, 1200, 'unbilled')",
            (eid,),
        )
    res = lifecycle.replace(
        db, "C000001", scrub=fx.no_scrub, payer_claim_number_="ICN-1", today=fx.TODAY
    )
    assert (
        res["replacement"] == "C000003" and res["frequency"] == "7" and res["total_cents"] == 16700
    )
    assert (
        lifecycle.status_of(db, _q(db, "SELECT id FROM invoices WHERE number = 'C000001'")[0][0])
        == "replaced"
    )
    assert _balance(db, "C000001") == 0 and _balance(db, "C000003") == 16700
    assert _q(
        db,
        "SELECT original_invoice_id IS NOT NULL, frequency_code FROM invoices WHERE number = 'C000003'",
    ) == [(1, "7")]
    with pytest.raises(Conflict):
        lifecycle.replace(db, "C000001", scrub=fx.no_scrub, today=fx.TODAY)
    with pytest.raises(Conflict):
        lifecycle.replace(db, "P000001", scrub=fx.no_scrub, today=fx.TODAY)
    res = _run(db, tmp_path)
    assert [(r["number"], r["frequency"]) for r in res.issued] == [("C000003", "7")]
    text = next(f for f in res.files if f.suffix == ".edi").read_text()
    assert "CLM*C000003*167***11:B:7*Y*A*Y*Y~\nREF*F8*ICN-1~" in text
    assert "SV1*HC:99213:25*140*UN*1***1~" in text and "SV1*HC:81002*12*UN*1***2~" in text
    assert integrity.run_checks(db) == []


def test_replace_refused_while_errors_remain(billed):
    db = billed
    with pytest.raises(ChecksFailed) as ei:
        lifecycle.replace(db, "C000002", scrub=fx.scrub_flagging("E2"), today=fx.TODAY)
    assert ei.value.exit_code == 1 and "TEST-RULE" in ei.value.details[0]
    assert _q(db, "SELECT COUNT(*) FROM invoices") == [(3,)]
    assert _q(
        db,
        "SELECT DISTINCT status FROM charge_lines c JOIN encounters e ON e.id = c.encounter_id WHERE e.number = 'E2'",
    ) == [("billed",)]


def test_list_show_export(billed, tmp_path):
    db = billed
    rows = lifecycle.list_invoices(db)
    assert [(r["number"], r["status"], r["balance_cents"]) for r in rows] == [
        ("C000001", "sent", 15500),
        ("C000002", "sent", 20500),
        ("P000001", "issued", 17500),
    ]
    assert [r["number"] for r in lifecycle.list_invoices(db, kind="patient")] == ["P000001"]
    assert [r["number"] for r in lifecycle.list_invoices(db, status="issued")] == ["P000001"]
    assert lifecycle.list_invoices(db, since=dt.date(2026, 7, 1)) == []
    s = lifecycle.show(db, "c000002")
    assert (
        s["bill_to"] == "KEY"
        and s["encounter"] == "E2"
        and [h["status"] for h in s["history"]] == ["issued", "sent"]
    )
    assert s["files"][0]["kind"] == "x12" and s["filing_deadline"] == "2026-11-29"
    json.dumps(s)
    csv_bytes, _ = lifecycle.export(db, "C000001", "csv")
    assert csv_bytes.decode().splitlines()[1].startswith("C000001,1,2026-06-01,99213,")
    # the domain records its own reads: a Python caller cannot skip the audit rows (issue 14)
    reads = _q(
        db,
        "SELECT action, entity_ids FROM audit_log WHERE action IN ('invoice show', 'invoice export')"
        " ORDER BY id",
    )
    assert reads == [("invoice show", "C000002"), ("invoice export", "C000001")]


def test_payer_list_shows_the_electronic_payer_id(billed, cli):
    r = cli("payer", "list", "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = {p["payer"]: p for p in json.loads(r.stdout)}
    assert rows["KEY"]["payer_id"] == "KEY77" and rows["MCR"]["payer_id"] == "15202"


def test_export_x12_matches_the_sent_claim(db, tmp_path):
    """One claim per file: the export equals the file sent apart from envelope dates."""
    with dbmod.write(db):
        fx.practice(db)
        a = fx.patient(db, "1001")
        fx.coverage(db, a, "KEY")
        fx.encounter(db, a, "2026-06-01", [("99213", 14000)])
    res = _run(db, tmp_path)
    sent = next(f for f in res.files if f.suffix == ".edi").read_text().splitlines()
    data, name = lifecycle.export(db, "C000001", "x12")
    again = data.decode().splitlines()
    assert name == "C000001.edi" and len(sent) == len(again)

    def strip_dates(seg):
        p = seg.split("*")
        if p[0] == "ISA":
            p[9:11] = ["", ""]
        elif p[0] == "GS":
            p[4:6] = ["", ""]
        elif p[0] == "BHT":
            p[4:6] = ["", ""]
        return "*".join(p)

    assert [strip_dates(s) for s in sent] == [strip_dates(s) for s in again]
    with pytest.raises(BadInput):  # a claim has no PDF
        lifecycle.export(db, "C000001", "pdf")
