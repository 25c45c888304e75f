"""Tables the import domain owns (appended to schema.MIGRATION_SETS after core)."""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

ingest = Migrations("billadmin.ingest")


@ingest()
def m001_fee_schedule(db):
    """Expected fees per payer (or every payer: payer_id NULL, written "default" in files),
    dated so fee changes keep history."""
    for stmt in (
        """CREATE TABLE fee_schedule (
            id INTEGER PRIMARY KEY,
            payer_id INTEGER REFERENCES payers(id),
            code TEXT NOT NULL,
            modifier TEXT NOT NULL DEFAULT '',
            amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
            effective_from TEXT NOT NULL,
            effective_to TEXT,
            CHECK (effective_to IS NULL OR effective_to >= effective_from)
        ) STRICT""",
        # NULL payer_id would make every "default" row distinct under a plain UNIQUE: key on COALESCE
        "CREATE UNIQUE INDEX fee_schedule_key ON fee_schedule (COALESCE(payer_id, 0), code, modifier, effective_from)",
        "CREATE INDEX fee_schedule_code ON fee_schedule (code)",
    ):
        db.execute(stmt)


@ingest()
def m002_claim_fields(db):
    """What real claims carry beyond code and charge (issue 20), in their own tables so a charge
    file without these columns costs nothing: per line the drug (NDC, unit, quantity: 837P 2410),
    ordering and referring providers (2420E/2420F), prior authorization and referral numbers
    (REF*G1/9F) and CLIA number (REF*X4); per encounter the claim dates (2300 DTP*431/454/304/439)
    and the accident's cause and state (CLM11)."""
    for stmt in (
        """CREATE TABLE charge_line_fields (
            encounter_id INTEGER NOT NULL REFERENCES encounters(id),
            line_no INTEGER NOT NULL,
            ndc TEXT, ndc_unit TEXT, ndc_quantity TEXT,
            ordering_npi TEXT, ordering_last TEXT, ordering_first TEXT,
            referring_npi TEXT, referring_last TEXT, referring_first TEXT,
            prior_auth TEXT, referral_number TEXT, clia TEXT,
            PRIMARY KEY (encounter_id, line_no)
        ) STRICT, WITHOUT ROWID""",
        """CREATE TABLE encounter_fields (
            encounter_id INTEGER PRIMARY KEY REFERENCES encounters(id),
            onset_date TEXT, initial_treatment_date TEXT, last_seen_date TEXT,
            accident_date TEXT, accident_cause TEXT, accident_state TEXT
        ) STRICT""",
    ):
        db.execute(stmt)
