#!/usr/bin/env bash
# Black-box acceptance run: starts `gradwell` on loopback with a test configuration, runs the
# shared pytest suite (../shared/acceptance) for the services built so far, runs real mail
# clients (swaks with STARTTLS, fetchmail over POP3S), and stops the server.
#
# Needs: python3 with pytest, swaks, fetchmail, curl. ACCEPT_SERVICES defaults to the
# services gradwell offers today (imap,pop3,smtp,submission: the full run). Extra arguments go
# to pytest.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
suite="${ACCEPT_SUITE:-$repo/../shared/acceptance}"
if [ ! -f "$suite/conftest.py" ]; then
    echo "acceptance: suite not found at $suite (set ACCEPT_SUITE)" >&2
    exit 1
fi
target="${CARGO_TARGET_DIR:-$repo/target}"
cargo build -p gradwell-server --bin gradwell
bin="$target/debug/gradwell"

work="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" || true
    fi
    if [ "${KEEP_ACCEPT_DIR:-}" = "" ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT

# Ports: a base that other test runs on this machine do not use; override with ACCEPT_PORT_BASE.
base="${ACCEPT_PORT_BASE:-23000}"
pop3=$((base + 110)); pop3s=$((base + 995)); smtp=$((base + 25))
submission=$((base + 587)); submissions=$((base + 465))
imap=$((base + 143)); imaps=$((base + 993))
export ACCEPT_USERS="${ACCEPT_USERS:-alice:secret-alice,bob:secret-bob,carol:secret-carol}"

# The quickstart makes the certificate and the replica roots; the test config replaces its own.
"$bin" quickstart --dir "$work" --no-serve >/dev/null
rm -f "$work/users" "$work/demo-credentials"
IFS=',' read -ra pairs <<<"$ACCEPT_USERS"
for pair in "${pairs[@]}"; do
    printf '%s\n' "${pair#*:}" | "$bin" user --users-file "$work/users" add "${pair%%:*}"
done
first_user="${pairs[0]%%:*}"
cat >"$work/accept.toml" <<CONF
hostname = "mx.example.test"
local_domains = ["example.test"]
users_file = "users"
aliases_file = "aliases"
postmaster = "$first_user"

[tls]
cert = "cert.pem"
key = "key.pem"

[storage]
mirror_sets = [["replica-a", "replica-b"]]

[limits]
# The suite opens 500 connections at once from 127.0.0.1.
max_connections_per_ip = 1000
smtp_max_message_size = 10485760

[[listener]]
service = "pop3"
address = "127.0.0.1:$pop3"
tls = "starttls"
# The suite logs in with USER/PASS before STLS, as Dovecot's reference allows.
allow_cleartext_auth = true

[[listener]]
service = "pop3"
address = "127.0.0.1:$pop3s"
tls = "implicit"

[[listener]]
service = "smtp"
address = "127.0.0.1:$smtp"
tls = "starttls"

[[listener]]
service = "submission"
address = "127.0.0.1:$submission"
tls = "starttls"

[[listener]]
service = "submission"
address = "127.0.0.1:$submissions"
tls = "implicit"

[[listener]]
service = "imap"
address = "127.0.0.1:$imap"
tls = "starttls"

[[listener]]
service = "imap"
address = "127.0.0.1:$imaps"
tls = "implicit"
CONF
: >"$work/aliases"

RUST_LOG="${RUST_LOG:-info}" "$bin" serve --config "$work/accept.toml" 2>"$work/gradwell.log" &
pid=$!
for port in $pop3 $pop3s $smtp $submission $submissions $imap $imaps; do
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
        if ! kill -0 "$pid" 2>/dev/null; then cat "$work/gradwell.log" >&2; exit 1; fi
        sleep 0.1
    done
done

export MAIL_HOST=127.0.0.1 POP3_PORT=$pop3 POP3S_PORT=$pop3s SMTP_PORT=$smtp
export SUBMISSION_PORT=$submission IMAP_PORT=$imap IMAPS_PORT=$imaps
export MAIL_DOMAIN=example.test MAIL_CAFILE="$work/cert.pem" MAIL_TLS_NAME=localhost
export MAIL_ROOT="$work/replica-a"
export ACCEPT_SERVICES="${ACCEPT_SERVICES:-imap,pop3,smtp,submission}"
export PYTHONDONTWRITEBYTECODE=1

status=0
# The suite's directory may be read-only (CI copies it without write bits): no cache there.
(cd "$suite" && python3 -m pytest -p no:cacheprovider "$@") || status=$?

# Real clients: swaks delivers with STARTTLS, fetchmail downloads over POP3S with the
# certificate checked.
real_clients() {
    local user="${pairs[1]%%:*}" pass="${pairs[1]#*:}" token="real-client-$RANDOM$RANDOM"
    swaks --silent 2 --server 127.0.0.1 --port "$smtp" --tls --tls-verify --tls-ca-path "$work/cert.pem" \
        --tls-sni localhost --ehlo client.example.net --from sender@example.net \
        --to "$user@example.test" --header "Subject: $token" --body "sent by swaks"
    local rc="$work/fetchmailrc" out="$work/fetched"
    cat >"$rc" <<RC
set no syslog
poll 127.0.0.1 service $pop3s protocol pop3 auth password
  user "$user" there with password "$pass" is "$user" here
  ssl sslcertck sslcertfile "$work/cert.pem" sslcommonname localhost
  fetchall nokeep
  mda "/bin/sh -c 'cat >> $out'"
RC
    chmod 600 "$rc"
    HOME="$work" fetchmail --fetchmailrc "$rc" --pidfile "$work/fetchmail.pid" --nodetach -v >"$work/fetchmail.log" 2>&1 || {
        cat "$work/fetchmail.log" >&2; return 1; }
    if ! grep -q "Subject: $token" "$out"; then
        echo "real clients: fetchmail did not download the message swaks sent" >&2
        cat "$work/fetchmail.log" >&2
        return 1
    fi
    echo "real clients: swaks (STARTTLS) delivered and fetchmail (POP3S) downloaded $token"
}
real_clients || status=1

# Real submission clients, as a customer's client would send: swaks (STARTTLS + AUTH PLAIN),
# Python's smtplib (implicit TLS + AUTH LOGIN) and msmtp (STARTTLS + AUTH), certificates
# verified; each message must land in the recipient's mailbox.
submission_clients() {
    local from="${pairs[0]%%:*}" pass="${pairs[0]#*:}" to="${pairs[1]%%:*}@example.test"
    local sender="$from@example.test" t1="swaks-$RANDOM$RANDOM" t2="smtplib-$RANDOM$RANDOM" t3="msmtp-$RANDOM$RANDOM"
    swaks --silent 2 --server 127.0.0.1 --port "$submission" --tls --tls-verify --tls-ca-path "$work/cert.pem" \
        --tls-sni localhost --auth PLAIN --auth-user "$from" --auth-password "$pass" \
        --from "$sender" --to "$to" --header "From: $sender" --header "Subject: $t1" --body "sent by swaks"
    python3 - "$submissions" "$work/cert.pem" "$from" "$pass" "$sender" "$to" "$t2" <<'PY'
import smtplib, ssl, sys
port, ca, user, pw, sender, to, token = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
with smtplib.SMTP_SSL("127.0.0.1", int(port), context=ctx) as s:  # the certificate names 127.0.0.1 too
    s.login(user, pw)  # smtplib picks PLAIN or LOGIN from the EHLO list
    s.sendmail(sender, [to], f"From: {sender}\r\nTo: {to}\r\nSubject: {token}\r\n\r\nsent by smtplib\r\n")
PY
    printf 'From: %s\nTo: %s\nSubject: %s\n\nsent by msmtp\n' "$sender" "$to" "$t3" |
        msmtp --host=127.0.0.1 --port="$submission" --tls=on --tls-starttls=on \
            --tls-trust-file="$work/cert.pem" --tls-host-override=localhost --auth=on --user="$from" \
            --passwordeval="echo $pass" --from="$sender" "$to"
    local token
    for token in "$t1" "$t2" "$t3"; do
        if ! grep -rqs "Subject: $token" "$work/replica-a"; then
            echo "submission clients: $token was not delivered" >&2
            return 1
        fi
    done
    echo "submission clients: swaks (STARTTLS+AUTH), smtplib (implicit TLS+AUTH) and msmtp delivered"
}
case ",$ACCEPT_SERVICES," in
*,submission,*) submission_clients || status=1 ;;
esac

if [ "$status" -ne 0 ]; then
    echo "--- gradwell log (last 60 lines) ---" >&2
    tail -n 60 "$work/gradwell.log" >&2
fi
exit "$status"
