#!/bin/bash
# MCM's default chosen on dev:tabular, then the full suite with it: one call on a GPU machine (BENCHMARKS.md, run 8).
# Usage: DATA=../shared/data bash benchmarks/mcm_gpu_run.sh OUTDIR JOBS
# Re-running with the same OUTDIR resumes: the choice is kept and finished cells are skipped.
set -u
out=$1; jobs=$2
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
bench="python3 -m genad.cli bench --data-dir ${DATA:-../shared/data} --jobs $jobs --threads 1 --quiet"
# candidates from the cheapest to the paper's setting (200 epochs, lr 0.05 x 0.98 per epoch); the two shorter
# schedules decay over the same range of learning rates
C3='mcm?epochs=20&lr_decay=0.818&min_steps=100'
C2='mcm?epochs=50&lr_decay=0.923&min_steps=100'
C1='mcm?epochs=200&lr_decay=0.98'
date +%T; nvidia-smi -L 2>/dev/null
[ -f "$out/choice.txt" ] || {
  $bench --datasets ${DEV:-dev:tabular} --models "$C3" "$C2" "$C1" --seeds 0,1 --results "$out/mcm_dev.sqlite" || exit 1
  python3 benchmarks/choose_default.py "$out/mcm_dev.sqlite" 0.003 "$C3" "$C2" "$C1" > "$out/choice.txt" || exit 1
}
choice=$(cat "$out/choice.txt"); echo "chosen: $choice"; date +%T
$bench --datasets ${SUITE:-adbench:all} --models "$choice" --seeds ${SEEDS:-0,1,2} --results "$out/mcm_suite.sqlite"
date +%T
