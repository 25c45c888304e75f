"""Matching two streams of (key, amount) records, in bounded memory.

Rules:
- Side A is read whole into a compact index (key -> slot; amounts and row numbers in int64
  arrays), then side B streams past it; nothing of B is kept except what differs. About 150
  bytes per distinct A key: a million keys fit in well under 300 MB.
- Categories: matched (same key once on each side, amounts within the tolerance: so many cents
  either way, or so many hundredths of a percent of A's amount); amount
  differs (both amounts and the difference A - B); only in A; only in B; duplicate keys in A
  (every A row of the key, and any B rows of it) and duplicate keys in B (every B row, and the A
  row). Duplicates are listed, never matched silently.
- Totals per side and category; the net difference is total A - total B over every row.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

CATEGORIES = (
    "matched",
    "amount_differs",
    "only_in_a",
    "only_in_b",
    "duplicate_in_a",
    "duplicate_in_b",
)
KEY_SEP = "\x1f"  # joins multi-column keys internally
KEY_SHOW = " | "  # ... and for people

_ONLY_A, _MATCHED, _DUP_A, _DUP_B, _DIFFERS = 0, 1, 2, 3, 4


def show_key(key: str) -> str:
    return key.replace(KEY_SEP, KEY_SHOW)


@dataclass
class CategoryTotal:
    count_a: int = 0
    total_a_cents: int = 0
    count_b: int = 0
    total_b_cents: int = 0

    def add_a(self, cents: int) -> None:
        self.count_a += 1
        self.total_a_cents += cents

    def add_b(self, cents: int) -> None:
        self.count_b += 1
        self.total_b_cents += cents


@dataclass
class Outcome:
    summary: dict[str, CategoryTotal]
    rows: list[dict]  # every record not matched, in category order
    rows_a: int
    rows_b: int
    total_a_cents: int
    total_b_cents: int
    matcher: Matcher = field(repr=False)  # the matched pairs, read back by matched_rows()

    @property
    def net_difference_cents(self) -> int:
        return self.total_a_cents - self.total_b_cents

    @property
    def differences(self) -> int:
        """Records outside 'matched' (what makes the exit code 1)."""
        return sum(t.count_a + t.count_b for c, t in self.summary.items() if c != "matched")

    def matched_rows(self):
        """Matched pairs, generated on demand (a million of them are not kept as dicts)."""
        return self.matcher.matched_rows()

    def summary_rows(self, labels: dict[str, str] | None = None) -> list[dict]:
        labels = labels or {}
        out = []
        for c in CATEGORIES:
            t = self.summary[c]
            out.append(
                {
                    "category": labels.get(c, c),
                    "count_a": t.count_a,
                    "total_a_cents": t.total_a_cents,
                    "count_b": t.count_b,
                    "total_b_cents": t.total_b_cents,
                    "difference_cents": t.total_a_cents - t.total_b_cents,
                }
            )
        out.append(
            {
                "category": "all rows",
                "count_a": self.rows_a,
                "total_a_cents": self.total_a_cents,
                "count_b": self.rows_b,
                "total_b_cents": self.total_b_cents,
                "difference_cents": self.net_difference_cents,
            }
        )
        return out


def _row(category, key, row_a=None, amount_a=None, row_b=None, amount_b=None) -> dict:
    diff = amount_a - amount_b if amount_a is not None and amount_b is not None else None
    return {
        "category": category,
        "key": show_key(key),
        "row_a": row_a,
        "amount_a_cents": amount_a,
        "row_b": row_b,
        "amount_b_cents": amount_b,
        "difference_cents": diff,
    }


class Matcher:
    """Feed every A record with add_a, then every B record with add_b, then call outcome().

    Slot states: 0 only in A so far, 1 matched, 2 duplicate in A, 3 duplicate in B, 4 amount
    differs. Matching is decided as B streams past (so the outcome never walks a million slots
    in Python: it finds the few unmatched ones with bytearray.find).
    """

    def __init__(self, tolerance_cents: int = 0, tolerance_bp: int = 0):
        self.tolerance = tolerance_cents
        self.tolerance_bp = tolerance_bp  # or within this many hundredths of a percent of A
        self.index: dict[str, int] = {}
        self.keys: list[str] = []
        self.a_amt = array("q")
        self.a_row = array("q")
        self.b_amt = array("q")
        self.b_row = array("q")
        self.state = bytearray()
        self.dup_a: dict[str, list[tuple[int, int]]] = {}
        self.extra_b: dict[str, list[tuple[int, int]]] = {}
        self.b_only: dict[str, tuple[int, int]] = {}
        self.b_only_dup: dict[str, list[tuple[int, int]]] = {}
        self.rows_b = 0
        self.total_b = 0
        self.matched = [0, 0, 0]  # count, total A, total B
        self._a_open = True
        self._get = self.index.get

    # --- side A -----------------------------------------------------------------------------
    def add_a(self, key: str, row: int, cents: int) -> None:
        self.bulk_a()(key, row, cents)

    def bulk_a(self):
        """add(key, row, cents) for a tight loop over A (no attribute lookups per row)."""
        index, get, keys_append = self.index, self._get, self.keys.append
        amt_append, row_append, dup = self.a_amt.append, self.a_row.append, self._dup_a

        def add(key, row, cents):
            i = get(key)
            if i is None:
                index[key] = len(index)
                keys_append(key)
                amt_append(cents)
                row_append(row)
            else:
                dup(key, i, row, cents)

        return add

    def _dup_a(self, key: str, i: int, row: int, cents: int) -> None:
        rows = self.dup_a.get(key)
        if rows is None:
            self.dup_a[key] = [(self.a_row[i], self.a_amt[i]), (row, cents)]
        else:
            rows.append((row, cents))

    def _close_a(self) -> None:
        n = len(self.a_amt)
        self.state = bytearray(n)
        for key in self.dup_a:
            self.state[self.index[key]] = _DUP_A
        self.b_amt = array("q", bytes(8 * n))
        self.b_row = array("q", bytes(8 * n))
        self._a_open = False

    @property
    def rows_a(self) -> int:
        return len(self.a_amt) + sum(len(v) - 1 for v in self.dup_a.values())

    @property
    def total_a(self) -> int:
        first = sum(self.a_amt[self.index[k]] for k in self.dup_a)
        return sum(self.a_amt) + sum(c for v in self.dup_a.values() for _, c in v) - first

    # --- side B -----------------------------------------------------------------------------
    def add_b(self, key: str, row: int, cents: int) -> None:
        if self._a_open:
            self._close_a()
        self.rows_b += 1
        self.total_b += cents
        i = self._get(key)
        if i is None:
            self._b_only(key, row, cents)
        elif self.state[i] == _ONLY_A:
            self.match(i, row, cents)
        else:
            self._b_again(key, i, row, cents)

    def match(self, i: int, row: int, cents: int) -> None:
        """Side B's first record for A's slot i (the hot path inlines the same steps)."""
        a = self.a_amt[i]
        bp = self.tolerance_bp
        if -self.tolerance <= a - cents <= self.tolerance or (
            bp and abs(a - cents) * 10000 <= abs(a) * bp
        ):
            self.state[i] = _MATCHED
            m = self.matched
            m[0] += 1
            m[1] += a
            m[2] += cents
        else:
            self.state[i] = _DIFFERS
        self.b_amt[i] = cents
        self.b_row[i] = row

    def _b_only(self, key: str, row: int, cents: int) -> None:
        first = self.b_only.get(key)
        if first is None:
            self.b_only[key] = (row, cents)
        else:
            self.b_only_dup.setdefault(key, [first]).append((row, cents))

    def _b_again(self, key: str, i: int, row: int, cents: int) -> None:
        """A B record whose key is already matched (now a B duplicate) or duplicated in A."""
        s = self.state[i]
        if s in (_MATCHED, _DIFFERS):
            if s == _MATCHED:
                m = self.matched
                m[0] -= 1
                m[1] -= self.a_amt[i]
                m[2] -= self.b_amt[i]
            self.state[i] = _DUP_B
            self.extra_b[key] = [(self.b_row[i], self.b_amt[i]), (row, cents)]
        else:
            self.extra_b.setdefault(key, []).append((row, cents))

    # --- results ----------------------------------------------------------------------------
    def _slots(self, state_value: int):
        st = self.state
        i = st.find(state_value)
        while i >= 0:
            yield i
            i = st.find(state_value, i + 1)

    def outcome(self) -> Outcome:
        if self._a_open:
            self._close_a()
        summary = {c: CategoryTotal() for c in CATEGORIES}
        rows: dict[str, list[dict]] = {c: [] for c in CATEGORIES}
        keys, a_amt, a_row, b_amt, b_row = self.keys, self.a_amt, self.a_row, self.b_amt, self.b_row
        m = summary["matched"]
        m.count_a = m.count_b = self.matched[0]
        m.total_a_cents, m.total_b_cents = self.matched[1], self.matched[2]
        t = summary["amount_differs"]
        for i in self._slots(_DIFFERS):
            t.add_a(a_amt[i])
            t.add_b(b_amt[i])
            rows["amount_differs"].append(
                _row("amount_differs", keys[i], a_row[i], a_amt[i], b_row[i], b_amt[i])
            )
        t = summary["only_in_a"]
        for i in self._slots(_ONLY_A):
            t.add_a(a_amt[i])
            rows["only_in_a"].append(_row("only_in_a", keys[i], a_row[i], a_amt[i]))
        t = summary["duplicate_in_a"]
        for key in sorted(self.dup_a, key=self.index.__getitem__):
            for r, c in self.dup_a[key]:
                t.add_a(c)
                rows["duplicate_in_a"].append(_row("duplicate_in_a", key, row_a=r, amount_a=c))
            for r, c in self.extra_b.get(key, ()):
                t.add_b(c)
                rows["duplicate_in_a"].append(_row("duplicate_in_a", key, row_b=r, amount_b=c))
        t = summary["duplicate_in_b"]
        for i in self._slots(_DUP_B):
            key = keys[i]
            t.add_a(a_amt[i])
            rows["duplicate_in_b"].append(
                _row("duplicate_in_b", key, row_a=a_row[i], amount_a=a_amt[i])
            )
            for r, c in self.extra_b[key]:
                t.add_b(c)
                rows["duplicate_in_b"].append(_row("duplicate_in_b", key, row_b=r, amount_b=c))
        for key, (r, c) in self.b_only.items():
            if key in self.b_only_dup:
                continue
            summary["only_in_b"].add_b(c)
            rows["only_in_b"].append(_row("only_in_b", key, row_b=r, amount_b=c))
        for key, items in self.b_only_dup.items():
            for r, c in items:
                t.add_b(c)
                rows["duplicate_in_b"].append(_row("duplicate_in_b", key, row_b=r, amount_b=c))
        flat = [r for c in CATEGORIES for r in rows[c]]
        return Outcome(summary, flat, self.rows_a, self.rows_b, self.total_a, self.total_b, self)

    def matched_rows(self):
        keys, a_amt, a_row, b_amt, b_row = self.keys, self.a_amt, self.a_row, self.b_amt, self.b_row
        for i in self._slots(_MATCHED):
            yield _row("matched", keys[i], a_row[i], a_amt[i], b_row[i], b_amt[i])
