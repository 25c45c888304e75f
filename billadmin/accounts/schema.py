"""Account work's own tables: receipts, unapplied patient credit, notes, appeals.

Appended to schema.MIGRATION_SETS after core. The core ledger (payments, payment_allocations,
adjustments) stays the single record of money; these tables only say what core cannot:
which receipt a clerk handed out, which part of a patient payment is not yet on an invoice,
what was said on the phone, and where an appeal stands.
"""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

from ..migrations import exec_statements as _exec

accounts = Migrations("billadmin.accounts")


@accounts()
def m001_receipts_and_credit(db):
    """A receipt number for money taken at the desk; unapplied patient credit kept per payment so
    each payment = allocations + unapplied."""
    _exec(
        db,
        """
    CREATE TABLE receipts (
        id INTEGER PRIMARY KEY,
        number TEXT NOT NULL UNIQUE,
        payment_id INTEGER NOT NULL UNIQUE REFERENCES payments(id),
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        service_date TEXT,
        coverage_id INTEGER REFERENCES coverages(id),
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX receipts_patient ON receipts(patient_id);
    CREATE TABLE unapplied_credits (
        id INTEGER PRIMARY KEY,
        payment_id INTEGER NOT NULL REFERENCES payments(id),
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        amount_cents INTEGER NOT NULL CHECK (amount_cents != 0),
        reason TEXT NOT NULL CHECK (reason IN ('copay','overpayment','applied','refunded')),
        created_on TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX unapplied_credits_patient ON unapplied_credits(patient_id);
    CREATE INDEX unapplied_credits_payment ON unapplied_credits(payment_id);
    CREATE TRIGGER unapplied_credits_no_update BEFORE UPDATE ON unapplied_credits
        BEGIN SELECT RAISE(ABORT, 'credit rows are append-only: add a row that reverses it'); END;
    CREATE TRIGGER unapplied_credits_no_delete BEFORE DELETE ON unapplied_credits
        BEGIN SELECT RAISE(ABORT, 'credit rows are append-only: add a row that reverses it'); END
    """,
    )


@accounts()
def m002_notes_and_appeals(db):
    "Correspondence and call log per account; appeals with their deadline and status history."
    _exec(
        db,
        """
    CREATE TABLE account_notes (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        invoice_id INTEGER REFERENCES invoices(id),
        text TEXT NOT NULL CHECK (length(text) > 0),
        author TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX account_notes_patient ON account_notes(patient_id);
    CREATE TABLE appeals (
        id INTEGER PRIMARY KEY,
        invoice_id INTEGER NOT NULL REFERENCES invoices(id),
        level INTEGER NOT NULL DEFAULT 1 CHECK (level >= 1),
        reason TEXT NOT NULL,
        carcs TEXT NOT NULL DEFAULT '',
        amount_cents INTEGER NOT NULL DEFAULT 0,
        denied_on TEXT,
        deadline TEXT,
        status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','submitted','won','lost','withdrawn')),
        letter_file TEXT,
        created_on TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX appeals_invoice ON appeals(invoice_id);
    CREATE TABLE appeal_events (
        id INTEGER PRIMARY KEY,
        appeal_id INTEGER NOT NULL REFERENCES appeals(id),
        status TEXT NOT NULL,
        on_date TEXT NOT NULL,
        note TEXT,
        at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX appeal_events_appeal ON appeal_events(appeal_id)
    """,
    )


@accounts()
def m003_report_indexes(db):
    """Reports read postings by payment and by date; without these a report over a million lines
    scans. (invoices_original is the billing set's.)"""
    _exec(
        db,
        """
    CREATE INDEX IF NOT EXISTS payment_allocations_payment ON payment_allocations(payment_id);
    CREATE INDEX IF NOT EXISTS payments_received ON payments(received_on);
    CREATE INDEX IF NOT EXISTS adjustments_created ON adjustments(created_on)
    """,
    )


@accounts()
def m004_invoices_by_issue_date(db):
    """The day sheet, month-by-month and period reports select invoices by issue date; without this
    each scans every invoice."""
    _exec(db, "CREATE INDEX IF NOT EXISTS invoices_issued ON invoices(issued_on)")


@accounts()
def m005_payer_carc_rules_and_writeoffs(db):
    """A payer's own classification of a CAS code (remit.carc_rules: contractual, denial, ...),
    and why a clerk adjusted a balance: the write-off reason and the entry an undo reverses
    (undone only by an opposite entry, never an edit)."""
    _exec(
        db,
        """
    CREATE TABLE payer_carc_rules (
        payer_id INTEGER NOT NULL REFERENCES payers(id),
        group_code TEXT NOT NULL CHECK (group_code IN ('CO','CR','OA','PI','PR')),
        reason_code TEXT NOT NULL,
        class TEXT NOT NULL
            CHECK (class IN ('contractual','prior_payer','duplicate','patient','denial')),
        set_at TEXT NOT NULL,
        PRIMARY KEY (payer_id, group_code, reason_code)
    ) STRICT;
    CREATE TABLE clerk_adjustments (
        adjustment_id INTEGER PRIMARY KEY REFERENCES adjustments(id),
        kind TEXT NOT NULL CHECK (kind IN ('writeoff','transfer','eob','refund','recoupment')),
        reason TEXT NOT NULL,
        reference TEXT,
        reverses_adjustment_id INTEGER REFERENCES adjustments(id),
        os_user TEXT NOT NULL,
        at TEXT NOT NULL
    ) STRICT
    """,
    )


@accounts()
def m006_payer_corrections(db):
    """How a payer corrects a claim it adjudicated: 'replacement' (a frequency-7 claim) or
    'reopening' (Medicare Part B, CMS Pub. 100-04 ch. 34); NULL takes the default by payer kind
    (accounts.rules)."""
    _exec(
        db,
        "ALTER TABLE payers ADD COLUMN corrections TEXT"
        " CHECK (corrections IN ('reopening', 'replacement'))",
    )


@accounts()
def m007_line_money_indexes(db):
    """Money by invoice line: a statement's or a claim's line amounts read the allocations and
    adjustments of each line (statement._claim_line_amounts); without these it scanned both
    tables once per invoice."""
    _exec(
        db,
        """
    CREATE INDEX IF NOT EXISTS payment_allocations_line ON payment_allocations(invoice_line_id)
        WHERE invoice_line_id IS NOT NULL;
    CREATE INDEX IF NOT EXISTS adjustments_line ON adjustments(invoice_line_id)
        WHERE invoice_line_id IS NOT NULL
    """,
    )


@accounts()
def m008_allocation_dates(db):
    """The day an allocation was made when it is not the payment's own day: credit applied to an
    invoice later (apply_credit) and a voided patient invoice's payments held as credit
    (hold_paid_as_credit). NULL: the payment's received_on. Balances as of a date
    (reports/ledger.py) count an allocation from this day, so a later void or application does
    not change an earlier month's aging."""
    _exec(db, "ALTER TABLE payment_allocations ADD COLUMN applied_on TEXT")
