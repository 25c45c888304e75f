"""Readers for the medical-necessity policy files: the CMS lab NCD code lists and the Medicare
Coverage Database (MCD) "current articles" CSV download. Every row is checked first; a bad row
is reported with its file, row and column and nothing is loaded.

Lab NCD code list (CSV or XLSX, one row per code; header names matched without regard to case,
spaces or punctuation): ``NCD`` (190.12-190.34, or ``ALL`` for CMS's "non-covered ICD-10-CM
codes for all lab NCDs"), ``Title`` (optional), ``List`` (``HCPCS``; ``Covered``;
``Non-Covered``/``Denied``; ``Does Not Support``), ``Code``, ``Description`` (optional). These
are the sections of CMS's NCD Coding Policy Manual for each lab NCD (its HCPCS codes, "ICD-10-CM
codes covered by Medicare program", "ICD-10-CM codes that do not support medical necessity",
the non-covered list for all NCDs); 190.15 (blood counts) publishes only the negative list.

MCD articles: ``article.csv`` (article_id, article_version, title, article_eff_date,
article_end_date, date_retired), ``article_x_hcpc_code.csv`` (article_id, article_version,
hcpc_code_id, hcpc_code_group, long_description), ``article_x_icd10_covered.csv``
(icd10_code_id, icd10_covered_group, description), optionally
``article_x_icd10_noncovered.csv`` (icd10_noncovered_group), ``article_x_contractor.csv``
(contractor_id, contractor_type_id, contractor_version) and ``contractor.csv``
(contractor_number, contractor_bus_name).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInput, InvalidRows, Problem
from . import normalize

NCD_RX = re.compile(r"^190\.(1[2-9]|2[0-9]|3[0-4])$")
LISTS = {
    "hcpcs": "hcpcs",
    "hcpcscode": "hcpcs",
    "hcpcscodes": "hcpcs",
    "cpt": "hcpcs",
    "covered": "covered",
    "coveredcodes": "covered",
    "noncovered": "noncovered",
    "notcovered": "noncovered",
    "denied": "noncovered",
    "nevercovered": "noncovered",
    "doesnotsupport": "nonsupport",
    "donotsupport": "nonsupport",
    "doesnotsupportmedicalnecessity": "nonsupport",
    "donotsupportmedicalnecessity": "nonsupport",
    "nonsupport": "nonsupport",
}


@dataclass
class Parsed:
    """policies: id -> (title, effective_from, effective_to, contractor); codes: rows of
    (policy, list, code, group, description)."""

    policies: dict[str, tuple] = field(default_factory=dict)
    codes: list[tuple] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    groups: list[tuple] = field(default_factory=list)  # (policy, list, group, paragraph)


def _key(h) -> str:
    from ..ingest.fields import normalise_header

    return normalise_header(h)


def _icd_ok(raw: str) -> str | None:
    code = normalize.icd(raw)
    return code if normalize.looks_like_icd(code) else None


def _proc_ok(raw: str) -> str | None:
    code = normalize.procedure(raw)
    return code if normalize.procedure_system(code) else None


# ------------------------------------------------------------------ lab NCD code list


def parse_lab_ncd(path: Path) -> Parsed:
    from ..ingest.readers import open_table

    out = Parsed()
    problems: list[Problem] = []
    seen: dict[tuple, int] = {}
    first_row: dict[str, int] = {}
    with open_table(path) as t:
        keys = [_key(h) for h in t.headers]

        def col(*names: str, required: bool = True) -> int | None:
            i = next((i for i, k in enumerate(keys) if k in names), None)
            if i is None and required:
                raise BadInput(f"{t.file}: needs a {names[0].upper()} column (NCD, List, Code)")
            return i

        ci_ncd = col("ncd", "ncdid", "ncdnumber", "ncdsection")
        ci_list = col("list", "listtype", "codelist", "type")
        ci_code = col("code", "icd10code", "icd10cmcode", "codes")
        ci_title = col("title", "ncdtitle", "ncdname", required=False)
        ci_desc = col("description", "codedescription", "desc", required=False)
        assert ci_ncd is not None and ci_list is not None and ci_code is not None
        for n, cells in t:
            ncd = str(cells[ci_ncd] or "").strip().upper()
            kind = LISTS.get(_key(cells[ci_list]))
            raw = str(cells[ci_code] or "").strip()
            if not (ncd == "ALL" or NCD_RX.match(ncd)):
                problems.append(
                    Problem(n, t.headers[ci_ncd], "is not a lab NCD 190.12-190.34 or ALL", t.file)
                )
                continue
            if kind is None:
                problems.append(
                    Problem(
                        n,
                        t.headers[ci_list],
                        "is not HCPCS, Covered, Non-Covered or Does Not Support",
                        t.file,
                    )
                )
                continue
            if ncd == "ALL" and kind != "noncovered":
                problems.append(
                    Problem(n, t.headers[ci_list], "ALL holds only the non-covered list", t.file)
                )
                continue
            code = _proc_ok(raw) if kind == "hcpcs" else _icd_ok(raw)
            if code is None:
                what = "a CPT/HCPCS code" if kind == "hcpcs" else "an ICD-10-CM code"
                problems.append(Problem(n, t.headers[ci_code], f"is not {what}", t.file))
                continue
            k = (ncd, kind, code)
            if k in seen:
                problems.append(
                    Problem(
                        n, t.headers[ci_code], f"repeats row {seen[k]} (same NCD and list)", t.file
                    )
                )
                continue
            seen[k] = n
            first_row.setdefault(ncd, n)
            title = str(cells[ci_title] or "").strip() if ci_title is not None else ""
            if ncd not in out.policies or (title and not out.policies[ncd][0]):
                out.policies[ncd] = (title or None, None, None, None)
            desc = str(cells[ci_desc] or "").strip() if ci_desc is not None else ""
            out.codes.append((ncd, kind, code, None, desc or None))
        problems += t.problems
    _check_lists(out, seen, first_row, problems, path.name)
    if problems:
        raise InvalidRows(problems[:50], file=path.name)
    return out


def _check_lists(out: Parsed, seen: dict, first_row: dict, problems: list, file: str) -> None:
    """Each NCD names its tests; no diagnosis is both covered and not supporting."""
    for ncd in out.policies:
        if ncd == "ALL":
            continue
        lists = {k for (p, k, _c) in seen if p == ncd}
        if "hcpcs" not in lists:
            problems.append(
                Problem(
                    first_row[ncd], "List", f"NCD {ncd} lists no HCPCS code: it cannot apply", file
                )
            )
    for (p, k, c), n in seen.items():
        if k == "covered" and (p, "nonsupport", c) in seen:
            problems.append(
                Problem(
                    seen[(p, "nonsupport", c)],
                    "Code",
                    f"NCD {p}: the code is also on the covered list (row {n})",
                    file,
                )
            )


# ------------------------------------------------------------------ MCD articles


def _mcd_date(value: str) -> str | None:
    v = (value or "").strip()
    if not v:
        return None
    v = v.split(" ")[0].split("T")[0]
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y"):
        try:
            return _dt.datetime.strptime(v, fmt).date().isoformat()
        except ValueError:
            continue
    raise ValueError(v)


class _Files:
    """The download's CSV files by name: from a folder, the files themselves, or the zip."""

    def __init__(self, paths: list[Path]) -> None:
        self.members: dict[str, tuple[Path, str | None]] = {}
        for p in paths:
            if p.is_dir():
                for f in sorted(p.rglob("*.csv")):
                    self.members.setdefault(f.name.lower(), (f, None))
            elif p.suffix.lower() == ".zip":
                with zipfile.ZipFile(p) as z:
                    for name in z.namelist():
                        if name.lower().endswith(".csv"):
                            self.members.setdefault(Path(name).name.lower(), (p, name))
            else:
                self.members[p.name.lower()] = (p, None)

    def has(self, name: str) -> bool:
        return name in self.members

    def rows(self, name: str):
        """(row number, dict of normalised header -> text) for each data row."""
        path, member = self.members[name]
        if member is None:
            data = path.read_bytes()
        else:
            with zipfile.ZipFile(path) as z:
                data = z.read(member)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
        reader = csv.reader(io.StringIO(text))
        header = [_key(h) for h in next(reader, [])]
        for n, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            yield n, dict(zip(header, cells, strict=False))


def parse_mcd(paths: list[Path], contractor: str | None = None) -> Parsed:
    files = _Files(paths)
    for need in ("article.csv", "article_x_hcpc_code.csv", "article_x_icd10_covered.csv"):
        if not files.has(need):
            raise BadInput(
                f"the MCD articles download needs {need} (give the unzipped folder, the zip or the files)"
            )
    problems: list[Problem] = []
    out = Parsed()
    articles: dict[str, tuple] = {}
    for n, r in files.rows("article.csv"):
        aid = (r.get("articleid") or "").strip()
        if not aid.isdigit():
            problems.append(Problem(n, "article_id", "is not an article number", "article.csv"))
            continue
        try:
            eff = _mcd_date(r.get("articleeffdate") or "")
            end = min(
                (
                    d
                    for d in (
                        _mcd_date(r.get("articleenddate") or ""),
                        _mcd_date(r.get("dateretired") or ""),
                    )
                    if d
                ),
                default=None,
            )
        except ValueError:
            problems.append(
                Problem(
                    n, "article_eff_date", "is not a date (YYYY-MM-DD or MM/DD/YYYY)", "article.csv"
                )
            )
            continue
        if eff is None:
            problems.append(Problem(n, "article_eff_date", "is empty", "article.csv"))
            continue
        articles[aid] = ((r.get("title") or "").strip() or None, eff, end)
    names = _contractors(files)
    keep = set(articles)
    by_article: dict[str, set[str]] = {}
    if files.has("article_x_contractor.csv"):
        for _n, r in files.rows("article_x_contractor.csv"):
            aid = (r.get("articleid") or "").strip()
            cid = (r.get("contractorid") or "").strip()
            num, name = names.get((cid, (r.get("contractortypeid") or "").strip()), (cid, cid))
            by_article.setdefault(aid, set()).add(f"{num}|{name}")
    numbers = {x.split("|")[0] for s in by_article.values() for x in s}
    if contractor:
        keep = {
            a for a in keep if any(x.split("|")[0] == contractor for x in by_article.get(a, ()))
        }
        if not keep:
            raise BadInput(
                f"no article of contractor {contractor} in the download (contractors: "
                f"{', '.join(sorted(numbers)[:12]) or 'none listed'})"
            )
    elif len(numbers) > 1:
        raise BadInput(
            f"the download holds articles of {len(numbers)} contractors ({', '.join(sorted(numbers)[:12])}"
            f"{' ...' if len(numbers) > 12 else ''}): give --contractor NUMBER, your MAC's"
            " contractor number (its jurisdiction's articles are the ones that apply)"
        )
    for aid in sorted(keep, key=int):
        title, eff, end = articles[aid]
        who = sorted(by_article.get(aid, ()))
        label = "; ".join(f"{x.split('|')[1]} ({x.split('|')[0]})" for x in who) or None
        out.policies[f"A{aid}"] = (title, eff, end, label)
    for name, kind, gcol, ccol, dcol in (
        ("article_x_hcpc_code.csv", "hcpcs", "hcpccodegroup", "hcpccodeid", "longdescription"),
        (
            "article_x_icd10_covered.csv",
            "covered",
            "icd10coveredgroup",
            "icd10codeid",
            "description",
        ),
        (
            "article_x_icd10_noncovered.csv",
            "noncovered",
            "icd10noncoveredgroup",
            "icd10codeid",
            "description",
        ),
    ):
        if not files.has(name):
            continue
        for n, r in files.rows(name):
            aid = (r.get("articleid") or "").strip()
            if aid not in keep:
                if aid and aid not in articles and aid.isdigit():
                    problems.append(Problem(n, "article_id", "is not in article.csv", name))
                continue
            raw = r.get(ccol) or ""
            code = _proc_ok(raw) if kind == "hcpcs" else _icd_ok(raw)
            if code is None:
                what = "a CPT/HCPCS code" if kind == "hcpcs" else "an ICD-10-CM code"
                problems.append(Problem(n, ccol, f"is not {what}", name))
                continue
            g = (r.get(gcol) or "").strip()
            out.codes.append(
                (
                    f"A{aid}",
                    kind,
                    code,
                    int(g) if g.isdigit() else None,
                    (r.get(dcol) or "").strip() or None,
                )
            )
    _group_paragraphs(files, keep, out)
    if problems:
        raise InvalidRows(problems[:50], file=problems[0].file)
    out.notes.append(
        f"{len(out.policies):,} article(s), {len(out.groups):,} group paragraph(s); ICD-10-CM"
        " groups apply to every HCPCS code of their article; a group covered only in"
        " combination (its paragraph says so) is quoted in the finding, not enforced"
    )
    return out


def plain_text(html_text: str) -> str:
    """An MCD paragraph (HTML) as plain text: tags dropped, entities decoded, spaces collapsed."""
    import html

    text = re.sub(r"<[^>]+>", " ", html_text or "")
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def _group_paragraphs(files: _Files, keep: set[str], out: Parsed) -> None:
    """article_x_icd10_covered_group.csv / _noncovered_group.csv (article_id, article_version,
    icd10_covered_group or icd10_noncovered_group, paragraph): each group's paragraph."""
    for name, kind, gcol in (
        ("article_x_icd10_covered_group.csv", "covered", "icd10coveredgroup"),
        ("article_x_icd10_noncovered_group.csv", "noncovered", "icd10noncoveredgroup"),
    ):
        if not files.has(name):
            continue
        for _n, r in files.rows(name):
            aid = (r.get("articleid") or "").strip()
            g = (r.get(gcol) or "").strip()
            text = plain_text(r.get("paragraph") or "")
            if aid in keep and g.isdigit() and text:
                out.groups.append((f"A{aid}", kind, int(g), text))


def _contractors(files: _Files) -> dict[tuple[str, str], tuple[str, str]]:
    """(contractor_id, contractor_type_id) -> (contractor number, business name)."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    if files.has("contractor.csv"):
        for _n, r in files.rows("contractor.csv"):
            cid = (r.get("contractorid") or "").strip()
            num = (r.get("contractornumber") or "").strip() or cid
            name = (r.get("contractorbusname") or "").strip() or f"contractor {num}"
            out[(cid, (r.get("contractortypeid") or "").strip())] = (num, name)
    return out
