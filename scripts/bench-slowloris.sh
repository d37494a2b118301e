#!/usr/bin/env bash
# Slowloris (THREATS.md LOAD-03): a normal IMAP client's session latency (connect, LOGIN,
# SELECT, NOOP, LOGOUT; p50 and p99) without and with COUNT connections dripping one byte
# every DRIP seconds, and when the server closed the dripping connections (the pre-auth
# deadline, fixed at accept, PRE_AUTH seconds).
#
#   scripts/bench-slowloris.sh    # COUNT=2000 DRIP=10 PRE_AUTH=60 ROUNDS=300 RUNS=3; as root
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
COUNT="${COUNT:-2000}" DRIP="${DRIP:-10}" PRE_AUTH="${PRE_AUTH:-60}" ROUNDS="${ROUNDS:-300}"
RUNS="${RUNS:-3}"
IDLE=1
# shellcheck source=bench-scale-lib.sh
source "$repo/scripts/bench-scale-lib.sh"
probe() { python3 "$repo/scripts/latency-probe.py" 127.0.0.1 "$1" gw0 bench-pw "$ROUNDS"; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
: >"$work/quiet" ; : >"$work/loaded"
for run in $(seq "$RUNS"); do
    port=$((base + 100 + run))
    write_config "pre_auth_timeout_secs = $PRE_AUTH" "$(listener imap "$port")"
    start_gradwell "$port"
    ROUNDS=20 probe "$port" >/dev/null # warm-up: the first login creates the special-use mailboxes
    quiet=$(probe "$port")
    python3 "$repo/scripts/slowloris.py" 127.0.0.1 "$port" "$COUNT" "$DRIP" $((PRE_AUTH * 3)) \
        >"$work/loris-$run.out" &
    loris=$!
    wait_ready "$work/loris-$run.out" 300
    loaded=$(probe "$port")
    rss=$(rss_kib "$gw_pid")
    wait "$loris"
    stop_gradwell
    echo "$quiet" >>"$work/quiet"; echo "$loaded" >>"$work/loaded"
    echo "run $run: without: $quiet | with $COUNT dripping: $loaded | server RSS $rss KiB |" \
        "slowloris: $(tail -1 "$work/loris-$run.out")"
done
for what in quiet loaded; do
    echo "$what: median p50 $(field p50_ms <"$work/$what" | median) ms," \
        "median p99 $(field p99_ms <"$work/$what" | median) ms"
done
