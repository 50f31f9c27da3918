#!/usr/bin/env bash
# Build and deploy rsbatch with SAM: what `make deploy` runs.
#
#   1. tools/validate-template.sh: cfn-lint, sam validate --lint, checkov. It also
#      creates the tool venv .tools/venv that provides `sam` (aws-sam-cli stays
#      out of the project's .venv, whose boto3 pin it would fight).
#   2. tools/build.sh for the stack's architecture (build/, no Docker).
#   3. sam deploy --template-file build/template.yaml (template.yaml plus the
#      pipelines' schedules, written by step 2): the CodeUri/ContentUri folders
#      under build/ are zipped and uploaded as they are, so there is no
#      `sam build` step. The first time (the config names no Redshift workgroup
#      or cluster yet), or with --guided, SAM asks for every parameter and saves
#      the answers in the config file; later runs reuse them.
#
# The stack's Architecture always matches what was built: it is taken from
# --arch, else from the config's parameter_overrides, else x86_64, and passed to
# sam deploy together with the config's other overrides.
#
# Usage: tools/deploy.sh [--guided] [--arch x86_64|arm64] [--config-file FILE]
#                        [--config-env ENV] [--no-validate] [-- SAM_DEPLOY_ARGS...]
#   --config-file  SAM config file (default samconfig.toml)
#   --config-env   environment in it (default "default")
#   --no-validate  skip step 1 once .tools/venv exists
#   after --       passed to `sam deploy` as is: --no-confirm-changeset,
#                  --profile P, --region R, --stack-name S, ...
# Needs AWS credentials for the target account (AWS_PROFILE etc., as for the AWS CLI).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

GUIDED=0
ARCH=""
CONFIG_FILE=samconfig.toml
CONFIG_ENV=default
VALIDATE=1
SAM_ARGS=()
TOOLS_VENV="${TOOLS_VENV:-$ROOT/.tools/venv}"
SAM="$TOOLS_VENV/bin/sam"

log() { printf 'deploy: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
usage() {
    sed -n '/^# Usage:/,/^# Needs AWS/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

while (($#)); do
    case "$1" in
    --guided) GUIDED=1 && shift ;;
    --no-validate) VALIDATE=0 && shift ;;
    --arch | --config-file | --config-env)
        [[ $# -ge 2 && -n "$2" ]] || {
            log "$1 needs a value"
            usage
        }
        case "$1" in
        --arch) ARCH="$2" ;;
        --config-file) CONFIG_FILE="$2" ;;
        --config-env) CONFIG_ENV="$2" ;;
        esac
        shift 2
        ;;
    --) shift && SAM_ARGS=("$@") && break ;;
    -h | --help) usage ;;
    *)
        log "unknown argument: $1 (options for sam deploy go after --)"
        usage
        ;;
    esac
done
case "$ARCH" in
"" | x86_64 | arm64) ;;
*)
    log "--arch must be x86_64 or arm64, not '$ARCH'"
    exit 2
    ;;
esac
for arg in ${SAM_ARGS[@]+"${SAM_ARGS[@]}"}; do
    case "$arg" in
    --guided | -g) GUIDED=1 ;;
    --parameter-overrides*) die "set parameters in $CONFIG_FILE (or answer them with --guided), not after --: SAM would drop the saved ones" ;;
    --template-file* | -t | --config-file* | --config-env*) die "$arg is set by this script; see --help" ;;
    esac
done

# 1. validate (and get the SAM CLI)
if ((VALIDATE)) || [[ ! -x "$SAM" ]]; then
    log "validating template.yaml (the first run also installs the SAM CLI into ${TOOLS_VENV#"$ROOT"/}, a few minutes)"
    tools/validate-template.sh
fi
[[ -x "$SAM" ]] || die "no SAM CLI at $SAM: run tools/validate-template.sh"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
OVERRIDES="$TMP/parameter-overrides.yaml"
# read_config: what the config already answers, parsed by SAM's own parameter_overrides
# reader; sets CONFIG_ARCH and HAS_TARGET and writes the overrides to $OVERRIDES.
read_config() {
    local answers
    answers="$("$TOOLS_VENV/bin/python" - "$CONFIG_FILE" "$CONFIG_ENV" "$OVERRIDES" <<'EOF'
import json, sys, tomllib
from samcli.cli.types import CfnParameterOverridesType

path, env, out = sys.argv[1:]
try:
    with open(path, "rb") as f:
        config = tomllib.load(f).get(env, {})
except FileNotFoundError:
    config = {}
params = {**config.get("global", {}).get("parameters", {}), **config.get("deploy", {}).get("parameters", {})}
raw = params.get("parameter_overrides")
try:
    overrides = CfnParameterOverridesType().convert(raw, None, None) if raw else {}
except Exception as exc:  # click.BadParameter and friends
    sys.exit(f"{path} [{env}] parameter_overrides: {exc}")
# JSON is YAML: SAM reads this file back with --parameter-overrides file://...
with open(out, "w", encoding="utf-8") as f:
    json.dump(overrides, f)
target = any(overrides.get(k) for k in ("RedshiftWorkgroupName", "RedshiftClusterIdentifier"))
print(overrides.get("Architecture") or "-", int(target))
EOF
)" || die "cannot read $CONFIG_FILE"
    read -r CONFIG_ARCH HAS_TARGET <<<"$answers"
    [[ "$CONFIG_ARCH" != "-" ]] || CONFIG_ARCH=""
}
read_config

if ((!GUIDED && !HAS_TARGET)); then
    log "$CONFIG_FILE [$CONFIG_ENV] names no Redshift workgroup or cluster yet: deploying guided"
    GUIDED=1
fi
if [[ -z "$ARCH" ]]; then
    ARCH="${CONFIG_ARCH:-x86_64}"
elif [[ -n "$CONFIG_ARCH" && "$CONFIG_ARCH" != "$ARCH" ]]; then
    log "--arch $ARCH replaces Architecture=$CONFIG_ARCH from $CONFIG_FILE for this deploy"
fi

# 2. build (and check the template it generated: template.yaml + the pipelines' schedules)
tools/build.sh --arch "$ARCH"
if ((VALIDATE)); then
    log "validating build/template.yaml (template.yaml + the pipelines' schedules)"
    tools/validate-template.sh build/template.yaml
fi

# 3. deploy
export SAM_CLI_TELEMETRY="${SAM_CLI_TELEMETRY:-0}"
[[ -f build/template.yaml ]] || die "tools/build.sh wrote no build/template.yaml"
CMD=("$SAM" deploy --template-file build/template.yaml --config-file "$CONFIG_FILE" --config-env "$CONFIG_ENV")
if ((GUIDED)); then
    CMD+=(--guided)
    log "answer the prompts: RedshiftWorkgroupName (Serverless) OR RedshiftClusterIdentifier (provisioned),"
    log "Architecture: $ARCH (what build/ now holds); save the arguments to the configuration file"
else
    # The config's overrides plus the built architecture (SAM keeps any other parameter as it was).
    "$TOOLS_VENV/bin/python" - "$OVERRIDES" "$ARCH" <<'EOF'
import json, sys
path, arch = sys.argv[1:]
with open(path, encoding="utf-8") as f:
    overrides = json.load(f)
overrides["Architecture"] = arch
with open(path, "w", encoding="utf-8") as f:
    json.dump(overrides, f)
EOF
    CMD+=(--parameter-overrides "file://$OVERRIDES")
fi
log "sam deploy: $CONFIG_FILE [$CONFIG_ENV], Architecture=$ARCH"
"${CMD[@]}" ${SAM_ARGS[@]+"${SAM_ARGS[@]}"}

if ((GUIDED)); then
    read_config
    if [[ "${CONFIG_ARCH:-x86_64}" != "$ARCH" ]]; then
        log "warning: the answers say Architecture=${CONFIG_ARCH:-x86_64} but build/ held $ARCH: run make deploy again"
    fi
fi

log "deployed. Next: make invoke SQL=query.sql, then .venv/bin/rsbatch runs / rsbatch show RUN"
