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
