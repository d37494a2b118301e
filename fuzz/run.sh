#!/usr/bin/env bash
# Runs cargo-fuzz targets one after another (or JOBS at a time) for SECONDS each and prints
# each target's final exec count. Usage: fuzz/run.sh SECONDS [TARGET...]  (default: all).
# Needs `cargo install cargo-fuzz`; the stable toolchain works with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
if ((${#targets[@]} == 0)); then
    mapfile -t targets < <(cargo fuzz list)
fi
jobs=${JOBS:-1}
export RUSTC_BOOTSTRAP=1
mkdir -p logs
# Optimised with debug assertions on (cargo-fuzz's default), so overflow checks still fire.
cargo fuzz build
run_one() {
    local t=$1 dict=()
    local prefix=${t%%_*}
    [[ -f dict/$prefix.dict ]] && dict=(-dict="dict/$prefix.dict")
    if cargo fuzz run "$t" -- -max_total_time="$seconds" "${dict[@]}" >"logs/$t.log" 2>&1; then
        echo "$t: clean, $(grep -oE 'Done [0-9]+ runs' "logs/$t.log" | grep -oE '[0-9]+') execs in ${seconds}s"
    else
        echo "$t: FAILED, see fuzz/logs/$t.log and fuzz/artifacts/$t/"
        return 1
    fi
}
status=0
for t in "${targets[@]}"; do
    while (($(jobs -rp | wc -l) >= jobs)); do wait -n || status=1; done
    run_one "$t" &
done
while (($(jobs -rp | wc -l) > 0)); do wait -n || status=1; done
exit $status
