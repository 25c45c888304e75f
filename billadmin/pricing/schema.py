"""Tables of the pricing domain (a migration set listed in schema.MIGRATION_SETS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils.migrations import Migrations

from ..migrations import exec_statements as _exec

if TYPE_CHECKING:
    from ..db import Database

pricing = Migrations("billadmin.pricing")


@pricing()
def m001_charge_master_and_contracts(db: Database):
    """Effective-dated prices: the practice's charge master and each payer's contracted allowed
    amounts (an amount, or a percentage of a base schedule). A price is never edited: a new
    row from a later date supersedes it, so every past date of service keeps its price."""
    _exec(
        db,
        """
    CREATE TABLE charge_master (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL,
        modifier TEXT NOT NULL DEFAULT '',
        price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
        effective_from TEXT NOT NULL,
        effective_to TEXT,
        source TEXT,
        loaded_at TEXT NOT NULL,
        CHECK (effective_to IS NULL OR effective_to >= effective_from),
        UNIQUE (code, modifier, effective_from)
    ) STRICT;
    CREATE TABLE payer_contracts (
        id INTEGER PRIMARY KEY,
        payer_id INTEGER NOT NULL REFERENCES payers(id),
        code TEXT NOT NULL,
        modifier TEXT NOT NULL DEFAULT '',
        allowed_cents INTEGER CHECK (allowed_cents >= 0),
        percent TEXT,
        base_payer_id INTEGER REFERENCES payers(id),
        effective_from TEXT NOT NULL,
        effective_to TEXT,
        source TEXT,
        loaded_at TEXT NOT NULL,
        CHECK ((allowed_cents IS NULL) != (percent IS NULL)),
        CHECK (effective_to IS NULL OR effective_to >= effective_from),
        UNIQUE (payer_id, code, modifier, effective_from)
    ) STRICT;
    CREATE INDEX payer_contracts_code ON payer_contracts(code);
    CREATE TRIGGER charge_master_no_update BEFORE UPDATE ON charge_master
        BEGIN SELECT RAISE(ABORT, 'prices are never edited: load a row from a later date'); END;
    CREATE TRIGGER charge_master_no_delete BEFORE DELETE ON charge_master
        BEGIN SELECT RAISE(ABORT, 'prices are never edited: load a row from a later date'); END;
    CREATE TRIGGER payer_contracts_no_update BEFORE UPDATE ON payer_contracts
        BEGIN SELECT RAISE(ABORT, 'prices are never edited: load a row from a later date'); END;
    CREATE TRIGGER payer_contracts_no_delete BEFORE DELETE ON payer_contracts
        BEGIN SELECT RAISE(ABORT, 'prices are never edited: load a row from a later date'); END
    """,
    )


@pricing()
def m002_medicare_fee_schedule(db: Database):
    """Medicare's physician fee schedule as CMS publishes it (the PPRRVU relative value file and
    the GPCI file), one release per row of mpfs_releases, effective-dated and never edited, so
    Medicare's expected amount is computed for any past date of service. Decimals are stored as
    text (exact): RVUs, GPCIs and the conversion factor are never floats."""
    _exec(
        db,
        """
    CREATE TABLE mpfs_releases (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('rvu', 'gpci')),
        version TEXT NOT NULL,
        effective_from TEXT NOT NULL,
        effective_to TEXT,
        source TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        rows INTEGER NOT NULL,
        loaded_at TEXT NOT NULL,
        CHECK (effective_to IS NULL OR effective_to >= effective_from),
        UNIQUE (kind, effective_from)
    ) STRICT;
    CREATE TABLE mpfs_rvu (
        release_id INTEGER NOT NULL REFERENCES mpfs_releases(id),
        code TEXT NOT NULL,
        modifier TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        work_rvu TEXT NOT NULL,
        pe_nonfac_rvu TEXT NOT NULL,
        pe_fac_rvu TEXT NOT NULL,
        mp_rvu TEXT NOT NULL,
        mult_proc TEXT NOT NULL DEFAULT '',
        conv_factor TEXT NOT NULL,
        PRIMARY KEY (release_id, code, modifier)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE mpfs_gpci (
        release_id INTEGER NOT NULL REFERENCES mpfs_releases(id),
        carrier TEXT NOT NULL,
        locality TEXT NOT NULL,
        name TEXT,
        work_gpci TEXT NOT NULL,
        pe_gpci TEXT NOT NULL,
        mp_gpci TEXT NOT NULL,
        PRIMARY KEY (release_id, carrier, locality)
    ) STRICT, WITHOUT ROWID;
    CREATE TRIGGER mpfs_releases_no_update BEFORE UPDATE ON mpfs_releases
        BEGIN SELECT RAISE(ABORT, 'fee schedule releases are never edited: load one from a later date'); END;
    CREATE TRIGGER mpfs_releases_no_delete BEFORE DELETE ON mpfs_releases
        BEGIN SELECT RAISE(ABORT, 'fee schedule releases are never edited: load one from a later date'); END;
    CREATE TRIGGER mpfs_rvu_no_update BEFORE UPDATE ON mpfs_rvu
        BEGIN SELECT RAISE(ABORT, 'fee schedule releases are never edited: load one from a later date'); END;
    CREATE TRIGGER mpfs_rvu_no_delete BEFORE DELETE ON mpfs_rvu
        BEGIN SELECT RAISE(ABORT, 'fee schedule releases are never edited: load one from a later date'); END;
    CREATE TRIGGER mpfs_gpci_no_update BEFORE UPDATE ON mpfs_gpci
        BEGIN SELECT RAISE(ABORT, 'fee schedule releases are never edited: load one from a later date'); END;
    CREATE TRIGGER mpfs_gpci_no_delete BEFORE DELETE ON mpfs_gpci
        BEGIN SELECT RAISE(ABORT, 'fee schedule releases are never edited: load one from a later date'); END
    """,
    )
