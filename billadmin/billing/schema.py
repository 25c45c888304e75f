"""The billing domain's tables, as their own migration set (applied after core).

Core owns invoices, invoice_lines, invoice_events and series; these tables record what the core
does not: X12 control numbers, the interchanges written, which files hold which invoice, the
content each invoice was issued with (so it can be re-rendered byte for byte), payer claim
numbers for voids and corrections, and which copays and patient-responsibility adjustments have
already been carried so nothing is carried twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils.migrations import Migrations

from ..migrations import exec_statements as _exec

if TYPE_CHECKING:
    from ..db import Database

billing = Migrations("billadmin.billing")


@billing()
def m001_x12_control_and_files(db: Database):
    """X12 control numbers must increase across runs, and each issued invoice must be traceable
    to the file that carried it."""
    _exec(
        db,
        """
    CREATE TABLE x12_counters (
        name TEXT PRIMARY KEY CHECK (name IN ('isa', 'gs')),
        last_value INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    INSERT INTO x12_counters (name, last_value) VALUES ('isa', 0), ('gs', 0);
    CREATE TABLE billing_runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL, issued_on TEXT NOT NULL, through TEXT NOT NULL,
        out_dir TEXT NOT NULL, os_user TEXT NOT NULL,
        issued INTEGER NOT NULL DEFAULT 0, held INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE TABLE x12_interchanges (
        id INTEGER PRIMARY KEY,
        run_id INTEGER REFERENCES billing_runs(id),
        payer_id INTEGER NOT NULL REFERENCES payers(id),
        isa_control TEXT NOT NULL, gs_control TEXT NOT NULL,
        usage TEXT NOT NULL CHECK (usage IN ('P', 'T')),
        envelope TEXT NOT NULL,
        path TEXT NOT NULL, sha256 TEXT NOT NULL,
        transaction_sets INTEGER NOT NULL, claims INTEGER NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX x12_interchanges_isa ON x12_interchanges(isa_control);
    CREATE TABLE invoice_files (
        id INTEGER PRIMARY KEY,
        invoice_id INTEGER NOT NULL REFERENCES invoices(id),
        kind TEXT NOT NULL CHECK (kind IN ('x12', 'pdf')),
        path TEXT NOT NULL,
        run_id INTEGER REFERENCES billing_runs(id),
        interchange_id INTEGER REFERENCES x12_interchanges(id),
        st_control TEXT,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX invoice_files_invoice ON invoice_files(invoice_id);
    CREATE INDEX invoice_files_run ON invoice_files(run_id);
    CREATE TABLE invoice_runs (
        invoice_id INTEGER PRIMARY KEY REFERENCES invoices(id),
        run_id INTEGER NOT NULL REFERENCES billing_runs(id)
    ) STRICT;
    CREATE INDEX invoice_runs_run ON invoice_runs(run_id)
    """,
    )


@billing()
def m002_snapshots(db: Database):
    """An issued invoice is re-rendered from what it was issued with, not from patient data
    edited since; snapshots are immutable like invoices."""
    _exec(
        db,
        """
    CREATE TABLE invoice_snapshots (
        invoice_id INTEGER PRIMARY KEY REFERENCES invoices(id),
        data TEXT NOT NULL
    ) STRICT;
    CREATE TRIGGER invoice_snapshots_immutable_update BEFORE UPDATE ON invoice_snapshots
        BEGIN SELECT RAISE(ABORT, 'issued invoice content is immutable'); END;
    CREATE TRIGGER invoice_snapshots_immutable_delete BEFORE DELETE ON invoice_snapshots
        BEGIN SELECT RAISE(ABORT, 'issued invoice content is immutable'); END
    """,
    )


@billing()
def m003_claim_lifecycle(db: Database):
    """Voids (frequency 8) and replacements (frequency 7) wait for the next 837P and need the
    payer's claim number (REF*F8)."""
    _exec(
        db,
        """
    CREATE TABLE claim_queue (
        invoice_id INTEGER PRIMARY KEY REFERENCES invoices(id),
        queued_at TEXT NOT NULL
    ) STRICT;
    CREATE TABLE payer_claim_numbers (
        invoice_id INTEGER PRIMARY KEY REFERENCES invoices(id),
        payer_claim_number TEXT NOT NULL,
        source TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX invoices_original ON invoices(original_invoice_id);
    CREATE INDEX invoice_lines_charge_line ON invoice_lines(charge_line_id)
    """,
    )


@billing()
def m004_carried_amounts(db: Database):
    "A copay goes on one claim (AMT*F5) and a patient-responsibility adjustment on one patient invoice, never twice."
    _exec(
        db,
        """
    CREATE TABLE claim_copays (
        payment_id INTEGER PRIMARY KEY REFERENCES payments(id),
        invoice_id INTEGER NOT NULL REFERENCES invoices(id)
    ) STRICT;
    CREATE TABLE patient_invoice_adjustments (
        adjustment_id INTEGER PRIMARY KEY REFERENCES adjustments(id),
        invoice_line_id INTEGER NOT NULL REFERENCES invoice_lines(id)
    ) STRICT;
    CREATE INDEX adjustments_source ON adjustments(source)
    """,
    )


@billing()
def m005_run_file_names(db: Database):
    "invoices.csv lists each invoice with the file that carries it; kept with the run so the listing is one join."
    db.execute("ALTER TABLE invoice_runs ADD COLUMN file TEXT")


@billing()
def m006_coordination_of_benefits(db: Database):
    """What a payer's 835 left goes to the next payer, not the patient (billing/cob.py): the
    coverage facts the rules need (QMB, the Medicare secondary payer type for SBR05), the
    payer's crossover follow-up, each next-payer claim linked to the claim it follows, each
    patient-responsibility transfer's route (so no statement bills it too), and crossovers."""
    _exec(
        db,
        """
    ALTER TABLE coverages ADD COLUMN qmb INTEGER NOT NULL DEFAULT 0 CHECK (qmb IN (0, 1));
    ALTER TABLE coverages ADD COLUMN msp_type TEXT;
    ALTER TABLE payers ADD COLUMN crossover_follow_up_days INTEGER;
    CREATE TABLE cob_claims (
        invoice_id INTEGER PRIMARY KEY REFERENCES invoices(id),
        prior_invoice_id INTEGER NOT NULL REFERENCES invoices(id),
        remit_claim_id INTEGER NOT NULL REFERENCES remit_claims(id),
        sequence TEXT NOT NULL CHECK (sequence IN ('S', 'T'))
    ) STRICT;
    CREATE INDEX cob_claims_prior ON cob_claims(prior_invoice_id);
    CREATE TABLE cob_routes (
        adjustment_id INTEGER PRIMARY KEY REFERENCES adjustments(id),
        prior_invoice_id INTEGER NOT NULL REFERENCES invoices(id),
        remit_claim_id INTEGER REFERENCES remit_claims(id),
        rule TEXT NOT NULL,
        next_payer_id INTEGER REFERENCES payers(id),
        restored_adjustment_id INTEGER REFERENCES adjustments(id),
        routed_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX cob_routes_prior ON cob_routes(prior_invoice_id);
    CREATE TABLE cob_crossovers (
        remit_claim_id INTEGER PRIMARY KEY REFERENCES remit_claims(id),
        invoice_id INTEGER NOT NULL REFERENCES invoices(id),
        next_payer_id INTEGER REFERENCES payers(id),
        follow_up_on TEXT NOT NULL,
        at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX cob_crossovers_invoice ON cob_crossovers(invoice_id)
    """,
    )


@billing()
def m007_run_files(db: Database):
    """A run's files are renamed into place after its COMMIT: each is recorded with its
    temporary name and hash first, so a run stopped in between is found and finished
    (billing/files.py)."""
    _exec(
        db,
        """
    CREATE TABLE billing_run_files (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES billing_runs(id),
        path TEXT NOT NULL,
        staged TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('written', 'placed', 'lost')),
        placed_at TEXT
    ) STRICT;
    CREATE INDEX billing_run_files_run ON billing_run_files(run_id);
    CREATE INDEX billing_run_files_state ON billing_run_files(state)
    """,
    )


@billing()
def m008_corrections_charge_history(db: Database):
    """A correction of an encounter's lines or diagnoses (billing/corrections.py) keeps what was
    there before, why, and the claim it corrects: one row each, never changed or deleted."""
    _exec(
        db,
        """
    CREATE TABLE charge_corrections (
        id INTEGER PRIMARY KEY,
        encounter_id INTEGER NOT NULL REFERENCES encounters(id),
        charge_line_id INTEGER REFERENCES charge_lines(id),
        action TEXT NOT NULL CHECK (action IN ('change', 'remove', 'diagnoses')),
        before TEXT NOT NULL,
        after TEXT NOT NULL,
        invoice_id INTEGER REFERENCES invoices(id),
        reason TEXT,
        corrected_on TEXT NOT NULL,
        at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX charge_corrections_encounter ON charge_corrections(encounter_id);
    CREATE TRIGGER charge_corrections_no_update BEFORE UPDATE ON charge_corrections
        BEGIN SELECT RAISE(ABORT, 'charge corrections are append-only'); END;
    CREATE TRIGGER charge_corrections_no_delete BEFORE DELETE ON charge_corrections
        BEGIN SELECT RAISE(ABORT, 'charge corrections are append-only'); END
    """,
    )


@billing()
def m009_paper_claims(db: Database):
    """Payers that take claims on paper (some secondaries, auto and workers' compensation): their
    claims are printed on the CMS-1500 by `invoice generate` instead of going on an 837P."""
    _exec(
        db,
        """
    ALTER TABLE payers ADD COLUMN claim_media TEXT NOT NULL DEFAULT 'electronic'
        CHECK (claim_media IN ('electronic', 'paper'))
    """,
    )


@billing()
def m010_cob_rebills(db: Database):
    """Next-payer (COB) claims voided with --rebill: the answer they carried is due again, so
    the next run bills the next payer with a new claim (cob.due). Append-only."""
    _exec(
        db,
        """
    CREATE TABLE cob_rebills (
        invoice_id INTEGER PRIMARY KEY REFERENCES cob_claims(invoice_id),
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE TRIGGER cob_rebills_no_update BEFORE UPDATE ON cob_rebills
        BEGIN SELECT RAISE(ABORT, 'cob_rebills is append-only'); END;
    CREATE TRIGGER cob_rebills_no_delete BEFORE DELETE ON cob_rebills
        BEGIN SELECT RAISE(ABORT, 'cob_rebills is append-only'); END
    """,
    )
