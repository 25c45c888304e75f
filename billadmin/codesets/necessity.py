"""Medical necessity: which diagnoses support a procedure under Medicare's policies.

Two sources, each loaded as a snapshot with the window of dates of service it governs (a new
load ends the one before the day before it takes effect, so an earlier DOS is checked against
the policy then in force):

- ``lab-ncd``: CMS's code lists of the 23 clinical laboratory NCDs (NCD Manual, Pub. 100-03,
  ch. 1 part 3, sections 190.12-190.34). Per NCD: its HCPCS codes, the ICD-10-CM codes covered,
  the codes that do not support medical necessity, and the codes never covered for any lab NCD
  (screening and the like). 190.15 (blood counts) publishes only the negative list: any other
  diagnosis supports it.
- ``mcd-articles``: the MAC's Billing and Coding Articles from the Medicare Coverage Database
  (since 2019-20 the codes of an LCD live in its articles): article -> HCPCS codes -> covered
  ICD-10-CM codes, with the article's own effective dates and contractor.

``assess`` answers for one procedure, its diagnoses and a DOS: one Verdict per policy listing the
code. Both the scrubber (scrub/necessity.py) and ``codes necessity`` ask through ``PolicyIndex``,
which reads each snapshot once.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audit, db
from ..errors import BadInput
from ..fileutil import sha256_files
from . import normalize
from .store import ChangeReport, count_changes, day_before, now_utc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ..db import Database
    from ..findings import Finding

KINDS = ("lab-ncd", "mcd-articles")
NAMES = {"lab-ncd": "Lab NCD code lists", "mcd-articles": "MCD Billing and Coding Articles"}
NCD_SOURCE = "Medicare NCD Manual (Pub. 100-03) ch. 1 part 3 sec. {ncd}; CMS lab NCD code list"
RULE_IDS = ("NCD-NECESSITY", "LCD-NECESSITY")
# how an MCD group paragraph says its diagnoses are covered only together with another group's
COMBINATION = re.compile(
    r"combination|in conjunction with|must (also )?be (billed|reported|coded|submitted)"
    r"|secondary (diagnosis|code)|dual diagnos|along with a (diagnosis|code)",
    re.IGNORECASE,
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


class NecessityReport(ChangeReport):
    def summary(self) -> str:
        verb = "Would load" if self.dry_run else "Loaded"
        base = f"{verb} {NAMES[self.system]} '{self.label}' effective {self.effective_from}"
        base += f": {self.rows_in_file:,} rows"
        if self.previous:
            parts = [f"{k} {v:,}" for k, v in self.counts.items() if v]
            base += f"; against '{self.previous}': " + (", ".join(parts) or "no changes")
        if self.affected:
            base += f"; {len(self.affected):,} unbilled charge line(s) newly held"
        return base


class _DryRun(Exception):
    "Rolls a dry run back."


def version_from_name(name: str) -> str | None:
    """The first day of the quarter a file's name gives: 2026-10, 2026q4, October 2026, oct26."""
    s = name.lower()
    m = re.search(r"(20\d\d)[-_ ]?(0[1-9]|1[0-2])(?!\d)", s)
    if m:
        return f"{m.group(1)}-{m.group(2)}-01"
    m = re.search(r"(20\d\d)[-_ ]?q([1-4])", s)
    if m:
        return f"{m.group(1)}-{(int(m.group(2)) - 1) * 3 + 1:02d}-01"
    m = re.search(r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*[-_ ]?(20\d\d)", s)
    if m:
        return f"{m.group(2)}-{_MONTHS[m.group(1)]:02d}-01"
    return None


def load(
    conn: Database,
    kind: str,
    paths: list[Path],
    *,
    label: str | None = None,
    effective: str | None = None,
    contractor: str | None = None,
    dry_run: bool = False,
    scrub: Callable[..., Iterable[Finding]] | None = None,
) -> ChangeReport:
    """Load one snapshot: every row checked first (file, row, column; nothing written), the
    change against the snapshot in place reported, and (with `scrub`) the unbilled lines the
    new policy holds that the old one did not."""
    from . import necessity_files as nf

    paths = [Path(p) for p in paths]
    if not paths:
        raise BadInput(f"{kind}: give the file(s) to load")
    for p in paths:
        if not p.exists():
            raise BadInput(f"{p}: no such file")
    if kind == "lab-ncd":
        if len(paths) > 1:
            raise BadInput("lab-ncd: load one code list at a time")
        parsed = nf.parse_lab_ncd(paths[0])
        effective = effective or version_from_name(paths[0].name)
        if effective is None:
            raise BadInput(
                f"{paths[0].name}: cannot tell the quarter from the file name: give --effective DATE"
            )
    else:
        parsed = nf.parse_mcd(paths, contractor)
        effective = effective or _dt.date.today().isoformat()
    label = label or (
        f"Lab NCD {effective[:7]}" if kind == "lab-ncd" else f"MCD articles {effective}"
    )
    files = [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*.csv")))]
    sha = sha256_files(files)
    source = ", ".join(p.name for p in paths)
    box: list[NecessityReport] = []
    try:
        with db.write(conn):
            before = _held(conn, scrub)
            rep = _apply(conn, kind, parsed, label, effective, source, sha)
            if scrub is not None and rep.previous:
                rep.affected = _newly_held(conn, scrub, before)
            audit.record(
                conn,
                "codes load",
                entity="necessity_versions",
                count=rep.rows_in_file,
                detail={
                    "system": kind,
                    "label": label,
                    "effective": effective,
                    "file": source,
                    "sha256": sha,
                    **rep.counts,
                },
            )
            box.append(rep)
            if dry_run:
                raise _DryRun()
    except _DryRun:
        pass
    rep = box[0]
    rep.dry_run = dry_run
    rep.notes += parsed.notes
    return rep


def _apply(conn, kind, parsed, label, effective, source, sha) -> NecessityReport:
    c = conn.conn
    prev = c.execute(
        "SELECT id, label, effective_from FROM necessity_versions WHERE kind = ?"
        " ORDER BY effective_from DESC, id DESC LIMIT 1",
        (kind,),
    ).fetchone()
    if c.execute(
        "SELECT 1 FROM necessity_versions WHERE kind = ? AND label = ?", (kind, label)
    ).fetchone():
        raise BadInput(
            f"{NAMES[kind]} '{label}' is already loaded: give the new one --version LABEL"
        )
    if prev and effective <= prev[2]:
        raise BadInput(
            f"{NAMES[kind]} '{prev[1]}' effective {prev[2]} is in place; a new one must take"
            f" effect after it (got --effective {effective})"
        )
    vid = c.execute(
        "INSERT INTO necessity_versions (kind, label, effective_from, effective_to, source, sha256,"
        " row_count, loaded_at) VALUES (?,?,?,NULL,?,?,?,?)",
        (kind, label, effective, source, sha, len(parsed.codes), now_utc()),
    ).lastrowid
    if prev:
        c.execute(
            "UPDATE necessity_versions SET effective_to = ? WHERE id = ?",
            (day_before(effective), prev[0]),
        )
    c.executemany(
        "INSERT INTO necessity_policies (version_id, policy, title, effective_from, effective_to,"
        " contractor) VALUES (?,?,?,?,?,?)",
        [(vid, p, *v) for p, v in parsed.policies.items()],
    )
    c.executemany(
        "INSERT INTO necessity_codes (version_id, policy, list, code, grp, description)"
        " VALUES (?,?,?,?,?,?)",
        [(vid, *r) for r in parsed.codes],
    )
    c.executemany(
        "INSERT OR IGNORE INTO necessity_groups (version_id, policy, list, grp, paragraph)"
        " VALUES (?,?,?,?,?)",
        [(vid, *g) for g in getattr(parsed, "groups", [])],
    )
    rep = NecessityReport(
        kind,
        label,
        effective,
        source,
        rows_in_file=len(parsed.codes),
        previous=prev[1] if prev else None,
    )
    if prev:
        rep.changes = _changes(c, prev[0], vid)
        rep.counts = count_changes(rep.changes)
    return rep


def _changes(c, old_id: int, new_id: int) -> list[dict]:
    def rows(vid):
        return {
            (p, k, code)
            for p, k, code in c.execute(
                "SELECT policy, list, code FROM necessity_codes WHERE version_id = ?", (vid,)
            )
        }

    old, new = rows(old_id), rows(new_id)
    out = []
    for change, items in (("added", new - old), ("deleted", old - new)):
        for p, k, code in sorted(items):
            out.append(
                {
                    "change": change,
                    "code": code,
                    "field": f"{_policy_name(p)} {_LIST_NAMES[k]}",
                    "old": None if change == "added" else "listed",
                    "new": "listed" if change == "added" else None,
                }
            )
    return out


def _held(conn, scrub) -> set:
    if scrub is None:
        return set()
    return {
        (f.encounter, f.encounter_id, f.line, f.rule)
        for f in scrub(conn, rules=RULE_IDS)
        if f.severity == "error"
    }


def _newly_held(conn, scrub, before: set) -> list[dict]:
    out = []
    for f in scrub(conn, rules=RULE_IDS):
        key = (f.encounter, f.encounter_id, f.line, f.rule)
        if f.severity == "error" and key not in before:
            out.append(
                {
                    "encounter": f.encounter,
                    "line": f.line,
                    "code": "",
                    "problem": f"{f.rule}: {f.message}",
                }
            )
    return out


_LIST_NAMES = {
    "hcpcs": "HCPCS codes",
    "covered": "covered diagnoses",
    "noncovered": "never-covered diagnoses",
    "nonsupport": "diagnoses that do not support medical necessity",
}


def _policy_name(policy: str) -> str:
    if policy == "ALL":
        return "all lab NCDs:"
    return f"NCD {policy}" if policy[0].isdigit() else f"article {policy}"


# ------------------------------------------------------------------ answering


@dataclass
class Verdict:
    policy: str  # "NCD 190.22" or "article A56440"
    title: str | None
    kind: str  # lab-ncd or mcd-articles
    version: str
    supported: bool
    never_covered: list[str]  # the line's diagnoses on a never-covered list
    supporting: list[str]  # a few diagnoses that would support it
    source: str
    contractor: str | None = None
    # the line's covered diagnoses are all in groups the article covers only in combination
    # with another group: those groups' paragraphs (MCD article_x_icd10_covered_group)
    combination: list[str] | None = None

    @property
    def excluded(self) -> bool:
        """Not supported only because every diagnosis is one Medicare never covers for the test
        (a screening, a statutory exclusion): GX/GY territory rather than GA/GZ."""
        return not self.supported and bool(self.never_covered)


class _Snapshot:
    def __init__(self, c, vid: int, kind: str, label: str) -> None:
        self.kind, self.label = kind, label
        self.by_code: dict[str, list[str]] = {}
        self.lists: dict[tuple[str, str], set[str]] = {}
        self.info: dict[str, tuple] = {}
        for p, title, frm, to, who in c.execute(
            "SELECT policy, title, effective_from, effective_to, contractor FROM necessity_policies"
            " WHERE version_id = ?",
            (vid,),
        ):
            self.info[p] = (title, frm, to, who)
        self.group_of: dict[tuple[str, str], set[int]] = {}  # (article, covered code) -> groups
        for p, k, code, grp in c.execute(
            "SELECT policy, list, code, grp FROM necessity_codes WHERE version_id = ?", (vid,)
        ):
            if k == "hcpcs":
                self.by_code.setdefault(code, []).append(p)
            else:
                self.lists.setdefault((p, k), set()).add(code)
                if k == "covered" and grp is not None:
                    self.group_of.setdefault((p, code), set()).add(grp)
        self.combination: dict[tuple[str, int], str] = {
            (p, grp): text
            for p, grp, text in c.execute(
                "SELECT policy, grp, paragraph FROM necessity_groups WHERE version_id = ?"
                " AND list = 'covered'",
                (vid,),
            )
            if COMBINATION.search(text)
        }
        self._parts: dict[str, tuple] = {}

    def parts(self, policy: str) -> tuple[set, set, set, list[str]]:
        """(covered, never covered, not supporting, a few covered examples) of a policy, built
        once: a verdict then costs a few set probes."""
        got = self._parts.get(policy)
        if got is None:
            covered = self.lists.get((policy, "covered"), set())
            never = self.lists.get((policy, "noncovered"), set())
            nonsupport: set = set()
            if self.kind == "lab-ncd":
                never = never | self.lists.get(("ALL", "noncovered"), set())
                nonsupport = self.lists.get((policy, "nonsupport"), set())
            got = self._parts[policy] = (covered, never, nonsupport, sorted(covered)[:5])
        return got


class PolicyIndex:
    """Every loaded snapshot, read on first use; verdicts cached by (code, diagnoses, DOS)."""

    def __init__(self, conn: Database) -> None:
        self.c = conn.conn
        self.versions = [
            tuple(r)
            for r in self.c.execute(
                "SELECT id, kind, label, effective_from, effective_to FROM necessity_versions"
                " ORDER BY effective_from"
            )
        ]
        self._snap: dict[int, _Snapshot] = {}
        self._memo: dict[tuple, list[Verdict]] = {}

    def __bool__(self) -> bool:
        return bool(self.versions)

    def _in_force(self, dos: str) -> list[_Snapshot]:
        out = []
        for vid, kind, label, frm, to in self.versions:
            if frm <= dos and (to is None or dos <= to):
                snap = self._snap.get(vid)
                if snap is None:
                    snap = self._snap[vid] = _Snapshot(self.c, vid, kind, label)
                out.append(snap)
        return out

    def assess(self, code: str, dx: Iterable[str], dos: str) -> list[Verdict]:
        code = normalize.procedure(code)
        dxs = tuple(dict.fromkeys(normalize.icd(d) for d in dx if d))
        key = (code, dxs, dos)
        got = self._memo.get(key)
        if got is None:
            got = self._memo[key] = [
                v
                for snap in self._in_force(dos)
                for p in snap.by_code.get(code, ())
                if (v := _verdict(snap, p, dxs, dos)) is not None
            ]
        return got


def _verdict(snap: _Snapshot, policy: str, dxs: tuple[str, ...], dos: str) -> Verdict | None:
    title, frm, to, who = snap.info.get(policy, (None, None, None, None))
    if (frm and dos < frm) or (to and dos > to):
        return None
    covered, never, nonsupport, first = snap.parts(policy)
    if snap.kind == "lab-ncd":
        source = NCD_SOURCE.format(ncd=policy) + f" '{snap.label}'"
        name = f"NCD {policy}"
    else:
        source = f"MCD Billing and Coding Article {policy}" + (f" ({who})" if who else "")
        source += f"; '{snap.label}'"
        name = f"article {policy}"
        if not covered:  # an article listing the code without diagnosis limits
            return None
    if covered:
        ok = any(d in covered for d in dxs)
        examples = first
    else:  # negative lists only (190.15): anything not on them supports the test
        ok = any(d not in nonsupport and d not in never for d in dxs)
        examples = []
    bad = [d for d in dxs if d in never]
    combination = None
    if ok and covered and snap.combination:
        per_dx = [snap.group_of.get((policy, d), set()) for d in dxs if d in covered]
        groups = sorted(set().union(*per_dx)) if per_dx else []
        texts = [snap.combination.get((policy, g)) for g in groups]
        if groups and all(per_dx) and all(texts):
            combination = [t for t in texts if t]
    return Verdict(name, title, snap.kind, snap.label, ok, bad, examples, source, who, combination)


def verdict_rows(verdicts: list[Verdict]) -> list[dict]:
    return [
        {
            "policy": v.policy,
            "title": v.title or "",
            "supported": v.supported,
            "never_covered": ", ".join(v.never_covered),
            "would_support": ", ".join(v.supporting)
            or ("any diagnosis not on its negative lists" if v.kind == "lab-ncd" else ""),
            "contractor": v.contractor or "",
            "combination": " | ".join(v.combination or []),
            "version": v.version,
            "source": v.source,
        }
        for v in verdicts
    ]


COLUMNS = [
    "policy",
    "title",
    "supported",
    "never_covered",
    "would_support",
    "contractor",
    "combination",
    "version",
    "source",
]
