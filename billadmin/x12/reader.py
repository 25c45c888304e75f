"""A fast, tolerant X12 tokenizer: bytes in, segments (lists of element strings) out.

Rules (ASC X12 standard, 005010 envelopes; the 835 TR3 005010X221A1 appendix B):
- The ISA segment is fixed-length and defines the delimiters: the element separator is the
  character right after "ISA", the component (sub-element) separator is ISA16, the repetition
  separator is ISA11 (version 00501; in 00401 ISA11 is the letter "U", so no repetition), and
  the segment terminator is the character right after ISA16.
- Payers' real files vary: a byte-order mark or blank lines before the ISA, the segment
  terminator followed by CR/LF (or "\\n" used as the terminator itself), spaces around segments,
  several interchanges in one file (each may declare its own delimiters), an ISA whose fields
  were not padded to their fixed widths. All of that is accepted.
- Nothing here interprets a transaction: it only splits. Segment numbers (1-based, counted
  over the whole file) are kept so messages can point at the segment without quoting it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_WS = " \t\r\n\x0b\x0c"


class X12SyntaxError(ValueError):
    """The text is not X12 (or an envelope is broken beyond what we tolerate)."""

    def __init__(self, message: str, segment: int | None = None):
        super().__init__(message)
        self.segment = segment


@dataclass(frozen=True, slots=True)
class Separators:
    element: str
    component: str
    repetition: str | None
    segment: str


@dataclass(slots=True)
class Interchange:
    """One ISA..IEA envelope: its delimiters and its segments (ISA and IEA included)."""

    separators: Separators
    segments: list = field(default_factory=list)  # list[list[str]], or list[str] with split=False
    first_segment: int = 1  # number of the ISA segment within the file

    def components(self, value: str) -> list[str]:
        return value.split(self.separators.component)

    def repeats(self, value: str) -> list[str]:
        rep = self.separators.repetition
        return value.split(rep) if rep else [value]


def decode(data: bytes | str) -> str:
    """X12 text: UTF-8 when it is, otherwise Latin-1 (every byte maps; X12 is ASCII by rule)."""
    if isinstance(data, str):
        return data[1:] if data.startswith("\ufeff") else data
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def separators(text: str, start: int = 0) -> tuple[Separators, int]:
    """Read the delimiters from the ISA segment at text[start:]; returns them and the index
    just past the ISA's terminator."""
    if text[start : start + 3] != "ISA" or len(text) < start + 4:
        raise X12SyntaxError("not an X12 interchange: it does not start with an ISA segment", 1)
    elem = text[start + 3]
    if elem.isalnum() or elem in _WS:
        raise X12SyntaxError("ISA segment has no usable element separator after 'ISA'", 1)
    # The fixed-length ISA is 106 characters; split on the element separator instead of relying
    # on positions, so an ISA with unpadded fields still reads.
    pos = start + 3
    for _ in range(15):
        nxt = text.find(elem, pos + 1)
        if nxt < 0:
            raise X12SyntaxError("ISA segment is incomplete: it needs 16 elements", 1)
        pos = nxt
    # pos is the separator before ISA16; ISA16 is one character, then the terminator.
    comp = text[pos + 1 : pos + 2]
    term = text[pos + 2 : pos + 3]
    if not comp or not term:
        raise X12SyntaxError("ISA segment is cut short after ISA16", 1)
    isa = text[start : pos + 2].split(elem)
    rep = isa[11] if len(isa) > 11 else ""
    repetition = (
        rep if (len(rep) == 1 and not rep.isalnum() and rep not in (elem, comp, term)) else None
    )
    if len({elem, comp, term}) < 3:
        raise X12SyntaxError(
            "ISA delimiters are not distinct (element, component and segment terminator)", 1
        )
    return Separators(elem, comp, repetition, term), pos + 3


def interchanges(data: bytes | str, *, split: bool = True) -> list[Interchange]:
    """Split a file into interchanges of segments. Raises X12SyntaxError when it is not X12.

    With split=False each segment stays one string (elements not split): a reader that needs
    only some elements of some segments splits those itself, which is much faster on large files.
    """
    text = decode(data)
    n = len(text)
    i = 0
    while i < n and text[i] in _WS:
        i += 1
    out: list[Interchange] = []
    seg_no = 0
    while i < n:
        if text[i] in _WS:
            i += 1
            continue
        if text[i : i + 3] != "ISA":
            if not out:
                raise X12SyntaxError(
                    "not an X12 interchange: it does not start with an ISA segment", 1
                )
            raise X12SyntaxError(
                f"text after segment {seg_no} is outside any ISA..IEA envelope", seg_no + 1
            )
        seps, _ = separators(text, i)
        term, elem = seps.segment, seps.element
        # The interchange ends at the first IEA segment (a terminator, maybe newlines, "IEA").
        j = -1
        skip = " \t\r" if term in _WS else _WS
        k = text.find("IEA" + elem, i + 3)
        while k >= 0:
            back = k - 1
            while back > i and text[back] in skip:
                back -= 1
            if text[back] == term:
                j = back
                break
            k = text.find("IEA" + elem, k + 1)
        if j < 0:
            stop = n
        else:
            t = text.find(term, j + 1)
            stop = n if t < 0 else t + 1
        chunk = text[i:stop]
        ic = Interchange(seps, first_segment=seg_no + 1)
        segs = ic.segments
        if term not in _WS:
            # CR/LF are not in the X12 character sets: they are line breaks between segments
            if "\n" in chunk or "\r" in chunk:
                chunk = chunk.replace("\r", "").replace("\n", "")
            parts = chunk.split(term)
            if " " + term in chunk or term + " " in chunk or "\t" in chunk or chunk[-1:] == " ":
                parts = [p.strip(_WS) for p in parts]
        else:
            parts = [p.strip(" \t\r") for p in chunk.split(term)]
        if split:
            segs.extend([p.split(elem) for p in parts if p])
        else:
            segs.extend([p for p in parts if p])
        seg_no += len(segs)
        out.append(ic)
        i = stop
    if not out:
        raise X12SyntaxError("the file is empty", None)
    return out


def segments(data: bytes | str) -> list[list[str]]:
    """Every segment of every interchange, in order (for callers that need no envelope)."""
    out: list[list[str]] = []
    for ic in interchanges(data):
        out.extend(ic.segments)
    return out


def element(seg: list[str], i: int, default: str = "") -> str:
    """Element i (1-based, as the guides number them), or default when absent."""
    return seg[i] if len(seg) > i else default
