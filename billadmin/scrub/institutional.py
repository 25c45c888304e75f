"""Institutional scrub rules (837I / UB-04 claims of billadmin/institutional), each with its id,
severity and the public source it rests on, registered in the scrubber's registry (level
"institutional", listed by `billadmin codes rules`).

    from billadmin.scrub.institutional import check_claims
    findings = check_claims(conn, claims, as_of)   # claims: institutional.model.InstitutionalClaim

`invoice generate` holds an institutional claim on any error (institutional/generate.py calls
check_claims on the claims it is about to bill); `billadmin codes check` reports them for every
unbilled institutional claim beside the professional encounters' findings (scrub.check).

Rules (descriptions of codes here are our own words, not NUBC's licensed text):
  INST-TOB        the type of bill exists and fits the facility's type.
  INST-REV-HCPCS  an outpatient line whose revenue code needs a HCPCS code has one (the loaded
                  I/OCE revenue-code list, `codes load ioce-revenue`, else our families).
  INST-ADMIT      an inpatient claim has its admission date, type and source.
  INST-POA        each diagnosis of a hospital inpatient claim (11x) has a POA indicator, and
                  none when CMS's POA-exempt list in force on the discharge date has the code
                  (`codes load poa-exempt`; without a list, a blank is a warning).
  INST-POA-PLACE  no POA indicator where none belongs (outpatient claims, admitting diagnosis,
                  reason for visit): held, not refused at import.
  INST-PERIOD     the statement period runs forward and covers every line date.
  INST-STATUS-TOB the patient status exists and fits the type of bill.
  INST-PCS        each ICD-10-PCS procedure is a valid code on its date (when PCS is loaded).
  INST-3DAY       Medicare's payment window: outpatient services at the same hospital within 3
                  days before an inpatient admission (1 day outside IPPS) belong on the
                  inpatient claim.
  INST-NCCI       outpatient lines pass the loaded NCCI PTP edits (per claim and day): the
                  hospital outpatient edits for 13x, 14x and 85x claims once loaded
                  (`codes load ncci-hospital`), else the practitioner ones.
  INST-MUE        outpatient lines pass the loaded MUEs (per line and per claim and day): the
                  outpatient hospital table likewise (`codes load mue-hospital`).
Messages name claim keys (encounter numbers), line numbers, codes; never PHI, never dates.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from ..findings import Finding
from .rules import RULES, rule

if TYPE_CHECKING:
    from ..codesets.instref import IoceRevenue, PoaExempt
    from ..db import Database
    from ..institutional.model import InstitutionalClaim
    from .engine import Ref

LEVEL = "institutional"
TR3 = "TR3 005010X223A2"
UB04 = "UB-04 (CMS Pub. 100-04 ch. 25)"

# Revenue codes that need a HCPCS code on an outpatient (OPPS) claim: the I/OCE's edit 48
# ("revenue center requires HCPCS"). The I/OCE data files list them by quarter; these are the
# families we check (prefixes of the 4-digit code), a subset to confirm against the quarter's
# I/OCE table before relying on it as complete.
HCPCS_REQUIRED_PREFIXES = (
    "030",  # laboratory
    "031",  # pathology laboratory
    "032",  # diagnostic radiology
    "033",  # therapeutic radiology and chemotherapy administration
    "034",  # nuclear medicine
    "035",  # CT
    "040",  # other imaging
    "046",  # pulmonary function
    "047",  # audiology
    "048",  # cardiology
    "049",  # ambulatory surgery
    "061",  # MRI/MRA
    "073",  # EKG/ECG
    "074",  # EEG
    "075",  # gastrointestinal services (endoscopy)
)
HCPCS_REQUIRED_CODES = frozenset({"0360", "0361", "0636"})  # OR (general, minor), coded drugs

# Patient status (UB-04 FL 17, CL103), in our own words.
PATIENT_STATUS = {
    "01": "discharged home or to self-care",
    "02": "transferred to a short-term hospital",
    "03": "transferred to a skilled nursing facility",
    "04": "transferred to custodial or supportive care",
    "05": "transferred to another type of institution (cancer, children's hospital)",
    "06": "discharged home with home health care",
    "07": "left against medical advice",
    "09": "admitted as an inpatient of this hospital (outpatient claims only)",
    "20": "expired",
    "21": "released to court or law enforcement",
    "30": "still a patient",
    "40": "expired at home (hospice claims)",
    "41": "expired in a facility (hospice claims)",
    "42": "expired, place unknown (hospice claims)",
    "43": "transferred to a federal health care facility",
    "50": "discharged to hospice at home",
    "51": "discharged to hospice in a facility",
    "61": "moved to a swing bed of this hospital",
    "62": "transferred to an inpatient rehabilitation facility",
    "63": "transferred to a long-term care hospital",
    "64": "transferred to a Medicaid-only nursing facility",
    "65": "transferred to a psychiatric hospital or unit",
    "66": "transferred to a critical access hospital",
    "69": "transferred to a designated disaster alternative care site",
    "70": "transferred to another type of health care institution",
}
# 81-95: the same destinations with a planned acute-care readmission
for _code, _base in zip(
    ("81", "82", "83", "84", "85", "86", "87", "88", "89", "90", "91", "92", "93", "94", "95"),
    ("01", "02", "03", "04", "05", "06", "21", "43", "61", "62", "63", "64", "65", "66", "70"),
    strict=True,
):
    PATIENT_STATUS[_code] = PATIENT_STATUS[_base] + ", planned readmission"
HOSPICE_DEATH = frozenset({"40", "41", "42"})
HOSPICE_BILLS = frozenset({"81", "82"})

# Hospitals outside IPPS by taxonomy (psychiatric, rehabilitation, long-term care, children's):
# their payment window is 1 day (42 CFR 412.2(c)(5)(iii)); a CAH bills 85x and has none.
# Bills checked against CMS's hospital outpatient NCCI PTP edits and MUEs once loaded: hospital
# outpatient (13x), non-patient specimens (14x), critical access hospital outpatient (85x).
HOSPITAL_OUTPATIENT = frozenset({"13", "14", "85"})
NON_IPPS_TAXONOMIES = frozenset({"283Q00000X", "283X00000X", "282E00000X", "282NC2000X"})
COND_UNRELATED = "51"  # condition code: unrelated outpatient non-diagnostic services attested


def _inst_rule(rule_id: str, severity: str, source: str):
    return rule(rule_id, severity, LEVEL, source)


# ==================================================================== the claim's header


@_inst_rule("INST-TOB", "error", f"NUBC type of bill structure, {UB04} FL 4; {TR3} 2300 CLM05")
def type_of_bill(ctx, c):
    """The type of bill exists and its facility type is the billing facility's.

    A type of bill is facility type, bill classification (whose meaning depends on the facility
    type) and frequency; only the combinations of institutional.billtypes exist. A hospital
    bills 11x-14x and 18x; a type of bill of another facility type does not fit it.
    """
    from ..institutional import billtypes

    try:
        billtypes.check_type_of_bill(c.type_of_bill)
    except ValueError as e:
        yield None, f"type of bill: {e}: correct it"
        return
    if c.type_of_bill[0] != c.facility.facility_type:
        kind = billtypes.FACILITY_TYPES.get(c.facility.facility_type, "another type of facility")
        yield (
            None,
            f"type of bill {c.type_of_bill} ({billtypes.BILL_TYPES[c.facility_code]}) does not"
            f" fit facility {c.facility.code}, a {kind}: use one of its bill types",
        )


@_inst_rule(
    "INST-ADMIT", "error", f"{TR3} 2300 DTP*435 and CL1 (inpatient claims); {UB04} FL 12, 14, 15"
)
def admission_data(ctx, c):
    """An inpatient claim has its admission date, admission type and point of origin.

    The 837I requires the admission date (DTP*435) and the admission type (CL101) on inpatient
    claims, and Medicare the point of origin (CL102, FL 15); an admission cannot follow the
    start of the period it bills.
    """
    if not c.inpatient:
        return
    missing = [
        what
        for what, value in (
            ("admission date (DTP*435)", c.admission_date),
            ("admission type (CL101)", c.admission_type),
            ("point of origin (CL102)", c.admission_source),
        )
        if not value
    ]
    if missing:
        yield None, f"inpatient claim without its {', '.join(missing)}: add them"
    if c.admission_date and c.admission_date > c.statement_from:
        yield None, "the admission date is after the statement period starts: correct either"


@_inst_rule(
    "INST-POA",
    "error",
    f"ICD-10-CM Official Guidelines, Appendix I (present on admission; CMS's POA-exempt list of"
    f" the fiscal year); {TR3} 2300 HI",
)
def poa_present(ctx, c):
    """Each diagnosis of a hospital inpatient claim (11x) has a present-on-admission indicator,
    except the codes on CMS's POA-exempt list, which take none.

    Y, N, U or W for every principal, other and external-cause diagnosis whose code is not on
    the POA-exempt list in force on the discharge date (the statement period's last day); blank
    (or the 4010 "1", its equivalent) for a code on it. Held (error) once a list covering that
    date is loaded (`billadmin codes load poa-exempt`); without one, a blank is a warning (the
    code may be exempt) and an indicator on an exempt code is not seen.
    """
    if c.facility_code != "11":
        return
    got = ctx.poa_exempt(c.statement_through)
    for d in c.diagnoses:
        if d.qualifier not in ("ABK", "ABF", "ABN"):
            continue
        blank = d.poa in ("", "1")
        if got is None:
            if not d.poa:
                yield (
                    None,
                    f"diagnosis {d.seq} {d.code} has no present-on-admission indicator: report Y,"
                    " N, U or W, or leave it blank only when the code is POA-exempt (no"
                    " POA-exempt list covering the discharge date is loaded: `billadmin codes"
                    " load poa-exempt FILE`)",
                    "warning",
                )
            continue
        label, exempt = got
        code = d.code.replace(".", "").upper()
        if code in exempt and not blank:
            yield (
                None,
                f"diagnosis {d.seq} {d.code} is on the POA-exempt list ({label}): leave its"
                " present-on-admission indicator blank",
            )
        elif code not in exempt and blank:
            yield (
                None,
                f"diagnosis {d.seq} {d.code} has no present-on-admission indicator and is not on"
                f" the POA-exempt list ({label}): report Y, N, U or W",
            )


@_inst_rule(
    "INST-POA-PLACE",
    "error",
    f"ICD-10-CM Official Guidelines, Appendix I (inpatient admissions only); {TR3} 2300 HI",
)
def poa_misplaced(ctx, c):
    """No present-on-admission indicator where none belongs: on outpatient claims, and on the
    admitting diagnosis or a reason for visit. Held, not refused at import, so it is fixed on the
    claim."""
    for d in c.diagnoses:
        if not d.poa:
            continue
        if not c.inpatient:
            yield (
                None,
                f"diagnosis {d.seq} {d.code} has a present-on-admission indicator on an"
                f" outpatient claim (type of bill {c.type_of_bill}): remove it",
            )
        elif d.qualifier in ("ABJ", "APR"):
            yield (
                None,
                f"diagnosis {d.seq} {d.code} ({d.qualifier}) takes no present-on-admission"
                " indicator: remove it",
            )


@_inst_rule("INST-PERIOD", "error", f"{TR3} 2300 DTP*434 and 2400 DTP*472; {UB04} FL 6 and 45")
def statement_period(ctx, c):
    """The statement period runs forward and covers the date of every revenue line."""
    if c.statement_from > c.statement_through:
        yield None, "the statement period ends before it starts: correct its dates"
        return
    for ln in c.lines:
        if ln.line_date and ln.line_date < c.statement_from:
            yield ln.line_no, "the line's date is before the statement period: correct either"
        elif ln.line_date and ln.line_date > c.statement_through:
            yield ln.line_no, "the line's date is after the statement period: correct either"


@_inst_rule("INST-STATUS-TOB", "error", f"{UB04} FL 17 (patient discharge status); {TR3} CL103")
def status_for_bill(ctx, c):
    """The patient status exists and fits the type of bill.

    An interim bill (frequency 2 or 3) of an inpatient stay reports the patient as still a
    patient (30), and an admit-through-discharge or last interim bill (1 or 4) does not; the
    hospice death statuses (40-42) are for hospice bills (81x, 82x) only; "admitted as an
    inpatient of this hospital" (09) is for outpatient claims.
    """
    s = c.patient_status
    if not s:
        return  # INST-STATUS (institutional generate) holds a claim without one
    if s not in PATIENT_STATUS:
        yield None, f"patient status {s} is not a patient status code: correct it"
        return
    if c.inpatient and c.frequency in ("2", "3") and s != "30":
        yield None, f"an interim bill (type of bill {c.type_of_bill}) reports status 30"
    if c.inpatient and c.frequency in ("1", "4") and s == "30":
        yield (
            None,
            f"status 30 (still a patient) on a discharge bill (type of bill {c.type_of_bill}):"
            " report the discharge status, or bill as interim",
        )
    if s in HOSPICE_DEATH and c.facility_code not in HOSPICE_BILLS:
        yield None, f"status {s} is for hospice bills only: report 20 (expired)"
    if s == "09" and c.inpatient:
        yield None, "status 09 is for outpatient claims: report the discharge status"


@_inst_rule("INST-PCS", "error", "ICD-10-PCS in force on the procedure date (45 CFR 162.1002(c))")
def pcs_valid(ctx, c):
    """Each inpatient procedure is an ICD-10-PCS code valid for submission on its date (a table
    header or a code of another release is not); not checked when no release is loaded."""
    for p in c.procedures:
        ok = ctx.pcs_valid(p.code, p.date or c.statement_from)
        if ok is False:
            yield (
                None,
                f"procedure {p.seq} {p.code} is not a valid ICD-10-PCS code on its date: correct"
                " it (`billadmin codes lookup` shows the release and window)",
            )


# ==================================================================== across claims


@_inst_rule(
    "INST-3DAY",
    "error",
    "42 CFR 412.2(c)(5) (payment window); CMS Pub. 100-04 ch. 3 s. 40.3",
)
def payment_window(ctx, c):
    """Medicare's payment window: outpatient services at the same hospital on the day of an
    inpatient admission or in the 3 days before it (1 day for a hospital outside IPPS) are
    billed on the inpatient claim, not on their own (diagnostic ones always; non-diagnostic ones
    unless unrelated to the admission, attested by condition code 51, then a warning).

    Held on the outpatient claim (error); the inpatient claim gets a warning naming the
    outpatient claim whose lines it should carry. Applies when the patient has Medicare on the
    admission date; a critical access hospital (85x) has no payment window.
    """
    yield from ctx.window_findings(c)


@_inst_rule(
    "INST-NCCI",
    "error",
    "CMS NCCI procedure-to-procedure edits, hospital outpatient file (OPPS: per claim and day)",
)
def ncci_ptp(ctx, c):
    """Outpatient lines pass the loaded NCCI procedure-to-procedure edits: two HCPCS codes of one
    claim and day that an edit pairs are not paid together unless a modifier the edit allows
    shows a distinct service (the scrubber's NCCI-PTP logic, per claim and line date).

    13x, 14x and 85x claims are checked against CMS's hospital outpatient PTP edits
    (ccioph-..., `codes load ncci-hospital`) when loaded, else against the practitioner ones;
    other outpatient bills against the practitioner ones."""
    yield from ctx.ncci_findings(c, "ptp")


@_inst_rule(
    "INST-MUE",
    "error",
    "CMS medically unlikely edits, outpatient hospital services table (MUE; OPPS: per line and"
    " per day)",
)
def mue(ctx, c):
    """Outpatient lines pass the loaded MUEs: units per line (MAI 1) and per claim and day (MAI
    2, 3), the scrubber's MUE-LINE and MUE-DAY logic applied to the revenue lines.

    13x, 14x and 85x claims use CMS's outpatient hospital services MUE table
    (`codes load mue-hospital`) when loaded, else the practitioner one."""
    yield from ctx.ncci_findings(c, "mue")


@_inst_rule(
    "INST-REV-HCPCS",
    "error",
    "CMS Integrated Outpatient Code Editor (I/OCE) specifications, edit 48 (revenue center"
    " requires HCPCS)",
)
def revenue_needs_hcpcs(ctx, c):
    """On an outpatient claim, a line whose revenue code needs a HCPCS code has one.

    Under OPPS the I/OCE returns edit 48 for a line of a revenue center that requires HCPCS
    without one (laboratory 030x, pathology 031x, radiology 032x-035x, operating room 0360-0361,
    imaging 040x, 061x, pulmonary 046x, audiology 047x, cardiology 048x, ambulatory surgery
    049x, coded drugs 0636, EKG 073x, EEG 074x, gastrointestinal 075x). A revenue-code list
    loaded from the I/OCE's data files (`codes load ioce-revenue`) decides for the codes it
    names on the line's date; the others keep these families.
    """
    if c.inpatient:
        return
    for ln in c.lines:
        if not ln.hcpcs and ctx.needs_hcpcs(ln.revenue_code, ln.line_date or c.statement_from):
            yield (
                ln.line_no,
                f"revenue code {ln.revenue_code} needs a HCPCS code on an outpatient claim: add it",
            )


def needs_hcpcs(revenue_code: str) -> bool:
    """Whether a revenue code is in the built-in families that need a HCPCS code."""
    return revenue_code in HCPCS_REQUIRED_CODES or revenue_code[:3] in HCPCS_REQUIRED_PREFIXES


# ==================================================================== running them


class _Context:
    """What the rules read beyond one claim, loaded once per run: ICD-10-PCS validity, the NCCI
    and MUE reference (the scrubber's own), and for the payment window every institutional claim
    of the run's patients with their Medicare coverage."""

    def __init__(self, conn: Database, as_of: _dt.date, claims: list[InstitutionalClaim]):
        self.conn = conn
        self.as_of = as_of
        self.claims = claims
        self._pcs: dict[tuple[str, str], bool | None] = {}
        self._ref: Ref | None = None
        self._href: Ref | None = None
        self._poa: PoaExempt | None = None
        self._ioce: IoceRevenue | None = None
        self._window: dict[int, list[tuple[int | None, str, str]]] | None = None

    def pcs_valid(self, code: str, on: str) -> bool | None:
        key = (code, on)
        if key not in self._pcs:
            from ..codesets import pcs

            self._pcs[key] = pcs.valid_on(self.conn, code, on)
        return self._pcs[key]

    def needs_hcpcs(self, revenue_code: str, day: str) -> bool:
        """The loaded I/OCE list's answer for the code on the day, else the built-in families."""
        if self._ioce is None:
            from ..codesets.instref import IoceRevenue

            self._ioce = IoceRevenue(self.conn)
        got = self._ioce.hcpcs_required(revenue_code, day)
        return needs_hcpcs(revenue_code) if got is None else got[0]

    def ioce_label(self, c: InstitutionalClaim, line_no: int | None) -> str | None:
        """The I/OCE list that decided for a line of the claim, if one did."""
        if self._ioce is None:
            return None
        for ln in c.lines:
            if ln.line_no == line_no:
                got = self._ioce.hcpcs_required(ln.revenue_code, ln.line_date or c.statement_from)
                return got[1] if got else None
        return None

    def poa_exempt(self, day: str) -> tuple[str, frozenset[str]] | None:
        if self._poa is None:
            from ..codesets.instref import PoaExempt

            self._poa = PoaExempt(self.conn)
        return self._poa.on(day)

    # ------------------------------------------------------------ NCCI and MUE
    def reference(self, c: InstitutionalClaim) -> Ref:
        """The hospital outpatient edits for 13x, 14x, 85x claims (each table falling back to
        the practitioner one while not loaded), the practitioner edits for other bills."""
        if c.facility_code in HOSPITAL_OUTPATIENT:
            if self._href is None:
                self._href = _hospital_ref(self.conn, self.as_of)
            return self._href
        if self._ref is None:
            from .engine import Ref

            self._ref = Ref(self.conn, self.as_of)
        return self._ref

    def ncci_findings(self, c: InstitutionalClaim, which: str) -> Iterator[tuple[int | None, str]]:
        if c.inpatient:
            return
        ref = self.reference(c)
        if not (ref.ptp_loaded if which == "ptp" else ref.mue_loaded):
            return
        from ..codesets import normalize
        from .engine import Group
        from .model import Encounter, Line

        groups: dict[str, Group] = {}
        encs: dict[str, Encounter] = {}  # one per claim and day: its lines are "line N", not
        for ln in c.lines:  # "line N of encounter K"
            if not ln.hcpcs:
                continue
            dos = ln.line_date or c.statement_from
            g = groups.get(dos)
            if g is None:
                g = groups[dos] = Group(dos)
                encs[dos] = Encounter(c.encounter_id, c.key, c.patient_id, None, dos)
            enc = encs[dos]
            code = normalize.procedure(ln.hcpcs)
            g.items.append((enc, Line(ln.line_no, code, ln.modifiers, "", ln.units, 1, False)))
        for dos, g in groups.items():
            if which == "ptp":
                for _enc, no, msg in ref.ptp_findings(g):
                    yield no, msg.replace("same patient, provider and day", "same claim and day")
                continue
            for _enc, item in g.items:
                problem = ref.mue_line_problem(item.code, item.units, dos)
                if problem:
                    yield item.no, problem
            for _enc, no, msg in ref.mue_day_findings(g):
                yield no, msg.replace("for this patient, provider and day", "on this claim and day")

    # ------------------------------------------------------------ the payment window
    def window_findings(self, c: InstitutionalClaim) -> Iterator[tuple]:
        if self._window is None:
            self._window = self._payment_window()
        for line, severity, msg in self._window.get(c.id, []):
            yield (line, msg) if severity == "error" else (line, msg, "warning")

    def _payment_window(self) -> dict[int, list[tuple[int | None, str, str]]]:
        """claim id -> (line, severity, message) for every pair of an inpatient claim and an
        outpatient claim of the same patient and facility that the window joins."""
        from ..institutional import model

        out: dict[int, list[tuple[int | None, str, str]]] = defaultdict(list)
        patients = sorted({c.patient_id for c in self.claims})
        if not patients:
            return out
        import json

        ids = [
            r[0]
            for r in self.conn.execute(
                "SELECT c.id FROM inst_claims c JOIN encounters e ON e.id = c.encounter_id"
                " WHERE e.patient_id IN (SELECT value FROM json_each(?))",
                (json.dumps(patients),),
            )
        ]
        everyone = model.list_claims(self.conn, ids=ids)
        by_patient: dict[int, list] = defaultdict(list)
        for x in everyone:
            by_patient[x.patient_id].append(x)
        for stays in by_patient.values():
            inpatient = [x for x in stays if x.facility_code == "11" and x.admission_date]
            outpatient = [x for x in stays if x.facility_code == "13"]
            for ip in inpatient:
                if not outpatient or not self._medicare_on(ip.patient_id, ip.admission_date):
                    continue
                days = 1 if ip.facility.taxonomy in NON_IPPS_TAXONOMIES else 3
                first = (
                    _dt.date.fromisoformat(ip.admission_date) - _dt.timedelta(days)
                ).isoformat()
                for op in outpatient:
                    if op.facility.id != ip.facility.id:
                        continue
                    lines = _lines_within(op, first, ip.admission_date)
                    if not lines:
                        continue
                    self._pair(out, ip, op, lines, days)
        return out

    def _pair(self, out, ip, op, lines: list[int], days: int) -> None:
        shown = ", ".join(str(n) for n in lines)
        unrelated = COND_UNRELATED in op.condition_codes
        severity = "warning" if unrelated else "error"
        if op.status == "unbilled":
            msg = (
                f"line(s) {shown} fall in Medicare's {days}-day payment window of inpatient claim"
                f" {ip.key} (same patient and facility): bill them on the inpatient claim"
            )
            msg += (
                " unless non-diagnostic and unrelated (condition code 51 attests that; diagnostic"
                " services belong there regardless)"
                if unrelated
                else "; non-diagnostic services unrelated to the admission: add condition code 51"
            )
            out[op.id].append((None, severity, msg))
        if ip.status == "unbilled":
            state = "billed: void it and" if op.status == "billed" else "unbilled:"
            out[ip.id].append(
                (
                    None,
                    "warning",
                    f"outpatient claim {op.key} ({state} move its line(s) {shown} onto this claim)"
                    f" falls in the {days}-day payment window of this admission",
                )
            )

    def _medicare_on(self, patient_id: int, day: str) -> bool:
        return (
            self.conn.execute(
                "SELECT 1 FROM coverages v JOIN payers p ON p.id = v.payer_id"
                " WHERE v.patient_id = ? AND p.kind = 'medicare' AND v.effective_from <= ?"
                " AND (v.effective_to IS NULL OR v.effective_to >= ?) LIMIT 1",
                (patient_id, day, day),
            ).fetchone()
            is not None
        )


def _lines_within(op, first: str, last: str) -> list[int]:
    """The outpatient claim's lines dated from `first` through `last` (a line without a date
    takes the claim's statement period: in the window when the period overlaps it)."""
    out = []
    for ln in op.lines:
        if ln.line_date:
            if first <= ln.line_date <= last:
                out.append(ln.line_no)
        elif op.statement_from <= last and op.statement_through >= first:
            out.append(ln.line_no)
    return out


def _chosen(rules: Iterable[str] | None) -> list:
    return [r for r in RULES.values() if r.level == LEVEL and (rules is None or r.id in set(rules))]


def check_claims(
    conn: Database,
    claims: list[InstitutionalClaim],
    as_of: _dt.date | str | None = None,
    *,
    rules: Iterable[str] | None = None,
) -> list[Finding]:
    """Every finding of the institutional rules (or of `rules` only) for these claims."""
    chosen = _chosen(rules)
    if not claims or not chosen:
        return []
    if isinstance(as_of, str):
        as_of = _dt.date.fromisoformat(as_of)
    ctx = _Context(conn, as_of or _dt.date.today(), claims)
    out: list[Finding] = []
    for c in claims:
        for r in chosen:
            for got in r.fn(ctx, c):
                line, message = got[0], got[1]
                severity = got[2] if len(got) > 2 else r.severity
                out.append(
                    Finding(
                        r.id,
                        severity,
                        message,
                        encounter=c.key,
                        line=line,
                        source=_source(r, ctx, c, line),
                        encounter_id=c.encounter_id,
                    )
                )
    return out


def _source(r, ctx: _Context, c, line: int | None = None) -> str:
    if r.id == "INST-REV-HCPCS":
        label = ctx.ioce_label(c, line)
        return f"{r.source}; I/OCE revenue codes '{label}'" if label else r.source
    if r.id == "INST-POA":
        got = ctx.poa_exempt(c.statement_through) if c.facility_code == "11" else None
        return f"{r.source}; POA-exempt list '{got[0]}'" if got else r.source
    if r.id not in ("INST-NCCI", "INST-MUE") or c.inpatient:
        return r.source
    ref = ctx.reference(c)
    hospital: set[str] = getattr(ref, "hospital", set())
    if r.id == "INST-NCCI" and ref.ptp_label:
        which = "NCCI PTP hospital" if "ptp" in hospital else "NCCI PTP"
        return f"{r.source}; {which} '{ref.ptp_label}'" + _practitioner_note(c, "ptp" in hospital)
    if r.id == "INST-MUE":
        label = ref.mue_label(c.statement_from)
        which = "MUE hospital" if "mue" in hospital else "MUE"
        if label:
            return f"{r.source}; {which} '{label}'" + _practitioner_note(c, "mue" in hospital)
    return r.source


def _practitioner_note(c, hospital_loaded: bool) -> str:
    if c.facility_code in HOSPITAL_OUTPATIENT and not hospital_loaded:
        return " (the practitioner file: the hospital outpatient one is not loaded)"
    return ""


def _hospital_ref(conn: Database, as_of: _dt.date) -> Ref:
    """The scrubber's NCCI/MUE reference reading CMS's hospital outpatient PTP edits and MUEs
    (ncci_ptp_hospital, mue_hospital: codesets/instref.py) for each of them that is loaded; the
    PTP and MUE logic stays the scrubber's (scrub/engine.py), one implementation for both."""
    from ..codesets import instref
    from .engine import Ref

    class HospitalRef(Ref):
        def __init__(self, conn: Database, as_of: _dt.date):
            super().__init__(conn, as_of)
            self.hospital: set[str] = set()
            ptp = instref.versions(conn, "ncci-hospital")
            if ptp and self.c.execute("SELECT 1 FROM ncci_ptp_hospital LIMIT 1").fetchone():
                self.hospital.add("ptp")
                self.ptp_loaded, self.ptp_label = True, ptp[-1]["label"]
            self._mue_versions = [
                (v["label"], v["effective_from"], v["effective_to"])
                for v in instref.versions(conn, "mue-hospital")
            ]
            if (
                self._mue_versions
                and self.c.execute("SELECT 1 FROM mue_hospital LIMIT 1").fetchone()
            ):
                self.hospital.add("mue")
                self.mue_loaded = True

        def ptp_for(self, code2: str) -> dict:
            if "ptp" not in self.hospital:
                return super().ptp_for(code2)
            got = self._ptp.get(code2)
            if got is None:
                edits: dict[str, list] = defaultdict(list)
                for c1, eff, dele, mod, why in self.c.execute(
                    "SELECT column1, effective_from, deleted_on, modifier_indicator, rationale"
                    " FROM ncci_ptp_hospital WHERE column2 = ?",
                    (code2,),
                ):
                    edits[c1].append((eff, dele, mod, why))
                self._ptp[code2] = got = dict(edits)
            return got

        def mue_for(self, code: str) -> list:
            if "mue" not in self.hospital:
                return super().mue_for(code)
            got = self._mue.get(code)
            if got is None:
                got = self._mue[code] = self.c.execute(
                    "SELECT m.effective_from, m.effective_to, m.mue_value, m.mai, m.rationale,"
                    " v.label FROM mue_hospital m JOIN inst_ref_versions v ON v.id = m.version_id"
                    " WHERE m.code = ? ORDER BY COALESCE(m.effective_from, '')",
                    (code,),
                ).fetchall()
            return got

        def mue_label(self, dos: str) -> str:
            if "mue" not in self.hospital:
                return super().mue_label(dos)
            for label, vfrom, vto in self._mue_versions:
                if vfrom <= dos and (vto is None or vto >= dos):
                    return label
            return self._mue_versions[-1][0]

    return HospitalRef(conn, as_of)


def check_unbilled(
    conn: Database,
    *,
    encounter_ids: list[int] | None,
    as_of: _dt.date,
    rules: Iterable[str] | None = None,
) -> list[Finding]:
    """The institutional rules over the unbilled institutional claims (of these encounters):
    what `codes check` (scrub.check) adds to the professional encounters' findings."""
    if not _chosen(rules):
        return []
    if not conn.execute("SELECT 1 FROM inst_claims WHERE status = 'unbilled' LIMIT 1").fetchone():
        return []
    from ..institutional import model

    if encounter_ids is None:
        claims = model.list_claims(conn, status="unbilled")
    else:
        wanted = set(encounter_ids)
        claims = [c for c in model.list_claims(conn, status="unbilled") if c.encounter_id in wanted]
    return check_claims(conn, claims, as_of, rules=rules)
