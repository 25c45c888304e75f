#!/bin/sh
# The nightly billing job: bill what is ready, post the payers' 835s, reconcile, report, check.
#
# Run it from cron after the clearinghouse drop, e.g.  30 2 * * *  /srv/billing/nightly.sh
# Every billadmin command follows one exit-code contract, and this script acts on it:
#   0  done
#   1  done, but something needs a person (held encounters, differences, denials, a file
#      already posted): noted for the morning summary, the night goes on
#   2  bad input, nothing was written (an 835 that does not balance, a report with bad rows):
#      the file is set aside in rejected/ and noted; the night goes on
#   3  the database is busy or cannot be opened: retried a few times, then the step is noted
# The script's own exit code is the worst one seen, so cron mail or a monitor can tell.
set -u

DB=${BILLADMIN_DB:-/srv/billing/practice.db}
ROOT=${BILLING_ROOT:-/srv/billing}
INBOX=${INBOX:-$ROOT/inbox}                  # payers' 835 files (clearinghouse drop)
TODAY=$(date +%F)
OUT=$ROOT/out/$TODAY                         # 837P files, patient invoices, reports
ERP_REPORT=${ERP_REPORT:-$ROOT/exports/jde-invoices.csv}      # ERP (JDE) invoicing export
CMS_REPORT=${CMS_REPORT:-$ROOT/exports/cms-invoices.xlsx}     # CMS invoicing report
BANK_FILE=${BANK_FILE:-$ROOT/exports/bank-deposits.csv}       # bank deposits (EFT trace, credit)
MAILTO=${MAILTO:-}
BILLADMIN=${BILLADMIN:-billadmin}
RETRIES=${RETRIES:-3}

export BILLADMIN_DB="$DB"
umask 077                                    # everything written here may hold PHI
mkdir -p "$OUT" "$INBOX/posted" "$INBOX/rejected" || exit 2
LOG=$OUT/nightly.log
SUMMARY=$OUT/nightly-summary.txt
: > "$SUMMARY"
worst=0

say() { echo "$(date '+%H:%M:%S') $*" | tee -a "$LOG" >&2; }
note() { echo "- $*" >> "$SUMMARY"; say "$*"; }
worse() { [ "$1" -gt "$worst" ] && worst=$1; return 0; }

# run STEP-NAME billadmin-args...: retry on 3 (busy), log everything, return billadmin's exit code
run() {
    step=$1; shift
    try=1
    while :; do
        "$BILLADMIN" "$@" >> "$LOG" 2>> "$LOG"
        code=$?
        [ "$code" -ne 3 ] && break
        [ "$try" -ge "$RETRIES" ] && break
        say "$step: database busy, retrying in 60 s ($try/$RETRIES)"
        try=$((try + 1))
        sleep 60
    done
    say "$step: exit $code"
    return "$code"
}

say "nightly billing for $TODAY on $DB"

# 1. Bill everything ready up to yesterday: one 837P per payer, patient invoices.
run "invoice generate" invoice generate --through "$(date -d yesterday +%F 2>/dev/null || date +%F)" --out "$OUT/claims"
case $? in
    0) ;;
    1) note "invoice generate: some encounters were held by the scrubber (see $OUT/claims and the log)"; worse 1 ;;
    2) note "invoice generate: an 837P failed validation or the input is bad: NOTHING was billed tonight"; worse 2 ;;
    *) note "invoice generate: database unavailable: nothing billed"; worse 3 ;;
esac

# 2. Post the payers' 835s, one file at a time so one bad file does not hold up the others.
for f in "$INBOX"/*.835 "$INBOX"/*.edi "$INBOX"/*.txt; do
    [ -f "$f" ] || continue
    run "remit import $(basename "$f")" remit import "$f"
    case $? in
        0) mv "$f" "$INBOX/posted/" ;;
        1) note "remit import: $(basename "$f") was already posted (same payer and trace number): moved to posted/"
           mv "$f" "$INBOX/posted/"; worse 1 ;;
        2) note "remit import: $(basename "$f") refused (does not balance or not an 835): moved to rejected/"
           mv "$f" "$INBOX/rejected/"; worse 2 ;;
        *) note "remit import: $(basename "$f") not posted, database unavailable: left in the inbox"; worse 3 ;;
    esac
done

# 3. Reconcile the ERP invoicing export against the CMS invoicing report.
if [ -f "$ERP_REPORT" ] && [ -f "$CMS_REPORT" ]; then
    run "reconcile reports" reconcile reports "$ERP_REPORT" "$CMS_REPORT" \
        --key "Invoice No" --key-b "Claim Number" --amount "Amount" --amount-b "Billed" \
        --strip-zeros --tolerance 0.00 -o "$OUT/reconcile-reports.xlsx"
    case $? in
        0) ;;
        1) note "reconcile reports: ERP and CMS differ: see $OUT/reconcile-reports.xlsx"; worse 1 ;;
        2) note "reconcile reports: a report is unreadable or has bad rows (see the log)"; worse 2 ;;
        *) worse 3 ;;
    esac
fi

# 4. Claims against 835s (unpaid after 30 days, underpaid, denied, unknown) and 835s against the bank.
if [ -f "$BANK_FILE" ]; then
    set -- --deposits "$BANK_FILE" --key "EFT Trace" --amount "Credit"
else
    set --
fi
run "reconcile remits" reconcile remits --days 30 "$@" -o "$OUT/reconcile-remits.xlsx"
case $? in
    0) ;;
    1) note "reconcile remits: claims or deposits need attention: see $OUT/reconcile-remits.xlsx"; worse 1 ;;
    2) note "reconcile remits: the bank file is unreadable or has bad rows (see the log)"; worse 2 ;;
    *) worse 3 ;;
esac

# 5. Reports for the morning.
for r in aging denials timely-filing; do
    run "report $r" report "$r" -f xlsx -o "$OUT/report-$r.xlsx"
    code=$?
    [ "$code" -ge 2 ] && { note "report $r failed (exit $code)"; worse "$code"; }
done

# 6. The integrity check: SQLite, audit chain, invoices unchanged, allocations.
run "check" check
code=$?
case $code in
    0) ;;
    1) note "check: the database failed an integrity check: call support before anyone posts"; worse 1 ;;
    *) note "check: could not run (exit $code)"; worse "$code" ;;
esac

"$BILLADMIN" reconcile history --limit 7 >> "$LOG" 2>&1
say "done: worst exit code $worst"
if [ -s "$SUMMARY" ]; then
    if [ -n "$MAILTO" ] && command -v mail > /dev/null 2>&1; then
        mail -s "billing night $TODAY: needs attention (exit $worst)" "$MAILTO" < "$SUMMARY"
    else
        cat "$SUMMARY" >&2
    fi
fi
exit "$worst"
