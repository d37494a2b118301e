# Shared setup of the side-by-side bench scripts (sourced by bench-server.sh and
# bench-imap.sh): release builds of gradwell and the load generator, a scratch tree removed on
# exit together with both servers, and a quickstart tree whose users file holds IDLE `gw*`
# (gradwell) and `dv*` (Dovecot) accounts with {PLAIN} passwords.
# Expects: repo, IDLE. Sets: target, gradwell, load, work, root; the caller sets gw_pid and
# dv_master once it has started the servers.
target="${CARGO_TARGET_DIR:-$repo/target}"
cargo build --release -p gradwell-server --bin gradwell
cargo build --release -p examples --example mail_load
gradwell="$target/release/gradwell" load="$target/release/examples/mail_load"

work="$(mktemp -d)"; chmod 755 "$work"
gw_pid="" dv_master=""
cleanup() {
    [ -n "$gw_pid" ] && kill -TERM "$gw_pid" 2>/dev/null && wait "$gw_pid" || true
    [ -n "$dv_master" ] && kill -TERM "$dv_master" 2>/dev/null || true
    sleep 0.5; [ -n "${KEEP_WORK:-}" ] && { echo "kept $work" >&2; return; }; rm -rf "$work"
}
trap cleanup EXIT

"$gradwell" quickstart --dir "$work" --no-serve >/dev/null
root="$work/replica-a"
: >"$work/users"
for i in $(seq 0 $((IDLE - 1))); do
    for prefix in gw dv; do echo "$prefix$i:{PLAIN}bench-pw::::::" >>"$work/users"; done
done
chmod 644 "$work/users"

# dovecot_users_conf: the part of a bench Dovecot's configuration both benches share: plain
# passwords from $work/users (written by the users setup above), mail in $root/USER as
# Maildir, owned by nobody, fsynced like ours.
dovecot_users_conf() {
    cat <<CONF
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $work/users
}
userdb {
  driver = passwd-file
  args = username_format=%n $work/users
  default_fields = uid=nobody gid=nogroup home=$root/%n
}
mail_location = maildir:$root/%n
first_valid_uid = 1
mail_fsync = always
CONF
}
