"""`invoice generate`'s compact records (issue 15, peak memory): the unbilled lines as ChargeLine
records, claim fields kept once per distinct value set, claims built and inserted in chunks. The
run bills exactly what it billed with one dict per line and one chunk per payer."""

from __future__ import annotations

import json

import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin.billing import generate as gen
from billadmin.billing.holds import ChargeLine, candidates

CLIA = "36D0998877"
NDC = "12345010301"


def _build(conn) -> None:
    """Three payers, seven insured encounters (KEY has four), one self-pay; claim fields on some
    lines, the same values on several (kept once) and different ones on another."""
    with dbmod.write(conn):
        fx.practice(conn)
        pats = []
        for mrn, payer in (("2001", "KEY"), ("2002", "MCR"), ("2003", "MCD"), ("2004", "KEY")):
            p = fx.patient(conn, mrn)
            fx.coverage(conn, p, payer, member=f"M{mrn}")
            pats.append(p)
        self_pay = fx.patient(conn, "2005")
        fx.copay_payment(conn, pats[0], 2500, "2026-06-01")
        e1 = fx.encounter(conn, pats[0], "2026-06-01", [("99213", 14000), ("85025", 2500)])
        fx.encounter(conn, pats[0], "2026-06-08", [("99212", 9500)])
        e3 = fx.encounter(conn, pats[3], "2026-06-02", [("85025", 2500), ("80053", 4800)])
        fx.encounter(conn, pats[3], "2026-06-09", [("99214", 20500, "25", "1,2")])
        fx.encounter(conn, pats[1], "2026-06-03", [("99213", 14000)])
        e6 = fx.encounter(conn, pats[2], "2026-06-04", [("J1030", 4000), ("99213", 10000)])
        fx.encounter(conn, pats[2], "2026-06-05", [("99212", 9500)])
        fx.encounter(conn, self_pay, "2026-06-06", [("99203", 17500)])
        lab = {"clia": CLIA, "ordering_npi": "1627384955", "ordering_last": "Okafor"}
        for enc, no, values in (
            (e1, 2, lab),
            (e3, 1, lab),
            (e3, 2, lab),
            (e6, 1, {"ndc": NDC, "ndc_unit": "ML", "ndc_quantity": "2"}),
        ):
            cols = ", ".join(values)
            conn.execute(
                f"INSERT INTO charge_line_fields (encounter_id, line_no, {cols})"
                f" VALUES (?, ?{', ?' * len(values)})",
                (enc, no, *values.values()),
            )


def _outcome(conn, out) -> dict:
    """What a run wrote, without its clock: rows, snapshots, statuses and the 837P segments
    (ISA, GS and BHT carry the time of day)."""
    q = conn.execute
    files = {}
    for f in sorted(out.glob("*.edi")):
        segs = [s.strip() for s in f.read_text().split("~") if s.strip()]
        files[f.name] = [s for s in segs if not s.startswith(("ISA", "GS", "BHT"))]
    return {
        "invoices": q(
            "SELECT id, number, kind, patient_id, payer_id, encounter_id, total_cents, copay_cents,"
            " content_hash FROM invoices ORDER BY id"
        ).fetchall(),
        "lines": q("SELECT * FROM invoice_lines ORDER BY id").fetchall(),
        "snapshots": q(
            "SELECT invoice_id, data FROM invoice_snapshots ORDER BY invoice_id"
        ).fetchall(),
        "events": q(
            "SELECT id, invoice_id, status, note FROM invoice_events ORDER BY id"
        ).fetchall(),
        "copays": q("SELECT payment_id, invoice_id FROM claim_copays").fetchall(),
        "unbilled": q("SELECT COUNT(*) FROM charge_lines WHERE status = 'unbilled'").fetchone()[0],
        "files": files,
    }


def test_claims_built_in_chunks_bill_what_one_chunk_bills(tmp_path, monkeypatch):
    runs = []
    for chunk in (gen.BUILD_CHUNK, 1, 3):
        monkeypatch.setattr(gen, "BUILD_CHUNK", chunk)
        conn = dbmod.connect(tmp_path / f"c{chunk}.db", create=True)
        _build(conn)
        out = tmp_path / f"out{chunk}"
        gen.generate(conn, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, pdf=False, xlsx=False)
        runs.append(_outcome(conn, out))
        conn.close()
    assert runs[1] == runs[0]
    assert runs[2] == runs[0]

    got = runs[0]
    # seven claims (KEY four, MCR one, MCD two) and the self-pay patient's invoice
    kinds = [r[2] for r in got["invoices"]]
    assert kinds.count("claim") == 7 and kinds.count("patient") == 1
    assert got["unbilled"] == 0
    assert sorted(got["files"]) == [
        "837P-KEY-000000001.edi",
        "837P-MCD-000000002.edi",
        "837P-MCR-000000003.edi",
    ]
    # the co-pay collected on 2026-06-01 goes on that day's claim: AMT*F5 25.00
    assert len(got["copays"]) == 1
    key = got["files"]["837P-KEY-000000001.edi"]
    assert "AMT*F5*25" in key
    claims = [c for _, d in got["snapshots"] if (c := json.loads(d)).get("kind") == "claim"]
    # a CLIA number that is the same on every line that has one goes once at claim level
    # (REF*X4, 2300); the drug line keeps its own NDC (2410), the other line has none
    by_enc = {c["encounter"]: c for c in claims}
    assert by_enc["E000003"]["clia"] == CLIA
    assert [ln.get("clia") for ln in by_enc["E000003"]["lines"]] == [None, None]
    assert by_enc["E000001"]["clia"] == CLIA
    assert by_enc["E000006"]["lines"][0]["drug"] == {"ndc": NDC, "unit": "ML", "quantity": "2"}
    assert "drug" not in by_enc["E000006"]["lines"][1]
    assert "clia" not in by_enc["E000006"] and "clia" not in by_enc["E000002"]
    assert key.count(f"REF*X4*{CLIA}") == 2


def test_charge_lines_read_like_the_dicts_they_replace(db):
    _build(db)
    encs = candidates(db, fx.TODAY.isoformat())
    lines = [ln for e in encs.values() for ln in e["lines"]]
    assert all(isinstance(ln, ChargeLine) for ln in lines)
    ln = lines[0]
    assert (ln["code"], ln["line_no"], ln["units"], ln["charge_cents"]) == ("99213", 1, 1, 14000)
    assert ln.get("modifier1") is None and ln.get("date_of_service") is None
    assert ln.get("no such key", "x") == "x"
    assert "dx_pointers" in ln and "date_of_service" not in ln
    with pytest.raises(AttributeError):
        ln["date_of_service"]
    # the lab fields read once, shared by the three lines that carry them, as read-only dicts
    lab = [x["fields"] for x in lines if x["fields"] and "clia" in x["fields"]]
    assert len(lab) == 3 and lab[0] is lab[1] is lab[2]
    assert lab[0] == {"clia": CLIA, "ordering_npi": "1627384955", "ordering_last": "Okafor"}
    ln["fields"] = {"ndc": NDC}
    assert ln.get("fields") == {"ndc": NDC}
