"""The demo's hospital department (issue 17): its 837I passes pyx12, every institutional claim
is billed, and the physicians' professional claims for the same work went out on the 837P."""

from __future__ import annotations

from billadmin import db as dbmod
from billadmin.institutional import model
from billadmin.x12 import validate


def test_demo_hospital_bills_837i_and_the_physicians_837p(demo_practice):
    path, err = demo_practice
    assert "Hospital department (facility RGH): imported 6 institutional claims" in err
    out = path.parent / f"{path.stem}-files" / "out" / "hospital"
    (edi,) = sorted(out.glob("837I-*.edi"))
    v = validate.validate_file(edi)
    assert v.valid and v.version == "005010X223A2", [str(p) for p in v.problems]
    text = edi.read_text()
    assert text.count("**13:A:1**") == 4 and text.count("**11:A:1**") == 2
    assert text.count("HI*BBR:0DB98ZX") == 2 and "HI*ABK:K922:::::::Y" in text
    conn = dbmod.connect(path)
    try:
        # the department's own claims (demo/paper.py adds a workers' comp one, HWC0001)
        claims = [c for c in model.list_claims(conn) if c.key.startswith(("HOP", "HIP"))]
        assert len(claims) == 6 and {c.status for c in claims} == {"billed"}
        assert {c.type_of_bill for c in claims} == {"131", "111"}
        # the professional side: every physician encounter of the department billed on an 837P
        rows = conn.execute(
            "SELECT e.number, e.place_of_service, l.code, l.modifiers, f.path FROM encounters e"
            " JOIN invoices i ON i.encounter_id = e.id JOIN invoice_lines l ON l.invoice_id = i.id"
            " JOIN invoice_files f ON f.invoice_id = i.id"
            " WHERE e.number LIKE 'HOP%-%' OR e.number LIKE 'HIP%-%' ORDER BY e.number"
        ).fetchall()
    finally:
        conn.close()
    assert len(rows) == 14
    assert all("837P-" in r[4] for r in rows)
    reads = [r for r in rows if r[2] == "88305"]
    assert len(reads) == 6 and {r[3] for r in reads} == {"26"}
    assert {r[1] for r in rows if r[0].startswith("HOP")} == {"22"}
    assert {r[1] for r in rows if r[0].startswith("HIP")} == {"21"}


def test_demo_medicare_answers_the_837i(demo_practice):
    """Medicare's 835 for the department's claims (demo/hospital.py), as posted. Each outpatient
    claim (2,820.00: 0750 45380-PT 1,850.00, 0310 88305 x2 420.00, 0710 300.00, 0370 250.00):
    the colonoscopy allowed 765.00 (PR-2 153.00, paid 612.00, CO-45 1,085.00), the pathology
    2 x 48.00 = 96.00 (PR-2 19.20, paid 76.80, CO-45 324.00), recovery and anesthesia packaged
    (CO-45 300.00 and 250.00): paid 688.80, patient 172.20. On HOP0002 the pathology is denied
    (CO-50 420.00, left open): paid 612.00. Each stay (8,070.00) by its DRG 6,842.17 less the Part
    A deductible 1,736.00: paid 5,106.17, CO-45 1,227.83."""
    path, err = demo_practice
    assert "Medicare's 835 (MCR-" in err
    conn = dbmod.connect(path)
    try:
        rows = conn.execute(
            "SELECT e.number, s.status, b.total_cents, b.paid_cents, b.adjusted_cents,"
            " (SELECT GROUP_CONCAT(DISTINCT a.kind) FROM remit_claims c JOIN remit_adjudications a"
            " ON a.claim_id = c.id WHERE c.invoice_id = i.id)"
            " FROM invoices i JOIN encounters e ON e.id = i.encounter_id"
            " JOIN invoice_status s ON s.invoice_id = i.id"
            " JOIN invoice_balances b ON b.invoice_id = i.id"
            " WHERE e.number GLOB 'H[OI]P[0-9][0-9][0-9][0-9]' ORDER BY e.number"
        ).fetchall()
        denied = conn.execute(
            "SELECT l.code, a.group_code || '-' || a.reason_code, a.amount_cents, a.class"
            " FROM remit_adjustments a JOIN remit_lines r ON r.id = a.line_id"
            " JOIN invoice_lines l ON l.id = r.invoice_line_id WHERE a.class = 'denial'"
            " AND l.invoice_id IN (SELECT x.invoice_id FROM inst_claim_invoices x)"
        ).fetchall()
    finally:
        conn.close()
    by_key = {r[0]: r[1:] for r in rows}
    # adjusted: CO-45 + PR (moved to the patient): 1,959.00 + 172.20; HOP0002 1,635.00 + 153.00
    for key in ("HOP0001", "HOP0003", "HOP0004"):
        assert by_key[key] == ("paid", 282000, 68880, 213120, "outpatient")
    assert by_key["HOP0002"] == ("partially_paid", 282000, 61200, 178800, "outpatient")
    # 1,227.83 + 1,736.00
    assert by_key["HIP0001"] == by_key["HIP0002"] == ("paid", 807000, 510617, 296383, "inpatient")
    assert denied == [("88305", "CO-50", 42000, "denial")]
