"""Finding the patient, invoice or payer a clerk names. Messages never echo an MRN back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ledger
from ..errors import BadInput, NotFound

if TYPE_CHECKING:
    from ..db import Database


PATIENT_COLS = (
    "id",
    "mrn",
    "first_name",
    "last_name",
    "dob",
    "sex",
    "address1",
    "address2",
    "city",
    "state",
    "zip",
    "phone",
)


def patient(conn: Database, mrn: str) -> dict:
    mrn = (mrn or "").strip()
    if not mrn:
        raise BadInput("MRN is empty")
    row = conn.execute(
        f"SELECT {', '.join(PATIENT_COLS)} FROM patients WHERE mrn = ?", (mrn,)
    ).fetchone()
    if row is None:
        raise NotFound("no patient with that MRN")
    return dict(zip(PATIENT_COLS, row, strict=True))


INVOICE_COLS = ("id", *ledger.INVOICE_FIELDS)  # the hashed fields, same order


def find_invoice(conn: Database, number: str) -> dict | None:
    row = conn.execute(
        f"SELECT {', '.join(INVOICE_COLS)} FROM invoices WHERE number = ?",
        ((number or "").strip(),),
    ).fetchone()
    return dict(zip(INVOICE_COLS, row, strict=True)) if row else None


def invoice(conn: Database, number: str) -> dict:
    inv = find_invoice(conn, number)
    if inv is None:
        raise NotFound(f"no invoice {number.strip()!r}")
    return inv


def invoice_status(conn: Database, invoice_id: int) -> str | None:
    row = conn.execute(
        "SELECT status FROM invoice_status WHERE invoice_id = ?", (invoice_id,)
    ).fetchone()
    return row[0] if row else None


def balance(conn: Database, invoice_id: int) -> dict:
    """The parts of one invoice's balance from the shared invoice_balances view."""
    row = conn.execute(
        "SELECT total_cents, credited_cents, paid_cents, adjusted_cents FROM invoice_balances WHERE invoice_id = ?",
        (invoice_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"invoice id {invoice_id} has no balance (a credit note?)")
    total, credited, paid, adjusted = row
    return {
        "total_cents": total,
        "credited_cents": credited,
        "paid_cents": paid,
        "adjusted_cents": adjusted,
        "balance_cents": total + credited - paid - adjusted,
    }


def is_voided(conn: Database, inv: dict) -> bool:
    """Voided: its latest event says so, or credit notes cancel its whole total."""
    if invoice_status(conn, inv["id"]) == "voided":
        return True
    credited = conn.execute(
        "SELECT COALESCE(SUM(total_cents), 0) FROM invoices WHERE original_invoice_id = ? AND kind = 'credit'",
        (inv["id"],),
    ).fetchone()[0]
    return inv["total_cents"] > 0 and credited <= -inv["total_cents"]


PAYER_COLS = (
    "id",
    "code",
    "name",
    "kind",
    "x12_payer_id",
    "address1",
    "city",
    "state",
    "zip",
    "timely_filing_days",
    "timely_filing_months",
    "appeal_days",
    "corrected_claim_days",
    "claim_media",
    "corrections",
)


def payer(conn: Database, code: str) -> dict:
    row = conn.execute(
        f"SELECT {', '.join(PAYER_COLS)} FROM payers WHERE code = ?", ((code or "").strip(),)
    ).fetchone()
    if row is None:
        codes = [r[0] for r in conn.execute("SELECT code FROM payers ORDER BY code")]
        raise NotFound(f"no payer {code!r}" + (f" (known: {', '.join(codes)})" if codes else ""))
    return dict(zip(PAYER_COLS, row, strict=True))


def payer_by_id(conn: Database, payer_id: int) -> dict | None:
    row = conn.execute(
        f"SELECT {', '.join(PAYER_COLS)} FROM payers WHERE id = ?", (payer_id,)
    ).fetchone()
    return dict(zip(PAYER_COLS, row, strict=True)) if row else None
