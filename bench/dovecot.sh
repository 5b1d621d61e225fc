# A private Dovecot for the benchmarks (sourced after lib.sh): the settings
# that work on these machines (DESIGN.md section 8), on free loopback ports,
# plain-text IMAP only (the benchmarks measure the protocol, not TLS).
#
#   dovecot_start DIR         start it; sets DC_DIR, DC_PORT
#   dovecot_user NAME PASS    add a user (password file: $DC_DIR/NAME.pw)
#   dovecot_load NAME MBOX    fill NAME's INBOX from an mbox, before first use
#   dovecot_stop              stop it

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null || { echo "$p"; return; }
  done
  echo "bench: no free port" >&2; return 1
}

dovecot_start() {
  DC_DIR=$1
  rm -rf "$DC_DIR"
  mkdir -p "$DC_DIR"/{run,state,mail,home}
  chmod 755 "$DC_DIR"
  DC_PORT=$(free_port)
  : > "$DC_DIR/passwd"
  cat > "$DC_DIR/dovecot.conf" <<EOF
base_dir = $DC_DIR/run
state_dir = $DC_DIR/state
log_path = $DC_DIR/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_max_userip_connections = 64
passdb {
  driver = passwd-file
  args = $DC_DIR/passwd
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$DC_DIR/home/%u
}
mail_location = maildir:$DC_DIR/mail/%u
namespace inbox {
  inbox = yes
  separator = /
}
service imap-login {
  chroot =
  inet_listener imap {
    port = $DC_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
EOF
  chown -R dovecot:dovecot "$DC_DIR/mail" "$DC_DIR/home"
  dovecot -c "$DC_DIR/dovecot.conf"
  for _ in $(seq 1 100); do
    (exec 3<> "/dev/tcp/127.0.0.1/$DC_PORT") 2> /dev/null && return 0
    sleep 0.1
  done
  echo "bench: dovecot did not start; its log:" >&2
  cat "$DC_DIR/dovecot.log" >&2
  return 1
}

dovecot_user() {
  printf '%s:{PLAIN}%s::::::\n' "$1" "$2" >> "$DC_DIR/passwd"
  printf '%s' "$2" > "$DC_DIR/$1.pw"
  chmod 600 "$DC_DIR/$1.pw"
}

# The account's URL for mailport.
dovecot_url() { echo "imap://$1@127.0.0.1:${2:-$DC_PORT}?tls=none&password_file=$DC_DIR/$1.pw"; }

# Written straight into the user's Maildir by mailport, then indexed by
# Dovecot once (a listing), so no timed run pays for the first indexing.
dovecot_load() {
  "$MAILPORT_BIN" copy "mbox:$2" "maildir:$DC_DIR/mail/$1" --no-state -q
  chown -R dovecot:dovecot "$DC_DIR/mail/$1"
  "$MAILPORT_BIN" list "$(dovecot_url "$1")" > /dev/null
}

dovecot_stop() {
  [ -n "${DC_DIR:-}" ] && [ -f "$DC_DIR/dovecot.conf" ] || return 0
  doveadm -c "$DC_DIR/dovecot.conf" stop 2> /dev/null || true
  sleep 0.5
}
