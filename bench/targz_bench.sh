#!/usr/bin/env bash
# Encrypted archives: mailport against tar | age, on the same Maildir.
#
# Input: the 19,500-message Maildir bench/work/ham5-md that bench/lib.sh
# makes (with mailport) from bench/work/ham5.mbox. For gzip and for zstd,
# three rounds, each running in turn
#   mailport copy maildir:X 'targz:Y.tar.gz.age?recipient=R'
#   tar -czf - -C X . | age -r R > Z.tar.gz.age
# (tar --zstd and .tar.zst.age for zstd), each into a freshly made file
# system. Prints every round, the median times and the median ratio
# mailport/(tar|age), archive sizes and mailport's peak resident memory.
# mailport does more work than the pipe: it writes a manifest with a
# SHA-256 of every message, normalises the tree into Maildir++ names and
# syncs the archive before renaming it into place.
#
# Environment: MAILPORT_BIN, MP_CORPORA, BENCH_WORK (see lib.sh);
# ROUNDS (default 3).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need "$MAILPORT_BIN" tar age age-keygen zstd gzip /usr/bin/time
rounds=${ROUNDS:-3}

input=$(bench_corpus_mbox 5)
expected=$(grep -c '^From ' "$input")
maildir=$(bench_corpus_maildir 5)
n_src=$(count_maildir "$maildir")
[ "$n_src" -eq "$expected" ] || {
  echo "bench: $maildir holds $n_src messages, $input $expected (delete it to rebuild)" >&2
  exit 1
}
# Both sides read the source from the page cache.
find "$maildir" -type f -exec cat {} + > /dev/null

key=$work/targz-bench.key
[ -s "$key" ] || age-keygen -o "$key" 2> /dev/null
recipient=$(age-keygen -y "$key")

archive_count() { # archive path; prints the message total mailport lists
  "$MAILPORT_BIN" list "targz:$1?identity=$key" 2> /dev/null | awk '/^\(total\)/ { print $2 }'
}

out=$work/targz-out
trap 'release_fs "$out"' EXIT
for comp in gz zst; do
  if [ $comp = gz ]; then tar_flag=-z; else tar_flag=--zstd; fi
  mp_times=() pipe_times=() ratios=() rss=0
  echo "tar.$comp.age:"
  for round in $(seq 1 "$rounds"); do
    fresh_fs "$out"
    time_cmd mp "$MAILPORT_BIN" copy "maildir:$maildir" \
      "targz:$out/mailport.tar.$comp.age?recipient=$recipient" --no-state -q
    n=$(archive_count "$out/mailport.tar.$comp.age")
    [ "$n" = "$n_src" ] || { echo "mailport archive holds $n of $n_src" >&2; exit 1; }
    mp_size=$(wc -c < "$out/mailport.tar.$comp.age")
    fresh_fs "$out"
    time_cmd pipe sh -c \
      "tar $tar_flag -cf - -C '$maildir' . | age -r '$recipient' > '$out/pipe.tar.$comp.age'"
    pipe_size=$(wc -c < "$out/pipe.tar.$comp.age")
    echo "  round $round: mailport ${mp}s (${mp_size} bytes, peak RSS ${mp_rss} KB)," \
         "tar | age ${pipe}s (${pipe_size} bytes), ratio $(ratio "$mp" "$pipe")"
    mp_times+=("$mp"); pipe_times+=("$pipe"); ratios+=("$(ratio "$mp" "$pipe")"); rss=$mp_rss
  done
  mp_med=$(median "${mp_times[@]}") pipe_med=$(median "${pipe_times[@]}")
  echo "  median: mailport ${mp_med}s, tar | age ${pipe_med}s;" \
       "median ratio mailport/(tar|age) $(median "${ratios[@]}")" \
       "(ratio of the medians $(ratio "$mp_med" "$pipe_med"))"
done
echo "input: $maildir ($n_src messages, $(du -sk "$maildir" | cut -f1) KB on disk)"
