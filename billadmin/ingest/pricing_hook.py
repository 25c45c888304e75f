"""A charge line imported without an amount is priced from the practice's charge master."""

from __future__ import annotations

from ..pricing.prices import charge_price


def charge_master_price(conn, code, mods, units, dos, errs: list) -> int:
    """The charge master's unit price for the code (and first modifier) on the date of service
    times the units; an error on the Charge cell when no price applies (0 returned)."""
    mod = next((m for m in mods if m), "") if mods else ""
    price = charge_price(conn, code, mod or "", dos) if isinstance(dos, str) else None
    if price is None:
        errs.append(
            (
                "charge_cents",
                "is empty and the charge master has no price for this code on the date of"
                " service (`billadmin codes price-load charge-master FILE`)",
            )
        )
        return 0
    return price * (units or 1)
