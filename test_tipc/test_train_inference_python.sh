#!/usr/bin/env bash
# TIPC basic train/eval/export/inference test of LMF (Linux, Python).
#
#   bash test_tipc/test_train_inference_python.sh test_tipc/configs/lmf/train_infer_python.txt lite_train_lite_infer
#
# MODE: lite_train_lite_infer | lite_train_whole_infer | whole_train_whole_infer | whole_infer [GPU id]
# For every model of the config's line 9 (--emotion:happy|sad|angry|neutral for IEMOCAP, or
# --dataset:mosi / --dataset:pom for one CMU-MOSI or POM model): train -> eval (test.py) -> export ->
# inference per device and batch size, each from the checkpoint trained just before, in
# <model_path><MODE>/<trainer>_<device>/.
# whole_infer trains nothing: it exports infer_model (check/) and runs inference on it.
# Every stage appends "Run successfully|failed with command - ..." to log/<model_name>/<MODE>/results_python.log
# (started afresh by each run); the output of each stage goes to a .log file beside it.
# Exit code: 0 when every stage succeeded, 1 otherwise, 2 for a bad config or mode.
set -uo pipefail
cd "$(dirname "$0")/.."
source test_tipc/common_func.sh

FILENAME=${1:-}
MODE=${2:-}
if [[ -z ${FILENAME} || -z ${MODE} ]]; then
    echo "usage: bash test_tipc/test_train_inference_python.sh CONFIG MODE [GPU_ID]" >&2
    exit 2
fi
if [[ ! -f ${FILENAME} ]]; then
    echo "error: config ${FILENAME} does not exist" >&2
    exit 2
fi
case ${MODE} in
    lite_train_lite_infer | lite_train_whole_infer | whole_train_whole_infer | whole_infer) ;;
    *) echo "error: unknown mode '${MODE}'" >&2; exit 2 ;;
esac

IFS=$'\n' read -r -d '' -a lines < "${FILENAME}"
if [[ ${#lines[@]} -lt 34 ]]; then
    echo "error: ${FILENAME} has ${#lines[@]} lines; the layout of test_tipc/configs/lmf/train_infer_python.txt has 34" >&2
    exit 2
fi

# train params
func_expect_key model_name 1
model_name=$(func_parser_value "${lines[1]}")
func_expect_key python 2
python=$(func_parser_value "${lines[2]}")
func_expect_key gpu_list 3
gpu_list=$(func_parser_value "${lines[3]}")
func_expect_key Global.use_gpu 4
train_use_gpu_list=$(func_parser_value "${lines[4]}")
func_expect_key --epochs 5
epoch_key=$(func_parser_key "${lines[5]}")
epoch_value=$(func_parser_params "${lines[5]}" "${MODE}")
func_expect_key --model_path 6
save_model_key=$(func_parser_key "${lines[6]}")
save_model_value=$(func_parser_value "${lines[6]}")
func_expect_key --batch_size 7
train_batch_key=$(func_parser_key "${lines[7]}")
train_batch_value=$(func_parser_params "${lines[7]}" "${MODE}")
# line 9: --emotion:<emotions> (IEMOCAP) or --dataset:<dataset>; each value is one model, passed as key=value
emotion_key=$(func_parser_key "${lines[8]}")
if [[ ${emotion_key} != "--emotion" && ${emotion_key} != "--dataset" ]]; then
    echo "error: ${FILENAME}: line 9 should be '--emotion:...' or '--dataset:...', found '${lines[8]}'" >&2
    exit 2
fi
emotion_list=$(func_parser_value "${lines[8]}")
func_expect_key train_model_name 9
train_model_name=$(func_parser_value "${lines[9]}")
func_expect_key --data_path 10
train_data_key=$(func_parser_key "${lines[10]}")
train_data_value=$(func_parser_params "${lines[10]}" "${MODE}")
func_expect_key trainer 12
trainer_list=$(func_parser_value "${lines[12]}")
func_expect_key norm_train 13
norm_train=$(func_parser_value "${lines[13]}")
# eval params
func_expect_key eval 16
eval_py=$(func_parser_value "${lines[16]}")
# export params
func_expect_key --save_inference_dir 19
save_infer_key=$(func_parser_key "${lines[19]}")
save_infer_dir=$(func_parser_value "${lines[19]}")
func_expect_key --check_path 20
export_weight_key=$(func_parser_key "${lines[20]}")
func_expect_key norm_export 21
norm_export=$(func_parser_value "${lines[21]}")
func_expect_key infer_model 23
infer_model=$(func_parser_value "${lines[23]}")
func_expect_key infer_export 24
infer_export=$(func_parser_value "${lines[24]}")
func_expect_key infer_quant 25
infer_quant=$(func_parser_value "${lines[25]}")
# inference params
func_expect_key inference 26
inference_py=$(func_parser_value "${lines[26]}")
func_expect_key --use-gpu 27
use_gpu_key=$(func_parser_key "${lines[27]}")
use_gpu_list=$(func_parser_value "${lines[27]}")
func_expect_key --enable_mkldnn 28
mkldnn_key=$(func_parser_key "${lines[28]}")
mkldnn_list=$(func_parser_value "${lines[28]}")
func_expect_key --cpu_threads 29
threads_key=$(func_parser_key "${lines[29]}")
threads_list=$(func_parser_value "${lines[29]}")
func_expect_key --batch_size 30
infer_batch_key=$(func_parser_key "${lines[30]}")
infer_batch_list=$(func_parser_value "${lines[30]}")
func_expect_key --save_inference_dir 31
infer_model_key=$(func_parser_key "${lines[31]}")
func_expect_key --data_path 32
infer_data_key=$(func_parser_key "${lines[32]}")
infer_data_value=$(func_parser_params "${lines[32]}" "${MODE}")
func_expect_key --benchmark 33
benchmark_key=$(func_parser_key "${lines[33]}")
benchmark_value=$(func_parser_value "${lines[33]}")

LOG_PATH="./log/${model_name}/${MODE}"
mkdir -p "${LOG_PATH}"
status_log="${LOG_PATH}/results_python.log"
rm -f "${status_log}"
failed=0

# Does this Paddle build see a GPU?
if "${python}" -c 'import sys, utils; sys.exit(0 if utils.gpu_available() else 1)' 2>/dev/null; then
    have_gpu=True
else
    have_gpu=False
fi

# Prepare the data of this mode (a stage too: without data nothing else can run).
if ! run_stage "prepare" "PYTHON=${python} bash test_tipc/prepare.sh ${FILENAME} ${MODE}"; then
    echo "prepare.sh failed; nothing else runs. See ${LOG_PATH}/prepare.log"
    exit 1
fi

# func_inference emotion model_dir data_path log_prefix
function func_inference() {
    local emotion=$1 model_dir=$2 data_path=$3 prefix=$4
    local use_gpu mkldnn threads batch_size common output_dir
    local IFS='|'
    if [[ ${infer_quant} == "True" ]]; then
        echo "infer_quant True: LMF has no quantized export; only the float model is run"
    fi
    common="$(func_set_params "${emotion_key}" "${emotion}") $(func_set_params "${infer_model_key}" "${model_dir}") $(func_set_params "${infer_data_key}" "${data_path}") $(func_set_params "${benchmark_key}" "${benchmark_value}")"
    for use_gpu in ${use_gpu_list}; do
        if [[ ${use_gpu} == "True" || ${use_gpu} == "gpu" ]]; then
            if [[ ${have_gpu} != "True" ]]; then
                echo "Skipped GPU inference of ${emotion}: this Paddle build has no usable GPU (the CPU runs cover inference)."
                continue
            fi
            for batch_size in ${infer_batch_list}; do
                output_dir="${LOG_PATH}/${out_folder}/${prefix}_gpu_batchsize_${batch_size}"
                run_stage "${prefix}_${emotion}_python_infer_gpu_batchsize_${batch_size}" \
                    "${python} ${inference_py} ${use_gpu_key}=True $(func_set_params "${infer_batch_key}" "${batch_size}") ${common} --output_dir=${output_dir}"
            done
        elif [[ ${use_gpu} == "False" || ${use_gpu} == "cpu" ]]; then
            for mkldnn in ${mkldnn_list}; do
                for threads in ${threads_list}; do
                    for batch_size in ${infer_batch_list}; do
                        output_dir="${LOG_PATH}/${out_folder}/${prefix}_cpu_usemkldnn_${mkldnn}_threads_${threads}_batchsize_${batch_size}"
                        run_stage "${prefix}_${emotion}_python_infer_cpu_usemkldnn_${mkldnn}_threads_${threads}_batchsize_${batch_size}" \
                            "${python} ${inference_py} ${use_gpu_key}=False $(func_set_params "${mkldnn_key}" "${mkldnn}") $(func_set_params "${threads_key}" "${threads}") $(func_set_params "${infer_batch_key}" "${batch_size}") ${common} --output_dir=${output_dir}"
                    done
                done
            done
        else
            echo "Unsupported ${use_gpu_key} value '${use_gpu}': use True or False"
            failed=1
        fi
    done
}

# The models of line 9: the emotions, or the dataset (its value also names the checkpoint: {emotion} in train_model_name).
IFS='|' read -r -a emotions <<< "${emotion_list}"
# infer.py's own default folders: class probabilities (IEMOCAP) or regression predictions (CMU-MOSI, POM)
out_folder=$([[ ${emotion_key} == "--dataset" && ${emotion_list} != "iemocap" ]] && echo out_pred || echo out_prob)

if [[ ${MODE} == "whole_infer" ]]; then
    GPUID=${3:-}
    if [[ -n ${GPUID} ]]; then
        export CUDA_VISIBLE_DEVICES=${GPUID}
    fi
    for emotion in "${emotions[@]}"; do
        if [[ ${infer_export} != "null" ]]; then
            export_cmd="${python} ${infer_export} $(func_set_params "${emotion_key}" "${emotion}") $(func_set_params "${export_weight_key}" "${infer_model}") $(func_set_params "${save_infer_key}" "${save_infer_dir}")"
            run_stage "infer_export_${emotion}" "${export_cmd}" || continue
        fi
        func_inference "${emotion}" "${save_infer_dir}" "${infer_data_value}" "norm_train"
    done
else
    IFS='|' read -r -a gpus <<< "${gpu_list}"
    IFS='|' read -r -a train_use_gpus <<< "${train_use_gpu_list}"
    IFS='|' read -r -a trainers <<< "${trainer_list}"
    done_devices=""
    for index in "${!gpus[@]}"; do
        gpu=${gpus[$index]}
        train_use_gpu=${train_use_gpus[$index]:-${train_use_gpus[0]}}
        if [[ ${gpu} == *,* ]]; then
            echo "Skipped gpu_list entry ${gpu}: train.py trains on one device; multi-GPU training is not supported."
            continue
        fi
        if [[ ${train_use_gpu} == "True" && ${gpu} != "-1" ]]; then
            if [[ ${have_gpu} == "True" ]]; then
                device=gpu
                device_name="gpus_${gpu}"
                export CUDA_VISIBLE_DEVICES=${gpu}
            else
                echo "gpu_list entry ${gpu}: this Paddle build has no usable GPU; training on CPU instead."
                device=cpu
                device_name=cpu
                unset CUDA_VISIBLE_DEVICES
            fi
        else
            device=cpu
            device_name=cpu
            unset CUDA_VISIBLE_DEVICES
        fi
        if [[ " ${done_devices} " == *" ${device_name} "* ]]; then
            echo "Skipped gpu_list entry ${gpu}: already trained on ${device_name}."
            continue
        fi
        done_devices="${done_devices} ${device_name}"

        for trainer in "${trainers[@]}"; do
            if [[ ${trainer} != "norm_train" ]]; then
                echo "Skipped trainer ${trainer}: only norm_train is supported."
                continue
            fi
            if [[ ${norm_train} == "null" ]]; then
                continue
            fi
            save_log="${save_model_value%/}/${MODE}/${trainer}_${device_name}"
            infer_dir="${save_log}/inference"
            for emotion in "${emotions[@]}"; do
                checkpoint="${save_log}/${train_model_name//\{emotion\}/${emotion}}"
                # Start clean, so that eval/export/inference can only see what this run trained.
                rm -rf "${checkpoint}" "${infer_dir:?}/${emotion}"
                train_cmd="${python} ${norm_train} $(func_set_params "${emotion_key}" "${emotion}") $(func_set_params "${save_model_key}" "${save_log}") $(func_set_params "${epoch_key}" "${epoch_value}") $(func_set_params "${train_batch_key}" "${train_batch_value}") $(func_set_params "${train_data_key}" "${train_data_value}") --log_dir=${save_log}/train_log --device=${device}"
                if ! run_stage "${trainer}_${device_name}_${emotion}_train" "${train_cmd}"; then
                    echo "Training ${emotion} failed: its eval, export and inference are skipped."
                    continue
                fi
                if [[ ${eval_py} != "null" ]]; then
                    eval_cmd="${python} ${eval_py} $(func_set_params "${emotion_key}" "${emotion}") $(func_set_params "${export_weight_key}" "${checkpoint}") $(func_set_params "${train_data_key}" "${train_data_value}") --device=${device}"
                    run_stage "${trainer}_${device_name}_${emotion}_eval" "${eval_cmd}"
                fi
                if [[ ${norm_export} != "null" ]]; then
                    export_cmd="${python} ${norm_export} $(func_set_params "${emotion_key}" "${emotion}") $(func_set_params "${export_weight_key}" "${checkpoint}") $(func_set_params "${save_infer_key}" "${infer_dir}") $(func_set_params "${train_data_key}" "${train_data_value}")"
                    run_stage "${trainer}_${device_name}_${emotion}_export" "${export_cmd}" || continue
                    func_inference "${emotion}" "${infer_dir}" "${infer_data_value}" "${trainer}_${device_name}"
                fi
            done
        done
    done
fi

report_results stages
echo "All stages succeeded."
exit 0
