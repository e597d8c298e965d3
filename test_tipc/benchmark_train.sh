#!/usr/bin/env bash
# TIPC training benchmark of LMF (Linux, Python, CPU or GPU as train.py picks): training speed per batch size.
#
#   bash test_tipc/benchmark_train.sh test_tipc/configs/lmf/train_infer_python.txt [benchmark_train]
#
# Reads the config's "train_benchmark_params" section (after its 34 train_infer_python lines):
#   batch_size:32|128   batch sizes to measure, one train.py run each
#   fp_items:fp32       precisions; LMF trains in fp32 only (others are skipped with a message)
#   epoch:1             epochs per run (early stopping off: --patience equals it)
# and from the top of the config: model_name (line 2), python (line 3), the first model of line 9 (happy; the other
# emotions' models differ only in their small fusion sizes) and the lite_train_lite_infer training data of line 11
# (data/lite_data.pkl, SYNTHETIC, 96 training samples per emotion, made by prepare.sh first: at batch 128 an epoch is
# one batch of 96, so treat these numbers as a smoke measurement; point line 11 at a bigger file for a real one).
#
# How ips is computed: train.py prints (flushed) "Training <model> on ..." after loading the data, right before it
# builds the model and trains, and "Epoch k complete! Average Training loss: L" after the last training batch of epoch
# k; between epochs it prints only its validation and checkpoint lines. Each output line is time-stamped here as it
# arrives (bash $EPOCHREALTIME). The training time of epoch k is the stamp of "Epoch k complete!" minus the stamp of the
# line just before it (for epoch 0 the "Training ..." line), so it holds the epoch's training batches (forward,
# backward, optimizer step; plus, for epoch 0, building the model and optimizer, a few ms) and none of the process
# start-up, data loading, validation, checkpoint saving or testing. Then
#   ips = (training samples x epochs) / (sum of the epochs' training times)     [samples/s]
# For each epoch the script prints "epoch: k, batch_size: B, loss: L, ips: X samples/s", and per batch size the line
# the Paddle benchmark tooling (analysis.py --keyword ips:) reads:
#   model_name: lmf_happy_bs32_fp32, batch_size: 32, epochs: 1, train_samples: 96, train_time: 0.41 s, ips: 234.1 samples/s
# These lines are appended to log/<model_name>/benchmark_train/benchmark_train.log, train.py's output of each run is in
# log/<model_name>/benchmark_train/train_bs<B>_<fp>.log, and each run's result ("Run successfully|failed with command -
# ...") in log/<model_name>/benchmark_train/results_benchmark_train.log (started afresh).
# Exit code: 0 when every run succeeded, 1 otherwise, 2 for a bad config or mode.
set -uo pipefail
cd "$(dirname "$0")/.."
source test_tipc/common_func.sh

FILENAME=${1:-}
MODE=${2:-benchmark_train}
func_open_one_mode_config test_tipc/benchmark_train.sh benchmark_train
func_expect_key model_name 1
model_name=$(func_parser_value "${lines[1]}")
func_expect_key python 2
python=$(func_parser_value "${lines[2]}")
emotion_key=$(func_parser_key "${lines[8]}")
if [[ ${emotion_key} != "--emotion" && ${emotion_key} != "--dataset" ]]; then
    echo "error: ${FILENAME}: line 9 should be '--emotion:...' or '--dataset:...', found '${lines[8]}'" >&2
    exit 2
fi
emotion=$(func_parser_value "${lines[8]}")
emotion=${emotion%%|*}
func_expect_key norm_train 13
train_py=$(func_parser_value "${lines[13]}")
func_expect_key --data_path 10
data_path=$(func_parser_params "${lines[10]}" lite_train_lite_infer)
dataset=$([[ ${emotion_key} == "--dataset" ]] && echo "${emotion}" || echo iemocap)

# the train_benchmark_params section
header=-1
for index in "${!lines[@]}"; do
    if [[ ${lines[$index]} == *train_benchmark_params* ]]; then
        header=${index}
        break
    fi
done
if [[ ${header} -lt 0 ]]; then
    echo "error: ${FILENAME} has no ===...train_benchmark_params...=== section (batch_size:, fp_items:, epoch:)" >&2
    exit 2
fi
batch_list="" fp_list=fp32 epochs=""
for ((index = header + 1; index < ${#lines[@]}; index++)); do
    [[ ${lines[$index]} == =* ]] && break
    case $(func_parser_key "${lines[$index]}") in
        batch_size) batch_list=$(func_parser_value "${lines[$index]}") ;;
        fp_items) fp_list=$(func_parser_value "${lines[$index]}") ;;
        epoch) epochs=$(func_parser_value "${lines[$index]}") ;;
    esac
done
if [[ ! ${epochs} =~ ^[1-9][0-9]*$ || -z ${batch_list} ]]; then
    echo "error: ${FILENAME}: train_benchmark_params needs batch_size:<n>|<n>... and epoch:<n> (n >= 1)," \
         "found batch_size '${batch_list}', epoch '${epochs}'" >&2
    exit 2
fi

LOG_PATH="./log/${model_name}/benchmark_train"
mkdir -p "${LOG_PATH}"
status_log="${LOG_PATH}/results_benchmark_train.log"
rm -f "${status_log}"
speed_log="${LOG_PATH}/benchmark_train.log"
failed=0

prepare_cmd="PYTHON=${python} bash test_tipc/prepare.sh ${FILENAME} lite_train_lite_infer"
eval "${prepare_cmd}" > "${LOG_PATH}/prepare.log" 2>&1
status=$?
status_check ${status} "${prepare_cmd}" "${status_log}"
if [[ ${status} -ne 0 ]]; then
    cat "${LOG_PATH}/prepare.log"
    echo "prepare.sh failed; nothing else runs."
    exit 1
fi
train_samples=$("${python}" -c "import sys, data; print(len(data.module(sys.argv[1]).load(sys.argv[2], sys.argv[3], verbose=False)[0]))" \
                "${dataset}" "${data_path}" "${emotion}")
if [[ ! ${train_samples} =~ ^[0-9]+$ ]]; then
    echo "error: could not count the training samples of ${emotion} in ${data_path}" >&2
    exit 1
fi

IFS='|' read -r -a batch_sizes <<< "${batch_list}"
IFS='|' read -r -a fp_items <<< "${fp_list}"
for batch_size in "${batch_sizes[@]}"; do
    for fp_item in "${fp_items[@]}"; do
        if [[ ${fp_item} != fp32 ]]; then
            echo "Skipped ${fp_item} at batch ${batch_size}: LMF trains in fp32 only."
            continue
        fi
        run_dir="${LOG_PATH}/bs${batch_size}_${fp_item}"
        train_log="${LOG_PATH}/train_bs${batch_size}_${fp_item}.log"
        rm -rf "${run_dir}"
        train_cmd="${python} ${train_py} $(func_set_params "${emotion_key}" "${emotion}") --data_path=${data_path} --epochs=${epochs} --patience=${epochs} --batch_size=${batch_size} --model_path=${run_dir} --log_dir=${run_dir}/train_log"
        echo "+ ${train_cmd}"
        # every output line, prefixed with the time it arrived
        eval "PYTHONUNBUFFERED=1 ${train_cmd}" 2>&1 | while IFS= read -r line; do
            printf '%s %s\n' "${EPOCHREALTIME}" "${line}"
        done > "${train_log}"
        status=${PIPESTATUS[0]}
        status_check ${status} "${train_cmd}" "${status_log}"
        if [[ ${status} -ne 0 ]]; then
            cut -d' ' -f2- "${train_log}"
            failed=1
            continue
        fi
        # per-epoch training times (see the header) and the ips lines
        result=$(awk -v bs="${batch_size}" -v n="${train_samples}" -v epochs="${epochs}" \
                     -v name="${model_name}_${emotion}_bs${batch_size}_${fp_item}" '
            { stamp = $1; sub(/^[^ ]+ /, "") }
            /^Training / { previous = stamp; started = 1; next }
            started && /^Epoch [0-9]+ complete! Average Training loss: / {
                t = stamp - previous; total += t; count++
                printf "epoch: %d, batch_size: %d, loss: %s, ips: %.1f samples/s\n", $2, bs, $NF, n / t
            }
            { previous = stamp }
            END {
                if (count != epochs || total <= 0) { print "error: found " count " of " epochs " epochs"; exit 1 }
                printf "model_name: %s, batch_size: %d, epochs: %d, train_samples: %d, train_time: %.3f s, ips: %.1f samples/s\n",
                       name, bs, epochs, n, total, n * epochs / total
            }' "${train_log}")
        status=$?
        echo "${result}"
        echo "${result}" >> "${speed_log}"
        if [[ ${status} -ne 0 ]]; then
            status_check 1 "ips of ${train_log}" "${status_log}"
            failed=1
        fi
    done
done

report_results runs
exit 0
