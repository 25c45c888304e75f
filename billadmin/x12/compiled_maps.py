"""The 005010 implementation-guide maps that pyx12 ships, compiled into plain tables for
billadmin/x12/compiled.py: loops and segments in the order pyx12 walks them (by position, a
loop's child loops before its segments at the same position), usage and repeat limits, the
qualifier each segment is matched by, and each element's usage, data type, lengths and code
lists (internal, and external ones resolved from pyx12's codes.xml).

The XML is read once through pyx12's own map loader, so the tables hold exactly what pyx12
reads from it (its defaults for missing repeats, its data-element dictionary, its unique paths
for segments sharing a position). The result is cached as a pickle under the user's cache
folder (``$XDG_CACHE_HOME/billadmin`` or ``~/.cache/billadmin``, mode 0700), keyed by map
file, pyx12 version and ``COMPILER_VERSION``; a missing or unreadable cache is rebuilt.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
from pathlib import Path
from typing import Any

COMPILER_VERSION = 4
MAXINT = 2147483647


class _Pickled:
    """Pickled without `good` (the values seen valid in this process), which starts empty."""

    __slots__ = ()

    def __getstate__(self) -> dict[str, Any]:
        names: tuple[str, ...] = type(self).__slots__
        return {k: getattr(self, k) for k in names if k != "good"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            setattr(self, k, v)
        setattr(self, "good", set())  # noqa: B010 (a subclass's slot)


class Element(_Pickled):
    """One simple element (or a composite's sub-element) of a segment."""

    __slots__ = (
        "name",
        "refdes",
        "usage",
        "seq",
        "ele_pos",
        "sub_pos",
        "in_composite",
        "composite_usage",
        "data_ele",
        "data_type",
        "min_len",
        "max_len",
        "codes",
        "external",
        "ext_codes",
        "regex",
        "type_list",
        "good",
    )
    name: Any
    refdes: Any
    usage: Any
    seq: Any
    ele_pos: Any
    sub_pos: Any
    in_composite: Any
    composite_usage: Any
    data_ele: Any
    data_type: Any
    min_len: Any
    max_len: Any
    codes: Any
    external: Any
    ext_codes: Any
    regex: Any
    type_list: Any
    good: Any


class Composite(_Pickled):
    __slots__ = ("name", "refdes", "usage", "seq", "children", "good")
    name: Any
    refdes: Any
    usage: Any
    seq: Any
    children: Any
    good: Any


class Seg:
    __slots__ = (
        "idx",
        "id",
        "name",
        "usage",
        "pos",
        "max_repeat",
        "key",
        "parent",
        "eq",
        "match",
        "children",
        "syntax",
        "is_loop",
        "is_root",
    )
    idx: Any
    id: Any
    name: Any
    usage: Any
    pos: Any
    max_repeat: Any
    key: Any
    parent: Any
    eq: Any
    match: Any
    children: Any
    syntax: Any
    is_loop: Any
    is_root: Any


class Loop:
    __slots__ = (
        "idx",
        "id",
        "name",
        "usage",
        "pos",
        "max_repeat",
        "key",
        "parent",
        "eq",
        "kids",
        "first_node",
        "first_seg",
        "is_loop",
        "is_root",
    )
    idx: Any
    id: Any
    name: Any
    usage: Any
    pos: Any
    max_repeat: Any
    key: Any
    parent: Any
    eq: Any
    kids: Any
    first_node: Any
    first_seg: Any
    is_loop: Any
    is_root: Any


class Map:
    """A compiled map: its root, the nodes by path, and for each segment id the qualifier
    positions any of its nodes is matched by (the key of the walk cache)."""

    __slots__ = ("file", "id", "root", "by_path", "match_kinds", "nodes")
    file: Any
    id: Any
    root: Any
    by_path: Any
    match_kinds: Any
    nodes: Any


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "billadmin"


def _match_of(seg) -> tuple[str, frozenset] | None:
    """The element pyx12 matches a segment node by (segment_if._resolve_unique_key_field with
    with_qual=False): 'e1', 'e2' (ENT), 'c1' (the composite's first sub-element) or 'e3' (HL)."""
    from pyx12.map_if import composite_if, element_if

    key = seg._resolve_unique_key_field(seg.id, with_qual=False)
    if key is None:
        return None
    child, ele_idx, sub_idx = key
    if sub_idx:
        kind = "c1"
    else:
        kind = {1: "e1", 2: "e2", 3: "e3"}[ele_idx]
    assert isinstance(child, (element_if, composite_if))
    return kind, frozenset(child._valid_codes_set)


def _element(e, ext) -> Element:
    out = Element()
    de = e._resolve_data_ele()
    out.name = e.name
    out.refdes = e.refdes
    out.usage = e.usage
    out.seq = e.seq
    parent = e.parent
    out.in_composite = bool(parent.is_composite())
    out.composite_usage = parent.usage if out.in_composite else None
    out.ele_pos = parent.seq if out.in_composite else e.seq
    out.sub_pos = e.seq if out.in_composite else None
    out.data_ele = e.data_ele
    out.data_type = de["data_type"]
    out.min_len = de["min_len"]
    out.max_len = de["max_len"]
    out.codes = frozenset(e._valid_codes_set)
    out.external = e.external_codes
    out.ext_codes = None
    if e.external_codes is not None:
        if e.external_codes not in ext.codes:
            out.ext_codes = None  # pyx12 raises EngineError on such a code; kept as unknown
        else:
            out.ext_codes = frozenset(ext.codes[e.external_codes]["codes"])
    out.regex = e.res if e.res else None
    out.type_list = None
    out.good = set()
    return out


def _compile(map_file: str) -> Map:
    import pyx12.map_if
    import pyx12.params
    from pyx12.map_if import composite_if, loop_if, segment_if

    src = pyx12.map_if.load_map_file(map_file, pyx12.params.ParamsBase())
    m = Map()
    m.file = map_file
    m.id = src.id
    m.by_path = {}
    m.match_kinds = {}
    m.nodes = []

    def node_common(n, out, parent):
        out.idx = len(m.nodes)
        m.nodes.append(out)
        out.id = n.id
        out.name = n.name
        out.usage = n.usage
        out.pos = n.pos
        out.max_repeat = n.get_max_repeat()
        out.key = n.x12path.format()
        out.parent = parent
        out.eq = (n.id, n.parent.id)
        m.by_path[n.get_path()] = out

    def seg_of(n, parent) -> Seg:
        s = Seg()
        node_common(n, s, parent)
        s.is_loop = False
        s.is_root = False
        s.match = _match_of(n)
        kinds = m.match_kinds.setdefault(n.id, set())
        if s.match is not None:
            kinds.add(s.match[0])
        kids: list = []
        dates: list = []  # DTM05-style format qualifiers (1250) seen so far: 1251's types
        for c in n.children:
            if isinstance(c, composite_if):
                comp = Composite()
                comp.name = c.name
                comp.refdes = c.refdes
                comp.usage = c.usage
                comp.seq = c.seq
                comp.children = [_element(x, src.ext_codes) for x in c.children]
                comp.good = set()
                kids.append(comp)
            else:
                el = _element(c, src.ext_codes)
                if el.data_ele == "1250":
                    dates.extend(c.valid_codes)
                if el.data_ele == "1251" and dates:
                    el.type_list = list(dates)
                kids.append(el)
        s.children = kids
        s.syntax = [list(x) for x in n.syntax]
        return s

    def loop_of(n, parent) -> Loop:
        lp = Loop()
        if parent is None:  # the map root
            lp.idx = len(m.nodes)
            m.nodes.append(lp)
            lp.id, lp.name, lp.usage, lp.pos = n.id, n.name, None, None
            lp.max_repeat, lp.key, lp.parent, lp.eq = MAXINT, "/", None, (n.id, None)
            lp.is_root, lp.is_loop = True, False
        else:
            node_common(n, lp, parent)
            lp.is_root, lp.is_loop = False, True
        kids: list = []
        for pos in sorted(n.pos_map):
            for c in n.pos_map[pos]:
                if isinstance(c, loop_if):
                    kids.append(loop_of(c, lp))
                elif isinstance(c, segment_if):
                    kids.append(seg_of(c, lp))
        lp.kids = kids
        lp.first_node = kids[0] if kids else None
        lp.first_seg = kids[0] if kids and not kids[0].is_loop else None
        return lp

    m.root = loop_of(src, None)
    m.match_kinds = {k: tuple(sorted(v)) for k, v in m.match_kinds.items()}
    return m


_LOADED: dict[str, Map] = {}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def load(map_file: str) -> Map:
    """The compiled map, from memory, the cache folder, or compiled now (and cached)."""
    m = _LOADED.get(map_file)
    if m is not None:
        return m
    import pyx12.version

    if not _SAFE_NAME.match(map_file):
        raise ValueError(f"not a map file name: {map_file}")
    name = f"x12map-{map_file}-pyx12-{pyx12.version.__version__}-v{COMPILER_VERSION}.pickle"
    path = _cache_dir() / name
    try:
        st = path.stat()
        if st.st_uid == os.getuid() and not (st.st_mode & 0o022):
            with open(path, "rb") as fh:
                m = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        m = None
    if not isinstance(m, Map):
        m = _compile(map_file)
        _save(path, m)
    _LOADED[map_file] = m
    return m


def _save(path: Path, m: Map) -> None:
    """Written to a temporary file in the folder and renamed: a reader never sees half a
    table. A cache that cannot be written only costs the next process a recompile."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".x12map-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(m, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def map_file_for(icvn: str | None, vriic: str | None, fic: str | None) -> str | None:
    """The map pyx12 uses for a group (its maps.xml: ISA12, GS08, GS01)."""
    return _index().get((icvn, vriic, fic))


_INDEX: dict | None = None


def _index() -> dict:
    global _INDEX
    if _INDEX is None:
        import pyx12.map_index

        mi = pyx12.map_index.map_index()
        idx: dict = {}
        for a in mi.maps:
            idx.setdefault((a["icvn"], a["vriic"], a["fic"]), a["map_file"])
        _INDEX = idx
    return _INDEX
