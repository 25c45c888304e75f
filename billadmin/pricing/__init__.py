"""Prices across time: the practice's charge master and its payer contracts, effective-dated.

A charge master row is the practice's price for a code (and modifier) from a date; a contract
row is what a payer allows for a code, as an amount or as a percentage of a base schedule (the
charge master, or another payer's contract such as Medicare's), from a date. Rows are never
edited: a new price is a new row from its effective date, which ends the previous one.
"""
