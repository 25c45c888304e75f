"""Reports on 1M charge lines with their postings, each against the plain SQL computing the same
totals in the sqlite3 CLI (target: report <= 2x the SQL, same run).

The database is built once per scale by direct SQL inserts in the ledger's shape (the practice
of benchmarks/gen.py: 3 lines per encounter, one claim per encounter, 835-style postings per
line with CO-45 contractual and PR-2 coinsurance transferred to a patient invoice, about 8% of
claims denied, 7% not yet answered, 3% of encounters unbilled) and kept in benchmarks/work/.

    python benchmarks/run.py --only report
    python benchmarks/bench_reports.py build --lines 1000000     # just build (and time) the database
"""

from __future__ import annotations

import datetime as _dt
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

AS_OF = _dt.date(2026, 11, 1)
VERSION = 5  # bump when the data's shape changes: the cached database is rebuilt
DENIALS = [("CO", "16"), ("CO", "50"), ("CO", "197"), ("CO", "27"), ("CO", "18"), ("CO", "97")]


def build(path: Path, lines: int, *, as_of: _dt.date = AS_OF, seed: int = 11) -> dict:
    """Build the benchmark database at `path` (replaced). Returns row counts."""
    from billadmin import db as dbmod
    from billadmin import demo, ledger, setup

    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    setup.init_database(path)
    conn = dbmod.connect(path)
    c = conn.conn
    c.execute("PRAGMA synchronous = OFF")
    c.execute("PRAGMA cache_size = -400000")
    rnd = random.Random(seed)
    now = "2026-11-01T00:00:00+00:00"
    n_enc = max(1, -(-lines // 3))
    n_pat = max(10, n_enc // 10)
    codes = [(k, int(v.replace(".", ""))) for k, v in demo.FEES.items()]
    c.execute("BEGIN")
    c.execute(
        "INSERT INTO practice (id, name, npi, tax_id, address1, city, state, zip) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
        (
            demo.PRACTICE["name"],
            demo.PRACTICE["npi"],
            demo.PRACTICE["tax_id"],
            demo.PRACTICE["address1"],
            demo.PRACTICE["city"],
            demo.PRACTICE["state"],
            demo.PRACTICE["zip"],
        ),
    )
    c.executemany(
        "INSERT INTO providers (npi, first_name, last_name) VALUES (?,?,?)",
        [(p["NPI"], p["First Name"], p["Last Name"]) for p in demo.PROVIDERS],
    )
    c.executemany(
        "INSERT INTO payers (code, name, kind, timely_filing_days, timely_filing_months) VALUES (?,?,?,?,?)",
        [
            (
                p["Code"],
                p["Name"],
                p["Kind"],
                int(p["Timely Filing Days"]) if p["Timely Filing Days"] else None,
                12 if p["Kind"] == "medicare" else None,
            )
            for p in demo.PAYERS
        ],
    )
    payer_ids = dict(c.execute("SELECT code, id FROM payers"))
    plan = ["MCR", "MCR", "MCD", "BVHMO", "KEY", "KEY", "SUM", "SUM", "SUM", "SELF"]
    c.executemany(
        "INSERT INTO patients (id, mrn, first_name, last_name, dob, sex, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?)",
        [
            (
                i,
                f"{i:08d}",
                rnd.choice(demo.FIRST),
                rnd.choice(demo.LAST),
                (_dt.date(1940, 1, 1) + _dt.timedelta(days=rnd.randint(0, 28000))).isoformat(),
                "MF"[i % 2],
                now,
                now,
            )
            for i in range(1, n_pat + 1)
        ],
    )
    pat_payer = {}
    covs = []
    for i in range(1, n_pat + 1):
        code = plan[i % len(plan)]
        pat_payer[i] = code
        if code != "SELF":
            end = None
            r = rnd.random()
            if r < 0.03:
                end = (as_of + _dt.timedelta(days=rnd.randint(1, 45))).isoformat()
            covs.append(
                (
                    i,
                    i,
                    payer_ids[code],
                    f"M{i:09d}",
                    "2020-01-01",
                    end,
                    2000 if code in ("BVHMO", "KEY", "SUM") else 0,
                )
            )
    c.executemany(
        "INSERT INTO coverages (id, patient_id, payer_id, member_id, effective_from, effective_to, copay_cents)"
        " VALUES (?,?,?,?,?,?,?)",
        covs,
    )
    start = as_of - _dt.timedelta(days=180)
    encs, cls = [], []
    inv, ilines, events, pays, allocs, adjs, pinv_rows = [], [], [], [], [], [], []
    inv_id = line_id = pay_id = 0
    claim_no = pat_no = 0
    written = 0
    batches: dict = {}  # (payer, week) -> payment id

    def issue(kind, pid, payer, cov, enc, issued, rows, deadline=None):
        nonlocal inv_id, claim_no, pat_no, line_id
        inv_id += 1
        if kind == "claim":
            claim_no += 1
            number = f"C{claim_no:06d}"
        else:
            pat_no += 1
            number = f"P{pat_no:06d}"
        invd = {
            "number": number,
            "kind": kind,
            "patient_id": pid,
            "payer_id": payer,
            "coverage_id": cov,
            "encounter_id": enc,
            "original_invoice_id": None,
            "frequency_code": "1",
            "issued_on": issued,
            "due_on": None,
            "filing_deadline": deadline,
            "total_cents": sum(r["amount_cents"] for r in rows),
            "copay_cents": 0,
        }
        ids = []
        for n, r in enumerate(rows, start=1):
            line_id += 1
            r.update(line_no=n, modifiers="", units=1, description=None)
            ids.append(line_id)
            ilines.append(
                (
                    line_id,
                    inv_id,
                    n,
                    r["charge_line_id"],
                    r["date_of_service"],
                    r["code"],
                    "",
                    1,
                    None,
                    r["amount_cents"],
                )
            )
        h = ledger.content_hash(invd, rows)
        inv.append(
            (
                inv_id,
                number,
                kind,
                pid,
                payer,
                cov,
                enc,
                None,
                "1",
                issued,
                None,
                deadline,
                invd["total_cents"],
                0,
                h,
                now,
            )
        )
        events.append((inv_id, "issued", issued))
        return inv_id, ids

    def payment(payer, day):
        nonlocal pay_id
        key = (payer, day)
        if key not in batches:
            pay_id += 1
            batches[key] = pay_id
            pays.append([pay_id, "insurance", None, payer, 0, "eft", f"TRN{pay_id}", day, now])
        return batches[key]

    pay_amount: dict = {}
    denials: list = []  # (invoice id, payer id, remittance date, outcome, [(line, group, carc, cents)])
    for e in range(1, n_enc + 1):
        pid = rnd.randrange(n_pat) + 1
        dos = start + _dt.timedelta(days=rnd.randrange(180))
        encs.append((e, f"B{e:09d}", pid, e % 4 + 1, dos.isoformat(), "11"))
        age = (as_of - dos).days
        unbilled = age < 10 and rnd.random() < 0.5
        rows = []
        for ln in range(1, 4):
            if written >= lines:
                break
            code, amt = codes[rnd.randrange(len(codes))] if ln > 1 else ("99213", 14000)
            written += 1
            cls.append((written, e, ln, code, "1", 1, amt, "unbilled" if unbilled else "billed"))
            rows.append(
                {
                    "charge_line_id": written,
                    "date_of_service": dos.isoformat(),
                    "code": code,
                    "amount_cents": amt,
                }
            )
        if unbilled or not rows:
            continue
        code = pat_payer[pid]
        issued = (dos + _dt.timedelta(days=1)).isoformat()
        if code == "SELF":
            issue("patient", pid, None, None, e, issued, rows)
            continue
        payer = payer_ids[code]
        deadline = (dos + _dt.timedelta(days=365)).isoformat()
        iid, lids = issue("claim", pid, payer, pid, e, issued, rows, deadline)
        r = rnd.random()
        if age < 20 or r < 0.07:
            continue  # not answered yet
        rday = dos + _dt.timedelta(days=rnd.randint(14, 40))
        if rday > as_of:
            continue
        rdate = rday.isoformat()
        if r < 0.15:  # denied in full: the 835's CAS kept, the amount stays open (not adjusted)
            g, carc = DENIALS[rnd.randrange(len(DENIALS))]
            denials.append(
                (
                    iid,
                    payer,
                    rdate,
                    "denied",
                    [
                        (lid, g, carc, row["amount_cents"])
                        for lid, row in zip(lids, rows, strict=True)
                    ],
                )
            )
            events.append((iid, "denied", rdate))
            continue
        p = payment(payer, rdate)  # one 835 payment per payer and remittance date
        pr_total = 0
        denied_lines = []
        for lid, row in zip(lids, rows, strict=True):
            amt = row["amount_cents"]
            if rnd.random() < 0.04:  # one line denied, the rest paid
                denied_lines.append((lid, "CO", "97", amt))
                continue
            co = amt * 20 // 100
            pr = amt * 10 // 100
            paid = amt - co - pr
            allocs.append((p, iid, lid, paid))
            pay_amount[p] = pay_amount.get(p, 0) + paid
            adjs.append((iid, lid, "CO", "45", co, "remit", rdate, now))
            if pr:
                adjs.append((iid, lid, "PR", "2", pr, "transfer", rdate, now))
                pr_total += pr
        if denied_lines:
            denials.append((iid, payer, rdate, "partially_paid", denied_lines))
        events.append((iid, "partially_paid" if denied_lines else "paid", rdate))
        if pr_total:
            pday = rday + _dt.timedelta(days=3)
            if pday <= as_of:
                pinv_rows.append((pid, e, pday, pr_total, dos.isoformat()))
    for pid, _e, pday, amt, dos in pinv_rows:
        piid, _ = issue(
            "patient",
            pid,
            None,
            None,
            None,
            pday.isoformat(),
            [{"charge_line_id": None, "date_of_service": dos, "code": "PR", "amount_cents": amt}],
        )
        if rnd.random() < 0.5:
            payday = pday + _dt.timedelta(days=rnd.randint(5, 30))
            if payday <= as_of:
                pay_id += 1
                pays.append(
                    [pay_id, "patient", pid, None, amt, "card", None, payday.isoformat(), now]
                )
                allocs.append((pay_id, piid, None, amt))
                events.append((piid, "paid", payday.isoformat()))
    for p in pays:
        if p[1] == "insurance":
            p[4] = pay_amount.get(p[0], 0)
    c.executemany(
        "INSERT INTO encounters (id, number, patient_id, provider_id, date_of_service, place_of_service)"
        " VALUES (?,?,?,?,?,?)",
        encs,
    )
    c.executemany(
        "INSERT INTO charge_lines (id, encounter_id, line_no, code, dx_pointers, units, charge_cents, status)"
        " VALUES (?,?,?,?,?,?,?,?)",
        cls,
    )
    c.executemany(
        "INSERT INTO invoices (id, number, kind, patient_id, payer_id, coverage_id, encounter_id, original_invoice_id,"
        " frequency_code, issued_on, due_on, filing_deadline, total_cents, copay_cents, content_hash, created_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        inv,
    )
    c.executemany(
        "INSERT INTO invoice_lines (id, invoice_id, line_no, charge_line_id, date_of_service, code, modifiers, units,"
        " description, amount_cents) VALUES (?,?,?,?,?,?,?,?,?,?)",
        ilines,
    )
    c.executemany("INSERT INTO invoice_events (invoice_id, status, at) VALUES (?,?,?)", events)
    c.executemany(
        "INSERT INTO payments (id, kind, patient_id, payer_id, amount_cents, method, reference,"
        " received_on, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
        [tuple(p) for p in pays],
    )
    c.executemany(
        "INSERT INTO payment_allocations (payment_id, invoice_id, invoice_line_id, amount_cents) VALUES (?,?,?,?)",
        allocs,
    )
    c.executemany(
        "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code, reason_code, amount_cents, source,"
        " created_on, created_at) VALUES (?,?,?,?,?,?,?,?)",
        adjs,
    )
    _remit_denials(c, denials, now)
    c.execute("UPDATE series SET next_number = ? WHERE kind = 'claim'", (claim_no + 1,))
    c.execute("UPDATE series SET next_number = ? WHERE kind = 'patient'", (pat_no + 1,))
    c.execute("COMMIT")
    c.execute("ANALYZE")
    counts = {
        t: c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in (
            "charge_lines",
            "invoices",
            "invoice_lines",
            "payments",
            "payment_allocations",
            "adjustments",
        )
    }
    conn.close()
    return counts


def _remit_denials(c, denials: list, now: str) -> None:
    """Denied CAS as posting keeps them (remit.post): a remit claim per denied claim, a line per
    denied line, the CAS with class 'denial' and no ledger adjustment (the amount stays open)."""
    c.execute(
        "INSERT INTO remit_files (id, file_name, sha256, size, segments, imported_at, os_user)"
        " VALUES (1, 'bench.835', 'bench', 0, 0, ?, 'bench')",
        (now,),
    )
    tx_ids: dict = {}
    claims, rlines, radjs = [], [], []
    for n, (iid, payer, rdate, outcome, lines_) in enumerate(denials, start=1):
        key = (payer, rdate)
        if key not in tx_ids:
            tx_ids[key] = len(tx_ids) + 1
            c.execute(
                "INSERT INTO remit_transactions (id, file_id, st_control, payer_key, payer_id,"
                " handling_code, credit_debit, amount_cents, payment_date, trace_number,"
                " claims_paid_cents, plb_cents, posted_cents, unmatched_cents)"
                " VALUES (?, 1, ?, ?, ?, 'I', 'C', 0, ?, ?, 0, 0, 0, 0)",
                (tx_ids[key], f"{tx_ids[key]:04d}", f"P{payer}", payer, rdate, f"DEN{tx_ids[key]}"),
            )
        total = sum(x[3] for x in lines_)
        claims.append((n, tx_ids[key], iid, total, outcome))
        for lid, g, carc, amt in lines_:
            rlines.append((len(rlines) + 1, n, lid, amt))
            radjs.append((n, len(rlines), g, carc, amt, rdate))
    c.executemany(
        "INSERT INTO remit_claims (id, transaction_id, seq, claim_number, invoice_id, status_code,"
        " charge_cents, paid_cents, outcome) VALUES (?, ?, ?1, 'C', ?, '4', ?, 0, ?)",
        claims,
    )
    c.executemany(
        "INSERT INTO remit_lines (id, claim_id, seq, invoice_line_id, code, charge_cents, paid_cents)"
        " VALUES (?, ?, ?1, ?, 'X', ?, 0)",
        rlines,
    )
    c.executemany(
        "INSERT INTO remit_adjustments (claim_id, line_id, group_code, reason_code, amount_cents,"
        " class, posted_on) VALUES (?, ?, ?, ?, ?, 'denial', ?)",
        radjs,
    )


def database(work: Path, lines: int) -> Path:
    """The cached benchmark database for this scale (built when missing or stale)."""
    path = work / f"reports-{lines}-v{VERSION}.db"
    if not path.exists():
        t0 = time.perf_counter()
        counts = build(path, lines)
        print(f"built {path.name} in {time.perf_counter() - t0:.0f}s: {counts}", file=sys.stderr)
    return path


# The plain SQL a DBA would run in the sqlite3 CLI for the same totals (hand-written; CARC
# categories from the remit set's remit_codes table, dates as literals).
D = AS_OF.isoformat()
FROM = (AS_OF - _dt.timedelta(days=89)).isoformat()
# denials are the 835's CAS kept with class 'denial' (no ledger adjustment: the amount stays open)
DENIED = """(SELECT c.invoice_id, rl.invoice_line_id, ra.group_code, ra.reason_code, ra.amount_cents,
                    ra.posted_on AS created_on
             FROM remit_adjustments ra JOIN remit_claims c ON c.id = ra.claim_id
             LEFT JOIN remit_lines rl ON rl.id = ra.line_id
             WHERE ra.class = 'denial' AND ra.adjustment_id IS NULL AND c.invoice_id IS NOT NULL
               AND c.outcome IN ('paid', 'partially_paid', 'denied', 'reversed'))"""
CARC = "LEFT JOIN remit_codes k ON k.kind = 'CARC' AND k.code = d.reason_code"
BAL = f"""WITH paid AS (SELECT a.invoice_id, SUM(a.amount_cents) s FROM payment_allocations a
    JOIN payments p ON p.id = a.payment_id
                        WHERE p.received_on <= '{D}' GROUP BY a.invoice_id),
 adj AS (SELECT invoice_id, SUM(amount_cents) s FROM adjustments WHERE created_on <= '{D}' GROUP BY invoice_id),
 cred AS (SELECT original_invoice_id invoice_id, SUM(total_cents) s FROM invoices WHERE kind = 'credit'
     AND issued_on <= '{D}'
          GROUP BY original_invoice_id),
 items AS (SELECT i.id, i.kind, i.payer_id, i.patient_id,
                  COALESCE(e.date_of_service, (SELECT MIN(l.date_of_service) FROM invoice_lines l
                      WHERE l.invoice_id = i.id), i.issued_on) dos,
                  i.total_cents + COALESCE(cred.s, 0) - COALESCE(paid.s, 0) - COALESCE(adj.s, 0) bal
           FROM invoices i LEFT JOIN paid ON paid.invoice_id = i.id LEFT JOIN adj ON adj.invoice_id = i.id
           LEFT JOIN cred ON cred.invoice_id = i.id LEFT JOIN encounters e ON e.id = i.encounter_id
           WHERE i.kind != 'credit' AND i.issued_on <= '{D}')"""
AGE = f"CAST(julianday('{D}') - julianday(dos) AS INTEGER)"

ANCHORS = {
    "aging": [
        f"""{BAL} SELECT CASE WHEN kind = 'claim' THEN payer_id END, MIN(4, MAX(0, ({AGE} - 1) / 30)) b, COUNT(*),
            SUM(bal)
                  FROM items WHERE bal != 0 GROUP BY 1, 2;"""
    ],
    "kpi": [
        f"{BAL} SELECT SUM(bal), SUM(CASE WHEN {AGE} > 90 THEN bal END) FROM items;",
        f"""SELECT SUM(c.charge_cents) FROM encounters e JOIN charge_lines c ON c.encounter_id = e.id
                WHERE e.date_of_service BETWEEN '{FROM}' AND '{D}' AND c.status != 'void';""",
        f"SELECT SUM(amount_cents) FROM payments WHERE received_on BETWEEN '{FROM}' AND '{D}';",
        f"""SELECT SUM(d.amount_cents) FROM adjustments d {CARC} WHERE d.created_on BETWEEN '{FROM}' AND '{D}'
                AND d.group_code = 'CO' AND k.category IN ('contractual','payment_adjustment');""",
        f"""WITH post AS (SELECT d.invoice_id, d.created_on day, d.amount_cents amt, 0 den
                              FROM adjustments d WHERE d.source IN ('remit','transfer') AND d.created_on <= '{D}'
                              UNION ALL SELECT d.invoice_id, d.created_on, 0, 1 FROM {DENIED} d
                              WHERE d.amount_cents > 0 AND d.created_on <= '{D}'
                              UNION ALL SELECT a.invoice_id, p.received_on, a.amount_cents, 0 FROM payment_allocations a
                              JOIN payments p ON p.id = a.payment_id WHERE p.kind = 'insurance'
                                  AND p.received_on <= '{D}'),
                     f AS (SELECT invoice_id, MIN(day) first_day, MAX(day) last_day, MAX(den) denied, SUM(amt) settled
                         FROM post GROUP BY invoice_id)
                SELECT SUM(i.issued_on BETWEEN '{FROM}' AND '{D}' AND i.frequency_code = '1'),
                       SUM(i.issued_on BETWEEN '{FROM}' AND '{D}' AND i.frequency_code = '1' AND f.denied = 0
                           AND NOT EXISTS (SELECT 1 FROM invoices o WHERE o.original_invoice_id = i.id)),
                       SUM(f.first_day BETWEEN '{FROM}' AND '{D}'), SUM(f.first_day BETWEEN '{FROM}' AND '{D}'
                           AND f.denied = 1),
                       SUM(f.first_day BETWEEN '{FROM}' AND '{D}' AND f.denied = 0 AND f.first_day = f.last_day
                           AND i.total_cents - f.settled <= 0)
                FROM f JOIN invoices i ON i.id = f.invoice_id WHERE i.kind = 'claim';""",
    ],
    "medicare": [
        f"""SELECT substr(i.issued_on, 1, 7), py.kind, COUNT(*), SUM(i.total_cents) FROM invoices i
            JOIN payers py ON py.id = i.payer_id
            WHERE i.kind = 'claim' AND i.issued_on BETWEEN '2025-12-01' AND '{D}' GROUP BY 1, 2;""",
        f"""SELECT substr(p.received_on, 1, 7), py.kind, SUM(a.amount_cents) FROM payments p
            JOIN payment_allocations a ON a.payment_id = p.id
            JOIN invoices i ON i.id = a.invoice_id JOIN payers py ON py.id = i.payer_id
            WHERE p.kind = 'insurance' AND p.received_on BETWEEN '2025-12-01' AND '{D}' GROUP BY 1, 2;""",
        f"""SELECT substr(d.created_on, 1, 7), py.kind, d.group_code, d.reason_code, SUM(d.amount_cents)
            FROM adjustments d
            JOIN invoices i ON i.id = d.invoice_id JOIN payers py ON py.id = i.payer_id {CARC}
            WHERE d.created_on BETWEEN '2025-12-01' AND '{D}' AND i.kind = 'claim' GROUP BY 1, 2, 3, 4;""",
        f"""SELECT substr(d.created_on, 1, 7), py.kind, d.group_code, d.reason_code, SUM(d.amount_cents)
            FROM {DENIED} d JOIN invoices i ON i.id = d.invoice_id JOIN payers py ON py.id = i.payer_id
            WHERE d.created_on BETWEEN '2025-12-01' AND '{D}' AND i.kind = 'claim' GROUP BY 1, 2, 3, 4;""",
        f"""WITH post AS (SELECT d.invoice_id, d.created_on day, 0 den
                          FROM adjustments d WHERE d.source IN ('remit','transfer')
                              AND d.created_on BETWEEN '2025-12-01' AND '{D}'
                          UNION ALL SELECT d.invoice_id, d.created_on, 1 FROM {DENIED} d
                          WHERE d.amount_cents > 0 AND d.created_on BETWEEN '2025-12-01' AND '{D}'
                          UNION ALL SELECT a.invoice_id, p.received_on, 0 FROM payments p
                              JOIN payment_allocations a ON a.payment_id = p.id
                          WHERE p.kind = 'insurance' AND p.received_on BETWEEN '2025-12-01' AND '{D}')
            SELECT substr(day, 1, 7), py.kind, COUNT(DISTINCT post.invoice_id), COUNT(DISTINCT CASE WHEN den = 1
                THEN post.invoice_id END)
            FROM post JOIN invoices i ON i.id = post.invoice_id JOIN payers py ON py.id = i.payer_id
                WHERE i.kind = 'claim' GROUP BY 1, 2;""",
        f"""WITH fp AS (SELECT a.invoice_id, MIN(p.received_on) day FROM payment_allocations a
            JOIN payments p ON p.id = a.payment_id
                        WHERE p.kind = 'insurance' AND a.amount_cents > 0 GROUP BY a.invoice_id)
            SELECT substr(fp.day, 1, 7), py.kind, AVG(julianday(fp.day) - julianday(i.issued_on)) FROM fp
                JOIN invoices i ON i.id = fp.invoice_id
            JOIN payers py ON py.id = i.payer_id WHERE fp.day BETWEEN '2025-12-01' AND '{D}' GROUP BY 1, 2;""",
    ],
    "payer-mix": [
        f"""SELECT grp, COUNT(*), SUM(ch) FROM (SELECT COALESCE((SELECT i.payer_id FROM invoices i
            WHERE i.encounter_id = e.id
                AND i.kind = 'claim' ORDER BY i.id LIMIT 1), 'OTHER') grp,
                (SELECT SUM(c.charge_cents) FROM charge_lines c WHERE c.encounter_id = e.id AND c.status != 'void') ch
            FROM encounters e WHERE e.date_of_service BETWEEN '{FROM}' AND '{D}') GROUP BY grp;""",
        f"SELECT kind, payer_id, SUM(amount_cents) FROM payments"
        f" WHERE received_on BETWEEN '{FROM}' AND '{D}' GROUP BY 1, 2;",
        f"{BAL} SELECT CASE WHEN kind = 'claim' THEN payer_id END, SUM(bal) FROM items WHERE bal != 0 GROUP BY 1;",
    ],
    "payer-cpt": [
        f"""WITH lp AS (SELECT a.invoice_line_id id, SUM(a.amount_cents) s FROM payment_allocations a
            JOIN payments p ON p.id = a.payment_id
                        WHERE p.kind = 'insurance' AND a.invoice_line_id IS NOT NULL GROUP BY 1),
                 la AS (SELECT id, SUM(pr) pr, MAX(den) den FROM (
                        SELECT d.invoice_line_id id, SUM(CASE WHEN d.group_code = 'PR' THEN d.amount_cents
                            ELSE 0 END) pr, 0 den
                        FROM adjustments d WHERE d.invoice_line_id IS NOT NULL GROUP BY 1
                        UNION ALL SELECT d.invoice_line_id, 0, 1 FROM {DENIED} d
                        WHERE d.invoice_line_id IS NOT NULL AND d.amount_cents > 0 GROUP BY 1) GROUP BY id)
            SELECT l.code, i.payer_id, COUNT(*), SUM(COALESCE(lp.s, 0) > 0), SUM(COALESCE(la.den, 0)),
                AVG(l.amount_cents),
                   AVG(CASE WHEN lp.s > 0 THEN lp.s END), AVG(CASE WHEN lp.s > 0 THEN lp.s + COALESCE(la.pr, 0) END),
                   MIN(CASE WHEN lp.s > 0 THEN lp.s END), MAX(CASE WHEN lp.s > 0 THEN lp.s END)
            FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id LEFT JOIN lp ON lp.id = l.id LEFT
                JOIN la ON la.id = l.id
            WHERE i.kind = 'claim' AND l.date_of_service BETWEEN '{FROM}' AND '{D}' GROUP BY 1, 2 ORDER BY 1, 7 DESC;"""
    ],
    "denials": [
        f"""SELECT COALESCE(k.category, 'other'), COUNT(DISTINCT CASE WHEN d.amount_cents > 0 THEN d.invoice_id END),
                   COUNT(DISTINCT CASE WHEN d.amount_cents > 0 THEN d.invoice_line_id END), SUM(d.amount_cents)
            FROM {DENIED} d {CARC} WHERE d.created_on BETWEEN '{FROM}' AND '{D}' GROUP BY 1
                ORDER BY 4 DESC;""",
        f"""SELECT COUNT(DISTINCT CASE WHEN d.amount_cents > 0 THEN d.invoice_id END) FROM {DENIED} d
            WHERE d.created_on BETWEEN '{FROM}' AND '{D}';""",
    ],
    "daysheet": [
        """SELECT e.number, p.mrn, SUM(c.charge_cents) FROM encounters e JOIN patients p ON p.id = e.patient_id
           JOIN charge_lines c ON c.encounter_id = e.id AND c.status != 'void' WHERE e.date_of_service = '2026-10-15'
               GROUP BY e.id;""",
        "SELECT number, kind, total_cents FROM invoices WHERE issued_on = '2026-10-15';",
        "SELECT id, kind, payer_id, patient_id, amount_cents FROM payments WHERE received_on = '2026-10-15';",
        """SELECT invoice_id, group_code, reason_code, source, SUM(amount_cents) FROM adjustments
            WHERE created_on = '2026-10-15'
           GROUP BY 1, 2, 3, 4;""",
    ],
    "timely-filing": [
        f"""SELECT e.number, p.mrn, SUM(cl.charge_cents) FROM charge_lines cl
            JOIN encounters e ON e.id = cl.encounter_id
            JOIN patients p ON p.id = e.patient_id JOIN coverages c ON c.patient_id = e.patient_id AND c.priority = 1
            AND c.effective_from <= e.date_of_service AND (c.effective_to IS NULL
                OR c.effective_to >= e.date_of_service)
            JOIN payers py ON py.id = c.payer_id
            WHERE cl.status = 'unbilled' GROUP BY e.id
            HAVING MIN(CASE WHEN py.timely_filing_days IS NOT NULL THEN date(e.date_of_service,
                '+' || py.timely_filing_days || ' days')
                            ELSE date(e.date_of_service, '+' || COALESCE(py.timely_filing_months,
                                3) || ' months') END) <= date('{D}', '+30 days');""",
        f"""SELECT i.number, i.total_cents FROM invoices i JOIN payers py ON py.id = i.payer_id
            WHERE i.kind = 'claim' AND NOT EXISTS (SELECT 1 FROM invoices c WHERE c.original_invoice_id = i.id)
              AND NOT EXISTS (SELECT 1 FROM adjustments d WHERE d.invoice_id = i.id
                  AND d.source IN ('remit','transfer'))
              AND NOT EXISTS (SELECT 1 FROM remit_claims r WHERE r.invoice_id = i.id
                  AND r.outcome IN ('paid', 'partially_paid', 'denied'))
              AND NOT EXISTS (SELECT 1 FROM payment_allocations a JOIN payments y ON y.id = a.payment_id
                              WHERE a.invoice_id = i.id AND y.kind = 'insurance')
              AND i.filing_deadline <= date('{D}', '+30 days');""",
    ],
    "coverage-expiring": [
        f"""SELECT c.effective_to, p.mrn, py.code,
                   (SELECT MIN(e.date_of_service) FROM encounters e WHERE e.patient_id = c.patient_id
                       AND e.date_of_service >= '{D}'),
                   (SELECT MAX(e.date_of_service) FROM encounters e WHERE e.patient_id = c.patient_id
                       AND e.date_of_service < '{D}')
            FROM coverages c JOIN patients p ON p.id = c.patient_id JOIN payers py ON py.id = c.payer_id
            WHERE c.effective_to BETWEEN date('{D}', '-30 days') AND date('{D}', '+30 days') ORDER BY 4, 1;"""
    ],
}
SUBJECT_ARGS = {"daysheet": ["--date", "2026-10-15"]}


# what its workloads' names start with: run.py --only skips (and builds no data for) the rest
NAMES = ("report ",)


def workloads(ctx):
    from harness import Workload

    db = database(ctx.work, ctx.scale)
    out = []
    for name, statements in ANCHORS.items():
        sql = ctx.work / f"anchor-{name}.sql"
        sql.write_text("\n".join(statements) + "\n")
        args = SUBJECT_ARGS.get(name, ["--as-of", D])
        out.append(
            Workload(
                name=f"report {name}",
                subject=[ctx.billadmin, "--db", str(db), "report", name, *args, "-f", "csv"],
                anchor=["sh", "-c", f"{ctx.sqlite3 or 'sqlite3'} -csv {db} < {sql}"],
                anchor_name="sqlite3 CLI, same totals",
                target=2.0,
                note=f"{ctx.scale:,} charge lines",
            )
        )
    return out


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "build":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=HERE / "work")
    a = ap.parse_args()
    a.out.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    p = a.out / f"reports-{a.lines}-v{VERSION}.db"
    print(build(p, a.lines), f"{time.perf_counter() - t0:.1f}s", p)
