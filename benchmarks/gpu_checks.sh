#!/bin/bash
# The checks that need a GPU, in one go (about 8 minutes on one H100/H200); see benchmarks/README.md.
#
#   bash benchmarks/gpu_checks.sh [RESULTS_FOLDER]     # default benchmarks/results/gpu
#
# 1. paper-size base + upsampler training through the diffusion stage's node on synthetic data
#    (bf16-mixed, channels-last, DDP strategy, rendering loss), kill-free resume, and fp16 (V100);
# 2. training-step throughput of the U-Nets at default and paper sizes, fp32/channels-last/bf16;
# 3. the SLURM script on one emulated node with one GPU: render, fit and encoder at the test
#    profile, then scripts/slurm/train_diffusion.sbatch through a stand-in `srun`, then a
#    "requeued" second submission with more steps that must resume;
# 4. the volume renderer against the EG3D-style reference at paper-size planes on CUDA.
# Each step has its own time limit, so one failure does not stop the others. CHECKS picks steps
# (names as below); ACCELERATOR=cpu runs the SLURM step's plumbing on a machine without a GPU.
set -uo pipefail
RESULTS="${1:-benchmarks/results/gpu}"
mkdir -p "$RESULTS"
export KEDRO_DISABLE_TELEMETRY=true HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
export PYTHON="${PYTHON:-python}" ACCELERATOR="${ACCELERATOR:-gpu}"
CHECKS="${CHECKS:-paper_training diffusion_throughput slurm_one_gpu renderer}"

step() {  # step NAME SECONDS COMMAND...: run with a limit, log to RESULTS/NAME.log
  local name=$1 limit=$2 start=$SECONDS rc
  shift 2
  [[ " $CHECKS " == *" $name "* ]] || return 0
  timeout "$limit" "$@" >"$RESULTS/$name.log" 2>&1
  rc=$?
  echo "== $name: exit $rc after $((SECONDS - start)) s"
  grep -v -i "warning" "$RESULTS/$name.log" | tail -n 6
}

slurm_on_one_gpu() {  # the sbatch script with SLURM's variables for 1 node x 1 task
  local stand_in
  stand_in=$(mktemp -d)
  printf '#!/bin/bash\nexport SLURM_PROCID=0 SLURM_LOCALID=0 SLURM_NODEID=0\nexec "$@"\n' \
    >"$stand_in/srun"
  chmod +x "$stand_in/srun"
  local gpu="" model
  for model in base upsampler; do
    gpu+="diffusion.${model}.trainer.accelerator=${ACCELERATOR},diffusion.${model}.trainer.strategy=ddp,"
  done
  kedro run --env test --pipelines render,fit,encoder || return 1
  for steps in 6 12; do  # the second submission resumes each model from its last.ckpt
    local more=""
    for model in base upsampler; do more+="diffusion.${model}.trainer.max_steps=${steps},"; done
    PATH="$stand_in:$PATH" SLURM_SUBMIT_DIR="$PWD" SLURM_JOB_NUM_NODES=1 \
      SLURM_NTASKS_PER_NODE=1 SLURM_NTASKS=1 SLURM_JOB_NAME=rodin-diffusion SLURM_JOB_ID=1 \
      SLURM_NODELIST=localhost KEDRO_ENV=test PRECISION=bf16-mixed \
      EXTRA_PARAMS="${gpu}${more%,}" bash scripts/slurm/train_diffusion.sbatch || return 1
    "$PYTHON" - "$steps" <<'EOF' || return 1
import sys, torch
for model in ("base", "upsampler"):
    path = f"data/06_models/diffusion/{model}/checkpoints/last.ckpt"
    step = torch.load(path, map_location="cpu", weights_only=True)["global_step"]
    print(model, "last.ckpt at step", step)
    assert step == int(sys.argv[1]), (model, step)
EOF
  done
  ls -l data/08_reporting/diffusion_gallery.png
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
"$PYTHON" -c "import torch, pytorch_lightning as pl; print('torch', torch.__version__, \
'lightning', pl.__version__, 'cuda', torch.cuda.is_available())"
step paper_training 200 "$PYTHON" benchmarks/paper_training_check.py --steps 20 \
  --precisions 16-mixed --output "$RESULTS/paper_training.json"
step diffusion_throughput 120 "$PYTHON" benchmarks/bench_diffusion_training.py --time-paper \
  --output "$RESULTS/diffusion_training.json"
export -f slurm_on_one_gpu
step slurm_one_gpu 150 bash -c slurm_on_one_gpu
cp data/08_reporting/diffusion_gallery.png "$RESULTS/slurm_test_profile_gallery.png" 2>/dev/null
step renderer 80 "$PYTHON" benchmarks/bench_triplane_renderer.py --device cuda --resolution 256 \
  --channels 32 --hidden 128 --rays 65536 --output "$RESULTS/triplane_renderer_cuda.json"
