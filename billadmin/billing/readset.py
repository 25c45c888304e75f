"""What a billing run read before it took the write lock, and whether it is still so.

Rule (issue 15): `invoice generate` prepares its claims from one consistent read (a read
transaction: SQLite's WAL snapshot), then takes the write lock only to check that nothing the run
depends on changed, number, insert and commit. "Depends on" is this module's list, each part a
sha256 of the rows in a fixed order (`digest`), computed once in the snapshot and again under the
lock when another connection committed anything meanwhile (PRAGMA data_version moved):

- the run's encounters, by (patient, date of service) key: every encounter of a billed patient on
  a billed day with all its charge lines, any status (a late line, a charge edited, a line billed
  by another run, a same-day visit the NCCI and MUE rules read), their diagnoses and the claim
  fields recorded with the charges;
- the billed patients, their coverages and authorizations, and the co-pays of their billed days
  (payments of kind copay, their receipts' service dates, the claims that already carry them);
- institutional claims (institutional/generate.py): the institutional tables read whole (a claim
  imported or corrected, billed or queued), their encounters, and the patients and coverages of
  the claims billed;
- next-payer (COB) claims: the routing and next-payer records (cob_routes, cob_claims, followed by
  their count and highest rowid), and for each prior claim a next-payer claim is built from its
  adjustments, its posted answers (remit claims, lines and CAS) and its patient's coverages;
  the transfers from 835s still to route (an 835 posted meanwhile: routed before billing);
- patient invoices (patient_invoices.py, built before the lock too): the self-pay encounters
  are the run's encounters above; the transfers not yet on a patient invoice (an 835 posted
  meanwhile adds some), with their patients' account numbers; the patients of unbilled facility
  claims and their coverages (institutional/selfpay.py: billed to the patient when none is
  active); for their statement content (computed before the lock too, but for a patient with
  credit to apply), their accounts (the balances of their other patient invoices, their
  credit) and the claims their transfers come from (what insurance paid and adjusted, the
  diagnoses their lines point to);
- the tables every claim reads whole: payers (and their requirements and CARC rules), providers,
  the practice and settings, the claim queue and resends, the loaded code-set releases (each load
  adds a version row; the largest code tables are followed by their highest rowid).

What is not listed cannot change a claim: new encounters of other patients or days (billed by
the next run), payments that are not co-pays, check-ins of other patients. The numbers a run
uses (claim series, invoice and line ids, X12 control numbers) are checked by taking them.
"""

from __future__ import annotations

import hashlib
import marshal
from typing import TYPE_CHECKING

from .cob import PENDING_SQL

if TYPE_CHECKING:
    from ..db import Database

# read whole: small tables every claim or rule may read
WHOLE = (
    "payers",
    "payer_requirements",
    "payer_carc_rules",
    "providers",
    "practice",
    "settings",
    "facilities",
    "claim_queue",
    "code_versions",
    "legacy_code_versions",
    "necessity_versions",
    "mpfs_releases",
    "pcs_versions",
    "inst_ref_versions",
)
# large reference tables: a load appends rows (and a version row above)
APPEND_MARKED = ("codes", "ncci_ptp", "mue", "necessity_codes", "charge_master", "fee_schedule")


def _tables(conn: Database) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _hash(conn: Database, sql: str) -> str:
    # marshal version 2 writes each value with its type and length and no back-references
    # (those came with version 3), so the bytes are a function of the values alone; it is 5x
    # cheaper than repr (issue 15: 0.23 s of the 100,000-encounter digest). The digests are
    # compared within one process only, never stored.
    h = hashlib.sha256()
    cur = conn.execute(sql)
    while rows := cur.fetchmany(10_000):
        h.update(marshal.dumps(rows, 2))
    return h.hexdigest()


def _row(conn: Database, table: str, alias: str) -> str:
    """The select list for `table`'s whole row: json_array of every column when the table is
    STRICT with only INTEGER and TEXT columns (json_array writes those exactly, with their
    type: 1 and "1", null and ""), else `alias.*`. One string a row instead of one Python
    object a value: half the cost of the large per-encounter parts (issue 15). A REAL would be
    written to 15 digits only, and a BLOB refused, hence the check."""
    strict = conn.execute(
        "SELECT strict FROM pragma_table_list WHERE schema = 'main' AND name = ?", (table,)
    ).fetchone()
    cols = conn.execute("SELECT name, upper(type) FROM pragma_table_info(?)", (table,)).fetchall()
    if not strict or not strict[0] or any(t not in ("INT", "INTEGER", "TEXT") for _, t in cols):
        return f"{alias}.*"
    return "json_array(" + ", ".join(f'{alias}."{name}"' for name, _ in cols) + ")"


def digest(conn: Database, enc_table: str, pat_table: str) -> dict[str, str]:
    """Each part of what the run depends on (module docstring), as a hash of its rows.
    `enc_table`/`pat_table`: temp tables of the ids of the encounters billed and their patients."""
    have = _tables(conn)
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS _readset_days (patient_id INTEGER, dos TEXT,"
        " PRIMARY KEY (patient_id, dos)) WITHOUT ROWID"
    )
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS _readset_encs (id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM temp._readset_days")
    conn.execute("DELETE FROM temp._readset_encs")
    conn.execute(
        "INSERT OR IGNORE INTO temp._readset_days SELECT e.patient_id, e.date_of_service"
        f" FROM {enc_table} t CROSS JOIN encounters e ON e.id = t.id"
    )
    # every encounter of a billed patient on a billed day; CROSS JOIN keeps the billed days the
    # outer loop (an index search of encounters each), where the planner would scan every
    # encounter of the practice's history
    conn.execute(
        "INSERT INTO temp._readset_encs SELECT e.id FROM temp._readset_days k CROSS JOIN"
        " encounters e ON e.patient_id = k.patient_id AND e.date_of_service = k.dos"
    )
    encs = "temp._readset_encs"
    out = {
        # the encounters and their lines apart: joined, each encounter's row came once a line
        "encounters": _hash(
            conn,
            f"SELECT {_row(conn, 'encounters', 'e')} FROM {encs} t"
            " JOIN encounters e ON e.id = t.id ORDER BY t.id",
        ),
        "charge_lines": _hash(
            conn,
            f"SELECT {_row(conn, 'charge_lines', 'c')} FROM {encs} t"
            " JOIN charge_lines c ON c.encounter_id = t.id ORDER BY t.id, c.line_no",
        ),
        "diagnoses": _hash(
            conn,
            f"SELECT {_row(conn, 'encounter_diagnoses', 'd')} FROM {encs} t"
            " JOIN encounter_diagnoses d ON d.encounter_id = t.id ORDER BY t.id, d.seq",
        ),
        "patients": _hash(
            conn,
            f"SELECT {_row(conn, 'patients', 'p')} FROM patients p"
            f" JOIN {pat_table} t ON t.id = p.id ORDER BY t.id",
        ),
        "coverages": _hash(
            conn,
            f"SELECT {_row(conn, 'coverages', 'c')} FROM coverages c"
            f" JOIN {pat_table} t ON t.id = c.patient_id ORDER BY c.id",
        ),
        "copays": _hash(
            conn,
            # claims.copays_due: a co-pay goes on the claim of its patient's service day
            f"SELECT p.*, {'r.service_date' if 'receipts' in have else 'NULL'},"
            " (SELECT group_concat(c.invoice_id) FROM claim_copays c WHERE c.payment_id = p.id)"
            f" FROM payments p {'LEFT JOIN receipts r ON r.payment_id = p.id' if 'receipts' in have else ''}"
            " JOIN temp._readset_days k ON k.patient_id = p.patient_id AND k.dos ="
            f" {'COALESCE(r.service_date, p.received_on)' if 'receipts' in have else 'p.received_on'}"
            " WHERE p.kind = 'copay' ORDER BY p.id",
        ),
    }
    for name, sql in (
        (
            "encounter_fields",
            f"SELECT {_row(conn, 'encounter_fields', 'f')} FROM {encs} t"
            " JOIN encounter_fields f ON f.encounter_id = t.id ORDER BY t.id",
        ),
        (
            "charge_line_fields",
            f"SELECT {_row(conn, 'charge_line_fields', 'f')} FROM {encs} t"
            " JOIN charge_line_fields f ON f.encounter_id = t.id ORDER BY t.id, f.line_no",
        ),
        (
            "authorizations",
            f"SELECT a.* FROM authorizations a JOIN {pat_table} t ON t.id = a.patient_id"
            " ORDER BY a.id",
        ),
        ("claim_resends", "SELECT COUNT(*), MAX(rowid) FROM claim_resends"),
    ):
        if name in have:
            out[name] = _hash(conn, sql)
    # patient invoices (patient_invoices.build): the transfers not yet on one, with their
    # patients' account numbers and the encounter number an invoice of one encounter shows
    out["patient_transfers"] = _hash(
        conn,
        "SELECT a.*, p.mrn, e.number FROM adjustments a JOIN invoices i ON i.id = a.invoice_id"
        " JOIN patients p ON p.id = i.patient_id LEFT JOIN encounters e ON e.id = i.encounter_id"
        " WHERE a.source = 'transfer' AND i.kind = 'claim'"
        " AND NOT EXISTS (SELECT 1 FROM patient_invoice_adjustments x WHERE x.adjustment_id = a.id)"
        + (
            " AND NOT EXISTS (SELECT 1 FROM cob_routes r WHERE r.adjustment_id = a.id)"
            if "cob_routes" in have
            else ""
        )
        + " ORDER BY a.id",
    )
    for name in WHOLE:
        if name in have:
            out[name] = _hash(conn, f"SELECT * FROM {name} ORDER BY rowid")
    for name in APPEND_MARKED:
        if name in have:
            out[name] = _hash(conn, f"SELECT MAX(rowid) FROM {name}")
    return out


# the institutional tables, each with its key (some are WITHOUT ROWID)
INSTITUTIONAL = {
    "inst_claims": "id",
    "inst_claim_providers": "claim_id, role",
    "inst_diagnoses": "claim_id, seq",
    "inst_procedures": "claim_id, seq",
    "inst_codes": "claim_id, kind, seq",
    "inst_lines": "id",
    "inst_claim_invoices": "invoice_id",
}


# the patients whose statement content a run computed before the lock (statement_patients)
STATEMENTS = "temp._readset_statements"


def statement_patients(conn: Database, ids) -> None:
    """The patients whose statement content the run computes before the lock: `more` hashes
    what that content reads of them (STATEMENTS)."""
    conn.execute(f"CREATE TABLE IF NOT EXISTS {STATEMENTS} (id INTEGER PRIMARY KEY)")
    conn.execute(f"DELETE FROM {STATEMENTS}")
    conn.conn.executemany(
        f"INSERT OR IGNORE INTO {STATEMENTS} (id) VALUES (?)", ((i,) for i in ids)
    )


def more(conn: Database, pat_table: str, prior_table: str) -> dict[str, str]:
    """The parts institutional and next-payer claims add (module docstring). `pat_table`: temp
    table of the ids of their patients; `prior_table`: of the prior claims (invoice ids) their
    next-payer claims are built from."""
    have = _tables(conn)
    out: dict[str, str] = {}
    for name, key in INSTITUTIONAL.items():
        if name in have:
            out[name] = _hash(conn, f"SELECT * FROM {name} ORDER BY {key}")
    if "inst_claims" in have:
        out["inst_encounters"] = _hash(
            conn,
            "SELECT e.* FROM encounters e JOIN inst_claims c ON c.encounter_id = e.id"
            " ORDER BY e.id",
        )
    if "inst_claims" in have:  # facility claims without coverage billed to their patients
        out["selfpay_patients"] = _hash(  # (institutional/selfpay.py): who, and whether
            conn,
            "SELECT p.id, p.mrn, c.* FROM patients p LEFT JOIN coverages c ON c.patient_id = p.id"
            " WHERE p.id IN (SELECT e.patient_id FROM inst_claims ic JOIN encounters e"
            " ON e.id = ic.encounter_id WHERE ic.status = 'unbilled') ORDER BY p.id, c.id",
        )
    out["patients+"] = _hash(conn, f"SELECT p.* FROM patients p JOIN {pat_table} t ON t.id = p.id")
    out["coverages+"] = _hash(
        conn,
        f"SELECT c.* FROM coverages c JOIN {pat_table} t ON t.id = c.patient_id ORDER BY c.id",
    )
    # patient invoices' statement content, computed before the lock (patient_invoices.
    # plan_contents) for the patients of STATEMENTS: who they are, their insurance, their
    # other patient invoices' balances (the aging), the credit they hold (none: credit is
    # applied under the lock), and what the claims their transfers come from show (insurance
    # paid and adjusted, the diagnoses their lines point to)
    if conn.execute(
        "SELECT 1 FROM sqlite_temp_master WHERE name = ?", (STATEMENTS.removeprefix("temp."),)
    ).fetchone():
        out["statement_patients"] = _hash(
            conn,
            f"SELECT p.*, c.* FROM {STATEMENTS} t JOIN patients p ON p.id = t.id"
            " LEFT JOIN coverages c ON c.patient_id = t.id ORDER BY t.id, c.id",
        )
        out["statement_accounts"] = _hash(
            conn,
            f"SELECT b.* FROM invoice_balances b JOIN {STATEMENTS} t ON t.id = b.patient_id"
            " WHERE b.kind = 'patient' ORDER BY b.invoice_id",
        )
        if "unapplied_credits" in have:
            out["statement_credits"] = _hash(
                conn,
                "SELECT c.patient_id, SUM(c.amount_cents) FROM unapplied_credits c"
                f" JOIN {STATEMENTS} t ON t.id = c.patient_id GROUP BY c.patient_id ORDER BY 1",
            )
    claims = (
        "SELECT a.invoice_id FROM adjustments a WHERE a.source = 'transfer' AND NOT EXISTS"
        " (SELECT 1 FROM patient_invoice_adjustments x WHERE x.adjustment_id = a.id)"
    ) + (
        " AND NOT EXISTS (SELECT 1 FROM cob_routes r WHERE r.adjustment_id = a.id)"
        if "cob_routes" in have
        else ""
    )
    lines = f"SELECT l.charge_line_id FROM invoice_lines l WHERE l.invoice_id IN ({claims})"
    out["transfer_claims_paid"] = _hash(
        conn,
        f"SELECT p.* FROM payment_allocations p WHERE p.invoice_id IN ({claims}) ORDER BY p.id",
    )
    out["transfer_claims_adjusted"] = _hash(
        conn, f"SELECT d.* FROM adjustments d WHERE d.invoice_id IN ({claims}) ORDER BY d.id"
    )
    out["transfer_diagnoses"] = _hash(
        conn,
        "SELECT c.id, c.encounter_id, c.dx_pointers, d.seq, d.code FROM charge_lines c"
        " LEFT JOIN encounter_diagnoses d ON d.encounter_id = c.encounter_id"
        f" WHERE c.id IN ({lines}) ORDER BY c.id, d.seq",
    )
    out["transfers"] = _hash(conn, PENDING_SQL + " ORDER BY a.id")  # cob.route routes these
    for name in ("cob_routes", "cob_claims", "cob_rebills"):
        if name in have:
            out[name] = _hash(conn, f"SELECT COUNT(*), MAX(rowid) FROM {name}")
    out["prior_adjustments"] = _hash(
        conn,
        f"SELECT a.* FROM adjustments a JOIN {prior_table} t ON t.id = a.invoice_id ORDER BY a.id",
    )
    if "remit_claims" in have:
        answers = f"SELECT c.id FROM remit_claims c JOIN {prior_table} t ON t.id = c.invoice_id"
        out["prior_answers"] = _hash(
            conn,
            f"SELECT c.* FROM remit_claims c JOIN {prior_table} t ON t.id = c.invoice_id"
            " ORDER BY c.id",
        )
        out["prior_answer_lines"] = _hash(
            conn,
            f"SELECT * FROM remit_lines WHERE claim_id IN ({answers}) ORDER BY id",
        )
        out["prior_answer_cas"] = _hash(
            conn,
            f"SELECT * FROM remit_adjustments WHERE claim_id IN ({answers}) ORDER BY id",
        )
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The parts that differ (names only: the rows are PHI)."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def data_version(conn: Database) -> int:
    """Moves whenever another connection commits (SQLite's PRAGMA data_version)."""
    return conn.execute("PRAGMA data_version").fetchone()[0]
