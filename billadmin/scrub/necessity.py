"""Scrub rules for medical necessity under Medicare's lab NCDs and the MACs' Billing and Coding
Articles (issue 18). Registered in scrub/rules.py's registry (SPECS, read at its end).

They run once per encounter billed to Original Medicare (payer kind medicare; a Medicare
Advantage plan is an hmo or commercial payer here, and ABNs do not apply to it). A line whose
pointed diagnoses do not support its procedure under a policy in force on the DOS is held,
unless a modifier says how the expected denial is handled (Pub. 100-04 ch. 30 sec. 40.3.6, 90):
  GA  an ABN (CMS-R-131) is on file: Medicare denies (CARC 50, group PR), the patient is liable
  GZ  no ABN: Medicare denies (group CO), the provider is liable: an informed write-off
  GX  a voluntary notice for a service Medicare excludes by statute (GY: excluded, no notice)
Policies are indexed once per scrub run (codesets/necessity.py: PolicyIndex).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from .. import pointers
from ..codesets.necessity import PolicyIndex, Verdict
from .model import FAMILY, QUIET

SPECS: list[tuple[str, str, str, str, Callable]] = []
Ref = Any  # scrub.engine.Ref (not imported: the engine imports the rules)
ABN = "Pub. 100-04 ch. 30 sec. 50 (ABN; modifiers GA, GZ, GX, GY)"
_RUNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LAST: list = [None, []]


def rule(rule_id: str, severity: str, level: str, source: str):
    def deco(fn):
        SPECS.append((rule_id, severity, level, source, fn))
        return fn

    return deco


def _index(ref: Ref) -> PolicyIndex:
    got = _RUNS.get(ref)
    if got is None:
        got = _RUNS[ref] = PolicyIndex(ref.conn)
    return got


def _line_dx(enc, line) -> list[str]:
    """The diagnoses the line points to (all of the encounter's when its pointers are unreadable
    or empty: CLM-POINTER reports those)."""
    try:
        seqs = pointers.parse(line.pointers)
    except pointers.PointerError:
        seqs = ()
    by_seq = dict(enc.dx)
    got = [by_seq[s] for s in seqs if s in by_seq]
    return got or [code for _seq, code in enc.dx]


def _analyse(ref: Ref, enc) -> list[tuple[str, int, str, str]]:
    idx = _index(ref)
    if not idx or enc.dos < "2015-10-01":
        return []
    cov = ref.claim_coverage(enc)
    if cov is None or cov.payer_kind != "medicare":
        return []
    out: list[tuple[str, int, str, str]] = []
    for line in enc.lines:
        if line.context:
            continue
        for v in idx.assess(line.code, _line_dx(enc, line), enc.dos):
            rid = "NCD-NECESSITY" if v.kind == "lab-ncd" else "LCD-NECESSITY"
            if v.supported:
                if v.combination:  # the article's group paragraph, quoted: a coder's check
                    out.append((rid, line.no, _combination(line, v), "warning"))
                continue
            sev, msg = _message(line, v)
            out.append((rid, line.no, msg, sev))
    return out


def _combination(line, v: Verdict) -> str:
    """A line supported only by diagnoses its article covers in combination with another group
    (MCD article_x_icd10_covered_group paragraph), the paragraph quoted (shortened)."""
    text = " / ".join(v.combination or [])
    if len(text) > 300:
        text = text[:297] + "..."
    return (
        f"{line.code} under {v.policy}{f' ({v.title})' if v.title else ''}: its diagnoses are"
        f' covered only in combination: "{text}": check the line also points at the'
        " diagnosis the article pairs them with"
    )


def _message(line, v: Verdict) -> tuple[str, str]:
    mods = set(line.mods)
    where = f"{v.policy}{f' ({v.title})' if v.title else ''}"
    if v.never_covered:
        why = (
            f"{', '.join(v.never_covered)} {'is' if len(v.never_covered) == 1 else 'are'} on"
            f" {v.policy}'s list of diagnoses never covered for this test"
        )
    else:
        why = "the line's diagnoses do not support it"
    fix = (
        f"code the diagnosis the record supports (e.g. {', '.join(v.supporting)})"
        if v.supporting
        else "code the diagnosis the record supports (any not on the policy's negative lists)"
    )
    head = f"{line.code} under {where}: {why}"
    if v.excluded and mods & {"GX", "GY"}:
        return "warning", (
            f"{head}; {'GX: a voluntary notice was given' if 'GX' in mods else 'GY'}:"
            " Medicare will deny it as not covered and the patient is liable"
        )
    if "GA" in mods:
        return "warning", (
            f"{head}; GA: the ABN on file makes the patient liable: Medicare will deny it"
            " (CARC 50, group PR): bill the patient after the denial"
        )
    if "GZ" in mods:
        return "warning", (
            f"{head}; GZ: no ABN was given: Medicare will deny it (group CO) and the provider is"
            " liable: it will be written off"
        )
    if "GX" in mods:
        return "error", (
            f"{head}; GX is for services Medicare excludes by statute: this one is denied as not"
            f" reasonable and necessary: {fix}, or add GA (signed ABN on file) or GZ (no ABN)"
        )
    tail = (
        "or add GX with a voluntary notice (GY without one)"
        if v.excluded
        else "or, if the patient signed an ABN, add GA (GZ when no ABN was given)"
    )
    return "error", f"{head}: Medicare will deny it: {fix}, {tail}"


def _of(ref: Ref, enc, rule_id: str):
    if _LAST[0] is not enc:
        _LAST[0], _LAST[1] = enc, _analyse(ref, enc)
    for rid, no, msg, sev in _LAST[1]:
        if rid == rule_id:
            yield no, msg, sev


@rule(
    "NCD-NECESSITY",
    "error",
    "encounter",
    "Medicare NCD Manual (Pub. 100-03) ch. 1 part 3 sec. 190.12-190.34 (lab NCDs), CMS lab NCD"
    f" code lists; {ABN}",
)
def ncd_necessity(ref, enc):
    """An Original Medicare lab test's diagnoses support it under its lab NCD (or the line says who pays).

    The 23 lab NCDs list, per test, the ICD-10-CM codes covered, those that do not support
    medical necessity and those never covered (190.15 only the negative list). A line whose
    pointed diagnoses are not covered is denied (CARC 50): held unless it carries GA (ABN on
    file, patient liable), GZ (no ABN, provider liable) or, for a never-covered diagnosis, GX/GY.
    The finding names the NCD and diagnoses that would support the test.
    """
    yield from _of(ref, enc, "NCD-NECESSITY")


@rule(
    "LCD-NECESSITY",
    "error",
    "encounter",
    f"MAC LCD and its Billing and Coding Article (Medicare Coverage Database); {ABN}",
)
def lcd_necessity(ref, enc):
    """An Original Medicare line's diagnoses are covered by the MAC's Billing and Coding Article for its code.

    Since 2019-20 the codes of an LCD are in its Billing and Coding Articles: per article, the
    HCPCS codes and the ICD-10-CM codes that support them. A line none of whose pointed
    diagnoses is covered is held unless it carries GA or GZ (as NCD-NECESSITY); the finding
    names the article and covered diagnoses.
    """
    yield from _of(ref, enc, "LCD-NECESSITY")


def _quiet(ref: Ref) -> bool:
    """No policy loaded, or no Original Medicare coverage in scope: neither rule can find anything
    (_analyse returns nothing for such an encounter)."""
    return not _index(ref) or not any(
        c.payer_kind == "medicare" for covs in ref.coverages.values() for c in covs
    )


# one pass answers both rules (the engine's shortcut; each rule above stays its definition)
FAMILY.update(dict.fromkeys((spec[0] for spec in SPECS), _analyse))
QUIET.update(dict.fromkeys((spec[0] for spec in SPECS), _quiet))
