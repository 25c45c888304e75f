"""Per-payer deadlines: timely filing (initial claims), appeals, corrected claims.

Rules, and where the defaults come from:
- Timely filing is counted from the date of service. A payer's own limit is kept in days
  (``timely_filing_days``) or calendar months (``timely_filing_months``). Without one:
  Medicare 12 months (42 CFR 424.44(a)(1); a Feb 29 service ends Feb 28), Medicaid 12 months
  (42 CFR 447.45(d)(1)), any other payer 90 days - conservative on purpose, so a missing rule
  warns early instead of late; set the payer's contract value with `billadmin payer set`.
  Self-pay has no filing limit.
- Appeals are counted from the remittance (denial) date: ``appeal_days`` (default 120, the
  Medicare redetermination limit, 42 CFR 405.942(a)).
- A corrected claim (frequency 7) is counted from the remittance date when the payer sets
  ``corrected_claim_days``; otherwise the timely-filing limit from the date of service applies
  (Medicare: corrections within 12 months of service, Claims Processing Manual ch. 1 s. 70.5).
- How a payer corrects a claim it adjudicated (``corrections``): 'replacement' (a corrected
  claim, frequency 7 with REF*F8, 837P 005010X222A1 CLM05-3) or 'reopening' (the payer reopens
  its own determination on request; a frequency-7 claim is rejected). Default: Medicare
  'reopening', every other payer 'replacement'. Medicare Part B corrects a processed claim only
  by a reopening (CMS Pub. 100-04 ch. 34 s. 10: a reopening changes a final initial
  determination; clerical errors within one year of it, 42 CFR 405.980(b)(1)) or, for a denial
  the provider disputes, a redetermination (appeal, 42 CFR 405.940). A claim Medicare returned as
  unprocessable (CO-16 with MA130, ch. 1 s. 80.3.2) was never adjudicated: it is resubmitted as
  a new claim (`invoice resubmit`) under either rule.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import dates

if TYPE_CHECKING:
    from ..db import Database


DEFAULT_APPEAL_DAYS = 120
DEFAULT_OTHER_FILING_DAYS = 90
CORRECTIONS = ("reopening", "replacement")
REOPENING_MONTHS = 12  # clerical-error reopening: one year from the determination (405.980(b)(1))


@dataclass(frozen=True)
class PayerRules:
    payer_id: int
    code: str
    name: str
    kind: str
    filing_days: int | None  # exactly one of filing_days / filing_months, or neither (no limit)
    filing_months: int | None
    filing_source: str  # "payer" | "default"
    appeal_days: int
    corrected_claim_days: int | None
    corrections: str = "replacement"  # 'reopening' | 'replacement' (module rules)
    corrections_source: str = "default"  # "payer" | "default"

    @property
    def filing_rule(self) -> str:
        if self.filing_days is not None:
            s = f"{self.filing_days} days from DOS"
        elif self.filing_months is not None:
            s = f"{self.filing_months} months from DOS"
        else:
            return "none"
        return s + (" (default)" if self.filing_source == "default" else "")

    def filing_deadline(self, dos: _dt.date) -> _dt.date | None:
        if self.filing_days is not None:
            return dos + _dt.timedelta(days=self.filing_days)
        if self.filing_months is not None:
            return dates.add_months(dos, self.filing_months)
        return None

    def appeal_deadline(self, remit_date: _dt.date) -> _dt.date:
        return remit_date + _dt.timedelta(days=self.appeal_days)

    def reopening_deadline(self, remit_date: _dt.date) -> _dt.date:
        return dates.add_months(remit_date, REOPENING_MONTHS)

    def corrected_deadline(self, dos: _dt.date, remit_date: _dt.date | None) -> _dt.date | None:
        if self.corrected_claim_days is not None and remit_date is not None:
            return remit_date + _dt.timedelta(days=self.corrected_claim_days)
        return self.filing_deadline(dos)


def from_row(p: dict) -> PayerRules:
    days, months, source = p.get("timely_filing_days"), p.get("timely_filing_months"), "payer"
    if days is None and months is None:
        source = "default"
        if p["kind"] in ("medicare", "medicaid"):
            months = 12
        elif p["kind"] != "self":
            days = DEFAULT_OTHER_FILING_DAYS
    return PayerRules(
        p["id"],
        p["code"],
        p["name"],
        p["kind"],
        days,
        months,
        source,
        p.get("appeal_days") or DEFAULT_APPEAL_DAYS,
        p.get("corrected_claim_days"),
        p.get("corrections") or ("reopening" if p["kind"] == "medicare" else "replacement"),
        "payer" if p.get("corrections") else "default",
    )


def all_rules(conn: Database) -> dict[int, PayerRules]:
    cols = (
        "id",
        "code",
        "name",
        "kind",
        "timely_filing_days",
        "timely_filing_months",
        "appeal_days",
        "corrected_claim_days",
        "corrections",
    )
    return {
        r[0]: from_row(dict(zip(cols, r, strict=True)))
        for r in conn.execute(f"SELECT {', '.join(cols)} FROM payers")
    }


def rule_rows(conn: Database) -> list[dict]:
    """One row per payer: its electronic payer id (what our 837Ps send in 2010BB NM109) and the
    deadlines billadmin applies to it."""
    electronic = dict(conn.execute("SELECT code, x12_payer_id FROM payers").fetchall())
    media = dict(conn.execute("SELECT code, claim_media FROM payers").fetchall())
    out = []
    for r in sorted(all_rules(conn).values(), key=lambda r: r.code):
        out.append(
            {
                "payer": r.code,
                "name": r.name,
                "kind": r.kind,
                "payer_id": electronic.get(r.code),
                "claims": "paper (CMS-1500/UB-04)" if media.get(r.code) == "paper" else "837P",
                "timely_filing": r.filing_rule,
                "appeal_days": r.appeal_days,
                "corrected_claim": (
                    f"{r.corrected_claim_days} days from remittance"
                    if r.corrected_claim_days
                    else "timely-filing limit"
                ),
                "corrections": r.corrections
                + (" (default)" if r.corrections_source == "default" else ""),
            }
        )
    return out


def set_rules(
    conn: Database,
    code: str,
    *,
    filing_days: int | None = None,
    filing_months: int | None = None,
    appeal_days: int | None = None,
    corrected_claim_days: int | None = None,
    clear_corrected: bool = False,
    claim_media: str | None = None,
    corrections: str | None = None,
) -> dict:
    """Change one payer's rules in one write transaction, audited. Returns the new rule row.
    claim_media: 'paper' (its claims printed on the CMS-1500 or UB-04) or 'electronic' (837P
    and 837I);
    corrections: 'reopening' or 'replacement' (module rules)."""
    from .. import audit, db
    from ..errors import BadInput
    from . import lookup

    if filing_days is not None and filing_months is not None:
        raise BadInput("give --timely-filing-days or --timely-filing-months, not both")
    for name, v, hi in (
        ("--timely-filing-days", filing_days, 3650),
        ("--timely-filing-months", filing_months, 120),
        ("--appeal-days", appeal_days, 3650),
        ("--corrected-claim-days", corrected_claim_days, 3650),
    ):
        if v is not None and not (1 <= v <= hi):
            raise BadInput(f"{name} must be between 1 and {hi}")
    if corrected_claim_days is not None and clear_corrected:
        raise BadInput("give --corrected-claim-days or --no-corrected-claim-days, not both")
    if claim_media not in (None, "paper", "electronic"):
        raise BadInput("claims go on 'paper' or 'electronic'")
    if corrections is not None:
        corrections = corrections.strip().lower()
        if corrections not in CORRECTIONS:
            raise BadInput("--corrections must be reopening or replacement")
    if (
        all(
            v is None
            for v in (
                filing_days,
                filing_months,
                appeal_days,
                corrected_claim_days,
                claim_media,
                corrections,
            )
        )
        and not clear_corrected
    ):
        raise BadInput(
            "nothing to set: give at least one of --timely-filing-days, --timely-filing-months, "
            "--appeal-days, --corrected-claim-days, --paper/--electronic, --corrections"
        )
    p = lookup.payer(conn, code)
    changes: dict = {}
    if filing_days is not None:
        changes.update(timely_filing_days=filing_days, timely_filing_months=None)
    if filing_months is not None:
        changes.update(timely_filing_months=filing_months, timely_filing_days=None)
    if appeal_days is not None:
        changes["appeal_days"] = appeal_days
    if corrected_claim_days is not None:
        changes["corrected_claim_days"] = corrected_claim_days
    if clear_corrected:
        changes["corrected_claim_days"] = None
    if claim_media is not None:
        changes["claim_media"] = claim_media
    if corrections is not None:
        changes["corrections"] = corrections
    with db.write(conn):
        sets = ", ".join(f"{k} = :{k}" for k in changes)
        conn.execute(f"UPDATE payers SET {sets} WHERE id = :id", {**changes, "id": p["id"]})
        before = {k: p[k] for k in changes}
        audit.record(
            conn,
            "payer set",
            entity="payer",
            ids=[p["id"]],
            detail={"before": before, "after": changes},
        )
    return next(r for r in rule_rows(conn) if r["payer"] == p["code"])


def carc_rule_rows(conn: Database, code: str | None = None) -> list[dict]:
    """A payer's CAS classification overrides (remit.carc_rules), or every payer's."""
    args: tuple = ()
    where = ""
    if code:
        from . import lookup

        args = (lookup.payer(conn, code)["id"],)
        where = " WHERE r.payer_id = ?"
    from ..remit import carc_rules

    return [
        {
            "payer": p,
            "group": g,
            "carc": c,
            "class": k,
            "default": carc_rules.default_class(g, c)[0],
            "set_at": at,
        }
        for p, g, c, k, at in conn.execute(
            "SELECT py.code, r.group_code, r.reason_code, r.class, r.set_at FROM payer_carc_rules r"
            f" JOIN payers py ON py.id = r.payer_id{where} ORDER BY py.code, r.group_code,"
            " r.reason_code",
            args,
        )
    ]


def set_carc_rule(conn: Database, code: str, group_carc: str, cls: str) -> dict:
    """Set how one payer's 835s classify GROUP-CARC (e.g. CO-97 contractual), or 'default' to
    remove the override; one write, audited. Applies to 835s posted from now on."""
    from .. import audit, db
    from ..errors import BadInput
    from ..remit import carc_rules
    from . import lookup

    try:
        group, reason = carc_rules.parse_code(group_carc)
    except ValueError as e:
        raise BadInput(f"{group_carc!r}: {e}") from None
    cls = cls.strip().lower().replace("-", "_")
    if cls not in (*carc_rules.CLASSES, "default"):
        raise BadInput(f"class must be one of {', '.join(carc_rules.CLASSES)} or default")
    p = lookup.payer(conn, code)
    with db.write(conn):
        if cls == "default":
            conn.execute(
                "DELETE FROM payer_carc_rules WHERE payer_id = ? AND group_code = ?"
                " AND reason_code = ?",
                (p["id"], group, reason),
            )
        else:
            conn.execute(
                "INSERT INTO payer_carc_rules (payer_id, group_code, reason_code, class, set_at)"
                " VALUES (?,?,?,?,?) ON CONFLICT (payer_id, group_code, reason_code)"
                " DO UPDATE SET class = excluded.class, set_at = excluded.set_at",
                (p["id"], group, reason, cls, audit.utcnow()),
            )
        audit.record(
            conn,
            "payer carc-rule",
            entity="payer",
            ids=[p["id"]],
            detail={"code": f"{group}-{reason}", "class": cls},
        )
    return {
        "payer": p["code"],
        "group": group,
        "carc": reason,
        "class": cls if cls != "default" else carc_rules.default_class(group, reason)[0],
        "default": carc_rules.default_class(group, reason)[0],
    }
