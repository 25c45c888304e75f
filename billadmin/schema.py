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


@core()
def m007_encounters_patient_day(db):
    "Encounters by patient and date of service (a run's same-day visits); it serves patient lookups too."
    _exec(
        db,
        """
    DROP INDEX IF EXISTS encounters_patient;
    CREATE INDEX encounters_patient_day ON encounters(patient_id, date_of_service)
    """,
    )


def MIGRATION_SETS():
    """All sets in apply order. Later domains append theirs here."""
    from .accounts.schema import accounts  # receipts, patient credit, notes, appeals
    from .acks.schema import acks  # 999/277CA acknowledgements, resends, 276 requests (issue 16)
    from .auths.schema import auths  # prior authorizations, payer requirements (issue 20)
    from .billing.schema import (
        billing,
    )  # X12 control numbers, invoice files and snapshots, claim queue
    from .codesets.schema import (
        codesets,
    )  # code sets (ICD-10-CM, HCPCS, CPT, modifiers), NCCI PTP and MUE
    from .eligibility.schema import eligibility  # 270 requests sent, 271 answers read
    from .ingest.schema import ingest  # fee schedule (imported with `import fee-schedule`)
    from .institutional.schema import institutional  # facilities, 837I claims (issue 17)
    from .pricing.schema import pricing  # charge master and payer contracts (issue 18)
    from .reconcile.schema import reconcile  # reconciliation run history
    from .remit.schema import remit  # 835 remittances as read, CARC/RARC meanings
    from .statements.schema import statements  # statement cycles, plans, collections

    # integrity last: its triggers and seals span the other sets' tables
    return [
        core,
        accounts,
        remit,
        reconcile,
        ingest,
        codesets,
        billing,
        statements,
        eligibility,
        auths,
        acks,
        pricing,
        institutional,
        integrity,
    ]


# ---- integrity: applied after every domain's set, because its triggers span their tables ------

integrity = Migrations("billadmin.integrity")

# Money and ledger rows: append-only. Where posting sets a status column once after inserting
# the row (remit_claims.outcome and .note, remit_transactions' posted/unmatched/skipped totals,
# set by remit/post.py in the same transaction), only the money and identity columns are frozen.
_M002_APPEND_ONLY = {
    "payments": None,
    "payment_allocations": None,
    "adjustments": None,
    "invoice_events": None,
    "receipts": None,
    "remit_transactions": (
        "id, file_id, st_control, payer_key, payer_id, handling_code, credit_debit, amount_cents,"
        " payment_date, trace_number, reversal_only, claims_paid_cents, plb_cents"
    ),
    "remit_claims": (
        "id, transaction_id, seq, claim_number, invoice_id, status_code, charge_cents, paid_cents,"
        " patient_resp_cents, payer_claim_number, reverses_id"
    ),
    "remit_lines": None,
    "remit_adjustments": None,
    "remit_plb": None,
    "remit_payments": None,
}
# money tables added after m002 (their triggers and seals come from m003_clerk_ledger): why a
# clerk adjusted a balance is part of the ledger entry it explains
_M003_APPEND_ONLY: dict[str, str | None] = {"clerk_adjustments": None}
# statements stated, plan terms and status, plan payments, collections write-offs/recoveries
_M004_STATEMENTS_APPEND_ONLY: dict[str, str | None] = dict.fromkeys(
    (
        "statements",
        "payment_plans",
        "plan_events",
        "plan_payments",
        "collection_accounts",
        "collection_entries",
    )
)
# money a payer takes back from a claim (refund by check, PLB recoupment): remit m005
_M005_REMIT_APPEND_ONLY: dict[str, str | None] = {"payer_returns": None}
# Medicare's inpatient/outpatient adjudication of a claim payment (835 MIA/MOA): remit m006
_M006_REMIT_APPEND_ONLY: dict[str, str | None] = {"remit_adjudications": None}
APPEND_ONLY = {
    **_M002_APPEND_ONLY,
    **_M003_APPEND_ONLY,
    **_M004_STATEMENTS_APPEND_ONLY,
    **_M005_REMIT_APPEND_ONLY,
    **_M006_REMIT_APPEND_ONLY,
}

# Rows sealed into the keyed ledger chain (audit.seal): every insert, update and delete is
# queued in seal_pending by a trigger and sealed by the transaction that made it, so a change
# made outside billadmin (or a row deleted with its seal) is found by `billadmin check`.
_M002_SEALED = (
    "payments",
    "payment_allocations",
    "adjustments",
    "invoice_events",
    "receipts",
    "unapplied_credits",
    "remit_transactions",
    "remit_claims",
    "remit_lines",
    "remit_adjustments",
    "remit_plb",
    "invoices",
    "invoice_lines",
    "invoice_snapshots",
    "invoice_files",
    "x12_interchanges",
    "patients",
    "coverages",
)
_M003_SEALED = ("clerk_adjustments",)
_M004_STATEMENTS_SEALED = (
    "statements",
    "payment_plans",
    "plan_payments",
    "collection_accounts",
    "collection_entries",
)
_M005_REMIT_SEALED = ("payer_returns",)
_M006_REMIT_SEALED = ("remit_adjudications",)
SEALED = (
    _M002_SEALED + _M003_SEALED + _M004_STATEMENTS_SEALED + _M005_REMIT_SEALED + _M006_REMIT_SEALED
)


def _append_only_sql(table: str, columns: str | None) -> str:
    msg = f"{table} rows are append-only: record a correcting row"
    of = f" OF {columns}" if columns else ""
    return (
        f"CREATE TRIGGER {table}_append_only_update BEFORE UPDATE{of} ON {table}\n"
        f"        BEGIN SELECT RAISE(ABORT, '{msg}'); END;\n"
        f"    CREATE TRIGGER {table}_append_only_delete BEFORE DELETE ON {table}\n"
        f"        BEGIN SELECT RAISE(ABORT, '{msg}'); END;\n"
    )


def _seal_sql(table: str) -> str:
    return "".join(
        f"CREATE TRIGGER {table}_seal_{op.lower()} AFTER {op} ON {table}\n"
        f"        BEGIN INSERT INTO seal_pending (tbl, row_id) VALUES ('{table}', {ref}.rowid); END;\n"
        for op, ref in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
    )


@integrity()
def m001_keyed_audit(db):
    """Audit ids are never reused (AUTOINCREMENT: a cut tail leaves a gap), and rows from here on
    are keyed (HMAC with a secret kept outside the database); older rows stay a sha256 chain."""
    _exec(
        db,
        """
    CREATE TABLE audit_log_v2 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL, os_user TEXT NOT NULL, command TEXT NOT NULL,
        action TEXT NOT NULL, entity TEXT, entity_ids TEXT, row_count INTEGER,
        detail TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
    ) STRICT;
    INSERT INTO audit_log_v2 (id, at, os_user, command, action, entity, entity_ids, row_count,
        detail, prev_hash, hash)
        SELECT id, at, os_user, command, action, entity, entity_ids, row_count, detail, prev_hash,
        hash FROM audit_log ORDER BY id;
    DROP TABLE audit_log;
    ALTER TABLE audit_log_v2 RENAME TO audit_log;
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TABLE db_identity (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        db_id TEXT NOT NULL, audit_keyed_from INTEGER NOT NULL
    ) STRICT;
    INSERT INTO db_identity (id, db_id, audit_keyed_from)
        VALUES (1, lower(hex(randomblob(16))), (SELECT COALESCE(MAX(id), 0) + 1 FROM audit_log));
    CREATE TRIGGER db_identity_no_update BEFORE UPDATE ON db_identity
        BEGIN SELECT RAISE(ABORT, 'the database id is fixed'); END;
    CREATE TRIGGER db_identity_no_delete BEFORE DELETE ON db_identity
        BEGIN SELECT RAISE(ABORT, 'the database id is fixed'); END
    """,
    )


@integrity()
def m002_append_only_ledger(db):
    """Money rows are never changed or deleted (corrections are new rows); each row is sealed
    into a keyed chain so a change behind billadmin's back is found by `billadmin check`."""
    sql = """
    CREATE TABLE seal_pending (
        id INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, row_id INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE row_seals (
        id INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, row_id INTEGER NOT NULL,
        digest TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
    ) STRICT;
    CREATE INDEX row_seals_row ON row_seals(tbl, row_id, id);
    CREATE TRIGGER row_seals_no_update BEFORE UPDATE ON row_seals
        BEGIN SELECT RAISE(ABORT, 'seals are append-only'); END;
    CREATE TRIGGER row_seals_no_delete BEFORE DELETE ON row_seals
        BEGIN SELECT RAISE(ABORT, 'seals are append-only'); END;
    """
    _exec(db, sql + _protect_sql(_M002_APPEND_ONLY, _M002_SEALED))


def _protect_sql(append_only: dict[str, str | None], sealed: tuple[str, ...]) -> str:
    sql = ""
    for table, columns in append_only.items():
        sql += "    " + _append_only_sql(table, columns)
    for table in sealed:
        sql += "    " + _seal_sql(table)
        # rows already there are sealed by the transaction that applies this migration
        sql += f"    INSERT INTO seal_pending (tbl, row_id) SELECT '{table}', rowid FROM {table};\n"
    return sql


@integrity()
def m003_clerk_ledger(db):
    """A clerk's write-off, transfer or EOB reason (clerk_adjustments) is part of the money
    ledger: append-only and sealed like the adjustment it explains."""
    _exec(db, _protect_sql(_M003_APPEND_ONLY, _M003_SEALED))


@integrity()
def m004_statements_ledger(db):
    """What a statement stated, a plan's terms, the payments that paid it and the write-offs and
    recoveries of a collections hand-off are ledger: append-only and sealed."""
    _exec(db, _protect_sql(_M004_STATEMENTS_APPEND_ONLY, _M004_STATEMENTS_SEALED))


@integrity()
def m005_remit_payer_returns(db):
    """A refund to a payer or a PLB recoupment (payer_returns) explains a negative insurance
    payment on a claim: money ledger, append-only and sealed like the payment."""
    _exec(db, _protect_sql(_M005_REMIT_APPEND_ONLY, _M005_REMIT_SEALED))


@integrity()
def m006_remit_adjudication(db):
    """Medicare's MIA/MOA adjudication of a claim payment (remit_adjudications) is evidence like
    the claim payment it belongs to: append-only and sealed."""
    _exec(db, _protect_sql(_M006_REMIT_APPEND_ONLY, _M006_REMIT_SEALED))


@integrity()
def m007_seal_batches(db):
    """A run's planned rows (`invoice generate`) are sealed by one record per batch of
    consecutive ids holding each row's digest (audit.insert_planned) instead of one record a
    row: a batch record is a row_seals row with last_id and the packed digests, in the same
    keyed chain, so per-row seals made before stay valid."""
    _exec(
        db,
        """
    ALTER TABLE row_seals ADD COLUMN last_id INTEGER;
    ALTER TABLE row_seals ADD COLUMN digests BLOB;
    CREATE INDEX row_seals_batches ON row_seals(id) WHERE last_id IS NOT NULL
    """,
    )


# the tables sealed when m008_seal_window was written: their insert triggers honour the window
_M008_WINDOW = (
    _M002_SEALED + _M003_SEALED + _M004_STATEMENTS_SEALED + _M005_REMIT_SEALED + _M006_REMIT_SEALED
)


@integrity()
def m008_seal_window(db):
    """Rows copied under a batch seal (audit.insert_planned) are not queued one by one in
    seal_pending: while a seal_window row names their table and id range the insert trigger
    skips them; billadmin opens it for one statement and the seal refuses to commit a
    transaction that opened one it cannot account for."""
    sql = """
    CREATE TABLE seal_window (
        id INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL,
        first_id INTEGER NOT NULL, last_id INTEGER NOT NULL
    ) STRICT;
    """
    for t in _M008_WINDOW:
        sql += (
            f"    DROP TRIGGER {t}_seal_insert;\n"
            f"    CREATE TRIGGER {t}_seal_insert AFTER INSERT ON {t}\n"
            f"        WHEN NOT EXISTS (SELECT 1 FROM seal_window w WHERE w.tbl = '{t}'"
            " AND NEW.rowid BETWEEN w.first_id AND w.last_id)\n"
            f"        BEGIN INSERT INTO seal_pending (tbl, row_id) VALUES ('{t}', NEW.rowid); END;\n"
        )
    _exec(db, sql)
