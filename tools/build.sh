#!/usr/bin/env bash
# Package rsbatch for AWS Lambda without Docker: what `make build` runs.
#
#   build/layer/python/     runtime dependencies (pyproject.toml [project]
#                           dependencies, exact pins) as manylinux wheels for the
#                           Lambda runtime's CPython, plus the rsbatch_core package
#   build/durable_fn/       durable_fn/app.py + sql/ (without sql/local/) + pipelines/
#   build/template.yaml     template.yaml + one EventBridge Scheduler schedule per
#                           enabled `schedule` of every pipelines/*.yaml (made by
#                           rsbatch.build_schedules, which validates every manifest
#                           first); what tools/deploy.sh deploys
#   build/status_listener/  status_listener/app.py
#   build/build-info.json   what was built (arch, python, distributions, sizes);
#                           not deployed; tools/deploy.sh reads the arch from it
#
# template.yaml points CodeUri/ContentUri at these folders (build/template.yaml
# at the same folders, relative to itself), so `sam deploy` uploads them as they
# are (no `sam build`). Wheels come from pip's index with
# --only-binary=:all:, so nothing is compiled and the host's Python version and
# OS do not matter; a dependency without a wheel for the target fails the build
# by name. The target Python is read from template.yaml (Runtime: pythonX.Y) and
# the pins from pyproject.toml, so neither can drift from this script.
#
# Usage: tools/build.sh [--arch x86_64|arm64] [--out DIR] [--python PYTHON]
#                       [--python-version X.Y]
#   --arch            Lambda architecture (default x86_64); must match the
#                     stack's Architecture parameter
#   --out             output folder (default build/), cleaned first
#   --python          interpreter that runs pip (Python >= 3.11 with pip;
#                     default .venv/bin/python, else python3)
#   --python-version  target CPython (default: the template's Runtime)
# Needs only the package index. pip's own settings apply as usual
# (PIP_INDEX_URL, proxies, PIP_CACHE_DIR, ...). Portable to macOS (bash 3.2).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ARCH=x86_64
OUT=build
PY=""
PYVER=""

log() { printf 'build: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
usage() {
    sed -n '/^# Usage:/,/^# Needs only/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
need_value() { [[ $# -ge 2 && -n "$2" ]] || {
    log "$1 needs a value"
    usage
}; }

while (($#)); do
    case "$1" in
    --arch | --out | --python | --python-version)
        need_value "$@"
        case "$1" in
        --arch) ARCH="$2" ;;
        --out) OUT="$2" ;;
        --python) PY="$2" ;;
        --python-version) PYVER="$2" ;;
        esac
        shift 2
        ;;
    --arch=* | --out=* | --python=* | --python-version=*)
        set -- "${1%%=*}" "${1#*=}" "${@:2}"
        ;;
    -h | --help) usage ;;
    *)
        log "unknown argument: $1"
        usage
        ;;
    esac
done

case "$ARCH" in
x86_64) PLATFORM=manylinux2014_x86_64 ;;
arm64) PLATFORM=manylinux2014_aarch64 ;;
*)
    log "--arch must be x86_64 or arm64, not '$ARCH'"
    exit 2
    ;;
esac

if [[ -z "$PY" ]]; then
    if [[ -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"; else PY=python3; fi
fi
"$PY" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null \
    || die "'$PY' is not Python >= 3.11 (tomllib is needed); pass --python"
"$PY" -m pip --version >/dev/null 2>&1 || die "'$PY' has no pip; pass --python"

if [[ -z "$PYVER" ]]; then
    PYVER="$(sed -nE 's/^[[:space:]]+Runtime:[[:space:]]*python([0-9]+\.[0-9]+)[[:space:]]*$/\1/p' \
        template.yaml | sort -u)"
    [[ "$PYVER" =~ ^[0-9]+\.[0-9]+$ ]] \
        || die "need exactly one 'Runtime: pythonX.Y' in template.yaml, found '${PYVER//$'\n'/ }'; pass --python-version"
fi
[[ "$PYVER" =~ ^3\.[0-9]+$ ]] || die "--python-version must look like 3.14, not '$PYVER'"
PYTAG="cp${PYVER/./}" # e.g. cp314

# The runtime pins, exactly as pyproject.toml declares them (one per line).
PINS_TEXT="$("$PY" - <<'EOF'
import re, sys, tomllib
with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)
deps = project["project"].get("dependencies", [])
pin = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9_,.-]+\])?==[A-Za-z0-9.+!_-]+")
loose = [d for d in deps if not pin.fullmatch(d.replace(" ", ""))]
if not deps or loose:
    sys.exit("pyproject.toml [project] dependencies must be exact pins (name==version): "
             + (", ".join(loose) or "none found"))
# What only the CLI imports stays out of the layer ([tool.rsbatch] cli-only).
cli_only = {n.lower() for n in project.get("tool", {}).get("rsbatch", {}).get("cli-only", [])}
deps = [d for d in deps if re.split(r"[\[=<>!~; ]", d, maxsplit=1)[0].lower() not in cli_only]
print("\n".join(d.replace(" ", "") for d in deps))
EOF
)" || die "cannot read the runtime pins from pyproject.toml"
PINS=()
while IFS= read -r line; do PINS+=("$line"); done <<<"$PINS_TEXT"

# Clean first: a failed build must never leave an older artifact for sam deploy.
OUT="$("$PY" -c 'import os, sys; print(os.path.abspath(sys.argv[1]))' "$OUT")"
MARKER=".rsbatch-build"
if [[ -e "$OUT" && ! -d "$OUT" ]]; then
    die "$OUT is not a folder; refusing to replace it"
fi
if [[ "$OUT" != "$ROOT/build" && -d "$OUT" && ! -e "$OUT/$MARKER" && -n "$(ls -A "$OUT")" ]]; then
    die "$OUT is not empty and was not made by this script; refusing to clean it"
fi
rm -rf "$OUT"
TMP="$(mktemp -d)"
OK=0
cleanup() {
    rm -rf "$TMP"
    ((OK)) || rm -rf "$OUT"
}
trap cleanup EXIT

START=$SECONDS
LAYER="$OUT/layer/python"
mkdir -p "$LAYER" "$OUT/durable_fn" "$OUT/status_listener"
: >"$OUT/$MARKER"

# -- layer: dependencies ------------------------------------------------------
log "installing ${#PINS[@]} pinned dependencies as $PYTAG/$PLATFORM wheels"
PIPLOG="$TMP/pip.log"
if ! "$PY" -m pip install \
    --disable-pip-version-check --no-input --no-compile --no-warn-script-location \
    --platform "$PLATFORM" --python-version "$PYVER" --implementation cp \
    --only-binary=:all: --target "$LAYER" \
    "${PINS[@]}" >"$PIPLOG" 2>&1; then
    if grep -qE 'NewConnectionError|ConnectTimeout|ProxyError|Max retries exceeded|Could not fetch URL|Name or service not known|name resolution' "$PIPLOG"; then
        grep -E '^(WARNING: Retrying|ERROR: )' "$PIPLOG" | tail -n 3 >&2 || true
        die "cannot reach the package index (pip's index settings and proxies apply)"
    fi
    if grep -q 'from versions: none)' "$PIPLOG"; then
        grep '^ERROR: ' "$PIPLOG" >&2 || true
        die "the package index offers no release at all of the package above: is the index reachable (pip's index settings and proxies apply)?"
    fi
    missing="$(sed -nE 's/.*No matching distribution found for ([^ ]+).*/\1/p' "$PIPLOG" | sort -u | tr '\n' ' ')"
    if [[ -n "$missing" ]]; then
        grep '^ERROR: ' "$PIPLOG" >&2 || true
        die "no $PYTAG/$PLATFORM wheel for: ${missing% } (Lambda python$PYVER needs binary wheels; source distributions are not built here)"
    fi
    # Machine-wide pip settings may add file:// indexes that pip notes on every line.
    grep -v "^WARNING: Location '" "$PIPLOG" >&2 || true
    die "pip install failed (output above)"
fi

# -- layer: the shared core; the functions --------------------------------------
cp -R src/rsbatch_core "$LAYER/rsbatch_core"
cp durable_fn/app.py "$OUT/durable_fn/app.py"
cp -R sql "$OUT/durable_fn/sql"
rm -rf "$OUT/durable_fn/sql/local" # the local demo schema and data: never deployed
mkdir -p "$OUT/durable_fn/pipelines"
if [[ -d pipelines ]]; then
    find pipelines -maxdepth 1 -type f -name '*.yaml' -exec cp {} "$OUT/durable_fn/pipelines/" \;
fi

# -- the deployable template: template.yaml + the manifests' schedules -----------
# rsbatch.build_schedules needs pydantic and PyYAML (the [project] dependencies) in $PY.
PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}" "$PY" -c 'import pydantic, yaml' 2>/dev/null \
    || die "'$PY' lacks pydantic/PyYAML, which the schedules generator needs: use make build (the project's .venv)"
PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m rsbatch.build_schedules \
    --template template.yaml --pipelines pipelines --sql sql --out "$OUT/template.yaml" \
    || die "the pipeline manifests do not validate (above): nothing was built"
cp status_listener/app.py "$OUT/status_listener/app.py"

# -- tidy -----------------------------------------------------------------------
# Bytecode of the host's Python is useless to Lambda's, and so are console scripts.
find "$OUT" -depth -type d -name __pycache__ -exec rm -rf {} +
find "$OUT" -type f \( -name '*.pyc' -o -name '*.pyo' \) -exec rm -f {} +
rm -rf "${LAYER:?}/bin"
# Lambda runs the code as another user: everything must be world-readable.
chmod -R u+rwX,go+rX,go-w "$OUT"

# -- check, record, summarize ---------------------------------------------------
"$PY" - "$OUT" "$ARCH" "$PYVER" "$PLATFORM" "$((SECONDS - START))" "${PINS[@]}" <<'EOF' || exit 1
import json, os, re, sys
from pathlib import Path

LIMIT_MB = 250  # Lambda: a function and all its layers, unzipped
out, arch, pyver, platform, seconds, *pins = sys.argv[1:]
out = Path(out)
layer = out / "layer" / "python"
machine = {"x86_64": "x86_64", "arm64": "aarch64"}[arch]
tag = "cpython-" + pyver.replace(".", "")


def fail(msg: str) -> None:
    print(f"build: error: {msg}", file=sys.stderr)
    sys.exit(1)


# Extension modules must be for the target CPython (or the stable ABI) and arch;
# shared libraries bundled by auditwheel (<dist>.libs/) are plain ELF files.
bad = sorted(
    str(p.relative_to(layer))
    for p in layer.rglob("*.so")
    if not p.parent.name.endswith(".libs")
    and not (p.name.endswith(f".{tag}-{machine}-linux-gnu.so") or p.name.endswith(".abi3.so"))
)
if bad:
    fail(f"extension modules not built for {tag}/{machine}: " + ", ".join(bad))

dists = sorted(p.name.removesuffix(".dist-info") for p in layer.glob("*.dist-info"))
want = {re.sub(r"[-_.]+", "_", p.split("[")[0].split("==")[0]).lower() + "-" + p.split("==")[1] for p in pins}
have = {re.sub(r"[-_.]+", "_", d.rsplit("-", 1)[0]).lower() + "-" + d.rsplit("-", 1)[1] for d in dists}
if want - have:
    fail("pinned distributions missing from the layer: " + ", ".join(sorted(want - have)))
if not (out / "durable_fn" / "sql" / "query.sql").is_file():
    fail("sql/query.sql is missing")


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


sizes = {name: size(out / name) for name in ("layer", "durable_fn", "status_listener")}
biggest = sizes["layer"] + max(sizes["durable_fn"], sizes["status_listener"])
if biggest >= LIMIT_MB * 1024 * 1024:
    fail(f"function + layer is {biggest / 2**20:.1f} MB unzipped; Lambda's limit is {LIMIT_MB} MB")

(out / "build-info.json").write_text(
    json.dumps(
        {
            "arch": arch,
            "python": pyver,
            "platform": platform,
            "pins": pins,
            "distributions": [d.replace("-", "==", 1) for d in dists],
            "unzipped_bytes": sizes,
        },
        indent=2,
    )
    + "\n",
    "utf-8",
)

root = Path.cwd()
def shown(p: Path) -> str:
    return (str(p.relative_to(root)) if p.is_relative_to(root) else str(p)) + "/"

nsql = sum(1 for _ in (out / "durable_fn" / "sql").rglob("*.sql"))
npipe = sum(1 for _ in (out / "durable_fn" / "pipelines").glob("*.yaml"))
notes = {
    "layer": f"{len(dists)} distributions + rsbatch_core, cp{pyver.replace('.', '')}/{platform}",
    "durable_fn": f"app.py + {nsql} SQL files + {npipe} pipeline(s)",
    "status_listener": "app.py",
}
def human(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.1f} KB"


for name, note in notes.items():
    print(f"build: {name:<16} {shown(out / name):<24} {human(sizes[name]):>9}  ({note})")
print(
    f"build: done in {seconds} s; largest function + layer {human(biggest)} "
    f"of Lambda's {LIMIT_MB} MB unzipped"
)
EOF
OK=1
