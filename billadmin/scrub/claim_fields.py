"""Scrub rules over what real claims carry beyond code and charge (issue 20): NDCs for drugs,
referring/ordering providers, prior authorizations and CLIA numbers.

The rules are registered in scrub/rules.py's registry (SPECS, read at its end). They run once per
encounter billed to an insurance payer (the coverage `invoice generate` bills) and yield per
line. Which payer needs what is auths/rules.py (built-in rules with their sources, and each
payer's recorded requirements); the fields are those the charge import recorded
(ingest/claim_fields.py); authorizations come from the register (auths/register.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from ..auths import register
from ..auths.rules import Requirements, is_lab, matches
from ..ingest.claim_fields import LINE_FIELDS, NDC_UNITS
from .model import FAMILY

# (rule id, severity, level, source, function): registered by scrub/rules.py, which imports
# this module (a one-way import: this module never imports the registry)
SPECS: list[tuple[str, str, str, str, Callable]] = []


def rule(rule_id: str, severity: str, level: str, source: str):
    def deco(fn):
        SPECS.append((rule_id, severity, level, source, fn))
        return fn

    return deco


Ref = Any  # scrub.engine.Ref (not imported: the engine imports the rules)

# the recorded fields these rules read (of ingest/claim_fields.py's LINE_FIELDS): a run reads
# one row per line of its encounters, and the names and other fields are not needed here
READ = ("ndc", "ndc_unit", "ndc_quantity", "ordering_npi", "referring_npi", "prior_auth", "clia")
assert set(READ) <= set(LINE_FIELDS)


class FieldsRef:
    """What one scrub run needs for these rules, read once per run (the encounters in scope)."""

    def __init__(self, ref: Ref) -> None:
        c = ref.c
        self.requirements = Requirements(c)
        self.payer_ids = dict(c.execute("SELECT code, id FROM payers"))
        self.lines: dict[int, dict[int, dict]] = {}
        # NDC-FORMAT and NDC-UNIT read a line's fields alone: answered once per distinct dict,
        # kept by its id when they find something (self.lines keeps the dict alive, so its id
        # is not reused while the run holds it)
        self.ndc: dict[int, list[tuple[str, str]]] = {}
        sql, args = ref.enc_filter
        if c.execute("SELECT EXISTS (SELECT 1 FROM charge_line_fields)").fetchone()[0]:
            # a large run reads 150,000 rows holding a dozen distinct sets of values: each row's
            # values come as one json_array text (the table is STRICT, these fields TEXT:
            # json_array writes each exactly, null apart), the key of the dict shared by the
            # lines with those values, parsed once per distinct text (issue 15)
            once: dict[str, dict] = {}  # one dict per distinct set of values (they repeat)
            lines = self.lines
            for eid, no, text in c.execute(
                f"SELECT encounter_id, line_no, json_array({', '.join(READ)})"
                f" FROM charge_line_fields WHERE encounter_id IN ({sql})",
                args,
            ):
                got = once.get(text)
                if got is None:
                    vals = json.loads(text)
                    got = once[text] = {
                        k: v for k, v in zip(READ, vals, strict=True) if v is not None
                    }
                    if problems := _ndc_problems(got):
                        self.ndc[id(got)] = problems
                by_no = lines.get(eid)
                if by_no is None:
                    by_no = lines[eid] = {}
                by_no[no] = got
        self.auths: dict[int, list[register.Auth]] = {}
        for a in register.load(c):
            self.auths.setdefault(a.patient_id, []).append(a)
        self.conn = ref.conn
        self._visits: dict[int, list[int]] = {}
        # (payer id, payer kind) -> code -> (needs NDC, referring, authorization; a lab test)
        self.need: dict[tuple, dict[str, tuple[bool, bool, bool, bool]]] = {}

    def visits(self, a: register.Auth) -> list[int]:
        got = self._visits.get(a.id)
        if got is None:
            got = self._visits[a.id] = register.visits(self.conn, a)
        return got


def _run(ref: Ref) -> FieldsRef:
    """The run's FieldsRef, kept on its Ref: asked once per encounter, an attribute costs a
    tenth of a weak mapping's lookup (which makes a weak reference each time)."""
    got = getattr(ref, "claim_fields", None)
    if got is None:
        got = ref.claim_fields = FieldsRef(ref)
    return got


_NONE: dict = {}
_NOTHING = (False, False, False, False)
SRC_837 = "837P 005010X222A1"
AUTH_SRC = (
    "payer prior-authorization requirements (contract, provider manual); 837P 2300/2400 REF*G1"
)


def _of(ref: Ref, enc, rule_id: str):
    """The findings of one rule for an encounter: every rule of this module is answered by one
    pass over the encounter (_analyse), kept for the encounter the engine is on (its rules run
    one after the other on the same Encounter object, which the memo keeps alive)."""
    if _LAST[0] is not enc:
        _LAST[0], _LAST[1] = enc, _analyse(ref, _run(ref), enc)
    for rid, no, msg in _LAST[1]:
        if rid == rule_id:
            yield no, msg


_LAST: list = [None, []]


def analyse(ref: Ref, enc) -> list[tuple[str, int, str]]:
    """Every finding of this module's rules for one encounter, in one pass: the engine calls it
    once per encounter instead of each rule in turn (model.FAMILY)."""
    return _analyse(ref, _run(ref), enc)


def _analyse(ref: Ref, fr: FieldsRef, enc) -> list[tuple[str, int, str]]:
    out: list[tuple[str, int, str]] = []
    fields = fr.lines.get(enc.id, _NONE) if enc.id is not None else _NONE
    if fields and fr.ndc:  # (a run whose NDCs are all well formed skips it)
        _ndc_shape(fr.ndc, enc, fields, out)
    cov = ref.claim_coverage(enc)
    if cov is None or enc.id is None:
        return out
    payer_id = fr.payer_ids.get(cov.payer_code)
    theirs = fr.auths.get(enc.patient_id)
    auths = [a for a in theirs if a.payer_id == payer_id] if theirs else _NO_AUTHS
    # what each code needs from this payer, asked once per (payer, kind, code) in a run
    need = fr.need.get((payer_id, cov.payer_kind))
    if need is None:
        need = fr.need[(payer_id, cov.payer_kind)] = {}
    referred = clia_claim = None  # claim-level facts, read when a line needs them
    for line in enc.lines:
        if line.context:
            continue
        code = line.code
        n = need.get(code)
        if n is None:
            req = fr.requirements
            n = need[code] = (
                req.needs(payer_id, cov.payer_kind, "ndc", code),
                req.needs(payer_id, cov.payer_kind, "referring", code),
                req.needs(payer_id, cov.payer_kind, "auth", code),
                is_lab(code),
            )
        if n == _NOTHING and not auths:
            continue
        f = fields.get(line.no, _NONE)
        if n[0] and not f.get("ndc"):
            out.append(
                (
                    "NDC-MISSING",
                    line.no,
                    f"{code} is a drug the {cov.payer_code} claim must name by NDC: record the"
                    " 11-digit NDC, its unit and quantity from the package",
                )
            )
        if n[1] and not f.get("ordering_npi"):
            if referred is None:
                referred = any(v.get("referring_npi") for v in fields.values())
            if not referred:
                out.append(
                    (
                        "REF-MISSING",
                        line.no,
                        f"{code} billed to {cov.payer_code} needs the ordering or referring"
                        " provider (NPI and name): record who ordered it",
                    )
                )
        if n[3] and not f.get("clia"):
            if clia_claim is None:
                clia_claim = len({v["clia"] for v in fields.values() if v.get("clia")}) == 1
            if not clia_claim:
                out.append(
                    (
                        "CLIA-MISSING",
                        line.no,
                        f"{code} is a laboratory test: record the lab's CLIA number",
                    )
                )
        if n[2] or auths:
            _auth(fr, enc, cov.payer_code, line, f, n[2], auths, out)
    return out


_NO_AUTHS: list = []


def _ndc_shape(ndc: dict[int, list[tuple[str, str]]], enc, fields: dict, out: list) -> None:
    """NDC-FORMAT and NDC-UNIT of the encounter's lines: `ndc` holds each field dict's own
    findings (FieldsRef.ndc, by the dict's id; a dict with none is not there)."""
    for line in enc.lines:
        f = fields.get(line.no)
        if not f or line.context:
            continue
        got = ndc.get(id(f))
        if got:
            no = line.no
            out += [(rid, no, msg) for rid, msg in got]


def _ndc_problems(f: dict) -> list[tuple[str, str]]:
    """What NDC-FORMAT and NDC-UNIT find in one line's recorded fields, in that order."""
    out: list[tuple[str, str]] = []
    if f.get("ndc") is None:
        return out
    ndc = f["ndc"]
    if not (len(ndc) == 11 and ndc.isdigit() and ndc.isascii()):
        out.append(("NDC-FORMAT", "the NDC is not 11 digits (5-4-2): correct it from the package"))
    if f.get("ndc_unit") not in NDC_UNITS:
        out.append(
            (
                "NDC-UNIT",
                "the NDC has no unit of measure F2, GR, ME, ML or UN: record the unit given",
            )
        )
    try:
        ok = Decimal(f.get("ndc_quantity") or "0") > 0
    except InvalidOperation:
        ok = False
    if not ok:
        out.append(
            ("NDC-UNIT", "the NDC has no quantity above 0: record how much of the drug was given")
        )
    return out


def _auth(fr, enc, payer_code: str, line, f: dict, required: bool, auths: list, out: list) -> None:
    """AUTH-MISSING, AUTH-EXPIRED or AUTH-USED-UP for one line (auths: the register's for the
    patient and the payer billed)."""
    for_code = [a for a in auths if a.kind == "prior_auth" and matches(a.codes, line.code)]
    if not for_code:
        if required and not f.get("prior_auth"):
            out.append(
                (
                    "AUTH-MISSING",
                    line.no,
                    f"{payer_code} requires a prior authorization for {line.code} and none is"
                    " recorded: get one (billadmin auth add) or record its number on the charge",
                )
            )
        return
    current = [a for a in for_code if a.valid_from <= enc.dos <= a.valid_to]
    if not current:
        ends = max(a.valid_to for a in for_code)
        out.append(
            (
                "AUTH-EXPIRED",
                line.no,
                f"the {payer_code} authorization for {line.code} does not cover the date of"
                f" service (the latest ended {ends}"
                + (")" if ends < enc.dos else ", or starts later)")
                + ": ask the payer for an extension or a new one",
            )
        )
        return
    if all(_used_up(fr, a, enc.id) for a in current):
        a = current[0]
        out.append(
            (
                "AUTH-USED-UP",
                line.no,
                f"authorization #{a.id} allowed {a.visits_allowed} visit(s) and this one is past"
                f" them: ask {payer_code} for more visits before billing",
            )
        )


def _used_up(fr: FieldsRef, a: register.Auth, encounter_id: int) -> bool:
    if a.visits_allowed is None:
        return False
    seq = fr.visits(a)
    if encounter_id not in seq:
        return False
    return a.visits_used_before + seq.index(encounter_id) + 1 > a.visits_allowed


@rule(
    "NDC-MISSING",
    "error",
    "encounter",
    "Deficit Reduction Act 2005 s. 6002 (42 U.S.C. 1396r-8(a)(7); 42 CFR 447.520), payer"
    f" requirements; {SRC_837} 2410 LIN/CTP",
)
def ndc_missing(ref, enc):
    """A drug line billed to a payer that requires NDCs carries its NDC.

    Medicaid must collect the National Drug Code of physician-administered drugs for rebates
    (DRA 2005 s. 6002): a J-code or biosimilar (Q5101-Q5199) line without one is denied (CARC
    16, RARC M119). Commercial payers that ask for NDCs are recorded with `billadmin auth require
    ndc`. Record the NDC from the vial or package (NDC, NDC Unit, NDC Quantity columns).
    """
    yield from _of(ref, enc, "NDC-MISSING")


@rule("NDC-FORMAT", "error", "encounter", f"{SRC_837} 2410 LIN03 (NDC in 11-digit 5-4-2 format)")
def ndc_format(ref, enc):
    """An NDC is 11 digits (5-4-2 without hyphens).

    LIN03 carries the NDC in the 11-digit billing format. Import pads a hyphenated 10-digit NDC
    and refuses an unhyphenated one; this rule holds NDCs recorded some other way.
    """
    yield from _of(ref, enc, "NDC-FORMAT")


@rule(
    "NDC-UNIT",
    "error",
    "encounter",
    f"{SRC_837} 2410 CTP04 (quantity), CTP05-1 (F2, GR, ME, ML, UN)",
)
def ndc_unit(ref, enc):
    """A line's NDC has a unit of measure F2, GR, ME, ML or UN and a quantity above 0.

    CTP05-1 takes F2 (international unit), GR (gram), ME (milligram), ML (milliliter) or UN
    (unit); CTP04 the quantity of that unit given. Both are required with the NDC.
    """
    yield from _of(ref, enc, "NDC-UNIT")


@rule(
    "REF-MISSING",
    "error",
    "encounter",
    "42 CFR 424.507 (ordering/referring provider; CMS-1500 item 17), payer requirements;"
    f" {SRC_837} 2310A, 2420E/2420F",
)
def ref_missing(ref, enc):
    """A service that needs a referring or ordering provider names one.

    Medicare denies clinical laboratory (80047-89398) and imaging (70010-76999, 78012-79999)
    services without the NPI of the physician who ordered or referred them (42 CFR 424.507).
    HMOs that want the referring provider for specialist visits are recorded with `billadmin
    auth require referring`. Record the Ordering NPI/name or Referring NPI/name columns.
    """
    yield from _of(ref, enc, "REF-MISSING")


@rule(
    "CLIA-MISSING",
    "error",
    "encounter",
    "42 CFR 493.1 (CLIA); Pub. 100-04 ch. 16 sec. 70.10; 837P 005010X222A1 2300/2400 REF*X4",
)
def clia_missing(ref, enc):
    """A laboratory test billed to an insurance payer carries the lab's CLIA number.

    Laboratory tests (CPT 80047-89398) are paid only to a laboratory with a CLIA certificate
    (or certificate of waiver, QW); the 837P carries its number in REF*X4. Record the CLIA
    column on the lab lines (the practice's own certificate for in-office tests).
    """
    yield from _of(ref, enc, "CLIA-MISSING")


@rule("AUTH-MISSING", "error", "encounter", AUTH_SRC)
def auth_missing(ref, enc):
    """A service the payer authorizes in advance has an authorization.

    Payers that require prior authorization for codes (therapy, imaging, injections: recorded
    with `billadmin auth require auth`) deny a claim without one (CARC 197). The number comes
    from the register (`billadmin auth add`, `import auths`) or the charge's Prior Auth column.
    """
    yield from _of(ref, enc, "AUTH-MISSING")


@rule("AUTH-EXPIRED", "error", "encounter", AUTH_SRC)
def auth_expired(ref, enc):
    """The authorization on file for the service covers its date of service.

    An authorization is valid between its dates; a service outside them is denied (CARC 197/198)
    even when visits are left.
    """
    yield from _of(ref, enc, "AUTH-EXPIRED")


@rule("AUTH-USED-UP", "error", "encounter", AUTH_SRC)
def auth_used_up(ref, enc):
    """The authorization has a visit left for this encounter.

    Visits count in date-of-service order (auths/register.py), plus those used before the
    register knew the authorization; a visit past the number allowed is denied (CARC 198).
    """
    yield from _of(ref, enc, "AUTH-USED-UP")


# one pass answers all eight rules (the engine's shortcut; each rule above stays its definition)
FAMILY.update(dict.fromkeys((spec[0] for spec in SPECS), analyse))
