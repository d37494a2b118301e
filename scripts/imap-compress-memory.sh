#!/usr/bin/env bash
# Memory per IDLE session with and without COMPRESS=DEFLATE: starts gradwell (GRADWELL, default
# the release build) on a quickstart tree on loopback and holds IDLE sessions with
# scripts/imap-idle-hold.py: for plain and for compressed sessions, a first batch of IDLE
# (default 300) sessions, then a second batch beside it, and prints the server's ΔPSS per
# session of the second batch (the marginal cost of a held session).
#
#   scripts/imap-compress-memory.sh            # IDLE=300 GRADWELL=target/release/gradwell
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
IDLE="${IDLE:-300}"
gradwell="${GRADWELL:-${CARGO_TARGET_DIR:-$repo/target}/release/gradwell}"
port="${BENCH_PORT_BASE:-26000}"
work="$(mktemp -d)"
gw_pid=""
cleanup() {
    [ -n "$gw_pid" ] && kill -TERM "$gw_pid" 2>/dev/null && wait "$gw_pid" || true
    rm -rf "$work"
}
trap cleanup EXIT
"$gradwell" quickstart --dir "$work" --no-serve >/dev/null
: >"$work/users"
for i in $(seq 0 $((IDLE - 1))); do echo "gw$i:{PLAIN}bench-pw::::::" >>"$work/users"; done
cat >"$work/mem.toml" <<CONF
hostname = "bench.example.test"
local_domains = ["example.test"]
users_file = "users"
postmaster = "gw0"
[storage]
mirror_sets = [["replica-a"]]
fsync = false
[limits]
max_connections_per_ip = 20000
[[listener]]
service = "imap"
address = "127.0.0.1:$port"
tls = "none"
allow_cleartext_auth = true
CONF
"$gradwell" serve --config "$work/mem.toml" 2>"$work/gradwell.log" &
gw_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
pss() { awk '/^Pss:/ {print $2}' "/proc/$gw_pid/smaps_rollup"; }
holders=()
hold() { # name [deflate]: starts a holder of IDLE sessions and waits until they are all idle
    local fifo="$work/fifo-$1"
    mkfifo "$fifo"
    python3 "$repo/scripts/imap-idle-hold.py" 127.0.0.1 "$port" gw bench-pw "$IDLE" plain "${2:-}" \
        <"$fifo" >"$work/hold-$1.out" &
    holders+=($!)
    eval "exec {fd}>\"$fifo\""
    fds+=("$fd")
    for _ in $(seq 1200); do grep -q ready "$work/hold-$1.out" 2>/dev/null && break; sleep 0.1; done
    # Idle sessions settle: the first IDLE polls run, quiet compressed sessions shed state.
    sleep 3
}
release() { # closes every holder's standard input, so all sessions end
    for fd in "${fds[@]}"; do eval "exec $fd>&-"; done
    for h in "${holders[@]}"; do wait "$h" || true; done
    holders=() fds=()
    sleep 1
}
measure() { # name [deflate]: ΔPSS of a second batch of sessions while a first batch is held
    hold "$1-first" "${2:-}"
    local before after
    before=$(pss)
    hold "$1" "${2:-}"
    after=$(pss)
    release
    echo "$1: PSS $before KiB -> $after KiB with $IDLE more sessions in IDLE: $(awk -v a="$after" -v b="$before" -v n="$IDLE" 'BEGIN {printf "%.1f", (a - b) / n}') KiB per session"
}
fds=()
# The first batch of each kind warms the allocator up (and, compressed, leaves the memory of
# its released compressors to be reused), so the second batch shows the marginal cost of a
# held session.
measure plain
measure deflate deflate
