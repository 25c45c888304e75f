"""The type of bill (UB-04 form locator 4; 837I CLM05-1 and CLM05-3) and the coded values the
claim header carries, in our own words.

A type of bill is three characters: the type of facility, the bill classification (whose meaning
depends on the facility type) and the frequency (where the bill sits in the episode: an original,
an interim bill, a late charge, a replacement or a void). The structure is public (NUBC UB-04
data specifications; CMS Pub. 100-04 ch. 25 s. 75.1, FL 4); the descriptions below are ours,
not the licensed NUBC text. Only the combinations in BILL_TYPES exist: a type of bill built of
any other pair is refused at import.
"""

from __future__ import annotations

FACILITY_TYPES = {
    "1": "hospital",
    "2": "skilled nursing facility",
    "3": "home health agency",
    "4": "religious non-medical health care institution",
    "6": "intermediate care facility",
    "7": "clinic",
    "8": "special facility",
}

# facility type + classification -> what the bill is for
BILL_TYPES = {
    "11": "hospital inpatient (Part A)",
    "12": "hospital inpatient, Part B only",
    "13": "hospital outpatient",
    "14": "hospital, non-patient (referred specimens)",
    "18": "hospital swing bed",
    "21": "skilled nursing inpatient (Part A)",
    "22": "skilled nursing inpatient, Part B only",
    "23": "skilled nursing outpatient",
    "28": "skilled nursing swing bed",
    "32": "home health under a plan of treatment",
    "34": "home health, other",
    "41": "religious non-medical institution, inpatient",
    "43": "religious non-medical institution, outpatient",
    "65": "intermediate care, level I",
    "66": "intermediate care, level II",
    "71": "rural health clinic",
    "72": "renal dialysis facility",
    "73": "federally qualified health center",
    "74": "outpatient rehabilitation facility",
    "75": "comprehensive outpatient rehabilitation facility",
    "76": "community mental health center",
    "77": "federally qualified health center (PPS)",
    "79": "other clinic",
    "81": "hospice, not hospital based",
    "82": "hospice, hospital based",
    "83": "ambulatory surgery in a hospital outpatient setting",
    "84": "free-standing birthing center",
    "85": "critical access hospital",
    "86": "residential facility",
    "89": "other special facility",
}

# the classifications billed as an inpatient stay (admission data and POA indicators apply)
INPATIENT = frozenset({"11", "12", "18", "21", "22", "28", "41", "65", "66", "81", "82", "86"})

FREQUENCIES = {
    "0": "non-payment or zero claim",
    "1": "admission through discharge",
    "2": "interim, first claim",
    "3": "interim, continuing claim",
    "4": "interim, last claim",
    "5": "late charges only",
    "7": "replacement of a prior claim",
    "8": "void of a prior claim",
    "9": "final claim of a home health episode",
}
# frequencies a claim can be imported with: a replacement (7) or void (8) is issued by
# `invoice replace|void` from the claim it corrects, never imported
IMPORT_FREQUENCIES = frozenset({"0", "1", "2", "3", "4", "5", "9"})

# present-on-admission indicator (837I HI0x-9): Y yes, N no, U not documented, W clinically
# undetermined, 1 exempt (reported by some payers in place of a blank), blank exempt or not
# applicable (CMS Pub. 100-04 ch. 3 s. 20.3.1.1 and the 837I guide's HI notes)
POA_VALUES = frozenset({"Y", "N", "U", "W", "1", ""})

DIAGNOSIS_QUALIFIERS = {
    "ABK": "principal diagnosis",
    "ABJ": "admitting diagnosis",
    "APR": "patient's reason for visit",
    "ABF": "other diagnosis",
    "ABN": "external cause of injury",
}
PROCEDURE_QUALIFIERS = {"BBR": "principal procedure", "BBQ": "other procedure"}
UNIT_TYPES = {"UN": "units", "DA": "days"}


def check_type_of_bill(value: str) -> str:
    """The three-character type of bill (a leading 0, as printed on the UB-04, is dropped), or
    ValueError naming what is wrong without echoing the value."""
    tob = (value or "").strip().upper()
    if len(tob) == 4 and tob[0] == "0":
        tob = tob[1:]
    if len(tob) != 3:
        raise ValueError(
            "a type of bill has 3 characters (facility type, classification, frequency)"
        )
    if tob[0] not in FACILITY_TYPES:
        raise ValueError("the type of facility (first digit) does not exist")
    if tob[:2] not in BILL_TYPES:
        raise ValueError(
            "the bill classification (second digit) does not exist for that type of facility"
        )
    if tob[2] not in FREQUENCIES:
        raise ValueError("the frequency (third digit) does not exist")
    return tob


def is_inpatient(type_of_bill: str) -> bool:
    return type_of_bill[:2] in INPATIENT
