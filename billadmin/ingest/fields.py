"""Column declarations, light enough for start-up (the command module lists them in --help).

The rules each type applies live in columns.py; the per-kind lists in specs.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar


def normalise_header(h) -> str:
    """Case-, space-, underscore- and punctuation-insensitive key: "Date of Service" ==
    "date_of_service" == "DATE OF SERVICE" == "Date-Of-Service"; "Mod 1" == "mod1"."""
    if h is None:
        return ""
    s = str(h).replace("\ufeff", "").strip().casefold()
    return re.sub(r"[\s_\-./#]+", "", s)


MAX_TEXT = 200


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    type: str = "text"
    required: bool = False
    aliases: tuple[str, ...] = ()
    choices: Mapping[str, str | int] | None = (
        None  # enum: accepted (normalised) input -> stored value
    )
    help: str = ""
    past_only: bool = False  # dates: refuse future dates
    default: object = None  # stored when the cell is empty
    max_len: int = MAX_TEXT
    extra: bool = False  # accepted, but not one of the default headers (template)
    x12: bool = False  # an identifier sent in the 837P as written: X12 delimiters refused

    def names(self) -> list[str]:
        return [self.header, self.field, *self.aliases]


K = TypeVar("K")


def enum_choices(mapping: Mapping[K, list[str]]) -> dict[str, K]:
    """{"self": ["self", "18", "patient"]} -> {"self": "self", "18": "self", "patient": "self"}."""
    out: dict[str, K] = {}
    for stored, synonyms in mapping.items():
        for s in [stored, *synonyms]:
            out[normalise_header(s)] = stored
    return out


def describe(col: Column) -> str:
    """One help line for a column."""
    bits = [col.type]
    if col.type == "enum" and col.choices:
        names: dict = {}
        for key, stored in col.choices.items():
            if isinstance(stored, str):
                names.setdefault(stored, stored)
            elif key.isalpha() and len(key) > 1:
                names.setdefault(stored, key)
        bits = ["one of " + "/".join(names.values())]
    if col.required:
        bits.append("required")
    text = f"{col.header} ({col.field}): {', '.join(bits)}"
    if col.help:
        text += f"; {col.help}"
    return text
