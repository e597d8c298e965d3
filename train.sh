#!/usr/bin/env bash
# Train with the published hyperparameters and seeds (the table PUBLISHED in lmf/hparams.py):
# the four IEMOCAP emotion models, or with DATASET=mosi|pom the CMU-MOSI or POM model
# (POM: TRAIT=<name> picks the trait whose published setting trains it, default Confidence),
# or with DATASET=mosei|sims|simsv2 (or DATASET=mosi DATA_PATH=<MMSA's CMU-MOSI file>) a model of
# MMSA's feature files with the settings behind MMSA's published LMF rows.
#
# Data: $DATA_PATH if set (it must exist), else the dataset's real file (data/iemocap.pkl,
# data/mosi.pkl, data/pom.pkl, data/MOSEI/Processed/unaligned_50.pkl, ...: docs/datasets.md),
# else that dataset's SYNTHETIC sample (generated on first use).
# Checkpoints go to $CHECK_DIR (default check/), logs to $LOG_DIR (default train_log/).
# Extra arguments are passed to every train.py call, e.g. `bash train.sh --device gpu`.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python}
DATASET=${DATASET:-iemocap}
if [ -n "${DATA_PATH:-}" ] && [ ! -f "$DATA_PATH" ]; then
    echo "error: DATA_PATH $DATA_PATH does not exist" >&2
    exit 2
fi
MODELS=$("$PYTHON" -c 'import sys, utils; from lmf import hparams; utils.run_cli(lambda: print(" ".join(hparams.model_names(sys.argv[1]))))' "$DATASET")
for name in $MODELS; do
    echo "Start training ${name}......"
    if [ "$DATASET" = iemocap ]; then task=(--emotion "$name"); else task=(--dataset "$DATASET" ${TRAIT:+--trait "$TRAIT"}); fi
    "$PYTHON" train.py "${task[@]}" ${DATA_PATH:+--data_path "$DATA_PATH"} \
        --model_path "${CHECK_DIR:-check}" --log_dir "${LOG_DIR:-train_log}" "$@"
    echo
done
