#!/usr/bin/env bash
# Runs every test of the workspace: unit, golden vectors, property tests and the integration
# tests that start the real smp-server binary on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked --no-fail-fast "$@"
