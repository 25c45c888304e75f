"""Output formats every listing command accepts (kept apart from render.py so start-up is light)."""

from enum import Enum


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    xlsx = "xlsx"
