"""Matching two streams of (key, amount) records, in bounded memory.

Rules:
- Side A is read whole into a compact index (key -> slot; amounts and row numbers in int64
  arrays), then side B streams past it; nothing of B is kept except what differs. About 150
  bytes per distinct A key: a million keys fit in well under 300 MB.
- Categories: matched (same key once on each side, amounts within the tolerance); amount
  differs (both amounts and the difference A - B); only in A; only in B; duplicate keys in A
  (every A row of the key, and any B rows of it) and duplicate keys in B (every B row, and the A
  row). Duplicates are listed, never matched silently.
- Totals per side and category; the net difference is total A - total B over every row.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

CATEGORIES = ("matched", "amount_differs", "only_in_a", "only_in_b", "duplicate_in_a", "duplicate_in_b")
KEY_SEP = "\x1f"          # joins multi-column keys internally
KEY_SHOW = " | "          # ... and for people

_ONLY_A, _MATCHED, _DUP_A, _DUP_B = 0, 1, 2, 3


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
    rows: list[dict]                    # every record not matched, in category order
    rows_a: int
    rows_b: int
    total_a_cents: int
    total_b_cents: int
    matcher: "Matcher" = field(repr=False, default=None)

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
            out.append({"category": labels.get(c, c), "count_a": t.count_a, "total_a_cents": t.total_a_cents,
                        "count_b": t.count_b, "total_b_cents": t.total_b_cents,
                        "difference_cents": t.total_a_cents - t.total_b_cents})
        out.append({"category": "all rows", "count_a": self.rows_a, "total_a_cents": self.total_a_cents,
                    "count_b": self.rows_b, "total_b_cents": self.total_b_cents,
                    "difference_cents": self.net_difference_cents})
        return out


def _row(category, key, row_a=None, amount_a=None, row_b=None, amount_b=None) -> dict:
    diff = amount_a - amount_b if amount_a is not None and amount_b is not None else None
    return {"category": category, "key": show_key(key), "row_a": row_a, "amount_a_cents": amount_a,
            "row_b": row_b, "amount_b_cents": amount_b, "difference_cents": diff}


class Matcher:
    """Feed every A record with add_a, then every B record with add_b, then call outcome()."""

    def __init__(self, tolerance_cents: int = 0):
        self.tolerance = tolerance_cents
        self.index: dict[str, int] = {}
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
        self._a_open = True
        # bound once: add_a runs a million times
        self._get = self.index.get
        self._amt_append = self.a_amt.append
        self._row_append = self.a_row.append

    def add_a(self, key: str, row: int, cents: int) -> None:
        i = self._get(key)
        if i is None:
            self.index[key] = len(self.a_amt)
            self._amt_append(cents)
            self._row_append(row)
        else:
            self._dup_a(key, i, row, cents)

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
        first = {self.index[k] for k in self.dup_a}
        return sum(self.a_amt) + sum(c for k, v in self.dup_a.items() for _, c in v) \
            - sum(self.a_amt[i] for i in first)

    def add_b(self, key: str, row: int, cents: int) -> None:
        if self._a_open:
            self._close_a()
        self.rows_b += 1
        self.total_b += cents
        i = self._get(key)
        if i is None:
            first = self.b_only.get(key)
            if first is None:
                self.b_only[key] = (row, cents)
            else:
                self.b_only_dup.setdefault(key, [first]).append((row, cents))
            return
        s = self.state[i]
        if s == _ONLY_A:
            self.state[i] = _MATCHED
            self.b_amt[i] = cents
            self.b_row[i] = row
        elif s == _MATCHED:
            self.state[i] = _DUP_B
            self.extra_b[key] = [(self.b_row[i], self.b_amt[i]), (row, cents)]
        else:
            self.extra_b.setdefault(key, []).append((row, cents))

    def outcome(self) -> Outcome:
        if self._a_open:
            self._close_a()
        summary = {c: CategoryTotal() for c in CATEGORIES}
        rows: dict[str, list[dict]] = {c: [] for c in CATEGORIES}
        tol = self.tolerance
        state, a_amt, a_row, b_amt, b_row = self.state, self.a_amt, self.a_row, self.b_amt, self.b_row
        matched = summary["matched"]
        differs = summary["amount_differs"]
        for key, i in self.index.items():
            s = state[i]
            if s == _MATCHED:
                a, b = a_amt[i], b_amt[i]
                d = a - b
                if -tol <= d <= tol:
                    matched.count_a += 1
                    matched.count_b += 1
                    matched.total_a_cents += a
                    matched.total_b_cents += b
                else:
                    differs.add_a(a)
                    differs.add_b(b)
                    rows["amount_differs"].append(_row("amount_differs", key, a_row[i], a, b_row[i], b))
            elif s == _ONLY_A:
                summary["only_in_a"].add_a(a_amt[i])
                rows["only_in_a"].append(_row("only_in_a", key, a_row[i], a_amt[i]))
            elif s == _DUP_A:
                t = summary["duplicate_in_a"]
                for r, c in self.dup_a[key]:
                    t.add_a(c)
                    rows["duplicate_in_a"].append(_row("duplicate_in_a", key, row_a=r, amount_a=c))
                for r, c in self.extra_b.get(key, ()):
                    t.add_b(c)
                    rows["duplicate_in_a"].append(_row("duplicate_in_a", key, row_b=r, amount_b=c))
            else:  # _DUP_B
                t = summary["duplicate_in_b"]
                t.add_a(a_amt[i])
                rows["duplicate_in_b"].append(_row("duplicate_in_b", key, row_a=a_row[i], amount_a=a_amt[i]))
                for r, c in self.extra_b[key]:
                    t.add_b(c)
                    rows["duplicate_in_b"].append(_row("duplicate_in_b", key, row_b=r, amount_b=c))
        for key, (r, c) in self.b_only.items():
            if key in self.b_only_dup:
                continue
            summary["only_in_b"].add_b(c)
            rows["only_in_b"].append(_row("only_in_b", key, row_b=r, amount_b=c))
        for key, items in self.b_only_dup.items():
            t = summary["duplicate_in_b"]
            for r, c in items:
                t.add_b(c)
                rows["duplicate_in_b"].append(_row("duplicate_in_b", key, row_b=r, amount_b=c))
        flat = [r for c in CATEGORIES for r in rows[c]]
        return Outcome(summary, flat, self.rows_a, self.rows_b, self.total_a, self.total_b, self)

    def matched_rows(self):
        tol = self.tolerance
        for key, i in self.index.items():
            if self.state[i] == _MATCHED:
                a, b = self.a_amt[i], self.b_amt[i]
                if -tol <= a - b <= tol:
                    yield _row("matched", key, self.a_row[i], a, self.b_row[i], b)
