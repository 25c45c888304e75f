"""A table-driven X12 validator compiled from pyx12's 005010 maps, giving pyx12's verdicts.

pyx12 (billadmin/x12/validate.py) is the oracle: about 120 microseconds a segment. This module
walks the same tables (billadmin/x12/compiled_maps.py: loops, segment order and repeats,
usage, element types, lengths and code lists, read from pyx12's XML maps) with pyx12's own
rules, reproduced step by step from pyx12 4.0 (x12file.X12Reader for the envelope counts,
control numbers, HL parentage and the 837 LX numbering; map_walker.walk_tree for segment order,
loop repeats and missing required segments and loops; map_if segment_if / composite_if /
element_if for the elements; error_handler for where each error is filed). Two things make it
fast: the walk from a segment's map node to the next segment's node depends only on the next
segment's id and qualifier, so each walk is recorded once as a short list of counter steps and
replayed; and an element value that passed once is known good.

The result is validate.py's Verdict. Problems come in pyx12's order (interchange, group and
transaction-set errors first, then each segment's own errors before its elements'), so the
first problem's segment and element are the ones pyx12 reports first; tests/test_x12_compiled.py
checks this against pyx12 on thousands of mutated files. Messages name the segment, element and
rule and never quote the data. Where pyx12 itself fails on a broken file (an exception instead
of a verdict), the problem is reported on the interchange (no segment), as pyx12's is.

Known differences from the implementation guides, copied from pyx12 on purpose, are listed in
docs/x12-validation.md.
"""

from __future__ import annotations

import re
from typing import Any

from .compiled_maps import _LOADED, Composite, Element, Loop, Map, Seg, load, map_file_for
from .validate import BOM, ELEMENT_ERRORS, SEGMENT_ERRORS, Verdict, X12Problem, _sniff

ENVELOPE = frozenset(("ISA", "IEA", "GS", "GE", "ST", "SE"))
_SEG_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$", re.S)
_N = re.compile(r"^-?[0-9]+", re.S | re.ASCII)
_R = re.compile(r"^-?[0-9]*(\.[0-9]+)?", re.S | re.ASCII)
_BAD_E5 = re.compile(r"""[^A-Z0-9!"&'()*+,\-\./:;?= a-z%~@\[\]_{}\\|<>^`#$]""", re.S | re.ASCII)
_BAD_E = re.compile(r"""[^A-Z0-9!"&'()*+,\-\./:;?= a-z%~@\[\]_{}\\|<>#$]""", re.S | re.ASCII)
_NOT_DIGIT = re.compile(r"[^0-9]+", re.S | re.ASCII)
_CONTROL = (
    "\x07\x09\x0a\x0b\x0c\x0d\x1c\x1d\x1e\x1f\x01\x02\x03\x04\x05\x06\x11\x12\x13\x14\x15\x16\x17"
)
_CONTROL_RE = re.compile("[" + re.escape(_CONTROL) + "]")
GOOD_CACHE_LIMIT = 4096  # known-good values kept per element
WALK_CACHE_LIMIT = 200_000

# ops of a recorded walk (see _record)
MISS_SEG, MISS_LOOP, ENTER_LOOP, INC, FLUSH, MATCH_SEG, NOT_FOUND = range(7)


class Crash(Exception):
    """Where pyx12 raises instead of giving a verdict: the file is rejected, the problem is
    filed on the interchange (pyx12's verdict has no segment either)."""


# ---------------------------------------------------------------- element rules


def _valid_date(dtype: str, val: str) -> bool:
    if dtype == "D8" and len(val) != 8:
        return False
    if dtype == "D6" and len(val) != 6:
        return False
    if _NOT_DIGIT.search(val):
        return False
    if len(val) not in (6, 8, 12):
        return False
    if len(val) == 6:
        val = ("20" if int(val[0:2]) < 50 else "19") + val
    year, month, day = int(val[0:4]), int(val[4:6]), int(val[6:8])
    if year < 1800 or month < 1 or month > 12:
        return False
    if month in (1, 3, 5, 7, 8, 10, 12):
        ok = 1 <= day <= 31
    elif month in (4, 6, 9, 11):
        ok = 1 <= day <= 30
    elif not year % 4 and not (not year % 100 and year % 400):
        ok = 1 <= day <= 29
    else:
        ok = 1 <= day <= 28
    if ok and len(val) == 12:
        ok = _valid_time(val[8:12])
    return ok


def _valid_time(val: str) -> bool:
    if _NOT_DIGIT.search(val):
        return False
    if val[0:2] > "23" or val[2:4] > "59":
        return False
    if len(val) > 4:
        if len(val) < 6 or val[4:6] > "59" or len(val) > 8:
            return False
    return True


def _valid_type(val: str, dtype: str | None, icvn: str = "00401") -> bool:
    """pyx12.validation.IsValidDataType with charset E (pyx12's default parameter)."""
    if not dtype:
        return True
    if dtype[0] == "N":
        m = _N.search(val)
        return m is not None and m.group(0) == val
    if dtype == "R":
        m = _R.search(val)
        return m is not None and m.group(0) == val
    if dtype in ("ID", "AN"):
        return not (_BAD_E5 if icvn == "00501" else _BAD_E).search(val)
    if dtype == "RD8":
        if "-" not in val:
            return False
        parts = val.split("-")
        if len(parts) != 2:
            raise Crash("a date range with more than one hyphen")
        return _valid_type(parts[0], "D8") and _valid_type(parts[1], "D8")
    if dtype in ("DT", "D8", "D6"):
        return _valid_date(dtype, val)
    if dtype == "TM":
        return _valid_time(val)
    if dtype == "B":
        return True
    return False


def _element_errors(el: Element, val: str | None, type_list: list | None) -> list:
    """element_if.is_valid_errors for a value that is not a composite: (code, detail) list."""
    if not val:
        if el.usage in ("N", "S"):
            return []
        if el.usage == "R" and (not el.in_composite or el.seq != 1 or el.composite_usage == "R"):
            return [("1", "")]
        return []
    if not type_list and val in el.good:
        return []
    if el.usage == "N":
        return [("10", "")]
    out: list = []
    dtype = el.data_type
    if dtype is not None and (dtype == "R" or dtype[0] == "N"):
        n = len(val.replace("-", "").replace(".", ""))
    else:
        n = len(val)
    if n < el.min_len:
        out.append(("4", f" (length {n}, at least {el.min_len})"))
    if n > el.max_len:
        out.append(("5", f" (length {n}, at most {el.max_len})"))
    if _CONTROL_RE.search(val):
        out.append(("6", " (a control character)"))
        return out
    if dtype in ("AN", "ID") and val[-1] == " " and len(val.rstrip()) >= el.min_len:
        out.append(("6", " (trailing spaces)"))
    if (el.codes or el.external is not None) and val not in el.codes:
        if el.external is not None and el.ext_codes is None:
            raise Crash(f"external code list {el.external} is not defined")
        if el.ext_codes is None or val not in el.ext_codes:
            src = f" (code list {el.external})" if el.external else ""
            out.append(("7", src))
    if not _valid_type(val, dtype, "00501"):
        if dtype in ("RD8", "DT", "D8", "D6"):
            out.append(("8", ""))
        elif dtype == "TM":
            out.append(("9", ""))
        else:
            out.append(("6", f" (not valid for type {dtype})"))
    if type_list:
        ok = False
        for t in type_list:
            if t is not None:
                ok |= _valid_type(val, t)
        if not ok:
            if "TM" in type_list:
                out.append(("9", ""))
            elif any(t in type_list for t in ("RD8", "DT", "D8", "D6")):
                out.append(("8", ""))
    if el.regex is not None and not re.search(el.regex, val, re.S):
        out.append(("7", " (pattern)"))
    if not out and not type_list and len(el.good) < GOOD_CACHE_LIMIT:
        el.good.add(val)
    return out


def _syntax(els: list[str], sub: str, syn: list, seg_id: str) -> str | None:
    """pyx12.syntax.is_syntax_valid: None when satisfied, else the rule (no data)."""
    if len(syn) < 3:
        return "syntax rule has fewer than two elements"
    code, idx = syn[0], syn[1:]
    n = len(els)
    count = 0
    for s in idx:
        if n >= s and els[s - 1].rstrip(sub) != "":
            count += 1
    if code == "P":
        if count == 0 or count == len(idx):
            return None
        text = "if any of {names} is present, all are required"
    elif code == "R":
        if count:
            return None
        text = "at least one of {names} is required"
    elif code == "E":
        if count <= 1:
            return None
        text = "at most one of {names} may be present"
    elif code in ("C", "L"):
        first = n >= idx[0] and els[idx[0] - 1].rstrip(sub) != ""
        if not first:
            return None
        if code == "C" and count == len(idx):
            return None
        if code == "L" and count > 1:
            return None
        text = (
            "if {first} is present, {rest} are required"
            if code == "C"
            else "if {first} is present, at least one of {rest} is required"
        )
    else:
        return f"syntax rule {code} is not known"
    rule = code + "".join(f"{int(i):02d}" for i in idx)
    msg = text.format(
        names=", ".join(f"{seg_id}{int(i):02d}" for i in idx),
        first=f"{seg_id}{int(idx[0]):02d}",
        rest=", ".join(f"{seg_id}{int(i):02d}" for i in idx[1:]),
    )
    return f"syntax rule {rule}: {msg}"


_SEGS: dict = {}
SEG_CACHE_LIMIT = 100_000


def segment_errors(node: Seg, els: list[str], sub: str, seg_id: str) -> tuple[bool, list]:
    """segment_if.is_valid_errors: (ok, [(element or None, code, detail)]), element None for
    segment-level problems (pyx12 files those on the segment with code 8). A value (or a whole
    composite) that passed once without a date-type list passes again without a look."""
    errors: list = []
    valid = True
    kids = node.children
    cc = len(kids)
    n = len(els)
    if n > cc:
        errors.append((None, "3", f"too many elements in {seg_id} (has {n}, at most {cc})"))
        valid = False
    m = n if n < cc else cc
    dtp: list | None = None
    if seg_id == "DTP" and m > 2 and not isinstance(kids[1], Composite):
        v = els[1].rstrip(sub)
        dtp = [v] if v in ("RD8", "D8", "D6", "DT", "TM") else []
    for i in range(m):
        child = kids[i]
        raw = els[i]
        if isinstance(child, Composite):
            if raw in child.good:
                continue
            comp = raw.split(sub)
            if len(comp) > len(child.children) and child.usage != "N":
                # pyx12 indexes past its list here (IndexError) and gives no verdict
                raise Crash(f"too many components in {seg_id}{i + 1:02d}")
            before = len(errors)
            ok = _composite_errors(child, comp, errors, seg_id)
            if ok and len(errors) == before and len(child.good) < GOOD_CACHE_LIMIT:
                child.good.add(raw)
            valid &= ok
            continue
        tl = dtp if (dtp is not None and i == 2) else child.type_list
        if not tl and raw in child.good:
            continue
        if sub in raw:
            errors.append((child, "6", " (has components; it is a simple element)"))
            valid = False
            continue
        errs = _element_errors(child, raw, tl)
        if errs:
            valid = False
            errors.extend((child, c, d) for c, d in errs)
    if m < cc:
        tail = _TAILS.get((node, m))
        if tail is None:
            tail = _TAILS[(node, m)] = _tail_errors(kids, m, seg_id)
        if tail:
            valid = False
            errors.extend(tail)
    for syn in node.syntax:
        msg = _syntax(els, sub, syn, seg_id)
        if msg is not None:
            errors.append((None, "10" if syn[0] == "E" else "2", msg))
            valid = False
    # the memo (_SEGS) of a run's many clean segments shares one result, not a pair and a list
    return _CLEAN if valid and not errors else (valid, errors)


_CLEAN: tuple[bool, list] = (True, [])
_TAILS: dict = {}


def _tail_errors(kids: list, m: int, seg_id: str) -> list:
    """The errors of the elements after the last one present (they depend on the map only)."""
    errors: list = []
    for i in range(m, len(kids)):
        child = kids[i]
        if isinstance(child, Composite):
            _composite_errors(child, None, errors, seg_id)
        else:
            errors.extend((child, c, d) for c, d in _element_errors(child, None, None))
    return errors


def _composite_errors(comp: Composite, data: list[str] | None, errors: list, seg_id: str) -> bool:
    empty = data is None or all(v == "" for v in data)
    if empty and comp.usage in ("N", "S"):
        return True
    where = f"{comp.name} ({seg_id}{comp.seq:02d})"
    if comp.usage == "R" and empty:
        errors.append((None, "1", f"required composite missing: {where}"))
        return False
    assert data is not None
    if comp.usage == "N" and not empty:
        errors.append((None, "5", f"composite not used in this implementation present: {where}"))
        return False
    valid = True
    kids = comp.children
    for i in range(min(len(data), len(kids))):
        errs = _element_errors(kids[i], data[i], None)
        if errs:
            valid = False
            errors.extend((kids[i], c, d) for c, d in errs)
    for i in range(min(len(data), len(kids)), len(kids)):
        errs = _element_errors(kids[i], None, None)
        if errs:
            valid = False
            errors.extend((kids[i], c, d) for c, d in errs)
    return valid


# ---------------------------------------------------------------- the walk


def _is_match(node: Seg, seg_id: str, vals: dict) -> bool:
    if node.id != seg_id:
        return False
    if node.match is None:
        return True
    kind, codes = node.match
    return vals.get(kind) in codes


def _record(start, seg_id: str, vals: dict) -> tuple[Any, list]:
    """map_walker.walk_tree.walk_errors without the counters: the node found (or None) and the
    steps that depend on counts, in pyx12's order, for _replay."""
    ops: list = []
    node = start if (start.is_loop or start.is_root) else start.parent
    node_pos = start.pos
    while True:
        found, res = _scan(node, node_pos, seg_id, vals, ops)
        if found:
            return res, ops
        if node.is_root:
            ops.append((NOT_FOUND, start))
            return None, ops
        node_pos = node.pos
        node = node.parent


def _scan(node, node_pos, seg_id, vals, ops) -> tuple[bool, Any]:
    for child in node.kids:
        if child.pos < node_pos:
            continue
        if not child.is_loop:
            if _is_match(child, seg_id, vals):
                if node.is_loop and _is_loop_match(node, seg_id, vals, ops):
                    return True, _goto(node, seg_id, vals, ops)
                ops.append((MATCH_SEG, child))
                return True, child
            if child.usage == "R":
                ops.append((MISS_SEG, child))
        elif _is_loop_match(child, seg_id, vals, ops):
            return True, _goto(child, seg_id, vals, ops)
    return False, None


def _is_loop_match(loop: Loop, seg_id, vals, ops) -> bool:
    if not loop.kids:
        return False
    first = loop.first_node
    if first.is_loop:
        return any(c.is_loop and _is_loop_match(c, seg_id, vals, ops) for c in loop.kids)
    if _is_match(first, seg_id, vals):
        return True
    if loop.usage == "R":
        ops.append((MISS_LOOP, loop, first))
    return False


def _goto(loop: Loop, seg_id, vals, ops):
    first = loop.first_seg
    if first is not None and _is_match(first, seg_id, vals):
        ops.append((ENTER_LOOP, loop))
        ops.append((INC, first.key))
        ops.append((FLUSH, None))
        return first
    for c in loop.kids:
        if c.is_loop:
            r = _goto(c, seg_id, vals, ops)
            if r is not None:
                return r
    return None


_WALKS: dict = {}


_DESC: dict = {}


def _reset(counts: dict, key: str) -> None:
    """NodeCounter.reset_to_node: forget the counts of every path under `key`. The paths that
    can be under it are those of the loaded maps' nodes, listed once per key."""
    tag = (key, len(_LOADED))
    desc = _DESC.get(tag)
    if desc is None:
        prefix = key + "/"
        desc = _DESC[tag] = frozenset(
            n.key for m in _loaded_maps() for n in m.nodes if n.key.startswith(prefix)
        )
    for k in desc.intersection(counts):
        del counts[k]


def _loaded_maps():
    return list(_LOADED.values())


def _replay(ops: list, counts: dict, line: int) -> list:
    """Run a recorded walk against the counters; the walk's errors as pyx12 applies them:
    (code, detail, segment id to file a new entry under or None for the current one, line)."""
    missing: list = []
    pending: list = []
    get = counts.get
    for op in ops:
        kind = op[0]
        if kind == MATCH_SEG:
            child = op[1]
            c = counts[child.key] = get(child.key, 0) + 1
            if child.usage == "N":
                pending.append(
                    ("2", f"segment {child.id} is not used in this implementation", None, line)
                )
            elif c > child.max_repeat:
                msg = f"segment {child.id} used {c} times, at most {child.max_repeat}"
                pending.append(("5", msg, "", line))
            if missing:
                eq = child.eq
                missing = [m for m in missing if m[0].eq != eq]
                missing = _flush(missing, child.pos, pending)
        elif kind == INC:
            counts[op[1]] = get(op[1], 0) + 1
        elif kind == FLUSH:
            if missing:
                missing = _flush(missing, op[1], pending)
        elif kind == ENTER_LOOP:
            loop = op[1]
            if loop.usage == "N":
                msg = f"loop {loop.id} is not used in this implementation"
                pending.append(("2", msg, None, line))
            else:
                _reset(counts, loop.key)
                c = counts[loop.key] = get(loop.key, 0) + 1
                if c > loop.max_repeat:
                    msg = f"loop {loop.id} repeats {c} times, at most {loop.max_repeat}"
                    pending.append(("4", msg, "", line))
        elif kind == MISS_SEG:
            child = op[1]
            if get(child.key, 0) < 1:
                missing.append((child, "segment", child, line))
        elif kind == MISS_LOOP:
            loop = op[1]
            if get(loop.key, 0) < 1:
                missing.append((op[2], "loop", loop, line))
        elif kind == NOT_FOUND:
            start = op[1]
            where = start.key if not start.is_root else "/"
            pending.append(("1", f"segment not expected here (searched from {where})", "", line))
    return pending


def _flush(missing: list, pos, pending: list) -> list:
    keep = []
    for m in missing:
        if m[0].pos != pos:
            what = m[2]
            msg = f"required {m[1]} missing: {what.name} ({what.id})"
            pending.append(("3", msg, m[0].id, m[3]))
        else:
            keep.append(m)
    return keep


# ---------------------------------------------------------------- where errors are filed


class _Node:
    __slots__ = ("kind", "line", "end_line", "errors", "children", "elements", "seg_id", "added")

    def __init__(self, kind: str, line: int, seg_id: str | None = None):
        self.kind = kind
        self.line = line
        self.end_line: int | None = None
        self.errors: list = []
        self.children: list = []
        self.elements: list = []
        self.seg_id = seg_id
        self.added = False


class _Errh:
    """pyx12.error_handler.err_handler, as far as the verdict depends on it: which node an
    error lands on, which errors its JSON report shows, which it counts, which it loses."""

    def __init__(self):
        self.isas: list[_Node] = []
        self.isa: _Node | None = None
        self.gs: _Node | None = None
        self.st: _Node | None = None
        self.cur: _Node | None = None
        self.counted = 0
        self.hidden: list[X12Problem] = []
        self.cur_seg: tuple | None = None

    def add_isa(self, line):
        self.isa = _Node("ISA", line)
        self.isas.append(self.isa)
        self.cur = self.isa

    def add_gs(self, line):
        assert self.isa is not None
        self.gs = _Node("GS", line)
        self.isa.children.append(self.gs)
        self.cur = self.gs

    def add_st(self, line):
        if self.gs is None:
            raise Crash("a transaction set outside a functional group")
        self.st = _Node("ST", line)
        self.gs.children.append(self.st)
        self.cur = self.st

    def add_seg(self, seg_id, line):
        self.cur = None
        self.cur_seg = (seg_id, line)

    def _current(self):
        """The current node; a segment's node is made when it first gets an error."""
        if self.cur is None and self.cur_seg is not None:
            self.cur = _Node("SEG", self.cur_seg[1], self.cur_seg[0])
        return self.cur

    def envelope_error(self, level: str, code: str, msg: str):
        node = {"isa": self.isa, "gs": self.gs, "st": self.st}[level]
        if node is None:
            raise Crash(f"{level.upper()} error without an open {level.upper()}")
        node.errors.append((code, msg))
        self.counted += 1

    def seg_error(self, code: str, msg: str) -> None:
        cur = self._current()
        if cur is None or cur.kind != "SEG":
            return  # pyx12 loses it (TypeError caught in err_handler.seg_error)
        if not cur.added:
            if self.st is None:
                return  # lost the same way
            self.st.children.append(cur)
            cur.added = True
        cur.errors.append((code, msg))
        self.counted += 1

    def ele_error(self, el: Element, code: str, detail: str, seg_id: str, line: int) -> None:
        cur = self._current()
        if cur is None:
            raise Crash("an element error before any segment")
        ref = f"{el.ele_pos:02d}" + (f"-{el.sub_pos}" if el.sub_pos else "")
        if cur.kind != "SEG":
            # filed on the ISA/GS/ST node: counted (ST's not), never in pyx12's report
            if cur.kind != "ST":
                self.counted += 1
            self.hidden.append(
                X12Problem(line, None, None, _ele_msg(code, detail, el, seg_id + ref, seg_id))
            )
            return
        if not cur.added:
            if self.st is None:
                raise Crash("an element error outside a transaction set")
            self.st.children.append(cur)
            cur.added = True
        if not cur.elements or cur.elements[-1][0] is not el:
            cur.elements.append([el, ref, []])
        cur.elements[-1][2].append((code, detail))
        self.counted += 1

    def problems(self) -> list[X12Problem]:
        """In the order validate._walk_errors reads pyx12's JSON report."""
        out: list[X12Problem] = []
        for isa in self.isas:
            line = isa.end_line or isa.line
            out.extend(X12Problem(line, None, None, _env_msg(c, m)) for c, m in isa.errors)
            for gs in isa.children:
                line = gs.end_line or gs.line
                out.extend(X12Problem(line, None, None, _env_msg(c, m)) for c, m in gs.errors)
                for st in gs.children:
                    line = st.end_line or st.line
                    out.extend(X12Problem(line, None, None, _env_msg(c, m)) for c, m in st.errors)
                    for seg in st.children:
                        for c, m in seg.errors:
                            out.append(X12Problem(seg.line, seg.seg_id, None, _seg_msg(c, m)))
                        for el, ref, errs in seg.elements:
                            where = f"{seg.seg_id}{ref}"
                            for c, d in errs:
                                out.append(
                                    X12Problem(
                                        seg.line, seg.seg_id, where, _ele_msg(c, d, el, where, None)
                                    )
                                )
        return out


def _env_msg(code: str, msg: str) -> str:
    return f"{msg} (code {code})"


def _seg_msg(code: str, msg: str) -> str:
    if not msg:
        msg = SEGMENT_ERRORS.get(code, "segment error")
    return f"{msg} (code {code})"


def _ele_msg(code: str, detail: str, el: Element, where: str, envelope: str | None) -> str:
    if code == "10":
        text = "data element not used in this implementation is present"
    else:
        text = ELEMENT_ERRORS.get(code, f"data element error {code}")
    pre = f"{where}: " if envelope else ""
    return f"{pre}{text}{detail}: {el.name}, {where} (code {code})"


# ---------------------------------------------------------------- the reader


_GOOD_IDS: set = set()
_READER_IDS = frozenset(("ISA", "GS", "ST", "HL", "CLM", "LX", "IEA", "GE", "SE"))


class _Reader:
    """pyx12.x12file.X12Reader's checks: envelope counts and control numbers, HL numbering and
    parentage, the 837's LX numbering. Errors queue until the document loop takes them."""

    def __init__(self):
        self.err: list = []
        self.loops: list = []
        self.hl_stack: list = []
        self.gs_count = self.st_count = self.hl_count = self.seg_count = self.cur_line = 0
        self.isa_ids: list = []
        self.gs_ids: list = []
        self.st_ids: list = []
        self.lx_count = 0
        self.check_837_lx = False

    def parse(self, seg_id: str, els: list[str], sub: str, empty: bool) -> None:
        err = self.err
        if empty:
            err.append(("seg", "8", "segment is empty"))
        if seg_id not in _GOOD_IDS:
            if not seg_id or not _SEG_ID.match(seg_id):
                err.append(("seg", "1", "segment identifier is invalid"))
            else:
                _GOOD_IDS.add(seg_id)
        if seg_id not in _READER_IDS:
            if seg_id in _GOOD_IDS:
                _PLAIN_IDS.add(seg_id)
            self.seg_count += 1
            self.cur_line += 1
            return
        if self.check_837_lx and (seg_id == "LX" or seg_id == "CLM"):
            # an 837's claims and service lines, the reader's most frequent segments, first
            if seg_id == "CLM":
                self.lx_count = 0
            else:
                self.lx_count += 1
                if (els[0].rstrip(sub) if els else None) != str(self.lx_count):
                    msg = f"2400 LX01 must be {self.lx_count} (service lines count 1, 2, ...)"
                    err.append(("seg", "LX", msg))
            self.seg_count += 1
            self.cur_line += 1
            return

        def val(i: int) -> str | None:
            if i > len(els):
                return None
            return els[i - 1] if seg_id == "ISA" else els[i - 1].rstrip(sub)

        if seg_id == "ISA":
            if len(els) != 16:
                raise Crash("the ISA segment must have 16 elements")
            icn = val(13)
            if icn in self.isa_ids:
                err.append(
                    ("isa", "025", "ISA13 interchange control number not unique in the file")
                )
            self.loops.append(("ISA", icn))
            self.isa_ids.append(icn)
            self.gs_count = 0
            self.gs_ids = []
        elif seg_id == "GS":
            gcn = val(6)
            if gcn in self.gs_ids:
                err.append(("gs", "6", "GS06 group control number not unique in the interchange"))
            self.gs_count += 1
            self.gs_ids.append(gcn)
            self.loops.append(("GS", gcn))
            self.st_count = 0
            self.st_ids = []
        elif seg_id == "ST":
            self.hl_stack = []
            self.hl_count = 0
            tcn = val(2)
            if tcn in self.st_ids:
                err.append(
                    ("st", "23", "ST02 transaction set control number not unique in the group")
                )
            self.st_count += 1
            self.st_ids.append(tcn)
            self.loops.append(("ST", tcn))
            self.seg_count = 1
        elif seg_id == "HL":
            self.hl_count += 1
            if self.hl_count != _int(val(1)):
                err.append(
                    ("seg", "HL1", f"HL01 must be {self.hl_count} (HL segments count 1, 2, ...)")
                )
            if val(2) != "":
                parent = _int(val(2))
                if parent not in self.hl_stack:
                    err.append(("seg", "HL2", "HL02 names no open parent HL"))
                while self.hl_stack and parent != self.hl_stack[-1]:
                    del self.hl_stack[-1]
            self.hl_stack.append(self.hl_count)
        if seg_id not in ENVELOPE:
            self.seg_count += 1
        self.cur_line += 1
        if seg_id == "IEA":
            if not self.loops:
                raise Crash("IEA without an open interchange")
            if self.loops[-1][0] != "ISA":
                err.append(("isa", "024", f"unterminated {self.loops[-1][0]} loop before IEA"))
                del self.loops[-1]
                if not self.loops:
                    raise Crash("IEA without an open interchange")
            if self.loops[-1][1] != val(2):
                err.append(("isa", "001", "IEA02 does not match ISA13"))
            if _int(val(1)) != self.gs_count:
                err.append(("isa", "021", f"IEA01 must count {self.gs_count} functional group(s)"))
            del self.loops[-1]
        elif seg_id == "GE":
            if not self.loops:
                raise Crash("GE without an open group")
            if self.loops[-1][0] != "GS":
                err.append(("gs", "3", f"unterminated {self.loops[-1][0]} before GE"))
                del self.loops[-1]
                if not self.loops:
                    raise Crash("GE without an open group")
            if self.loops[-1][1] != val(2):
                err.append(("gs", "4", "GE02 does not match GS06"))
            if _int(val(1)) != self.st_count:
                err.append(("gs", "5", f"GE01 must count {self.st_count} transaction set(s)"))
            del self.loops[-1]
        elif seg_id == "SE":
            if not self.loops:
                raise Crash("SE without an open transaction set")
            if self.loops[-1][0] != "ST" or self.loops[-1][1] != val(2):
                err.append(("st", "3", "SE02 does not match ST02"))
            if _int(val(1)) != self.seg_count + 1:
                err.append(("st", "4", f"SE01 must count {self.seg_count + 1} segments"))
            del self.loops[-1]

    def pop(self) -> list:
        out, self.err = self.err, []
        return out

    def cleanup(self) -> None:
        for kind, _id in self.loops:
            if kind == "ST":
                self.err.append(("st", "2", "transaction set trailer SE missing"))
            elif kind == "GS":
                self.err.append(("gs", "3", "functional group trailer GE missing"))
            elif kind == "ISA":
                self.err.append(("isa", "023", "interchange trailer IEA missing"))


def _int(s: str | None) -> int | None:
    try:
        return int(s)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return None


def _handle(errh: _Errh, errs: list) -> None:
    for level, code, msg in errs:
        if level == "seg":
            errh.seg_error(code, msg)
        else:
            errh.envelope_error(level, code, msg)


_CHUNK = 1 << 20  # characters split at a time (_segments)


def _segments(text: str):
    """pyx12.rawx12file.RawX12File: (line text) of each segment; stops at an empty one. The
    text is split a chunk of whole segments at a time: text.split(term) at once would hold a
    list of every segment (about 35 MB for the 9 MB file of a 100,000-encounter run's payer)."""
    term = text[105]
    last = text.rfind(term)  # text after the last terminator is never a segment
    pos = 0
    while pos <= last:
        cut = text.rfind(term, pos, min(pos + _CHUNK, last + 1))
        if cut < pos:  # one segment longer than a chunk
            cut = text.find(term, pos)
        for line in text[pos:cut].split(term):
            line = line.lstrip("\n\r")
            if line == "":
                return
            yield line
        pos = cut + 1


# ---------------------------------------------------------------- the document


def _vals(seg_id: str, els: list[str], sub: str, kinds) -> dict:
    out = {}
    for k in kinds:
        if k == "e1":
            out[k] = els[0].rstrip(sub) if els else None
        elif k == "c1":
            out[k] = els[0].split(sub)[0] if els else None
        elif k == "e2":
            out[k] = els[1].rstrip(sub) if len(els) > 1 else None
        else:
            out[k] = els[2].rstrip(sub) if len(els) > 2 else None
    return out


_E1 = ("e1",)
_C1 = ("c1",)
_PLAIN_IDS: set = set()  # valid segment ids the reader has nothing particular to check


def _walk(start, seg_id: str, els: list[str], sub: str, kinds_by_id: dict):
    """(node found or None, recorded steps, the segment node when the steps are one plain
    match), from the cache or recorded now."""
    kinds = kinds_by_id.get(seg_id)
    if kinds:
        vals = _vals(seg_id, els, sub, kinds)
        key: tuple = (start, seg_id, *vals.values())
    else:
        vals = {}
        key = (start, seg_id)
    hit = _WALKS.get(key)
    if hit is None:
        if len(_WALKS) > WALK_CACHE_LIMIT:
            _WALKS.clear()
        found, ops = _record(start, seg_id, vals)
        hit = _WALKS[key] = (found, ops, _fast_form(ops))
    return hit


def _fast_form(ops: list) -> tuple | None:
    """The recorded steps as (keys that must already be counted, what follows), for the usual
    walk whose required-missing checks all find their segment or loop present: then nothing is
    missing and the walk ends by counting one segment ("m") or entering one loop ("e"). Every
    missing check comes before the first counting step (see _scan), so the guard can be read
    before anything is counted."""
    guards = []
    i = 0
    while i < len(ops) and ops[i][0] in (MISS_SEG, MISS_LOOP):
        guards.append(ops[i][1].key)
        i += 1
    rest = ops[i:]
    if len(rest) == 1 and rest[0][0] == MATCH_SEG and rest[0][1].usage != "N":
        node = rest[0][1]
        return frozenset(guards), "m", node, node.key, node.max_repeat
    if (
        len(rest) == 3
        and rest[0][0] == ENTER_LOOP
        and rest[0][1].usage != "N"
        and rest[1][0] == INC
        and rest[2][0] == FLUSH
    ):
        return frozenset(guards), "e", rest[0][1], rest[1][1]
    return None


def _document(text: str, errh: _Errh, visit=None) -> bool:
    """pyx12.x12n_document.x12n_document: True when valid. `visit(seg_id, elements, map node,
    segment number, component separator)` hears each segment placed in the map."""
    if len(text) < 106:
        raise Crash("the ISA segment is shorter than 106 characters")
    icvn_raw = text[84:89]
    if icvn_raw not in ("00401", "00501"):
        raise Crash("ISA12 interchange control version is not 00401 or 00501")
    ele, sub = text[3], text[104]
    control_file = "x12.control.00501.xml" if icvn_raw == "00501" else "x12.control.00401.xml"
    control = load(control_file)
    map_file = control_file
    cur_map: Map | None = None
    kinds = control.match_kinds
    isa_node = control.by_path["/ISA_LOOP/ISA"]
    gs_control = control.by_path["/ISA_LOOP/GS_LOOP/GS"]
    node: Any = isa_node
    counts: dict = {}
    src = _Reader()
    valid = True
    icvn = None
    seps = ele + sub
    walks = _WALKS
    # the paths counted (a path is in `counts` only once counted: every count is 1 or more)
    counted = counts.keys()
    for line in _segments(text):
        if line[0] == " ":
            src.err.append(("seg", "1", "segment begins with a space"))
            line = line.lstrip()
        if line[-1] == ele:
            src.err.append(("seg", "SEG1", "segment ends with an element separator"))
        parts = line.split(ele)
        seg_id = parts[0]
        els = parts[1:]
        if seg_id in _PLAIN_IDS and line.strip(seps) != seg_id:
            src.seg_count += 1  # the reader's count of a segment it has nothing else to check
            src.cur_line += 1
        else:
            empty = not line[len(seg_id) :].strip(ele if seg_id == "ISA" else seps)
            src.parse(seg_id, els, sub, empty)
        cur_line = src.cur_line
        orig = node
        if seg_id == "ISA":
            node = isa_node
            _reset(counts, "/ISA_LOOP")
            counts["/ISA_LOOP"] = counts.get("/ISA_LOOP", 0) + 1
            counts["/ISA_LOOP/ISA"] = counts.get("/ISA_LOOP/ISA", 0) + 1
        elif seg_id == "GS":
            node = gs_control
            _reset(counts, "/ISA_LOOP/GS_LOOP")
            counts["/ISA_LOOP/GS_LOOP"] = counts.get("/ISA_LOOP/GS_LOOP", 0) + 1
            counts["/ISA_LOOP/GS_LOOP/GS"] = counts.get("/ISA_LOOP/GS_LOOP/GS", 0) + 1
        else:
            # the walk cache's key as _walk makes it, for the usual qualifiers (else _walk)
            ks = kinds.get(seg_id)
            if not ks:
                hit = walks.get((node, seg_id))
            elif ks == _E1:
                hit = walks.get((node, seg_id, els[0].rstrip(sub) if els else None))
            elif ks == _C1:
                hit = walks.get((node, seg_id, els[0].split(sub)[0] if els else None))
            else:
                hit = None
            if hit is None:
                hit = _walk(node, seg_id, els, sub, kinds)
            found, ops, fast = hit
            if fast is not None and counted >= fast[0]:
                # the walk in its fast form (_fast_form): every required segment or loop it
                # checks is present, so it ends by counting one segment or entering one loop;
                # replayed step by step below when that count passes its maximum
                if fast[1] == "m":
                    k = fast[3]
                    c = counts.get(k, 0) + 1
                    if c <= fast[4]:
                        counts[k] = c
                        ops = None
                else:
                    loop = fast[2]
                    c = counts.get(loop.key, 0) + 1
                    if c <= loop.max_repeat:
                        _reset(counts, loop.key)
                        counts[loop.key] = c
                        counts[fast[3]] = counts.get(fast[3], 0) + 1
                        ops = None
            if ops is not None:
                for code, msg, file_as, at in _replay(ops, counts, cur_line):
                    if file_as is not None:
                        errh.add_seg(file_as or seg_id, at)
                    errh.seg_error(code, msg)
            node = found
        if node is None:
            node = orig
            continue
        if seg_id not in ENVELOPE:  # most segments: one set lookup instead of six comparisons
            errh.cur = None
            errh.cur_seg = (seg_id, cur_line)
            if src.err:
                _handle(errh, src.pop())
        elif seg_id == "ISA":
            errh.add_isa(cur_line)
            icvn = els[11]
            _handle(errh, src.pop())
        elif seg_id == "IEA":
            _handle(errh, src.pop())
            if errh.isa is None:
                raise Crash("IEA before ISA")
            errh.isa.end_line = cur_line
            errh.cur = errh.isa
        elif seg_id == "GS":
            fic = els[0].rstrip(sub) if els else None
            vriic = els[7].rstrip(sub) if len(els) > 7 else None
            new = map_file_for(icvn, vriic, fic)
            if map_file != new:
                if new is None:
                    raise Crash("no implementation guide map for this GS01/GS08")
                map_file = new
                cur_map = load(new)
                src.check_837_lx = cur_map.id == "837"
                kinds = _union(control.match_kinds, cur_map.match_kinds)
            if cur_map is None:
                raise Crash("GS01/GS08 name the control map, not a transaction set")
            node = cur_map.by_path["/ISA_LOOP/GS_LOOP/GS"]
            errh.add_gs(cur_line)
            _handle(errh, src.pop())
        elif seg_id == "GE":
            _handle(errh, src.pop())
            if errh.gs is None:
                raise Crash("GE before GS")
            errh.gs.end_line = cur_line
            errh.cur = errh.gs
            if _int(els[0].rstrip(sub) if els else None) is None:
                raise Crash("GE01 is not a number")
        elif seg_id == "ST":
            errh.add_st(cur_line)
            _handle(errh, src.pop())
        elif seg_id == "SE":
            _handle(errh, src.pop())
            if errh.st is None:
                raise Crash("SE before ST")
            errh.st.end_line = cur_line
            errh.cur = errh.st
        if visit is not None:
            visit(seg_id, els, node, cur_line, sub)
        memo = (node, ele, sub, line)
        hit = _SEGS.get(memo)
        if hit is None:
            hit = segment_errors(node, els, ele if seg_id == "ISA" else sub, seg_id)
            if len(_SEGS) > SEG_CACHE_LIMIT:
                _SEGS.clear()
            _SEGS[memo] = hit
        ok, errors = hit
        if not ok:
            valid = False
            for el, code, detail in errors:
                if el is None:
                    errh.seg_error("8", detail)
                else:
                    errh.ele_error(el, code, detail, seg_id, cur_line)
    src.cleanup()
    _handle(errh, src.pop())
    return valid and errh.counted == 0


def _union(a: dict, b: dict) -> dict:
    """Qualifier positions by segment id over both maps: the walk cache's key then holds every
    value any node of either map is matched by (extra values only split the cache)."""
    out = {k: tuple(v) for k, v in a.items()}
    for k, v in b.items():
        out[k] = tuple(sorted(set(out.get(k, ())) | set(v)))
    return out


def validate_compiled(text: str, name: str = "<memory>", visit=None) -> Verdict:
    """Validate X12 text as pyx12 would (same verdict, problems in pyx12's order). `visit`
    hears every segment with its map node (see _document; compiled_rules uses it)."""
    if text.startswith(BOM):
        text = text[1:]
    version, tx, n = _sniff(text)
    verdict = Verdict(name, False, version, tx, n)
    if not text.startswith("ISA"):
        verdict.problems.append(
            X12Problem(1, None, None, "not an X12 interchange: the file does not begin with ISA")
        )
        return verdict
    errh = _Errh()
    try:
        ok = _document(text, errh, visit)
    except Crash as e:
        verdict.problems.append(
            X12Problem(None, None, None, f"the interchange cannot be read: {e}")
        )
        return verdict
    except (IndexError, ValueError, KeyError) as e:  # pyx12 fails on such a file too
        verdict.problems.append(
            X12Problem(None, None, None, f"the interchange cannot be read ({type(e).__name__})")
        )
        return verdict
    verdict.problems.extend(errh.problems())
    verdict.problems.extend(errh.hidden)
    if not ok and not verdict.problems:
        verdict.problems.append(X12Problem(None, None, None, "the interchange is invalid"))
    verdict.valid = ok and not verdict.problems
    return verdict


def validate_file(path) -> Verdict:
    """A file from disk (BOM removed, bytes outside ASCII reported as validate.py does)."""
    from pathlib import Path

    from .validate import read_x12

    text, problems = read_x12(Path(path))
    v = validate_compiled(text, str(path))
    if problems:
        v.problems = problems + v.problems
        v.valid = False
    return v


def validate_paths(paths) -> list[Verdict]:
    """Validate X12 files from anywhere (`billadmin invoice validate`), in file order."""
    return [validate_file(p) for p in paths]


# A run's staged files go to a worker process (gate_worker) once the run has this many segments:
# below it the worker's start (about 0.07 s of CPU) costs as much as checking them here.
# None: never (the demo and the tests stay in-process either way; their runs are small).
BACKGROUND_MIN_SEGMENTS: int | None = 20_000


class Checker:
    """validate.Checker's interface over the compiled validator, for the gate before files are
    written (billing/x12files.X12Run). A small run's files are checked whole in this process
    when `verdicts` is asked. Once a run's staged files (`add_file`) reach `parallel_min_segments`
    (default BACKGROUND_MIN_SEGMENTS) on a machine of 2 CPUs or more, one worker process
    (gate_worker) checks them, and each one staged after, while the caller builds the next
    payer's file; `verdicts` waits for what is left. Its verdicts are those of this process (the
    same validate_file); a file the worker does not answer is rejected, never accepted.
    `split_problems` are ignored (they stand for pyx12's checks across the pieces of a file it
    saw split; a whole file is checked here); `problems` always count."""

    def __init__(self, *, workers: int | None = None, parallel_min_segments=None, on_progress=None):
        import os

        self.on_progress = on_progress
        self.files: list[tuple] = []  # (kind, path or segments, name, count, problems)
        self.segments = 0
        self.min_segments = (
            BACKGROUND_MIN_SEGMENTS if parallel_min_segments is None else parallel_min_segments
        )
        self.cpus = workers or os.cpu_count() or 1
        self.worker: Any = None  # gate_worker.Worker once started
        self.jobs: dict[int, int] = {}  # index in files -> the worker's job id

    def add_file(self, path, st_sets, name: str, count: int, *, problems=(), split_problems=()):
        self.files.append(("path", str(path), name, count, list(problems)))
        self.segments += count
        if self.worker is not None:
            self.jobs[len(self.files) - 1] = self.worker.submit(str(path))
        elif self.min_segments is not None and self.cpus >= 2:
            if self.segments >= self.min_segments:
                from .gate_worker import Worker

                self.worker = Worker()
                for i, (kind, what, *_rest) in enumerate(self.files):
                    if kind == "path":
                        self.jobs[i] = self.worker.submit(what)

    def add_segments(self, segments: list[str], st_sets, name: str) -> None:
        """Segments in memory (a dry run stages no file): checked here."""
        self.files.append(("segments", segments, name, len(segments), []))
        self.segments += len(segments)

    def verdicts(self) -> list[Verdict]:
        """One verdict a file, in the order added: the files checked here first (the worker
        goes on meanwhile), then the worker's answers."""
        from .envelope import to_text

        out: list[Any] = [None] * len(self.files)
        order = [i for i in range(len(self.files)) if i not in self.jobs] + list(self.jobs)
        done = 0
        for i in order:
            kind, what, name, count, problems = self.files[i]
            if i in self.jobs:
                v = self.worker.verdict(self.jobs[i], what, name, count)
            elif kind == "path":
                v = validate_file(what)
                v.name = name
            else:
                v = validate_compiled(to_text(what), name)
            if problems:
                v.problems = problems + v.problems
                v.valid = False
            out[i] = v
            done += count
            if self.on_progress:
                self.on_progress(done, self.segments)
        return out

    def close(self) -> None:
        """Stop the worker, if one started (always: a run that rolls back leaves none behind)."""
        if self.worker is not None:
            self.worker.close()
