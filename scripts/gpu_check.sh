#!/bin/sh
# The prepared device check for a CUDA machine (for the project's lent H200: its python3 holds torch, numpy,
# safetensors and pytest, which is all the lifter needs; no data/ is needed, the bench then times random poses):
#   1. lift() on CUDA against the CPU (every category: network, mirror averaging, completion, and the bone-length,
#      symmetry and shape-basis refinements) and lift()'s independence of its chunking, from tests/test_api.py;
#      the 3D-aware stage's refined teacher on CUDA against the CPU and a few steps of that stage with every
#      teacher option, from tests/test_train.py;
#   2. python -m lifter.bench on CUDA alone for bodies and hands at 65,536 poses per call (bf16 autocast; the
#      H200 target is >= 200,000 poses/s), written to $OUT (default results/gpu) as bench.json / bench.md.
# Run from the repository root: sh scripts/gpu_check.sh   (a few minutes on an H200).
set -eu
out=${OUT:-results/gpu}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
"$PY" -c "import torch; assert torch.cuda.is_available(), 'torch sees no CUDA device here'; \
print(torch.__version__, torch.cuda.get_device_name())"
"$PY" -m pytest -q -p no:cacheprovider tests/test_api.py tests/test_train.py -k "cuda or chunking" 2>&1 \
    | tee "$out/pytest.log"
"$PY" -m lifter.bench --devices cuda --categories human17 hand21 --batch 65536 --repeats 100 --out "$out" 2>&1 \
    | tee "$out/bench.log"
