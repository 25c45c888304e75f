"""Code sets in SQLite: ICD-10-CM (bundled CDC release, or the CDC's text files), HCPCS Level II
(CMS annual file), CPT (a licensed user's own file), modifiers, NCCI PTP edits and MUEs.

Every table carries a version label and a validity window per row (see ``schema.py``); loads
report what changed (``loader.load``); lookups and search are plain SQL (``query``), so no
code-set package is imported outside a load.
"""
