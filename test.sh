#!/usr/bin/env bash
# Runs every test the project has. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")"

# Unit, integration, example and bench targets (benches run once, as tests), then doc tests.
cargo test --workspace --all-targets
cargo test --workspace --doc
