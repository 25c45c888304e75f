"""The statement cycle's own tables: what was stated to whom and when, holds, payment plans,
collections hand-offs and follow-up dates.

Appended to schema.MIGRATION_SETS before integrity. Money still moves only through the core
ledger (payments, payment_allocations, adjustments); these tables say which statement stated a
balance, which payment paid a plan, which write-off sent an account to an agency and which
payment came back from it. Those link rows are append-only and sealed (schema.py integrity
m004_statements_ledger).
"""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

from ..migrations import exec_statements as _exec

statements = Migrations("billadmin.statements")


@statements()
def m001_statements_plans_collections(db):
    """Statement runs and the statements they recorded (so the next run knows what was stated
    last and at which dunning step), statement holds, payment plans with their status history
    and the payments that paid them, collections hand-offs with their write-offs and
    recoveries, and follow-up dates with an owner on notes and invoices."""
    _exec(
        db,
        """
    CREATE TABLE statement_runs (
        id INTEGER PRIMARY KEY,
        run_on TEXT NOT NULL,
        cycle_day INTEGER,
        out_dir TEXT,
        os_user TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (run_on, cycle_day)
    ) STRICT;
    CREATE TABLE statements (
        id INTEGER PRIMARY KEY,
        number TEXT NOT NULL UNIQUE,
        run_id INTEGER NOT NULL REFERENCES statement_runs(id),
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        stated_on TEXT NOT NULL,
        since_on TEXT,
        step TEXT NOT NULL,
        plan_id INTEGER,
        balance_cents INTEGER NOT NULL,
        oldest_days INTEGER NOT NULL,
        content TEXT NOT NULL,
        file TEXT,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX statements_patient ON statements(patient_id, stated_on);
    CREATE TABLE statement_holds (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        action TEXT NOT NULL CHECK (action IN ('hold','release')),
        reason TEXT NOT NULL,
        on_date TEXT NOT NULL,
        os_user TEXT NOT NULL,
        at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX statement_holds_patient ON statement_holds(patient_id);
    CREATE TABLE payment_plans (
        id INTEGER PRIMARY KEY,
        number TEXT NOT NULL UNIQUE,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        total_cents INTEGER NOT NULL CHECK (total_cents > 0),
        monthly_cents INTEGER NOT NULL CHECK (monthly_cents > 0),
        day INTEGER NOT NULL CHECK (day BETWEEN 1 AND 28),
        start_on TEXT NOT NULL,
        created_on TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX payment_plans_patient ON payment_plans(patient_id);
    CREATE TABLE plan_events (
        id INTEGER PRIMARY KEY,
        plan_id INTEGER NOT NULL REFERENCES payment_plans(id),
        status TEXT NOT NULL CHECK (status IN ('open','completed','cancelled')),
        on_date TEXT NOT NULL,
        note TEXT,
        at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX plan_events_plan ON plan_events(plan_id);
    CREATE TABLE plan_payments (
        id INTEGER PRIMARY KEY,
        plan_id INTEGER NOT NULL REFERENCES payment_plans(id),
        payment_id INTEGER NOT NULL UNIQUE REFERENCES payments(id),
        amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
        paid_on TEXT NOT NULL
    ) STRICT;
    CREATE INDEX plan_payments_plan ON plan_payments(plan_id);
    CREATE TABLE collection_accounts (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        statement_id INTEGER REFERENCES statements(id),
        agency TEXT NOT NULL,
        sent_on TEXT NOT NULL,
        amount_cents INTEGER NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX collection_accounts_patient ON collection_accounts(patient_id);
    CREATE TABLE collection_entries (
        id INTEGER PRIMARY KEY,
        collection_id INTEGER NOT NULL REFERENCES collection_accounts(id),
        kind TEXT NOT NULL CHECK (kind IN ('writeoff','recovery')),
        invoice_id INTEGER NOT NULL REFERENCES invoices(id),
        adjustment_id INTEGER NOT NULL UNIQUE REFERENCES adjustments(id),
        payment_id INTEGER REFERENCES payments(id),
        amount_cents INTEGER NOT NULL,
        on_date TEXT NOT NULL
    ) STRICT;
    CREATE INDEX collection_entries_collection ON collection_entries(collection_id);
    CREATE TABLE followups (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        invoice_id INTEGER REFERENCES invoices(id),
        note_id INTEGER REFERENCES account_notes(id),
        due_on TEXT NOT NULL,
        owner TEXT NOT NULL,
        done_on TEXT,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX followups_due ON followups(due_on)
    """,
    )
