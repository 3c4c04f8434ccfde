#!/usr/bin/env bash
# The CI entry point (and the README's second command): setup, servers, lint, types, tests.
# Extra arguments go to pytest, e.g. `scripts/test.sh -k outbox -x`. Stops at the first step that fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() {
    printf '\n==> %s\n' "$*"
}

step "setup (.venv, test extras)"
bash scripts/setup.sh --test

step "services (PostgreSQL, Redis, Chromium)"
bash scripts/services.sh

step "ruff check ."
.venv/bin/ruff check .

step "mypy"
.venv/bin/mypy

step "pytest -q${*:+ $*}"
.venv/bin/pytest -q "$@"
