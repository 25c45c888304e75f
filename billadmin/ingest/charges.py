"""Charge lines: one row per service line; encounters are created from their lines.

Rules:
* Natural keys: an encounter by its number; a line by encounter number + line number.
* Lines of one encounter may be anywhere in the file, but must agree on the encounter's
  patient (MRN), date of service, rendering NPI, place of service and diagnoses (Dx1..Dx12, in
  order, without gaps or repeats); a line that disagrees with an earlier line is a problem.
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
from ..errors import Problem
from .columns import CellError, normalise_dx, parse_cell

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
FIELDS = HEAD_FIELDS + LINE_INPUT_FIELDS
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


def import_charges(run) -> None:
    db, result, opts = run.db, run.result, run.opts
    conn = db.conn
    by_field = run.by_field
    fmts = run.mapping.formats
    today = run.today
    index = run.mapping.index
    width = len(run.table.headers)
    pad = width  # absent optional fields read an always-empty extra cell

    def cell_parser(fld):
        col = by_field[fld]
        fmt = fmts.get(fld)
        return lambda v: parse_cell(v, col, date_format=fmt, today=today)

    enc_p, line_p, units_p = cell_parser("encounter"), cell_parser("line"), cell_parser("units")
    dos_c = _Cache(cell_parser("dos"))
    code_c = _Cache(cell_parser("code"))
    charge_c = _Cache(cell_parser("charge_cents"))

    def _pos(v):
        s = parse_cell(v, by_field["pos"])
        if not _POS.match(s):
            raise CellError("place of service is 2 digits")
        return s

    pos_c = _Cache(_pos)

    def _mod(v):
        s = parse_cell(v, by_field["mod1"])
        if s is not None and not _MOD.match(s):
            raise CellError("a modifier is 2 letters or digits")
        return s

    mod_c = _Cache(_mod)

    def _npi(v):
        s = parse_cell(v, by_field["npi"])
        r = db.execute("SELECT id FROM providers WHERE npi = ?", (s,)).fetchone()
        if r is None:
            raise CellError("no provider with this NPI (import providers first)")
        return r[0]

    npi_c = _Cache(_npi)

    def _mrn(v):
        s = parse_cell(v, by_field["mrn"])
        r = db.execute("SELECT id FROM patients WHERE mrn = ?", (s,)).fetchone()
        if r is None:
            raise CellError("no patient with this MRN (import patients first)")
        return r[0]

    mrn_c = _Cache(_mrn, limit=1_000_000)

    def _dx(raw: tuple):
        codes, errs, gap = [], [], False
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

    dx_c = _Cache(_dx)
    ptr_c = _Cache(lambda k: parse_pointers(k[0] if isinstance(k[0], str) else str(k[0]), k[1]))

    rebuild = _drop_indexes_for_bulk(run)
    # encounters already in the database are looked up only when the table has any
    has_existing = db.execute("SELECT EXISTS (SELECT 1 FROM encounters)").fetchone()[0]
    next_id = (db.execute("SELECT COALESCE(MAX(id), 0) FROM encounters").fetchone()[0] or 0) + 1
    encs: dict[str, int] = {}
    enc_batch: list[tuple] = []
    dx_batch: list[tuple] = []
    line_batch: list[tuple] = []
    extra = {"encounters_created": 0, "encounters_updated": 0}

    def flush():
        if enc_batch:
            conn.executemany(
                "INSERT INTO encounters (id, number, patient_id, provider_id, date_of_service,"
                " place_of_service) VALUES (?,?,?,?,?,?)",
                enc_batch,
            )
            enc_batch.clear()
        if dx_batch:
            conn.executemany(
                "INSERT INTO encounter_diagnoses (encounter_id, seq, code) VALUES (?,?,?)", dx_batch
            )
            dx_batch.clear()
        if line_batch:
            conn.executemany(
                "INSERT INTO charge_lines (encounter_id, line_no, code, modifier1, modifier2, modifier3,"
                " modifier4, dx_pointers, units, charge_cents) VALUES (?,?,?,?,?,?,?,?,?,?)",
                line_batch,
            )
            line_batch.clear()

    def header_of_db(enc_id: int) -> tuple:
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

    def differing(a: tuple, b: tuple) -> list[str]:
        return [HEADER_FIELDS[i] for i in range(5) if a[i] != b[i]]

    head_get = itemgetter(*[index.get(f, pad) for f in HEAD_FIELDS])
    line_get = itemgetter(*[index.get(f, pad) for f in LINE_INPUT_FIELDS])
    padded = len(index) < len(FIELDS)
    n_inserted = 0
    # the previous valid line's raw header cells and what they resolved to: lines of one
    # encounter usually follow each other, so most rows skip the header checks entirely
    prev_raw = None
    enc = cur_enc = None
    # the current encounter's state, unpacked (packed into `encs` when another encounter starts)
    cur_id = cur_hash = cur_row = cur_flags = cur_mask = 0
    patient_id = dos = provider_id = pos = None
    dx: tuple = ()
    head_hash = 0
    n = 0
    for row, cells in run.table:
        n += 1
        if n % PROGRESS_EVERY == 0:
            run.tick()
        if padded:
            cells.append("")
        head_raw = head_get(cells)
        line_raw, code_raw, m1r, m2r, m3r, m4r, ptr_raw, units_raw, charge_raw = line_get(cells)
        if padded:
            cells.pop()
        errs: list[tuple[str, str]] = []
        same_head = head_raw == prev_raw
        if not same_head:
            (
                enc_raw,
                mrn_raw,
                dos_raw,
                npi_raw,
                pos_raw,
                d1,
                d2,
                d3,
                d4,
                d5,
                d6,
                d7,
                d8,
                d9,
                d10,
                d11,
                d12,
            ) = head_raw
            enc = enc_raw.strip() if type(enc_raw) is str else enc_raw
            if not (
                type(enc) is str
                and enc
                and len(enc) <= 50
                and enc.isalnum()
                and not (enc[0].isdigit() and ("E" in enc or "e" in enc))
            ):
                try:
                    enc = enc_p(enc_raw)
                except CellError as e:
                    errs.append(("encounter", str(e)))
            patient_id = mrn_c[mrn_raw]
            if type(patient_id) is CellError:
                errs.append(("mrn", str(patient_id)))
            dos = dos_c[dos_raw]
            if type(dos) is CellError:
                errs.append(("dos", str(dos)))
            provider_id = npi_c[npi_raw]
            if type(provider_id) is CellError:
                errs.append(("npi", str(provider_id)))
            pos = pos_c[pos_raw] if pos_raw != "" else "11"
            if type(pos) is CellError:
                errs.append(("pos", str(pos)))
            dx = dx_c[(d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, d12)]
            if type(dx) is list:
                errs.extend((f"dx{i + 1}", msg) for i, msg in dx)
                dx = ()
        if type(line_raw) is str and line_raw.isdigit() and len(line_raw) < 4:
            line_no = int(line_raw)
        else:
            try:
                line_no = line_p(line_raw)
            except CellError as e:
                errs.append(("line", str(e)))
                line_no = 1
        if not 0 < line_no <= MAX_LINE:
            errs.append(("line", f"line numbers are 1-{MAX_LINE}"))
        code = code_c[code_raw]
        if type(code) is CellError:
            errs.append(("code", str(code)))
        if m1r or m2r or m3r or m4r:
            mods = []
            for i, m in enumerate((m1r, m2r, m3r, m4r), start=1):
                if m == "" or m is None:
                    mods.append(None)
                    continue
                v = mod_c[m]
                if type(v) is CellError:
                    errs.append((f"mod{i}", str(v)))
                    v = None
                mods.append(v)
        else:
            mods = _NO_MODS
        if ptr_raw == "" or ptr_raw is None:
            ptrs = ""
        else:
            ptrs = ptr_c[(ptr_raw, len(dx))]
            if type(ptrs) is CellError:
                errs.append(("pointers", str(ptrs)))
        if units_raw == "1":
            units = 1
        else:
            try:
                units = units_p(units_raw)
                if not 1 <= units <= 9999:
                    errs.append(("units", "units are 1-9999"))
            except CellError as e:
                errs.append(("units", str(e)))
        charge = charge_c[charge_raw]
        if type(charge) is CellError:
            errs.append(("charge_cents", str(charge)))
        elif charge < 0:
            errs.append(("charge_cents", "must not be negative (credits are not charges)"))
        if errs:
            run.reject(row, cells, [run.problem(row, f, msg) for f, msg in errs])
            if not same_head:
                prev_raw = None
            continue

        if not same_head:
            head_hash = hash((patient_id, dos, provider_id, pos, dx)) & _HASH_MASK
            if enc != cur_enc:
                if cur_enc is not None:
                    encs[cur_enc] = (
                        cur_id
                        | (cur_hash << _HASH_SHIFT)
                        | (cur_row << _ROW_SHIFT)
                        | (cur_flags << _FLAG_SHIFT)
                        | (cur_mask << _MASK_SHIFT)
                    )
                cur_enc = enc
                st = encs.get(enc)
                if st is None:
                    existing = None
                    if has_existing:
                        existing = db.execute(
                            "SELECT id FROM encounters WHERE number = ?", (enc,)
                        ).fetchone()
                    flags = 0
                    if existing is None:
                        enc_id = next_id
                        next_id += 1
                        enc_batch.append((enc_id, enc, patient_id, provider_id, dos, pos))
                        dx_batch.extend((enc_id, i, c) for i, c in enumerate(dx, start=1))
                        extra["encounters_created"] += 1
                    else:
                        enc_id = existing[0]
                        flags = _EXISTING
                        head = (patient_id, dos, provider_id, pos, dx)
                        old = header_of_db(enc_id)
                        if old != head:
                            fields = differing(old, head)
                            billed = db.execute(
                                "SELECT COUNT(*) FROM charge_lines WHERE encounter_id = ?"
                                " AND status != 'unbilled'",
                                (enc_id,),
                            ).fetchone()[0]
                            if not opts.update or billed:
                                note = (
                                    "has billed lines; not changed"
                                    if opts.update and billed
                                    else ""
                                )
                                run.conflict(row, "encounter", enc_id, fields, note=note)
                                flags |= _BLOCKED
                            else:
                                _update_encounter(run, enc_id, row, old, head)
                                extra["encounters_updated"] += 1
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
                    cur_id, cur_hash = st & _ID_MASK, (st >> _HASH_SHIFT) & _HASH_MASK
                    cur_row, cur_flags = (st >> _ROW_SHIFT) & _ROW_MASK, (st >> _FLAG_SHIFT) & 0xF
                    cur_mask = st >> _MASK_SHIFT
            # a line of a known encounter: its header must match the first line's
            if cur_hash != head_hash:
                if cur_flags & _BLOCKED:
                    result.conflict_count += 1
                    prev_raw = head_raw
                    continue
                flush()
                first_row = cur_row
                fields = differing(header_of_db(cur_id), (patient_id, dos, provider_id, pos, dx))
                run.reject(
                    row,
                    cells,
                    [
                        Problem(
                            row,
                            None,
                            f"disagrees with row {first_row} of the same encounter in: "
                            + ", ".join(fields)
                            + " (every line of an encounter must agree)",
                            file=result.file,
                        )
                    ],
                )
                prev_raw = None
                continue
            prev_raw = head_raw
        flags = cur_flags
        if flags & _BLOCKED:
            result.conflict_count += 1
            continue
        bit = 1 << (line_no - 1)
        if cur_mask & bit:
            run.reject(
                row,
                cells,
                [
                    run.problem(
                        row, "line", "this encounter's line number appears twice in the file"
                    )
                ],
            )
            continue
        cur_mask |= bit
        enc_id = cur_id
        rec = (enc_id, line_no, code, mods[0], mods[1], mods[2], mods[3], ptrs, units, charge)
        if flags & _EXISTING:
            old = db.execute(
                "SELECT id, code, modifier1, modifier2, modifier3, modifier4, dx_pointers, units, charge_cents,"
                " status FROM charge_lines WHERE encounter_id = ? AND line_no = ?",
                (enc_id, line_no),
            ).fetchone()
            if old is not None:
                _compare_line(run, row, old, rec)
                continue
        line_batch.append(rec)
        n_inserted += 1
        if len(line_batch) >= BATCH:
            flush()
    result.rows_total += n
    result.inserted += n_inserted
    flush()
    for sql in rebuild:
        db.execute(sql)
    result.extra.update(extra)


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


def _compare_line(run, row: int, old: tuple, rec: tuple) -> None:
    new = rec[2:]
    diffs = {f: (o, n) for f, o, n in zip(LINE_FIELDS, old[1:9], new, strict=False) if o != n}
    if not diffs:
        run.result.unchanged += 1
        return
    if not run.opts.update:
        run.conflict(row, "charge line", old[0], sorted(diffs))
        return
    if old[9] != "unbilled":
        run.conflict(
            row,
            "charge line",
            old[0],
            sorted(diffs),
            note=f"is {old[9]}; not changed (correct it through invoices)",
        )
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
