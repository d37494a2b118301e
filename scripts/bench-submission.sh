#!/usr/bin/env bash
# Side-by-side submission + relay benchmark: Postfix's smtp-source (20 sessions, 10 KB
# messages) submits to gradwell and to Postfix on loopback; each relays everything to the
# same Postfix smtp-sink, which exits after the last message. End-to-end messages/s is
# messages / (sink exit - load start); "accept" is messages / (load end - load start).
#
#   scripts/bench-submission.sh      # needs root (Postfix runs as root, smtp-sink as nobody)
#
# Both queues are fsynced: gradwell storage.fsync = true (queue files fsynced and renamed);
# Postfix fsyncs queue files by default. smtp-source cannot AUTH, so both servers let
# loopback submit without it (gradwell trusted_networks; Postfix mynetworks).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
MESSAGES="${MESSAGES:-2000}" SESSIONS="${SESSIONS:-20}" SIZE="${SIZE:-10240}" RUNS="${RUNS:-3}"
target="${CARGO_TARGET_DIR:-$repo/target}"
command -v smtp-source >/dev/null || {
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null
}
cargo build --release -p gradwell-server --bin gradwell
gradwell="$target/release/gradwell"

work="$(mktemp -d)"; chmod 755 "$work"
gw_pid="" pf_dir="$work/postfix"
cleanup() {
    if [ -n "$gw_pid" ]; then kill -TERM "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null || true; fi
    postfix -c "$pf_dir" stop >/dev/null 2>&1 || true
    sleep 0.5; rm -rf "$work"
}
trap cleanup EXIT

base="${BENCH_PORT_BASE:-25000}"
gw_port=$((base + 587)) pf_port=$((base + 1587)) sink_port=$((base + 2525))

# gradwell: submission on loopback, relaying to the sink.
"$gradwell" quickstart --dir "$work/gw" --no-serve >/dev/null
cat >"$work/gw/bench.toml" <<CONF
hostname = "gradwell.bench.test"
local_domains = ["bench.test"]
users_file = "users"
postmaster = "demo"
[storage]
mirror_sets = [["replica-a"]]
fsync = true
[limits]
max_connections_per_ip = 1000
submission_max_messages_per_hour = 1000000
submission_max_recipients_per_hour = 1000000
[queue]
concurrency = $SESSIONS
max_messages = 1000000
max_bytes = 100000000000
[relay]
smart_host = "127.0.0.1:$sink_port"
tls = "none"
[[listener]]
service = "submission"
address = "127.0.0.1:$gw_port"
tls = "none"
trusted_networks = ["127.0.0.0/8"]
CONF

# Postfix: a private instance (own config and queue directories), relaying to the sink.
mkdir -p "$pf_dir" "$work/pf-queue" "$work/pf-data"
chown postfix "$work/pf-data"
cat >"$pf_dir/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $work/pf-queue
data_directory = $work/pf-data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.bench.test
mydestination =
relayhost = [127.0.0.1]:$sink_port
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_tls_security_level = none
smtpd_tls_security_level = none
maillog_file = $work/pf-maillog
maillog_file_prefixes = $work
default_process_limit = 200
smtp_destination_concurrency_limit = $SESSIONS
default_destination_concurrency_limit = $SESSIONS
in_flow_delay = 0
CONF
cat >"$pf_dir/master.cf" <<CONF
127.0.0.1:$pf_port inet n - n - - smtpd
pickup    unix  n  -  n  60   1  pickup
cleanup   unix  n  -  n  -    0  cleanup
qmgr      unix  n  -  n  300  1  qmgr
rewrite   unix  -  -  n  -    -  trivial-rewrite
bounce    unix  -  -  n  -    0  bounce
defer     unix  -  -  n  -    0  bounce
trace     unix  -  -  n  -    0  bounce
verify    unix  -  -  n  -    1  verify
flush     unix  n  -  n  1000 0  flush
proxymap  unix  -  -  n  -    -  proxymap
smtp      unix  -  -  n  -    -  smtp
relay     unix  -  -  n  -    -  smtp
showq     unix  n  -  n  -    -  showq
error     unix  -  -  n  -    -  error
retry     unix  -  -  n  -    -  error
discard   unix  -  -  n  -    -  discard
anvil     unix  -  -  n  -    1  anvil
scache    unix  -  -  n  -    1  scache
postlog   unix-dgram n - n -  1  postlogd
CONF
postfix -c "$pf_dir" check >/dev/null 2>&1 || true
postfix -c "$pf_dir" start >/dev/null 2>&1 || { cat "$work/pf-maillog" >&2; exit 1; }

RUST_LOG=warn "$gradwell" serve --config "$work/gw/bench.toml" 2>"$work/gw.log" &
gw_pid=$!
for port in $gw_port $pf_port; do
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
        sleep 0.1
    done
done

now() { date +%s.%N; }
# One run: prints "accept_per_s end_to_end_per_s".
run() {
    local port=$1
    smtp-sink -u nobody -M "$MESSAGES" "127.0.0.1:$sink_port" 256 &
    local sink=$!
    sleep 0.3
    local t0 t1 t2
    t0=$(now)
    smtp-source -s "$SESSIONS" -l "$SIZE" -m "$MESSAGES" -f sender@bench.test -t rcpt@far.example \
        "127.0.0.1:$port"
    t1=$(now)
    wait "$sink"
    t2=$(now)
    awk -v n="$MESSAGES" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "%.0f %.0f\n", n / (b - a), n / (c - a) }'
}

declare -a gw_e2e pf_e2e gw_acc pf_acc
for r in $(seq "$RUNS"); do
    read -r acc e2e < <(run "$gw_port"); gw_acc+=("$acc"); gw_e2e+=("$e2e")
    echo "run $r gradwell: accept $acc msg/s, end-to-end $e2e msg/s"
    read -r acc e2e < <(run "$pf_port"); pf_acc+=("$acc"); pf_e2e+=("$e2e")
    echo "run $r postfix:  accept $acc msg/s, end-to-end $e2e msg/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
g=$(median "${gw_e2e[@]}") p=$(median "${pf_e2e[@]}") ga=$(median "${gw_acc[@]}") pa=$(median "${pf_acc[@]}")
echo "median end-to-end: gradwell $g msg/s, postfix $p msg/s, ratio $(awk -v g="$g" -v p="$p" 'BEGIN { printf "%.2f", g / p }')x"
echo "median accept:     gradwell $ga msg/s, postfix $pa msg/s, ratio $(awk -v g="$ga" -v p="$pa" 'BEGIN { printf "%.2f", g / p }')x"
