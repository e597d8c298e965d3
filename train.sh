#!/usr/bin/env bash
# Train the four emotion models with the published hyperparameters and seeds
# (the table EMOTION_HPARAMS in utils.py; train.py --emotion X selects them).
#
# Data: $DATA_PATH if set (it must exist), else data/iemocap.pkl, else the
# SYNTHETIC data/sample_data.pkl (generated on first use).
# Checkpoints go to $CHECK_DIR (default check/), logs to $LOG_DIR (default train_log/).
# Extra arguments are passed to every train.py call, e.g. `bash train.sh --device gpu`.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python}
if [ -n "${DATA_PATH:-}" ] && [ ! -f "$DATA_PATH" ]; then
    echo "error: DATA_PATH $DATA_PATH does not exist" >&2
    exit 2
fi
EMOTIONS=$("$PYTHON" -c 'import utils; print(" ".join(utils.EMOTIONS))')
for emotion in $EMOTIONS; do
    echo "Start training ${emotion}......"
    "$PYTHON" train.py --emotion "$emotion" ${DATA_PATH:+--data_path "$DATA_PATH"} \
        --model_path "${CHECK_DIR:-check}" --log_dir "${LOG_DIR:-train_log}" "$@"
    echo
done
