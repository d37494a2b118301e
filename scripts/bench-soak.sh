#!/usr/bin/env bash
# Soak (THREATS.md LOAD-05 style): DURATION seconds of mixed load on a mirror set of two
# replicas, with a replica fault injected every FAULT_EVERY seconds, the server's RSS and
# descriptors sampled every SAMPLE seconds, and a ledger at the end.
#
#   scripts/bench-soak.sh    # DURATION=3600 FAULT_EVERY=600 FAULT_FOR=60 SAMPLE=30; as root
#                            # DELIVER_SESSIONS=10 DELIVER_MESSAGES=20 PAUSE=0
#
# Load, in parallel loops until DURATION is over (examples/mail_load):
#   - SMTP delivery: DELIVER_SESSIONS sessions x DELIVER_MESSAGES messages of 4 KiB to
#     gw0.., again and again, PAUSE seconds apart (unpaced, the mailboxes grow by hundreds of
#     messages a second and memory grows with them: pace it to tell growth from a leak);
#   - POP3: 10 sessions reading every message of gw0..gw9 (nothing deleted);
#   - IMAP: the imaptest-like mix (APPEND, FETCH, STORE, EXPUNGE) on gw10..gw14.
# Fault: the server runs as `nobody`, and the fault is `chmod 000` on replica B's root for
# FAULT_FOR seconds (every access fails with EACCES), then `chmod 755` again. (Remounting a
# tmpfs read-only is refused while the server holds files open for writing on it.)
# After each fault the server rejoins replica B by itself (storage.mirror_rejoin_after_secs,
# set to 10 s by bench-scale-lib.sh), so every fault is a fresh failover; `gradwell mirror status` (through the
# operations listener) is sampled with the rest.
# Memory: at the end a fresh server is started on the same store and given RECHECK seconds
# (default 120) of the same POP3 and IMAP load; its RSS beside the soaked server's tells
# state that grows with the mailboxes from a leak.
# DRAIN=1 keeps the store's size steady, to tell a leak from state that grows with the
# mailboxes: POP3 then drains gw0.. (RETR and DELE every message, QUIT) PAUSE seconds apart
# instead of reading gw0..gw9, and the ledger counts what was drained as accounted for.
# Ledger: every message an SMTP run acknowledged is in gw0..gw9's INBOXes on replica A (the
# survivor), and there is no other message there; once B has rejoined after the last fault,
# each INBOX holds the same UIDs and the same number of messages on B.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
DURATION="${DURATION:-3600}" FAULT_EVERY="${FAULT_EVERY:-600}" FAULT_FOR="${FAULT_FOR:-60}"
SAMPLE="${SAMPLE:-30}" PAUSE="${PAUSE:-0}" DRAIN="${DRAIN:-0}"
DELIVER_SESSIONS="${DELIVER_SESSIONS:-10}" DELIVER_MESSAGES="${DELIVER_MESSAGES:-20}"
IDLE=15
# shellcheck source=bench-scale-lib.sh
source "$repo/scripts/bench-scale-lib.sh"
imap=$((base + 300)) pop3=$((base + 310)) smtp=$((base + 325)) ops=$((base + 330))
b="$work/replica-b"
loads=()
stop_loads() {
    for p in "${loads[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${loads[@]}"; do wait "$p" 2>/dev/null || true; done
    loads=()
}
trap 'stop_loads; stop_gradwell; chmod 755 "$b"; cleanup' EXIT
write_config "" "$(listener imap "$imap")
$(listener pop3 "$pop3")
$(listener smtp "$smtp")
[metrics]
listen = \"127.0.0.1:$ops\"" '["replica-a", "replica-b"]'
chown -R nobody:nogroup "$work"
RUNAS=nobody start_gradwell "$imap"

end=$(($(date +%s) + DURATION))
loop() { # NAME PAUSE COMMAND...: runs COMMAND until the end, PAUSE seconds apart, one
    # result line per run in NAME.log
    local name=$1 pause=$2; shift 2
    while (($(date +%s) < end)); do
        if out=$("$@" 2>&1); then echo "ok $out"; else echo "FAILED $out"; fi
        sleep "$pause"
    done >"$work/$name.log"
}
loop deliver "$PAUSE" "$load" deliver "127.0.0.1:$smtp" smtp example.test gw \
    "$DELIVER_SESSIONS" "$DELIVER_MESSAGES" 4096 & loads+=($!)
if ((DRAIN)); then
    loop pop3 "$PAUSE" "$load" pop3-drain "127.0.0.1:$pop3" gw bench-pw "$DELIVER_SESSIONS" & loads+=($!)
else
    loop pop3 0 "$load" pop3 "127.0.0.1:$pop3" gw bench-pw 10 1 & loads+=($!)
fi
loop imap 0 "$load" imap "127.0.0.1:$imap" gw1 bench-pw 5 5 5 & loads+=($!)

total() { grep '^ok' "$work/$1.log" | sed -n 's/.* messages=\([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}'; }
acked() { total deliver; }
drained() { if ((DRAIN)); then total pop3; else echo 0; fi; }
start=$(date +%s) next_fault=$(($(date +%s) + FAULT_EVERY)) faults=0
mirror_state() { # "ok" or the fenced replicas, from the running server
    "$gradwell" mirror -c "$work/bench.toml" status 2>/dev/null |
        awk '/fenced at epoch/ {f = f "-r" $2} END {print (f == "" ? "ok" : "fenced:" f)}'
}
echo "seconds rss_kib fds delivered drained mirror" >"$work/samples"
while (($(date +%s) < end)); do
    now=$(date +%s)
    echo "$((now - start)) $(rss_kib "$gw_pid") $(fds "$gw_pid") $(acked) $(drained) $(mirror_state)" >>"$work/samples"
    if ((now >= next_fault && now + FAULT_FOR < end)); then
        faults=$((faults + 1))
        echo "fault $faults at $((now - start)) s: replica B chmod 000 for $FAULT_FOR s"
        chmod 000 "$b"
        sleep "$FAULT_FOR"
        chmod 755 "$b"
        next_fault=$((now + FAULT_EVERY))
        continue
    fi
    sleep "$SAMPLE"
done
for p in "${loads[@]}"; do wait "$p" || true; done
loads=()
echo "$(($(date +%s) - start)) $(rss_kib "$gw_pid") $(fds "$gw_pid") $(acked) $(drained) $(mirror_state)" >>"$work/samples"
for _ in $(seq 120); do [ "$(mirror_state)" = ok ] && break; sleep 1; done
echo "mirror status at the end:"; "$gradwell" mirror -c "$work/bench.toml" status | sed 's/^/  /'
soaked_rss=$(rss_kib "$gw_pid")
stop_gradwell

# Leak or data? The mailboxes grow all through the soak, and the server keeps per-mailbox
# state that grows with them. A fresh server given the same store and RECHECK seconds of
# the same read load shows what that state costs; the soaked server's excess over it is
# what the hour itself left behind.
RECHECK="${RECHECK:-120}"
RUNAS=nobody start_gradwell "$imap"
end=$(($(date +%s) + RECHECK))
loop recheck-pop3 0 "$load" pop3 "127.0.0.1:$pop3" gw bench-pw 10 1 & loads+=($!)
loop recheck-imap 0 "$load" imap "127.0.0.1:$imap" gw1 bench-pw 5 5 5 & loads+=($!)
for p in "${loads[@]}"; do wait "$p" || true; done
loads=()
fresh_rss=$(rss_kib "$gw_pid")
stop_gradwell
echo "RSS at the end: soaked server $soaked_rss KiB; a fresh server after $RECHECK s of the" \
    "same read load on the same store $fresh_rss KiB"

acked=$(acked)
failed_runs=$(grep -c '^FAILED' "$work/deliver.log" || true)
stored=0 stored_b=0 uid_mismatch=0
count() { find "$1/new" "$1/cur" -type f 2>/dev/null | wc -l; }
uids() { tail -n +2 "$1/dovecot-uidlist" 2>/dev/null | awk '{print $1}' | sort -n; }
for n in $(seq 0 $((DELIVER_SESSIONS - 1))); do
    stored=$((stored + $(count "$work/replica-a/gw$n")))
    stored_b=$((stored_b + $(count "$work/replica-b/gw$n")))
    cmp -s <(uids "$work/replica-a/gw$n") <(uids "$work/replica-b/gw$n") || uid_mismatch=$((uid_mismatch + 1))
done
echo "samples (seconds, VmRSS KiB, descriptors, messages delivered so far):"; column -t "$work/samples"
awk 'NR==2 {r0=$2; f0=$3} NR>1 {r=$2; f=$3; if ($2>rmax) rmax=$2; if ($3>fmax) fmax=$3}
     END {printf "RSS first %d, last %d, max %d KiB; fds first %d, last %d, max %d\n", r0, r, rmax, f0, f, fmax}' "$work/samples"
echo "faults injected: $faults; mirror events in the log:"
grep -E "fenced|mirror" "$work/gradwell.log" | sed 's/^/  /' | head -60 || true
echo "failovers: $(grep -c 'mirror replica fenced' "$work/gradwell.log" || true)," \
    "automatic rejoins: $(grep -c 'mirror rejoin done' "$work/gradwell.log" || true)," \
    "failed rejoins: $(grep -c 'mirror rejoin failed' "$work/gradwell.log" || true)"
for name in deliver pop3 imap; do
    echo "$name runs: $(grep -c '^ok' "$work/$name.log" || true) ok, $(grep -c '^FAILED' "$work/$name.log" || true) failed"
    grep '^FAILED' "$work/$name.log" | head -3 | sed 's/^/  /' || true
done
drained=$(drained) failed_drains=0
((DRAIN)) && failed_drains=$(grep -c '^FAILED' "$work/pop3.log" || true)
echo "ledger: $acked messages acknowledged by complete SMTP runs ($failed_runs runs failed part-way);" \
    "$stored messages in their INBOXes on replica A; $drained retrieved and deleted by complete" \
    "POP3 runs ($failed_drains drain runs failed, deleting nothing unless their QUIT was answered)"
accounted=$((stored + drained))
echo "replica B after the last rejoin: $stored_b messages; INBOXes whose UID lists differ from A: $uid_mismatch"
if ((stored_b != stored || uid_mismatch != 0)); then
    echo "REPLICAS DIFFER after the rejoin"; exit 1
fi
if ((failed_runs == 0 && failed_drains == 0 && acked == accounted)); then
    echo "ledger complete: every acknowledged message stored (or drained) once, nothing else"
elif ((accounted >= acked)); then
    echo "ledger: nothing acknowledged is missing; $((accounted - acked)) messages from runs that failed part-way"
else
    echo "LEDGER BROKEN: $((acked - accounted)) acknowledged messages missing"; exit 1
fi
