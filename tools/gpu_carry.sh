#!/usr/bin/env bash
# Wheels a lent GPU machine lacks, carried in .whl/ for benchmarks/gpu.py.
#
#   bash tools/gpu_carry.sh            # fill .whl/ (idempotent: skips what is there)
#   bash tools/gpu_carry.sh --command  # print the one-line command to run on the device
#
# The device image (Python 3.12, manylinux x86_64) has jax + CUDA, torch, numpy, matplotlib,
# pluggy, h5py, ml-dtypes, rich, absl-py, packaging and pygments, but neither Keras nor IPython
# nor TensorFlow. This script downloads, with --no-deps and pinned to the versions kreg is
# developed against (.venv), Keras and its compiled/pure dependencies the image lacks, IPython
# and its dependencies, ipywidgets (kreg.ui.widgets imports it), and builds kreg and the
# kreg-contrib plugin as wheels from this checkout. On the device they are installed with
# `pip install --no-index --no-deps --target /tmp/site`; the plugin's entry point is found by
# importlib.metadata through its dist-info on PYTHONPATH.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WHL="$ROOT/.whl"

DEVICE_COMMAND='python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit; PYTHONUNBUFFERED=1 python3 benchmarks/gpu.py --out $OUT/RESULTS-gpu.md'

if [[ "${1:-}" == "--command" ]]; then
    printf '%s\n' "$DEVICE_COMMAND"
    exit 0
fi
if [[ $# -gt 0 ]]; then
    echo "usage: bash tools/gpu_carry.sh [--command]" >&2
    exit 2
fi

# name==version, each pinned to .venv's copy (keras 3.15.1 etc.).
PINS=(
    keras==3.15.1
    namex==0.1.0
    optree==0.20.0
    ipython==9.18.1
    ipython_pygments_lexers==1.1.1
    decorator==5.3.1
    jedi==0.20.1
    parso==0.8.7
    matplotlib-inline==0.2.2
    pexpect==4.9.0
    ptyprocess==0.7.0
    prompt_toolkit==3.0.53
    wcwidth==0.9.4
    stack_data==0.6.3
    asttokens==3.0.2
    executing==2.3.0
    pure_eval==0.2.4
    traitlets==5.16.1
    ipywidgets==8.1.9
    widgetsnbextension==4.0.16
    jupyterlab_widgets==3.0.17
    comm==0.2.3
    psutil==7.2.2  # ipython 9 requires it on Linux
)

mkdir -p "$WHL"
EXCLUDE="$ROOT/.git/info/exclude"
if [[ -d "$ROOT/.git" ]] && ! grep -qxF '/.whl/' "$EXCLUDE" 2>/dev/null; then
    mkdir -p "$(dirname "$EXCLUDE")"
    echo '/.whl/' >>"$EXCLUDE"
fi

# pip's noise about this machine's local index folders, filtered out; pip's status is kept.
quiet() {
    "$@" 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
}

# A wheel's file name spells the project with underscores (PEP 427), any case.
have() {
    local name="${1%%==*}" version="${1##*==}"
    name="${name//-/_}"
    compgen -G "$WHL/${name}-${version}-*.whl" >/dev/null \
        || ls "$WHL" | grep -qi "^${name}-${version}-.*\.whl$"
}

for pin in "${PINS[@]}"; do
    if have "$pin"; then
        continue
    fi
    quiet python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --platform manylinux1_x86_64 -d "$WHL" "$pin"
done

# kreg and kreg-contrib from this checkout: rebuilt each time (the working tree moves),
# replacing the previous build so that .whl/ keeps one version of each.
for project in "$ROOT" "$ROOT/plugins/kreg-contrib"; do
    name="$(basename "$project")"
    [[ "$project" == "$ROOT" ]] && name=kreg
    rm -f "$WHL/${name//-/_}"-*.whl
    quiet python3 -m pip wheel -q --no-deps -w "$WHL" "$project"
done

# One version of each project: warn if two wheels share a name.
dupes="$(ls "$WHL" | sed -E 's/-[^-]+-[^-]+-[^-]+-[^-]+\.whl$//' | tr 'A-Z-' 'a-z_' | sort | uniq -d)"
if [[ -n "$dupes" ]]; then
    echo "more than one version of: $dupes (remove the stale wheel from .whl/)" >&2
    exit 1
fi

ls -1 "$WHL"
total="$(du -cb "$WHL"/*.whl | tail -1 | cut -f1)"
echo "$(ls "$WHL"/*.whl | wc -l) wheels, $((total / 1024)) KiB in .whl/ (carry limit 64 MiB)"
if ((total > 48 * 1024 * 1024)); then
    echo "warning: .whl/ is over 48 MiB" >&2
fi
echo "device command (carry .whl: run(carry=[\".whl\"], command=...)):"
printf '  %s\n' "$DEVICE_COMMAND"
