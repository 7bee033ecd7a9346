#!/bin/sh
# Does a larger batch or a wider network move the 2D-only stage once compute is no limit? A prepared device check
# for a CUDA machine (the project's lent H200: a 0.87 M-parameter lifter there is bound by kernel launches, so four
# runs share the GPU at little cost each). It trains the recipe's first command (6,000 steps, seed 0, Laplacian +
# Fourier code) four ways at once, every category's batch four times the shipped one (--batch-tokens 8192
# --batch-on-subset --max-batch 1024: bodies 481 poses, hands and chairs 390, faces 64):
#   b8k_2d       2D-only, the shipped network (width 128, 4 blocks), learned elevation as shipped
#   b8k_d256_2d  2D-only, width 256 and 8 heads (3.4 M parameters)
#   b8k_3d       the 3D-supervised twin at width 128 (upper bound)
#   b8k_d256_3d  the 3D-supervised twin at width 256
# and exports each to $OUT/NAME.safetensors; records (export JSONs, run logs, wall times) go to $OUT/records.tar.gz.
# A run still going after LIMIT seconds is stopped and its last checkpoint (every 500 steps) exported: its record
# then says how many steps it made. A WORK folder that already holds runs is refused (nothing is overwritten).
#   SRC=gpudata/shared_data.tar.xz OUT=results/gpu/scaling sh scripts/gpu_scaling.sh
# SRC: an xz tar of ../shared/data (folder `data` inside), or DATA=folder of built files instead.
# STEPS (default 6000), LIMIT (default 480 s), DEVICE (default cuda), PYTHON (default python3), WORK (/tmp/scaling).
set -eu
out=${OUT:-results/gpu/scaling}
steps=${STEPS:-6000}
limit=${LIMIT:-480}
dev=${DEVICE:-cuda}
work=${WORK:-/tmp/scaling}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
mkdir -p "$out" "$work/export" "$work/runs"
out=$(cd "$out" && pwd)                      # the archive is written after a cd into $work
if [ -n "$(ls -A "$work/runs")" ]; then
    echo "$work/runs already holds runs: give another WORK (nothing was overwritten)" >&2
    exit 2
fi
if [ "$dev" = cuda ]; then
    "$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA here'; print(torch.__version__, \
torch.cuda.get_device_name())"
fi
data=${DATA:-}
if [ -z "$data" ]; then
    data="$work/data"
    mkdir -p "$work/src"
    tar -C "$work/src" -xJf "${SRC:?give SRC=an xz tar of ../shared/data, or DATA=a folder of built files}"
    start=$(date +%s)
    if ! "$PY" -m lifter.data build --source "$work/src/data" --out "$data" > "$work/build.log" 2>&1; then
        cp "$work/build.log" "$out/"
        tail -n 20 "$work/build.log" >&2
        exit 1
    fi
    echo "data build: $(( $(date +%s) - start )) s" | tee -a "$work/times.txt"
fi
common="--data $data --steps $steps --seed 0 --identity-code laplacian+fourier --device $dev --threads 3 --quiet"
big="--batch-tokens 8192 --batch-on-subset --max-batch 1024"
wide="--dim 256 --heads 8"
train() {
    name=$1
    shift
    (
        start=$(date +%s)
        rc=0
        # shellcheck disable=SC2086
        timeout "$limit" "$PY" -m lifter.train --out "$work/runs/$name" $common $big "$@" \
            > "$work/$name.log" 2>&1 || rc=$?
        echo "$name: rc $rc, $(( $(date +%s) - start )) s" >> "$work/times.txt"
    ) &
}
train b8k_2d --learned-elevation
train b8k_d256_2d $wide --learned-elevation
train b8k_3d --supervision 3d
train b8k_d256_3d $wide --supervision 3d
sleep 60
nvidia-smi > "$work/nvidia-smi.txt" 2>&1 || true
wait
cat "$work/times.txt"
for name in b8k_2d b8k_d256_2d b8k_3d b8k_d256_3d; do
    if [ -f "$work/runs/$name/checkpoint.safetensors" ]; then
        "$PY" -m lifter.export --run "$work/runs/$name" --out "$work/export/$name.safetensors"
        cp "$work/export/$name.safetensors" "$out/"
        tail -n 1 "$work/runs/$name/log.jsonl"
    fi
done
cd "$work"
tar czf "$out/records.tar.gz" times.txt ./*.log nvidia-smi.txt export/*.json runs/*/log.jsonl runs/*/checkpoint.json
