# Shared setup of the load and soak benches (sourced by bench-idle-10k.sh,
# bench-slowloris.sh, bench-slow-reader.sh and bench-soak.sh), on top of bench-lib.sh (release
# builds, scratch tree, `gw<n>` users with password bench-pw).
# Expects: repo, IDLE (number of users). Provides: write_config, start_gradwell,
# stop_gradwell, rss_kib, fds, median, wait_port, wait_ready; the server's log is
# $work/gradwell.log.
# shellcheck source=bench-lib.sh
source "$repo/scripts/bench-lib.sh"
base="${BENCH_PORT_BASE:-26000}"

# The soft descriptor limit up to the hard one: 10,000 connections need as many descriptors
# on each side (server and client are separate processes, each under this limit).
ulimit -n "$(ulimit -Hn)"

# write_config LIMITS LISTENERS [MIRROR_SET]: the server's configuration, in $work/bench.toml.
write_config() {
    local set='["replica-a"]'
    [ -n "${3:-}" ] && set="$3"
    cat >"$work/bench.toml" <<CONF
hostname = "bench.example.test"
local_domains = ["example.test"]
users_file = "users"
postmaster = "gw0"
[tls]
cert = "cert.pem"
key = "key.pem"
[storage]
mirror_sets = [$set]
fsync = ${FSYNC:-true}
mirror_rejoin_after_secs = ${REJOIN_AFTER:-10}
[limits]
max_connections_per_ip = 20000
max_connections_per_user = 20000
$1
$2
CONF
}

# listener SERVICE PORT [TLS]: one plaintext (or TLS) listener block on loopback.
listener() {
    printf '[[listener]]\nservice = "%s"\naddress = "127.0.0.1:%s"\ntls = "%s"\nallow_cleartext_auth = true\n' \
        "$1" "$2" "${3:-none}"
}

wait_port() { # PORT [PID]: waits until PORT accepts, or PID (if given) has exited
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "port $1 never opened: $(tail -5 "$work/gradwell.log")" >&2; return 1
}

# start_gradwell PORT: starts the server on $work/bench.toml (as user $RUNAS when set),
# waits for PORT.
start_gradwell() {
    if [ -n "${RUNAS:-}" ]; then
        setpriv --reuid="$RUNAS" --regid="$(id -g "$RUNAS")" --init-groups "$gradwell" serve --config "$work/bench.toml" 2>>"$work/gradwell.log" &
    else
        "$gradwell" serve --config "$work/bench.toml" 2>>"$work/gradwell.log" &
    fi
    gw_pid=$!
    wait_port "$1" "$gw_pid"
}

stop_gradwell() {
    kill -TERM "$gw_pid" 2>/dev/null || true
    wait "$gw_pid" 2>/dev/null || true
    gw_pid=""
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# wait_ready FILE SECONDS: waits until FILE says "ready".
wait_ready() {
    for _ in $(seq $(($2 * 10))); do grep -q '^ready' "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "never ready: $(cat "$1" 2>/dev/null)" >&2; return 1
}
