"""What an invoice is issued with: the claim and patient-invoice content, built from the database.

The content is a plain dict stored as canonical JSON in `invoice_snapshots` when the invoice is
issued. X12 and PDF renderers read only this content, so an issued invoice re-renders the same
bytes after the patient's address or the payer's name has changed.

Rules:
- Bill-to (per encounter): the coverages active on the date of service (effective_from <= DOS
  and no effective_to or effective_to >= DOS) whose payer is not self-pay, by priority then the
  latest start; the first is billed (one encounter = one claim), the others are reported on the
  claim as other payers (loop 2320). No such coverage: the patient is billed.
- Timely filing (the claim's deadline): the payer's limit in months after the date of service
  when set (Medicare: 12 months, 42 CFR 424.44(a)(1); a claim for Feb 29 ends on Feb 28 of the
  next year, calendar months clamp to the month's end), else its limit in days, else for a
  Medicare payer 12 months; otherwise no deadline is recorded.
- Diagnosis pointers: 1-4 positions in the encounter's ordered diagnoses, read by
  billadmin.pointers (the one grammar the import and the scrubber use too).
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import TYPE_CHECKING

from .. import dates

if TYPE_CHECKING:
    from ..db import Database

PATIENT_COLS = (
    "id",
    "mrn",
    "first_name",
    "last_name",
    "dob",
    "sex",
    "address1",
    "address2",
    "city",
    "state",
    "zip",
)
COVERAGE_COLS = (
    "id",
    "patient_id",
    "payer_id",
    "member_id",
    "group_number",
    "relationship",
    "subscriber_first",
    "subscriber_last",
    "subscriber_dob",
    "subscriber_sex",
    "priority",
    "effective_from",
    "effective_to",
    "copay_cents",
)
PAYER_COLS = (
    "id",
    "code",
    "name",
    "kind",
    "x12_payer_id",
    "address1",
    "city",
    "state",
    "zip",
    "timely_filing_days",
    "timely_filing_months",
    "claim_media",
)
PROVIDER_COLS = ("id", "npi", "first_name", "last_name", "taxonomy")


def canonical(content: dict) -> str:
    """Stored form of issued content: compact JSON in the order the content was built."""
    return _CANONICAL.encode(content)


# json.dumps with these options builds an encoder per call (a large run stores 100,000 contents);
# no circular check: no content holds itself (a block Blocks shares sits beside others, never
# inside itself), and the check's bookkeeping of every dict and list was a tenth of the
# encoding (issue 15)
_CANONICAL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)


def temp_ids(conn: Database, name: str, ids) -> str:
    """A temp table holding ids, for joins instead of giant IN lists."""
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} (id INTEGER PRIMARY KEY)")
    conn.execute(f"DELETE FROM {name}")
    ids = list(ids)
    if all(type(i) is int and -(2**63) <= i < 2**63 for i in ids):
        # one statement over a JSON array: about 5x faster than an executemany of 1-tuples
        # (issue 15: a run fills these with its 300,000 charge lines' ids)
        conn.execute(
            f"INSERT OR IGNORE INTO {name} (id) SELECT value FROM json_each(?)", (json.dumps(ids),)
        )
    else:
        conn.conn.executemany(f"INSERT OR IGNORE INTO {name} (id) VALUES (?)", ((i,) for i in ids))
    return f"temp.{name}"


def load_patients(conn: Database, table: str) -> dict[int, dict]:
    cols = ", ".join(f"p.{c}" for c in PATIENT_COLS)
    return {
        r[0]: dict(zip(PATIENT_COLS, r, strict=True))
        for r in conn.execute(f"SELECT {cols} FROM patients p JOIN {table} t ON t.id = p.id")
    }


def load_coverages(conn: Database, table: str) -> dict[int, list[dict]]:
    cols = ", ".join(f"c.{c}" for c in COVERAGE_COLS)
    out: dict[int, list[dict]] = {}
    for r in conn.execute(f"SELECT {cols} FROM coverages c JOIN {table} t ON t.id = c.patient_id"):
        d = dict(zip(COVERAGE_COLS, r, strict=True))
        out.setdefault(d["patient_id"], []).append(d)
    return out


def load_payers(conn: Database) -> dict[int, dict]:
    return {
        r[0]: dict(zip(PAYER_COLS, r, strict=True))
        for r in conn.execute(f"SELECT {', '.join(PAYER_COLS)} FROM payers")
    }


def load_providers(conn: Database) -> dict[int, dict]:
    return {
        r[0]: dict(zip(PROVIDER_COLS, r, strict=True))
        for r in conn.execute(f"SELECT {', '.join(PROVIDER_COLS)} FROM providers")
    }


def load_diagnoses(conn: Database, table: str) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    once: dict[str, str] = {}  # each code kept once (a large run reads 100,000 encounters')
    keep = once.setdefault
    for eid, code in conn.execute(
        f"SELECT d.encounter_id, d.code FROM encounter_diagnoses d JOIN {table} t ON t.id = d.encounter_id"
        " ORDER BY d.encounter_id, d.seq"
    ):
        out.setdefault(eid, []).append(keep(code, code))
    return out


def active_coverages(covs: list[dict], dos: str, payers: dict[int, dict]) -> list[dict]:
    """Insurance coverages active on the date of service, primary first."""
    act = [
        c
        for c in covs
        if c["effective_from"] <= dos
        and (not c["effective_to"] or c["effective_to"] >= dos)
        and payers[c["payer_id"]]["kind"] != "self"
    ]
    if len(act) > 1:  # (one coverage: most encounters)
        act.sort(key=lambda c: c["effective_from"], reverse=True)
        act.sort(key=lambda c: c["priority"])
    return act


def filing_deadline(dos: str, payer: dict) -> str | None:
    d = _dt.date.fromisoformat(dos)
    if payer.get("timely_filing_months"):
        return dates.add_months(d, int(payer["timely_filing_months"])).isoformat()
    if payer.get("timely_filing_days"):
        return (d + _dt.timedelta(days=int(payer["timely_filing_days"]))).isoformat()
    if payer.get("kind") == "medicare":
        return dates.add_months(d, 12).isoformat()
    return None


def payer_block(p: dict) -> dict:
    return {
        "code": p["code"],
        "name": p["name"],
        "kind": p["kind"],
        "id": p.get("x12_payer_id") or None,
    }


def person_block(p: dict) -> dict:
    return {
        "last": p["last_name"],
        "first": p["first_name"],
        "dob": p["dob"],
        "sex": p["sex"],
        "address1": p.get("address1"),
        "address2": p.get("address2"),
        "city": p.get("city"),
        "state": p.get("state"),
        "zip": p.get("zip"),
    }


def subscriber_block(cov: dict, patient: dict) -> tuple[dict, dict | None]:
    """(subscriber, patient-or-None): patient is None when the patient is the subscriber."""
    rel = cov.get("relationship") or "self"
    if rel == "self":
        sub = person_block(patient)
        sub.update(
            {
                "member_id": cov["member_id"],
                "group": cov.get("group_number"),
                "relationship": "self",
            }
        )
        return sub, None
    sub = {
        "last": cov.get("subscriber_last"),
        "first": cov.get("subscriber_first"),
        "dob": cov.get("subscriber_dob"),
        "sex": cov.get("subscriber_sex") or "U",
        "member_id": cov["member_id"],
        "group": cov.get("group_number"),
        "relationship": rel,
    }
    return sub, person_block(patient)


def provider_block(p: dict) -> dict:
    return {
        "npi": p["npi"],
        "last": p["last_name"],
        "first": p.get("first_name"),
        "taxonomy": p.get("taxonomy"),
    }


class Blocks:
    """A run's payer, rendering-provider and subscriber/patient blocks, filing deadlines and what
    the lines' claim fields add (add_claim_fields), each built once and shared by every claim
    that carries it (`invoice generate` builds 100,000 claims over a few thousand patients, a
    few payers and providers). Keyed by the rows' ids: the dicts a run loaded do not change
    while it runs. A shared block is never changed in place once built: code that changes a
    claim's block replaces it (resend.py), and the content is stored as JSON, where sharing
    leaves no trace."""

    def __init__(self) -> None:
        self._payers: dict[int, dict] = {}
        self._providers: dict[int, dict] = {}
        self._parties: dict[tuple[int, int], tuple[dict, dict | None]] = {}
        self._deadlines: dict[tuple[str, int], str | None] = {}
        self._fields: dict[tuple[int, ...], tuple[list[dict], tuple[dict, list[dict]]]] = {}

    def payer(self, p: dict) -> dict:
        got = self._payers.get(p["id"])
        if got is None:
            got = self._payers[p["id"]] = payer_block(p)
        return got

    def provider(self, p: dict) -> dict:
        got = self._providers.get(p["id"])
        if got is None:
            got = self._providers[p["id"]] = provider_block(p)
        return got

    def subscriber(self, cov: dict, patient: dict) -> tuple[dict, dict | None]:
        key = (cov["id"], patient["id"])
        got = self._parties.get(key)
        if got is None:
            got = self._parties[key] = subscriber_block(cov, patient)
        return got

    def line_fields(self, fields: list[dict]) -> tuple[dict, list[dict]]:
        """_line_fields once per distinct list of the lines' field dicts: load_claim_fields
        gives lines with the same values one dict (content._once), so claims repeat them. Keyed
        by the dicts' ids, which the entry keeps alive (an id is never reused while it is kept)."""
        key = tuple(map(id, fields))
        got = self._fields.get(key)
        if got is None:
            got = self._fields[key] = (fields, _line_fields(fields))
        return got[1]

    def filing_deadline(self, dos: str, payer: dict) -> str | None:
        key = (dos, payer["id"])
        try:
            return self._deadlines[key]
        except KeyError:
            got = self._deadlines[key] = filing_deadline(dos, payer)
            return got


def practice_block(p: dict) -> dict:
    keys = (
        "name",
        "npi",
        "tax_id",
        "taxonomy",
        "address1",
        "address2",
        "city",
        "state",
        "zip",
        "phone",
        "contact_name",
        "submitter_id",
        "receiver_id",
        "receiver_name",
    )
    return {k: p.get(k) for k in keys}


def modifiers_of(line: dict) -> list[str]:
    return [
        m
        for m in (
            line.get("modifier1"),
            line.get("modifier2"),
            line.get("modifier3"),
            line.get("modifier4"),
        )
        if m
    ]


def claim_line(
    invoice_line_id: int,
    code: str,
    modifiers: list[str],
    units: int,
    charge_cents: int,
    pointers: list[int],
) -> dict:
    """A service line of a claim's content; its date is the claim's, and no modifiers is left out."""
    ln = {
        "invoice_line_id": invoice_line_id,
        "code": code,
        "units": units,
        "charge_cents": charge_cents,
        "pointers": pointers,
    }
    if modifiers:
        ln["modifiers"] = modifiers
    return ln


def load_claim_fields(conn: Database, encs: dict[int, dict], table: str | None = None) -> None:
    """Attach to encounters read for billing (`{id: {..., "lines": [...]}}`) what the charge
    import recorded beyond code and charge (issue 20): `e["fields"]` the claim dates and accident,
    `ln["fields"]` per line the NDC, ordering/referring provider, authorization, referral and
    CLIA numbers; `e["auths"]` the register's authorizations covering its date of service (a
    line without its own number gets theirs, add_claim_fields). Nothing is attached where nothing
    was recorded (most encounters). `table`: a temp table holding the encounters' ids, when the
    caller has one."""
    from ..auths.register import covering
    from ..ingest.claim_fields import ENCOUNTER_FIELDS

    if not encs:
        return
    have_lines = conn.execute("SELECT EXISTS (SELECT 1 FROM charge_line_fields)").fetchone()[0]
    have_encs = conn.execute("SELECT EXISTS (SELECT 1 FROM encounter_fields)").fetchone()[0]
    have_auths = conn.execute("SELECT EXISTS (SELECT 1 FROM authorizations)").fetchone()[0]
    if not (have_lines or have_encs or have_auths):
        return
    t = table or temp_ids(conn, "_claim_field_encs", encs)
    for eid, auths in covering(conn, t).items():
        encs[eid]["auths"] = auths
    if have_encs:
        once: dict[tuple, dict] = {}  # one dict per distinct set of values: they repeat (memory)
        for row in conn.execute(
            f"SELECT f.encounter_id, {', '.join('f.' + c for c in ENCOUNTER_FIELDS)}"
            f" FROM encounter_fields f JOIN {t} t ON t.id = f.encounter_id"
        ):
            encs[row[0]]["fields"] = _once(once, ENCOUNTER_FIELDS, row[1:])
    if have_lines:
        _attach_line_fields(conn, encs, t)


def _attach_line_fields(conn: Database, encs: dict[int, dict], table: str) -> None:
    """load_claim_fields' line part: `ln["fields"]` for each line with something recorded.
    A large run reads 150,000 rows here (issue 15) holding a dozen distinct sets of values,
    hence the shape: each row's values come as one json_array text (the table is STRICT and
    its fields TEXT: json_array writes each exactly, null apart), the key of the dict shared by
    the lines with those values and parsed once per distinct text; a line is found at its
    position (lines are in line_no order, numbered from 1: line n is the n-th) before it is
    looked for along the encounter's lines (a line billed already leaves a gap)."""
    from ..ingest.claim_fields import LINE_FIELDS

    once: dict[str, dict] = {}  # one dict per distinct set of values: they repeat (memory)
    for eid, no, text in conn.execute(
        f"SELECT f.encounter_id, f.line_no, json_array({', '.join('f.' + c for c in LINE_FIELDS)})"
        f" FROM charge_line_fields f JOIN {table} t ON t.id = f.encounter_id"
    ):
        got = once.get(text)
        if got is None:
            vals = json.loads(text)
            got = once[text] = {
                k: v for k, v in zip(LINE_FIELDS, vals, strict=True) if v is not None
            }
        if not got:  # a row with nothing recorded
            continue
        lines = encs[eid].get("lines")
        if not lines:
            continue
        if 0 < no <= len(lines) and (ln := lines[no - 1]).get("line_no") == no:
            ln["fields"] = got  # (line_no is unique within an encounter)
            continue
        for ln in lines:
            if ln.get("line_no") == no:
                ln["fields"] = got


def _once(once: dict[tuple, dict], keys: tuple[str, ...], vals: list) -> dict:
    """The fields recorded (those not None) as a dict shared by every line or encounter with the
    same values: read only, never changed in place (_with_register copies)."""
    key = (keys, *vals)
    got = once.get(key)
    if got is None:
        got = once[key] = {k: v for k, v in zip(keys, vals, strict=True) if v is not None}
    return got


_PERSON_KEYS = {
    who: (f"{who}_npi", f"{who}_last", f"{who}_first") for who in ("ordering", "referring")
}


def _person(f: dict, who: str) -> dict | None:
    npi, last, first = _PERSON_KEYS[who]
    if not f.get(npi):
        return None
    return {"npi": f[npi], "last": f.get(last), "first": f.get(first)}


def _with_register(f: dict, code: str, auths: list) -> dict:
    """A line's fields with the register's authorization or referral number for its code when
    the charge gave none (auths/register.py)."""
    from ..auths.rules import matches

    out = f
    for a in auths:
        key = "prior_auth" if a.kind == "prior_auth" else "referral_number"
        if not out.get(key) and matches(a.codes, code):
            out = {**out, key: a.number}
    return out


def add_claim_fields(
    c: dict, encounter: dict, payer_id: int | None = None, blocks: Blocks | None = None
) -> None:
    """Put the recorded claim fields into a claim's content, where the 837P sends them:
    - claim dates and the accident (2300 DTP*431/454/304/439, CLM11) as `c["dates"]`,
      `c["accident"]`;
    - a referring provider, prior authorization, referral or CLIA number that is the same on
      every line that has one goes once at claim level (2310A, 2300 REF*G1/9F/X4); different
      values go on their lines (2420F, 2400 REF*G1/9F/X4), as the TR3 asks ("when different
      from the claim level");
    - per line the drug (2410 LIN/CTP) and the ordering provider (2420E).
    Keys are added only when there is something to send, so claims without these fields keep
    their content (and their bytes) unchanged. `blocks`: a run's shared blocks, where what the
    lines' fields give is kept per distinct set of fields (Blocks.line_fields)."""
    ef = encounter.get("fields")
    if ef:  # (most encounters have none: a large run adds them to 100,000 claims)
        dates = {k: ef[k] for k in CLAIM_DATES if ef.get(k)}
        if dates:
            c["dates"] = dates
        if ef.get("accident_cause"):
            c["accident"] = {"cause": ef["accident_cause"], "state": ef.get("accident_state")}
    src_lines = encounter.get("lines") or []
    lines = c["lines"]
    if len(src_lines) != len(lines):
        return
    fields = [ln.get("fields") or _NO_FIELDS for ln in src_lines]
    auths = encounter.get("auths")
    if auths and (auths := [a for a in auths if a.payer_id == payer_id]):
        fields = [
            _with_register(f, ln.get("code") or "", auths)
            for f, ln in zip(fields, src_lines, strict=True)
        ]
    elif blocks is not None:  # (the register's numbers are the patient's: not shared)
        top, per_line = blocks.line_fields(fields)
        if top:
            c.update(top)
        for cl, add in zip(lines, per_line, strict=True):
            if add:
                cl.update(add)
        return
    top, per_line = _line_fields(fields)
    c.update(top)
    for cl, add in zip(lines, per_line, strict=True):
        cl.update(add)


def _line_fields(fields: list[dict]) -> tuple[dict, list[dict]]:
    """What a claim's lines' fields add (add_claim_fields' rules): the claim's keys and each
    line's, in the order the content has them."""
    top: dict = {}
    per_line: list[dict] = [{} for _ in fields]
    if not any(fields):
        return top, per_line
    for key in ("prior_auth", "referral_number", "clia"):
        values = {f[key] for f in fields if f.get(key)}
        if len(values) == 1:
            top[key] = values.pop()
        elif values:
            for f, add in zip(fields, per_line, strict=True):
                if f.get(key):
                    add[key] = f[key]
    referring = [_person(f, "referring") for f in fields]
    refs = {tuple(sorted(p.items())) for p in referring if p}
    if len(refs) == 1:  # the same on every line that has one: sent once, at claim level
        top["referring"] = dict(refs.pop())
    for f, add, ref in zip(fields, per_line, referring, strict=True):
        if f.get("ndc"):
            add["drug"] = {
                "ndc": f["ndc"],
                "unit": f.get("ndc_unit"),
                "quantity": f.get("ndc_quantity"),
            }
        if (p := _person(f, "ordering")) is not None:
            add["ordering"] = p
        if refs and ref is not None:  # (different ones: each on its line)
            add["referring"] = ref
    return top, per_line


CLAIM_DATES = ("onset_date", "initial_treatment_date", "last_seen_date", "accident_date")
_NO_FIELDS: dict = {}  # a line without recorded fields (read only)


# what a next-payer (COB) claim repeats from the claim the prior payer answered: the drug, the
# providers, the lab and the dates are the service's, and so is the part of a split encounter;
# an authorization or referral number is the prior payer's own, so it is not repeated
CARRIED_CLAIM_KEYS = ("dates", "accident", "referring", "clia", "split")
CARRIED_LINE_KEYS = ("drug", "ordering", "referring", "clia")


def carry_claim_fields(c: dict, base: dict) -> None:
    """Copy the claim-level fields of `base` (an issued claim's content) into `c`."""
    for k in CARRIED_CLAIM_KEYS:
        if base.get(k):
            c[k] = base[k]


def carry_line_fields(line: dict, src: dict) -> None:
    """Copy the line-level fields of `src` (a line of an issued claim's content) into `line`."""
    for k in CARRIED_LINE_KEYS:
        if src.get(k):
            line[k] = src[k]


def claim_content(
    *,
    number: str,
    frequency: str,
    encounter: dict,
    lines: list[dict],
    diagnoses: list[str],
    patient: dict,
    coverage: dict,
    payer: dict,
    others: list[tuple[dict, dict]],
    provider: dict,
    copay_cents: int,
    payer_claim_number: str | None = None,
    blocks: Blocks | None = None,
) -> dict:
    """The content of one claim. `lines`: claim_line() dicts; `blocks`: a run's shared blocks."""
    # (the callers outside a run pass rows without ids: cob.py's rendering provider)
    if blocks is None:
        party_of, payer_of, provider_of = subscriber_block, payer_block, provider_block
    else:
        party_of, payer_of, provider_of = blocks.subscriber, blocks.payer, blocks.provider
    sub, pat = party_of(coverage, patient)
    other_blocks = []
    for pos, (ocov, opayer) in enumerate(others[:2], start=2):
        osub, _ = party_of(ocov, patient)
        other_blocks.append({"priority": pos, "payer": payer_of(opayer), "subscriber": osub})
    c = {
        "kind": "claim",
        "number": number,
        "frequency": frequency,
        "payer_claim_number": payer_claim_number,
        "encounter": encounter["number"],
        "date_of_service": encounter["date_of_service"],
        "place_of_service": encounter.get("place_of_service") or "11",
        "total_cents": sum(ln["charge_cents"] for ln in lines),
        "copay_cents": copay_cents,
        "payer": payer_of(payer),
        "subscriber": sub,
        "patient": pat,
        "other_payers": other_blocks,
        "rendering": provider_of(provider),
        "diagnoses": list(diagnoses),
        "lines": lines,
    }
    add_claim_fields(c, encounter, payer.get("id"), blocks)
    if encounter.get("split"):  # one of the claims a long encounter is split into (split.py)
        c["split"] = dict(encounter["split"])
    return c
