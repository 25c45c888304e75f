"""What the scrubber checks: encounters with their diagnoses and service lines, read from the
database (unbilled charge lines) or from a charge file that is not imported."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


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


# Speed hints for the engine (scrub/engine.py Runner), by rule id. A rule's function stays its
# definition (`codes rules`, tests and any caller get the same answers from it); these only let
# `codes check` and `invoice generate` reach the same findings with fewer calls per encounter.
#
# FAMILY: analyse(ref, enc) -> [(rule id, line, message[, severity])], the findings of every rule
#   mapped to it, in the order each rule's own function yields them: rules that already share one
#   pass per encounter (claim_fields, necessity, the coverage checks) are called once, not once
#   per rule.
# QUIET: quiet(ref) -> True when the rule cannot find anything in this run (its inputs are absent:
#   no billed invoice, no bad address, no X12-unsafe value in scope...), asked once per run after
#   the scope is set; the engine then skips the rule for every encounter.
FAMILY: dict[str, Callable[[Any, Encounter], Sequence[tuple]]] = {}
QUIET: dict[str, Callable[[Any], bool]] = {}
