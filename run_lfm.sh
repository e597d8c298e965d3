#!/usr/bin/env bash
# Evaluate the four trained emotion models on the test split (after `bash train.sh`).
#
# Data: $DATA_PATH if set (it must exist), else data/iemocap.pkl, else the
# SYNTHETIC data/sample_data.pkl. Checkpoints are read from $CHECK_DIR (default check/).
# Extra arguments are passed to every test.py call.
set -uo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python}
if [ -n "${DATA_PATH:-}" ] && [ ! -f "$DATA_PATH" ]; then
    echo "error: DATA_PATH $DATA_PATH does not exist" >&2
    exit 2
fi
EMOTIONS=$("$PYTHON" -c 'import utils; print(" ".join(utils.EMOTIONS))') || exit 1
status=0
for emotion in $EMOTIONS; do
    "$PYTHON" test.py --emotion "$emotion" ${DATA_PATH:+--data_path "$DATA_PATH"} \
        --check_path "${CHECK_DIR:-check}" "$@" || status=1
    echo
done
exit $status
