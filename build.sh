#!/usr/bin/env bash
# mailport's one entry point.
#   ./build.sh                 install missing Debian packages, build into build/ (-O2 -g)
#   ./build.sh test            build, run the suite (ctest), again under ASan+UBSan, fuzz smoke
#   ./build.sh bench           optimised build, then the benchmarks in bench/
#   ./build.sh fuzz [SECS]     libFuzzer targets (clang), each run SECS seconds (default 60)
#   ./build.sh install PREFIX  install binary, plugins, plugins.conf, man pages and bash completion under PREFIX
#   ./build.sh deps            only install missing packages
#   ./build.sh soak [STEPS]    build, then the model test (tests/model) for STEPS steps per pair,
#                              then the IMAP server fault injection for MP_FAULT_ROUNDS rounds
set -euo pipefail
cd "$(dirname "$0")"
top=$PWD

# Everything the build, the tests and the benchmarks use, from Debian.
packages=(
  build-essential cmake ninja-build pkg-config
  libgmime-3.0-dev libcurl4-openssl-dev libssl-dev libarchive-dev libsqlite3-dev libzstd-dev libdeflate-dev libjansson-dev
  libcmocka-dev
  dovecot-imapd openssl age tar gzip xz-utils zstd
  scdoc
)
# imapsync itself is not packaged (bench/migration.sh takes its script from
# $IMAPSYNC); these are the Perl modules its INSTALL.Debian.txt names.
bench_packages=(isync mb2md time libmail-imapclient-perl libio-socket-ssl-perl
  libio-socket-inet6-perl libterm-readkey-perl libdigest-hmac-perl
  libfile-copy-recursive-perl libio-tee-perl libunicode-string-perl
  libreadonly-perl libsys-meminfo-perl libregexp-common-perl
  libencode-imaputf7-perl libdata-uniqid-perl libfile-tail-perl
  libjson-webtoken-perl libcrypt-openssl-rsa-perl libmodule-scandeps-perl
  libauthen-ntlm-perl libcgi-pm-perl libhtml-parser-perl
  libparse-recdescent-perl libproc-processtable-perl liburi-perl libwww-perl)
fuzz_packages=(clang)
# Cyrus IMAP, the tests' strict second server (issue 10; tests/cyrus/): its
# packages conflict with dovecot-imapd, so tests/cyrus/fetch_cyrus.sh
# fetches them with `apt-get download` into the build tree at test time;
# these are the shared libraries and tools it needs that do not conflict
# (saslpasswd2 from sasl2-bin makes the test users).
cyrus_packages=(libxapian30 libical3 libicu72 libpq5 libldap-2.5-0 libpcre3
  libxml2 libwrap0 libsasl2-2 libsasl2-modules libsasl2-modules-db sasl2-bin
  libjansson4 libsqlite3-0 libkrb5-3 libcom-err2)

log() { printf 'build.sh: %s\n' "$*" >&2; }

install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

configure_and_build() { # DIR [cmake args...]
  local dir=$1; shift
  cmake -S "$top" -B "$top/$dir" -G Ninja "$@" >/dev/null
  cmake --build "$top/$dir" -- -j"$(nproc)"
}

run_ctest() { # DIR
  (cd "$top/$1" && ctest --output-on-failure -j"$(nproc)" --timeout 600)
}

# The libFuzzer targets (fuzz/, clang) in build-fuzz/. Only they are built
# there: the rest is built and tested with gcc.
build_fuzzers() {
  cmake -S "$top" -B "$top/build-fuzz" -G Ninja -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=Debug -DMP_FUZZ=ON > /dev/null
  local targets
  targets=$(cd "$top/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
  cmake --build "$top/build-fuzz" --target $targets -- -j"$(nproc)"
}

cmd=${1:-build}
case "$cmd" in
  deps)
    install_missing "${packages[@]}" "${cyrus_packages[@]}"
    ;;
  build)
    install_missing "${packages[@]}"
    configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    log "built build/mailport (optimised, with debug information)"
    ;;
  test)
    install_missing "${packages[@]}" "${fuzz_packages[@]}" "${cyrus_packages[@]}"
    configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    log "test suite (the optimised build/mailport, warnings as errors)"
    run_ctest build
    configure_and_build build-asan -DCMAKE_BUILD_TYPE=Debug -DMP_SANITIZE=ON
    log "test suite (AddressSanitizer + UndefinedBehaviorSanitizer build)"
    # Leaks are checked in every mailport process the tests start (exit 86 on
    # a leak fails the test's exit-code assertion); test programs themselves
    # may leave strings behind on failure paths, so not in them.
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=1 \
      MP_CHILD_ASAN_OPTIONS=detect_leaks=1:exitcode=86:abort_on_error=1:detect_stack_use_after_return=1:intercept_tls_get_addr=0 \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      run_ctest build-asan
    # The seeds are replayed by the runs above (tests fuzz_replay_*); here
    # each libFuzzer target also mutates them for a few seconds, so a crash
    # a short run finds fails the suite (tests fuzz_smoke_*, one at a time).
    log "fuzz smoke: each libFuzzer target for a few seconds (clang build)"
    build_fuzzers
    (cd "$top/build-fuzz" && ctest -L fuzz --output-on-failure --timeout 120)
    ;;
  soak)
    # The model-based sync test for a long random walk (default 2000 steps
    # per endpoint pair); MP_MODEL_SEED=N replays a run.
    install_missing "${packages[@]}"
    configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    log "model soak: ${2:-2000} steps per pair"
    (cd "$top/build/tests/model" &&
      MAILPORT_BIN="$top/build/mailport" MAILPORT_PLUGINS_CONF="$top/build/plugins.conf" \
        CMOCKA_MESSAGE_OUTPUT=STDOUT MP_MODEL_STEPS=${2:-2000} ./test_model)
    # The IMAP server killed, stopped and restarted at random points
    # (tests/imap/test_imap_server_faults.c), for more rounds than the
    # suite's one per direction; MP_FAULT_SEED=N replays a run.
    log "IMAP server faults: ${MP_FAULT_ROUNDS:-6} rounds per direction"
    (cd "$top/build/tests/imap" &&
      MAILPORT_BIN="$top/build/mailport" MAILPORT_PLUGINS_CONF="$top/build/plugins.conf" \
        CMOCKA_MESSAGE_OUTPUT=STDOUT MP_FAULT_ROUNDS=${MP_FAULT_ROUNDS:-6} \
        MP_FAULT_DISRUPTIONS=${MP_FAULT_DISRUPTIONS:-3} ./test_imap_server_faults)
    ;;
  bench)
    install_missing "${packages[@]}" "${bench_packages[@]}"
    configure_and_build build-release -DCMAKE_BUILD_TYPE=Release
    MAILPORT_BIN="$top/build-release/mailport" bash "$top/bench/run.sh" "${@:2}"
    ;;
  fuzz)
    install_missing "${packages[@]}" "${fuzz_packages[@]}"
    build_fuzzers
    secs=${2:-60}
    for f in "$top"/build-fuzz/fuzz/fuzz_*; do
      [ -x "$f" ] || continue
      name=$(basename "$f")
      corpus="$top/build-fuzz/fuzz/corpus-$name"
      mkdir -p "$corpus"
      seeds="$top/fuzz/seeds/${name#fuzz_}"
      log "fuzzing $name for ${secs}s"
      # A crash stops here (set -e), its input saved as crash-NAME-*.
      "$f" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$top/build-fuzz/fuzz/crash-$name-" \
        "$corpus" $([ -d "$seeds" ] && echo "$seeds")
    done
    ;;
  install)
    prefix=${2:?usage: ./build.sh install PREFIX}
    install_missing "${packages[@]}"
    configure_and_build build-release -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix"
    cmake --install "$top/build-release"
    ;;
  *)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
