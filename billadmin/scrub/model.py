"""What the scrubber checks: encounters with their diagnoses and service lines, read from the
database (unbilled charge lines) or from a charge file that is not imported."""

from __future__ import annotations


class Line:
    __slots__ = ("no", "code", "mods", "pointers", "units", "charge_cents", "context")

    def __init__(self, no, code, mods, pointers, units, charge_cents, context=False):
        self.no = no
        self.code = code  # normalised (upper, stripped)
        self.mods = mods  # tuple of normalised, non-empty modifiers in order
        self.pointers = pointers  # raw text
        self.units = units
        self.charge_cents = charge_cents  # from the database: its sign (1, 0, -1)
        self.context = (
            context  # True: a billed line of the same patient/provider/day (NCCI, MUE only)
        )


class Encounter:
    __slots__ = (
        "id",
        "number",
        "patient_id",
        "provider_id",
        "dos",
        "sex",
        "dob",
        "npi",
        "dx",
        "lines",
        "known_patient",
    )

    def __init__(self, id, number, patient_id, provider_id, dos, sex=None, dob=None, npi=None):
        self.id = id
        self.number = number
        self.patient_id = patient_id
        self.provider_id = provider_id
        self.dos = dos
        self.sex = sex
        self.dob = dob
        self.npi = npi
        self.dx: list[tuple[int, str]] = []  # (seq, code as recorded)
        self.lines: list[Line] = []
        self.known_patient = True
