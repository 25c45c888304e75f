"""The institutional domain's tables, as their own migration set (applied after billing).

A facility (the institutional billing provider: hospital, its outpatient departments) sits
beside the professional practice; each institutional claim is one encounter row (so accounts,
reports and deadlines see it like any other) with its UB-04 claim data in inst_* tables. The
claim has no charge_lines: its revenue lines are inst_lines, so the 837P run never picks it up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils.migrations import Migrations

from ..migrations import exec_statements as _exec

if TYPE_CHECKING:
    from ..db import Database

institutional = Migrations("billadmin.institutional")


@institutional()
def m001_facilities_and_claims(db: Database):
    """Facility claims (837I/UB-04) carry a type of bill, a statement period, admission data,
    coded occurrences and values, qualified diagnoses and procedures, and revenue lines, none
    of which fit the professional encounter; they are kept here, keyed by the encounter."""
    _exec(
        db,
        """
    CREATE TABLE facilities (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL, npi TEXT NOT NULL, tax_id TEXT NOT NULL, taxonomy TEXT,
        facility_type TEXT NOT NULL CHECK (facility_type GLOB '[1-8]'),
        address1 TEXT NOT NULL, address2 TEXT, city TEXT NOT NULL, state TEXT NOT NULL,
        zip TEXT NOT NULL, phone TEXT
    ) STRICT;
    CREATE TABLE inst_claims (
        id INTEGER PRIMARY KEY,
        encounter_id INTEGER NOT NULL UNIQUE REFERENCES encounters(id),
        facility_id INTEGER NOT NULL REFERENCES facilities(id),
        type_of_bill TEXT NOT NULL CHECK (type_of_bill GLOB '[1-8][1-9][0-9A-Z]'),
        statement_from TEXT NOT NULL, statement_through TEXT NOT NULL,
        admission_date TEXT, admission_hour TEXT, admission_type TEXT, admission_source TEXT,
        discharge_hour TEXT, patient_status TEXT,
        prior_auth TEXT,
        status TEXT NOT NULL DEFAULT 'unbilled' CHECK (status IN ('unbilled', 'billed')),
        batch_id INTEGER
    ) STRICT;
    CREATE INDEX inst_claims_status ON inst_claims(status);
    CREATE TABLE inst_claim_providers (
        claim_id INTEGER NOT NULL REFERENCES inst_claims(id),
        role TEXT NOT NULL CHECK (role IN ('attending', 'operating', 'other', 'referring')),
        npi TEXT NOT NULL, last_name TEXT NOT NULL, first_name TEXT,
        PRIMARY KEY (claim_id, role)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE inst_diagnoses (
        claim_id INTEGER NOT NULL REFERENCES inst_claims(id),
        seq INTEGER NOT NULL CHECK (seq >= 1),
        qualifier TEXT NOT NULL CHECK (qualifier IN ('ABK', 'ABJ', 'APR', 'ABF', 'ABN')),
        code TEXT NOT NULL,
        poa TEXT NOT NULL DEFAULT '' CHECK (poa IN ('Y', 'N', 'U', 'W', '1', '')),
        PRIMARY KEY (claim_id, seq)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE inst_procedures (
        claim_id INTEGER NOT NULL REFERENCES inst_claims(id),
        seq INTEGER NOT NULL CHECK (seq >= 1),
        qualifier TEXT NOT NULL CHECK (qualifier IN ('BBR', 'BBQ')),
        code TEXT NOT NULL, date TEXT NOT NULL,
        PRIMARY KEY (claim_id, seq)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE inst_codes (
        claim_id INTEGER NOT NULL REFERENCES inst_claims(id),
        kind TEXT NOT NULL CHECK (kind IN ('condition', 'occurrence', 'span', 'value')),
        seq INTEGER NOT NULL CHECK (seq >= 1),
        code TEXT NOT NULL,
        date_from TEXT, date_through TEXT, amount_cents INTEGER,
        PRIMARY KEY (claim_id, kind, seq)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE inst_lines (
        id INTEGER PRIMARY KEY,
        claim_id INTEGER NOT NULL REFERENCES inst_claims(id),
        line_no INTEGER NOT NULL CHECK (line_no >= 1),
        revenue_code TEXT NOT NULL CHECK (revenue_code GLOB '[0-9][0-9][0-9][0-9]'),
        hcpcs TEXT, modifier1 TEXT, modifier2 TEXT, modifier3 TEXT, modifier4 TEXT,
        units INTEGER NOT NULL CHECK (units >= 1),
        unit_type TEXT NOT NULL DEFAULT 'UN' CHECK (unit_type IN ('UN', 'DA')),
        charge_cents INTEGER NOT NULL CHECK (charge_cents >= 0),
        non_covered_cents INTEGER NOT NULL DEFAULT 0 CHECK (non_covered_cents >= 0),
        line_date TEXT,
        UNIQUE (claim_id, line_no)
    ) STRICT;
    CREATE TABLE inst_claim_invoices (
        invoice_id INTEGER PRIMARY KEY REFERENCES invoices(id),
        claim_id INTEGER NOT NULL REFERENCES inst_claims(id)
    ) STRICT;
    CREATE INDEX inst_claim_invoices_claim ON inst_claim_invoices(claim_id)
    """,
    )


@institutional()
def m002_claim_history(db: Database):
    """A claim corrected after import (`import institutional --correct`) keeps what it held
    before, one row per correction, never changed or deleted: a replacement claim (frequency 7)
    is explained by it."""
    _exec(
        db,
        """
    CREATE TABLE inst_claim_history (
        id INTEGER PRIMARY KEY,
        claim_id INTEGER NOT NULL REFERENCES inst_claims(id),
        data TEXT NOT NULL,
        replaced_at TEXT NOT NULL,
        batch_id INTEGER
    ) STRICT;
    CREATE INDEX inst_claim_history_claim ON inst_claim_history(claim_id);
    CREATE TRIGGER inst_claim_history_no_update BEFORE UPDATE ON inst_claim_history
        BEGIN SELECT RAISE(ABORT, 'claim history is append-only'); END;
    CREATE TRIGGER inst_claim_history_no_delete BEFORE DELETE ON inst_claim_history
        BEGIN SELECT RAISE(ABORT, 'claim history is append-only'); END
    """,
    )
