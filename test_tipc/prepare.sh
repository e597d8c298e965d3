#!/usr/bin/env bash
# Prepare the data (and check the checkpoints) that a TIPC mode needs.
#
#   bash test_tipc/prepare.sh test_tipc/configs/lmf/train_infer_python.txt lite_train_lite_infer
#   bash test_tipc/prepare.sh lite_train_lite_infer            # the config argument is optional
#
# lite_train_lite_infer   data/lite_data.pkl: SYNTHETIC, 96/32/64 train/valid/test samples per emotion
# lite_train_whole_infer  data/lite_data.pkl for training, data/sample_data.pkl (SYNTHETIC, 800/200/250) for inference
# whole_train_whole_infer data/iemocap.pkl, the real dataset: it cannot be generated; exits 1 when missing
# whole_infer             check/<emotion>.pdparams of all four emotions (bash train.sh), and
#                         data/iemocap.pkl or else data/sample_data.pkl
# paddle2onnx_infer       (config model_linux_gpu_normal_normal_paddle2onnx_python_linux_cpu.txt) the checkpoints
#                         that test_paddle2onnx.sh exports: its --check_path (line 13, e.g.
#                         ./log/lmf/paddle2onnx/lite_check/{emotion}.pdparams) for every model of line 12. Missing
#                         ones are trained here as LITE checkpoints (SYNTHETIC data/lite_data.pkl, 3 epochs, batch 32)
#                         with line 14's lite_train script; with lite_train:null a missing checkpoint is an error
#                         (point --check_path at real ones, e.g. ./check/{emotion}.pdparams from bash train.sh).
#                         Also makes the data of line 17 (--data_path) when it is the lite or the sample file.
# When the config's line 9 is --dataset:mosi (or --dataset:pom), the same for that dataset: data/lite_mosi.pkl
# (SYNTHETIC, 96/32/64), data/mosi_sample.pkl (SYNTHETIC, 1284/229/686), data/mosi.pkl (real), check/mosi.pdparams.
# --dataset:mosei (or sims, simsv2; MMSA's feature files): data/lite_mosei.pkl (SYNTHETIC, MMSA's layout, 96/32/64),
# data/mosei_sample.pkl (SYNTHETIC, 500/120/250), MMSA's data/MOSEI/Processed/unaligned_50.pkl (real), check/mosei.pdparams.
# The sample and real paths are the dataset reader's (data/), the one list of them.
# Run from the repository root (the script changes to it). Uses $PYTHON, else python.
set -uo pipefail
cd "$(dirname "$0")/.."

if [[ $# -ge 2 ]]; then
    MODE=$2
elif [[ $# -eq 1 ]]; then
    MODE=$1
else
    echo "usage: bash test_tipc/prepare.sh [CONFIG] MODE" >&2
    exit 2
fi
PYTHON=${PYTHON:-python}

# The dataset: IEMOCAP unless the config's line 9 is --dataset:<name>.
DATASET=iemocap
if [[ $# -ge 2 ]]; then
    if [[ ! -f $1 ]]; then
        echo "error: config $1 does not exist" >&2
        exit 2
    fi
    # the model line: 9 in train_infer_python.txt, 12 in the paddle2onnx config
    task_line=$(sed -n "$([[ ${MODE} == paddle2onnx_infer ]] && echo 12 || echo 9)p" "$1" | tr -d '\r')
    if [[ ${task_line} == --dataset:* ]]; then
        DATASET=${task_line#--dataset:}
        known=$("${PYTHON}" -c "from lmf import hparams; print(' '.join(hparams.DATASETS))") || exit 1
        if [[ " ${known} " != *" ${DATASET} "* ]]; then
            echo "error: $1: line 9 '${task_line}' should name one dataset: ${known// /, }" >&2
            exit 2
        fi
    fi
fi
# The reader's real file, synthetic sample and the dataset's name (one line each)
{ read -r REAL_DATA; read -r SAMPLE_DATA; read -r DATASET_NAME; read -r MMSA; } < <("${PYTHON}" -c \
    "import sys; from lmf import engine, hparams; r = engine.data_module(sys.argv[1]); print(r.REAL_PATH); \
print(r.SAMPLE_PATH); print(r.NAME); print(sys.argv[1] in hparams.MMSA_ONLY)" "${DATASET}")
if [[ -z ${MMSA:-} ]]; then
    echo "error: cannot read the ${DATASET} reader's file names (data/)" >&2
    exit 1
fi
if [[ ${DATASET} == iemocap ]]; then
    LITE_DATA=data/lite_data.pkl
else
    LITE_DATA=data/lite_${DATASET}.pkl
fi

function make_lite() {
    if [[ ! -f ${LITE_DATA} ]]; then
        "${PYTHON}" data/make_sample_data.py --dataset "${DATASET}" --out "${LITE_DATA}" --train 96 --valid 32 --test 64 || exit 1
    fi
}

function make_sample() {
    if [[ ! -f ${SAMPLE_DATA} ]]; then
        "${PYTHON}" data/make_sample_data.py --dataset "${DATASET}" --out "${SAMPLE_DATA}" || exit 1
    fi
}

function need_real_data() {
    if [[ ! -f ${REAL_DATA} && ${MMSA} == True ]]; then
        cat >&2 <<EOF
error: ${MODE} needs MMSA's ${DATASET_NAME} feature file at ${REAL_DATA}, which is missing.
  It cannot be generated. Download it from the links in MMSA's README (https://github.com/thuiar/MMSA, "Datasets")
  and save it as ${REAL_DATA} (docs/datasets.md).
  Without it, run the lite modes on synthetic data: lite_train_lite_infer or lite_train_whole_infer.
EOF
        exit 1
    fi
    if [[ ! -f ${REAL_DATA} && ${DATASET} != iemocap ]]; then
        cat >&2 <<EOF
error: ${MODE} needs the real ${DATASET_NAME} features at ${REAL_DATA}, which is missing.
  It cannot be generated. Download the authors' processed ${DATASET}.pkl (see
  https://github.com/Justin1904/Low-rank-Multimodal-Fusion) and save it as ${REAL_DATA}.
  Without it, run the lite modes on synthetic data: lite_train_lite_infer or lite_train_whole_infer.
EOF
        exit 1
    fi
    if [[ ! -f ${REAL_DATA} ]]; then
        cat >&2 <<EOF
error: ${MODE} needs the real IEMOCAP features at ${REAL_DATA}, which is missing.
  It cannot be generated. Download the CMU-MultimodalSDK IEMOCAP pickle from the seed port's link
  (https://pan.baidu.com/s/1rg9Pgol9MG3EZyDlmHa6bA, code ag52) or the authors' processed-data link
  (https://github.com/Justin1904/Low-rank-Multimodal-Fusion), and save it as ${REAL_DATA} (docs/datasets.md, "IEMOCAP").
  Without it, run the lite modes on synthetic data: lite_train_lite_infer or lite_train_whole_infer.
EOF
        exit 1
    fi
}

case ${MODE} in
    lite_train_lite_infer)
        make_lite
        ;;
    lite_train_whole_infer)
        make_lite
        make_sample
        ;;
    whole_train_whole_infer)
        need_real_data
        ;;
    whole_infer)
        missing=""
        for emotion in $("${PYTHON}" -c "from lmf import hparams; print(' '.join(hparams.model_names('${DATASET}')))"); do
            [[ -f check/${emotion}.pdparams || -f check/${emotion}.pkl ]] || missing="${missing} check/${emotion}.pdparams"
        done
        if [[ -n ${missing} ]]; then
            echo "error: whole_infer exports and runs trained checkpoints, but these are missing:${missing}" >&2
            if [[ ${DATASET} == iemocap ]]; then
                echo "  Train them first: bash train.sh (or copy the earlier port's check/*.pkl files into check/)." >&2
            else
                echo "  Train it first: DATASET=${DATASET} bash train.sh (or python train.py --dataset ${DATASET})." >&2
            fi
            exit 1
        fi
        [[ -f ${REAL_DATA} ]] || make_sample
        ;;
    paddle2onnx_infer)
        if [[ $# -lt 2 ]]; then
            echo "error: paddle2onnx_infer needs the config: bash test_tipc/prepare.sh CONFIG paddle2onnx_infer" >&2
            exit 2
        fi
        IFS=$'\n' read -r -d '' -a p2o_lines < <(tr -d '\r' < "$1")
        for check in "12 --emotion --dataset" "13 --check_path" "14 lite_train" "17 --data_path"; do
            read -r number key alt <<< "${check}"
            found=${p2o_lines[$((number - 1))]%%:*}
            if [[ ${found} != "${key}" && ${found} != "${alt:-${key}}" ]]; then
                echo "error: $1: line ${number} should be '${key}:...', found '${p2o_lines[$((number - 1))]}'" >&2
                exit 2
            fi
        done
        p2o_models=${p2o_lines[11]#*:}
        p2o_check=${p2o_lines[12]#*:}
        p2o_train=${p2o_lines[13]#*:}
        p2o_data=${p2o_lines[16]#*:}
        [[ ${p2o_data#./} == "${LITE_DATA}" ]] && make_lite
        [[ ${p2o_data#./} == "${SAMPLE_DATA}" ]] && make_sample
        IFS='|' read -r -a p2o_names <<< "${p2o_models}"
        for name in "${p2o_names[@]}"; do
            checkpoint=${p2o_check//\{emotion\}/${name}}
            [[ -f ${checkpoint} ]] && continue
            if [[ ${p2o_train} == null || -z ${p2o_train} ]]; then
                echo "error: the checkpoint ${checkpoint} is missing and the config's lite_train is null;" \
                     "train it (bash train.sh) or set line 14 to lite_train:train.py" >&2
                exit 1
            fi
            if [[ $(basename "${checkpoint}") != "${name}.pdparams" ]]; then
                echo "error: cannot train ${checkpoint}: ${p2o_train} writes <folder>/${name}.pdparams;" \
                     "make line 13 end in {emotion}.pdparams" >&2
                exit 2
            fi
            make_lite
            task_flag=$([[ ${DATASET} == iemocap ]] && echo "--emotion=${name}" || echo "--dataset=${name}")
            echo "${checkpoint} is missing: training a LITE checkpoint on SYNTHETIC ${LITE_DATA} (3 epochs, batch 32)"
            "${PYTHON}" "${p2o_train}" ${task_flag} --data_path="${LITE_DATA}" --epochs=3 --batch_size=32 \
                --model_path="$(dirname "${checkpoint}")" --log_dir="$(dirname "${checkpoint}")/train_log" \
                --device=cpu || exit 1
        done
        ;;
    *)
        echo "error: unknown mode '${MODE}'; use lite_train_lite_infer, lite_train_whole_infer," \
             "whole_train_whole_infer, whole_infer or paddle2onnx_infer" >&2
        exit 2
        ;;
esac
echo "prepare.sh ${MODE}: data ready"
