#!/bin/sh
# mbox -> Maildir: mailport against mb2md on the same input.
#
# Builds bench/work/ham5.mbox: the SpamAssassin ham mbox five times
# (19,500 messages), each copy with its own Message-IDs and an
# X-Bench-Copy header so that no copy counts as a duplicate of another.
# Then times `mailport copy mbox:X maildir:Y` and `mb2md -s X -d Y`, each
# into a fresh Maildir, and prints both times, their ratio and mailport's
# peak resident memory.
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

for tool in "$bin" mb2md /usr/bin/time; do
    command -v "$tool" >/dev/null 2>&1 || { echo "missing: $tool" >&2; exit 2; }
done
[ -r "$src" ] || { echo "missing corpus file: $src" >&2; exit 2; }

mkdir -p "$work"
input=$work/ham$copies.mbox
if [ ! -s "$input" ]; then
    : >"$input.tmp"
    k=1
    while [ $k -le $copies ]; do
        # Every ^From line of this file is a From_ line (the corpus notes
        # say no body line needed escaping), so a header can go after each.
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

run_timed() { # name, then the command; prints "seconds maxrss_kb"
    name=$1
    shift
    /usr/bin/time -f '%e %M' -o "$work/$name.time" "$@" >"$work/$name.log" 2>&1 || {
        echo "$name failed, see $work/$name.log" >&2
        exit 1
    }
    cat "$work/$name.time"
}

count_maildir() {
    find "$1" -type f \( -path '*/cur/*' -o -path '*/new/*' \) | wc -l
}

rm -rf "$work/mailport-md" "$work/mb2md-md" "$work/state.db"
sync
mp=$(run_timed mailport "$bin" copy "mbox:$input" "maildir:$work/mailport-md" \
    --state "$work/state.db" --quiet)
sync
mb=$(run_timed mb2md mb2md -s "$input" -d "$work/mb2md-md")

mp_n=$(count_maildir "$work/mailport-md")
mb_n=$(count_maildir "$work/mb2md-md")

echo "input: $input ($expected messages, $(wc -c <"$input") bytes)"
echo "mailport: ${mp% *} s, $mp_n messages, peak RSS ${mp#* } KB"
echo "mb2md:    ${mb% *} s, $mb_n messages"
awk -v a="${mp% *}" -v b="${mb% *}" 'BEGIN {
    if (b > 0) printf "time ratio mailport/mb2md: %.3f\n", a / b
    else print "time ratio mailport/mb2md: n/a (mb2md took 0 s)"
}'
[ "$mp_n" -eq "$expected" ] || { echo "mailport wrote $mp_n of $expected" >&2; exit 1; }
