"""The acknowledgement domain's tables (applied after billing: they name invoices and the
interchanges we sent)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils.migrations import Migrations

from ..migrations import exec_statements as _exec

if TYPE_CHECKING:
    from ..db import Database

acks = Migrations("billadmin.acks")


@acks()
def m001_ack_files_and_claim_acks(db: Database):
    """Every acknowledgement is kept as read (append-only), per file (recognised again by its
    hash) and per claim it speaks of, with the send it answers, so the claim's history shows
    each answer and a rejection worklist can say by whom and why; resends carry the claim's
    corrected content without touching its issued snapshot."""
    _exec(
        db,
        """
    CREATE TABLE ack_files (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('TA1', '999', '277CA', '277')),
        isa_control TEXT NOT NULL,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL UNIQUE,
        summary TEXT NOT NULL,
        read_at TEXT NOT NULL
    ) STRICT;
    CREATE TABLE claim_acks (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES ack_files(id),
        invoice_id INTEGER NOT NULL REFERENCES invoices(id),
        invoice_file_id INTEGER REFERENCES invoice_files(id),
        kind TEXT NOT NULL,
        by TEXT NOT NULL,
        outcome TEXT NOT NULL,
        codes TEXT NOT NULL,
        reasons TEXT NOT NULL,
        fixes TEXT NOT NULL,
        payer_claim_number TEXT,
        effective_on TEXT,
        read_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX claim_acks_invoice ON claim_acks(invoice_id);
    CREATE TRIGGER claim_acks_no_update BEFORE UPDATE ON claim_acks
        BEGIN SELECT RAISE(ABORT, 'acknowledgements are kept as read'); END;
    CREATE TRIGGER claim_acks_no_delete BEFORE DELETE ON claim_acks
        BEGIN SELECT RAISE(ABORT, 'acknowledgements are kept as read'); END;
    CREATE TABLE claim_resends (
        id INTEGER PRIMARY KEY,
        invoice_id INTEGER NOT NULL REFERENCES invoices(id),
        data TEXT NOT NULL,
        changed TEXT NOT NULL,
        queued_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX claim_resends_invoice ON claim_resends(invoice_id);
    CREATE TRIGGER claim_resends_no_update BEFORE UPDATE ON claim_resends
        BEGIN SELECT RAISE(ABORT, 'resent claim content is immutable'); END;
    CREATE TRIGGER claim_resends_no_delete BEFORE DELETE ON claim_resends
        BEGIN SELECT RAISE(ABORT, 'resent claim content is immutable'); END;
    CREATE TABLE claim_status_requests (
        id INTEGER PRIMARY KEY,
        trace TEXT NOT NULL UNIQUE,
        invoice_id INTEGER NOT NULL REFERENCES invoices(id),
        payer_id INTEGER NOT NULL REFERENCES payers(id),
        isa_control TEXT NOT NULL,
        path TEXT NOT NULL,
        asked_on TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX claim_status_requests_invoice ON claim_status_requests(invoice_id)
    """,
    )


@acks()
def m002_claim_status_rules(db: Database):
    "A payer's own wait before a claim status request (276): some answer within days, some ask for 45."
    _exec(
        db,
        """
    CREATE TABLE claim_status_rules (
        payer_id INTEGER PRIMARY KEY REFERENCES payers(id),
        days INTEGER NOT NULL CHECK (days >= 0),
        set_at TEXT NOT NULL
    ) STRICT
    """,
    )
