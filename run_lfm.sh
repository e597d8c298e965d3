#!/usr/bin/env bash
# Evaluate the trained models on the test split (after `bash train.sh`): the four IEMOCAP
# emotions, or with DATASET=mosi|pom|mosei|sims|simsv2 that dataset's model.
#
# Data: $DATA_PATH if set (it must exist), else the dataset's real file (docs/datasets.md),
# else that dataset's SYNTHETIC sample. Checkpoints are read from $CHECK_DIR (default check/).
# Extra arguments are passed to every test.py call.
set -uo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python}
DATASET=${DATASET:-iemocap}
if [ -n "${DATA_PATH:-}" ] && [ ! -f "$DATA_PATH" ]; then
    echo "error: DATA_PATH $DATA_PATH does not exist" >&2
    exit 2
fi
MODELS=$("$PYTHON" -c 'import sys, utils; from lmf import hparams; utils.run_cli(lambda: print(" ".join(hparams.model_names(sys.argv[1]))))' "$DATASET") || exit 2
status=0
for name in $MODELS; do
    if [ "$DATASET" = iemocap ]; then task=(--emotion "$name"); else task=(--dataset "$DATASET"); fi
    "$PYTHON" test.py "${task[@]}" ${DATA_PATH:+--data_path "$DATA_PATH"} \
        --check_path "${CHECK_DIR:-check}" "$@" || status=1
    echo
done
exit $status
