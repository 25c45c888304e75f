"""Patients, payers, providers, coverage and fee-schedule rows: validate, resolve, upsert.

Each kind is a small handler: the table, the natural key, cross-field rules, and how a
validated row becomes a database record. Charges have their own streaming path (charges.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import Problem

if TYPE_CHECKING:
    from ..db import Database


# Fields that are never compared or updated (bookkeeping).
SYSTEM = {"id", "created_at", "updated_at"}


class Handler:
    kind = ""
    table = ""
    entity = ""
    key: tuple[str, ...] = ()
    # db columns with a database default: omitted on insert when the row gives None
    db_defaults: tuple[str, ...] = ()

    def __init__(self, run):
        self.run = run
        self.db = run.db

    def record(self, values: dict, row: int) -> tuple[dict | None, list[Problem]]:
        """Validated field values -> database record (FKs resolved), or problems."""
        return dict(values), []

    def key_of(self, rec: dict) -> tuple:
        return tuple(rec[k] for k in self.key)

    def find(self, rec: dict) -> dict | None:
        where = " AND ".join(f"{k} IS ?" for k in self.key)
        cur = self.db.execute(f"SELECT * FROM {self.table} WHERE {where}", self.key_of(rec))
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    def on_insert(self, rec: dict) -> dict:
        return rec

    def insert(self, rec: dict) -> int:
        rec = {
            k: v
            for k, v in self.on_insert(dict(rec)).items()
            if not (v is None and k in self.db_defaults)
        }
        cols = ", ".join(rec)
        marks = ", ".join("?" for _ in rec)
        return self.db.execute(
            f"INSERT INTO {self.table} ({cols}) VALUES ({marks})", tuple(rec.values())
        ).lastrowid

    def on_update(self, changes: dict) -> dict:
        return changes

    def update(self, entity_id: int, changes: dict) -> None:
        sets = self.on_update(dict(changes))
        cols = ", ".join(f"{k} = ?" for k in sets)
        self.db.execute(f"UPDATE {self.table} SET {cols} WHERE id = ?", (*sets.values(), entity_id))

    def refuse_update(self, existing: dict) -> str | None:
        """A reason this record must not be changed by an import, or None."""
        return None


class Patients(Handler):
    kind, table, entity, key = "patients", "patients", "patient", ("mrn",)

    def on_insert(self, rec):
        rec["created_at"] = rec["updated_at"] = self.run.now
        return rec

    def on_update(self, changes):
        changes["updated_at"] = self.run.now
        return changes


class Providers(Handler):
    kind, table, entity, key = "providers", "providers", "provider", ("npi",)
    db_defaults = ("active",)


class Payers(Handler):
    kind, table, entity, key = "payers", "payers", "payer", ("code",)
    db_defaults = ("appeal_days",)

    def record(self, values, row):
        if values.get("code", "").lower() == "default":
            return None, [
                self.run.problem(
                    row, "code", '"default" is reserved (the fee schedule uses it for every payer)'
                )
            ]
        rec = dict(values)
        if "timely_filing_months" in rec:
            rec = self._medicare_default(rec)
        return rec, []

    @staticmethod
    def _medicare_default(rec):
        # Medicare: claims must be filed within 12 months of the date of service (42 CFR 424.44).
        if (
            rec.get("kind") == "medicare"
            and not rec.get("timely_filing_days")
            and not rec.get("timely_filing_months")
        ):
            rec["timely_filing_months"] = 12
        return rec

    def on_insert(self, rec):
        return self._medicare_default(rec)


class _Lookups:
    """MRN -> patient id and payer code -> (id, kind), cached per run."""

    def __init__(self, db: Database):
        self.db = db
        self.patients: dict[str, int | None] = {}
        self.payers: dict[str, tuple[int, str] | None] = {}

    def patient(self, mrn: str) -> int | None:
        if mrn not in self.patients:
            r = self.db.execute("SELECT id FROM patients WHERE mrn = ?", (mrn,)).fetchone()
            self.patients[mrn] = r[0] if r else None
        return self.patients[mrn]

    def payer(self, code: str) -> tuple[int, str] | None:
        if code not in self.payers:
            r = self.db.execute("SELECT id, kind FROM payers WHERE code = ?", (code,)).fetchone()
            self.payers[code] = (r[0], r[1]) if r else None
        return self.payers[code]


class Coverage(Handler):
    kind, table, entity = "coverage", "coverages", "coverage"
    key = ("patient_id", "payer_id", "member_id", "effective_from")
    db_defaults = ("relationship", "priority", "copay_cents")

    def __init__(self, run):
        super().__init__(run)
        self.look = _Lookups(self.db)

    def record(self, values, row):
        problems = []
        rec = dict(values)
        pid = self.look.patient(rec.pop("mrn"))
        if pid is None:
            problems.append(
                self.run.problem(row, "mrn", "no patient with this MRN (import patients first)")
            )
        payer = self.look.payer(rec.pop("payer_code"))
        if payer is None:
            problems.append(
                self.run.problem(row, "payer_code", "no payer with this code (import payers first)")
            )
        if not rec.get("member_id"):
            if payer is not None and payer[1] == "self":
                rec["member_id"] = ""
            elif payer is not None:
                problems.append(
                    self.run.problem(row, "member_id", "is required (the payer is not self-pay)")
                )
        if (
            rec.get("relationship", "self") != "self"
            and "subscriber_last" in values
            and not rec.get("subscriber_last")
        ):
            problems.append(
                self.run.problem(
                    row, "subscriber_last", "is required when the relationship is not self"
                )
            )
        if (
            rec.get("effective_to")
            and rec.get("effective_from")
            and rec["effective_to"] < rec["effective_from"]
        ):
            problems.append(self.run.problem(row, "effective_to", "is before Effective From"))
        if (rec.get("copay_cents") or 0) < 0:
            problems.append(self.run.problem(row, "copay_cents", "must not be negative"))
        if rec.get("msp_type") and payer is not None and payer[1] != "medicare":
            problems.append(self.run.problem(row, "msp_type", "is for a Medicare coverage only"))
        if problems or payer is None:  # no payer always left a problem above
            return None, problems
        rec["patient_id"], rec["payer_id"] = pid, payer[0]
        return rec, []


class FeeSchedule(Handler):
    kind, table, entity = "fee-schedule", "fee_schedule", "fee"
    key = ("payer_id", "code", "modifier", "effective_from")

    def __init__(self, run):
        super().__init__(run)
        self.look = _Lookups(self.db)

    def record(self, values, row):
        problems = []
        rec = dict(values)
        code = rec.pop("payer")
        if code.lower() == "default":
            rec["payer_id"] = None
        else:
            payer = self.look.payer(code)
            if payer is None:
                problems.append(
                    self.run.problem(row, "payer", 'no payer with this code (or write "default")')
                )
            else:
                rec["payer_id"] = payer[0]
        rec["modifier"] = rec.get("modifier") or ""
        if rec.get("amount_cents", 0) < 0:
            problems.append(self.run.problem(row, "amount_cents", "must not be negative"))
        if rec.get("effective_to") and rec["effective_to"] < rec["effective_from"]:
            problems.append(self.run.problem(row, "effective_to", "is before Effective From"))
        return (None, problems) if problems else (rec, [])


class Authorizations(Handler):
    """The authorization register (auths/register.py): payer and patient resolved, the code
    list read by auths/rules.py."""

    kind, table, entity = "auths", "authorizations", "authorization"
    key = ("payer_id", "number")
    db_defaults = ("kind", "visits_used_before")

    def __init__(self, run):
        super().__init__(run)
        self.look = _Lookups(self.db)

    def record(self, values, row):
        from ..auths.rules import CodeListError, parse_codes

        problems = []
        rec = dict(values)
        pid = self.look.patient(rec.pop("mrn"))
        if pid is None:
            problems.append(
                self.run.problem(row, "mrn", "no patient with this MRN (import patients first)")
            )
        payer = self.look.payer(rec.pop("payer_code"))
        if payer is None:
            problems.append(
                self.run.problem(row, "payer_code", "no payer with this code (import payers first)")
            )
        elif payer[1] == "self":
            problems.append(
                self.run.problem(row, "payer_code", "self-pay grants no authorizations")
            )
        try:
            rec["codes"] = parse_codes(rec.get("codes") or "")
        except CodeListError as e:
            problems.append(self.run.problem(row, "codes", str(e)))
        if rec.get("valid_to") and rec.get("valid_from") and rec["valid_to"] < rec["valid_from"]:
            problems.append(self.run.problem(row, "valid_to", "is before Valid From"))
        if rec.get("visits_allowed") is not None and rec["visits_allowed"] < 1:
            problems.append(self.run.problem(row, "visits_allowed", "at least 1 (or empty)"))
        if (rec.get("visits_used_before") or 0) < 0:
            problems.append(self.run.problem(row, "visits_used_before", "must not be negative"))
        if problems or payer is None:
            return None, problems
        rec["patient_id"], rec["payer_id"] = pid, payer[0]
        return rec, []

    def on_insert(self, rec):
        from .. import audit

        rec["created_at"] = audit.utcnow()
        return rec


HANDLERS = {h.kind: h for h in (Patients, Providers, Payers, Coverage, FeeSchedule, Authorizations)}


def import_rows(run, profile=None) -> None:
    """The row loop for every kind but charges."""
    handler = HANDLERS[run.kind](run)
    result = run.result
    index = run.mapping.index
    present = [c.field for c in run.columns if c.field in index or c.field in run.synth]
    seen: dict[tuple, tuple[int, int]] = {}  # natural key -> (first row, hash of its values)
    n = 0
    for row, cells in run.table:
        result.rows_total += 1
        n += 1
        if n % 2000 == 0:
            run.tick()
        raw = {f: cells[i] for f, i in index.items()}
        if profile is not None:
            raws, problems = profile.transform(run, row, raw, cells)
        else:
            raws, problems = [raw], []
        records = []
        for r in raws:
            values, probs = run.parse_fields(row, r, present)
            problems += probs
            if not probs:
                rec, probs = handler.record(values, row)
                problems += probs
                if rec is not None:
                    records.append(rec)
        if problems:
            run.reject(row, cells, problems)
            continue
        dup = None
        for rec in records:
            k = handler.key_of(rec)
            h = hash(tuple(sorted((a, b) for a, b in rec.items() if a not in SYSTEM)))
            first = seen.get(k)
            if first is not None and first[1] != h:
                dup = first[0]
        if dup is not None:
            run.reject(
                row,
                cells,
                [run.problem(row, None, f"same key as row {dup} but with different values")],
            )
            continue
        for rec in records:
            k = handler.key_of(rec)
            h = hash(tuple(sorted((a, b) for a, b in rec.items() if a not in SYSTEM)))
            if k in seen:
                result.unchanged += 1
                continue
            seen[k] = (row, h)
            _upsert(run, handler, rec, row)


def _upsert(run, handler: Handler, rec: dict, row: int) -> None:
    result = run.result
    existing = handler.find(rec)
    if existing is None:
        handler.insert(rec)
        result.inserted += 1
        return
    diffs = {
        f: (existing[f], v)
        for f, v in rec.items()
        if f not in SYSTEM and f not in handler.key and f in existing and existing[f] != v
    }
    if not diffs:
        result.unchanged += 1
        return
    if not run.opts.update:
        run.conflict(row, handler.entity, existing["id"], sorted(diffs))
        return
    refusal = handler.refuse_update(existing)
    if refusal:
        run.conflict(row, handler.entity, existing["id"], sorted(diffs), note=refusal)
        return
    handler.update(existing["id"], {f: new for f, (_, new) in diffs.items()})
    run.audit_update(handler.table, existing["id"], row, diffs)
    result.updated += 1
