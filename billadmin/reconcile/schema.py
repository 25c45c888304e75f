"""Reconciliation history (migration set "billadmin.reconcile"): every run with its inputs'
sha256 and its summary, so a nightly script can see the trend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils.migrations import Migrations

if TYPE_CHECKING:
    from ..db import Database

reconcile = Migrations("billadmin.reconcile")


@reconcile()
def m001_reconcile_runs(db: Database) -> None:
    "Each reconcile run is kept with what it read (sha256) and what it found, for `reconcile history`."
    db.execute("""
    CREATE TABLE reconcile_runs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('reports', 'remits')),
        at TEXT NOT NULL, os_user TEXT NOT NULL,
        inputs TEXT NOT NULL,
        options TEXT NOT NULL,
        summary TEXT NOT NULL,
        differences INTEGER NOT NULL,
        net_difference_cents INTEGER NOT NULL,
        exit_code INTEGER NOT NULL
    ) STRICT
    """)
