"""Ledger primitives shared by invoicing, posting, reports and `billadmin check`.

An issued invoice is immutable; its content hash is fixed at issue and re-computed by the
integrity check, so a row edited behind billadmin's back (after dropping the triggers) shows.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Iterable
from typing import Any

INVOICE_FIELDS = (
    "number",
    "kind",
    "patient_id",
    "payer_id",
    "coverage_id",
    "encounter_id",
    "original_invoice_id",
    "frequency_code",
    "issued_on",
    "due_on",
    "filing_deadline",
    "total_cents",
    "copay_cents",
)
LINE_FIELDS = (
    "line_no",
    "charge_line_id",
    "date_of_service",
    "code",
    "modifiers",
    "units",
    "description",
    "amount_cents",
)


def content_hash(invoice: dict, lines: list[dict]) -> str:
    """sha256 over the invoice's fields and its lines in line order: the canonical JSON
    json.dumps({"invoice": {field: value}, "lines": [{field: value}, ...]}, sort_keys=True,
    separators=(",", ":")) of INVOICE_FIELDS and LINE_FIELDS (a missing field is null)."""
    # The text is joined from each sorted key's encoded prefix and each value's encoding rather
    # than by json.dumps of dicts built for it (about 40% less), by functions written out for
    # the two field lists (_object_text: about 25% less again): a run hashes every claim it
    # issues (issue 15). tests/test_digest_fast.py holds it to json.dumps.
    if len(lines) > 1:
        lines = sorted(lines, key=_LINE_NO)
    body = ",".join(["{" + _line_text(ln) + "}" for ln in lines])
    inv = _invoice_text(invoice)
    return hashlib.sha256(f'{{"invoice":{{{inv}}},"lines":[{body}]}}'.encode()).hexdigest()


_json_str = json.encoder.encode_basestring_ascii  # what json.dumps does with a str
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
_LINE_NO = operator.itemgetter("line_no")


def _object_text(fields: Iterable[str]) -> Callable[[dict], str]:
    """A function of a dict giving the inside of json.dumps({f: d.get(f) for f in fields},
    sort_keys=True, separators=(",", ":")): `",".join([_json_str(f) + ":" + _json_value(d.get(f))
    for f in sorted(fields)])` written out once (as dataclasses write their methods), each
    value's type tested inline, because the loop and a call a value cost as much as the
    encoding. For fields ["units"] the source is
        def text(d):
            g = d.get
            v0 = g(f0)
            return f"{k0}{s(v0) if type(v0) is str else i(v0) if type(v0) is int else j(v0)}"
    with f0 = "units", k0 = '"units":' given as names: no field or value is in the source."""
    names: dict[str, Any] = {"s": _json_str, "i": int.__repr__, "j": _json_value}
    body, pieces = [], []
    for n, f in enumerate(sorted(fields)):
        names[f"f{n}"], names[f"k{n}"] = f, _json_str(f) + ":"
        body.append(f"    v{n} = g(f{n})\n")
        pieces.append(
            f"{{k{n}}}{{s(v{n}) if type(v{n}) is str else i(v{n}) if type(v{n}) is int"
            f" else j(v{n})}}"
        )
    source = f'def text(d):\n    g = d.get\n{"".join(body)}    return f"{",".join(pieces)}"\n'
    exec(source, names)  # our own source: variable names, never data
    return names["text"]


def _json_value(v) -> str:
    """What json.dumps writes for v (ensure_ascii): text and integers directly, anything else
    (floats, booleans, nested values) by the encoder."""
    if type(v) is str:
        return _json_str(v)
    if type(v) is int:
        return int.__repr__(v)
    return "null" if v is None else _ENCODE(v)


_invoice_text = _object_text(INVOICE_FIELDS)
_line_text = _object_text(LINE_FIELDS)


def stored_content_hash(conn, invoice_id: int) -> str:
    """Recompute the hash from what is stored now."""
    cols = ", ".join(INVOICE_FIELDS)
    row = conn.execute(f"SELECT {cols} FROM invoices WHERE id = ?", (invoice_id,)).fetchone()
    inv = dict(zip(INVOICE_FIELDS, row, strict=True))
    lcols = ", ".join(LINE_FIELDS)
    lines = [
        dict(zip(LINE_FIELDS, r, strict=True))
        for r in conn.execute(
            f"SELECT {lcols} FROM invoice_lines WHERE invoice_id = ? ORDER BY line_no",
            (invoice_id,),
        )
    ]
    return content_hash(inv, lines)
