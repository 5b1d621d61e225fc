#!/bin/sh
# Encrypted archives: mailport against tar | age, on the same Maildir.
#
# Builds bench/work/ham5-md: a 19,500-message Maildir made by mailport from
# bench/work/ham5.mbox (the SpamAssassin ham mbox five times over, each copy
# with its own Message-IDs, as bench/mbox_to_maildir.sh makes it). Then, in
# one run and in turn, times
#   mailport copy maildir:X 'targz:Y.tar.gz.age?recipient=R'
#   tar -czf - -C X . | age -r R > Z.tar.gz.age
# and the same pair with zstd (.tar.zst.age / tar --zstd), and prints the
# times, archive sizes, time ratios and mailport's peak resident memory.
# mailport does more work than the pipe: it writes a manifest with a
# SHA-256 of every message and normalises the tree into Maildir++ names.
#
# Environment: MAILPORT_BIN (default: build/mailport beside this folder),
# MP_CORPORA (default: ../shared/corpora beside the repository).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
bin=${MAILPORT_BIN:-$repo/build/mailport}
corpora=${MP_CORPORA:-$repo/../shared/corpora}
src=$corpora/mbox/spamassassin-ham.mbox
work=$here/work
copies=5

for tool in "$bin" tar age age-keygen zstd /usr/bin/time; do
    command -v "$tool" >/dev/null 2>&1 || { echo "missing: $tool" >&2; exit 2; }
done
[ -r "$src" ] || { echo "missing corpus file: $src" >&2; exit 2; }

mkdir -p "$work"
input=$work/ham$copies.mbox
if [ ! -s "$input" ]; then
    : >"$input.tmp"
    k=1
    while [ $k -le $copies ]; do
        awk -v k="$k" '
            /^From / { print; print "X-Bench-Copy: " k; next }
            tolower($0) ~ /^message-id:[ \t]*</ { sub(/</, "<copy" k "."); print; next }
            { print }
        ' "$src" >>"$input.tmp"
        printf '\n' >>"$input.tmp"
        k=$((k + 1))
    done
    mv "$input.tmp" "$input"
fi
expected=$(grep -c '^From ' "$input")

maildir=$work/ham$copies-md
count_maildir() {
    find "$1" -type f \( -path '*/cur/*' -o -path '*/new/*' \) | wc -l
}
if [ ! -d "$maildir" ] || [ "$(count_maildir "$maildir")" -ne "$expected" ]; then
    rm -rf "$maildir" "$work/targz-setup.db"
    "$bin" copy "mbox:$input" "maildir:$maildir" --state "$work/targz-setup.db" --quiet
fi
n_src=$(count_maildir "$maildir")

key=$work/targz-bench.key
[ -s "$key" ] || age-keygen -o "$key" 2>/dev/null
recipient=$(age-keygen -y "$key")

run_timed() { # name, then the command; prints "seconds maxrss_kb"
    name=$1
    shift
    /usr/bin/time -f '%e %M' -o "$work/$name.time" "$@" >"$work/$name.log" 2>&1 || {
        echo "$name failed, see $work/$name.log" >&2
        exit 1
    }
    cat "$work/$name.time"
}

archive_count() { # archive path; prints the message total mailport lists
    "$bin" list "targz:$1?identity=$key" 2>/dev/null | awk '/^\(total\)/ { print $2 }'
}

results=
for comp in gz zst; do
    mp_out=$work/bench-mailport.tar.$comp.age
    pipe_out=$work/bench-pipe.tar.$comp.age
    rm -f "$mp_out" "$pipe_out" "$work/targz-bench.db"
    if [ $comp = gz ]; then tar_flag=-z; else tar_flag=--zstd; fi
    sync
    mp=$(run_timed "mailport-$comp" "$bin" copy "maildir:$maildir" \
        "targz:$mp_out?recipient=$recipient" --state "$work/targz-bench.db" --quiet)
    sync
    pipe=$(run_timed "pipe-$comp" sh -c \
        "tar $tar_flag -cf - -C '$maildir' . | age -r '$recipient' > '$pipe_out'")
    n=$(archive_count "$mp_out")
    [ "$n" = "$n_src" ] || { echo "mailport archive holds $n of $n_src" >&2; exit 1; }
    echo "tar.$comp.age:"
    echo "  mailport:   ${mp% *} s, $(wc -c <"$mp_out") bytes, peak RSS ${mp#* } KB, $n messages"
    echo "  tar | age:  ${pipe% *} s, $(wc -c <"$pipe_out") bytes"
    awk -v a="${mp% *}" -v b="${pipe% *}" 'BEGIN {
        if (b > 0) printf "  time ratio mailport/(tar|age): %.3f\n", a / b
        else print "  time ratio: n/a"
    }'
done
echo "input: $maildir ($n_src messages, $(du -sk "$maildir" | cut -f1) KB on disk)"
