"""Writing X12 005010 envelopes (ISA/GS/ST ... SE/GE/IEA) and element text.

Rules (ASC X12 005010 control segments, as used by the 005010X222A1 TR3 appendix C):
- ISA is fixed length: every element padded to its width, ISA13 a 9-digit control number that
  IEA02 repeats; ISA11 is the repetition separator, ISA16 the component separator.
- GS06 (1-9 digits) is repeated in GE02; GE01 counts the ST sets, IEA01 the GS groups.
- SE01 counts the segments from ST to SE inclusive; SE02 repeats ST02.
- Data must not contain the delimiters. We write the extended character set in upper case:
  names and addresses are transliterated by billadmin.x12.text (the one implementation, its
  docstring has the rules); identifiers with delimiters are refused where they enter.
- Each segment ends with "~" and a newline: the newline is not part of the data, is accepted by
  every reader we know (pyx12, clearinghouses) and lets a person read the file.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

from .text import COMPONENT, DELIMITERS, ELEMENT, REPETITION, TERMINATOR
from .text import clean as text  # noqa: F401  (re-exported: x837 writes names and addresses through it)

EOL = "\n"


# printable ASCII but the space and the delimiters: what ident() keeps of each character, so a
# value made of these alone is returned as it is (issue 15: ident runs on every claim number)
_IDENT_AS_IS = re.compile(
    "[" + "".join(re.escape(chr(c)) for c in range(0x21, 0x7F) if chr(c) not in DELIMITERS) + "]*"
)


def ident(value, maxlen: int | None = None) -> str:
    """An identifier (member id, payer claim number, NPI, code), sent exactly as written: not
    upper-cased, not transliterated (issue 13: an identifier is never silently altered). They
    are checked where they enter (text.identifier_problem refuses delimiters, controls and
    non-ASCII); dropping such characters here is only the last guard that keeps a file
    parseable."""
    s = "" if value is None else str(value)
    if not _IDENT_AS_IS.fullmatch(s):  # the common case (a clean id) skips the per-character scan
        s = "".join(ch for ch in s if ch not in DELIMITERS and ch.isprintable() and ch != " ")
    return s[: maxlen or None]


_NONDIGIT = re.compile(r"\D")


def digits(value) -> str:
    return _NONDIGIT.sub("", str(value or ""))


def seg(*elements) -> str:
    """One segment, trailing empty elements dropped (X12 forbids trailing separators); None is
    an empty element, other values are written with str()."""
    if len(elements) < 2 or elements[-1] != "":
        # issue 15: most segments are all strings with a value at the end, joined as they are;
        # join refuses None and numbers, which take the general way below
        try:
            return ELEMENT.join(elements)
        except TypeError:
            pass
    parts = ["" if e is None else e if isinstance(e, str) else str(e) for e in elements]
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return ELEMENT.join(parts)


def comp(*components) -> str:
    """A composite element, trailing empty components dropped."""
    parts = ["" if c is None else str(c) for c in components]
    while parts and parts[-1] == "":
        parts.pop()
    return COMPONENT.join(parts)


@dataclass(frozen=True)
class Envelope:
    """What one interchange is addressed with."""

    sender_id: str
    receiver_id: str
    isa_control: int
    gs_control: int
    created: _dt.datetime
    usage: str = "P"  # ISA15: P production, T test
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    functional_id: str = "HC"  # GS01: HC = health care claim (837)
    version: str = "005010X222A1"  # GS08
    ack_requested: str = "0"  # ISA14: no TA1 requested


def isa(env: Envelope) -> str:
    d = env.created
    fields = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        env.sender_qualifier,
        ident(env.sender_id).ljust(15)[:15],
        env.receiver_qualifier,
        ident(env.receiver_id).ljust(15)[:15],
        d.strftime("%y%m%d"),
        d.strftime("%H%M"),
        REPETITION,
        "00501",
        f"{env.isa_control % 1_000_000_000:09d}",
        env.ack_requested,
        env.usage,
        COMPONENT,
    ]
    return ELEMENT.join(fields)


def gs(env: Envelope) -> str:
    d = env.created
    return seg(
        "GS",
        env.functional_id,
        ident(env.sender_id, 15),
        ident(env.receiver_id, 15),
        d.strftime("%Y%m%d"),
        d.strftime("%H%M"),
        str(env.gs_control),
        "X",
        env.version,
    )


def transaction(
    st_control: str, body: list[str], *, set_id: str = "837", version: str = "005010X222A1"
) -> list[str]:
    """ST + body + SE with the segment count."""
    segs = [seg("ST", set_id, st_control, version)] + body
    segs.append(seg("SE", len(segs) + 1, st_control))
    return segs


def interchange(env: Envelope, transaction_sets: list[list[str]]) -> list[str]:
    """The whole interchange as a list of segments (one functional group)."""
    out = [isa(env), gs(env)]
    for ts in transaction_sets:
        out.extend(ts)
    out.append(seg("GE", len(transaction_sets), str(env.gs_control)))
    out.append(seg("IEA", 1, f"{env.isa_control % 1_000_000_000:09d}"))
    return out


def to_text(segments: list[str]) -> str:
    if not segments:
        return ""
    end = TERMINATOR + EOL
    return end.join(segments) + end


def x12_date(d) -> str:
    """D8 date format CCYYMMDD from an ISO date string or a date."""
    if isinstance(d, str):
        return d[0:4] + d[5:7] + d[8:10]
    return d.strftime("%Y%m%d")
