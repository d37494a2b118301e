#!/usr/bin/env bash
# Side-by-side IMAP load test: gradwell and Dovecot imapd (high-performance mode,
# service_count = 0 for imap-login and imap) on loopback, serving the same Maildir tree (each
# server its own users in it), driven by the same load generator (examples/mail_load.rs
# `imap` mode: an imaptest-like mix of LOGIN, SELECT, APPEND, NOOP, FETCH FLAGS, FETCH
# BODY.PEEK[], STORE, EXPUNGE, LOGOUT with several sessions per mailbox). Then memory per
# logged-in IDLE session (ΔPSS over IDLE sessions, both servers), plaintext and over
# implicit TLS (scripts/imap-idle-hold.py holds the TLS sessions).
#
#   scripts/bench-imap.sh            # needs root (Dovecot drops to `nobody`)
#
# Both servers fsync (gradwell storage.fsync = true; Dovecot mail_fsync = always); passwords
# are {PLAIN} so that hashing does not dominate.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
SESSIONS="${SESSIONS:-20}" USERS="${USERS:-5}" ROUNDS="${ROUNDS:-20}" RUNS="${RUNS:-3}" IDLE="${IDLE:-500}"
command -v dovecot >/dev/null && [ -x /usr/lib/dovecot/imap ] || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null
}
base="${BENCH_PORT_BASE:-25000}"
gw_imap=$((base + 143)) dv_imap=$((base + 1143)) gw_imaps=$((base + 993)) dv_imaps=$((base + 1993))
# shellcheck source=bench-lib.sh
source "$repo/scripts/bench-lib.sh"
cat >"$work/bench.toml" <<CONF
hostname = "bench.example.test"
local_domains = ["example.test"]
users_file = "users"
postmaster = "gw0"
[tls]
cert = "cert.pem"
key = "key.pem"
[storage]
mirror_sets = [["replica-a"]]
fsync = true
[limits]
max_connections_per_ip = 20000
[[listener]]
service = "imap"
address = "127.0.0.1:$gw_imap"
tls = "none"
allow_cleartext_auth = true
[[listener]]
service = "imap"
address = "127.0.0.1:$gw_imaps"
tls = "implicit"
CONF
mkdir -p "$work/dovecot/run" "$work/dovecot/state"
cat >"$work/dovecot/dovecot.conf" <<CONF
protocols = imap
listen = 127.0.0.1
instance_name = gradwell-imap-bench-$base
base_dir = $work/dovecot/run
state_dir = $work/dovecot/state
log_path = $work/dovecot/dovecot.log
ssl = yes
ssl_cert = <$work/cert.pem
ssl_key = <$work/key.pem
$(dovecot_users_conf)
mail_max_userip_connections = 20000
# High-performance mode (Dovecot's documentation): login and imap processes serve many
# connections each instead of one process per login.
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $dv_imap
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $dv_imaps
    ssl = yes
  }
  service_count = 0
  process_min_avail = 2
  client_limit = 10000
}
service imap {
  service_count = 0
  client_limit = 10000
  process_limit = 8
}
default_client_limit = 20000
default_vsz_limit = 1G
CONF
chown nobody:nogroup "$root"

"$gradwell" serve --config "$work/bench.toml" 2>"$work/gradwell.log" &
gw_pid=$!
dovecot -c "$work/dovecot/dovecot.conf"
for port in $gw_imap $dv_imap $gw_imaps $dv_imaps; do
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done
dv_master="$(cat "$work/dovecot/run/master.pid")"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
rate() { sed -n 's/.*msgs_per_sec=\([0-9.]*\).*/\1/p'; }
: >"$work/results"
record() { echo "$1 $2" >>"$work/results"; echo "$1: $3"; }

for run in $(seq "$RUNS"); do
    out=$("$load" imap "127.0.0.1:$gw_imap" gw bench-pw "$USERS" "$SESSIONS" "$ROUNDS")
    record gradwell-imap "$(echo "$out" | rate)" "$out"
    out=$("$load" imap "127.0.0.1:$dv_imap" dv bench-pw "$USERS" "$SESSIONS" "$ROUNDS")
    record dovecot-imap "$(echo "$out" | rate)" "$out"
done

# Memory per logged-in session sitting in IDLE: PSS of the server's processes with IDLE
# sessions, minus without.
pss() { # PIDs... -> total PSS in KiB
    local total=0 p v
    for p in "$@"; do
        v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}
dv_pids() { echo "$dv_master" $(ps -o pid= --ppid "$dv_master"); }
per_session() { # name pids-command holder-command...
    local name=$1 pids=$2 before after fifo="$work/idle-$1"
    shift 2
    before=$(pss $($pids))
    mkfifo "$fifo"
    "$@" <"$fifo" >"$work/idle-$name.out" &
    local idle=$!
    exec 7>"$fifo"
    for _ in $(seq 1200); do grep -q ready "$work/idle-$name.out" 2>/dev/null && break; sleep 0.1; done
    sleep 1
    after=$(pss $($pids))
    exec 7>&-
    wait "$idle" || true
    echo "$name-memory-per-idle-session-kib $(awk -v a="$after" -v b="$before" -v n="$IDLE" 'BEGIN {printf "%.1f", (a - b) / n}')" >>"$work/results"
    echo "$name: PSS $before KiB -> $after KiB with $IDLE sessions in IDLE ($(cat "$work/idle-$name.out"))"
}
# TLS first: memory the first measurement frees stays in the allocator and would flatter the
# second one.
hold="$repo/scripts/imap-idle-hold.py"
per_session gradwell-tls "echo $gw_pid" python3 "$hold" 127.0.0.1 "$gw_imaps" gw bench-pw "$IDLE" tls
per_session dovecot-tls dv_pids python3 "$hold" 127.0.0.1 "$dv_imaps" dv bench-pw "$IDLE" tls
per_session gradwell "echo $gw_pid" "$load" imap-idle "127.0.0.1:$gw_imap" gw bench-pw "$IDLE"
per_session dovecot dv_pids "$load" imap-idle "127.0.0.1:$dv_imap" dv bench-pw "$IDLE"

echo "=== summary: medians of $RUNS runs; $SESSIONS sessions on $USERS mailboxes, $ROUNDS rounds each; IMAP commands/s"
for key in gradwell-imap dovecot-imap; do
    echo "$key commands/s $(awk -v k="$key" '$1 == k {print $2}' "$work/results" | median)"
done
grep memory "$work/results"
