"""Import of outside tabular data (CSV, XLSX): readers, column specs, per-kind loaders.

No typer or rich here: the commands in ``billadmin/commands/import_.py`` and ``patient.py`` call
into this package and render its results.
"""
