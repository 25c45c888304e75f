"""What the demo's charges carry beyond code and charge (issue 20), and its authorization step.

* Injections (J1030, J3301) carry their NDC, unit and quantity (J3301's written as a 10-digit
  4-4-2 NDC, the way a package prints it: the import pads it to 11 digits).
* Laboratory tests carry the practice's CLIA number (its in-office lab) and, with imaging, the
  ordering provider: the physician who saw the patient ordered them.
* Physical therapy (97110, 97140) is a specialist referral: an orthopedic surgeon outside the
  practice referred the patient (the referring provider), and Blue Valley HMO requires both a
  referral and a prior authorization for therapy (`auth require`).
* step_auths records Blue Valley's authorizations for its therapy patients, each covering their
  visits with a few to spare, except one patient's, which allowed exactly the visits they had:
  the authorization-limited therapy that `billadmin auth expiring` lists as used up.
Every number is invented (the NPI carries a valid check digit, nothing else is real).
"""

from __future__ import annotations

from .. import npi

CLIA = "36D0998877"
NDCS = {"J1030": ("12345-0103-01", "ML", "1"), "J3301": ("1234-0301-05", "ML", "1")}
REFERRING = {"npi": npi.make("118273645"), "first": "Elena", "last": "Voss"}
THERAPY = ("97110", "97140")
AUTH_PAYER = "BVHMO"
EXTRA_HEADERS = [
    "NDC",
    "NDC Unit",
    "NDC Quantity",
    "Ordering NPI",
    "Ordering Last Name",
    "Ordering First Name",
    "Referring NPI",
    "Referring Last Name",
    "Referring First Name",
    "CLIA",
]


def claim_field_cells(code: str, rendering: dict) -> dict[str, str]:
    """The claim-field cells of one demo charge line (empty ones left out)."""
    from ..auths.rules import IMAGING_CODES, is_lab, matches

    out: dict[str, str] = {}
    if code in NDCS:
        out["NDC"], out["NDC Unit"], out["NDC Quantity"] = NDCS[code]
    lab = is_lab(code)
    if lab or matches(IMAGING_CODES, code):
        out["Ordering NPI"] = rendering["NPI"]
        out["Ordering Last Name"] = rendering["Last Name"]
        out["Ordering First Name"] = rendering["First Name"]
    if lab:
        out["CLIA"] = CLIA
    if code in THERAPY:
        out["Referring NPI"] = REFERRING["npi"]
        out["Referring Last Name"] = REFERRING["last"]
        out["Referring First Name"] = REFERRING["first"]
    return out


def step_auths(ctx) -> None:
    """Blue Valley HMO's therapy rules and its authorizations for the demo's therapy patients."""
    import datetime as _dt

    from ..auths import register
    from ..billing import content

    conn = ctx.conn
    codes = ",".join(THERAPY)
    for what in ("auth", "referring"):
        register.require(conn, payer=AUTH_PAYER, requirement=what, codes=codes)
    visits: dict[int, list[str]] = {}  # patient -> the date of each therapy encounter
    for pid, dos in conn.execute(
        "SELECT e.patient_id, e.date_of_service FROM encounters e WHERE EXISTS (SELECT 1 FROM"
        f" charge_lines l WHERE l.encounter_id = e.id AND l.code IN ({','.join('?' * len(THERAPY))}))"
        " ORDER BY e.patient_id, e.date_of_service, e.id",
        THERAPY,
    ):
        visits.setdefault(pid, []).append(dos)
    payers = content.load_payers(conn)
    bv_id = next(p["id"] for p in payers.values() if p["code"] == AUTH_PAYER)
    t = content.temp_ids(conn, "_demo_auth_pat", visits)
    covs = content.load_coverages(conn, t)
    mrns = dict(conn.execute(f"SELECT p.id, p.mrn FROM patients p JOIN {t} t ON t.id = p.id"))
    added = limited = 0
    for pid, days in visits.items():
        # the visits billed to Blue Valley: the primary coverage active on each day
        mine = [
            d
            for d in days
            if (act := content.active_coverages(covs.get(pid, []), d, payers))
            and payers[act[0]["payer_id"]]["code"] == AUTH_PAYER
        ]
        if not mine:
            continue
        start = _dt.date.fromisoformat(mine[0]) - _dt.timedelta(days=3)
        end = ctx.as_of + _dt.timedelta(days=60)
        # the visits the register will count (auths/register.py), before it is recorded
        probe = register.Auth(
            0, bv_id, pid, "", "prior_auth", codes, start.isoformat(), end.isoformat(), None, 0
        )
        used = len(register.visits(conn, probe))
        register.add(
            conn,
            payer=AUTH_PAYER,
            mrn=mrns[pid],
            number=f"BV{pid:06d}",
            codes=codes,
            valid_from=start,
            valid_to=end,
            visits=used + (4 if limited else 0),
        )
        added += 1
        limited = 1
    ctx.summary.counts["authorizations"] = added
    ctx.summary.steps.append(
        f"Recorded {AUTH_PAYER}'s rules (prior authorization and referral for therapy) and"
        f" {added} authorizations (billadmin auth add); one allowed exactly the visits its"
        " patient had: billadmin auth expiring lists it"
    )
