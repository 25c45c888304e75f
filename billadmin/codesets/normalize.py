"""Code spelling: what a clerk types (e119, E11.9, ' e11.9 ') becomes the stored form."""

from __future__ import annotations

import re

ICD_RX = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")
ICD_NODOT_RX = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$")
HCPCS_RX = re.compile(r"^[A-V][0-9]{4}$")
CPT_RX = re.compile(r"^(?:[0-9]{5}|[0-9]{4}[FTU])$")
MODIFIER_RX = re.compile(r"^[0-9A-Z]{2}$")


def icd(code: str | None) -> str:
    """ICD-10-CM with its dot after the category (E119 -> E11.9); chapters and blocks unchanged."""
    c = (code or "").strip().upper().replace(" ", "")
    if "." not in c and len(c) > 3 and ICD_NODOT_RX.match(c):
        c = c[:3] + "." + c[3:]
    if c.endswith("."):
        c = c[:-1]
    return c


def nodot(code: str) -> str:
    return code.replace(".", "")


def procedure(code: str | None) -> str:
    return (code or "").strip().upper()


def modifier(code: str | None) -> str:
    return (code or "").strip().upper()


def procedure_system(code: str) -> str | None:
    """'cpt' for CPT Level I shapes, 'hcpcs' for Level II, None when it is neither."""
    if CPT_RX.match(code):
        return "cpt"
    if HCPCS_RX.match(code):
        return "hcpcs"
    return None


def looks_like_icd(code: str) -> bool:
    return bool(ICD_RX.match(code))
