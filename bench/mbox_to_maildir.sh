#!/usr/bin/env bash
# mbox -> Maildir: `mailport copy mbox:X maildir:Y` against `mb2md -s X -d Y`
# on 19,500 real messages (bench/lib.sh), in turn, three rounds, each tool
# into a fresh Maildir. Prints each round, the median ratio mailport/mb2md
# and mailport's peak RSS. mailport's Maildir is durable (synced before it
# counts a message as copied); mb2md's is not.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need mb2md

input=$(bench_corpus_mbox 5)
expected=$(grep -c '^From ' "$input")
echo "input: $input ($expected messages, $(wc -c < "$input") bytes)"

mp_times=() mb_times=() rss=0
out=$work/out
trap 'release_fs "$out"' EXIT
cat "$input" > /dev/null # both tools read it from the page cache
for round in 1 2 3; do
  fresh_fs "$out"
  time_cmd mp "$MAILPORT_BIN" copy "mbox:$input" "maildir:$out/md" \
    --state "$out/state.sqlite" -q
  n=$(count_maildir "$out/md")
  [ "$n" -eq "$expected" ] || { echo "mailport wrote $n of $expected" >&2; exit 1; }
  fresh_fs "$out"
  time_cmd mb mb2md -s "$input" -d "$out/md"
  n=$(count_maildir "$out/md")
  [ "$n" -eq "$expected" ] || { echo "mb2md wrote $n of $expected" >&2; exit 1; }
  echo "round $round: mailport ${mp}s (peak RSS ${mp_rss} KB), mb2md ${mb}s, ratio $(ratio "$mp" "$mb")"
  mp_times+=("$mp"); mb_times+=("$mb"); rss=$mp_rss
done
echo "median: mailport $(median "${mp_times[@]}")s, mb2md $(median "${mb_times[@]}")s," \
     "ratio mailport/mb2md $(ratio "$(median "${mp_times[@]}")" "$(median "${mb_times[@]}")")" \
     "(goal <= 0.5); mailport peak RSS ${rss} KB"
