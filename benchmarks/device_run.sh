#!/usr/bin/env bash
# The device check on a lent GPU machine, with what benchmarks/device_kit.py packed into
# .device/ (carried: the data subset, the paper's model, Snakemake's wheels). Run there
# from the repository root; the report lands in $OUT (or results/gpu/ without $OUT):
#   device run: carry [".device"], command "bash benchmarks/device_run.sh"
# Arguments go to device_check.py (e.g. --quick --device cpu for a rehearsal here).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
site=/tmp/ssn-site
if compgen -G ".device/whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" .device/whl/*.whl
fi
# the package itself (its entry points name the baselines), without its dependencies
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile \
  --target "$site" .
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" PATH="$site/bin:$PATH"
[ -d .device/data ] && export SSN_DATA="$PWD/.device/data"
[ -d .device/weights ] && export SSN_WEIGHTS="$PWD/.device/weights"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
out="${OUT:-results/gpu}"
status=0
timeout 540 python3 benchmarks/device_check.py --out-dir "$out" "$@" || status=$?
cat "$out/device_check.md" || true
exit "$status"
