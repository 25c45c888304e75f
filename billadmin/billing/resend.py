"""Sending a rejected claim again, after the clerk fixed what the rejection named.

Rule: a claim rejected before adjudication (a TA1 or 999 rejection, a 277CA category A3, A6,
A7 or A8) was never accepted by the payer, so it goes out again as the same claim: same claim
number (CLM01), frequency code 1 (original), no REF*F8 (TR3 005010X222A1 2300 CLM05-3: 7 and 8
replace or void a claim the payer adjudicated; a rejected claim has nothing to replace). Its
lines and amounts are those it was issued with (the ledger does not change); the parties are
read again, since that is where rejections point (the subscriber's member id or birth date,
the patient, the payer, the rendering provider) with the encounter's recorded claim fields
(a referring provider, authorization or referral numbers). The corrected content is kept
beside the issued snapshot (claim_resends, never changed) and the claim waits in the 837P
queue: the next `invoice generate` writes it into a new file, recorded as a second send, so
the claim's history shows both sends (sent, rejected, sent, ...).

Refused (exit 2, nothing written): a claim that is not rejected (a paid, denied or accepted
claim is corrected with `invoice replace`), or one already waiting to be sent.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from .. import audit, db
from ..errors import BadInput
from . import content, lifecycle

if TYPE_CHECKING:
    from ..db import Database

PARTIES = ("subscriber", "patient", "payer", "rendering")
CLAIM_FIELDS = ("dates", "accident", "prior_auth", "referral_number", "clia", "referring")
LINE_FIELDS = ("prior_auth", "referral_number", "clia", "drug", "ordering", "referring")


def resend(conn: Database, number: str) -> dict:
    """Queue a rejected claim, with its parties read again, for the next 837P."""
    inv = lifecycle.get_invoice(conn, number)
    if inv["kind"] != "claim":
        raise BadInput(f"{inv['number']} is not a claim")
    status = lifecycle.status_of(conn, inv["id"])
    if status != "rejected":
        raise BadInput(
            f"{inv['number']} is {status or 'issued'}, not rejected: only a rejected claim is"
            " sent again as it is (correct an adjudicated claim with `invoice replace`)"
        )
    if conn.execute("SELECT 1 FROM claim_queue WHERE invoice_id = ?", (inv["id"],)).fetchone():
        raise BadInput(f"{inv['number']} already waits for the next 837P")
    snap = lifecycle.snapshot(conn, inv["id"])
    if snap is None:
        raise BadInput(f"{inv['number']} has no stored content (issued outside billadmin)")
    latest = _latest_content(conn, inv["id"]) or snap
    fresh = refreshed(conn, inv, snap)
    changed = [k for k in (*PARTIES, *CLAIM_FIELDS, "lines") if fresh.get(k) != latest.get(k)]
    now = audit.utcnow()
    with db.write(conn):
        conn.execute(
            "INSERT INTO claim_resends (invoice_id, data, changed, queued_at) VALUES (?,?,?,?)",
            (inv["id"], content.canonical(fresh), ",".join(changed), now),
        )
        conn.execute(
            "INSERT INTO claim_queue (invoice_id, queued_at) VALUES (?, ?)", (inv["id"], now)
        )
        audit.record(
            conn,
            "ack resend",
            entity="invoices",
            ids=[inv["number"]],
            count=1,
            detail={"changed": changed},
        )
    return {"claim": inv["number"], "frequency": "1", "changed": changed}


def _latest_content(conn: Database, invoice_id: int) -> dict | None:
    import json

    row = conn.execute(
        "SELECT data FROM claim_resends WHERE invoice_id = ? ORDER BY id DESC LIMIT 1",
        (invoice_id,),
    ).fetchone()
    return json.loads(row[0]) if row else None


def refreshed(conn: Database, inv: dict, snap: dict) -> dict:
    """The issued content with its parties and claim fields read again (lines and money kept)."""
    c = copy.deepcopy(snap)
    t = content.temp_ids(conn, "_resend_pat", [inv["patient_id"]])
    patient = content.load_patients(conn, t)[inv["patient_id"]]
    cols = ", ".join(content.COVERAGE_COLS)
    row = conn.execute(
        f"SELECT {cols} FROM coverages WHERE id = ?", (inv["coverage_id"],)
    ).fetchone()
    if row is not None:
        cov = dict(zip(content.COVERAGE_COLS, row, strict=True))
        c["subscriber"], c["patient"] = content.subscriber_block(cov, patient)
    payers = content.load_payers(conn)
    if inv["payer_id"] in payers:
        c["payer"] = content.payer_block(payers[inv["payer_id"]])
    enc = conn.execute(
        "SELECT provider_id FROM encounters WHERE id = ?", (inv["encounter_id"],)
    ).fetchone()
    providers = content.load_providers(conn)
    if enc and enc[0] in providers:
        c["rendering"] = content.provider_block(providers[enc[0]])
    _claim_fields(conn, inv, c)
    return c


def _claim_fields(conn: Database, inv: dict, c: dict) -> None:
    lines = conn.execute(
        "SELECT cl.line_no, cl.code FROM invoice_lines il LEFT JOIN charge_lines cl"
        " ON cl.id = il.charge_line_id WHERE il.invoice_id = ? ORDER BY il.line_no",
        (inv["id"],),
    ).fetchall()
    if not lines or any(no is None for no, _ in lines) or len(lines) != len(c["lines"]):
        return  # lines not from one encounter's charges: keep the issued fields
    enc = {"id": inv["encounter_id"], "lines": [{"line_no": n, "code": k} for n, k in lines]}
    content.load_claim_fields(conn, {inv["encounter_id"]: enc})
    for k in CLAIM_FIELDS:
        c.pop(k, None)
    for cl in c["lines"]:
        for k in LINE_FIELDS:
            cl.pop(k, None)
    content.add_claim_fields(c, enc, inv["payer_id"])
