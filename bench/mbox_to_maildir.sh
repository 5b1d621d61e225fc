#!/usr/bin/env bash
# mbox -> Maildir: `mailport copy mbox:X maildir:Y` against `mb2md -s X -d Y`
# on 19,500 real messages (bench/lib.sh), in turn, three rounds, each tool
# into a fresh Maildir. Prints each round, the median ratio mailport/mb2md
# and mailport's peak RSS. mailport's Maildir is durable (synced before it
# counts a message as copied); mb2md's is not. Then what durability costs
# (eatmydata) and both tools beside another writer (see below).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need mb2md

input=$(bench_corpus_mbox 5)
expected=$(grep -c '^From ' "$input")
echo "input: $input ($expected messages, $(wc -c < "$input") bytes)"

# Measured on this project's 2-core machines (2026-12-07): durability costs
# a quarter of mailport's time; beside another writer the syncfs the
# Maildir sink uses (plugins/maildir/mdpipe.c) also flushes the other's
# data and mailport's time doubles. An fsync of each file instead, from 16
# threads per batch, was tried there and was slower both alone (2.6 s
# against 1.0 s) and beside the writer (6.6 s against 2.2 s), so syncfs
# stays.
#
# Also, each round: mailport under eatmydata (fsync, fdatasync, syncfs and
# O_SYNC made no-ops by LD_PRELOAD: the same work without durability, the
# floor of what durability costs), and both tools again while another
# process writes into the same file system (dirty data a syncfs would have
# to flush too), to see whether the durability mechanism stays fast there.
have_emd=0; command -v eatmydata > /dev/null && have_emd=1
[ "$have_emd" = 1 ] || echo "(eatmydata not installed: the column without durability is left out)"

# other_writer_start DIR: a process that keeps writing 64 MiB files into
# DIR without syncing them (pid in $writer_pid).
other_writer_start() {
  ( while :; do
      dd if=/dev/zero of="$1/other-writer" bs=1M count=64 2> /dev/null
      rm -f "$1/other-writer"
    done ) &
  writer_pid=$!
  sleep 1
}
other_writer_stop() {
  kill "$writer_pid" 2> /dev/null; wait "$writer_pid" 2> /dev/null || true
  rm -f "$1/other-writer"
}

mp_times=() mb_times=() emd_times=() mpw_times=() mbw_times=() rss=0
out=$work/out
trap 'release_fs "$out"' EXIT
cat "$input" > /dev/null # both tools read it from the page cache
check() { # TOOL
  local n
  n=$(count_maildir "$out/md")
  [ "$n" -eq "$expected" ] || { echo "$1 wrote $n of $expected" >&2; exit 1; }
}
for round in 1 2 3; do
  fresh_fs "$out"
  time_cmd mp "$MAILPORT_BIN" copy "mbox:$input" "maildir:$out/md" \
    --state "$out/state.sqlite" -q
  check mailport
  fresh_fs "$out"
  time_cmd mb mb2md -s "$input" -d "$out/md"
  check mb2md
  line="round $round: mailport ${mp}s (peak RSS ${mp_rss} KB), mb2md ${mb}s, ratio $(ratio "$mp" "$mb")"
  if [ "$have_emd" = 1 ]; then
    fresh_fs "$out"
    time_cmd emd eatmydata "$MAILPORT_BIN" copy "mbox:$input" "maildir:$out/md" \
      --state "$out/state.sqlite" -q
    check "mailport under eatmydata"
    line+="; without durability ${emd}s"
    emd_times+=("$emd")
  fi
  fresh_fs "$out"
  other_writer_start "$out"
  time_cmd mpw "$MAILPORT_BIN" copy "mbox:$input" "maildir:$out/md" \
    --state "$out/state.sqlite" -q
  other_writer_stop "$out"
  check "mailport beside another writer"
  fresh_fs "$out"
  other_writer_start "$out"
  time_cmd mbw mb2md -s "$input" -d "$out/md"
  other_writer_stop "$out"
  check "mb2md beside another writer"
  line+="; beside another writer: mailport ${mpw}s, mb2md ${mbw}s"
  echo "$line"
  mp_times+=("$mp"); mb_times+=("$mb"); mpw_times+=("$mpw"); mbw_times+=("$mbw"); rss=$mp_rss
done
mp=$(median "${mp_times[@]}") mb=$(median "${mb_times[@]}")
echo "median: mailport ${mp}s, mb2md ${mb}s, ratio mailport/mb2md $(ratio "$mp" "$mb")" \
     "(goal <= 0.5); mailport peak RSS ${rss} KB"
if [ "$have_emd" = 1 ]; then
  emd=$(median "${emd_times[@]}")
  echo "  without durability (eatmydata): mailport ${emd}s, ratio $(ratio "$emd" "$mb") of mb2md:" \
       "durability costs $(awk -v a="$mp" -v b="$emd" 'BEGIN { printf "%.2f", a - b }')s"
fi
mpw=$(median "${mpw_times[@]}") mbw=$(median "${mbw_times[@]}")
echo "  beside another writer: mailport ${mpw}s, mb2md ${mbw}s, ratio $(ratio "$mpw" "$mbw")"
