"""What acknowledgement codes mean, in plain words, and what the clerk does about them.

Only the codes billadmin meets are listed; any other code is shown as its number with the list
to look it up in. Sources:
- TA1 interchange note codes (TA105) and acknowledgement codes (TA104): ASC X12 005010 control
  segments, code source I18 (as printed in the 005010X231A1 TR3, appendix B).
- 999 codes: TR3 005010X231A1 (Implementation Acknowledgment for Health Care Insurance):
  IK304 segment syntax error codes (data element 620), IK403 element syntax error codes (621),
  IK501 / AK901 acknowledgement codes (717 / 715), IK502 transaction set syntax error codes
  (718), AK905 functional group syntax error codes (716).
- 277CA / 277: Claim Status Category Codes, external code list 507, and Claim Status Codes,
  external code list 508 (https://x12.org/codes/claim-status-category-codes and
  https://x12.org/codes/claim-status-codes); the category meanings below shorten the list's
  own descriptions. Entity identifier codes (STC01-3): data element 98.
"""

from __future__ import annotations

# 277CA / 277 category (ECL 507) -> (outcome, plain words)
CATEGORIES: dict[str, tuple[str, str]] = {
    "A0": ("forwarded", "forwarded to another entity"),
    "A1": ("received", "received; not yet accepted for processing"),
    "A2": ("accepted", "accepted into the payer's adjudication system"),
    "A3": ("rejected", "returned as unprocessable: never entered adjudication"),
    "A4": ("not_found", "not found in the adjudication system"),
    "A5": ("accepted", "accepted and split by the payer"),
    "A6": ("rejected", "rejected: information missing"),
    "A7": ("rejected", "rejected: information invalid"),
    "A8": ("rejected", "rejected: fields that must agree with each other do not"),
    "E0": ("info", "the request could not be answered (a response error)"),
    "E1": ("info", "the payer's system is unavailable"),
    "F0": ("finalized", "finalized"),
    "F1": ("finalized", "finalized: paid"),
    "F2": ("finalized", "finalized: denied"),
    "F3": ("finalized", "finalized: revised"),
    "F4": ("finalized", "finalized: adjudication complete, no payment forthcoming"),
    "P0": ("pending", "pending: adjudication or details"),
    "P1": ("pending", "pending: in process"),
    "P2": ("pending", "pending: in review"),
    "P3": ("pending", "pending: more information requested"),
    "P4": ("pending", "pending: the patient is asked for information"),
    "P5": ("pending", "pending: in the payer's administrative or system process"),
    "R0": ("pending", "information requested"),
}

# Claim status codes (ECL 508) -> (plain words, what to fix)
STATUS: dict[str, tuple[str, str]] = {
    "0": ("no further status electronically", "call the payer"),
    "1": ("see the remittance advice", "wait for the 835"),
    "3": ("adjudicated, awaiting the payment cycle", "wait for the 835"),
    "19": ("received by the entity", "nothing: wait for acceptance"),
    "20": ("accepted for processing", "nothing"),
    "21": ("information missing or invalid", "check the claim against the payer's rules"),
    "33": (
        "subscriber and subscriber id not found",
        "check the member id and subscriber on the coverage (eligibility request)",
    ),
    "35": ("claim not found", "send the claim again if it was never received"),
    "54": ("duplicate of a claim already processed", "do not resend; wait for the 835"),
    "116": ("sent to the wrong payer", "check which coverage is primary"),
    "158": ("the entity's date of birth", "correct the birth date to match the payer's record"),
    "164": (
        "the entity's contract/member number",
        "correct the member id on the coverage (card or eligibility 271)",
    ),
    "187": ("the date(s) of service", "check the dates of service"),
    "400": ("the claim is out of balance", "line charges must add up to the total"),
    "454": ("the procedure code", "check the procedure code and modifiers"),
    "562": (
        "the entity's National Provider Identifier (NPI)",
        "add or correct the provider's NPI (for a referring provider: the referral's NPI)",
    ),
}

# STC01-3 / STC10-3 entity codes (data element 98) we name
ENTITIES: dict[str, str] = {
    "03": "dependent",
    "1P": "provider",
    "40": "receiver",
    "41": "submitter",
    "77": "service location",
    "82": "rendering provider",
    "85": "billing provider",
    "DN": "referring provider",
    "DK": "ordering provider",
    "IL": "subscriber",
    "QC": "patient",
    "PR": "payer",
    "AY": "clearinghouse",
}

# 999 (005010X231A1)
IK3_ERRORS: dict[str, str] = {
    "1": "unrecognized segment",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs too many times",
    "5": "segment exceeds its maximum use",
    "6": "segment not in the transaction set",
    "7": "segment out of sequence",
    "8": "segment has data element errors",
    "I4": "segment not used in the implementation",
    "I6": "implementation dependent segment missing",
    "I7": "implementation loop occurs under the minimum times",
    "I8": "implementation segment below the minimum use",
    "I9": "implementation dependent 'not used' segment present",
}
IK4_ERRORS: dict[str, str] = {
    "1": "required element missing",
    "2": "conditional required element missing",
    "3": "too many elements",
    "4": "element too short",
    "5": "element too long",
    "6": "invalid character",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I10": "implementation 'not used' element present",
    "I11": "implementation too few repetitions",
    "I12": "implementation pattern match failure",
    "I13": "implementation dependent 'not used' element present",
    "I6": "code value not used in the implementation",
    "I9": "implementation dependent element missing",
}
IK5_CODES = {"A": "accepted", "E": "accepted with errors", "M": "rejected", "R": "rejected",
             "W": "rejected", "X": "rejected"}  # fmt: skip
IK502_ERRORS: dict[str, str] = {
    "1": "transaction set not supported",
    "2": "transaction set trailer missing",
    "3": "control number in header and trailer do not match",
    "4": "number of included segments does not match the actual count",
    "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number",
    "23": "transaction set control number not unique within the group",
    "I5": "implementation one or more segments in error",
    "I6": "implementation convention not supported",
}
AK9_CODES = {"A": "accepted", "E": "accepted with errors", "P": "partially accepted",
             "R": "rejected", "M": "rejected", "W": "rejected", "X": "rejected"}  # fmt: skip
TA1_CODES = {"A": "accepted", "E": "accepted with errors", "R": "rejected"}
TA1_NOTES: dict[str, str] = {
    "000": "no error",
    "001": "interchange control numbers in header and trailer do not match",
    "002": "standard not supported",
    "003": "version of the controls not supported",
    "004": "segment terminator invalid",
    "005": "invalid interchange id qualifier for the sender",
    "006": "invalid interchange sender id",
    "007": "invalid interchange id qualifier for the receiver",
    "008": "invalid interchange receiver id",
    "009": "unknown interchange receiver id",
    "010": "invalid authorization information qualifier",
    "011": "invalid authorization information",
    "012": "invalid security information qualifier",
    "013": "invalid security information",
    "014": "invalid interchange date",
    "015": "invalid interchange time",
    "016": "invalid interchange standards identifier",
    "017": "invalid interchange version id",
    "018": "invalid interchange control number",
    "019": "invalid acknowledgment requested value",
    "020": "invalid test indicator value",
    "021": "invalid number of included groups",
    "022": "invalid control structure",
    "023": "improper end of file",
    "024": "invalid interchange content",
    "025": "duplicate interchange control number",
}


def category_words(code: str) -> str:
    got = CATEGORIES.get(code)
    return got[1] if got else f"status category {code} (see X12 code list 507)"


def outcome(category: str) -> str:
    got = CATEGORIES.get(category)
    return got[0] if got else "info"


def status_words(code: str) -> str:
    got = STATUS.get(code)
    return got[0] if got else f"status code {code} (see X12 code list 508)"


def fix_words(code: str) -> str:
    got = STATUS.get(code)
    return got[1] if got else "look the code up in X12 code list 508 and correct the claim"


def entity_words(code: str) -> str:
    return ENTITIES.get(code, f"entity {code}") if code else ""


def explain(category: str, code: str, entity: str = "") -> str:
    """'rejected: information invalid - the entity's date of birth (subscriber)'."""
    out = f"{category_words(category)} - {status_words(code)}"
    return out + (f" ({entity_words(entity)})" if entity else "")
