#!/usr/bin/env bash
# TIPC paddle2onnx test of LMF (Linux, Python, CPU): export -> paddle2onnx -> ONNX Runtime inference.
#
#   bash test_tipc/test_paddle2onnx.sh test_tipc/configs/lmf/model_linux_gpu_normal_normal_paddle2onnx_python_linux_cpu.txt
#
# An optional second argument is the mode; only paddle2onnx_infer exists (the default).
# Stages, each logged as "Run successfully|failed with command - ..." to log/<model_name>/paddle2onnx/results_paddle2onnx.log
# (started afresh by each run), with its output in a .log file beside it:
#   1. prepare: `prepare.sh CONFIG paddle2onnx_infer` makes data/lite_data.pkl and, for every model of line 12 whose
#      --check_path (line 13) is missing, trains a LITE checkpoint on that SYNTHETIC file (line 14, lite_train). PaddleOCR's
#      prepare.sh downloads a trained inference model in this mode; LMF publishes none, so it trains one.
#   2. per model of line 12 (the four IEMOCAP emotions):
#      export   `export_model.py --emotion=E --check_path=<line 13> --save_inference_dir=<line 16> --data_path=<line 17>`
#               writes <line 16>/E/inference.json and inference.pdiparams (the Paddle model);
#      convert  `paddle2onnx --model_dir=<line 5> --model_filename ... --params_filename ... --save_file=<line 8>
#               --opset_version=17 --enable_onnx_checker=True --optimize_tool=None` (lines 4-11; the inference.onnx that
#               export_model.py also writes is deleted first, so that inference runs the converter's file);
#      infer    `infer.py --use_onnx=True --use-gpu=False --batch_size=B ...` for each batch size of line 21 (ONNX Runtime,
#               CPU), probabilities to log/<model_name>/paddle2onnx/out_prob/E_batchsize_B/.
#   A failed export skips that model's later stages; a failed conversion skips its inference.
# {emotion} in a value stands for the model's name. Exit code: 0 when every stage succeeded, 1 otherwise, 2 for a bad
# config or mode.
set -uo pipefail
cd "$(dirname "$0")/.."
source test_tipc/common_func.sh

FILENAME=${1:-}
MODE=${2:-paddle2onnx_infer}
func_open_one_mode_config test_tipc/test_paddle2onnx.sh paddle2onnx_infer
if [[ ${#lines[@]} -lt 22 ]]; then
    echo "error: ${FILENAME} has ${#lines[@]} lines; the layout of" \
         "test_tipc/configs/lmf/model_linux_gpu_normal_normal_paddle2onnx_python_linux_cpu.txt has 22" >&2
    exit 2
fi

func_expect_key model_name 1
model_name=$(func_parser_value "${lines[1]}")
func_expect_key python 2
python=$(func_parser_value "${lines[2]}")
# paddle2onnx has no wheel for Python 3.13 and newer: the chain has nothing to run there.
if ! "${python}" -c 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("paddle2onnx") and importlib.util.find_spec("onnxruntime") else 1)'; then
    echo "paddle2onnx chain skipped: paddle2onnx or onnxruntime is not installed (pip install -r requirements-onnx.txt;" \
         "paddle2onnx has wheels for Python 3.12 and older only)"
    exit 0
fi
# converter (PaddleOCR/PaddleClas layout: lines 3-9, plus --optimize_tool of paddle2onnx 1.x/2.x)
func_expect_key 2onnx 3
paddle2onnx_cmd=$(func_parser_value "${lines[3]}")
paddle2onnx_cmd=${paddle2onnx_cmd#"${paddle2onnx_cmd%%[![:space:]]*}"}  # "2onnx: paddle2onnx", as PaddleOCR writes it
func_expect_key --model_dir 4
model_dir_key=$(func_parser_key "${lines[4]}")
model_dir_value=$(func_parser_value "${lines[4]}")
func_expect_key --model_filename 5
model_filename_key=$(func_parser_key "${lines[5]}")
model_filename_value=$(func_parser_value "${lines[5]}")
func_expect_key --params_filename 6
params_filename_key=$(func_parser_key "${lines[6]}")
params_filename_value=$(func_parser_value "${lines[6]}")
func_expect_key --save_file 7
save_file_key=$(func_parser_key "${lines[7]}")
save_file_value=$(func_parser_value "${lines[7]}")
func_expect_key --opset_version 8
opset_version_key=$(func_parser_key "${lines[8]}")
opset_version_value=$(func_parser_value "${lines[8]}")
func_expect_key --enable_onnx_checker 9
onnx_checker_key=$(func_parser_key "${lines[9]}")
onnx_checker_value=$(func_parser_value "${lines[9]}")
func_expect_key --optimize_tool 10
optimize_tool_key=$(func_parser_key "${lines[10]}")
optimize_tool_value=$(func_parser_value "${lines[10]}")
# models and export
emotion_key=$(func_parser_key "${lines[11]}")
if [[ ${emotion_key} != "--emotion" && ${emotion_key} != "--dataset" ]]; then
    echo "error: ${FILENAME}: line 12 should be '--emotion:...' or '--dataset:...', found '${lines[11]}'" >&2
    exit 2
fi
emotion_list=$(func_parser_value "${lines[11]}")
func_expect_key --check_path 12
check_key=$(func_parser_key "${lines[12]}")
check_value=$(func_parser_value "${lines[12]}")
func_expect_key lite_train 13
func_expect_key infer_export 14
export_py=$(func_parser_value "${lines[14]}")
func_expect_key --save_inference_dir 15
save_infer_key=$(func_parser_key "${lines[15]}")
save_infer_value=$(func_parser_value "${lines[15]}")
func_expect_key --data_path 16
data_key=$(func_parser_key "${lines[16]}")
data_value=$(func_parser_value "${lines[16]}")
# ONNX Runtime inference
func_expect_key inference 17
inference_py=$(func_parser_value "${lines[17]}")
func_expect_key --use_onnx 18
use_onnx_key=$(func_parser_key "${lines[18]}")
use_onnx_value=$(func_parser_value "${lines[18]}")
func_expect_key --use-gpu 19
use_gpu_key=$(func_parser_key "${lines[19]}")
use_gpu_value=$(func_parser_value "${lines[19]}")
func_expect_key --batch_size 20
batch_key=$(func_parser_key "${lines[20]}")
batch_list=$(func_parser_value "${lines[20]}")
func_expect_key --benchmark 21
benchmark_key=$(func_parser_key "${lines[21]}")
benchmark_value=$(func_parser_value "${lines[21]}")
if [[ ${use_gpu_value} != "False" && ${use_gpu_value} != "cpu" ]]; then
    echo "error: ${FILENAME}: line 20 must be --use-gpu:False (this test runs ONNX Runtime's CPU provider)" >&2
    exit 2
fi

LOG_PATH="./log/${model_name}/paddle2onnx"
mkdir -p "${LOG_PATH}"
status_log="${LOG_PATH}/results_paddle2onnx.log"
rm -f "${status_log}"
failed=0

# {emotion} -> the model's name
function for_model() {
    echo "${1//\{emotion\}/$2}"
}

if ! run_stage "prepare" "PYTHON=${python} bash test_tipc/prepare.sh ${FILENAME} ${MODE}"; then
    echo "prepare.sh failed; nothing else runs. See ${LOG_PATH}/prepare.log"
    exit 1
fi

IFS='|' read -r -a emotions <<< "${emotion_list}"
IFS='|' read -r -a batch_sizes <<< "${batch_list}"
for emotion in "${emotions[@]}"; do
    task=$(func_set_params "${emotion_key}" "${emotion}")
    # 1. export: the Paddle inference model
    export_cmd="${python} ${export_py} ${task} $(func_set_params "${check_key}" "$(for_model "${check_value}" "${emotion}")") $(func_set_params "${save_infer_key}" "${save_infer_value}") $(func_set_params "${data_key}" "${data_value}")"
    if ! run_stage "export_${emotion}" "${export_cmd}"; then
        echo "Export of ${emotion} failed: its conversion and inference are skipped."
        continue
    fi
    # 2. paddle2onnx
    save_file=$(for_model "${save_file_value}" "${emotion}")
    rm -f "${save_file}"
    trans_cmd="${paddle2onnx_cmd} $(func_set_params "${model_dir_key}" "$(for_model "${model_dir_value}" "${emotion}")") $(func_set_params "${model_filename_key}" "${model_filename_value}") $(func_set_params "${params_filename_key}" "${params_filename_value}") $(func_set_params "${save_file_key}" "${save_file}") $(func_set_params "${opset_version_key}" "${opset_version_value}") $(func_set_params "${onnx_checker_key}" "${onnx_checker_value}") $(func_set_params "${optimize_tool_key}" "${optimize_tool_value}")"
    if ! run_stage "paddle2onnx_${emotion}" "${trans_cmd}"; then
        echo "Conversion of ${emotion} failed: its inference is skipped."
        continue
    fi
    # 3. ONNX Runtime inference per batch size
    for batch_size in "${batch_sizes[@]}"; do
        infer_cmd="${python} ${inference_py} $(func_set_params "${use_onnx_key}" "${use_onnx_value}") $(func_set_params "${use_gpu_key}" "${use_gpu_value}") $(func_set_params "${batch_key}" "${batch_size}") ${task} $(func_set_params "${save_infer_key}" "${save_infer_value}") $(func_set_params "${data_key}" "${data_value}") $(func_set_params "${benchmark_key}" "${benchmark_value}") --output_dir=${LOG_PATH}/out_prob/${emotion}_batchsize_${batch_size}"
        run_stage "paddle2onnx_infer_${emotion}_cpu_batchsize_${batch_size}" "${infer_cmd}"
    done
done

report_results stages
echo "All stages succeeded."
exit 0
