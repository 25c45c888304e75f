"""`reconcile reports --map FILE.toml`: how each side's keys are written and at what grain.

Two reports of the same invoices rarely write the key alike: the ERP (JDE) prefixes it and
folds the line or a date into it, the CMS report pads it or adds a check digit. The map says,
per side, how to bring a key to the common form, and whether the side's rows are summed to the
key's grain first (an invoice's lines against the invoice's total)::

    tolerance = "1%"             # optional: as --tolerance (cents "0.50" or a percentage)
    [a]                          # the ERP export
    key = "Invoice No"           # optional: as --key (text or a list of columns)
    amount = "Line Amount"       # optional: as --amount
    group = true                 # sum the rows of each key (as --group-a)
    strip_prefix = ["JDE-", "INV"]   # the longest that starts the key is removed
    regex = '^(\\d+)-\\d{2}$'    # the key becomes the regex's first group (or the whole match)
    [b]
    key = "Claim Number"
    strip_suffix = "-X"
    pad = 8                      # left-padded with pad_char (default "0") to 8 characters

Rules, in order, after the key is trimmed and upper-cased: strip_prefix, strip_suffix, regex,
pad; --strip-zeros last. A key the regex does not match is bad input (file, row, column): a
total or note row in the export, to take out first. With a key of several columns the rules
apply to the first column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput

_SIDE_KEYS = {"key", "amount", "group", "strip_prefix", "strip_suffix", "regex", "pad", "pad_char"}


@dataclass(frozen=True)
class KeyRule:
    strip_prefix: tuple[str, ...] = ()
    strip_suffix: tuple[str, ...] = ()
    regex: re.Pattern | None = None
    pad: int = 0
    pad_char: str = "0"

    def apply(self, key: str) -> str | None:
        """The key in the common form; None when the regex does not match it."""
        for p in self.strip_prefix:
            if key.startswith(p):
                key = key[len(p) :]
                break
        for s in self.strip_suffix:
            if s and key.endswith(s):
                key = key[: -len(s)]
                break
        if self.regex is not None:
            m = self.regex.search(key)
            if m is None:
                return None
            key = m.group(1) if m.groups() else m.group(0)
            key = key.strip()
        if self.pad:
            key = key.rjust(self.pad, self.pad_char)
        return key

    def describe(self) -> str:
        parts = []
        if self.strip_prefix:
            parts.append("strip prefix " + "/".join(self.strip_prefix))
        if self.strip_suffix:
            parts.append("strip suffix " + "/".join(self.strip_suffix))
        if self.regex is not None:
            parts.append(f"regex {self.regex.pattern}")
        if self.pad:
            parts.append(f"pad to {self.pad} with {self.pad_char!r}")
        return ", ".join(parts)


@dataclass
class SideMap:
    key: list[str] | None = None
    amount: str | None = None
    group: bool = False
    rule: KeyRule | None = None


@dataclass
class ReportMap:
    a: SideMap
    b: SideMap
    tolerance: str | None = None
    name: str = ""


def load_map(path: Path) -> ReportMap:
    import tomllib

    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise BadInput(f"--map {path}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"--map {path.name}: not valid TOML ({e})") from None
    unknown = set(data) - {"a", "b", "tolerance"}
    if unknown:
        raise BadInput(
            f"--map {path.name}: unknown key(s) {', '.join(sorted(unknown))} "
            "(expected [a], [b], tolerance)"
        )
    tol = data.get("tolerance")
    if tol is not None and not isinstance(tol, str):
        raise BadInput(f'--map {path.name}: tolerance is text ("0.50" or "1%")')
    return ReportMap(
        _side(path.name, "a", data.get("a", {})),
        _side(path.name, "b", data.get("b", {})),
        tol,
        path.name,
    )


def _texts(where: str, name: str, v) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,)
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return tuple(v)
    raise BadInput(f"{where}: {name} is text or a list of texts")


def _side(file: str, label: str, t) -> SideMap:
    where = f"--map {file} [{label}]"
    if not isinstance(t, dict):
        raise BadInput(f"{where}: must be a table")
    unknown = set(t) - _SIDE_KEYS
    if unknown:
        raise BadInput(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
            f"(expected {', '.join(sorted(_SIDE_KEYS))})"
        )
    key = list(_texts(where, "key", t["key"])) if "key" in t else None
    amount = t.get("amount")
    if amount is not None and not isinstance(amount, str):
        raise BadInput(f"{where}: amount is a column name")
    group = t.get("group", False)
    if not isinstance(group, bool):
        raise BadInput(f"{where}: group is true or false")
    regex = None
    if "regex" in t:
        if not isinstance(t["regex"], str):
            raise BadInput(f"{where}: regex is text")
        try:
            regex = re.compile(t["regex"], re.IGNORECASE)
        except re.error as e:
            raise BadInput(f"{where}: regex is not a regular expression ({e})") from None
    pad = t.get("pad", 0)
    if not isinstance(pad, int) or isinstance(pad, bool) or not 0 <= pad <= 64:
        raise BadInput(f"{where}: pad is a width from 0 to 64")
    pad_char = t.get("pad_char", "0")
    if not isinstance(pad_char, str) or len(pad_char) != 1:
        raise BadInput(f"{where}: pad_char is one character")

    def longest_first(name: str) -> tuple[str, ...]:
        texts = {x.strip().upper() for x in _texts(where, name, t.get(name, []))}
        return tuple(sorted(texts - {""}, key=lambda x: (-len(x), x)))

    rule = KeyRule(
        longest_first("strip_prefix"),
        longest_first("strip_suffix"),
        regex,
        pad,
        pad_char.upper(),
    )
    has_rule = rule.strip_prefix or rule.strip_suffix or regex is not None or pad
    return SideMap(key, amount, group, rule if has_rule else None)
