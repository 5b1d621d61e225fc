#!/usr/bin/env bash
# Accounts per hour through `mailport batch JOBFILE --job N` handed out by a
# scheduler (here xargs -P, as GNU parallel or a cluster would): one job file
# of ACCOUNTS IMAP -> IMAP migrations on one private Dovecot, run with 1, 2
# and 4 processes at once, each job into a fresh destination account.
# Prints accounts per hour for each and the speed-up over one process
# (issue 12). The machine's cores and the one server bound the speed-up: a
# ratio, never an assertion.
#   BENCH_ACCOUNTS (default 12) accounts of BENCH_PER_ACCOUNT (default 400)
#   real messages each (corpora/mbox/spamassassin-ham.mbox, cut in slices).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/dovecot.sh"
need dovecot xargs

accounts=${BENCH_ACCOUNTS:-12}
per=${BENCH_PER_ACCOUNT:-400}
src_mbox="$corpora/mbox/spamassassin-ham.mbox"
trap dovecot_stop EXIT

dovecot_start "$work/dovecot-aph"
# The source accounts: slice k of the corpus for account k.
slices="$work/aph-slices"
rm -rf "$slices" && mkdir -p "$slices"
awk -v per="$per" -v dir="$slices" '
  /^From / { n++; file = sprintf("%s/%d.mbox", dir, int((n - 1) / per)) }
  file { print > file }' "$src_mbox"
# Every user first: Dovecot rereads its passwd file only when its time
# stamp moves, which a file written within one second does not show.
for k in $(seq 0 $((accounts - 1))); do
  dovecot_user "src$k" secret
  for procs in 1 2 4; do dovecot_user "dst$procs-$k" secret; done
done
sleep 1.1
for k in $(seq 0 $((accounts - 1))); do
  [ -s "$slices/$((k % 9)).mbox" ] || { echo "bench: corpus too small" >&2; exit 2; }
  dovecot_load "src$k" "$slices/$((k % 9)).mbox"
done
echo "Dovecot on 127.0.0.1:$DC_PORT, $accounts source accounts of $per messages"

declare -A per_hour
for procs in 1 2 4; do
  jobs="$work/aph-jobs-$procs"
  : > "$jobs"
  for k in $(seq 0 $((accounts - 1))); do
    echo "$(dovecot_url "src$k") $(dovecot_url "dst$procs-$k")" >> "$jobs"
  done
  chmod 600 "$jobs"
  export XDG_STATE_HOME="$work/aph-state-$procs"
  rm -rf "$XDG_STATE_HOME"
  time_cmd secs sh -c "seq 0 $((accounts - 1)) | xargs -P $procs -I{} \
    '$MAILPORT_BIN' batch '$jobs' --job {} -q"
  per_hour[$procs]=$(awk -v n="$accounts" -v s="$secs" 'BEGIN { printf "%.0f", n * 3600 / s }')
  # Every account whole: each destination holds its source's count.
  for k in $(seq 0 $((accounts - 1))); do
    got=$(count_maildir "$DC_DIR/mail/dst$procs-$k")
    want=$(grep -c '^From ' "$slices/$((k % 9)).mbox")
    [ "$got" = "$want" ] || { echo "bench: dst$procs-$k holds $got of $want" >&2; exit 1; }
  done
  echo "  $procs process(es): $secs s, ${per_hour[$procs]} accounts/hour (peak RSS of one: ${secs_rss} KiB)"
done
echo "speed-up over 1 process: 2 -> $(ratio "${per_hour[2]}" "${per_hour[1]}")x," \
  "4 -> $(ratio "${per_hour[4]}" "${per_hour[1]}")x ($(nproc) cores)"
