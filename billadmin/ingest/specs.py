"""The columns each import kind reads (the documented default headers are demo.HEADERS).

Light on purpose: the command module imports this at start-up to list the columns in --help.
"""

from __future__ import annotations

from .fields import Column, enum_choices

SEX = enum_choices({"M": ["male", "m"], "F": ["female", "f"], "U": ["unknown", "u", "unk"]})
PAYER_KIND = enum_choices(
    {
        "medicare": ["medicare part b", "mcr"],
        "medicaid": ["mcd"],
        "hmo": ["managed care"],
        "commercial": ["private", "ppo", "epo", "pos", "indemnity", "bcbs"],
        "self": ["self pay", "selfpay", "self-pay", "none"],
    }
)
RELATIONSHIP = enum_choices(
    {
        "self": ["18", "patient", "insured"],
        "spouse": ["01", "husband", "wife"],
        "child": ["19", "dependent", "son", "daughter"],
        "other": ["G8", "21"],
    }
)
PRIORITY = enum_choices(
    {1: ["primary", "1", "p"], 2: ["secondary", "2", "s"], 3: ["tertiary", "3", "t"]}
)
YES_NO = enum_choices(
    {1: ["yes", "y", "true", "1", "active"], 0: ["no", "n", "false", "0", "inactive"]}
)
# Medicare secondary payer type: 837P SBR05 when Medicare is secondary (005010X222A1 2000B SBR05)
MSP_TYPE = enum_choices(
    {
        "12": ["working aged"],
        "13": ["esrd"],
        "14": ["no-fault", "auto"],
        "15": ["workers compensation", "workers comp"],
        "16": ["phs", "federal agency"],
        "41": ["black lung"],
        "42": ["veterans", "va"],
        "43": ["disabled"],
        "47": ["other liability"],
    }
)

PATIENTS = [
    Column(
        "mrn",
        "MRN",
        "id",
        True,
        (
            "Medical Record Number",
            "Patient ID",
            "Chart Number",
            "Chart No",
            "Account",
            "Account Number",
        ),
    ),
    Column("first_name", "First Name", "text", True, ("First", "Given Name")),
    Column("last_name", "Last Name", "text", True, ("Last", "Surname", "Family Name")),
    Column(
        "dob", "DOB", "date", True, ("Date of Birth", "Birth Date", "Birthdate"), past_only=True
    ),
    Column("sex", "Sex", "enum", True, ("Gender",), choices=SEX),
    Column(
        "address1", "Address", "text", False, ("Address 1", "Address1", "Street", "Address Line 1")
    ),
    Column(
        "address2",
        "Address 2",
        "text",
        False,
        ("Address2", "Address Line 2", "Apt", "Suite"),
        extra=True,
    ),
    Column("city", "City", "text"),
    Column("state", "State", "state"),
    Column("zip", "ZIP", "zip", False, ("Zip Code", "Postal Code", "Zipcode")),
    Column("phone", "Phone", "phone", False, ("Phone Number", "Home Phone", "Telephone")),
]

PROVIDERS = [
    Column("npi", "NPI", "npi", True, ("Provider NPI", "Rendering NPI")),
    Column("first_name", "First Name", "text", False, ("First",)),
    Column("last_name", "Last Name", "text", True, ("Last", "Name", "Organization Name")),
    Column("taxonomy", "Taxonomy", "code", False, ("Taxonomy Code", "Specialty Taxonomy")),
    Column(
        "active",
        "Active",
        "enum",
        False,
        choices=YES_NO,
        help="yes/no; default yes",
        default=1,
        extra=True,
    ),
]

PAYERS = [
    Column(
        "code",
        "Code",
        "payer",
        True,
        ("Payer Code",),
        help="your short code (1-15 of A-Z 0-9 _ -), used by coverage and fee-schedule files",
    ),
    Column("name", "Name", "text", True, ("Payer Name",)),
    Column("kind", "Kind", "enum", True, ("Type", "Payer Type", "Plan Type"), choices=PAYER_KIND),
    Column(
        "x12_payer_id",
        "Payer ID",
        "id",
        False,
        ("Electronic Payer ID", "X12 Payer ID", "EDI Payer ID"),
        x12=True,
    ),
    Column(
        "timely_filing_days",
        "Timely Filing Days",
        "int",
        False,
        ("Filing Limit Days",),
        help="empty for Medicare: 12 months from the date of service (42 CFR 424.44)",
    ),
    Column("timely_filing_months", "Timely Filing Months", "int", extra=True),
    Column("appeal_days", "Appeal Days", "int", help="default 120", default=120, extra=True),
    Column("corrected_claim_days", "Corrected Claim Days", "int", extra=True),
    Column("address1", "Address", "text", False, ("Address 1", "Street"), extra=True),
    Column("city", "City", "text", extra=True),
    Column("state", "State", "state", extra=True),
    Column("zip", "ZIP", "zip", False, ("Zip Code", "Postal Code"), extra=True),
]

COVERAGE = [
    Column(
        "mrn",
        "MRN",
        "id",
        True,
        ("Patient MRN", "Patient ID", "Medical Record Number", "Chart Number", "Chart No"),
    ),
    Column("payer_code", "Payer Code", "code", True, ("Payer",)),
    Column(
        "member_id",
        "Member ID",
        "id",
        False,
        ("Subscriber ID", "Policy Number", "Insurance ID", "Member Number"),
        help="required unless the payer's kind is self",
        x12=True,
    ),
    Column("group_number", "Group", "text", False, ("Group Number", "Group No"), x12=True),
    Column(
        "relationship",
        "Relationship",
        "enum",
        False,
        ("Relationship to Subscriber", "Patient Relationship"),
        choices=RELATIONSHIP,
        default="self",
        help="the patient's relationship to the subscriber; default self",
    ),
    Column("subscriber_first", "Subscriber First Name", "text"),
    Column(
        "subscriber_last",
        "Subscriber Last Name",
        "text",
        help="required when relationship is not self",
    ),
    Column("subscriber_dob", "Subscriber DOB", "date", past_only=True),
    Column("subscriber_sex", "Subscriber Sex", "enum", choices=SEX, extra=True),
    Column(
        "priority",
        "Priority",
        "enum",
        False,
        ("Order", "Coverage Order"),
        choices=PRIORITY,
        default=1,
        help="default primary",
    ),
    Column(
        "effective_from", "Effective From", "date", True, ("Start Date", "Effective Date", "From")
    ),
    Column("effective_to", "Effective To", "date", False, ("End Date", "Termination Date", "To")),
    Column("copay_cents", "Copay", "money", False, ("Copay Amount",), default=0),
    Column(
        "msp_type",
        "MSP Type",
        "enum",
        False,
        ("Medicare Secondary Payer Type", "SBR05"),
        choices=MSP_TYPE,
        help="Medicare coverage that is secondary: 12 working aged, 13 ESRD, 14 no-fault,"
        " 15 workers' comp, 16 federal agency, 41 black lung, 42 VA, 43 disabled,"
        " 47 other liability",
        extra=True,
    ),
    Column(
        "qmb",
        "QMB",
        "enum",
        False,
        ("Qualified Medicare Beneficiary",),
        choices=YES_NO,
        default=0,
        help="yes: never billed Medicare cost-sharing",
        extra=True,
    ),
]

FEE_SCHEDULE = [
    Column(
        "payer",
        "Payer",
        "code",
        True,
        ("Payer Code",),
        help='a payer code, or "default" for every payer',
    ),
    Column("code", "Code", "code", True, ("CPT", "HCPCS", "Procedure Code", "CPT/HCPCS")),
    Column("modifier", "Modifier", "code", False, ("Mod",), default=""),
    Column("amount_cents", "Amount", "money", True, ("Fee", "Allowed", "Price")),
    Column("effective_from", "Effective From", "date", True, ("Start Date", "From")),
    Column("effective_to", "Effective To", "date", False, ("End Date", "To")),
]

NDC_UNIT = enum_choices(
    {
        "F2": ["international unit", "iu"],
        "GR": ["gram", "g"],
        "ME": ["milligram", "mg"],
        "ML": ["milliliter", "millilitre", "mL"],
        "UN": ["unit", "each", "ea"],
    }
)
ACCIDENT_CAUSE = enum_choices(
    {
        "AA": ["auto", "auto accident"],
        "EM": ["employment", "work"],
        "OA": ["other", "other accident"],
    }
)
# issue 20: what real claims carry (ingest/claim_fields.py states the rules); all optional
CLAIM_FIELD_COLUMNS = [
    Column(
        "ndc",
        "NDC",
        "text",
        False,
        ("National Drug Code", "NDC Code", "Drug NDC"),
        extra=True,
        help="11 digits 5-4-2; a hyphenated 10-digit NDC is padded",
    ),
    Column(
        "ndc_unit",
        "NDC Unit",
        "enum",
        False,
        ("NDC Unit of Measure", "Drug Unit"),
        choices=NDC_UNIT,
        extra=True,
    ),
    Column("ndc_quantity", "NDC Quantity", "text", False, ("NDC Qty", "Drug Quantity"), extra=True),
    Column("ordering_npi", "Ordering NPI", "npi", False, ("Ordering Provider NPI",), extra=True),
    Column(
        "ordering_last",
        "Ordering Last Name",
        "text",
        False,
        ("Ordering Provider Last Name",),
        extra=True,
    ),
    Column(
        "ordering_first",
        "Ordering First Name",
        "text",
        False,
        ("Ordering Provider First Name",),
        extra=True,
    ),
    Column("referring_npi", "Referring NPI", "npi", False, ("Referring Provider NPI",), extra=True),
    Column(
        "referring_last",
        "Referring Last Name",
        "text",
        False,
        ("Referring Provider Last Name",),
        extra=True,
    ),
    Column(
        "referring_first",
        "Referring First Name",
        "text",
        False,
        ("Referring Provider First Name",),
        extra=True,
    ),
    Column(
        "prior_auth",
        "Prior Auth",
        "id",
        False,
        ("Prior Authorization", "Authorization Number", "Auth Number", "PA Number"),
        x12=True,
        extra=True,
    ),
    Column(
        "referral_number",
        "Referral Number",
        "id",
        False,
        ("Referral", "Referral No"),
        x12=True,
        extra=True,
    ),
    Column("clia", "CLIA", "text", False, ("CLIA Number", "CLIA No"), extra=True),
    Column(
        "onset_date",
        "Onset Date",
        "date",
        False,
        ("Date of Onset", "Onset"),
        past_only=True,
        extra=True,
    ),
    Column(
        "initial_treatment_date",
        "Initial Treatment Date",
        "date",
        False,
        (),
        past_only=True,
        extra=True,
    ),
    Column("last_seen_date", "Last Seen Date", "date", False, (), past_only=True, extra=True),
    Column(
        "accident_date",
        "Accident Date",
        "date",
        False,
        ("Date of Accident",),
        past_only=True,
        extra=True,
    ),
    Column(
        "accident_cause",
        "Accident Cause",
        "enum",
        False,
        ("Accident Type",),
        choices=ACCIDENT_CAUSE,
        extra=True,
    ),
    Column("accident_state", "Accident State", "state", False, (), extra=True),
]

CHARGES = [
    Column(
        "encounter",
        "Encounter",
        "id",
        True,
        ("Encounter Number", "Visit", "Visit Number", "Encounter ID"),
    ),
    Column(
        "mrn",
        "MRN",
        "id",
        True,
        ("Patient MRN", "Patient ID", "Medical Record Number", "Chart Number", "Chart No"),
    ),
    Column("dos", "DOS", "date", True, ("Date of Service", "Service Date"), past_only=True),
    Column("npi", "Rendering NPI", "npi", True, ("NPI", "Provider NPI", "Rendering Provider NPI")),
    Column(
        "pos",
        "POS",
        "code",
        False,
        ("Place of Service",),
        default="11",
        help="2 digits, default 11 (office)",
    ),
    Column("line", "Line", "int", True, ("Line Number", "Line No")),
    Column("code", "Code", "code", True, ("CPT", "HCPCS", "Procedure Code", "CPT/HCPCS")),
    *[
        Column(f"mod{i}", f"Mod{i}", "code", False, (f"Modifier {i}", f"Modifier{i}"))
        for i in range(1, 5)
    ],
    *[
        Column(f"dx{i}", f"Dx{i}", "dx", False, (f"Diagnosis {i}", f"Diag{i}", f"ICD{i}"))
        for i in range(1, 13)
    ],
    Column(
        "pointers",
        "Pointers",
        "text",
        False,
        ("Dx Pointers", "Diagnosis Pointers", "Pointer", "Dx Pointer", "Diagnosis Pointer"),
        help='"1,2" or "12" or "AB": up to 4 of the encounter\'s diagnoses',
    ),
    Column("units", "Units", "int", False, ("Qty", "Quantity", "Days or Units"), default=1),
    Column(
        "charge_cents",
        "Charge",
        "money",
        False,
        ("Amount", "Charge Amount", "Fee"),
        help="empty: the charge master's price on the date of service, times the units",
    ),
    *CLAIM_FIELD_COLUMNS,
]

AUTH_KIND = enum_choices(
    {"prior_auth": ["prior authorization", "authorization", "pa", "g1"], "referral": ["9f"]}
)
AUTHS = [
    Column("payer_code", "Payer Code", "code", True, ("Payer",)),
    Column("mrn", "MRN", "id", True, ("Patient MRN", "Patient ID", "Chart Number")),
    Column(
        "number",
        "Authorization Number",
        "id",
        True,
        ("Auth Number", "Prior Auth", "Authorization", "Referral Number"),
        x12=True,
    ),
    Column(
        "codes",
        "Codes",
        "text",
        True,
        ("Authorized Codes", "Procedure Codes", "CPT"),
        help='"97110,97140", a range "97110-97546" or a prefix "J*"',
    ),
    Column("valid_from", "Valid From", "date", True, ("Start Date", "Effective From", "From")),
    Column("valid_to", "Valid To", "date", True, ("End Date", "Effective To", "To")),
    Column(
        "visits_allowed",
        "Visits Allowed",
        "int",
        False,
        ("Visits", "Visits Authorized"),
        help="empty when the payer sets no limit",
    ),
    Column(
        "visits_used_before",
        "Visits Used",
        "int",
        False,
        ("Used",),
        default=0,
        help="visits used before the register knew it; default 0",
        extra=True,
    ),
    Column(
        "kind",
        "Kind",
        "enum",
        False,
        ("Type",),
        choices=AUTH_KIND,
        default="prior_auth",
        help="prior_auth (REF*G1, default) or referral (REF*9F)",
        extra=True,
    ),
]

KINDS = {
    "patients": PATIENTS,
    "payers": PAYERS,
    "providers": PROVIDERS,
    "coverage": COVERAGE,
    "charges": CHARGES,
    "fee-schedule": FEE_SCHEDULE,
    "auths": AUTHS,
}

NATURAL_KEYS = {
    "patients": "MRN",
    "payers": "Code",
    "providers": "NPI",
    "coverage": "MRN + Payer Code + Member ID + Effective From",
    "charges": "Encounter + Line (encounters by Encounter)",
    "fee-schedule": "Payer + Code + Modifier + Effective From",
    "auths": "Payer Code + Authorization Number",
}


def columns_help(kind: str) -> str:
    """The --help block listing a kind's columns (kept as written by click: starts with \\b)."""
    from .fields import describe

    lines = ["\b", f"Columns (headers match ignoring case and spaces; key: {NATURAL_KEYS[kind]}):"]
    lines += ["  " + describe(c) for c in KINDS[kind] if not c.extra]
    extras = [c for c in KINDS[kind] if c.extra]
    if extras:
        lines.append("Also accepted:")
        lines += ["  " + describe(c) for c in extras]
    return "\n".join(lines)
