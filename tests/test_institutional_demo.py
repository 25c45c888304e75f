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
