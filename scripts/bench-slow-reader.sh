#!/usr/bin/env bash
# Slow reader (THREATS.md LOAD-04): fills one INBOX with MESSAGES messages of SIZE octets over
# SMTP, then one client sends `FETCH 1:* BODY[]` and reads RATE octets per second for DURATION
# seconds. The server's VmRSS is sampled every SAMPLE seconds; memory must stay flat (output
# is written under the socket's backpressure, one message at a time).
#
#   scripts/bench-slow-reader.sh   # MESSAGES=200 SIZE=1048576 RATE=10240 DURATION=120 SAMPLE=5
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
MESSAGES="${MESSAGES:-200}" SIZE="${SIZE:-1048576}" RATE="${RATE:-10240}"
DURATION="${DURATION:-120}" SAMPLE="${SAMPLE:-5}"
IDLE=1
# shellcheck source=bench-scale-lib.sh
source "$repo/scripts/bench-scale-lib.sh"
imap=$((base + 200)) smtp=$((base + 225))
write_config "" "$(listener imap "$imap")
$(listener smtp "$smtp")"
start_gradwell "$imap"
"$load" deliver "127.0.0.1:$smtp" smtp example.test gw 1 "$MESSAGES" "$SIZE"
echo "INBOX of gw0: $(find "$root/gw0/new" "$root/gw0/cur" -type f | wc -l) messages," \
    "$(du -sm "$root/gw0" | cut -f1) MiB"
idle_rss=$(rss_kib "$gw_pid")
python3 "$repo/scripts/slow-reader.py" 127.0.0.1 "$imap" gw0 bench-pw "$RATE" "$DURATION" \
    >"$work/reader.out" &
reader=$!
samples=()
while kill -0 "$reader" 2>/dev/null; do
    samples+=("$(rss_kib "$gw_pid")")
    sleep "$SAMPLE"
done
wait "$reader" || true
after=$(rss_kib "$gw_pid")
stop_gradwell
echo "slow reader: $(cat "$work/reader.out")"
echo "server VmRSS before FETCH: $idle_rss KiB"
echo "server VmRSS every ${SAMPLE}s during FETCH: ${samples[*]} KiB"
echo "after the reader closed: $after KiB"
printf '%s\n' "${samples[@]}" | sort -n |
    awk -v b="$idle_rss" 'NR==1 {min=$1} {max=$1} END {printf "during FETCH: min %d, max %d KiB; max - before = %d KiB; max - min = %d KiB\n", min, max, max-b, max-min}'
