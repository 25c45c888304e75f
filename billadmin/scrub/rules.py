"""The scrub rules: each states what it checks, why, and the source it rests on.

A rule is a function registered with its stable id, severity and level:
  dx        - runs once per encounter over its diagnoses
  encounter - runs once per encounter (claim-level facts: NPIs, coverage, filing window)
  line      - runs once per service line
  group     - runs once per patient, rendering provider and date of service over every line
              billed or to be billed that day (NCCI PTP and per-day MUE are defined that way)
  next-payer - not run by the scrubber: `invoice generate` holds a next-payer (COB) claim on
              it (billing/cob.py); listed so the registry names every rule a run holds on
Rules yield (line number or None, message[, severity][, source]); the engine turns them into
Findings with the encounter and the source. Messages never contain PHI values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .. import pointers
from ..codesets.icd9 import icd9, only_icd9
from .claim import (
    already_billed_message,
    charge_problem,
    no_dx,
    pointer_problems,
    too_many_lines,
)
from .model import FAMILY, QUIET


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    level: str
    source: str
    fn: Callable

    @property
    def summary(self) -> str:
        return (self.fn.__doc__ or "").strip().splitlines()[0]

    @property
    def doc(self) -> str:
        import inspect

        return inspect.cleandoc(self.fn.__doc__ or "")


RULES: dict[str, Rule] = {}


def rule(rule_id: str, severity: str, level: str, source: str):
    def deco(fn):
        RULES[rule_id] = Rule(rule_id, severity, level, source, fn)
        return fn

    return deco


# ==================================================================== ICD-10-CM diagnoses

GUIDE = "ICD-10-CM Official Guidelines for Coding and Reporting FY2026"


@rule("ICD-EXISTS", "error", "dx", "ICD-10-CM code set in force on the DOS (45 CFR 162.1002)")
def icd_exists(ref, enc):
    """Every diagnosis is an ICD-10-CM code of the loaded release.

    HIPAA names ICD-10-CM as the diagnosis code set for claims (45 CFR 162.1002(c)(2)); a code
    that is not in it is rejected at the front end. Codes are compared without regard to case
    or the dot (e119 = E11.9). A code missing only its placeholder X (T78.40A for T78.40XA) is
    reported by ICD-7TH instead.
    """
    if not ref.versions.get("icd10cm"):
        if enc.dx:
            yield (
                None,
                "no ICD-10-CM release is loaded, so no diagnosis can be checked: run `billadmin init`",
            )
        return
    for seq, raw in enc.dx:
        st = ref.icd_state(raw, enc.dos)
        if st.kind == "missing" and not st.placeholder:
            if only_icd9(raw):
                # an ICD-9-CM code after 2015-09-30: the GEM candidates, never a silent conversion
                yield (
                    None,
                    f"diagnosis {seq} {icd9(raw)} is an ICD-9-CM code on a date of service from"
                    f" 2015-10-01, which is coded in ICD-10-CM only: a coder chooses the code;"
                    f" {ref.icd9_hint(icd9(raw), enc.dos)}",
                )
                continue
            yield (
                None,
                f"diagnosis {seq} {st.code!r} is not an ICD-10-CM code in {st.label}: correct the code",
            )


@rule("ICD-BILLABLE", "error", "dx", f"{GUIDE}, section I.B.3 (level of detail in coding)")
def icd_billable(ref, enc):
    """Every diagnosis is billable: a header (category or subcategory with codes under it) is not.

    Guideline I.B.3: codes are reported at the highest number of characters available; a code
    with subdivisions is a header and "invalid" on a claim. The finding names billable codes
    under the header so the clerk can go back to the documentation.
    """
    for seq, raw in enc.dx:
        st = ref.icd_state(raw, enc.dos)
        if st.kind == "header" and not st.needs_7th:
            yield (
                None,
                (
                    f"diagnosis {seq} {st.code} ({st.description}) is a header, not billable: use a code under it, "
                    f"e.g. {ref.icd_children_hint(st.code)}"
                ),
            )


@rule(
    "ICD-7TH", "error", "dx", f"{GUIDE}, sections I.A.5 (placeholder X) and I.A.6 (7th characters)"
)
def icd_seventh(ref, enc):
    """A code whose category requires a 7th character has one, with placeholder X where needed.

    Guidelines I.A.5-I.A.6: where the tabular lists 7th characters for a category, the code is
    invalid without one, and a code shorter than 6 characters takes placeholder X up to the 6th.
    """
    for seq, raw in enc.dx:
        st = ref.icd_state(raw, enc.dos)
        if st.kind == "header" and st.needs_7th:
            yield (
                None,
                (
                    f"diagnosis {seq} {st.code} needs a 7th character ({st.description}): "
                    f"use one of {ref.icd_children_hint(st.code)}"
                ),
            )
        elif st.kind == "missing" and st.placeholder:
            yield None, f"diagnosis {seq} {st.code!r} lacks its placeholder X: use {st.placeholder}"


@rule(
    "ICD-DOS",
    "error",
    "dx",
    "ICD-10-CM code set in force on the DOS (45 CFR 162.1002); CDC addenda",
)
def icd_dos(ref, enc):
    """Every diagnosis is valid on the date of service: not deleted before it, not added after it.

    A claim uses the code set in force on the date of service (45 CFR 162.1002). A code deleted
    or split by a later release (M54.5 became M54.50/M54.51/M54.59 on 2021-10-01) is rejected for
    later dates of service; a code added by a release is rejected before the release.
    """
    for seq, raw in enc.dx:
        st = ref.icd_state(raw, enc.dos)
        if st.kind == "not_on_dos":
            yield None, f"diagnosis {seq} {st.code} {st.why}"


@rule(
    "ICD-RELEASE",
    "warning",
    "encounter",
    "CDC ICD-10-CM release schedule (October 1 and April 1 updates)",
)
def icd_release(ref, enc):
    """The date of service falls inside the window of a loaded ICD-10-CM release.

    ICD-10-CM changes every October 1 (and some April 1): a claim must be coded with the release
    in force on its date of service. A DOS after the newest loaded release (or before the
    oldest) is checked against the nearest one, and the finding names the release to load.
    """
    msg = ref.icd_window_problem(enc.dos)
    if msg:
        yield None, msg


@rule(
    "ICD9-CODE",
    "error",
    "dx",
    "ICD-9-CM v32 for dates of service before 2015-10-01 (45 CFR 162.1002(b)(1))",
)
def icd9_code(ref, enc):
    """A date of service before 2015-10-01 is coded in ICD-9-CM: every diagnosis is a v32 code.

    HIPAA named ICD-9-CM the diagnosis code set until 2015-09-30 and ICD-10-CM from 2015-10-01
    (45 CFR 162.1002(b)(1), (c)(2)); the code set follows the date of service. Version 32 is the
    last release (frozen). A category with subdivisions (250) is not a code: use one under it.
    Such claims are billed with the ICD-9-CM qualifiers BK/BF (837P HI01-1/HI02-1).
    """
    if enc.dos >= "2015-10-01":
        return
    known = ref.icd9_codes()
    if known is None:
        if enc.dx:
            yield (
                None,
                "the date of service is before 2015-10-01 (ICD-9-CM) and ICD-9-CM is not loaded:"
                " run `billadmin codes load icd9cm`",
            )
        return
    for seq, raw in enc.dx:
        code = icd9(raw)
        if code is not None and code in known:
            continue
        if code is not None:
            under = sorted(c for c in known if c.startswith(code if "." in code else code + "."))
            if under:
                more = f" ({len(under)} codes under it)" if len(under) > 6 else ""
                yield (
                    None,
                    f"diagnosis {seq} {code} is an ICD-9-CM category, not a code: use one under"
                    f" it, e.g. {', '.join(under[:6])}{more}",
                )
                continue
        yield (
            None,
            f"diagnosis {seq} is not an ICD-9-CM v32 code (the date of service is before"
            " 2015-10-01): correct the code",
        )


@rule("ICD-EXCLUDES1", "error", "dx", f"{GUIDE}, section I.A.12.a (Excludes1)")
def icd_excludes1(ref, enc):
    """No two diagnoses of one encounter are an Excludes1 pair of the tabular list.

    Guideline I.A.12.a: an Excludes1 note means "not coded here": the two conditions cannot
    occur together and the codes are never reported together, except when the conditions are
    unrelated (then document why, and the payer may still deny). Pairs come from the Excludes1
    notes of the code and of every category, block and chapter above it.
    """
    for a, b, note, owner in ref.excludes1_pairs(enc):
        yield (
            None,
            (
                f"diagnoses {a} and {b} are an Excludes1 pair ({owner}: excludes1 '{note}'): "
                f"keep the one the documentation supports"
            ),
        )


# CMS Medicare Code Editor (MCE) definitions. The MCE flags a diagnosis whose age or sex does
# not fit the patient. Age edits (MCE v37 onward): maternity diagnoses are for ages 9 to 64;
# newborn diagnoses for age 0. The sex-conflict edit was deactivated in the MCE from
# 2024-10-01 (FY2025, v42); commercial and Medicaid scrubbers still apply it, so here it is a
# warning. The sex-specific ranges are the ICD-10-CM tabular's own blocks and categories for
# female and male genital organs, pregnancy and the matching screening and encounter codes.
MATERNITY = [("O00", "O9A"), ("Z33.1", "Z33.1"), ("Z34", "Z34"), ("Z3A", "Z3A")]
NEWBORN_ONLY = [("Z38", "Z38")]
PERINATAL = [("P00", "P96")]
FEMALE_ONLY = MATERNITY + [
    ("C51", "C58"),
    ("D06", "D06"),
    ("D07.0", "D07.3"),
    ("D25", "D28"),
    ("N70", "N98"),
    ("Z01.41", "Z01.41"),
    ("Z12.4", "Z12.4"),
    ("Z39", "Z39"),
]
MALE_ONLY = [
    ("C60", "C63"),
    ("D07.4", "D07.6"),
    ("D29", "D29"),
    ("N40", "N53"),
    ("R97.2", "R97.2"),
    ("Z12.5", "Z12.5"),
]


def in_ranges(code: str, ranges) -> bool:
    """code (with its dot) inside any (lo, hi) prefix range: lo <= code[:len(lo)] <= hi."""
    for lo, hi in ranges:
        if code[: len(lo)] >= lo and code[: len(hi)] <= hi:
            return True
    return False


MCE = "CMS Medicare Code Editor (MCE) definitions"


@rule(
    "ICD-AGE",
    "error",
    "dx",
    f"{MCE}: age conflict edit (maternity 9-64, newborn 0); {GUIDE}, I.C.16.a",
)
def icd_age(ref, enc):
    """Age-specific diagnoses fit the patient's age on the date of service.

    MCE age conflict edit: maternity codes (chapter O, Z33.1, Z34, Z3A) are for ages 9-64; Z38
    (liveborn infant, guideline I.C.16.a.2) only on the newborn's own birth record (age 0).
    Perinatal codes (chapter P) at age 1 or over are a warning: guideline I.C.16.a.4 allows them
    for life when the condition still exists, though the MCE flags them.
    """
    age = ref.age(enc)
    if age is None:
        return
    for seq, raw in enc.dx:
        code = ref.icd_code(raw)
        if in_ranges(code, MATERNITY) and not (9 <= age <= 64):
            yield (
                None,
                f"diagnosis {seq} {code} is a maternity code (ages 9-64) and the patient's age on"
                " the DOS is outside that range",
            )
        elif in_ranges(code, NEWBORN_ONLY) and age > 0:
            yield (
                None,
                f"diagnosis {seq} {code} (liveborn infant) belongs only on the newborn's birth record, age 0",
            )
        elif in_ranges(code, PERINATAL) and age > 0:
            yield (
                None,
                (
                    f"diagnosis {seq} {code} is a perinatal code (MCE: newborn, age 0) on a patient aged 1 or over: "
                    f"correct unless the perinatal condition is still present (guideline I.C.16.a.4)"
                ),
                "warning",
            )


@rule(
    "ICD-SEX",
    "warning",
    "dx",
    f"{MCE}: sex conflict edit (deactivated by CMS from FY2025; payers still apply it)",
)
def icd_sex(ref, enc):
    """Sex-specific diagnoses fit the sex recorded for the patient.

    MCE sex conflict edit, over the tabular's female-only (pregnancy, female genital organs and
    their neoplasms, cervical screening, postpartum care) and male-only (male genital organs and
    their neoplasms, prostate screening, elevated PSA) ranges. CMS no longer applies it to
    Medicare claims from 2024-10-01, so it is a warning: check the documentation and the sex
    recorded in the patient's demographics (unknown sex is not checked).
    """
    sex = enc.sex
    if sex not in ("M", "F"):
        return
    for seq, raw in enc.dx:
        code = ref.icd_code(raw)
        if sex == "M" and in_ranges(code, FEMALE_ONLY):
            yield (
                None,
                f"diagnosis {seq} {code} is female-specific and the patient's recorded sex is M",
            )
        elif sex == "F" and in_ranges(code, MALE_ONLY):
            yield (
                None,
                f"diagnosis {seq} {code} is male-specific and the patient's recorded sex is F",
            )


# ==================================================================== procedures and modifiers


@rule(
    "PROC-CODE",
    "error",
    "line",
    "HCPCS Level II (CMS) and CPT (AMA) code sets in force on the DOS (45 CFR 162.1002)",
)
def proc_code(ref, enc, line):
    """The procedure code is a CPT or HCPCS Level II code, in the loaded set and valid on the DOS.

    HIPAA names HCPCS/CPT for professional services (45 CFR 162.1002). CPT is licensed by the
    AMA and not shipped: without a loaded CPT file a CPT code is checked by its format only (5
    digits, or 4 digits + F/T/U). HCPCS Level II (letter A-V + 4 digits) is checked against the
    loaded CMS file, by format when none is loaded; the finding says which.
    """
    msg = ref.procedure_problem(line.code, enc.dos)
    if msg:
        yield line.no, msg


@rule(
    "MOD-EXISTS",
    "error",
    "line",
    "CMS HCPCS Level II modifiers; CPT Appendix A (Level I modifiers)",
)
def mod_exists(ref, enc, line):
    """Every modifier is a known modifier valid on the DOS (or at least well formed).

    Modifiers are two characters. Level II modifiers are checked against the loaded HCPCS file;
    Level I (two-digit CPT) modifiers against a loaded modifier list; without one, by format.
    """
    for m in line.mods:
        msg = ref.modifier_problem(m, enc.dos)
        if msg:
            yield line.no, msg


_PAIRS = [
    (
        {"LT", "RT"},
        "LT (left) and RT (right) on one line: bill each side on its own line, or use 50 if bilateral",
    ),
    (
        {"26", "TC"},
        "26 (professional component) and TC (technical component) on one line: together they are the "
        "global service, billed without either",
    ),
    ({"50", "LT"}, "50 (bilateral) with LT: a bilateral procedure takes 50 alone"),
    ({"50", "RT"}, "50 (bilateral) with RT: a bilateral procedure takes 50 alone"),
]


@rule(
    "MOD-CONFLICT",
    "error",
    "line",
    "Medicare Claims Processing Manual (Pub. 100-04) ch. 12 sec. 40.7 (bilateral, LT/RT) and ch. 13 sec. 20 (26/TC)",
)
def mod_conflict(ref, enc, line):
    """The modifiers of one line do not contradict each other or repeat.

    LT with RT, 26 with TC, and 50 with LT or RT describe incompatible services on one line
    (Pub. 100-04 ch. 12 sec. 40.7; ch. 13 sec. 20); a modifier given twice is a keying error.
    """
    mods = line.mods
    if len(mods) < 2:
        return
    s = set(mods)
    if len(s) < len(mods):
        dup = next(m for m in mods if mods.count(m) > 1)
        yield line.no, f"modifier {dup} is given twice"
    for pair, why in _PAIRS:
        if pair <= s:
            yield line.no, f"modifiers {why}"


# ==================================================================== NCCI and MUE

NCCI_MODIFIERS = {
    # NCCI Policy Manual for Medicare Services, ch. I, sec. E (modifiers and modifier indicators)
    "anatomic": {
        "E1",
        "E2",
        "E3",
        "E4",
        "FA",
        "F1",
        "F2",
        "F3",
        "F4",
        "F5",
        "F6",
        "F7",
        "F8",
        "F9",
        "LC",
        "LD",
        "LM",
        "LT",
        "RC",
        "RI",
        "RT",
        "TA",
        "T1",
        "T2",
        "T3",
        "T4",
        "T5",
        "T6",
        "T7",
        "T8",
        "T9",
    },
    "global": {"24", "25", "57", "58", "78", "79"},
    "other": {"27", "59", "91", "XE", "XS", "XP", "XU"},
}
ALL_NCCI_MODIFIERS = set().union(*NCCI_MODIFIERS.values())


@rule(
    "NCCI-PTP", "error", "group", "CMS NCCI PTP practitioner edits; NCCI Policy Manual ch. I sec. E"
)
def ncci_ptp(ref, group):
    """No column-2 code is billed with its column-1 code for one patient, provider and day.

    NCCI procedure-to-procedure edits (CMS, quarterly): when both codes of an edit in force on
    the DOS are reported by the same provider for the same patient and date, the column-2 code
    is denied. Modifier indicator 0: never allowed together. Indicator 1: allowed only with an
    NCCI-associated modifier on the column-2 line (anatomic E1-E4, FA, F1-F9, LC, LD, LM, LT,
    RC, RI, RT, TA, T1-T9; global surgery 24, 25, 57, 58, 78, 79; 27, 59, 91, XE, XS, XP, XU)
    that documents a distinct service; an anatomic modifier does not count when the column-1
    line carries the same one. Indicator 9 and deleted edits do not apply.
    """
    yield from ref.ptp_findings(group)


@rule(
    "MUE-LINE",
    "error",
    "line",
    "CMS MUE practitioner table; MUE adjudication indicator 1 (line edit)",
)
def mue_line(ref, enc, line):
    """Units on one line do not exceed the code's MUE when its adjudication indicator is 1.

    Medically unlikely edits (CMS, quarterly) give the most units of a code one provider would
    report for one patient; with MAI 1 the edit is per claim line, and units above it deny the
    line. Split the units over lines with 59/XE/XS/XU or 76/77/91 only when documented.
    """
    msg = ref.mue_line_problem(line.code, line.units, enc.dos)
    if msg:
        yield line.no, msg


@rule(
    "MUE-DAY",
    "error",
    "group",
    "CMS MUE practitioner table; MUE adjudication indicators 2 and 3 (date of service edits)",
)
def mue_day(ref, group):
    """Units of a code for one patient, provider and day do not exceed its MUE when its MAI is 2 or 3.

    MAI 2 (policy) is an absolute per-day limit; MAI 3 (clinical) is per day too, and units
    above it are denied unless medical necessity is documented on appeal. All lines of the day
    count, billed or not.
    """
    yield from ref.mue_day_findings(group)


# ==================================================================== claim completeness

CLAIM = "837P 005010X222A1 / CMS-1500 instructions (Pub. 100-04 ch. 26)"


@rule("CLM-DX", "error", "encounter", f"{CLAIM}: item 21 / 2300 HI (1-12 diagnoses)")
def clm_dx(ref, enc):
    """The encounter has 1 to 12 diagnoses.

    A professional claim carries at least one and at most 12 ICD-10-CM codes (CMS-1500 item 21
    A-L; 837P 2300 HI). Split the encounter into two claims when more are needed.
    """
    n = len(enc.dx)
    if n == 0:
        yield None, "the encounter has no diagnosis: add the diagnoses from the documentation"
    elif n > 12:
        yield None, f"the encounter has {n} diagnoses; a claim takes at most 12: split it"


@rule("CLM-POINTER", "error", "line", f"{CLAIM}: item 24E / 2400 SV107 (1-4 pointers)")
def clm_pointer(ref, enc, line):
    """Every line points to 1-4 diagnoses of its encounter, each once (billadmin.pointers).

    CMS-1500 item 24E and 837P SV107 link each service to between one and four of the claim's
    diagnoses; a pointer to a diagnosis that is not there, or no pointer, rejects the line.
    """
    try:
        ptrs = pointers.parse(line.pointers)
    except pointers.PointerError as e:
        yield line.no, f"diagnosis pointer: {e}"
        return
    for fault in pointers.faults(ptrs, {s for s, _ in enc.dx}):
        yield line.no, fault.message


@rule("CLM-CHARGE", "error", "line", f"{CLAIM}: item 24F / 2400 SV102, 24G / SV104")
def clm_charge(ref, enc, line):
    """Every line has a charge above zero and at least one unit.

    837P SV102 (line charge) must be positive for a billable line and SV104 (units) at least 1.
    """
    if line.charge_cents is None or line.charge_cents <= 0:
        yield line.no, "the charge is not above 0.00: enter the fee for the service"
    if line.units is None or line.units < 1:
        yield line.no, "units must be at least 1"


@rule("CLM-DOS", "error", "encounter", f"{CLAIM}: item 24A / 2400 DTP*472 (service date)")
def clm_dos(ref, enc):
    """The date of service is not in the future.

    A service is billed after it is rendered; a future date of service is rejected (837P 2400
    DTP*472) and usually means a keying error.
    """
    if enc.dos and enc.dos > ref.as_of:
        yield None, f"the date of service {enc.dos} is after today ({ref.as_of}): correct the date"


@rule(
    "CLM-NPI",
    "error",
    "encounter",
    "45 CFR 162.406 (NPI); CMS NPI check-digit standard (Luhn, prefix 80840)",
)
def clm_npi(ref, enc):
    """The rendering and billing NPIs pass the NPI check digit.

    Every covered provider is identified by its NPI (45 CFR 162.406); the tenth digit is a Luhn
    check digit over the other nine prefixed with 80840. A wrong NPI rejects the claim.
    """
    msg = ref.npi_problem(enc.npi)
    if msg:
        yield None, f"rendering NPI: {msg}"
    msg = ref.billing_npi_problem()
    if msg:
        yield None, f"billing NPI: {msg}"


@rule(
    "CLM-COVERAGE",
    "error",
    "encounter",
    "payer eligibility on the date of service (ASC X12 270/271)",
)
def clm_coverage(ref, enc):
    """The patient has an active coverage on the date of service, or is self-pay.

    A claim goes to the payer whose coverage is in force on the DOS. A patient with coverages of
    which none covers the DOS (lapsed, not yet started) needs the coverage updated or the
    service billed to the patient; a patient with no coverage at all is self-pay. The coverage
    must carry its member id (837P 2010BA NM109).
    """
    if not enc.known_patient:
        return
    cov = ref.coverage_on(enc.patient_id, enc.dos)
    if cov is None:
        if ref.has_coverages(enc.patient_id):
            yield (
                None,
                (
                    "no coverage is active on the date of service: update the patient's coverage, "
                    "or bill the patient (self-pay)"
                ),
            )
        return
    if cov.payer_kind != "self" and not (cov.member_id or "").strip():
        yield (
            None,
            f"the {cov.payer_code} coverage has no member id: add it from the insurance card",
        )


@rule(
    "CLM-TIMELY",
    "error",
    "encounter",
    "42 CFR 424.44 (Medicare: 12 months from DOS); payer contracts (payers.timely_filing_days)",
)
def clm_timely(ref, enc):
    """The payer's timely-filing window is still open (a warning in its last 14 days).

    Medicare accepts a claim up to 12 months after the DOS (42 CFR 424.44); other payers set
    their own limit in days or months, recorded on the payer. A claim filed late is denied and
    cannot be billed to the patient.
    """
    if not enc.known_patient:
        return
    cov = ref.coverage_on(enc.patient_id, enc.dos)
    if cov is None or cov.payer_kind == "self":
        return
    deadline = ref.filing_deadline(cov, enc.dos)
    if deadline is None:
        return
    if deadline < ref.as_of:
        yield (
            None,
            f"the {cov.payer_code} timely-filing window closed on {deadline}: appeal with proof of"
            " timely filing, or write off",
        )
    elif ref.days_until(deadline) <= 14:
        yield (
            None,
            f"the {cov.payer_code} timely-filing window closes on {deadline}: send this claim now",
            "warning",
        )


# ==================================================================== X12 text and identifiers

X12_TEXT = (
    "837P 005010X222A1: NM103 required (2010BA, 2010CA, 2010BB, 2310B), N301/N401 required for"
    " the patient's address; TR3 appendix B character set"
)


@rule("X12-TEXT-EMPTY", "error", "encounter", X12_TEXT)
def x12_text_empty(ref, enc):
    """No required name or address of an insurance claim is empty once written in X12.

    X12 names and addresses are written in the basic/extended character set: billadmin.x12.text
    transliterates them (Łukasiewicz -> LUKASIEWICZ, Strauß -> STRAUSS). A name or street
    written only in a script without a Latin form (Chinese characters, say) would be empty, and
    an empty required element (NM103, N301, N401; a first name that was given) fails the whole
    837P file. The encounter is held instead, naming the patient's MRN, the coverage, payer
    code or rendering NPI; record the Latin spelling and bill again.
    """
    for msg in ref.x12_text_problems(enc):
        yield None, msg


@rule(
    "X12-ID-CHARS",
    "error",
    "encounter",
    "ASC X12 005010 control segments: data may not contain the interchange's delimiters",
)
def x12_id_chars(ref, enc):
    """The claim's member id, group number and payer id can be sent exactly as recorded.

    An identifier holding an X12 delimiter (* : ^ ~), a control character or a character outside
    printable ASCII would have to be altered to be sent, and the payer would not find the
    member. Import refuses such values; this rule holds claims whose identifiers were recorded
    before that check.
    """
    for msg in ref.x12_identifier_problems(enc):
        yield None, msg


# ==================================================================== building the claim
# What `invoice generate` holds an encounter on (billing/holds.py runs the same checks of
# scrub/claim.py over its own bill-to), so a clean `codes check` means a clean run. Each runs on
# encounters billed to an insurance payer (the coverage generate bills: claim_coverage).

BUILD = "837P 005010X222A1"


@rule("CLAIM-NO-DX", "error", "encounter", f"{BUILD}: loop 2300 HI (at least one diagnosis)")
def claim_no_dx(ref, enc):
    """A claim carries at least one diagnosis.

    The 837P's HI segment (loop 2300) is required and holds 1-12 diagnoses; CLM-DX says the same
    of every encounter, this one of the claims `invoice generate` would build.
    """
    if enc.dx:
        return
    msg = no_dx(0)
    if msg and ref.claim_coverage(enc) is not None:
        yield None, msg


@rule("CLAIM-LINES", "error", "encounter", f"{BUILD}: loop 2400 (at most 50 service lines)")
def claim_lines(ref, enc):
    """A claim has at most 50 service lines (held unless the practice splits long claims).

    Loop 2400 repeats at most 50 times in one claim. With `practice set --long-claims split`
    `invoice generate` bills such an encounter on several claims (billing/split.py) and this
    rule is silent; with `hold` (the default) the encounter is held until its lines are split.
    """
    msg = too_many_lines(len(enc.lines))
    if msg and ref.claim_coverage(enc) is not None and _long_claims(ref) != "split":
        yield None, msg


def _long_claims(ref) -> str:
    """The practice's long-claims setting, read once per check (billing/split.py)."""
    if not hasattr(ref, "long_claims"):
        from ..billing.split import mode

        ref.long_claims = mode(ref.conn)
    return ref.long_claims


@rule("CLAIM-POINTER", "error", "encounter", f"{BUILD}: 2400 SV107 (1-4 pointers to HI positions)")
def claim_pointer(ref, enc):
    """Every line points to 1-4 of the claim's HI positions, each once (billadmin.pointers).

    SV107 points at positions 1..n of the claim's HI list. CLM-POINTER checks the diagnoses'
    numbers as recorded; where they are 1..n the two agree and a fault is reported once, by
    CLM-POINTER (invoice generate drops its own finding on such a line too).
    """
    dx = enc.dx  # sorted by number, each number once
    n = len(dx)
    if not n or (dx[0][0] == 1 and dx[-1][0] == n) or ref.claim_coverage(enc) is None:
        return  # numbered 1..n: CLM-POINTER checks the same positions
    for line in enc.lines:
        if line.context or any(True for _ in clm_pointer(ref, enc, line)):
            continue
        for msg in pointer_problems(line.pointers, n):
            yield line.no, msg


@rule("CLAIM-CHARGE", "error", "encounter", f"{BUILD}: 2400 SV102 (charge), SV104 (units)")
def claim_charge(ref, enc):
    """No line of a claim has a negative charge or fewer than 1 unit.

    Such a line cannot be written in SV102/SV104; CLM-CHARGE (charge above zero) also reports it.
    """
    claim = None
    for line in enc.lines:
        msg = None if line.context else charge_problem(line.charge_cents, line.units)
        if msg:
            if claim is None:
                claim = ref.claim_coverage(enc) is not None
            if claim:
                yield line.no, msg


@rule(
    "CLAIM-ADDRESS",
    "error",
    "encounter",
    f"{BUILD}: loop 2010BA/2010CA N3/N4 (patient address; N402 a US state code)",
)
def claim_address(ref, enc):
    """The patient's street, city, US state and 5- or 9-digit ZIP are recorded.

    N3 and N4 of the subscriber or patient loop are required on a professional claim.
    """
    msg = ref.address_problem(enc.patient_id)
    if msg and ref.claim_coverage(enc) is not None:
        yield None, msg


@rule("CLAIM-PAYER-ID", "error", "encounter", f"{BUILD}: loop 2010BB NM1*PR NM109 (payer id)")
def claim_payer_id(ref, enc):
    """The payer billed has its electronic (X12) payer id.

    NM109 of loop 2010BB routes the claim through the clearinghouse (the payers import's
    Electronic Payer ID column).
    """
    cov = ref.claim_coverage(enc)
    msg = None if cov is None else ref.coverage_problems(cov).get("CLAIM-PAYER-ID")
    if msg:
        yield None, msg


@rule("CLAIM-MEMBER-ID", "error", "encounter", f"{BUILD}: loop 2010BA NM1*IL NM109 (member id)")
def claim_member_id(ref, enc):
    """The coverage billed has its member id.

    NM109 of loop 2010BA names the subscriber to the payer; CLM-COVERAGE also reports it.
    """
    cov = ref.claim_coverage(enc)
    msg = None if cov is None else ref.coverage_problems(cov).get("CLAIM-MEMBER-ID")
    if msg:
        yield None, msg


@rule(
    "CLAIM-SUBSCRIBER",
    "error",
    "encounter",
    f"{BUILD}: loop 2010BA NM103/NM104 (subscriber) when the patient is a dependent (2000C)",
)
def claim_subscriber(ref, enc):
    """A dependent's coverage records the subscriber's last and first name.

    When the patient is not the subscriber, loop 2010BA names the subscriber and 2010CA the
    patient.
    """
    cov = ref.claim_coverage(enc)
    msg = None if cov is None else ref.coverage_problems(cov).get("CLAIM-SUBSCRIBER")
    if msg:
        yield None, msg


@rule(
    "ALREADY-BILLED",
    "error",
    "encounter",
    "CMS-1500/837P CLM05-3 (frequency 7 replaces, 8 voids): a service is billed once",
)
def claim_already_billed(ref, enc):
    """None of the encounter's lines is on an issued invoice already.

    A line added to an encounter after it was billed is a correction of that claim: replace it
    (`invoice replace`, frequency 7) rather than bill the encounter twice.
    """
    number = ref.billed_invoice(enc.id)
    if number:
        yield None, already_billed_message(number)


def _coverage_checks(ref, enc) -> list[tuple]:
    """CLAIM-PAYER-ID, CLAIM-MEMBER-ID and CLAIM-SUBSCRIBER in one look (model.FAMILY): the
    engine's shortcut, as ref.coverage_problems answers all three for the coverage billed."""
    cov = ref.claim_coverage(enc)
    if cov is None:
        return []
    return [(rid, None, msg) for rid, msg in ref.coverage_problems(cov).items()]


# the engine's shortcuts (model.FAMILY, model.QUIET): the rules above stay their definitions
_COVERAGE_RULES = ("CLAIM-PAYER-ID", "CLAIM-MEMBER-ID", "CLAIM-SUBSCRIBER")
FAMILY.update(dict.fromkeys(_COVERAGE_RULES, _coverage_checks))
QUIET.update(dict.fromkeys(_COVERAGE_RULES, lambda ref: not ref.any_coverage_problem()))
QUIET["ALREADY-BILLED"] = lambda ref: not ref.any_billed()
QUIET["CLAIM-ADDRESS"] = lambda ref: not ref.any_bad_address()
QUIET["X12-TEXT-EMPTY"] = lambda ref: not ref.any_x12_text()
QUIET["X12-ID-CHARS"] = lambda ref: not ref.any_x12_identifier()


# ==================================================================== next-payer (COB) claims
# Checked by `invoice generate` when it builds a claim to the next payer from a posted 835
# (billing/cob.py), on the claim's content; listed here so `codes rules` names every rule a run
# holds on. COB-BALANCE and COB-MSP-TYPE hold the claim (so do CLAIM-PAYER-ID, CLAIM-MEMBER-ID
# and CLAIM-SUBSCRIBER); COB-QMB and COB-MEDICAID-PAID-IN-FULL hold an amount on the paid claim
# for the clerk, and the run goes on.

COB = "837P 005010X222A1 coordination of benefits (loops 2320/2330/2430)"


@rule("COB-BALANCE", "error", "next-payer", f"{COB}: section 1.4.1.1, 2320 AMT*D, 2430 SVD")
def cob_balance(ref, enc):
    """A next-payer claim balances: for each prior payer AMT*D + CAS = CLM02, and per line.

    For each prior payer, AMT*D plus its claim-level and 2430 CAS equals CLM02; the 2430 SVD02
    add up to AMT*D plus the claim-level CAS; per 2430, SVD02 plus its CAS is the line's SV102;
    the prior payer's answer carries its date (DTP*573).
    """
    return iter(())


@rule("COB-MSP-TYPE", "error", "next-payer", f"{COB}: 2000B SBR05 (Medicare secondary payer type)")
def cob_msp_type(ref, enc):
    """A claim to Medicare as secondary payer carries its Medicare secondary payer type.

    SBR05 (e.g. 12 working aged, 43 disabled, 47 other liability) is required when Medicare is
    not the primary payer.
    """
    return iter(())


@rule(
    "COB-QMB",
    "warning",
    "next-payer",
    "SSA 1902(n)(3)(B) and 1866(a)(1)(A): no Medicare cost-sharing billed to a QMB",
)
def cob_qmb(ref, enc):
    """What Medicare left a Qualified Medicare Beneficiary is held, never billed to the patient.

    The coverage's qmb flag, or remark N781-N783 on the answer, with Medicare on the claim.
    """
    return iter(())


@rule(
    "COB-MEDICAID-PAID-IN-FULL",
    "warning",
    "next-payer",
    "42 CFR 447.15: Medicaid's payment is payment in full",
)
def cob_medicaid_paid_in_full(ref, enc):
    """What Medicaid accepted is payment in full: only its co-pay and share of cost are billed.

    CARC 3 (co-payment), 142 and 178 (share of cost, spend-down) go to the patient; the rest of
    what Medicaid left is held on the claim.
    """
    return iter(())


# ==================================================================== NDC, referrals, authorizations, CLIA
# (issue 20) in their own module, registered here: scrub/claim_fields.py
from .claim_fields import SPECS as _CLAIM_FIELD_RULES  # noqa: E402

for _id, _severity, _level, _source, _fn in _CLAIM_FIELD_RULES:
    rule(_id, _severity, _level, _source)(_fn)

# medical necessity under lab NCDs and Billing and Coding Articles (issue 18): scrub/necessity.py
from .necessity import SPECS as _NECESSITY_RULES  # noqa: E402

for _id, _severity, _level, _source, _fn in _NECESSITY_RULES:
    rule(_id, _severity, _level, _source)(_fn)
