#!/usr/bin/env bash
# Validate template.yaml with cfn-lint (+ serverless rules), `sam validate --lint`
# and checkov, from a separate tool venv (.tools/venv).
#
# The tool venv is kept apart from the project's .venv on purpose: aws-sam-cli
# pins its own boto3/botocore, which would fight the runtime pin in pyproject.
# It is (re)created whenever the pins below change (stamp file), so the script
# is idempotent and needs nothing but PyPI. Quiet on success; on failure it
# prints the failing tool's output and exits non-zero.
#
# Usage: tools/validate-template.sh [TEMPLATE]   (default: template.yaml)
# Env:   PY (python for the tool venvs, default python3), TOOLS_VENV, CHECKOV_VENV.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPLATE="$(realpath -m -- "${1:-$ROOT/template.yaml}")"
cd "$ROOT"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
PY="${PY:-python3}"
TOOLS_VENV="${TOOLS_VENV:-$ROOT/.tools/venv}"

# Bump a pin here and the next run rebuilds that venv. checkov lives in a
# venv of its own: its boto3 pin conflicts with aws-sam-cli's.
SAM_PINS=(
    "cfn-lint==1.58.0"
    "cfn-lint-serverless==0.3.6"
    "aws-sam-cli==1.170.0"
)
CHECKOV_PINS=(
    "checkov==3.3.30"
)
CHECKOV_VENV="${CHECKOV_VENV:-$TOOLS_VENV-checkov}"

log() { printf 'validate-template: %s\n' "$*" >&2; }

# ensure_venv DIR PIN... : (re)create DIR with exactly these pins, unless its
# stamp file already records them.
ensure_venv() {
    local venv="$1"
    shift
    local stamp="$venv/.rsbatch-pins" want out="$TMP/install.log"
    want="$(printf '%s\n' "$("$PY" -c 'import sys; print(sys.version.split()[0])')" "$@")"
    if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    log "installing $* into ${venv#"$ROOT"/} (one time, a few minutes)"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    if ! { "$PY" -m venv "$venv" \
        && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            --upgrade pip \
        && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"; } \
        >"$out" 2>&1; then
        grep -v '^WARNING: Location ' "$out" >&2 || true
        rm -rf "$venv"
        log "tool install failed"
        exit 1
    fi
    printf '%s\n' "$want" >"$stamp"
}

# Runs a tool quietly; on failure prints its output and records the failure.
FAILED=()
run_tool() {
    local name="$1"
    shift
    local out="$TMP/tool.log"
    if ! "$@" >"$out" 2>&1; then
        printf '\n===== %s FAILED: %s =====\n' "$name" "$*" >&2
        cat "$out" >&2
        FAILED+=("$name")
    fi
}

[[ -f "$TEMPLATE" ]] || { log "no such template: ${1:-template.yaml}"; exit 2; }
ensure_venv "$TOOLS_VENV" "${SAM_PINS[@]}"
ensure_venv "$CHECKOV_VENV" "${CHECKOV_PINS[@]}"

BIN="$TOOLS_VENV/bin"
# Offline and account-free: fake credentials, a fixed region, no telemetry.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
unset AWS_PROFILE AWS_ENDPOINT_URL
export SAM_CLI_TELEMETRY=0
export BC_SKIP_MAPPING=TRUE

run_tool cfn-lint "$BIN/cfn-lint" --append-rules cfn_lint_serverless.rules -- "$TEMPLATE"
run_tool "sam validate" "$BIN/sam" validate --lint --template-file "$TEMPLATE" \
    --region us-east-1
run_tool checkov "$CHECKOV_VENV/bin/checkov" --quiet --compact --skip-download \
    --framework cloudformation --file "$TEMPLATE"

if ((${#FAILED[@]})); then
    log "FAILED: ${FAILED[*]}"
    exit 1
fi
