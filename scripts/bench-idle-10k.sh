#!/usr/bin/env bash
# 10,000 concurrent IMAP sessions in IDLE (THREATS.md LOAD-01): each logged in, INBOX selected,
# IDLE running. Reports the server's ΔRSS (VmRSS with the sessions minus before, over the
# number of sessions) and its descriptors; goal ≤ 64 KiB per session.
#
#   scripts/bench-idle-10k.sh     # SESSIONS=10000 RUNS=3 MODE=plain|tls; as root
#
# plain: examples/mail_load `imap-idle` holds the sessions; tls: scripts/imap-idle-hold.py
# over implicit TLS. Each run starts a fresh server on its own port (no TIME_WAIT reuse).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
SESSIONS="${SESSIONS:-10000}" RUNS="${RUNS:-3}" MODE="${MODE:-plain}"
# Memory is the measure here: the first login of each user creates its special-use mailboxes,
# which with fsync on takes most of the run on a shared disk.
FSYNC="${FSYNC:-false}" EXTRA="${EXTRA:-}"
IDLE="$SESSIONS"
# shellcheck source=bench-scale-lib.sh
source "$repo/scripts/bench-scale-lib.sh"
if (($(ulimit -n) < SESSIONS + 200)); then
    echo "descriptor limit $(ulimit -n) is below $SESSIONS sessions" >&2; exit 1
fi
: >"$work/results"
for run in $(seq "$RUNS"); do
    port=$((base + run))
    if [ "$MODE" = tls ]; then
        write_config "$EXTRA" "$(listener imap "$port" implicit)"
    else
        write_config "$EXTRA" "$(listener imap "$port")"
    fi
    start_gradwell "$port"
    sleep 1
    before=$(rss_kib "$gw_pid") fds_before=$(fds "$gw_pid")
    fifo="$work/hold-$run"; mkfifo "$fifo"
    started=$(date +%s)
    if [ "$MODE" = tls ]; then
        python3 "$repo/scripts/imap-idle-hold.py" 127.0.0.1 "$port" gw bench-pw "$SESSIONS" tls \
            <"$fifo" >"$work/hold-$run.out" &
    else
        "$load" imap-idle "127.0.0.1:$port" gw bench-pw "$SESSIONS" <"$fifo" >"$work/hold-$run.out" &
    fi
    holder=$!
    exec 7>"$fifo"
    wait_ready "$work/hold-$run.out" 1800
    took=$(($(date +%s) - started))
    sleep 5
    after=$(rss_kib "$gw_pid") fds_after=$(fds "$gw_pid")
    cpu=$(ps -o %cpu= -p "$gw_pid" | tr -d ' ')
    exec 7>&-
    wait "$holder" || true
    stop_gradwell
    per=$(awk -v a="$after" -v b="$before" -v n="$SESSIONS" 'BEGIN {printf "%.1f", (a - b) / n}')
    echo "$per" >>"$work/results"
    echo "run $run ($MODE): RSS $before -> $after KiB with $SESSIONS IDLE sessions" \
        "= $per KiB each; fds $fds_before -> $fds_after; logins took ${took}s; server CPU ${cpu}% (lifetime average)"
done
echo "median ΔRSS per IDLE session ($MODE, $SESSIONS sessions, $RUNS runs): $(median <"$work/results") KiB"
