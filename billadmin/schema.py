"""Schema, versioned as sqlite-utils migration sets: small named steps, each saying why.

Conventions: STRICT tables; money in INTEGER cents (columns end in _cents); dates ISO-8601 TEXT;
timestamps UTC ISO TEXT; ids are internal INTEGER keys, natural keys have UNIQUE constraints.
Domains that own tables (code sets, remittances, ...) keep their own set in their package and
are listed in MIGRATION_SETS, after core.
"""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

from .migrations import exec_statements

core = Migrations("billadmin.core")


_exec = exec_statements  # the short name the migrations below use


@core()
def m001_practice_and_parties(db):
    "The parties every claim names: the billing practice, rendering providers, payers, patients."
    _exec(
        db,
        """
    CREATE TABLE practice (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL, npi TEXT NOT NULL, tax_id TEXT NOT NULL, taxonomy TEXT,
        address1 TEXT NOT NULL, address2 TEXT, city TEXT NOT NULL, state TEXT NOT NULL,
        zip TEXT NOT NULL, phone TEXT, contact_name TEXT,
        submitter_id TEXT, receiver_id TEXT, receiver_name TEXT
    ) STRICT;
    CREATE TABLE providers (
        id INTEGER PRIMARY KEY,
        npi TEXT NOT NULL UNIQUE, first_name TEXT, last_name TEXT NOT NULL,
        taxonomy TEXT, active INTEGER NOT NULL DEFAULT 1
    ) STRICT;
    CREATE TABLE payers (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('medicare','medicaid','hmo','commercial','self')),
        x12_payer_id TEXT,
        address1 TEXT, city TEXT, state TEXT, zip TEXT,
        timely_filing_days INTEGER, timely_filing_months INTEGER,
        appeal_days INTEGER NOT NULL DEFAULT 120,
        corrected_claim_days INTEGER
    ) STRICT;
    CREATE TABLE patients (
        id INTEGER PRIMARY KEY,
        mrn TEXT NOT NULL UNIQUE,
        first_name TEXT NOT NULL, last_name TEXT NOT NULL, dob TEXT NOT NULL,
        sex TEXT NOT NULL CHECK (sex IN ('M','F','U')),
        address1 TEXT, address2 TEXT, city TEXT, state TEXT, zip TEXT, phone TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL
    ) STRICT;
    CREATE TABLE coverages (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        payer_id INTEGER NOT NULL REFERENCES payers(id),
        member_id TEXT NOT NULL, group_number TEXT,
        relationship TEXT NOT NULL DEFAULT 'self' CHECK (relationship IN ('self','spouse','child','other')),
        subscriber_first TEXT, subscriber_last TEXT, subscriber_dob TEXT, subscriber_sex TEXT,
        priority INTEGER NOT NULL DEFAULT 1 CHECK (priority IN (1,2,3)),
        effective_from TEXT NOT NULL, effective_to TEXT,
        copay_cents INTEGER NOT NULL DEFAULT 0 CHECK (copay_cents >= 0),
        UNIQUE (patient_id, payer_id, member_id, effective_from)
    ) STRICT;
    CREATE INDEX coverages_patient ON coverages(patient_id)
    """,
    )


@core()
def m002_encounters_and_charges(db):
    "What was done: encounters with ordered diagnoses, and the charge lines to bill."
    _exec(
        db,
        """
    CREATE TABLE encounters (
        id INTEGER PRIMARY KEY,
        number TEXT NOT NULL UNIQUE,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        provider_id INTEGER NOT NULL REFERENCES providers(id),
        date_of_service TEXT NOT NULL,
        place_of_service TEXT NOT NULL DEFAULT '11'
    ) STRICT;
    CREATE INDEX encounters_patient ON encounters(patient_id);
    CREATE INDEX encounters_dos ON encounters(date_of_service);
    CREATE TABLE encounter_diagnoses (
        encounter_id INTEGER NOT NULL REFERENCES encounters(id),
        seq INTEGER NOT NULL CHECK (seq BETWEEN 1 AND 12),
        code TEXT NOT NULL,
        PRIMARY KEY (encounter_id, seq)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE charge_lines (
        id INTEGER PRIMARY KEY,
        encounter_id INTEGER NOT NULL REFERENCES encounters(id),
        line_no INTEGER NOT NULL CHECK (line_no >= 1),
        code TEXT NOT NULL,
        modifier1 TEXT, modifier2 TEXT, modifier3 TEXT, modifier4 TEXT,
        dx_pointers TEXT NOT NULL DEFAULT '',
        units INTEGER NOT NULL DEFAULT 1,
        charge_cents INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'unbilled' CHECK (status IN ('unbilled','billed','void')),
        UNIQUE (encounter_id, line_no)
    ) STRICT;
    CREATE INDEX charge_lines_status ON charge_lines(status)
    """,
    )


@core()
def m003_invoices_ledger(db):
    """Invoices (claims, patient invoices, credit notes) are immutable once issued; money moves
    by payments and adjustments."""
    _exec(
        db,
        """
    CREATE TABLE series (
        kind TEXT PRIMARY KEY CHECK (kind IN ('claim','patient','credit')),
        prefix TEXT NOT NULL,
        next_number INTEGER NOT NULL DEFAULT 1
    ) STRICT;
    INSERT INTO series (kind, prefix) VALUES ('claim','C'), ('patient','P'), ('credit','CN');
    CREATE TABLE invoices (
        id INTEGER PRIMARY KEY,
        number TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('claim','patient','credit')),
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        payer_id INTEGER REFERENCES payers(id),
        coverage_id INTEGER REFERENCES coverages(id),
        encounter_id INTEGER REFERENCES encounters(id),
        original_invoice_id INTEGER REFERENCES invoices(id),
        frequency_code TEXT NOT NULL DEFAULT '1',
        issued_on TEXT NOT NULL,
        due_on TEXT,
        filing_deadline TEXT,
        total_cents INTEGER NOT NULL,
        copay_cents INTEGER NOT NULL DEFAULT 0,
        content_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX invoices_patient ON invoices(patient_id);
    CREATE INDEX invoices_encounter ON invoices(encounter_id);
    CREATE TABLE invoice_lines (
        id INTEGER PRIMARY KEY,
        invoice_id INTEGER NOT NULL REFERENCES invoices(id),
        line_no INTEGER NOT NULL,
        charge_line_id INTEGER REFERENCES charge_lines(id),
        date_of_service TEXT,
        code TEXT, modifiers TEXT NOT NULL DEFAULT '', units INTEGER NOT NULL DEFAULT 1,
        description TEXT,
        amount_cents INTEGER NOT NULL,
        UNIQUE (invoice_id, line_no)
    ) STRICT;
    CREATE TABLE invoice_events (
        id INTEGER PRIMARY KEY,
        invoice_id INTEGER NOT NULL REFERENCES invoices(id),
        status TEXT NOT NULL,
        at TEXT NOT NULL,
        note TEXT
    ) STRICT;
    CREATE INDEX invoice_events_invoice ON invoice_events(invoice_id);
    CREATE TABLE payments (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('insurance','patient','copay','refund')),
        patient_id INTEGER REFERENCES patients(id),
        payer_id INTEGER REFERENCES payers(id),
        amount_cents INTEGER NOT NULL,
        method TEXT, reference TEXT,
        received_on TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE TABLE payment_allocations (
        id INTEGER PRIMARY KEY,
        payment_id INTEGER NOT NULL REFERENCES payments(id),
        invoice_id INTEGER NOT NULL REFERENCES invoices(id),
        invoice_line_id INTEGER REFERENCES invoice_lines(id),
        amount_cents INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX payment_allocations_invoice ON payment_allocations(invoice_id);
    CREATE TABLE adjustments (
        id INTEGER PRIMARY KEY,
        invoice_id INTEGER NOT NULL REFERENCES invoices(id),
        invoice_line_id INTEGER REFERENCES invoice_lines(id),
        group_code TEXT, reason_code TEXT,
        amount_cents INTEGER NOT NULL,
        source TEXT NOT NULL,
        created_on TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX adjustments_invoice ON adjustments(invoice_id);
    CREATE TRIGGER invoices_immutable_update BEFORE UPDATE ON invoices
        BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable: void with a credit note'); END;
    CREATE TRIGGER invoices_immutable_delete BEFORE DELETE ON invoices
        BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable: void with a credit note'); END;
    CREATE TRIGGER invoice_lines_immutable_update BEFORE UPDATE ON invoice_lines
        BEGIN SELECT RAISE(ABORT, 'issued invoice lines are immutable'); END;
    CREATE TRIGGER invoice_lines_immutable_delete BEFORE DELETE ON invoice_lines
        BEGIN SELECT RAISE(ABORT, 'issued invoice lines are immutable'); END
    """,
    )


@core()
def m004_imports_and_audit(db):
    """Import batches make imports traceable and idempotent; the audit log is append-only and
    hash-chained (45 CFR 164.312(b))."""
    _exec(
        db,
        """
    CREATE TABLE settings (
        key TEXT PRIMARY KEY, value TEXT NOT NULL
    ) STRICT;
    CREATE TABLE import_batches (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL, file_name TEXT NOT NULL, sha256 TEXT NOT NULL,
        rows_total INTEGER NOT NULL DEFAULT 0, inserted INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL DEFAULT 0, unchanged INTEGER NOT NULL DEFAULT 0,
        conflicts INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,
        os_user TEXT NOT NULL, at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX import_batches_sha ON import_batches(sha256);
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL, os_user TEXT NOT NULL, command TEXT NOT NULL,
        action TEXT NOT NULL, entity TEXT, entity_ids TEXT, row_count INTEGER,
        detail TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
    ) STRICT;
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
    """,
    )


@core()
def m005_ledger_views(db):
    "One definition of an invoice's balance and status that every report and check shares."
    _exec(
        db,
        """
    CREATE VIEW invoice_balances AS
    SELECT i.id AS invoice_id, i.number, i.kind, i.patient_id, i.payer_id, i.total_cents,
           COALESCE((SELECT SUM(c.total_cents) FROM invoices c
                     WHERE c.original_invoice_id = i.id AND c.kind = 'credit'), 0) AS credited_cents,
           COALESCE((SELECT SUM(a.amount_cents) FROM payment_allocations a WHERE a.invoice_id = i.id), 0) AS paid_cents,
           COALESCE((SELECT SUM(d.amount_cents) FROM adjustments d WHERE d.invoice_id = i.id), 0) AS adjusted_cents
    FROM invoices i WHERE i.kind != 'credit';
    CREATE VIEW invoice_status AS
    SELECT e.invoice_id, e.status, e.at FROM invoice_events e
    WHERE e.id = (SELECT MAX(e2.id) FROM invoice_events e2 WHERE e2.invoice_id = e.invoice_id)
    """,
    )


@core()
def m006_deidentification_keys(db):
    "Random keys for de-identified exports (Safe Harbor): stable per patient and claim, unrelated to any identifier."
    _exec(
        db,
        """
    CREATE TABLE deid_patient_keys (
        patient_id INTEGER PRIMARY KEY REFERENCES patients(id), key TEXT NOT NULL UNIQUE
    ) STRICT;
    CREATE TABLE deid_claim_keys (
        invoice_id INTEGER PRIMARY KEY REFERENCES invoices(id), key TEXT NOT NULL UNIQUE
    ) STRICT
    """,
    )


def MIGRATION_SETS():
    """All sets in apply order. Later domains append theirs here."""
    from .accounts.schema import accounts  # receipts, patient credit, notes, appeals
    from .billing.schema import (
        billing,
    )  # X12 control numbers, invoice files and snapshots, claim queue
    from .codesets.schema import (
        codesets,
    )  # code sets (ICD-10-CM, HCPCS, CPT, modifiers), NCCI PTP and MUE
    from .ingest.schema import ingest  # fee schedule (imported with `import fee-schedule`)
    from .reconcile.schema import reconcile  # reconciliation run history
    from .remit.schema import remit  # 835 remittances as read, CARC/RARC meanings

    return [core, accounts, remit, reconcile, ingest, codesets, billing]
