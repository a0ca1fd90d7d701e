#!/bin/bash
# Domain-CLIP training variants side by side on one GPU (one process each), held-out metrics as JSON.
set -u
OUT="${OUT:-/tmp/clip_sweep}"; mkdir -p "$OUT"
if [ -d .whl_clip ]; then pip install --no-index --no-deps --target /tmp/site -q .whl_clip/*.whl 2>&1 | tail -2; fi
export PYTHONPATH=/tmp/site:$PWD/src HF_HUB_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true OMP_NUM_THREADS=2
export EXTRA_CLIP_CONFIGS=$PWD/benchmarks/clip_sweep/configs PYTHONUNBUFFERED=1
python -c "import torch, pytorch_lightning; print(torch.__version__, torch.cuda.is_available(), pytorch_lightning.__version__)"
LIMIT="${LIMIT:-400}"
G="training.trainer.accelerator=gpu"
run() { local name=$1; shift; timeout "$LIMIT" python benchmarks/clip_sweep/train.py "$name" $G "$@" >"$OUT/$name.log" 2>&1 & }
run rn_2000 training.trainer.max_steps=2000 clip.architecture=rodin-domain-clip-rn
run rn_1500_b64 training.trainer.max_steps=1500 training.batch_size=64 clip.architecture=rodin-domain-clip-rn
run rn_1500_b64_nophrase training.trainer.max_steps=1500 training.batch_size=64 training.phrase_probability=0.0 clip.architecture=rodin-domain-clip-rn
run rn2_1500_b64 training.trainer.max_steps=1500 training.batch_size=64 clip.architecture=rodin-domain-clip-rn2
run rn_800_b64 training.trainer.max_steps=800 training.batch_size=64 clip.architecture=rodin-domain-clip-rn
run vit_1500_b64 training.trainer.max_steps=1500 training.batch_size=64
wait
for f in "$OUT"/*.log; do echo "== $f"; grep -v -i "warn" "$f" | grep -E "Error|error|Traceback" | tail -3; done
cat "$OUT"/*.json
