"""Code-set tables, versioned as their own migration set (appended to schema.MIGRATION_SETS).

Every code set load is a row of ``code_versions`` (system, label, the window of dates of service
the release covers, the file it came from). Every code row carries its own validity window
(``effective_from``/``effective_to``, ISO dates, inclusive): a later release closes the row of a
code it deletes or changes instead of deleting it, so a claim for an earlier date of service is
still checked against the code set that was in force then. ``effective_from`` NULL means "present
since the first release loaded" (history before that is unknown).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils.migrations import Migrations

from ..migrations import exec_statements as _exec

if TYPE_CHECKING:
    from ..db import Database

codesets = Migrations("billadmin.codesets")


@codesets()
def m001_code_sets(db: Database):
    "Code sets with a version label and a validity window per row, so DOS-dependent checks are SQL."
    _exec(
        db,
        """
    CREATE TABLE code_versions (
        id INTEGER PRIMARY KEY,
        code_system TEXT NOT NULL CHECK (code_system IN ('icd10cm','hcpcs','cpt','modifier','ncci-ptp','mue')),
        label TEXT NOT NULL,
        effective_from TEXT,
        effective_to TEXT,
        source TEXT NOT NULL,
        sha256 TEXT,
        row_count INTEGER NOT NULL DEFAULT 0,
        loaded_at TEXT NOT NULL,
        UNIQUE (code_system, label)
    ) STRICT;
    CREATE TABLE codes (
        id INTEGER PRIMARY KEY,
        code_system TEXT NOT NULL CHECK (code_system IN ('icd10cm','hcpcs','cpt','modifier')),
        code TEXT NOT NULL,
        kind TEXT NOT NULL,
        description TEXT NOT NULL,
        short_description TEXT,
        billable INTEGER NOT NULL CHECK (billable IN (0, 1)),
        parent TEXT,
        needs_7th INTEGER NOT NULL DEFAULT 0,
        effective_from TEXT,
        effective_to TEXT,
        version_id INTEGER NOT NULL REFERENCES code_versions(id)
    ) STRICT;
    CREATE UNIQUE INDEX codes_key ON codes(code_system, code, COALESCE(effective_from, ''));
    CREATE VIRTUAL TABLE codes_fts USING fts5(code, description, content='codes', content_rowid='id',
        tokenize='porter unicode61');
    CREATE TABLE icd10cm_excludes1 (
        code TEXT NOT NULL,
        ref_lo TEXT NOT NULL,
        ref_hi TEXT NOT NULL,
        note TEXT NOT NULL
    ) STRICT;
    CREATE INDEX icd10cm_excludes1_code ON icd10cm_excludes1(code);
    CREATE TABLE ncci_ptp (
        column1 TEXT NOT NULL,
        column2 TEXT NOT NULL,
        prior_1996 INTEGER NOT NULL DEFAULT 0,
        effective_from TEXT NOT NULL,
        deleted_on TEXT,
        modifier_indicator INTEGER NOT NULL CHECK (modifier_indicator IN (0, 1, 9)),
        rationale TEXT,
        version_id INTEGER NOT NULL REFERENCES code_versions(id)
    ) STRICT;
    CREATE INDEX ncci_ptp_pair ON ncci_ptp(column2, column1);
    CREATE TABLE mue (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL,
        mue_value INTEGER NOT NULL CHECK (mue_value >= 0),
        mai INTEGER NOT NULL CHECK (mai IN (1, 2, 3)),
        rationale TEXT,
        effective_from TEXT,
        effective_to TEXT,
        version_id INTEGER NOT NULL REFERENCES code_versions(id)
    ) STRICT;
    CREATE UNIQUE INDEX mue_key ON mue(code, COALESCE(effective_from, ''))
    """,
    )


@codesets()
def m002_icd9cm_and_gems(db: Database):
    """ICD-9-CM (legacy dates of service before 2015-10-01) and the CMS diagnosis GEMs both ways,
    in their own tables: code_versions' system list is a CHECK that a migration cannot widen."""
    _exec(
        db,
        """
    CREATE TABLE legacy_code_versions (
        id INTEGER PRIMARY KEY,
        code_system TEXT NOT NULL CHECK (code_system IN ('icd9cm','gem-9to10','gem-10to9')),
        label TEXT NOT NULL,
        effective_from TEXT,
        effective_to TEXT,
        source TEXT NOT NULL,
        license TEXT,
        sha256 TEXT,
        row_count INTEGER NOT NULL DEFAULT 0,
        loaded_at TEXT NOT NULL,
        UNIQUE (code_system, label)
    ) STRICT;
    CREATE TABLE icd9cm_codes (
        code TEXT PRIMARY KEY,
        description TEXT NOT NULL,
        short_description TEXT,
        effective_to TEXT NOT NULL,
        version_id INTEGER NOT NULL REFERENCES legacy_code_versions(id)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE gems (
        direction TEXT NOT NULL CHECK (direction IN ('9to10','10to9')),
        source TEXT NOT NULL,
        target TEXT,
        approximate INTEGER NOT NULL CHECK (approximate IN (0, 1)),
        no_map INTEGER NOT NULL CHECK (no_map IN (0, 1)),
        combination INTEGER NOT NULL CHECK (combination IN (0, 1)),
        scenario INTEGER NOT NULL CHECK (scenario BETWEEN 0 AND 9),
        choice_list INTEGER NOT NULL CHECK (choice_list BETWEEN 0 AND 9),
        version_id INTEGER NOT NULL REFERENCES legacy_code_versions(id)
    ) STRICT;
    CREATE INDEX gems_source ON gems(direction, source)
    """,
    )


@codesets()
def m003_necessity_policies(db: Database):
    """Medical-necessity policies (CMS lab NCD code lists, MCD Billing and Coding Articles), one
    snapshot per load kept with its window, so a DOS is checked against the policy then in force."""
    _exec(
        db,
        """
    CREATE TABLE necessity_versions (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('lab-ncd','mcd-articles')),
        label TEXT NOT NULL,
        effective_from TEXT NOT NULL,
        effective_to TEXT,
        source TEXT NOT NULL,
        sha256 TEXT,
        row_count INTEGER NOT NULL DEFAULT 0,
        loaded_at TEXT NOT NULL,
        UNIQUE (kind, label)
    ) STRICT;
    CREATE TABLE necessity_policies (
        version_id INTEGER NOT NULL REFERENCES necessity_versions(id),
        policy TEXT NOT NULL,
        title TEXT,
        effective_from TEXT,
        effective_to TEXT,
        contractor TEXT,
        PRIMARY KEY (version_id, policy)
    ) STRICT;
    CREATE TABLE necessity_codes (
        version_id INTEGER NOT NULL REFERENCES necessity_versions(id),
        policy TEXT NOT NULL,
        list TEXT NOT NULL CHECK (list IN ('hcpcs','covered','noncovered','nonsupport')),
        code TEXT NOT NULL,
        grp INTEGER,
        description TEXT
    ) STRICT;
    CREATE INDEX necessity_codes_version ON necessity_codes(version_id, policy, list)
    """,
    )


@codesets()
def m004_icd10pcs(db: Database):
    """ICD-10-PCS (inpatient procedures) from CMS's order file, each release a version with its
    window and each code row its own window, like ICD-10-CM; in their own tables because
    code_versions' system list is a CHECK that a migration cannot widen."""
    _exec(
        db,
        """
    CREATE TABLE pcs_versions (
        id INTEGER PRIMARY KEY,
        label TEXT NOT NULL UNIQUE,
        effective_from TEXT NOT NULL,
        effective_to TEXT,
        source TEXT NOT NULL,
        license TEXT,
        sha256 TEXT,
        row_count INTEGER NOT NULL DEFAULT 0,
        loaded_at TEXT NOT NULL
    ) STRICT;
    CREATE TABLE pcs_codes (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL,
        description TEXT NOT NULL,
        short_description TEXT,
        billable INTEGER NOT NULL CHECK (billable IN (0, 1)),
        effective_from TEXT,
        effective_to TEXT,
        version_id INTEGER NOT NULL REFERENCES pcs_versions(id)
    ) STRICT;
    CREATE UNIQUE INDEX pcs_codes_key ON pcs_codes(code, COALESCE(effective_from, ''))
    """,
    )


@codesets()
def m005_necessity_group_paragraphs(db: Database):
    """The MCD articles' group paragraphs (article_x_icd10_covered_group.csv): a group of
    covered diagnoses may be covered only in combination with another group's, which only the
    paragraph says; stored with the snapshot so the finding can quote it."""
    _exec(
        db,
        """
    CREATE TABLE necessity_groups (
        version_id INTEGER NOT NULL REFERENCES necessity_versions(id),
        policy TEXT NOT NULL,
        list TEXT NOT NULL CHECK (list IN ('covered', 'noncovered')),
        grp INTEGER NOT NULL,
        paragraph TEXT NOT NULL,
        PRIMARY KEY (version_id, policy, list, grp)
    ) STRICT
    """,
    )


@codesets()
def m006_institutional_reference(db: Database):
    """The reference files of the institutional scrub rules (codesets/instref.py): CMS's POA-exempt
    list per fiscal year, the hospital outpatient NCCI PTP edits and MUEs (the practitioner
    tables' columns; their own tables, since ncci_ptp and mue point at code_versions, whose system
    list is a CHECK that a migration cannot widen) and the I/OCE revenue codes needing HCPCS."""
    _exec(
        db,
        """
    CREATE TABLE inst_ref_versions (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL
            CHECK (kind IN ('poa-exempt','ncci-hospital','mue-hospital','ioce-revenue')),
        label TEXT NOT NULL,
        effective_from TEXT NOT NULL,
        effective_to TEXT,
        source TEXT NOT NULL,
        sha256 TEXT,
        row_count INTEGER NOT NULL DEFAULT 0,
        loaded_at TEXT NOT NULL,
        UNIQUE (kind, label)
    ) STRICT;
    CREATE TABLE poa_exempt (
        version_id INTEGER NOT NULL REFERENCES inst_ref_versions(id),
        code TEXT NOT NULL,
        PRIMARY KEY (version_id, code)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE ncci_ptp_hospital (
        column1 TEXT NOT NULL,
        column2 TEXT NOT NULL,
        prior_1996 INTEGER NOT NULL DEFAULT 0,
        effective_from TEXT NOT NULL,
        deleted_on TEXT,
        modifier_indicator INTEGER NOT NULL CHECK (modifier_indicator IN (0, 1, 9)),
        rationale TEXT,
        version_id INTEGER NOT NULL REFERENCES inst_ref_versions(id)
    ) STRICT;
    CREATE INDEX ncci_ptp_hospital_pair ON ncci_ptp_hospital(column2, column1);
    CREATE TABLE mue_hospital (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL,
        mue_value INTEGER NOT NULL CHECK (mue_value >= 0),
        mai INTEGER NOT NULL CHECK (mai IN (1, 2, 3)),
        rationale TEXT,
        effective_from TEXT,
        effective_to TEXT,
        version_id INTEGER NOT NULL REFERENCES inst_ref_versions(id)
    ) STRICT;
    CREATE UNIQUE INDEX mue_hospital_key ON mue_hospital(code, COALESCE(effective_from, ''));
    CREATE TABLE ioce_revenue_codes (
        version_id INTEGER NOT NULL REFERENCES inst_ref_versions(id),
        revenue_code TEXT NOT NULL,
        hcpcs_required INTEGER NOT NULL CHECK (hcpcs_required IN (0, 1)),
        effective_from TEXT,
        effective_to TEXT,
        PRIMARY KEY (version_id, revenue_code, effective_from)
    ) STRICT
    """,
    )
