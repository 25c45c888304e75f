"""Running the rules: reference data (code sets, edits, patients, coverages) looked up once and
cached, encounters streamed from SQL, findings collected.

Speed matters (a practice scrubs everything unbilled before each billing run): encounters,
diagnoses and lines are three ordered cursors merged in one pass; every code-set answer is
cached per (code, date of service); only encounters that share a patient, provider and day are
held back and checked together at the end.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from ..codesets import normalize
from ..codesets.store import SYSTEM_NAMES, day_after
from ..findings import Finding
from ..x12 import text as x12text
from .claim import (
    address_problem,
    already_billed,
    member_id_problem,
    payer_id_problem,
    subscriber_problem,
)
from .model import FAMILY, QUIET, Encounter, Line

ICD10_START = "2015-10-01"  # first DOS coded in ICD-10-CM (45 CFR 162.1002(c)(2))
from .rules import ALL_NCCI_MODIFIERS, NCCI_MODIFIERS, RULES

if TYPE_CHECKING:
    from ..db import Database


class IcdState:
    __slots__ = ("kind", "code", "description", "needs_7th", "placeholder", "label", "why")

    def __init__(
        self, kind, code, description=None, needs_7th=0, placeholder=None, label=None, why=None
    ):
        self.kind, self.code, self.description, self.needs_7th = kind, code, description, needs_7th
        self.placeholder, self.label, self.why = placeholder, label, why


class Coverage:
    __slots__ = (
        "priority",
        "start",
        "end",
        "member_id",
        "payer_kind",
        "payer_code",
        "tf_days",
        "tf_months",
        "id",
        "x12_payer_id",
        "relationship",
        "subscriber_last",
        "subscriber_first",
    )

    def __init__(self, *row):
        (
            self.priority,
            self.start,
            self.end,
            self.member_id,
            self.payer_kind,
            self.payer_code,
            self.tf_days,
            self.tf_months,
            self.id,
            self.x12_payer_id,
            self.relationship,
            self.subscriber_last,
            self.subscriber_first,
        ) = row


class Group:
    """All lines of one patient, rendering provider and date of service."""

    __slots__ = ("dos", "items")

    def __init__(self, dos):
        self.dos = dos
        self.items: list[tuple[Encounter, Line]] = []


class Ref:
    """Reference data for one scrub run; every answer cached."""

    def __init__(self, conn: Database, as_of: _dt.date):
        self.conn = conn
        self.c = conn.conn  # the plain sqlite3 connection: most of a run is its queries
        self.as_of = as_of.isoformat()
        self._as_of_date = as_of
        self.versions = defaultdict(list)
        for system, label, vfrom, vto in self.c.execute(
            "SELECT code_system, label, effective_from, effective_to FROM code_versions"
            " ORDER BY COALESCE(effective_from, ''), id"
        ):
            self.versions[system].append((label, vfrom, vto))
        from ..codesets.store import loaded_systems

        self.loaded = loaded_systems(conn)
        self.mod_levels = set()
        if "modifier" in self.loaded:
            for (numeric,) in self.c.execute(
                "SELECT DISTINCT code GLOB '[0-9][0-9]' FROM codes WHERE code_system = 'modifier'"
            ):
                self.mod_levels.add("I" if numeric else "II")
        self._rows: dict[tuple[str, str], list] = {}
        self._icd: dict[tuple[str, str], IcdState] = {}
        self._icdnorm: dict[str, str] = {}
        self._icd_label: dict[str, str] = {}  # by DOS
        self._days: dict[str, int] = {}  # days from as_of to a date (CLM-TIMELY)
        self._proc: dict[tuple[str, str], str | None] = {}
        self._mod: dict[tuple[str, str], str | None] = {}
        self._npi: dict[str, str | None] = {}
        self._excl_code: dict[str, list] = {}
        self._excl_pairs: dict[tuple, list] = {}
        self._parent: dict[str, str | None] = {}
        self._hint: dict[str, str] = {}
        self._window: dict[str, str | None] = {}
        self._ptp: dict[str, dict] = {}
        self._mue: dict[str, list] = {}
        self.ptp_loaded = bool(self.c.execute("SELECT 1 FROM ncci_ptp LIMIT 1").fetchone())
        self.mue_loaded = bool(self.c.execute("SELECT 1 FROM mue LIMIT 1").fetchone())
        self.ptp_label = self.versions["ncci-ptp"][-1][0] if self.versions["ncci-ptp"] else None
        self.coverages: dict[int, list[Coverage]] = {}  # by patient id, set by load_coverages
        self._cov_memo: tuple = (None, None)
        self._deadline: dict[tuple, str | None] = {}
        self._billing_npi: tuple | None = None
        self._x12: tuple | None = None
        self._claim_cov_memo: tuple = (None, None)
        self._cov_problems: dict[int, dict[str, str]] = {}
        self._bad_address: dict[int, str] | None = None
        self._billed: dict[int, str] | None = None
        self.enc_filter: tuple[str, tuple] = ("SELECT NULL", ())  # set by check_db
        # a chosen set's patients (a SELECT of ids), so per-patient rows are read for them only
        self.pat_filter: str | None = None

    # ---------------------------------------------------------------- code rows
    def rows(self, system: str, code: str) -> list:
        key = (system, code)
        r = self._rows.get(key)
        if r is None:
            r = self._rows[key] = self.c.execute(
                "SELECT c.effective_from, c.effective_to, c.billable, c.kind, c.needs_7th,"
                " c.description, v.label, c.parent"
                " FROM codes c JOIN code_versions v ON v.id = c.version_id WHERE c.code_system = ? AND c.code = ?"
                " ORDER BY COALESCE(c.effective_from, '')",
                key,
            ).fetchall()
        return r

    @staticmethod
    def on(rows, dos):
        for r in rows:
            if (r[0] is None or r[0] <= dos) and (r[1] is None or r[1] >= dos):
                return r
        return None

    def _window_label(self, system: str, dos: str) -> str | None:
        vs = self.versions.get(system) or []
        for label, vfrom, vto in vs:
            if (vfrom is None or vfrom <= dos) and (vto is None or vto >= dos):
                return label
        return vs[-1][0] if vs else None

    # ---------------------------------------------------------------- ICD-10-CM
    def icd_code(self, raw: str) -> str:
        c = self._icdnorm.get(raw)
        if c is None:
            c = self._icdnorm[raw] = normalize.icd(raw)
        return c

    def icd_label(self, dos: str) -> str:
        label = self._icd_label.get(dos)
        if label is None:
            label = self._icd_label[dos] = (
                self._window_label("icd10cm", dos) or "no ICD-10-CM release loaded"
            )
        return label

    def icd_state(self, raw: str, dos: str) -> IcdState:
        code = self.icd_code(raw)
        key = (code, dos)
        st = self._icd.get(key)
        if st is not None:
            return st
        label = self.icd_label(dos)
        rows = self.rows("icd10cm", code)
        if not rows:
            placeholder = None
            nd = normalize.nodot(code)
            if 4 <= len(nd) < 7 and nd[-1].isalpha() and normalize.looks_like_icd(code):
                cand = normalize.icd(nd[:-1] + "X" * (6 - len(nd[:-1])) + nd[-1])
                if self.rows("icd10cm", cand):
                    placeholder = cand
            st = IcdState("missing", code, placeholder=placeholder, label=label)
        else:
            r = self.on(rows, dos)
            if r is None:
                if rows[-1][1] is not None and rows[-1][1] < dos:
                    why = (
                        f"was deleted effective {day_after(rows[-1][1])} ({rows[-1][6]} is the last release with it): "
                        f"code to the release in force on the DOS"
                    )
                else:
                    why = f"is not valid before {rows[0][0]} (added by {rows[0][6]})"
                st = IcdState("not_on_dos", code, rows[-1][5], label=label, why=why)
            elif not r[2]:
                st = IcdState("header", code, r[5], r[4], label=r[6])
            else:
                st = IcdState("ok", code, r[5], label=r[6])
        self._icd[key] = st
        return st

    def icd_children_hint(self, code: str, dos: str | None = None, limit: int = 6) -> str:
        key = f"{code}|{dos}"
        h = self._hint.get(key)
        if h is not None:
            return h
        # billable codes under the header (ICD-10-CM codes extend their header's characters),
        # shortest (least specific) first, valid on the DOS
        sql = "SELECT code FROM codes WHERE code_system = 'icd10cm' AND code > ? AND code < ? AND billable = 1"
        args: list = [code, code + "~"]
        if dos:
            sql += (
                " AND (effective_from IS NULL OR effective_from <= ?)"
                " AND (effective_to IS NULL OR effective_to >= ?)"
            )
            args += [dos, dos]
        codes = sorted({r[0] for r in self.c.execute(sql, args)}, key=lambda c: (len(c), c))
        if not codes:
            h = ""
        elif len(codes) <= limit:
            h = ", ".join(codes)
        else:
            h = ", ".join(codes[:limit]) + f" ({len(codes)} billable codes under {code})"
        self._hint[key] = h
        return h

    # ---------------------------------------------------------------- ICD-9-CM (legacy DOS)
    def icd9_codes(self) -> set[str] | None:
        """The ICD-9-CM v32 codes, or None when ICD-9-CM is not loaded (read once a run)."""
        if not hasattr(self, "_icd9"):
            rows = self.c.execute("SELECT code FROM icd9cm_codes").fetchall()
            self._icd9 = {r[0] for r in rows} if rows else None
        return self._icd9

    def icd9_hint(self, code: str, dos: str) -> str:
        key = f"9|{code}|{dos}"
        h = self._hint.get(key)
        if h is None:
            from ..codesets.legacy import candidate_hint

            h = self._hint[key] = candidate_hint(self.conn, code, dos)
        return h

    def icd_window_problem(self, dos: str) -> str | None:
        if dos in self._window:
            return self._window[dos]
        vs = self.versions.get("icd10cm") or []
        msg = None
        if vs and dos:
            first, last = vs[0], vs[-1]
            if last[2] is not None and dos > last[2]:
                nxt = day_after(last[2])
                msg = (
                    f"the DOS {dos} is after the loaded ICD-10-CM release '{last[0]}' (in force to"
                    f" {last[2]}): codes were "
                    f"checked against it; load the {_release_name(nxt)} release (effective {nxt}) or later with "
                    f"`billadmin codes load icd10cm FILE`"
                )
            elif first[1] is not None and dos < first[1]:
                msg = (
                    f"the DOS {dos} is before the oldest loaded ICD-10-CM release '{first[0]}' (in"
                    f" force from {first[1]}): "
                    f"codes were checked against it; load the {_release_name_for(dos)} release for this date"
                )
        self._window[dos] = msg
        return msg

    def parent(self, code: str) -> str | None:
        if code not in self._parent:
            rows = self.rows("icd10cm", code)
            self._parent[code] = rows[-1][7] if rows else None
        return self._parent[code]

    def excludes1_for(self, code: str) -> list:
        got = self._excl_code.get(code)
        if got is not None:
            return got
        chain: list[str] = []
        c: str | None = code
        guard = 0
        while c and guard < 12:
            chain.append(c)
            c = self.parent(c)
            guard += 1
        out = []
        for owner in chain:
            for lo, hi, note in self.c.execute(
                "SELECT ref_lo, ref_hi, note FROM icd10cm_excludes1 WHERE code = ?", (owner,)
            ):
                out.append((lo, hi, note, owner))
        self._excl_code[code] = out
        return out

    def excludes1_pairs(self, enc) -> list:
        codes = []
        for _, raw in enc.dx:
            c = self.icd_code(raw)
            if c not in codes and self.rows("icd10cm", c):
                codes.append(c)
        if len(codes) < 2:
            return []
        key = tuple(codes)
        got = self._excl_pairs.get(key)
        if got is not None:
            return got
        out, seen = [], set()
        for a in codes:
            an = normalize.nodot(a)
            for b in codes:
                if a == b or frozenset((a, b)) in seen:
                    continue
                bn = normalize.nodot(b)
                for lo, hi, note, owner in self.excludes1_for(a):
                    if (
                        bn[: len(lo)] >= lo
                        and bn[: len(hi)] <= hi
                        and not (an[: len(lo)] >= lo and an[: len(hi)] <= hi)
                    ):
                        out.append((a, b, note, owner))
                        seen.add(frozenset((a, b)))
                        break
        self._excl_pairs[key] = out
        return out

    def age(self, enc) -> int | None:
        if not enc.dob or not enc.dos:
            return None
        try:
            dy, dm, dd = int(enc.dob[:4]), int(enc.dob[5:7]), int(enc.dob[8:10])
            sy, sm, sd = int(enc.dos[:4]), int(enc.dos[5:7]), int(enc.dos[8:10])
        except ValueError:
            return None
        return sy - dy - ((sm, sd) < (dm, dd))

    # ---------------------------------------------------------------- procedures, modifiers
    def procedure_problem(self, code: str, dos: str) -> str | None:
        key = (code, dos)
        if key in self._proc:
            return self._proc[key]
        system = normalize.procedure_system(code)
        msg = None
        if system is None:
            msg = (
                f"{code!r} is neither a CPT code (5 digits, or 4 digits + F/T/U) nor an HCPCS Level II code "
                f"(a letter A-V and 4 digits)"
            )
            if "cpt" not in self.loaded:
                msg += " (format only: no CPT file loaded)"
        elif system in self.loaded:
            rows = self.rows(system, code)
            name = SYSTEM_NAMES[system]
            if not rows:
                msg = f"{code} is not in {name} '{self._window_label(system, dos)}': check the code"
            elif self.on(rows, dos) is None:
                last = rows[-1]
                if last[1] is not None and last[1] < dos:
                    msg = f"{code} ended on {last[1]} ({name} '{last[6]}'): use its replacement for this DOS"
                else:
                    msg = f"{code} is not valid before {rows[0][0]} ({name} '{rows[0][6]}')"
        self._proc[key] = msg
        return msg

    def procedure_source(self, code: str, dos: str) -> str:
        system = normalize.procedure_system(code)
        if system is None:
            return "; format only: no CPT file loaded" if "cpt" not in self.loaded else ""
        if system in self.loaded:
            return f"; {SYSTEM_NAMES[system]} '{self._window_label(system, dos)}'"
        return f"; format only: no {SYSTEM_NAMES[system]} file loaded"

    def modifier_problem(self, m: str, dos: str) -> str | None:
        key = (m, dos)
        if key in self._mod:
            return self._mod[key]
        msg = None
        if not normalize.MODIFIER_RX.match(m):
            msg = f"modifier {m!r} is not two letters or digits"
        else:
            level = "I" if m.isdigit() else "II"
            if level in self.mod_levels:
                rows = self.rows("modifier", m)
                if not rows:
                    msg = f"modifier {m} is not in the loaded modifier list: check it"
                elif self.on(rows, dos) is None:
                    last = rows[-1]
                    msg = (
                        f"modifier {m} ended on {last[1]} ({last[6]})"
                        if last[1] and last[1] < dos
                        else f"modifier {m} is not valid before {rows[0][0]}"
                    )
        self._mod[key] = msg
        return msg

    def modifier_source(self, m: str) -> str:
        level = "I" if m.isdigit() else "II"
        if level in self.mod_levels:
            rows = self.rows("modifier", m)
            return f"; modifiers '{rows[-1][6]}'" if rows else ""
        return f"; format only: no Level {level} modifier list loaded"

    # ---------------------------------------------------------------- NCCI PTP, MUE
    def ptp_for(self, code2: str) -> dict:
        got = self._ptp.get(code2)
        if got is None:
            got = defaultdict(list)
            for c1, eff, dele, mod, why in self.c.execute(
                "SELECT column1, effective_from, deleted_on, modifier_indicator, rationale FROM"
                " ncci_ptp WHERE column2 = ?",
                (code2,),
            ):
                got[c1].append((eff, dele, mod, why))
            self._ptp[code2] = got = dict(got)
        return got

    def ptp_findings(self, group: Group) -> Iterator[tuple]:
        if not self.ptp_loaded or len(group.items) < 2:
            return
        dos = group.dos
        for enc2, l2 in group.items:
            if l2.context:
                continue
            edits = self.ptp_for(l2.code)
            if not edits:
                continue
            done = set()
            for enc1, l1 in group.items:
                if l1 is l2 or l1.code == l2.code or l1.code in done:
                    continue
                cands = edits.get(l1.code)
                if not cands:
                    continue
                edit = next(
                    (e for e in cands if e[0] <= dos and (e[1] is None or dos < e[1])), None
                )
                if edit is None or edit[2] == 9:
                    continue
                where = (
                    f"line {l1.no}" if enc1 is enc2 else f"line {l1.no} of encounter {enc1.number}"
                )
                head = (
                    f"{l2.code} is column 2 of NCCI edit {l1.code}/{l2.code} with {l1.code} on {where}, same patient, "
                    f"provider and day"
                )
                why = f" (edit rationale: {edit[3]})" if edit[3] else ""
                if edit[2] == 0:
                    done.add(l1.code)
                    yield (
                        enc2,
                        l2.no,
                        f"{head}: modifier indicator 0, never paid together: remove {l2.code}{why}",
                    )
                    continue
                mods2 = set(l2.mods) & ALL_NCCI_MODIFIERS
                if mods2:
                    anatomic = mods2 & NCCI_MODIFIERS["anatomic"]
                    if mods2 != anatomic or not anatomic <= set(l1.mods):
                        continue  # bypassed by an NCCI-associated modifier
                done.add(l1.code)
                yield (
                    enc2,
                    l2.no,
                    (
                        f"{head}: modifier indicator 1: if the service was distinct (other site, session or "
                        f"encounter) and documented, add 59 or XE/XS/XP/XU (or the fitting anatomic modifier) to "
                        f"line {l2.no}; otherwise remove {l2.code}{why}"
                    ),
                )

    def mue_for(self, code: str) -> list:
        got = self._mue.get(code)
        if got is None:
            got = self._mue[code] = self.c.execute(
                "SELECT m.effective_from, m.effective_to, m.mue_value, m.mai, m.rationale, v.label FROM mue m"
                " JOIN code_versions v ON v.id = m.version_id WHERE m.code = ? ORDER BY COALESCE(m.effective_from, '')",
                (code,),
            ).fetchall()
        return got

    def mue_line_problem(self, code: str, units, dos: str) -> str | None:
        if not self.mue_loaded or units is None:
            return None
        r = self.on(self.mue_for(code), dos)
        if r is None or r[3] != 1 or units <= r[2]:
            return None
        return (
            f"{units} units of {code} on one line exceed its MUE of {r[2]} (MAI 1, line edit, '{r[5]}'): "
            f"correct the units, or split them over lines with a modifier only when documented"
        )

    def mue_day_findings(self, group: Group) -> Iterator[tuple]:
        if not self.mue_loaded:
            return
        totals: dict[str, int] = {}
        first: dict[str, tuple] = {}
        for enc, ln in group.items:
            totals[ln.code] = totals.get(ln.code, 0) + (ln.units or 0)
            if not ln.context and ln.code not in first:
                first[ln.code] = (enc, ln)
        for code, total in totals.items():
            if code not in first:
                continue
            r = self.on(self.mue_for(code), group.dos)
            if r is None or r[3] not in (2, 3) or total <= r[2]:
                continue
            enc, ln = first[code]
            kind = (
                "policy: an absolute limit"
                if r[3] == 2
                else "clinical: units above it need documented medical necessity on appeal"
            )
            yield (
                enc,
                ln.no,
                (
                    f"{total} units of {code} for this patient, provider and day exceed its MUE of {r[2]} "
                    f"(MAI {r[3]}, {kind}; '{r[5]}')"
                ),
            )

    def mue_label(self, dos: str) -> str:
        return self._window_label("mue", dos) or ""

    # ---------------------------------------------------------------- claim facts
    def npi_problem(self, value: str | None) -> str | None:
        from .. import npi

        key = value or ""
        if key not in self._npi:
            self._npi[key] = npi.problem(key or None)
        return self._npi[key]

    def billing_npi_problem(self) -> str | None:
        if self._billing_npi is None:
            row = self.c.execute("SELECT npi FROM practice WHERE id = 1").fetchone()
            if row is None:
                self._billing_npi = (
                    "the practice (billing provider) is not recorded: set it up before billing",
                )
            else:
                p = self.npi_problem(row[0])
                self._billing_npi = (p,)
        return self._billing_npi[0]

    def load_coverages(self, patient_ids: Iterable[int] | None = None) -> None:
        sql = (
            "SELECT c.patient_id, c.priority, c.effective_from, c.effective_to, c.member_id, p.kind, p.code,"
            " p.timely_filing_days, p.timely_filing_months, c.id, p.x12_payer_id, c.relationship,"
            " c.subscriber_last, c.subscriber_first FROM coverages c"
            " JOIN payers p ON p.id = c.payer_id"
        )
        args: tuple = ()
        if patient_ids is not None:
            sql += " WHERE c.patient_id IN (SELECT value FROM json_each(?))"
            args = (json.dumps(sorted(set(patient_ids))),)
        cov: dict[int, list[Coverage]] = defaultdict(list)
        for pid, *rest in self.c.execute(
            sql + " ORDER BY c.patient_id, c.priority, c.effective_from", args
        ):
            cov[pid].append(Coverage(*rest))
        self.coverages = cov

    def _x12_rows(self) -> tuple:
        """The rows whose X12 text or identifiers may not be writable: every value with a
        character outside printable ASCII or an X12 delimiter (SQL GLOB picks them; the rest
        cannot be empty in X12 nor hold a bad identifier), payers and providers whole."""
        if self._x12 is None:
            odd = "({0} GLOB '*[^ -~]*' OR {0} GLOB '*[*:^~]*')"
            pat_cols = ("id", "mrn", "last_name", "first_name", "address1", "city")
            pats = {
                r[0]: dict(zip(pat_cols, r, strict=True))
                for r in self.c.execute(
                    f"SELECT {', '.join(pat_cols)} FROM patients WHERE {self._of_patients('id')} ("
                    + " OR ".join(odd.format(c) for c in pat_cols[2:])
                    + ")"
                )
            }
            cov_cols = (
                "id",
                "relationship",
                "subscriber_last",
                "subscriber_first",
                "member_id",
                "group_number",
            )
            covs = {
                r[0]: dict(zip(cov_cols, r, strict=True))
                for r in self.c.execute(
                    f"SELECT {', '.join(cov_cols)} FROM coverages WHERE"
                    f" {self._of_patients('patient_id')} ("
                    + " OR ".join(odd.format(c) for c in cov_cols[2:])
                    + " OR member_id GLOB '* *' OR group_number GLOB '*  *'"
                    + " OR group_number GLOB ' *' OR group_number GLOB '* ')"
                )
            }
            payer_cols = ("code", "name", "x12_payer_id")
            payers = {
                r[0]: dict(zip(payer_cols, r, strict=True))
                for r in self.c.execute(f"SELECT {', '.join(payer_cols)} FROM payers")
            }
            prov_cols = ("id", "npi", "last_name", "first_name")
            provs = {
                r[0]: dict(zip(prov_cols, r, strict=True))
                for r in self.c.execute(f"SELECT {', '.join(prov_cols)} FROM providers")
            }
            row = self.c.execute("SELECT npi FROM practice WHERE id = 1").fetchone()
            billing_npi = row[0] if row else None
            # only the payers and providers with something to report are kept: most encounters
            # then find nothing in any of the four dicts and cost a few lookups
            payers = {
                k: p
                for k, p in payers.items()
                if x12text.claim_text_problems({}, None, p)
                or x12text.claim_identifier_problems(None, p)
            }
            provs = {
                k: p
                for k, p in provs.items()
                if p["npi"] != billing_npi and x12text.provider_text_problems(p)
            }
            self._x12 = (pats, covs, payers, provs)
        return self._x12

    def _x12_claim(self, enc) -> Coverage | None:
        """The coverage an encounter is billed to in X12, or None (self-pay, unknown patient)."""
        if not enc.known_patient:
            return None
        cov = self.coverage_on(enc.patient_id, enc.dos)
        return None if cov is None or cov.payer_kind == "self" else cov

    def x12_text_problems(self, enc) -> list[str]:
        cov = self._x12_claim(enc)
        if cov is None:
            return []
        pats, covs, payers, provs = self._x12_rows()
        pat, cov_row, payer = pats.get(enc.patient_id), covs.get(cov.id), payers.get(cov.payer_code)
        out = x12text.claim_text_problems(pat, cov_row, payer) if pat or cov_row or payer else []
        prov = provs.get(enc.provider_id)  # kept only when it differs from the billing NPI
        if prov:  # (loop 2310B is sent only then)
            out += x12text.provider_text_problems(prov)
        return out

    def x12_identifier_problems(self, enc) -> list[str]:
        cov = self._x12_claim(enc)
        if cov is None:
            return []
        _pats, covs, payers, _provs = self._x12_rows()
        cov_row, payer = covs.get(cov.id), payers.get(cov.payer_code)
        return x12text.claim_identifier_problems(cov_row, payer) if cov_row or payer else []

    def claim_coverage(self, enc) -> Coverage | None:
        """The coverage `invoice generate` bills an encounter to (billing/content.py's bill-to):
        the insurance coverages active on the DOS, by priority, the latest started first; None
        for self-pay and unknown patients."""
        if not enc.known_patient:
            return None
        key = (enc.patient_id, enc.dos)
        if self._claim_cov_memo[0] == key:
            return self._claim_cov_memo[1]
        dos = enc.dos
        found = None
        for c in self.coverages.get(enc.patient_id, ()):
            if c.start <= dos and (not c.end or c.end >= dos) and c.payer_kind != "self":
                if found is None or (c.priority, found.start) < (found.priority, c.start):
                    found = c
        self._claim_cov_memo = (key, found)
        return found

    def coverage_problems(self, cov: Coverage) -> dict[str, str]:
        """What the coverage billed lacks on a claim: rule id -> message (scrub/claim.py's
        payer-id, member-id and subscriber checks), once per coverage."""
        got = self._cov_problems.get(cov.id)
        if got is None:
            found = {
                "CLAIM-PAYER-ID": payer_id_problem(cov.x12_payer_id, cov.payer_code),
                "CLAIM-MEMBER-ID": member_id_problem(cov.member_id, cov.payer_code),
                "CLAIM-SUBSCRIBER": subscriber_problem(
                    cov.relationship, cov.subscriber_last, cov.subscriber_first, cov.payer_code
                ),
            }
            got = self._cov_problems[cov.id] = {k: v for k, v in found.items() if v}
        return got

    def _of_patients(self, column: str) -> str:
        """A WHERE prefix keeping a chosen set's patients ("" for a whole-table run)."""
        return f"{column} IN ({self.pat_filter}) AND" if self.pat_filter else ""

    def address_problem(self, patient_id) -> str | None:
        """CLAIM-ADDRESS's answer for a patient (every patient's address in scope checked once)."""
        if self._bad_address is None:
            self._bad_address = {}
            for pid, a1, city, state, zip_code in self.c.execute(
                "SELECT id, address1, city, state, zip FROM patients"
                + (f" WHERE {self._of_patients('id')} 1" if self.pat_filter else "")
            ):
                msg = address_problem(a1, city, state, zip_code)
                if msg:
                    self._bad_address[pid] = msg
        return self._bad_address.get(patient_id)

    def billed_invoice(self, encounter_id) -> str | None:
        """The active invoice holding some of the encounter's lines (ALREADY-BILLED)."""
        if self._billed is None:
            sql, args = self.enc_filter
            self._billed = already_billed(self.conn, sql, args)
        return self._billed.get(encounter_id)

    # what the run's scope holds at all, asked once per run (model.QUIET: a rule that cannot find
    # anything in the run is skipped for every encounter)
    def any_billed(self) -> bool:
        """Some encounter in scope is on an active invoice (ALREADY-BILLED)."""
        self.billed_invoice(None)
        return bool(self._billed)

    def any_bad_address(self) -> bool:
        """Some patient in scope has an incomplete address (CLAIM-ADDRESS)."""
        self.address_problem(None)
        return bool(self._bad_address)

    def any_x12_text(self) -> bool:
        """A patient, coverage, payer or provider of the scope has a value X12 text must alter:
        without one, x12_text_problems finds nothing for any encounter (X12-TEXT-EMPTY)."""
        return any(self._x12_rows())

    def any_x12_identifier(self) -> bool:
        """A coverage or payer has an identifier X12 cannot carry as recorded (X12-ID-CHARS)."""
        _pats, covs, payers, _provs = self._x12_rows()
        return bool(covs or payers)

    def any_coverage_problem(self) -> bool:
        """Some insurance coverage in scope lacks what a claim needs (the CLAIM-PAYER-ID,
        CLAIM-MEMBER-ID and CLAIM-SUBSCRIBER checks: claim_coverage picks among these)."""
        return any(
            self.coverage_problems(c)
            for covs in self.coverages.values()
            for c in covs
            if c.payer_kind != "self"
        )

    def has_coverages(self, patient_id) -> bool:
        return bool(self.coverages.get(patient_id))

    def coverage_on(self, patient_id, dos: str) -> Coverage | None:
        key = (patient_id, dos)
        if self._cov_memo[0] == key:  # CLM-COVERAGE and CLM-TIMELY ask in turn
            return self._cov_memo[1]
        found = None
        for c in self.coverages.get(patient_id, ()):
            if c.start <= dos and (c.end is None or c.end == "" or c.end >= dos):
                found = c
                break
        self._cov_memo = (key, found)
        return found

    def filing_deadline(self, cov: Coverage, dos: str) -> str | None:
        key = (cov.tf_days, cov.tf_months, dos)
        if key in self._deadline:
            return self._deadline[key]
        from ..dates import add_months

        d = _dt.date.fromisoformat(dos)
        got: str | None
        if cov.tf_days:
            got = (d + _dt.timedelta(days=cov.tf_days)).isoformat()
        elif cov.tf_months:
            got = add_months(d, cov.tf_months).isoformat()
        else:
            got = None
        self._deadline[key] = got
        return got

    def days_until(self, iso: str) -> int:
        days = self._days.get(iso)
        if days is None:
            days = self._days[iso] = (_dt.date.fromisoformat(iso) - self._as_of_date).days
        return days


def _release_name(first_day: str) -> str:
    d = _dt.date.fromisoformat(first_day)
    if d.month == 10 and d.day == 1:
        return f"FY{d.year + 1} ICD-10-CM"
    return f"ICD-10-CM {d.strftime('%B %Y')}"


def _release_name_for(dos: str) -> str:
    d = _dt.date.fromisoformat(dos)
    return f"FY{d.year + 1 if d.month >= 10 else d.year} ICD-10-CM"


# ==================================================================== running the rules

_EMPTY: list = []

# Rules whose answer depends only on the encounter's diagnoses, date of service and rendering
# NPI (not on the patient): their findings are computed once per distinct (dx, DOS, NPI) and
# reused, which is what makes a million lines cheap (a practice repeats a few hundred combinations).
_STATIC = {
    "ICD-EXISTS",
    "ICD-BILLABLE",
    "ICD-7TH",
    "ICD-DOS",
    "ICD-EXCLUDES1",
    "ICD-RELEASE",
    "ICD9-CODE",
    "CLM-DX",
    "CLM-DOS",
    "CLM-NPI",
}
_PATIENT_DX = {"ICD-AGE", "ICD-SEX"}
# Of the static rules, these depend on the date of service alone: answered once per DOS.
_BY_DOS = {"ICD-RELEASE", "CLM-DOS"}
# These find something only in a diagnosis whose IcdState is not "ok" (ICD-EXISTS also when no
# ICD-10-CM release is loaded): an encounter whose codes are all valid skips them.
_ICD_STATE = {"ICD-EXISTS", "ICD-BILLABLE", "ICD-7TH", "ICD-DOS"}


class Runner:
    def __init__(self, ref: Ref, rules: Iterable[str] | None = None):
        self.ref = ref
        chosen = [RULES[r] for r in (rules or RULES)]
        enc_rules = [r for r in chosen if r.level in ("dx", "encounter")]
        self.static_rules = [r for r in enc_rules if r.id in _STATIC]
        self.patient_dx_rules = [r for r in enc_rules if r.id in _PATIENT_DX]
        self.patient_rules = [
            r for r in enc_rules if r.id not in _STATIC and r.id not in _PATIENT_DX
        ]
        self.line_rules = [r for r in chosen if r.level == "line"]
        self.group_rules = [r for r in chosen if r.level == "group"]
        dx_static = [r for r in self.static_rules if r.id != "CLM-NPI" and r.id not in _BY_DOS]
        # dates of service before 2015-10-01 are coded in ICD-9-CM: no ICD-10-CM rule applies,
        # and from that day ICD9-CODE finds nothing (it checks earlier dates only)
        self.dx_static_legacy = [r for r in dx_static if not r.id.startswith("ICD-")]
        self.dx_static = [r for r in dx_static if r.id != "ICD9-CODE"]
        self.dx_static_valid = [r for r in self.dx_static if r.id not in _ICD_STATE]
        self.dos_rules = [r for r in self.static_rules if r.id in _BY_DOS]
        self.dos_rules_legacy = [r for r in self.dos_rules if not r.id.startswith("ICD-")]
        self.npi_rules = [r for r in self.static_rules if r.id == "CLM-NPI"]
        self.findings: list[Finding] = []
        self._dx_cache: dict[tuple, list] = {}
        self._dos_cache: dict[str, list] = {}
        self._valid_cache: dict[tuple, list] = {}
        self._npi_cache: dict = {}
        self._line_cache: dict[tuple, list] = {}
        self._seqs: dict = {}
        self._group_cache: dict[tuple, list] = {}
        self._relevant: dict = {}
        self._plain: list | None = None  # the patient rules, set by _prepare
        self._families: list[tuple] = []

    def _prepare(self) -> None:
        """The patient rules for this run, once its scope is set on the Ref (at the first
        encounter): those that cannot find anything in it are dropped (model.QUIET), and rules
        answered by one shared pass are asked once per encounter (model.FAMILY). Speed only:
        the findings are those of each rule's own function."""
        plain: list = []
        families: dict = {}
        for rule in self.patient_rules:
            quiet = QUIET.get(rule.id)
            if quiet is not None and quiet(self.ref):
                continue
            analyse = FAMILY.get(rule.id)
            if analyse is None:
                plain.append(rule)
            else:
                families.setdefault(analyse, {})[rule.id] = rule
        self._plain = plain
        self._families = list(families.items())

    def _source(self, rule, enc, line_code=None, mods=None) -> str:
        ref = self.ref
        rid = rule.id
        if rid.startswith("ICD-"):
            return f"{rule.source}; ICD-10-CM '{ref.icd_label(enc.dos)}'"
        if rid == "PROC-CODE" and line_code is not None:
            return rule.source + ref.procedure_source(line_code, enc.dos)
        if rid == "MOD-EXISTS" and mods is not None:
            return rule.source + "".join(sorted({ref.modifier_source(m) for m in mods}))
        if rid == "NCCI-PTP":
            return f"{rule.source}; NCCI PTP '{ref.ptp_label}'"
        if rid.startswith("MUE-"):
            return f"{rule.source}; MUE '{ref.mue_label(enc.dos)}'"
        return rule.source

    def _run(self, rules, enc, *args) -> list:
        out = _EMPTY
        for rule in rules:
            for item in rule.fn(self.ref, enc, *args):
                if out is _EMPTY:
                    out = []
                sev = item[2] if len(item) > 2 else rule.severity
                ln = args[0] if args else None
                out.append(
                    (
                        rule.id,
                        sev,
                        item[1],
                        item[0],
                        self._source(rule, enc, ln.code if ln else None, ln.mods if ln else None),
                    )
                )
        return out

    def _dx_relevant(self, key, dx) -> bool:
        got = self._relevant.get(key)
        if got is None:
            from .rules import FEMALE_ONLY, MALE_ONLY, NEWBORN_ONLY, PERINATAL, in_ranges

            ranges = FEMALE_ONLY + MALE_ONLY + NEWBORN_ONLY + PERINATAL
            got = self._relevant[key] = any(
                in_ranges(self.ref.icd_code(raw), ranges) for _, raw in dx
            )
        return got

    def encounter(self, enc: Encounter, dx_key=None, line_keys=None) -> None:
        """Check one encounter. With keys (the SQL-aggregated diagnosis string and one string per
        line), findings that do not depend on the patient are computed once per distinct
        (diagnoses, DOS), DOS, rendering NPI, and (line, DOS, diagnosis numbers), then reused."""
        add = self.findings.append
        number, eid, dos = enc.number, enc.id, enc.dos
        if dx_key is None:
            dx_key = tuple(enc.dx)
        legacy = dos < ICD10_START
        k = (dx_key, dos)
        found = self._dx_cache.get(k)
        if found is None:
            found = self._dx_cache[k] = self._dx_findings(enc, dx_key, legacy)
        dos_found = self._dos_cache.get(dos)
        if dos_found is None:
            dos_found = self._dos_cache[dos] = self._run(
                self.dos_rules_legacy if legacy else self.dos_rules, enc
            )
        npi_found = self._npi_cache.get(enc.npi)
        if npi_found is None:
            npi_found = self._npi_cache[enc.npi] = self._run(self.npi_rules, enc)
        for part in (found, dos_found, npi_found):
            for rid, sev, msg, line, src in part:
                add(Finding(rid, sev, msg, number, line, src, eid))
        if self.patient_dx_rules and not legacy and self._dx_relevant(dx_key, enc.dx):
            for rid, sev, msg, line, src in self._run(self.patient_dx_rules, enc):
                add(Finding(rid, sev, msg, number, line, src, eid))
        if self._plain is None:
            self._prepare()
        ref = self.ref
        for rule in self._plain:  # type: ignore[union-attr]
            for item in rule.fn(ref, enc):
                sev = item[2] if len(item) > 2 else rule.severity
                add(Finding(rule.id, sev, item[1], number, item[0], rule.source, eid))
        for analyse, chosen in self._families:
            for rid, line, msg, *sev in analyse(ref, enc):
                rule = chosen.get(rid)
                if rule is not None:
                    add(
                        Finding(
                            rid,
                            sev[0] if sev else rule.severity,
                            msg,
                            number,
                            line,
                            rule.source,
                            eid,
                        )
                    )
        if not self.line_rules:
            return
        seqs = self._seqs.get(dx_key)
        if seqs is None:
            seqs = self._seqs[dx_key] = tuple(sq for sq, _ in enc.dx)
        cache = self._line_cache
        for i, ln in enumerate(enc.lines):
            if ln.context:
                continue
            if line_keys is not None:
                lk = (line_keys[i], dos, seqs)
            else:
                lk = (
                    (
                        ln.no,
                        ln.code,
                        ln.mods,
                        ln.pointers,
                        ln.units,
                        ln.charge_cents is not None and ln.charge_cents > 0,
                    ),
                    dos,
                    seqs,
                )
            got = cache.get(lk)
            if got is None:
                got = cache[lk] = self._run(self.line_rules, enc, ln)
            for rid, sev, msg, _line, src in got:
                add(Finding(rid, sev, msg, number, ln.no, src, eid))

    def _dx_findings(self, enc: Encounter, dx_key, legacy: bool) -> list:
        """The static diagnosis rules' findings, for diagnoses not seen yet on this DOS. When
        every diagnosis is a valid code on the DOS, the ICD-10-CM code rules find nothing and
        the rest (ICD-EXCLUDES1, CLM-DX) depend on the codes and the release in force (named in
        the source), not on the day: those are computed once per (diagnoses, release)."""
        if legacy:
            return self._run(self.dx_static_legacy, enc)
        ref = self.ref
        if len(self.dx_static_valid) == len(self.dx_static) or (
            ref.versions.get("icd10cm")
            and all(ref.icd_state(raw, enc.dos).kind == "ok" for _, raw in enc.dx)
        ):
            k = (dx_key, ref.icd_label(enc.dos))
            got = self._valid_cache.get(k)
            if got is None:
                got = self._valid_cache[k] = self._run(self.dx_static_valid, enc)
            return got
        return self._run(self.dx_static, enc)

    def group(self, group: Group, *, cache_key=None) -> None:
        add = self.findings.append
        if cache_key is not None:
            got = self._group_cache.get(cache_key)
            if got is not None:
                enc = group.items[0][0]
                for rid, sev, msg, line, src in got:
                    add(Finding(rid, sev, msg, enc.number, line, src, enc.id))
                return
        out = []
        for rule in self.group_rules:
            for enc, line, msg, *rest in rule.fn(self.ref, group):
                sev = rest[0] if rest else rule.severity
                src = self._source(rule, enc)
                out.append((rule.id, sev, msg, line, src))
                add(Finding(rule.id, sev, msg, enc.number, line, src, enc.id))
        if cache_key is not None:
            self._group_cache[cache_key] = out

    def sorted_findings(self) -> list[Finding]:
        order = {rid: i for i, rid in enumerate(RULES)}
        return sorted(
            self.findings,
            key=lambda f: (
                f.encounter_id if f.encounter_id is not None else -1,
                f.encounter or "",
                f.line or 0,
                order.get(f.rule, 99),
            ),
        )


def _mods(*ms) -> tuple:
    return tuple(m.strip().upper() for m in ms if m and m.strip())


US, RS = "\x1f", "\x1e"  # unit and record separators inside the aggregated strings


def _parse_dx(text: str | None) -> list[tuple[int, str]]:
    if not text:
        return []
    out = []
    for rec in text.split(RS):
        seq, code = rec.split(US, 1)
        out.append((int(seq), code))
    out.sort()
    return out


def _parse_line(rec: str) -> Line:
    """A charge line's record: the JSON array [number, code, 4 modifiers, pointers, units, the
    charge's sign] (check_db's query)."""
    no, code, m1, m2, m3, m4, ptr, units, ok = json.loads(rec)
    return Line(
        no,
        normalize.procedure(code),
        _mods(m1, m2, m3, m4),
        ptr if ptr is not None else "",
        units,
        ok,  # the charge's sign: 1 above zero, 0, -1 below
    )


def _parse_lines(text: str | None) -> list[Line]:
    return [_parse_line(rec) for rec in text.split(RS)] if text else []


def check_db(
    conn: Database,
    *,
    encounter_ids: list[int] | None,
    as_of: _dt.date,
    rules: Iterable[str] | None = None,
) -> list[Finding]:
    """One row per encounter, its diagnoses and unbilled lines aggregated by SQL into two strings
    that also serve as the cache key: Python looks at each distinct combination once."""
    ref = Ref(conn, as_of)
    run = Runner(ref, rules)
    c = ref.c
    if encounter_ids is not None:
        # a keyed temp table, not json_each(?): the filter is used by several queries, and a
        # json_each subquery is re-parsed and scanned for each (about 13x slower on the demo)
        c.execute("CREATE TEMP TABLE IF NOT EXISTS scrub_ids (id INTEGER PRIMARY KEY)")
        c.execute("DELETE FROM temp.scrub_ids")
        c.executemany(
            "INSERT OR IGNORE INTO temp.scrub_ids (id) VALUES (?)",
            ((int(i),) for i in encounter_ids),
        )
        enc_filter = (
            "e.id IN (SELECT id FROM temp.scrub_ids) AND EXISTS (SELECT 1 FROM charge_lines l"
            " WHERE l.encounter_id = e.id AND +l.status = 'unbilled')"
        )
        args: tuple = ()
        ref.enc_filter = ("SELECT id FROM temp.scrub_ids", ())
        ref.pat_filter = (
            "SELECT patient_id FROM encounters WHERE id IN (SELECT id FROM temp.scrub_ids)"
        )
    else:
        enc_filter = "e.id IN (SELECT encounter_id FROM charge_lines WHERE status = 'unbilled')"
        args = ()
        ref.enc_filter = ("SELECT encounter_id FROM charge_lines WHERE status = 'unbilled'", ())
    ref.load_coverages(
        None
        if encounter_ids is None
        else [
            r[0]
            for r in c.execute(
                f"SELECT DISTINCT patient_id FROM encounters e WHERE {enc_filter}", args
            )
        ]
    )
    groups_on = bool(run.group_rules) and (ref.ptp_loaded or ref.mue_loaded)
    context: dict[tuple, list] = defaultdict(list)
    # encounters that share a patient, provider and day with another one (or with billed
    # lines): only the group rules (NCCI, MUE) look at them together, so without their edits
    # loaded the query is not made (0.1 s at 100,000 encounters)
    shared: set[tuple] = set()
    if groups_on:
        shared = {
            tuple(r)
            for r in c.execute(
                "SELECT e.patient_id, e.provider_id, e.date_of_service FROM encounters e"
                f" WHERE {enc_filter} GROUP BY 1, 2, 3 HAVING count(*) > 1",
                args,
            )
        }
        # set-based, from the scope's own (patient, provider, day) keys to their billed lines:
        # starting from every billed line with a correlated EXISTS probed each scope encounter
        # per billed line (billed lines x scope encounters; minutes once the history is large)
        for pid, prov, dos, eid, number, no, code, m1, m2, m3, m4, units in c.execute(
            "WITH k AS MATERIALIZED (SELECT DISTINCT e.patient_id, e.provider_id, e.date_of_service"
            f" FROM encounters e WHERE {enc_filter})"
            " SELECT e.patient_id, e.provider_id, e.date_of_service, e.id, e.number, l.line_no, l.code, l.modifier1,"
            " l.modifier2, l.modifier3, l.modifier4, l.units FROM k CROSS JOIN encounters e"
            " ON e.patient_id = k.patient_id AND e.provider_id = k.provider_id"
            " AND e.date_of_service = k.date_of_service"
            " CROSS JOIN charge_lines l ON l.encounter_id = e.id AND +l.status = 'billed'"
            " ORDER BY l.id",  # the order the lines were charged, as before
            args,
        ):
            context[(pid, prov, dos)].append(
                (
                    Encounter(eid, number, pid, prov, dos),
                    Line(
                        no, normalize.procedure(code), _mods(m1, m2, m3, m4), "", units, None, True
                    ),
                )
            )
        shared |= set(context)
    sql = (
        "SELECT e.id, e.number, e.patient_id, e.provider_id, e.date_of_service, p.sex, p.dob, pr.npi, p.id IS NOT NULL,"
        " (SELECT group_concat(d.seq || char(31) || d.code, char(30)) FROM encounter_diagnoses d"
        " WHERE d.encounter_id = e.id),"
        # each line's record one json_array: cheaper than nine || and COALESCEs, and unlike
        # printf('%s') (a C string) it keeps a value whole past a NUL character, which the
        # rules must see (PROC-CODE, MOD-EXISTS, CLM-POINTER); separators inside a value are
        # escaped. The records are parsed once per distinct text (below).
        " (SELECT group_concat(json_array(l.line_no, l.code, l.modifier1, l.modifier2,"
        " l.modifier3, l.modifier4, l.dx_pointers, l.units,"
        " (COALESCE(l.charge_cents, 0) > 0) - (COALESCE(l.charge_cents, 0) < 0)), char(30))"
        "  FROM charge_lines l WHERE l.encounter_id = e.id AND +l.status = 'unbilled')"
        " FROM encounters e LEFT JOIN patients p ON p.id = e.patient_id LEFT JOIN providers pr ON pr.id = e.provider_id"
        f" WHERE {enc_filter} ORDER BY e.id"
    )
    held: dict[tuple, list[Encounter]] = defaultdict(list)
    dx_parsed: dict = {}
    line_parsed: dict = {}
    # an encounter's lines string -> (its records, their Line objects): the same few hundred
    # sets of lines repeat over a practice's encounters (rules never change an encounter's lines)
    lines_parsed: dict[str | None, tuple[list[str], list[Line]]] = {}
    cur = c.execute(sql, args)
    while True:
        rows = cur.fetchmany(5000)
        if not rows:
            break
        for eid, number, pid, prov, dos, sex, dob, npi, known, dx_s, lines_s in rows:
            enc = Encounter(eid, number, pid, prov, dos, sex, dob, npi)
            enc.known_patient = bool(known)
            dx = dx_parsed.get(dx_s)
            if dx is None:
                dx = dx_parsed[dx_s] = _parse_dx(dx_s)
            enc.dx = dx
            got = lines_parsed.get(lines_s)
            if got is None:
                recs = lines_s.split(RS) if lines_s else []
                lines = []
                for rec in recs:
                    ln = line_parsed.get(rec)
                    if ln is None:
                        ln = line_parsed[rec] = _parse_line(rec)
                    lines.append(ln)
                got = lines_parsed[lines_s] = (recs, lines)
            recs, enc.lines = got
            run.encounter(enc, dx_s, recs)
            if not groups_on:
                continue
            key = (pid, prov, dos)
            if key in shared:
                enc.lines = _parse_lines(
                    lines_s
                )  # its own Line objects: compared across encounters
                held[key].append(enc)
            else:
                g = Group(dos)
                g.items = [(enc, ln) for ln in enc.lines]
                run.group(g, cache_key=(lines_s, dos))
    for key, encs in held.items():
        g = Group(key[2])
        for enc in encs:
            g.items += [(enc, ln) for ln in enc.lines]
        g.items += context.get(key, [])
        run.group(g)
    if any(f.rule == "ICD-RELEASE" for f in run.findings):
        run.findings = _release_once(ref, run.findings)
    return run.sorted_findings()


def _release_once(ref: Ref, findings: list[Finding]) -> list[Finding]:
    """ICD-RELEASE said once a run, not once an encounter: how many unbilled lines have a DOS
    outside the loaded ICD-10-CM releases, their DOS range, and the release to load and how."""
    from ..codesets.currency import icd10cm_load_hint

    hit = [f for f in findings if f.rule == "ICD-RELEASE"]
    rest = [f for f in findings if f.rule != "ICD-RELEASE"]
    vs = ref.versions.get("icd10cm") or []
    ids = sorted({f.encounter_id for f in hit if f.encounter_id is not None})
    rows = ref.c.execute(
        "SELECT e.date_of_service, COUNT(l.id), COUNT(DISTINCT e.id) FROM encounters e JOIN"
        " charge_lines l ON l.encounter_id = e.id AND +l.status = 'unbilled'"
        " WHERE e.id IN (SELECT value FROM json_each(?)) GROUP BY e.date_of_service",
        (json.dumps(ids),),
    ).fetchall()
    after = [r for r in rows if vs and vs[-1][2] is not None and r[0] > vs[-1][2]]
    before = [r for r in rows if r not in after]
    src = RULES["ICD-RELEASE"].source
    for part, first in ((after, False), (before, True)):
        if not part:
            continue
        lines, encs = sum(r[1] for r in part), sum(r[2] for r in part)
        lo, hi = part[0][0], part[-1][0]
        span = lo if lo == hi else f"{lo} to {hi}"
        if not first:
            label, _, to = vs[-1]
            msg = (
                f"{lines:,} unbilled line(s) in {encs:,} encounter(s) with dates of service {span}"
                f" are after the loaded ICD-10-CM release '{label}' (in force to {to}): their codes"
                f" were checked against it; {icd10cm_load_hint(to)}"
            )
            label_src = label
        else:
            label, frm, _ = vs[0]
            msg = (
                f"{lines:,} unbilled line(s) in {encs:,} encounter(s) with dates of service {span}"
                f" are before the oldest loaded ICD-10-CM release '{label}' (in force from {frm}):"
                f" their codes were checked against it; load the {_release_name_for(lo)} release"
                " for these dates (`billadmin codes load icd10cm FILE`)"
            )
            label_src = label
        rest.append(
            Finding("ICD-RELEASE", "warning", msg, None, None, f"{src}; ICD-10-CM '{label_src}'")
        )
    return rest
