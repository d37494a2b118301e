#!/usr/bin/env bash
# Runs every test the project has. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")"

# Dovecot, swaks, fetchmail, curl and pytest, installed only when missing.
scripts/test-deps.sh

# Unit, integration, example and bench targets (benches run once, as tests), then doc tests.
cargo test --workspace --all-targets
cargo test --workspace --doc

# Black-box acceptance: gradwell on loopback against the shared pytest suite, plus real
# clients (swaks, fetchmail).
scripts/acceptance.sh
