#!/usr/bin/env bash
# Helpers of the TIPC scripts: read "key:value" lines of a config, build "key=value"
# arguments, and record each stage's result.

# "key:value" -> key (everything before the first colon)
function func_parser_key() {
    local line=$1
    echo "${line%%:*}"
}

# "key:value" -> value (everything after the first colon; may hold further colons)
function func_parser_value() {
    local line=$1
    if [[ ${line} != *:* ]]; then
        echo ""
        return
    fi
    echo "${line#*:}"
}

# "key:mode1=v1|mode2=v2" and a mode -> the value for that mode ("null" when the mode
# is not listed); "key:value" without modes -> value.
function func_parser_params() {
    local value mode=$2 entry
    value=$(func_parser_value "$1")
    if [[ ${value} != *=* ]]; then
        echo "${value}"
        return
    fi
    local IFS='|'
    for entry in ${value}; do
        if [[ ${entry%%=*} == "${mode}" ]]; then
            echo "${entry#*=}"
            return
        fi
    done
    echo "null"
}

# key value -> "key=value", or nothing when the key or the value is null or empty
function func_set_params() {
    local key=$1 value=$2
    if [[ -z ${key} || ${key} == "null" || -z ${value// /} || ${value} == "null" ]]; then
        echo ""
    else
        echo "${key}=${value}"
    fi
}

# Checks that line $2 (0-based) of the config array "lines" has key $1; exits otherwise.
function func_expect_key() {
    local want=$1 index=$2 got
    got=$(func_parser_key "${lines[$index]}")
    if [[ ${got} != "${want}" ]]; then
        echo "error: ${FILENAME}: line $((index + 1)) should be '${want}:...', found '${lines[$index]}'" >&2
        exit 2
    fi
}

# exit_code command results_log -> appends "Run successfully|failed with command - ..." to the log
function status_check() {
    local last_status=$1 run_command=$2 run_log=$3
    run_command=$(echo "${run_command}" | tr -s ' ')
    if [[ ${last_status} -eq 0 ]]; then
        echo -e "\033[33m Run successfully with command - ${run_command}!  \033[0m"
        echo "Run successfully with command - ${run_command}!" >> "${run_log}"
    else
        echo -e "\033[33m Run failed with command - ${run_command}!  \033[0m"
        echo "Run failed with command - ${run_command}!" >> "${run_log}"
    fi
}

# run_stage name command: runs command with its output in ${LOG_PATH}/<name>.log (shown afterwards),
# records the result in ${status_log} and sets failed=1 when it fails. The calling script sets
# LOG_PATH, status_log and failed=0.
function run_stage() {
    local name=$1 command=$2 stage_log="${LOG_PATH}/$1.log" status
    echo "+ ${command}"
    eval "${command}" > "${stage_log}" 2>&1
    status=$?
    cat "${stage_log}"
    status_check ${status} "${command}" "${status_log}"
    [[ ${status} -eq 0 ]] || failed=1
    return ${status}
}

# report_results what: prints ${status_log}; exits 1 with "Some <what> FAILED." when anything failed.
function report_results() {
    echo
    echo "Results (${status_log}):"
    cat "${status_log}"
    if [[ ${failed} -ne 0 ]]; then
        echo "Some $1 FAILED."
        exit 1
    fi
}

# Check FILENAME and MODE of a script with one mode (test_paddle2onnx.sh, benchmark_train.sh): a missing config or
# another mode is one line and exit 2. Then read the config into the array `lines`.
# usage: func_open_one_mode_config SCRIPT_PATH THE_MODE
func_open_one_mode_config() {
    local script=$1 mode=$2
    if [[ -z ${FILENAME} ]]; then
        echo "usage: bash ${script} CONFIG [${mode}]" >&2
        exit 2
    fi
    if [[ ! -f ${FILENAME} ]]; then
        echo "error: config ${FILENAME} does not exist" >&2
        exit 2
    fi
    if [[ ${MODE} != "${mode}" ]]; then
        echo "error: unknown mode '${MODE}'; this script has one mode, ${mode}" >&2
        exit 2
    fi
    IFS=$'\n' read -r -d '' -a lines < <(tr -d '\r' < "${FILENAME}")
}
