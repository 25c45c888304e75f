"""Charge lines: one row per service line; encounters are created from their lines.

Rules:
* Natural keys: an encounter by its number; a line by encounter number + line number.
* Lines of one encounter may be anywhere in the file, but must agree on the encounter's
  patient (MRN), date of service, rendering NPI, place of service and diagnoses (Dx1..Dx12, in
  order, without gaps or repeats); a line that disagrees with an earlier line is a problem.
* --line-diagnoses (a common EHR export shape): each line's Dx1..Dx12 cells are that line's own
  diagnoses (at most 4, in any columns, none repeated), not the encounter's. The encounter's
  list is their union in first-seen order (after the diagnoses an existing encounter already
  has), at most 12, and each line's pointers are its diagnoses' positions in that list. The
  file then must not carry pointers of its own (the two shapes are never mixed: BadInput). The
  file is read twice (once for the unions) and the unions are kept in memory.
* Pointers name the line's diagnoses by position: "1,2" (comma, space or semicolon separated,
  1-12), "12" (digits run together, 1-9 each) or letters "AB" (A=1 ... L=12, as on the CMS-1500
  box 24E). At most 4 per line (837P SV107); each must name a diagnosis the encounter has.
  Empty is allowed (the scrubber reports it). Stored as "1,2".
* Codes and modifiers are upper-cased; modifiers are 2 characters; POS 2 digits; units a
  whole number 1-9999; charges by money.parse_cents (negative refused).
* An encounter that already exists with different header values is a conflict (its lines are
  not applied) unless --update; a line whose encounter has been billed is never updated.

Speed and memory (1M lines, see benchmarks/bench_import.py): rows are checked with caches keyed
by the raw text (dates, NPIs, MRNs, codes, diagnosis lists and amounts repeat), new encounters
get ids allocated here under the write lock, and inserts go through executemany in batches.
Per encounter only one packed integer is kept: its id, the first row it appeared on, a 64-bit
hash of its header values, flags and a bit per line number seen.
"""

from __future__ import annotations

import re
from operator import itemgetter

from .. import pointers
from ..codesets import icd9, legacy
from ..errors import Problem
from . import claim_fields
from .columns import CellError, normalise_dx, parse_cell
from .pricing_hook import charge_master_price

BATCH = 5000
PROGRESS_EVERY = 2000
MAX_LINE = 999
# One int per encounter: id (40 bits) | header hash (64) | first row (34) | flags (4) | a bit per line
_HASH_SHIFT, _ROW_SHIFT, _FLAG_SHIFT, _MASK_SHIFT = 40, 104, 138, 142
_HASH_MASK = (1 << 64) - 1
_EXISTING, _BLOCKED = 1, 2
_ID_MASK = (1 << 40) - 1
_ROW_MASK = (1 << 34) - 1
_MOD = re.compile(r"^[A-Z0-9]{2}$")
_POS = re.compile(r"^\d{2}$")
_CODE = re.compile(r"^[A-Z0-9]{1,10}$")
_LETTERS = "ABCDEFGHIJKL"
HEAD_FIELDS = ["encounter", "mrn", "dos", "npi", "pos", *[f"dx{i}" for i in range(1, 13)]]
LINE_INPUT_FIELDS = [
    "line",
    "code",
    "mod1",
    "mod2",
    "mod3",
    "mod4",
    "pointers",
    "units",
    "charge_cents",
]
FIELDS = HEAD_FIELDS + LINE_INPUT_FIELDS + list(claim_fields.FIELDS)
_NO_MODS = (None, None, None, None)
HEADER_FIELDS = (
    "patient",
    "date of service",
    "rendering provider",
    "place of service",
    "diagnoses",
)


def parse_pointers(text: str, n_dx: int) -> str:
    """Pointer text -> "1,2"; raises CellError. The grammar is billadmin.pointers'; empty is
    allowed here (the scrubber reports it)."""
    try:
        nums = pointers.parse(text)
    except pointers.PointerError:
        # the reason quotes the cell, and a misplaced column could hold a name: not repeated here
        raise CellError('pointers look like "1,2", "12" or "AB" (1-12, A-L)') from None
    for f in pointers.faults(nums, pointers.positions(n_dx)) if nums else ():
        if f.kind == pointers.TOO_MANY:
            raise CellError("more than 4 diagnosis pointers (an 837P line carries at most 4)")
        if f.kind == pointers.NO_DIAGNOSIS:
            raise CellError(f"points at diagnosis {f.pointers[0]}, but the encounter has {n_dx}")
        raise CellError(f.message)
    return ",".join(map(str, nums))


class _Cache(dict):
    """raw text -> parsed value or CellError, bounded (cleared when it grows past the limit)."""

    def __init__(self, fn, limit=100_000):
        super().__init__()
        self.fn, self.limit = fn, limit

    def __missing__(self, key):
        try:
            v = self.fn(key)
        except CellError as e:
            v = e
        if len(self) >= self.limit:
            self.clear()
        self[key] = v
        return v


def _parse_dx(raw: tuple):
    """Dx1..Dx12 cells -> a tuple of codes, or [(index, reason)] when any is wrong."""
    codes: list[str] = []
    errs: list[tuple[int, str]] = []
    gap = False
    for i, v in enumerate(raw):
        s = v.strip() if isinstance(v, str) else ("" if v is None else v)
        if s == "":
            gap = True
            continue
        try:
            if not isinstance(s, str):
                raise CellError("a number, not an ICD-10-CM code")
            c = normalise_dx(s)
        except CellError as e:
            errs.append((i, str(e)))
            continue
        if gap:
            errs.append((i, "diagnoses must be filled from Dx1 on, without gaps"))
        elif c in codes:
            errs.append((i, "the same diagnosis twice in one encounter"))
        codes.append(c)
    if errs:
        return errs
    return tuple(codes)


def _plain_encounter_number(enc) -> bool:
    """The common case checked inline: short alphanumeric text that is not a float's spelling."""
    return (
        type(enc) is str
        and bool(enc)
        and len(enc) <= 50
        and enc.isalnum()
        and not (enc[0].isdigit() and ("E" in enc or "e" in enc))
    )


class _Parsers:
    """The cell checks of a charge file, cached by the raw text (values repeat across lines).
    head() checks an encounter's header cells, line() a service line's; both append
    (field, reason) to errs instead of raising, so a row reports every problem at once."""

    def __init__(self, run) -> None:
        db, by_field, fmts, today = run.db, run.by_field, run.mapping.formats, run.today

        def cell_parser(fld):
            col = by_field[fld]
            fmt = fmts.get(fld)
            return lambda v: parse_cell(v, col, date_format=fmt, today=today)

        def pos(v):
            s = parse_cell(v, by_field["pos"])
            if not _POS.match(s):
                raise CellError("place of service is 2 digits")
            return s

        def mod(v):
            s = parse_cell(v, by_field["mod1"])
            if s is not None and not _MOD.match(s):
                raise CellError("a modifier is 2 letters or digits")
            return s

        def npi(v):
            s = parse_cell(v, by_field["npi"])
            r = db.execute("SELECT id FROM providers WHERE npi = ?", (s,)).fetchone()
            if r is None:
                raise CellError("no provider with this NPI (import providers first)")
            return r[0]

        def mrn(v):
            s = parse_cell(v, by_field["mrn"])
            r = db.execute("SELECT id FROM patients WHERE mrn = ?", (s,)).fetchone()
            if r is None:
                raise CellError("no patient with this MRN (import patients first)")
            return r[0]

        self.enc_p = cell_parser("encounter")
        self.line_p = cell_parser("line")
        self.units_p = cell_parser("units")
        self.dos_c = _Cache(cell_parser("dos"))
        self.code_c = _Cache(cell_parser("code"))
        self.charge_c = _Cache(cell_parser("charge_cents"))
        self.pos_c = _Cache(pos)
        self.mod_c = _Cache(mod)
        self.npi_c = _Cache(npi)
        self.mrn_c = _Cache(mrn, limit=1_000_000)
        self.dx_c = _Cache(_parse_dx)
        self.dx9_c = _Cache(icd9.parse_dx_cells)  # dates of service before 2015-10-01
        self.db = db
        self.ptr_c = _Cache(
            lambda k: parse_pointers(k[0] if isinstance(k[0], str) else str(k[0]), k[1])
        )

    def head(self, head_raw: tuple, errs: list) -> tuple:
        """Header cells -> (encounter, patient_id, dos, provider_id, pos, dx)."""
        enc_raw, mrn_raw, dos_raw, npi_raw, pos_raw, *dx_raw = head_raw
        enc = enc_raw.strip() if type(enc_raw) is str else enc_raw
        if not _plain_encounter_number(enc):
            try:
                enc = self.enc_p(enc_raw)
            except CellError as e:
                errs.append(("encounter", str(e)))
        patient_id = self.mrn_c[mrn_raw]
        if type(patient_id) is CellError:
            errs.append(("mrn", str(patient_id)))
        dos = self.dos_c[dos_raw]
        if type(dos) is CellError:
            errs.append(("dos", str(dos)))
        provider_id = self.npi_c[npi_raw]
        if type(provider_id) is CellError:
            errs.append(("npi", str(provider_id)))
        pos = self.pos_c[pos_raw] if pos_raw != "" else "11"
        if type(pos) is CellError:
            errs.append(("pos", str(pos)))
        old_dos = type(dos) is str and dos < icd9.ICD10_START  # ICD-9-CM, kept as it is
        dx = (self.dx9_c if old_dos else self.dx_c)[tuple(dx_raw)]
        if type(dx) is list:
            if not old_dos and type(dos) is str:
                dx = legacy.late_icd9_reasons(self.db, tuple(dx_raw), dx, dos)
            errs.extend((f"dx{i + 1}", msg) for i, msg in dx)
            dx = ()
        return enc, patient_id, dos, provider_id, pos, dx

    def line(self, line_raw: tuple, n_dx: int, errs: list) -> tuple:
        """Line cells -> (line_no, code, mods, pointers, units, charge_cents)."""
        line_cell, code_raw, m1r, m2r, m3r, m4r, ptr_raw, units_raw, charge_raw = line_raw
        if type(line_cell) is str and line_cell.isdigit() and len(line_cell) < 4:
            line_no = int(line_cell)
        else:
            try:
                line_no = self.line_p(line_cell)
            except CellError as e:
                errs.append(("line", str(e)))
                line_no = 1
        if not 0 < line_no <= MAX_LINE:
            errs.append(("line", f"line numbers are 1-{MAX_LINE}"))
        code = self.code_c[code_raw]
        if type(code) is CellError:
            errs.append(("code", str(code)))
        mods = self.mods((m1r, m2r, m3r, m4r), errs) if m1r or m2r or m3r or m4r else _NO_MODS
        if ptr_raw == "" or ptr_raw is None:
            ptrs = ""
        else:
            ptrs = self.ptr_c[(ptr_raw, n_dx)]
            if type(ptrs) is CellError:
                errs.append(("pointers", str(ptrs)))
        units = 1
        if units_raw != "1":
            try:
                units = self.units_p(units_raw)
                if not 1 <= units <= 9999:
                    errs.append(("units", "units are 1-9999"))
            except CellError as e:
                errs.append(("units", str(e)))
        charge = self.charge_c[charge_raw]
        if type(charge) is CellError:
            errs.append(("charge_cents", str(charge)))
        elif charge is not None and charge < 0:
            errs.append(("charge_cents", "must not be negative (credits are not charges)"))
        return line_no, code, mods, ptrs, units, charge

    def mods(self, raw: tuple, errs: list) -> list:
        mods: list[str | None] = []
        for i, m in enumerate(raw, start=1):
            if m == "" or m is None:
                mods.append(None)
                continue
            v = self.mod_c[m]
            if type(v) is CellError:
                errs.append((f"mod{i}", str(v)))
                v = None
            mods.append(v)
        return mods


def _line_codes(raw: tuple, old_dos: bool = False) -> tuple[str, ...] | list[tuple[int, str]]:
    """--line-diagnoses: one line's Dx cells -> its own codes in column order, or
    [(index, reason)] when any is wrong. Empty cells are skipped (no gap rule: they are the
    line's, not the encounter's ordered list). On a date of service before 2015-10-01 the codes
    are ICD-9-CM, kept as they are (the encounter diagnoses' rule, icd9.parse_dx_cells)."""
    codes: list[str] = []
    errs: list[tuple[int, str]] = []
    for i, v in enumerate(raw):
        s = v.strip() if isinstance(v, str) else ("" if v is None else v)
        if s == "":
            continue
        if old_dos:
            c9 = icd9.icd9(str(s))
            if c9 is None:
                errs.append((i, icd9.NOT_ICD9))
                continue
            c = c9
        elif not isinstance(s, str):
            errs.append((i, "a number, not an ICD-10-CM code"))
            continue
        else:
            try:
                c = normalise_dx(s)
            except CellError as e:
                errs.append((i, str(e)))
                continue
        if c in codes:
            errs.append((i, "the same diagnosis twice on one line"))
        elif len(codes) == pointers.MAX_PER_LINE:
            errs.append((i, "a line names at most 4 diagnoses (an 837P line points at 4, SV107)"))
        codes.append(c)
    return errs or tuple(codes)


class _LineDiagnoses:
    """--line-diagnoses: the encounters' diagnosis lists (union of their lines' diagnoses in
    first-seen order) read in a first pass over the file; shape() then gives each row the
    encounter-wide Dx cells and the line's computed pointers, so the rules of encounter-wide
    files (lines agree, conflicts, idempotency) apply unchanged."""

    def __init__(self, run, parse: _Parsers, has_existing: bool) -> None:
        from .readers import open_table

        index = run.mapping.index
        self.enc_p = parse.enc_p
        self.dos_c = parse.dos_c
        self.db = run.db
        self.union: dict[str, list[str]] = {}
        self.positions: dict[str, dict[str, int]] = {}
        dx_idx = [index.get(f"dx{i}") for i in range(1, 13)]
        ptr_idx = index.get("pointers")
        enc_idx = index["encounter"]
        dos_idx = index.get("dos")
        table = open_table(
            run.path,
            sheet=run.opts.sheet,
            encoding=run.opts.encoding,
            on_bad_row=lambda *_: None,  # the main pass reports bad rows
        )
        with table:
            for row, cells in table:
                if ptr_idx is not None and str(cells[ptr_idx]).strip():
                    from ..errors import BadInput

                    raise BadInput(
                        f"{run.result.file}: row {row}: column {run.header_of('pointers')!r}"
                        " holds diagnosis pointers, but --line-diagnoses computes them from"
                        " each line's own diagnoses: a file is one shape or the other (leave"
                        " the pointers out, or import without --line-diagnoses)"
                    )
                key = self.key(cells[enc_idx])
                dos = self.dos_c[cells[dos_idx]] if dos_idx is not None else None
                own = _line_codes(
                    tuple("" if i is None else cells[i] for i in dx_idx), self._old(dos)
                )
                if key is None or isinstance(own, list):
                    continue  # the main pass reports the row
                union = self.union.get(key)
                if union is None:
                    union = self.union[key] = self._stored(run.db, key) if has_existing else []
                union.extend(c for c in own if c not in union)

    @staticmethod
    def _stored(db, key: str) -> list[str]:
        return [
            r[0]
            for r in db.execute(
                "SELECT d.code FROM encounter_diagnoses d JOIN encounters e ON e.id ="
                " d.encounter_id WHERE e.number = ? ORDER BY d.seq",
                (key,),
            )
        ]

    @staticmethod
    def _old(dos) -> bool:
        """A readable date of service before ICD-10-CM (its lines are coded in ICD-9-CM)."""
        return type(dos) is str and dos < icd9.ICD10_START

    def key(self, raw) -> str | None:
        """The encounter number as the main pass reads it (None when it is not readable)."""
        enc = raw.strip() if type(raw) is str else raw
        if _plain_encounter_number(enc):
            return enc
        try:
            return self.enc_p(raw)
        except CellError:
            return None

    def shape(self, head_raw: tuple, line_raw: tuple) -> tuple[tuple, tuple] | list:
        """(header cells, line cells) with the encounter's diagnoses and the line's pointers,
        or [(field, reason)] when the line's own diagnoses are wrong."""
        dos = self.dos_c[head_raw[2]]
        own = _line_codes(head_raw[5:], self._old(dos))
        if isinstance(own, list):
            if type(dos) is str and not self._old(dos):  # an ICD-9-CM code after 2015-09-30
                own = legacy.late_icd9_reasons(self.db, tuple(head_raw[5:]), own, dos)
            return [(f"dx{i + 1}", msg) for i, msg in own]
        key = self.key(head_raw[0])
        union = self.union.get(key, list(own)) if key is not None else list(own)
        if len(union) > pointers.MAX_DIAGNOSES:
            return [
                (
                    "dx1",
                    f"the encounter's lines name {len(union)} diagnoses; a claim carries at"
                    f" most {pointers.MAX_DIAGNOSES} (837P HI)",
                )
            ]
        pos = self.positions.get(key) if key is not None else None
        if pos is None:
            pos = {c: i for i, c in enumerate(union, start=1)}
            if key is not None:
                self.positions[key] = pos
        ptrs = ",".join(str(pos[c]) for c in own if c in pos)
        dx_cells = tuple(union) + ("",) * (pointers.MAX_DIAGNOSES - len(union))
        return head_raw[:5] + dx_cells, line_raw[:6] + (ptrs,) + line_raw[7:]


class _Writer:
    """New encounters, their diagnoses and lines, inserted in executemany batches; new
    encounter ids are allocated here (under the write lock)."""

    def __init__(self, db) -> None:
        self.conn = db.conn
        self.next_id = (
            db.execute("SELECT COALESCE(MAX(id), 0) FROM encounters").fetchone()[0] or 0
        ) + 1
        self.encounters: list[tuple] = []
        self.diagnoses: list[tuple] = []
        self.lines: list[tuple] = []
        self.line_fields: list[tuple] = []  # (encounter id, line no, *claim_fields.LINE_FIELDS)
        self.encounter_fields: list[tuple] = []  # (encounter id, *ENCOUNTER_FIELDS)

    def new_encounter(self, enc: str, patient_id, dos, provider_id, pos, dx: tuple) -> int:
        enc_id = self.next_id
        self.next_id += 1
        self.encounters.append((enc_id, enc, patient_id, provider_id, dos, pos))
        self.diagnoses.extend((enc_id, i, c) for i, c in enumerate(dx, start=1))
        return enc_id

    def flush(self) -> None:
        if self.encounters:
            self.conn.executemany(
                "INSERT INTO encounters (id, number, patient_id, provider_id, date_of_service,"
                " place_of_service) VALUES (?,?,?,?,?,?)",
                self.encounters,
            )
            self.encounters.clear()
        if self.diagnoses:
            self.conn.executemany(
                "INSERT INTO encounter_diagnoses (encounter_id, seq, code) VALUES (?,?,?)",
                self.diagnoses,
            )
            self.diagnoses.clear()
        if self.lines:
            self.conn.executemany(
                "INSERT INTO charge_lines (encounter_id, line_no, code, modifier1, modifier2,"
                " modifier3, modifier4, dx_pointers, units, charge_cents)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                self.lines,
            )
            self.lines.clear()
        if self.line_fields:
            self.conn.executemany(
                f"INSERT OR REPLACE INTO charge_line_fields (encounter_id, line_no,"
                f" {', '.join(claim_fields.LINE_FIELDS)})"
                f" VALUES (?,?{',?' * len(claim_fields.LINE_FIELDS)})",
                self.line_fields,
            )
            self.line_fields.clear()
        if self.encounter_fields:
            self.conn.executemany(
                f"INSERT OR REPLACE INTO encounter_fields (encounter_id,"
                f" {', '.join(claim_fields.ENCOUNTER_FIELDS)})"
                f" VALUES (?{',?' * len(claim_fields.ENCOUNTER_FIELDS)})",
                self.encounter_fields,
            )
            self.encounter_fields.clear()


def _header_of_db(db, enc_id: int) -> tuple:
    e = db.execute(
        "SELECT patient_id, date_of_service, provider_id, place_of_service FROM encounters"
        " WHERE id = ?",
        (enc_id,),
    ).fetchone()
    dx = tuple(
        r[0]
        for r in db.execute(
            "SELECT code FROM encounter_diagnoses WHERE encounter_id = ? ORDER BY seq",
            (enc_id,),
        )
    )
    return (e[0], e[1], e[2], e[3], dx)


def _differing(a: tuple, b: tuple) -> list[str]:
    return [HEADER_FIELDS[i] for i in range(5) if a[i] != b[i]]


def _open_encounter(
    run, writer: _Writer, extra: dict, enc: str, head: tuple, row: int, *, look_up: bool
) -> tuple[int, int]:
    """The first line of an encounter in this file: create it, or check it against the stored
    one (a conflict blocks its lines unless --update and nothing billed). -> (id, flags)."""
    db, opts = run.db, run.opts
    existing = None
    if look_up:
        existing = db.execute("SELECT id FROM encounters WHERE number = ?", (enc,)).fetchone()
    if existing is None:
        extra["encounters_created"] += 1
        return writer.new_encounter(enc, *head), 0
    enc_id = existing[0]
    flags = _EXISTING
    old = _header_of_db(db, enc_id)
    if old != head:
        fields = _differing(old, head)
        billed = db.execute(
            "SELECT COUNT(*) FROM charge_lines WHERE encounter_id = ? AND status != 'unbilled'",
            (enc_id,),
        ).fetchone()[0]
        if not opts.update or billed:
            note = BILLED_NOTE if billed else ""
            run.conflict(row, "encounter", enc_id, fields, note=note)
            flags |= _BLOCKED
        else:
            _update_encounter(run, enc_id, row, old, head)
            extra["encounters_updated"] += 1
    return enc_id, flags


def _reject_disagreeing(
    run, row: int, cells: list, first_row: int, enc_id: int, head: tuple
) -> None:
    fields = _differing(_header_of_db(run.db, enc_id), head)
    run.reject(
        row,
        cells,
        [
            Problem(
                row,
                None,
                f"disagrees with row {first_row} of the same encounter in: "
                + ", ".join(fields)
                + " (every line of an encounter must agree"
                + (
                    "; a file whose lines list only their own diagnoses imports with"
                    " --line-diagnoses)"
                    if "diagnoses" in fields and not run.opts.line_diagnoses
                    else ")"
                ),
                file=run.result.file,
            )
        ],
    )


def _pack(enc_id: int, head_hash: int, row: int, flags: int, mask: int) -> int:
    return (
        enc_id
        | (head_hash << _HASH_SHIFT)
        | (row << _ROW_SHIFT)
        | (flags << _FLAG_SHIFT)
        | (mask << _MASK_SHIFT)
    )


def _unpack(st: int) -> tuple[int, int, int, int, int]:
    return (
        st & _ID_MASK,
        (st >> _HASH_SHIFT) & _HASH_MASK,
        (st >> _ROW_SHIFT) & _ROW_MASK,
        (st >> _FLAG_SHIFT) & 0xF,
        st >> _MASK_SHIFT,
    )


def import_charges(run) -> None:
    """Check every row, create encounters from their first line, insert the lines in batches.

    The loop keeps the current encounter unpacked in locals and packs it into `encs` when
    another encounter starts; a row whose raw header cells equal the previous valid row's skips
    the header checks (lines of one encounter usually follow each other)."""
    db, result = run.db, run.result
    index = run.mapping.index
    pad = len(run.table.headers)  # absent optional fields read an always-empty extra cell
    parse = _Parsers(run)
    rebuild = _drop_indexes_for_bulk(run)
    # encounters already in the database are looked up only when the table has any
    has_existing = db.execute("SELECT EXISTS (SELECT 1 FROM encounters)").fetchone()[0]
    writer = _Writer(db)
    line_dx = _LineDiagnoses(run, parse, bool(has_existing)) if run.opts.line_diagnoses else None
    encs: dict[str, int] = {}
    extra = {"encounters_created": 0, "encounters_updated": 0}
    head_get = itemgetter(*[index.get(f, pad) for f in HEAD_FIELDS])
    line_get = itemgetter(*[index.get(f, pad) for f in LINE_INPUT_FIELDS])
    fields = _FieldsState(run) if any(f in index for f in claim_fields.FIELDS) else None
    padded = len(index) < len(FIELDS)
    n_inserted = n = 0
    prev_raw = None
    enc: str = ""
    cur_enc: str | None = None
    cur_id = cur_hash = cur_row = cur_flags = cur_mask = head_hash = 0
    head: tuple = (None, None, None, None, ())
    for row, cells in run.table:
        n += 1
        if n % PROGRESS_EVERY == 0:
            run.tick()
        if padded:
            cells.append("")
        head_raw = head_get(cells)
        line_raw = line_get(cells)
        if padded:
            cells.pop()
        if line_dx is not None:
            shaped = line_dx.shape(head_raw, line_raw)
            if type(shaped) is list:
                run.reject(row, cells, [run.problem(row, f, msg) for f, msg in shaped])
                continue
            head_raw, line_raw = shaped
        errs: list[tuple[str, str]] = []
        same_head = head_raw == prev_raw
        if not same_head:
            enc, *rest = parse.head(head_raw, errs)
            head = tuple(rest)
        line_no, code, mods, ptrs, units, charge = parse.line(line_raw, len(head[4]), errs)
        if charge is None and not errs:  # priced from the charge master on the DOS
            charge = charge_master_price(run.db, code, mods, units, head[1], errs)
        line_vals = enc_vals = None
        if fields is not None:
            line_vals, enc_vals = fields.parse(cells, errs)
        if errs:
            run.reject(row, cells, [run.problem(row, f, msg) for f, msg in errs])
            if not same_head:
                prev_raw = None
            continue

        if not same_head:
            head_hash = hash(head) & _HASH_MASK
            if enc != cur_enc:
                if cur_enc is not None:
                    encs[cur_enc] = _pack(cur_id, cur_hash, cur_row, cur_flags, cur_mask)
                cur_enc = enc
                st = encs.get(enc)
                if st is None:
                    enc_id, flags = _open_encounter(
                        run, writer, extra, enc, head, row, look_up=bool(has_existing)
                    )
                    cur_id, cur_hash, cur_row, cur_flags, cur_mask = (
                        enc_id,
                        head_hash,
                        row,
                        flags,
                        0,
                    )
                    if flags & _BLOCKED:
                        prev_raw = head_raw
                        continue
                else:
                    cur_id, cur_hash, cur_row, cur_flags, cur_mask = _unpack(st)
            # a line of a known encounter: its header must match the first line's
            if cur_hash != head_hash:
                if cur_flags & _BLOCKED:
                    result.conflict_count += 1
                    prev_raw = head_raw
                    continue
                writer.flush()
                _reject_disagreeing(run, row, cells, cur_row, cur_id, head)
                prev_raw = None
                continue
            prev_raw = head_raw
        if cur_flags & _BLOCKED:
            result.conflict_count += 1
            continue
        bit = 1 << (line_no - 1)
        if cur_mask & bit:
            problem = run.problem(
                row, "line", "this encounter's line number appears twice in the file"
            )
            run.reject(row, cells, [problem])
            continue
        if enc_vals is not None and not fields.encounter(  # type: ignore[union-attr]
            writer, row, cells, cur_id, bool(cur_flags & _EXISTING), enc_vals
        ):
            continue
        cur_mask |= bit
        rec = (cur_id, line_no, code, mods[0], mods[1], mods[2], mods[3], ptrs, units, charge)
        if cur_flags & _EXISTING and _known_line(run, row, rec):
            if fields is not None:
                fields.existing_line(writer, row, cur_id, line_no, line_vals)
            continue
        writer.lines.append(rec)
        if line_vals is not None:
            writer.line_fields.append((cur_id, line_no, *line_vals))
        n_inserted += 1
        if len(writer.lines) >= BATCH:
            writer.flush()
    result.rows_total += n
    result.inserted += n_inserted
    writer.flush()
    for sql in rebuild:
        db.execute(sql)
    result.extra.update(extra)


class _FieldsState:
    """The claim-field columns of a charge file (ingest/claim_fields.py): parsed per row; an
    encounter's claim dates must agree across its lines and with what is stored (a difference
    is a conflict unless --update and nothing of the encounter is billed, like its header)."""

    def __init__(self, run) -> None:
        self.run = run
        pad = len(run.table.headers)
        self.get = itemgetter(*[run.mapping.index.get(f, pad) for f in claim_fields.FIELDS])
        self.parser = claim_fields.Parser(run)
        self.seen: dict[int, tuple[int, tuple]] = {}  # encounter id -> (first row, values)

    def parse(self, cells: list, errs: list) -> tuple[tuple | None, tuple | None]:
        cells.append("")
        try:
            raw = self.get(cells)
        finally:
            cells.pop()
        return self.parser(raw, errs)

    def encounter(
        self, writer: _Writer, row: int, cells: list, enc_id: int, existing: bool, vals: tuple
    ) -> bool:
        """False when the row is rejected (its claim dates disagree with an earlier row's)."""
        got = self.seen.get(enc_id)
        if got is not None:
            if got[1] != vals:
                names = _differing_fields(claim_fields.ENCOUNTER_FIELDS, got[1], vals)
                self.run.reject(
                    row,
                    cells,
                    [
                        self.run.problem(
                            row,
                            None,
                            f"disagrees with row {got[0]} of the same encounter in: "
                            + ", ".join(names)
                            + " (claim dates are the encounter's: give them once, or the same)",
                        )
                    ],
                )
                return False
            return True
        self.seen[enc_id] = (row, vals)
        if existing:
            stored = _stored_encounter_fields(self.run.db, enc_id)
            if stored == vals:
                return True
            billed = self.run.db.execute(
                "SELECT COUNT(*) FROM charge_lines WHERE encounter_id = ? AND status != 'unbilled'",
                (enc_id,),
            ).fetchone()[0]
            names = _differing_fields(
                claim_fields.ENCOUNTER_FIELDS, stored or (None,) * len(vals), vals
            )
            if not self.run.opts.update or billed:
                note = BILLED_NOTE if billed else ""
                self.run.conflict(row, "encounter", enc_id, names, note=note)
                return True
            self.run.audit_update(
                "encounter_fields",
                enc_id,
                row,
                {
                    n: (o, v)
                    for n, o, v in zip(
                        claim_fields.ENCOUNTER_FIELDS,
                        stored or (None,) * len(vals),
                        vals,
                        strict=True,
                    )
                    if o != v
                },
            )
        writer.encounter_fields.append((enc_id, *vals))
        return True

    def existing_line(
        self, writer: _Writer, row: int, enc_id: int, line_no: int, vals: tuple | None
    ) -> None:
        """A stored line given again: its claim fields compared like its other cells."""
        r = self.run.db.execute(
            f"SELECT {', '.join(claim_fields.LINE_FIELDS)} FROM charge_line_fields"
            " WHERE encounter_id = ? AND line_no = ?",
            (enc_id, line_no),
        ).fetchone()
        stored = tuple(r) if r else None
        if stored == vals:
            return
        empty = (None,) * len(claim_fields.LINE_FIELDS)
        names = _differing_fields(claim_fields.LINE_FIELDS, stored or empty, vals or empty)
        status = self.run.db.execute(
            "SELECT id, status FROM charge_lines WHERE encounter_id = ? AND line_no = ?",
            (enc_id, line_no),
        ).fetchone()
        if not self.run.opts.update or status[1] != "unbilled":
            billed = status[1] != "unbilled"
            note = f"is {status[1]}; {CORRECT}" if billed else ""
            self.run.conflict(row, "charge line", status[0], names, note=note)
            return
        self.run.db.execute(
            "DELETE FROM charge_line_fields WHERE encounter_id = ? AND line_no = ?",
            (enc_id, line_no),
        )
        if vals is not None:
            writer.line_fields.append((enc_id, line_no, *vals))
        self.run.audit_update(
            "charge_line_fields",
            status[0],
            row,
            {
                n: (o, v)
                for n, o, v in zip(
                    claim_fields.LINE_FIELDS, stored or empty, vals or empty, strict=True
                )
                if o != v
            },
        )


def _differing_fields(names: tuple, a: tuple, b: tuple) -> list[str]:
    return [n.replace("_", " ") for n, x, y in zip(names, a, b, strict=True) if x != y]


def _stored_encounter_fields(db, enc_id: int) -> tuple | None:
    r = db.execute(
        f"SELECT {', '.join(claim_fields.ENCOUNTER_FIELDS)} FROM encounter_fields"
        " WHERE encounter_id = ?",
        (enc_id,),
    ).fetchone()
    return tuple(r) if r else None


def _known_line(run, row: int, rec: tuple) -> bool:
    """A line of an existing encounter that is already stored: compared (unchanged, updated or
    a conflict) instead of inserted."""
    old = run.db.execute(
        "SELECT id, code, modifier1, modifier2, modifier3, modifier4, dx_pointers, units,"
        " charge_cents, status FROM charge_lines WHERE encounter_id = ? AND line_no = ?",
        (rec[0], rec[1]),
    ).fetchone()
    if old is None:
        return False
    _compare_line(run, row, old, rec)
    return True


BULK_MIN_LINES = 50_000
BULK_TABLES = ("encounters", "encounter_diagnoses", "charge_lines")


def _drop_indexes_for_bulk(run) -> list[str]:
    """For a big file (more lines than the table holds), drop the non-unique indexes of the
    three tables and return their SQL to recreate after the inserts: building an index once by
    sorting is several times cheaper than updating it a million times (measured: about 3 s of 12
    on 1M lines). Unique indexes stay, so keys are enforced throughout. All inside the import's
    transaction: a rollback restores them."""
    try:
        est_lines = run.path.stat().st_size // 90 if run.path.suffix.lower() != ".xlsx" else 0
    except OSError:
        return []
    if est_lines < BULK_MIN_LINES:
        return []
    have = run.db.execute("SELECT COALESCE(MAX(id), 0) FROM charge_lines").fetchone()[0]
    if est_lines <= have:
        return []
    marks = ",".join("?" for _ in BULK_TABLES)
    rows = run.db.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({marks}) AND sql IS NOT NULL"
        " AND upper(sql) NOT LIKE 'CREATE UNIQUE%'",
        BULK_TABLES,
    ).fetchall()
    for name, _ in rows:
        run.db.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in rows]


LINE_FIELDS = (
    "code",
    "modifier1",
    "modifier2",
    "modifier3",
    "modifier4",
    "dx_pointers",
    "units",
    "charge_cents",
)


# a billed encounter is corrected by `charge correct` then `invoice replace`, never by --update
CORRECT = "not changed: correct it with `billadmin charge correct` (not --update)"
BILLED_NOTE = f"has billed lines; {CORRECT}"


def _compare_line(run, row: int, old: tuple, rec: tuple) -> None:
    new = rec[2:]
    diffs = {f: (o, n) for f, o, n in zip(LINE_FIELDS, old[1:9], new, strict=False) if o != n}
    if not diffs:
        run.result.unchanged += 1
        return
    if old[9] != "unbilled":  # billed or removed: --update never changes it
        run.conflict(row, "charge line", old[0], sorted(diffs), note=f"is {old[9]}; {CORRECT}")
        return
    if not run.opts.update:
        run.conflict(row, "charge line", old[0], sorted(diffs))
        return
    sets = ", ".join(f"{f} = ?" for f in diffs)
    run.db.execute(
        f"UPDATE charge_lines SET {sets} WHERE id = ?", (*[n for _, n in diffs.values()], old[0])
    )
    run.audit_update("charge_lines", old[0], row, diffs)
    run.result.updated += 1


def _update_encounter(run, enc_id: int, row: int, old: tuple, new: tuple) -> None:
    names = ("patient_id", "date_of_service", "provider_id", "place_of_service")
    changes = {names[i]: (old[i], new[i]) for i in range(4) if old[i] != new[i]}
    if changes:
        sets = ", ".join(f"{f} = ?" for f in changes)
        run.db.execute(
            f"UPDATE encounters SET {sets} WHERE id = ?",
            (*[n for _, n in changes.values()], enc_id),
        )
    if old[4] != new[4]:
        run.db.execute("DELETE FROM encounter_diagnoses WHERE encounter_id = ?", (enc_id,))
        run.db.conn.executemany(
            "INSERT INTO encounter_diagnoses (encounter_id, seq, code) VALUES (?,?,?)",
            [(enc_id, i, c) for i, c in enumerate(new[4], start=1)],
        )
        changes["diagnoses"] = (list(old[4]), list(new[4]))
    run.audit_update("encounters", enc_id, row, changes)
