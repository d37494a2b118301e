#!/usr/bin/env bash
# Migration bench (issue 11, MIR-10): generate USERS synthetic users × PER_USER messages
# (mixed sizes, INBOX/Sent/Archive, flags, keywords, subscriptions) in Dovecot's Maildir++
# layout (examples/examples/gen_dovecot_tree.rs), then time
#   1. ours: `gradwell import --manifest FILE --journal FILE` into a mirrored Maildir (two
#      replicas, storage.fsync on: every mailbox durable on both at its end), RUNS times on
#      the first SUBSET users, then once on all USERS when USERS > SUBSET, and
#   2. Dovecot: `doveadm backup -R` (dsync; keeps UIDVALIDITY and UIDs, like ours) and/or
#      `doveadm import` (does not keep UIDs) of the same SUBSET users, JOBS at a time,
#      RUNS times,
# and print mailboxes/s (and messages/s) for each, the medians and the ratio. Both sides
# fsync (gradwell: storage.fsync; Dovecot: mail_fsync = always).
#
#   scripts/bench-migrate.sh                       # USERS=43000 SUBSET=1000 (needs root)
#   USERS=1000 SUBSET=1000 RUNS=3 VERBS=backup scripts/bench-migrate.sh
#   SIDE=doveadm USERS=1000 scripts/bench-migrate.sh   # only the Dovecot half
#   SIDE=ours USERS=43000 SUBSET=0 scripts/bench-migrate.sh   # only the full run, ours
#
# Disk: the source tree costs ~176 MB per 1,000 users on ext4 (a file per message, three
# Maildirs per user), the mirrored target about twice that, so USERS=43000 needs ~23 GB:
# point TMPDIR at a scratch disk where /tmp is smaller (the script checks before it starts).
# Everything is removed on exit.
#
# FRESH_FS=1 (the default as root): the source tree, each replica and Dovecot's target each
# live on their own ext4 filesystem, made fresh (loop-mounted sparse image under TMPDIR)
# before every timed run, as a migration writes to newly provisioned arrays. Without it the
# trees share TMPDIR's filesystem, and on a disk where files are deleted all the time (this
# VM: build directories, the previous run's tree) ext4's inode allocator dominates the
# profile (`recently_deleted`, ~70 % of samples), for both sides alike. FRESH_FS=0 keeps the
# shared filesystem.
#
# The manifest format is documented in gradwell-server/src/migrate/run.rs.
manifest_user() { printf '[[user]]\nuser = "%s"\nkind = "dovecot"\npath = "%s"\n\n' "$1" "$2"; }
import_ours() {
    nice -n 10 "$gradwell" import --config "$work/gw/gradwell.toml" --manifest "$1" \
        --journal "$work/journal" ${WORKERS:+--workers "$WORKERS"} ${IMPORT_ARGS:-} >"$work/report.txt"
}
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
USERS="${USERS:-43000}" SUBSET="${SUBSET:-1000}" PER_USER="${PER_USER:-20}"
JOBS="${JOBS:-2}" RUNS="${RUNS:-3}" SIDE="${SIDE:-both}" VERBS="${VERBS:-backup import}"
FRESH_FS="${FRESH_FS:-$( [ "$(id -u)" = 0 ] && echo 1 || echo 0)}"
((SUBSET <= USERS)) || SUBSET=$USERS
command -v doveadm >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-core >/dev/null
}
target="${CARGO_TARGET_DIR:-$repo/target}"
[ "$SIDE" = doveadm ] || nice -n 10 cargo build -q --release -p gradwell-server --bin gradwell
nice -n 10 cargo build -q --release -p examples --example gen_dovecot_tree
gradwell="$target/release/gradwell" gen="$target/release/examples/gen_dovecot_tree"

need_kb=$((USERS * 176 * 3))
free_kb=$(df -Pk "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $4 }')
if ((need_kb > free_kb)); then
    echo "bench-migrate: needs ~$((need_kb / 1048576)) GB in ${TMPDIR:-/tmp}, $((free_kb / 1048576)) GB free" >&2
    exit 1
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/bench-migrate.XXXXXX")"; chmod 755 "$work"
dv_conf="$work/dv/dovecot.conf"
cleanup() {
    [ -f "$work/dv/run/master.pid" ] && kill -TERM "$(cat "$work/dv/run/master.pid")" 2>/dev/null && sleep 0.5
    for m in "${mounts[@]}"; do mountpoint -q "$m" && umount "$m"; done
    rm -rf "$work"
}
mounts=()
# fresh_fs NAME DIR USERS KB_PER_USER INODES_PER_USER: with FRESH_FS=1, a new ext4
# filesystem (sized for USERS) from the image $work/img/NAME mounted on DIR (replacing any
# earlier one); otherwise an empty DIR.
fresh_fs() {
    if mountpoint -q "$2"; then umount "$2"; fi
    rm -rf "$2"; mkdir -p "$2"
    ((FRESH_FS)) || return 0
    local img="$work/img/$1.img"
    mkdir -p "$work/img"; rm -f "$img"
    truncate -s "$(($3 * $4 + 262144))K" "$img"
    # Inode tables and journal written now, not by a background thread during the run.
    mkfs.ext4 -q -F -N "$(($3 * $5 + 16384))" -E lazy_itable_init=0,lazy_journal_init=0 "$img"
    mount -o loop "$img" "$2"
    mounts+=("$2")
}
trap cleanup EXIT
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", n / (b - a) }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "generating $USERS users × $PER_USER messages in $work/src"
fresh_fs src "$work/src" "$USERS" 260 60
t0=$(now); nice -n 10 "$gen" "$work/src" "$USERS" 0 "$PER_USER"; t1=$(now)
echo "  $(du -sh "$work/src" | cut -f1), $(rate "$USERS" "$t0" "$t1") users/s generated"

# One timed import of the first $1 users into a fresh target; prints mailboxes/s.
run_ours() {
    for r in a b; do mountpoint -q "$work/gw/replica-$r" && umount "$work/gw/replica-$r"; done
    rm -rf "$work/gw" "$work/journal"
    "$gradwell" quickstart --dir "$work/gw" --no-serve >/dev/null
    for r in a b; do # each replica on its own new filesystem, with its marker
        mv "$work/gw/replica-$r" "$work/gw/init-$r"
        fresh_fs "replica-$r" "$work/gw/replica-$r" "$1" 260 60
        cp -a "$work/gw/init-$r/." "$work/gw/replica-$r/"; rm -rf "$work/gw/init-$r"
    done
    for i in $(seq 0 $(($1 - 1))); do manifest_user "u$i" "$work/src/u$i"; done >"$work/manifest.toml"
    sync; local t0 t1; t0=$(now); import_ours "$work/manifest.toml"; t1=$(now)
    echo "gradwell import: $1 users in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s" \
        "= $(rate "$1" "$t0" "$t1") mailboxes/s, $(rate $(($1 * PER_USER)) "$t0" "$t1") messages/s" \
        "(journal: $(wc -l <"$work/journal") users done; $(du -sh "$work/gw" | cut -f1) written)" >&2
    tail -n 3 "$work/report.txt" >&2
    rate "$1" "$t0" "$t1"
}

ours=""
if [ "$SIDE" != doveadm ]; then
    if ((SUBSET > 0)); then
        results=()
        for run in $(seq 1 "$RUNS"); do results+=("$(run_ours "$SUBSET")"); done
        ours=$(printf '%s\n' "${results[@]}" | median)
        echo "gradwell import: $SUBSET users, WORKERS=${WORKERS:-default}, runs ${results[*]} mailboxes/s, median $ours"
    fi
    if ((USERS > SUBSET)); then run_ours "$USERS" >/dev/null; fi
    for r in a b; do mountpoint -q "$work/gw/replica-$r" && umount "$work/gw/replica-$r"; done
    rm -rf "$work/gw" "$work/img/replica-"*
fi

if [ "$SIDE" != ours ] && ((SUBSET > 0)); then
    # Dovecot's mail processes may not run as root: the subset and the target belong to nobody.
    mkdir -p "$work/dv/run" "$work/dv/state"
    : >"$work/dv/users"
    for i in $(seq 0 $((SUBSET - 1))); do echo "u$i:{PLAIN}x::::::" >>"$work/dv/users"; done
    cat >"$dv_conf" <<CONF
base_dir = $work/dv/run
state_dir = $work/dv/state
log_path = $work/dv/dovecot.log
instance_name = gradwell-migrate-bench
protocols =
ssl = no
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $work/dv/users
}
userdb {
  driver = passwd-file
  args = username_format=%n $work/dv/users
  default_fields = uid=nobody gid=nogroup home=$work/dv/home/%n
}
mail_location = maildir:~/Maildir
first_valid_uid = 1
mail_fsync = always
CONF
    for i in $(seq 0 $((SUBSET - 1))); do echo "u$i"; done >"$work/dv/list"
    # doveadm looks users up through the auth service of a running Dovecot (no listeners).
    dovecot -c "$dv_conf"
    chown -R nobody:nogroup "$work/src"
    for verb in $VERBS; do
        results=()
        for run in $(seq 1 "$RUNS"); do
            fresh_fs dv "$work/dv/home" "$SUBSET" 260 60; chown nobody:nogroup "$work/dv/home"
            case $verb in
                # INDEX=MEMORY: Dovecot would otherwise write its index files into the
                # source tree, and later runs would read a different source than the first.
                backup) cmd='doveadm -c "$0" backup -R -u "$1" "maildir:$2/$1:INDEX=MEMORY"' ;;
                import) cmd='doveadm -c "$0" import -u "$1" "maildir:$2/$1:INDEX=MEMORY" "" all' ;;
            esac
            sync; t0=$(now)
            nice -n 10 xargs -P "$JOBS" -I{} sh -c "$cmd" "$dv_conf" {} "$work/src" <"$work/dv/list"
            t1=$(now)
            results+=("$(rate "$SUBSET" "$t0" "$t1")")
        done
        dv=$(printf '%s\n' "${results[@]}" | median)
        echo "doveadm $verb: $SUBSET users, JOBS=$JOBS, runs ${results[*]} mailboxes/s, median $dv"
        # Spot check: dsync kept u0's UIDVALIDITY; import assigned its own.
        doveadm -c "$dv_conf" mailbox status -u u0 "messages uidvalidity uidnext" INBOX
        [ -n "$ours" ] && echo "ratio gradwell/doveadm-$verb: $(awk -v a="$ours" -v b="$dv" 'BEGIN{printf "%.2f", a/b}')x"
    done
    grep -ci "error" "$work/dv/dovecot.log" 2>/dev/null | sed 's/^/dovecot log errors: /' || true
fi
