"""Claims: one per encounter billed to insurance, built from the encounter, its diagnoses, the
patient, the coverage and the co-pays collected for that day; and the voids and replacements
`invoice void|replace` queued for the next 837P."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING

from . import content
from .invoices import InvoiceIds, NewInvoice, claim_lines
from .result import RunResult

if TYPE_CHECKING:
    from ..db import Database


def copays_due(conn: Database, pat_table: str) -> dict[tuple[int, str], list[tuple[int, int]]]:
    """(patient, service date) -> [(payment id, cents)] co-pays collected and not yet on a claim."""
    has_receipts = (
        conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'receipts'").fetchone() is not None
    )
    date = "COALESCE(r.service_date, p.received_on)" if has_receipts else "p.received_on"
    join = "LEFT JOIN receipts r ON r.payment_id = p.id" if has_receipts else ""
    out: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    for pid, patient_id, day, cents in conn.execute(
        f"SELECT p.id, p.patient_id, {date}, p.amount_cents FROM payments p JOIN {pat_table} t ON"
        f" t.id = p.patient_id {join}"
        " WHERE p.kind = 'copay' AND p.amount_cents > 0 AND NOT EXISTS (SELECT 1 FROM claim_copays"
        " c WHERE c.payment_id = p.id)"
        " ORDER BY p.id"
    ):
        out[(patient_id, day)].append((pid, cents))
    return out


def build_claim(
    e: dict,
    number: str,
    ids: InvoiceIds,
    *,
    issued_on: str,
    dxs: dict[int, list[str]],
    pats: dict[int, dict],
    payers: dict[int, dict],
    providers: dict[int, dict],
    copays: dict[tuple[int, str], list[tuple[int, int]]],
    copay_rows: list[tuple[int, int]],
    billed_lines: list[int],
    blocks: content.Blocks | None = None,
) -> NewInvoice:
    """One encounter's claim: invoice row, lines and the snapshot the 837P is rendered from.
    `blocks`: the run's shared content blocks (content.Blocks), built once per payer, provider,
    patient and coverage."""
    blocks = blocks or content.Blocks()
    cov = e["coverage"]
    payer_row = payers[cov["payer_id"]]
    patient = pats[e["patient_id"]]
    dos = e["date_of_service"]
    inv_id = ids.next_invoice()
    copay = 0
    for pid, cents in copays.pop((e["patient_id"], dos), ()):
        copay += cents
        copay_rows.append((pid, inv_id))
    lines, clines = claim_lines(ids, inv_id, e)
    billed_lines.extend([ln["charge_line_id"] for ln in e["lines"]])
    c = content.claim_content(
        number=number,
        frequency="1",
        encounter=e,
        lines=clines,
        diagnoses=dxs.get(e["id"], []),
        patient=patient,
        coverage=cov,
        payer=payer_row,
        others=[(o, payers[o["payer_id"]]) for o in e["others"]],
        provider=providers[e["provider_id"]],
        copay_cents=copay,
        blocks=blocks,
    )
    row = {
        "id": inv_id,
        "number": number,
        "kind": "claim",
        "patient_id": e["patient_id"],
        "payer_id": cov["payer_id"],
        "coverage_id": cov["id"],
        "encounter_id": e["id"],
        "original_invoice_id": None,
        "frequency_code": "1",
        "issued_on": issued_on,
        "due_on": None,
        "filing_deadline": blocks.filing_deadline(dos, payer_row),
        "total_cents": c["total_cents"],
        "copay_cents": copay,
    }
    return NewInvoice(row, lines, c, payer_row["code"], e["number"], patient["mrn"], dos)


def queued_claims(
    conn: Database, result: RunResult, payers: dict[int, dict], scope: dict | None
) -> tuple[dict[int, list[tuple[int, dict]]], list[int]]:
    """Voids and replacements queued by `invoice void|replace`, and rejected claims queued by
    `ack resend` (with their corrected content): they join their payer's file."""
    q = (
        "SELECT q.invoice_id, i.number, i.kind, i.payer_id, COALESCE((SELECT r.data FROM claim_resends r"
        " WHERE r.invoice_id = i.id ORDER BY r.id DESC LIMIT 1), s.data),"  # a resend (billing/resend.py)
        " i.encounter_id, i.total_cents, i.patient_id"
        " FROM claim_queue q JOIN invoices i ON i.id = q.invoice_id JOIN invoice_snapshots s ON s.invoice_id = i.id"
    )
    args: tuple = ()
    if scope:
        q += " WHERE i.payer_id = ?"
        args = (scope["id"],)
    by_payer: dict[int, list[tuple[int, dict]]] = defaultdict(list)
    queued = []
    for iid, number, kind, payer_id, data, _enc_id, total, _pat_id in conn.execute(
        q + " ORDER BY q.invoice_id", args
    ).fetchall():
        c = json.loads(data)
        if c.get("claim_type") == "institutional":  # an 837I's (institutional/generate.py)
            continue
        by_payer[payer_id].append((iid, c))
        queued.append(iid)
        result.issued.append(
            {
                "number": number,
                "kind": kind,
                "frequency": c.get("frequency"),
                "bill_to": payers[payer_id]["code"],
                "encounter": c.get("encounter"),
                "total_cents": total,
                "file": None,
                "invoice_id": iid,
                "queued": True,
            }
        )
    return by_payer, queued
