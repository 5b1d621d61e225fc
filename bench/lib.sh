# Shared helpers for the benchmarks (sourced, not run).
#
# Every benchmark times mailport and a peer tool in turn, on the same data,
# in one run, and prints the ratio: these machines are shared and noisy, so
# absolute times mean little and nothing here is a pass/fail assertion.

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${BENCH_WORK:-$bench_dir/work}
corpora=${MP_CORPORA:-$bench_dir/../../shared/corpora}
MAILPORT_BIN=${MAILPORT_BIN:-$bench_dir/../build-release/mailport}
mkdir -p "$work"

# The benchmark corpus: corpora/mbox/spamassassin-ham.mbox (3,900 real
# messages) replicated COPIES times (default 5: 19,500 messages, ~72 MB).
# Each copy gets an X-Bench-Copy header and a Message-ID of its own, so no
# two messages are alike. Prints the path.
bench_corpus_mbox() {
  local copies=${1:-5}
  local out="$work/ham$copies.mbox"
  if [ ! -s "$out" ]; then
    local src="$corpora/mbox/spamassassin-ham.mbox"
    : > "$out.tmp"
    for k in $(seq 1 "$copies"); do
      # Every "From " line of this file is a From_ line (its body lines were
      # mboxrd-escaped when it was built; none needed it, see SOURCES.md).
      awk -v k="$k" '
        /^From / { print; print "X-Bench-Copy: " k; next }
        tolower($0) ~ /^message-id:[ \t]*</ { sub(/</, "<copy" k "."); print; next }
        { print }' "$src" >> "$out.tmp"
      printf '\n' >> "$out.tmp"
    done
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

# A Maildir made from the corpus by mailport itself (built once).
bench_corpus_maildir() {
  local copies=${1:-5}
  local out="$work/ham$copies-md"
  if [ ! -d "$out/cur" ]; then
    "$MAILPORT_BIN" copy "mbox:$(bench_corpus_mbox "$copies")" "maildir:$out" --no-state -q
  fi
  echo "$out"
}

# time_cmd VAR CMD...: run CMD, store wall seconds in VAR, peak RSS (KiB)
# in VAR_rss. Output of CMD goes to $work/last.log.
time_cmd() {
  local var=$1; shift
  local tf="$work/time.$$"
  /usr/bin/time -f '%e %M' -o "$tf" "$@" > "$work/last.log" 2>&1 || {
    echo "bench: command failed: $*" >&2; tail -5 "$work/last.log" >&2; return 1; }
  read -r secs rss < "$tf"
  rm -f "$tf"
  printf -v "$var" '%s' "$secs"
  printf -v "${var}_rss" '%s' "$rss"
}

# ratio A B: A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# Drop what a run wrote, so the next one starts alike (and the page cache
# holds the source for both).
fresh() { rm -rf "$@"; sync; }

# median N...: the middle value.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# need TOOL...: stop with a clear message when a tool is missing.
need() {
  for t in "$@"; do
    command -v "$t" > /dev/null 2>&1 || { echo "bench: missing $t (./build.sh bench installs it)" >&2; exit 2; }
  done
}

# count_maildir DIR: message files under DIR (every folder, cur/ and new/).
count_maildir() { find "$1" -type f \( -path '*/cur/*' -o -path '*/new/*' \) | wc -l; }

# fresh_fs DIR: make DIR a newly made, empty ext4 file system (a 2 GiB
# loop-mounted image), so that every timed run writes to the same kind of
# clean disk: on a long-used shared file system, runs right after large
# deletions are several times slower and sync calls also flush other
# programs' data. Falls back to an empty DIR on the existing file system
# (printing why) when loop mounts are not possible.
fresh_fs() {
  local dir=$1
  release_fs "$dir"
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ] && command -v mkfs.ext4 > /dev/null; then
    truncate -s 2G "$dir.img" && mkfs.ext4 -q -F "$dir.img" > /dev/null 2>&1 &&
      mount -o loop "$dir.img" "$dir" 2> /dev/null && return 0
    rm -f "$dir.img"
  fi
  [ -n "${fresh_fs_warned:-}" ] || echo "bench: no loop mount here; timing on the shared file system" >&2
  fresh_fs_warned=1
}

# release_fs DIR: undo fresh_fs.
release_fs() {
  local dir=$1
  mountpoint -q "$dir" 2> /dev/null && umount "$dir"
  rm -rf "$dir" "$dir.img"
}
