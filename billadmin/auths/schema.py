"""Tables of the authorization register (appended to schema.MIGRATION_SETS before integrity)."""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

auths = Migrations("billadmin.auths")


@auths()
def m001_authorizations(db):
    """Prior authorizations and referrals a payer granted for a patient: the codes, the dates
    and the visits allowed (visits used before the register counts them: visits_used_before);
    and the payer rules that say which codes need an authorization, an NDC or a referring
    provider, beyond the built-in ones (auths/rules.py)."""
    for stmt in (
        """CREATE TABLE authorizations (
            id INTEGER PRIMARY KEY,
            payer_id INTEGER NOT NULL REFERENCES payers(id),
            patient_id INTEGER NOT NULL REFERENCES patients(id),
            number TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'prior_auth' CHECK (kind IN ('prior_auth', 'referral')),
            codes TEXT NOT NULL,
            valid_from TEXT NOT NULL,
            valid_to TEXT NOT NULL,
            visits_allowed INTEGER CHECK (visits_allowed IS NULL OR visits_allowed > 0),
            visits_used_before INTEGER NOT NULL DEFAULT 0 CHECK (visits_used_before >= 0),
            created_at TEXT NOT NULL,
            UNIQUE (payer_id, number),
            CHECK (valid_to >= valid_from)
        ) STRICT""",
        "CREATE INDEX authorizations_patient ON authorizations (patient_id)",
        """CREATE TABLE payer_requirements (
            id INTEGER PRIMARY KEY,
            payer_id INTEGER NOT NULL REFERENCES payers(id),
            requirement TEXT NOT NULL CHECK (requirement IN ('auth', 'ndc', 'referring')),
            codes TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (payer_id, requirement, codes)
        ) STRICT""",
    ):
        db.execute(stmt)
