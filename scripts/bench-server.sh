#!/usr/bin/env bash
# Side-by-side load test: gradwell and Dovecot (dovecot-pop3d, dovecot-lmtpd, high-performance
# mode service_count = 0) on loopback, serving the same Maildir tree, driven by the same load
# generator (examples/mail_load.rs, built on smtp-proto's and pop3-proto's client sides).
#
#   scripts/bench-server.sh            # needs root (Dovecot drops to `nobody`)
#   MIRROR=1 scripts/bench-server.sh   # gradwell on a mirror set of two replica roots
#
# Prints one line per run and a summary with medians; both servers fsync every delivery
# (gradwell storage.fsync = true; Dovecot mail_fsync = always). Passwords are {PLAIN} for
# both so that password hashing does not dominate the login numbers.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
SESSIONS="${SESSIONS:-20}" MESSAGES="${MESSAGES:-50}" SIZE="${SIZE:-4096}" ROUNDS="${ROUNDS:-5}" RUNS="${RUNS:-3}" IDLE="${IDLE:-200}"
MIRROR="${MIRROR:-0}"
command -v dovecot >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-pop3d dovecot-lmtpd >/dev/null
}
base="${BENCH_PORT_BASE:-24000}"
gw_pop3=$((base + 110)) gw_lmtp=$((base + 24)) dv_pop3=$((base + 1110)) dv_lmtp=$((base + 1024))
# shellcheck source=bench-lib.sh
source "$repo/scripts/bench-lib.sh"
cat >"$work/bench.toml" <<CONF
hostname = "bench.example.test"
local_domains = ["example.test"]
users_file = "users"
postmaster = "gw0"
[storage]
mirror_sets = $([ "$MIRROR" = 1 ] && echo '[["replica-a", "replica-b"]]' || echo '[["replica-a"]]')
fsync = true
[limits]
max_connections_per_ip = 10000
[[listener]]
service = "pop3"
address = "127.0.0.1:$gw_pop3"
tls = "none"
allow_cleartext_auth = true
[[listener]]
service = "lmtp"
address = "127.0.0.1:$gw_lmtp"
tls = "none"
CONF
mkdir -p "$work/dovecot/run" "$work/dovecot/state"
cat >"$work/dovecot/dovecot.conf" <<CONF
protocols = pop3 lmtp
listen = 127.0.0.1
instance_name = gradwell-bench-$base
base_dir = $work/dovecot/run
state_dir = $work/dovecot/state
log_path = $work/dovecot/dovecot.log
ssl = no
$(dovecot_users_conf)
mail_max_userip_connections = 10000
pop3_uidl_format = %08Xu%08Xv
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $dv_pop3
  }
  service_count = 0
  process_min_avail = 2
  client_limit = 2000
}
service pop3 {
  process_limit = 1024
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $dv_lmtp
  }
}
protocol lmtp {
  postmaster_address = postmaster@example.test
}
default_client_limit = 4000
CONF
chown nobody:nogroup "$root"

"$gradwell" serve --config "$work/bench.toml" 2>"$work/gradwell.log" &
gw_pid=$!
dovecot -c "$work/dovecot/dovecot.conf"
for port in $gw_pop3 $gw_lmtp $dv_pop3 $dv_lmtp; do
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done
# Dovecot may write its pid file after its listeners are up.
for _ in $(seq 100); do [ -s "$work/dovecot/run/master.pid" ] && break; sleep 0.1; done
dv_master="$(cat "$work/dovecot/run/master.pid")"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
rate() { sed -n 's/.*msgs_per_sec=\([0-9.]*\).*/\1/p'; }
: >"$work/results"
record() { echo "$1 $2" >>"$work/results"; echo "$1: $3"; }

for run in $(seq "$RUNS"); do
    out=$("$load" deliver "127.0.0.1:$gw_lmtp" lmtp example.test gw "$SESSIONS" "$MESSAGES" "$SIZE")
    record gradwell-lmtp "$(echo "$out" | rate)" "$out"
    out=$("$load" deliver "127.0.0.1:$dv_lmtp" lmtp example.test dv "$SESSIONS" "$MESSAGES" "$SIZE")
    record dovecot-lmtp "$(echo "$out" | rate)" "$out"
done
# Dovecot's POP3 runs as nobody and writes its index files into the tree gradwell filled.
chown -R nobody:nogroup "$root"
for run in $(seq "$RUNS"); do
    out=$("$load" pop3 "127.0.0.1:$gw_pop3" gw bench-pw "$SESSIONS" "$ROUNDS")
    record gradwell-pop3 "$(echo "$out" | rate)" "$out"
    out=$("$load" pop3 "127.0.0.1:$dv_pop3" gw bench-pw "$SESSIONS" "$ROUNDS")
    record dovecot-pop3 "$(echo "$out" | rate)" "$out"
done

# Memory per logged-in POP3 session: proportional set size (PSS, shared pages split between
# processes) of the server's processes with SESSIONS idle sessions, minus without.
pss() { # PIDs... -> total PSS in KiB
    local total=0 p v
    for p in "$@"; do
        v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}
dv_pids() { echo "$dv_master" $(ps -o pid= --ppid "$dv_master"); }
per_session() { # name port pids-command
    local name=$1 port=$2 before after fifo="$work/idle-$1"
    before=$(pss $($3))
    mkfifo "$fifo"
    "$load" pop3-idle "127.0.0.1:$port" gw bench-pw "$IDLE" <"$fifo" >"$work/idle-$name.out" &
    local idle=$!
    exec 7>"$fifo"
    for _ in $(seq 200); do grep -q ready "$work/idle-$name.out" 2>/dev/null && break; sleep 0.1; done
    sleep 0.5
    after=$(pss $($3))
    exec 7>&-
    wait "$idle" || true
    echo "$name-memory-per-session-kib $(awk -v a="$after" -v b="$before" -v n="$IDLE" 'BEGIN {printf "%.1f", (a - b) / n}')" >>"$work/results"
    echo "$name: PSS $before KiB -> $after KiB with $IDLE idle sessions"
}
per_session gradwell "$gw_pop3" "echo $gw_pid"
per_session dovecot "$dv_pop3" dv_pids

echo "=== summary (gradwell mirrored on two replicas: $MIRROR): medians of $RUNS runs; $SESSIONS sessions; $MESSAGES messages of $SIZE octets per LMTP session; POP3 $ROUNDS rounds per session"
for key in gradwell-lmtp dovecot-lmtp gradwell-pop3 dovecot-pop3; do
    echo "$key msgs/s $(awk -v k="$key" '$1 == k {print $2}' "$work/results" | median)"
done
grep memory "$work/results"
