#!/usr/bin/env bash
# The README's first command: install what is needed, then run the hub with demo data.
# Extra arguments go to `switchboard serve --demo`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
exec .venv/bin/switchboard serve --demo "$@"
