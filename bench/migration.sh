#!/usr/bin/env bash
# The main job, IMAP -> IMAP, against every peer on the same data in one run
# (issue 11): the 19,500-message corpus (bench/lib.sh) in one account of a
# private Dovecot, migrated into a fresh account of the same server by each
# tool in turn, BENCH_ROUNDS rounds (default 3), medians and ratios printed:
#   mailport              the default: MULTIAPPEND batches (RFC 3502)
#   mailport multiappend=0  one pipelined APPEND per message
#   mailport --jobs 4     the one large folder shared between four
#                         connections (core/engine/lanes.h)
#   imapsync              its public repository's script ($IMAPSYNC, else
#                         skipped with a note: Debian no longer packages it)
#   mbsync                isync, the Debian package
#   doveadm import        Dovecot storing the same messages itself, read
#                         from the corpus mbox (no IMAP, no client): what
#                         the server can ingest at most
# then mailport through bench/delay_proxy.c adding 10 ms each way (20 ms
# round trip) against loopback. Goals: at most 0.1x imapsync's time, 0.5x
# mbsync's, at least 70% of doveadm's rate, 80% of loopback throughput
# through 20 ms, peak RSS under 32 MiB. Every destination is counted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/dovecot.sh"
need mbsync dovecot doveadm cc perl

corpus=$(bench_corpus_mbox "${BENCH_COPIES:-5}")
expected=$(grep -c '^From ' "$corpus")
rounds=${BENCH_ROUNDS:-3}
imapsync=${IMAPSYNC:-}
proxy_pid=
cleanup() {
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2> /dev/null
  dovecot_stop
}
trap cleanup EXIT

dovecot_start "$work/dovecot"
dovecot_user alice alice-secret
tools=(mp mpmulti mpjobs imapsync mbsync doveadm)
for r in $(seq 1 "$rounds"); do
  for t in "${tools[@]}"; do dovecot_user "$t$r" secret; done
done
dovecot_user slow secret
dovecot_load alice "$corpus"
echo "Dovecot on 127.0.0.1:$DC_PORT, alice holds $expected messages"
chmod 755 "$work"
mkdir -p "$work/mboxroot"
chmod 755 "$work/mboxroot"

multi_ok=1
"$MAILPORT_BIN" copy "mbox:$here/../examples/sample.mbox" "$(dovecot_url mpmulti1)&multiappend=0" \
  --dry-run -q > /dev/null 2>&1 || multi_ok=0
[ "$multi_ok" = 1 ] || echo "(this mailport has no multiappend= parameter: that column is left out)"
if [ -z "$imapsync" ] || [ ! -f "$imapsync" ]; then
  echo "(imapsync left out: set IMAPSYNC to its script, from https://github.com/imapsync/imapsync," \
       "with its Perl modules installed as its INSTALL.d/INSTALL.Debian.txt lists)"
  imapsync=
fi

# mbsync_conf FILE FAR NEAR: a channel from account FAR into account NEAR.
mbsync_conf() {
  local file=$1 far=$2 near=$3
  rm -rf "$file.state" && mkdir -p "$file.state"
  {
    for side in far near; do
      local user=$far; [ "$side" = near ] && user=$near
      printf 'IMAPAccount %s\nHost 127.0.0.1\nPort %s\nUser %s\nPassCmd "cat %s"\nSSLType None\nAuthMechs LOGIN\n\n' \
        "$side" "$DC_PORT" "$user" "$DC_DIR/$user.pw"
      printf 'IMAPStore %s\nAccount %s\n\n' "$side" "$side"
    done
    printf 'Channel pull\nFar :far:\nNear :near:\nPatterns *\nCreate Near\nSyncState %s/\n' "$file.state"
  } > "$file"
}

check() { # TOOL USER
  local n
  n=$(count_maildir "$DC_DIR/mail/$2")
  [ "$n" -eq "$expected" ] || { echo "$1 migrated $n of $expected messages" >&2; exit 1; }
}

declare -A times
for r in $(seq 1 "$rounds"); do
  line="  round $r:"
  time_cmd mp "$MAILPORT_BIN" copy "$(dovecot_url alice)" "$(dovecot_url "mp$r")" \
    --state "$work/mig-mp-$r.sqlite" -q
  check mailport "mp$r"; times[mp]+=" $mp"; rss=$mp_rss; line+=" mailport ${mp}s"
  time_cmd mj "$MAILPORT_BIN" copy "$(dovecot_url alice)" "$(dovecot_url "mpjobs$r")" \
    --jobs 4 --state "$work/mig-mj-$r.sqlite" -q
  check "mailport --jobs 4" "mpjobs$r"; times[mpjobs]+=" $mj"; rss_jobs=$mj_rss
  line+=", --jobs 4 ${mj}s"
  if [ "$multi_ok" = 1 ]; then
    time_cmd mm "$MAILPORT_BIN" copy "$(dovecot_url alice)" "$(dovecot_url "mpmulti$r")&multiappend=0" \
      --state "$work/mig-mm-$r.sqlite" -q
    check "mailport multiappend=0" "mpmulti$r"; times[mpmulti]+=" $mm"; rss_multi=$mm_rss
    line+=", multiappend=0 ${mm}s"
  fi
  if [ -n "$imapsync" ]; then
    time_cmd is perl "$imapsync" --host1 127.0.0.1 --port1 "$DC_PORT" --user1 alice \
      --passfile1 "$DC_DIR/alice.pw" --host2 127.0.0.1 --port2 "$DC_PORT" --user2 "imapsync$r" \
      --passfile2 "$DC_DIR/imapsync$r.pw" --notls1 --notls2 --nossl1 --nossl2 --nolog \
      --noreleasecheck --tmpdir "$work"
    check imapsync "imapsync$r"; times[imapsync]+=" $is"; line+=", imapsync ${is}s"
  fi
  mbsync_conf "$work/mig-$r.mbsyncrc" alice "mbsync$r"
  time_cmd mb mbsync -c "$work/mig-$r.mbsyncrc" -q pull
  check mbsync "mbsync$r"; times[mbsync]+=" $mb"; line+=", mbsync ${mb}s"
  time_cmd da doveadm -c "$DC_DIR/dovecot.conf" import -u "doveadm$r" -s \
    "mbox:$work/mboxroot:INBOX=$corpus:INDEX=MEMORY" "" all
  check "doveadm import" "doveadm$r"; times[doveadm]+=" $da"; line+=", doveadm import ${da}s"
  echo "$line"
done

# shellcheck disable=SC2086
med() { median ${times[$1]}; }
mp=$(med mp)
echo "  medians of $rounds rounds, $expected messages:"
echo "    mailport                 ${mp}s  $(awk -v t="$mp" -v n="$expected" 'BEGIN { printf "%.0f", n / t }') msg/s, peak RSS $rss KB (goal < 32768)"
best=$mp best_args=()
mj=$(med mpjobs)
echo "    mailport --jobs 4        ${mj}s  $(awk -v t="$mj" -v n="$expected" 'BEGIN { printf "%.0f", n / t }') msg/s, peak RSS $rss_jobs KB (goal < 32768)"
if awk -v a="$mp" -v b="$mj" 'BEGIN { exit !(b < a) }'; then
  best=$mj best_args=(--jobs 4)
fi
if [ "$multi_ok" = 1 ]; then
  mm=$(med mpmulti)
  echo "    mailport multiappend=0   ${mm}s  $(awk -v t="$mm" -v n="$expected" 'BEGIN { printf "%.0f", n / t }') msg/s, peak RSS $rss_multi KB"
  if awk -v a="$best" -v b="$mm" 'BEGIN { exit !(b < a) }'; then
    best=$mm best_args=()
  fi
fi
[ -n "$imapsync" ] && echo "    imapsync                 $(med imapsync)s"
echo "    mbsync                   $(med mbsync)s"
echo "    doveadm import           $(med doveadm)s  $(awk -v t="$(med doveadm)" -v n="$expected" 'BEGIN { printf "%.0f", n / t }') msg/s"
echo "  ratios (mailport's fastest mode, ${best}s${best_args[*]:+, ${best_args[*]}}):"
[ -n "$imapsync" ] && echo "    time / imapsync's:       $(ratio "$best" "$(med imapsync)") (goal <= 0.1)"
echo "    time / mbsync's:         $(ratio "$best" "$(med mbsync)") (goal <= 0.5)"
echo "    rate / doveadm's:        $(ratio "$(med doveadm)" "$best") (goal >= 0.7)"

echo
echo "IMAP -> IMAP through a proxy adding 10 ms each way (20 ms round trip)"
cc -O2 -pthread -o "$work/delay_proxy" "$here/delay_proxy.c"
pport=$(free_port)
"$work/delay_proxy" "$pport" "$DC_PORT" 10 &
proxy_pid=$!
sleep 0.3
extra=
[ "$multi_ok" = 1 ] && [ "$best" = "$mm" ] && [ "$best" != "$mp" ] && extra="&multiappend=0"
time_cmd sl "$MAILPORT_BIN" copy "$(dovecot_url alice "$pport")" "$(dovecot_url slow "$pport")$extra" \
  --state "$work/mig-slow.sqlite" -q "${best_args[@]}"
check "mailport through the proxy" slow
echo "  mailport: ${sl}s through the proxy, ${best}s on loopback: throughput $(ratio "$best" "$sl") of loopback (goal >= 0.8)"
