"""ICD-10-CM: the bundled CDC release (the files simple-icd-10-cm ships) and the CDC's text files.

The bundled release is the CDC tabular (XML) and code list inside the simple-icd-10-cm package,
read here by our own reader (``read_tabular``): every chapter, block, category, subcategory and
7th-character code, with its description, whether it is a leaf (billable, "valid for
HIPAA-covered transactions"), whether it needs a 7th character, and the Excludes1 notes. The
package's own code is not imported (it takes ~1.5 s to build its objects); the tests use it as
the outside oracle for our reading.

The CDC also publishes each release as two plain-text files, which ``codes load icd10cm`` reads:
  - icd10cm-order-YYYY.txt: 5-digit order number, code (no dot, columns 7-13), header flag
    (column 15: 0 = header, 1 = valid for submission), short description (17-76), long
    description (78-). Every header and billable code.
  - icd10cm-codes-YYYY.txt: code (no dot, padded to 7), a space, the long description. Billable
    codes only; a code that drops out of it but gained children is treated as having become a
    header (as M54.5 did in FY2022), not as deleted.
ICD-10-CM releases take effect on October 1 (fiscal year) or April 1 (update) and stay in force
until the next release; this loader assumes the release runs to the following September 30.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput, InvalidRows, Problem
from . import normalize
from .store import CodeRow

MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}


def release_through(effective: str) -> str:
    """The last day a release is in force when no later one is loaded: the next September 30."""
    d = _dt.date.fromisoformat(effective)
    year = d.year + 1 if d.month >= 10 else d.year
    return f"{year}-09-30"


def fiscal_year_label(effective: str) -> str:
    d = _dt.date.fromisoformat(effective)
    if d.month == 10 and d.day == 1:
        return f"FY{d.year + 1}"
    return f"{d.strftime('%B')} {d.year} update"


# ------------------------------------------------------------------ Excludes1 references

_REF = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?"
_TOKEN = re.compile(rf"^({_REF})(?:\.?-)?(?:\s*-\s*({_REF})(?:\.?-)?)?$")


def excludes1_refs(note: str) -> list[tuple[str, str]]:
    """Code ranges an Excludes1 note names, as (lo, hi) prefixes without dots.

    "type 1 diabetes mellitus (E10.-)" -> [("E10", "E10")]; "(O10-O11, O13-O16)" -> two ranges;
    "(A18.03)" -> [("A1803", "A1803")]. Notes that name no code ("code to condition") give [].
    A prefix covers the code and everything under it (ICD-10-CM guidelines I.A.12.a: the note
    applies to the code and its subdivisions).
    """
    out = []
    for group in re.findall(r"\(([^()]*)\)", note):
        for tok in group.split(","):
            tok = tok.strip().upper().rstrip(".")
            m = _TOKEN.match(tok)
            if not m:
                continue
            lo = normalize.nodot(m.group(1)).rstrip("-")
            hi = normalize.nodot(m.group(2)).rstrip("-") if m.group(2) else lo
            out.append((lo, hi))
    return out


# ------------------------------------------------------------------ the bundled release


@dataclass
class Bundled:
    label: str
    effective_from: str
    effective_to: str
    source: str
    rows: list[CodeRow]
    excludes1: list[tuple[str, str, str, str]]


def _package_data() -> tuple[Path, Path, str]:
    """The CDC files inside the installed simple-icd-10-cm, found without importing the package
    (its import parses them into objects: ~1.5 s we do not need)."""
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        raise BadInput(
            "the simple-icd-10-cm package is not installed: cannot load the bundled ICD-10-CM release"
        )
    data = Path(list(spec.submodule_search_locations)[0]) / "data"
    tab = sorted(data.glob("icd10c*-tabular-*.xml"))
    lst = sorted(data.glob("code-list-*.txt"))
    if not tab or not lst:
        raise BadInput(f"no ICD-10-CM tabular and code list in {data}")
    try:
        version = importlib.metadata.version("simple_icd_10_cm")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        version = "?"
    return tab[-1], lst[-1], version


def bundled_release() -> Bundled:
    """Every item of the ICD-10-CM release packaged with simple-icd-10-cm, read from its CDC
    tabular XML and code list by our own reader (the package itself is the oracle in the tests)."""
    tab, lst, pkg_version = _package_data()
    m = re.search(r"([A-Za-z]+)-(\d{1,2})-(\d{4})", tab.name)
    if m and m.group(1).lower() in MONTHS:
        effective = _dt.date(
            int(m.group(3)), MONTHS[m.group(1).lower()], int(m.group(2))
        ).isoformat()
        month, year = m.group(1).capitalize(), m.group(3)
    else:  # pragma: no cover - a package release with another file naming
        raise BadInput(f"cannot tell the release date from {tab.name}")
    rows: list[CodeRow] = []
    excl: list[tuple[str, str, str, str]] = []
    read_tabular(tab.read_bytes(), lst.read_text(encoding="utf-8"), rows, excl)
    return Bundled(
        f"CDC {month} {year} (bundled)",
        effective,
        release_through(effective),
        f"simple-icd-10-cm {pkg_version}: {tab.name}",
        rows,
        excl,
    )


def read_tabular(xml: bytes, code_list: str, rows: list, excl: list) -> None:
    """The CDC tabular list as rows: chapters, blocks (sections), categories, subcategories and
    the 7th-character codes the tabular implies.

    7th characters (guideline I.A.6): a <sevenChrDef> on a category or subcategory applies to
    every code below it; each leaf under it takes each listed character, padded with placeholder
    X to six characters first (T78.4 -> T78.40XA). Only the combinations the CDC code list
    confirms exist (some leaves allow fewer characters than their category lists).
    A block named like its only category (B99) is one item, the category, with both notes.
    """
    import xml.etree.ElementTree as ET

    confirmed = {
        line.split(" ", 1)[0].replace(".", "") for line in code_list.splitlines() if line.strip()
    }
    root = ET.fromstring(xml)
    index: dict[str, int] = {}

    def notes_of(el, tag):
        out = []
        for sub in el.findall(tag):
            out += [n.text for n in sub.findall("note") if n.text]
        return out

    def seven_of(el) -> dict[str, str]:
        d: dict[str, str] = {}
        for sub in el.findall("sevenChrDef"):
            last = None
            for x in sub:
                if x.tag == "extension":
                    d[x.get("char")] = x.text or ""
                    last = x.get("char")
                elif x.tag == "note" and last is not None and x.text:
                    d[last] += "/" + x.text
        return d

    def add(name, desc, kind, parent, leaf, needs_7th, notes):
        if name in index:
            prev = rows[index[name]]
            if prev.kind == "block" and kind == "category":
                prev.kind, prev.billable, prev.description, prev.needs_7th = (
                    "category",
                    int(leaf),
                    desc,
                    needs_7th,
                )
            for note in notes:
                for lo, hi in excludes1_refs(note):
                    excl.append((name, lo, hi, note))
            return
        index[name] = len(rows)
        _add(
            name, desc, leaf, kind, parent if parent != name else None, needs_7th, notes, rows, excl
        )

    def walk(el, kind, parent, seven):
        name = el.get("id") if kind == "block" else (el.findtext("name") or "")
        desc = el.findtext("desc") or ""
        own = seven_of(el)
        seven_here = own or seven
        subs = [
            (c, "block" if c.tag == "section" else None) for c in el if c.tag in ("section", "diag")
        ]
        ext: list[tuple[str, str]] = []
        if not subs and seven_here and kind != "chapter" and kind != "block":
            stem = name if len(name) != 3 else name + "."
            stem = stem + "X" * (7 - len(stem))
            for ch, meaning in seven_here.items():
                if (stem[:3] + stem[4:] + ch) in confirmed:
                    ext.append((stem + ch, f"{desc}, {meaning}"))
        leaf = not subs and not ext
        needs_7th = int(bool(ext))
        add(name, desc, kind, parent, leaf, needs_7th, notes_of(el, "excludes1"))
        me = name if name != parent else parent
        for c, k in subs:
            cname = c.findtext("name") or ""
            ckind = k or ("category" if len(cname) == 3 else "subcategory")
            walk(c, ckind, me, seven_here if kind not in ("chapter", "block") else (own or None))
        for code, d in ext:
            add(code, d, "extension", name, True, 0, [])

    kids = [c for c in root if c.tag == "chapter"]
    for ch in kids:
        walk(ch, "chapter", None, None)


def _add(code, desc, leaf, kind, parent, needs_7th, notes, rows, excl) -> None:
    # the package reports a few empty "super-section" blocks (C00-C96, V00-X58, ...) as leaves:
    # only categories, subcategories and 7th-character codes are codes a claim can carry
    billable = int(leaf and kind not in ("chapter", "block"))
    rows.append(CodeRow(code, desc, billable, kind, None, parent, needs_7th))
    for note in notes:
        for lo, hi in excludes1_refs(note):
            excl.append((code, lo, hi, note))


# ------------------------------------------------------------------ the CDC text files

ORDER_RX = re.compile(r"^(\d{5}) ([A-Z0-9]{3,7})\s* ([01]) (.*)$")
CODES_RX = re.compile(r"^([A-Z][0-9][0-9A-Z][0-9A-Z]{0,4})\s+(\S.*)$")


@dataclass
class ParsedFile:
    rows: list[CodeRow]
    layout: str  # "order" | "codes"
    label: str | None
    effective: str | None


def infer_release(name: str) -> tuple[str | None, str | None]:
    """(label, effective date) from a CDC file name: icd10cm-order-2027.txt is FY2027, in force
    from 2026-10-01; icd10cm-codes-April-2026.txt is the April 2026 update."""
    low = name.lower()
    m = re.search(
        r"(january|february|march|april|may|june|july|august|september|october|november|december)"
        r"[-_ ]?(?:1[-_ ])?(\d{4})",
        low,
    )
    if m:
        eff = _dt.date(int(m.group(2)), MONTHS[m.group(1)], 1).isoformat()
        return f"{m.group(1).capitalize()} {m.group(2)} update", eff
    m = re.search(r"(?:fy)?(20\d\d)", low)
    if m:
        year = int(m.group(1))
        return f"FY{year}", f"{year - 1}-10-01"
    return None, None


def parse_file(path: Path) -> ParsedFile:
    """Read a CDC order file or code-descriptions file (layout detected from the first line)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise BadInput(f"{path}: cannot read ({e.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    layout = "order" if re.match(r"^\d{5} ", first) else "codes"
    rows: list[CodeRow] = []
    problems: list[Problem] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if layout == "order":
            m = ORDER_RX.match(line.rstrip())
            if not m or len(line) < 16:
                problems.append(
                    Problem(
                        n,
                        None,
                        "not an order-file record (order number, code, 0/1 flag, descriptions)",
                        path.name,
                    )
                )
                continue
            code = m.group(2)
            billable = int(line[14])
            short = line[16:76].strip() if len(line) > 16 else ""
            desc = line[77:].strip() if len(line) > 77 else short
            if not desc:
                problems.append(Problem(n, "long description", "is empty", path.name))
                continue
        else:
            m = CODES_RX.match(line.rstrip())
            if not m:
                problems.append(
                    Problem(
                        n,
                        None,
                        "not a code-description record (code, space, description)",
                        path.name,
                    )
                )
                continue
            code, desc, short, billable = m.group(1), m.group(2).strip(), None, 1
        if len(problems) > 50:
            break
        rows.append(CodeRow(normalize.icd(code), desc, billable, _kind(code), short or None))
    if problems:
        raise InvalidRows(problems[:50], file=path.name)
    if not rows:
        raise BadInput(f"{path.name}: no ICD-10-CM codes found")
    label, eff = infer_release(path.name)
    return ParsedFile(rows, layout, label, eff)


def _kind(code_nodot: str) -> str:
    return "category" if len(code_nodot.replace(".", "")) == 3 else "subcategory"


def prepare_rows(parsed: ParsedFile, current: dict[str, tuple]) -> tuple[list[CodeRow], object]:
    """Fill in what a text file lacks (parents, 7th-character headers, headers of a codes-only
    file) from the release in place; returns the rows and the deletable() test for the merge."""
    rows = parsed.rows
    by_code = {r.code: r for r in rows}
    if parsed.layout == "codes":
        # A billable code absent from a codes-only file that now has billable children became a
        # header (its row stays, not billable); headers in place are kept as they are.
        nodots = sorted(normalize.nodot(c) for c in by_code)
        import bisect

        for code, cur in current.items():
            if code in by_code or cur[4] != 1 or cur[5] in ("chapter", "block"):
                continue
            nd = normalize.nodot(code)
            i = bisect.bisect_right(nodots, nd)
            if i < len(nodots) and nodots[i].startswith(nd):
                hdr = CodeRow(code, cur[2], 0, cur[5], cur[3], cur[6], cur[7])
                rows.append(hdr)
                by_code[code] = hdr
        for code, cur in current.items():
            if code not in by_code and cur[4] == 0:
                by_code[code] = CodeRow(code, cur[2], 0, cur[5], cur[3], cur[6], cur[7])
    all_codes = set(by_code) | set(current)
    sevens: set[str] = {normalize.nodot(c)[:6] for c in by_code if len(normalize.nodot(c)) == 7}
    for r in rows:
        in_place = current.get(r.code)
        if in_place is not None:
            r.kind, r.parent, r.needs_7th = in_place[5], in_place[6], in_place[7]
            if r.short_description is None:
                r.short_description = in_place[3]
            continue
        nd = normalize.nodot(r.code)
        parent = None
        for k in range(len(nd) - 1, 2, -1):
            cand = normalize.icd(nd[:k])
            if cand in all_codes:
                parent = cand
                break
        if parent is None and len(nd) > 3:
            parent = normalize.icd(nd[:3])
        r.parent = parent
        if not r.billable and len(nd) < 7:
            stem = nd + "X" * (6 - len(nd))
            r.needs_7th = int(
                stem in sevens and not any(normalize.icd(nd + x) in by_code for x in "0123456789")
            )

    if parsed.layout == "codes":

        def deletable(cur) -> bool:
            return cur[4] == 1 and cur[5] not in ("chapter", "block")
    else:

        def deletable(cur) -> bool:
            return cur[5] not in ("chapter", "block")

    return rows, deletable
