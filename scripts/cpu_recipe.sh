#!/bin/sh
# The shipped recipe in one command: the 2D-only stage (four-times batches for bodies and hands, the half-size
# budget for faces and chairs) and then refined-teacher rounds with hands drawn more often, every command with
# bfloat16 blocks (--precision bf16; fast on CPUs with AMX or AVX-512 bfloat16 units). With the defaults it trains
# the bundled weights (RUNS/r5.safetensors, bit for bit on the Intel CPU where they were made: 54.5 min there
# with tcmalloc, 59.9 min with the system's allocator).
# It writes RUNS/2d.safetensors, RUNS/r1.safetensors, ... (each with its JSON record, which nests the ones before)
# and RUNS/times.txt, one line per training command with its wall time in seconds, then the sum. RUNS must not yet
# hold a 2d run (nothing is overwritten), unless RESUME=1: that continues a recipe stopped part way (Ctrl-C, a
# kill, a reboot) with the same settings, keeping the stages exported already and resuming the one that was
# training from its last checkpoint (python -m lifter.train --resume: the same weights, bit for bit, as without
# the stop; times.txt then adds the time of each call, the steps repeated after the last checkpoint included).
#   sh scripts/cpu_recipe.sh                       # data/ built by python -m lifter.data build
#   RESUME=1 sh scripts/cpu_recipe.sh              # continue it after a stop
#   DATA=data RUNS=runs/cpu_recipe ROUNDS=3 ROUND_STEPS=1800 HAND_STEPS=2 sh scripts/cpu_recipe.sh
# STEPS (2D-only steps, default 6000), ROUNDS (default 5), ROUND_STEPS (default 1200), HAND_STEPS (hand steps per
# round-robin cycle in the rounds, default 3; faces 2, bodies and chairs 1), SEED (default 0), THREADS (default 2),
# PRECISION (default bf16; fp32 for CPUs without bfloat16 units, where bf16 is emulated and 20x slower a step),
# DEVICE (default cpu), PYTHON (default python),
# MALLOC (the memory allocator the Python commands run with: "auto", the default, preloads tcmalloc where it is
# installed (Debian and Ubuntu: apt-get install libtcmalloc-minimal4), else uses the system's; "system"; or a
# shared library's path). The allocator changes the speed only: the same weights, bit for bit, in 11 % less
# training time with tcmalloc on the Intel CPU (scripts/allocator_speed.py). times.txt's first line names it.
set -eu
data=${DATA:-data}
runs=${RUNS:-runs/cpu_recipe}
steps=${STEPS:-6000}
rounds=${ROUNDS:-5}
round_steps=${ROUND_STEPS:-1200}
hand_steps=${HAND_STEPS:-3}
seed=${SEED:-0}
threads=${THREADS:-2}
precision=${PRECISION:-bf16}
device=${DEVICE:-cpu}
PY=${PYTHON:-python}
resume=${RESUME:-0}
case $resume in
    0|1) ;;
    *) echo "RESUME takes 0 or 1 (got '$resume')" >&2
       exit 2 ;;
esac
for n in "$steps" "$rounds" "$round_steps" "$hand_steps" "$seed" "$threads"; do
    case $n in
        ''|*[!0-9]*) echo "STEPS, ROUNDS, ROUND_STEPS, HAND_STEPS, SEED and THREADS take whole numbers (got '$n')" >&2
                     exit 2 ;;
    esac
done
malloc=${MALLOC:-auto}
case $malloc in
    system) preload= ;;
    auto) preload=                # the places scripts/allocator_speed.py's LIBRARY_DIRS lists (a test checks)
          for lib in /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \
                     /usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4 /usr/lib64/libtcmalloc_minimal.so.4 \
                     /usr/lib/libtcmalloc_minimal.so.4 /usr/local/lib/libtcmalloc_minimal.so.4; do
              if [ -e "$lib" ]; then preload=$lib; break; fi
          done ;;
    *) if [ ! -f "$malloc" ]; then
           echo "MALLOC takes auto, system or a shared library's path (no file '$malloc')" >&2
           exit 2
       fi
       preload=$malloc ;;
esac
if [ "$resume" = 0 ] && [ -e "$runs/2d" ]; then
    echo "$runs/2d already exists: give another RUNS, or RESUME=1 to continue that recipe (nothing was overwritten)" >&2
    exit 2
fi
mkdir -p "$runs"
times="$runs/times.txt"
if [ "$resume" = 1 ] && [ -f "$times" ]; then
    grep -v '^total ' "$times" > "$times.tmp" || true     # the sum is written again at the end
    mv "$times.tmp" "$times"
    echo "# resumed, allocator ${preload:-system}" >> "$times"
else
    echo "# allocator ${preload:-system}" > "$times"
fi
echo "allocator: ${preload:-the system's}" >&2

py() {   # py ARGS...: the Python interpreter with the allocator chosen
    if [ -n "$preload" ]; then
        LD_PRELOAD="$preload${LD_PRELOAD:+:$LD_PRELOAD}" "$PY" "$@"
    else
        "$PY" "$@"
    fi
}

timed() {   # timed NAME COMMAND...: run it, add "NAME SECONDS" to times.txt
    name=$1; shift
    start=$(date +%s)
    status=0
    "$@" || status=$?
    took=$(( $(date +%s) - start ))
    echo "$name $took" >> "$times"
    if [ "$status" -ne 0 ]; then
        echo "$name stopped (exit status $status) after $took s: RESUME=1 with the same settings continues the" \
             "recipe from its last checkpoint" >&2
        exit "$status"
    fi
    echo "$name: $took s" >&2
}

stage() {   # stage NAME TRAIN-OPTIONS...: train RUNS/NAME and export it (RESUME=1: kept if exported, else resumed)
    name=$1; shift
    if [ "$resume" = 1 ] && [ -f "$runs/$name.safetensors" ]; then
        echo "$name: exported already, kept" >&2
        return 0
    fi
    again=
    if [ "$resume" = 1 ] && [ -e "$runs/$name" ]; then again=--resume; fi
    timed "$name" py -m lifter.train --data "$data" --out "$runs/$name" "$@" $again
    py -m lifter.export --run "$runs/$name" --out "$runs/$name.safetensors"
}

stage 2d --steps "$steps" --seed "$seed" \
    --identity-code laplacian+fourier --batch-tokens 8192 --batch-on-subset --max-batch 1024 \
    --category-batch-tokens face468=2048 chair=2048 --learned-elevation --precision "$precision" \
    --device "$device" --threads "$threads" --quiet
prev=2d
i=1
while [ "$i" -le "$rounds" ]; do
    next=r$i
    if [ "$resume" = 0 ] || [ ! -f "$runs/$next.safetensors" ]; then       # (the fit is deterministic)
        py -m lifter.bone_lengths --data "$data" --weights "$runs/$prev.safetensors" --categories hand21 \
            --out "$runs/${prev}_hand_bones.safetensors" --device "$device"
    fi
    stage "$next" --init "$runs/$prev.safetensors" \
        --finetune-3d-aware --steps "$round_steps" --seed "$seed" --lr 3e-4 --warmup 50 --batch-on-subset \
        --symmetry-weight 5 --template-weight face468=100 --learned-elevation --finetune-elevation \
        --category-weights face468=2 hand21="$hand_steps" --render-block-hide 0.5 \
        --teacher-bones "$runs/${prev}_hand_bones.safetensors" --teacher-reading perspective --teacher-distill 5 \
        --precision "$precision" --device "$device" --threads "$threads" --quiet
    prev=$next
    i=$(( i + 1 ))
done
total=$(awk '!/^#/ && $1 != "total" { s += $2 } END { print s }' "$times")
echo "total $total" >> "$times"
minutes=$(awk -v s="$total" 'BEGIN { printf "%.1f", s / 60 }')
echo "trained in $total s as timed ($minutes min); weights: $runs/$prev.safetensors"
