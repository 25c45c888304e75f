"""Remittance tables (migration set "billadmin.remit"): what each 835 said, kept as read, and
linked to the ledger rows its posting created.

The ledger (payments, payment_allocations, adjustments, invoice_events) is what balances use;
these tables are the evidence: the file (sha256), each ST transaction (payer, trace number,
BPR amount), each claim payment (CLP) with its service lines (SVC), adjustments (CAS) and
provider-level adjustments (PLB). Patient names and member ids in the 835 are not stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils.migrations import Migrations

from ..migrations import exec_statements as _exec

if TYPE_CHECKING:
    from ..db import Database

remit = Migrations("billadmin.remit")


@remit()
def m001_remittance_tables(db: Database) -> None:
    "Files, transactions, claim payments, service lines, CAS adjustments and PLB as read from each 835."
    _exec(
        db,
        """
    CREATE TABLE remit_files (
        id INTEGER PRIMARY KEY,
        file_name TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
        interchange_control TEXT, segments INTEGER NOT NULL,
        imported_at TEXT NOT NULL, os_user TEXT NOT NULL
    ) STRICT;
    CREATE INDEX remit_files_sha ON remit_files(sha256);
    CREATE TABLE remit_transactions (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES remit_files(id),
        st_control TEXT NOT NULL,
        payer_key TEXT NOT NULL,
        payer_name TEXT, payer_x12_id TEXT,
        payer_id INTEGER REFERENCES payers(id),
        payee_name TEXT, payee_id_qualifier TEXT, payee_id TEXT,
        handling_code TEXT NOT NULL,
        credit_debit TEXT NOT NULL CHECK (credit_debit IN ('C','D')),
        amount_cents INTEGER NOT NULL,
        method TEXT, payment_date TEXT, production_date TEXT,
        trace_number TEXT NOT NULL, trace_company TEXT,
        reversal_only INTEGER NOT NULL DEFAULT 0,
        claims_paid_cents INTEGER NOT NULL,
        plb_cents INTEGER NOT NULL,
        posted_cents INTEGER NOT NULL,
        unmatched_cents INTEGER NOT NULL,
        skipped_cents INTEGER NOT NULL DEFAULT 0,
        UNIQUE (payer_key, trace_number, reversal_only)
    ) STRICT;
    CREATE INDEX remit_transactions_trace ON remit_transactions(trace_number);
    CREATE TABLE remit_claims (
        id INTEGER PRIMARY KEY,
        transaction_id INTEGER NOT NULL REFERENCES remit_transactions(id),
        seq INTEGER NOT NULL,
        claim_number TEXT NOT NULL,
        invoice_id INTEGER REFERENCES invoices(id),
        status_code TEXT NOT NULL,
        charge_cents INTEGER NOT NULL, paid_cents INTEGER NOT NULL, patient_resp_cents INTEGER,
        filing_indicator TEXT, payer_claim_number TEXT, facility_code TEXT, frequency_code TEXT,
        statement_from TEXT, statement_to TEXT,
        remarks TEXT NOT NULL DEFAULT '',
        outcome TEXT NOT NULL CHECK (outcome IN ('paid','partially_paid','denied','reversed','unmatched',
                                                  'duplicate','not_posted')),
        reverses_id INTEGER REFERENCES remit_claims(id),
        note TEXT,
        UNIQUE (transaction_id, seq)
    ) STRICT;
    CREATE INDEX remit_claims_invoice ON remit_claims(invoice_id);
    CREATE INDEX remit_claims_number ON remit_claims(claim_number);
    CREATE TABLE remit_lines (
        id INTEGER PRIMARY KEY,
        claim_id INTEGER NOT NULL REFERENCES remit_claims(id),
        seq INTEGER NOT NULL,
        invoice_line_id INTEGER REFERENCES invoice_lines(id),
        qualifier TEXT, code TEXT NOT NULL, modifiers TEXT NOT NULL DEFAULT '',
        charge_cents INTEGER NOT NULL, paid_cents INTEGER NOT NULL, allowed_cents INTEGER,
        units TEXT, revenue_code TEXT, original_code TEXT,
        service_from TEXT, service_to TEXT, control_number TEXT,
        remarks TEXT NOT NULL DEFAULT '',
        UNIQUE (claim_id, seq)
    ) STRICT;
    CREATE TABLE remit_adjustments (
        id INTEGER PRIMARY KEY,
        claim_id INTEGER NOT NULL REFERENCES remit_claims(id),
        line_id INTEGER REFERENCES remit_lines(id),
        group_code TEXT NOT NULL, reason_code TEXT NOT NULL,
        amount_cents INTEGER NOT NULL, quantity TEXT,
        adjustment_id INTEGER REFERENCES adjustments(id)
    ) STRICT;
    CREATE INDEX remit_adjustments_claim ON remit_adjustments(claim_id);
    CREATE TABLE remit_plb (
        id INTEGER PRIMARY KEY,
        transaction_id INTEGER NOT NULL REFERENCES remit_transactions(id),
        provider_id TEXT, fiscal_date TEXT,
        reason_code TEXT NOT NULL, reference TEXT,
        amount_cents INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE remit_payments (
        transaction_id INTEGER NOT NULL REFERENCES remit_transactions(id),
        payment_id INTEGER NOT NULL REFERENCES payments(id),
        PRIMARY KEY (transaction_id, payment_id)
    ) STRICT, WITHOUT ROWID
    """,
    )


@remit()
def m002_reason_codes(db: Database) -> None:
    "CARC and RARC meanings in our own words with a work category, for remittance displays and the denial worklist."
    from . import codes

    _exec(
        db,
        """
    CREATE TABLE remit_codes (
        kind TEXT NOT NULL CHECK (kind IN ('CARC','RARC')),
        code TEXT NOT NULL,
        category TEXT NOT NULL,
        meaning TEXT NOT NULL,
        PRIMARY KEY (kind, code)
    ) STRICT, WITHOUT ROWID
    """,
    )
    rows = [("CARC", c, cat, m) for c, cat, m in codes.CARC] + [
        ("RARC", c, cat, m) for c, cat, m in codes.RARC
    ]
    db.conn.executemany(
        "INSERT INTO remit_codes (kind, code, category, meaning) VALUES (?,?,?,?)", rows
    )


@remit()
def m003_adjustment_class(db: Database) -> None:
    """Each CAS keeps the posting class it was given (remit.carc_rules) and the remittance date:
    a denial is not a ledger adjustment (its amount stays open), so the worklist and reports read
    denials from here."""
    _exec(
        db,
        """
    ALTER TABLE remit_adjustments ADD COLUMN class TEXT;
    ALTER TABLE remit_adjustments ADD COLUMN posted_on TEXT;
    CREATE INDEX remit_adjustments_class ON remit_adjustments(class) WHERE class IS NOT NULL;
    CREATE INDEX remit_adjustments_adjustment ON remit_adjustments(adjustment_id)
    """,
    )


@remit()
def m004_payer_address(db: Database) -> None:
    "The payer's address from the 835 (N1*PR N3/N4): appeal letters use it when the payer record has none."
    _exec(
        db,
        """
    ALTER TABLE remit_transactions ADD COLUMN payer_address1 TEXT;
    ALTER TABLE remit_transactions ADD COLUMN payer_city TEXT;
    ALTER TABLE remit_transactions ADD COLUMN payer_state TEXT;
    ALTER TABLE remit_transactions ADD COLUMN payer_zip TEXT
    """,
    )


@remit()
def m005_payer_returns_and_crossover_payer(db: Database) -> None:
    """Money a payer takes back from a claim: a refund the practice sends (payment refund-payer)
    or a recoupment the payer offsets on a later 835 (PLB WO/72 naming the claim), each a
    negative insurance payment allocated to the claim; and the crossover payer an 835 names
    (NM1*TT, an organisation, not PHI) so the clerk sees who got the claim."""
    _exec(
        db,
        """
    CREATE TABLE payer_returns (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('refund','recoupment')),
        invoice_id INTEGER NOT NULL REFERENCES invoices(id),
        payer_id INTEGER REFERENCES payers(id),
        payment_id INTEGER NOT NULL REFERENCES payments(id),
        plb_id INTEGER REFERENCES remit_plb(id),
        amount_cents INTEGER NOT NULL,
        matched_by TEXT,
        reference TEXT,
        returned_on TEXT NOT NULL,
        os_user TEXT NOT NULL,
        at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX payer_returns_invoice ON payer_returns(invoice_id);
    ALTER TABLE remit_claims ADD COLUMN crossover_payer TEXT;
    ALTER TABLE remit_claims ADD COLUMN crossover_payer_id TEXT
    """,
    )


@remit()
def m006_claim_adjudication(db: Database) -> None:
    """Medicare's inpatient (MIA) and outpatient (MOA) adjudication of a claim payment, one row
    per segment as read (835 TR3 loop 2100): the PPS, DRG, outlier and ESRD amounts FISS
    computed, shown beside the claim; informational (not posted), append-only like the claim."""
    _exec(
        db,
        """
    CREATE TABLE remit_adjudications (
        id INTEGER PRIMARY KEY,
        claim_id INTEGER NOT NULL REFERENCES remit_claims(id),
        kind TEXT NOT NULL CHECK (kind IN ('inpatient','outpatient')),
        covered_days TEXT, lifetime_psychiatric_days TEXT, cost_report_days TEXT,
        reimbursement_rate TEXT,
        pps_operating_outlier_cents INTEGER, drg_cents INTEGER,
        disproportionate_share_cents INTEGER, msp_pass_through_cents INTEGER,
        pps_capital_cents INTEGER, pps_capital_fsp_drg_cents INTEGER,
        pps_capital_hsp_drg_cents INTEGER, pps_capital_dsh_drg_cents INTEGER,
        old_capital_cents INTEGER, pps_capital_ime_cents INTEGER,
        pps_operating_hsp_drg_cents INTEGER, pps_operating_fsp_drg_cents INTEGER,
        pps_capital_outlier_cents INTEGER, indirect_teaching_cents INTEGER,
        nonpayable_professional_cents INTEGER, pps_capital_exception_cents INTEGER,
        hcpcs_payable_cents INTEGER, esrd_payment_cents INTEGER,
        remarks TEXT NOT NULL DEFAULT ''
    ) STRICT;
    CREATE INDEX remit_adjudications_claim ON remit_adjudications(claim_id)
    """,
    )
