"""The eligibility domain's tables (applied after core and billing: they name patients,
coverages and payers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils.migrations import Migrations

from ..migrations import exec_statements as _exec

if TYPE_CHECKING:
    from ..db import Database

eligibility = Migrations("billadmin.eligibility")


@eligibility()
def m001_eligibility_requests_and_answers(db: Database):
    """A 271 is matched to the 270 that asked by its trace number (TRN02), so each request is
    recorded with the patient and coverage it asked about; answers are kept as read (append-only)
    and a file read twice is recognised by its hash."""
    _exec(
        db,
        """
    CREATE TABLE eligibility_files (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('270', '271')),
        payer_id INTEGER REFERENCES payers(id),
        isa_control TEXT NOT NULL, gs_control TEXT NOT NULL,
        path TEXT NOT NULL, sha256 TEXT NOT NULL,
        transactions INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX eligibility_files_271_sha ON eligibility_files(sha256) WHERE kind = '271';
    CREATE TABLE eligibility_requests (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES eligibility_files(id),
        trace TEXT NOT NULL UNIQUE,
        st_control TEXT NOT NULL,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        coverage_id INTEGER NOT NULL REFERENCES coverages(id),
        service_date TEXT NOT NULL,
        reason TEXT NOT NULL CHECK (reason IN ('appointment', 'expiring')),
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX eligibility_requests_patient ON eligibility_requests(patient_id);
    CREATE TABLE eligibility_answers (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES eligibility_files(id),
        request_id INTEGER NOT NULL REFERENCES eligibility_requests(id),
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        coverage_id INTEGER NOT NULL REFERENCES coverages(id),
        st_control TEXT NOT NULL,
        answered_on TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'rejected', 'unknown')),
        reject_code TEXT,
        plan_begin TEXT, plan_end TEXT,
        copay_cents INTEGER CHECK (copay_cents IS NULL OR copay_cents >= 0),
        coinsurance_pct TEXT,
        deductible_cents INTEGER, deductible_remaining_cents INTEGER,
        corrected INTEGER NOT NULL DEFAULT 0,
        payer_data TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX eligibility_answers_patient ON eligibility_answers(patient_id, answered_on);
    CREATE INDEX eligibility_answers_coverage ON eligibility_answers(coverage_id, answered_on);
    CREATE TRIGGER eligibility_answers_no_update BEFORE UPDATE ON eligibility_answers
        BEGIN SELECT RAISE(ABORT, 'eligibility answers are kept as read'); END;
    CREATE TRIGGER eligibility_answers_no_delete BEFORE DELETE ON eligibility_answers
        BEGIN SELECT RAISE(ABORT, 'eligibility answers are kept as read'); END;
    CREATE TABLE eligibility_applied (
        answer_id INTEGER PRIMARY KEY REFERENCES eligibility_answers(id),
        fields TEXT NOT NULL,
        at TEXT NOT NULL
    ) STRICT
    """,
    )
