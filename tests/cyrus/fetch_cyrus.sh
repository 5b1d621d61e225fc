#!/usr/bin/env bash
# The Cyrus IMAP test fixture (tests/support/cyrus.c): Debian's cyrus-common
# and cyrus-imapd packages, fetched with `apt-get download` and unpacked
# with `dpkg -x` into DIR/root, never installed (cyrus-imapd conflicts with
# dovecot-imapd, which the rest of the suite runs). The shared libraries
# they need that do not conflict with Dovecot are ordinary Debian packages
# that build.sh installs (its cyrus_packages).
#
#   fetch_cyrus.sh DIR
#
# Always exits 0, so the ctest fixture that runs it never blocks the suite:
# when the packages cannot be had, DIR/unavailable says why, and each Cyrus
# test skips (exit 77) naming that reason. A fixture already unpacked is
# kept; one that failed is tried again at the next run.
set -uo pipefail
dir=${1:?usage: fetch_cyrus.sh DIR}
mkdir -p "$dir"
exec 9>"$dir/.lock" # parallel test builds (build/, build-asan/) each have their own DIR
flock 9

why() {
  printf '%s\n' "$*" > "$dir/unavailable"
  printf 'fetch_cyrus.sh: Cyrus IMAP tests will skip: %s\n' "$*"
  exit 0
}

master=$dir/root/usr/lib/cyrus/bin/master
if [ ! -x "$master" ]; then
  rm -rf "$dir/root" "$dir/debs"
  mkdir -p "$dir/debs"
  # As root, apt-get downloads as its _apt user into the current directory.
  chmod 0777 "$dir/debs"
  if ! (cd "$dir/debs" && apt-get download cyrus-common cyrus-imapd) \
      > "$dir/download.log" 2>&1; then
    why "apt-get download cyrus-common cyrus-imapd failed (no network or no Debian package source?): $(tail -n 1 "$dir/download.log")"
  fi
  for deb in "$dir"/debs/*.deb; do
    dpkg -x "$deb" "$dir/root" || why "dpkg -x $deb failed"
  done
  [ -x "$master" ] || why "the packages hold no $master"
fi
libs=$dir/root/usr/lib/x86_64-linux-gnu
for b in master imapd ctl_cyrusdb; do
  missing=$(LD_LIBRARY_PATH=$libs ldd "$dir/root/usr/lib/cyrus/bin/$b" 2>&1 | awk '/not found/{print $1}' | tr '\n' ' ')
  [ -z "$missing" ] || why "$b needs libraries that are not installed: $missing(./build.sh deps installs them)"
done
command -v saslpasswd2 > /dev/null || why "no saslpasswd2 (Debian package sasl2-bin; ./build.sh deps installs it)"
rm -f "$dir/unavailable"
echo "fetch_cyrus.sh: Cyrus IMAP $(cd "$dir/debs" 2>/dev/null && ls cyrus-imapd_*.deb 2>/dev/null | cut -d_ -f2) ready in $dir/root"
