"""TIPC paddle2onnx (test_tipc/test_paddle2onnx.sh) and training benchmark (test_tipc/benchmark_train.sh) runs in a
copy of the repository, about 20 s together.

Deselect with `-m "not tipc"`.
"""
import glob
import re
import subprocess

import numpy as np
import pytest

from helpers import ONNX_MISSING, repo_copy

P2O_CONFIG = 'test_tipc/configs/lmf/model_linux_gpu_normal_normal_paddle2onnx_python_linux_cpu.txt'
TRAIN_CONFIG = 'test_tipc/configs/lmf/train_infer_python.txt'


@pytest.mark.tipc
def test_tipc_paddle2onnx(tmp_path):
    """prepare.sh trains a lite checkpoint; export, paddle2onnx and infer.py --use_onnx True all succeed.

    The shipped config runs the four emotions; here its model line keeps happy only (the script loops over the
    emotions alike), which keeps the test near 10 s."""
    repo, env = repo_copy(tmp_path)
    config = repo / P2O_CONFIG
    lines = config.read_text().splitlines()
    assert lines[11] == '--emotion:happy|sad|angry|neutral', lines[11]
    lines[11] = '--emotion:happy'
    config.write_text('\n'.join(lines) + '\n')

    proc = subprocess.run(['bash', 'test_tipc/test_paddle2onnx.sh', P2O_CONFIG], cwd=str(repo), env=env,
                          capture_output=True, text=True, timeout=600)
    log_dir = repo / 'log' / 'lmf' / 'paddle2onnx'
    log_path = log_dir / 'results_paddle2onnx.log'
    results = log_path.read_text().splitlines() if log_path.exists() else []
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    if ONNX_MISSING:  # the chain says it is skipped, and why
        assert proc.stdout.startswith('paddle2onnx chain skipped: paddle2onnx or onnxruntime is not installed')
        pytest.skip('the paddle2onnx chain has nothing to run: ' + proc.stdout.strip())
    assert results and all(line.startswith('Run successfully with command - ') for line in results), results
    # prepare, export, paddle2onnx, inference at batch sizes 1 and 32
    assert len(results) == 5, results
    assert 'prepare.sh {} paddle2onnx_infer'.format(P2O_CONFIG) in results[0], results[0]
    assert ' export_model.py --emotion=happy --check_path=./log/lmf/paddle2onnx/lite_check/happy.pdparams' in results[1]
    converter = results[2]
    assert converter.startswith('Run successfully with command - paddle2onnx --model_dir='), converter
    for flag in ('--model_dir=./log/lmf/paddle2onnx/inference/happy/', '--model_filename=inference.json',
                 '--params_filename=inference.pdiparams',
                 '--save_file=./log/lmf/paddle2onnx/inference/happy/inference.onnx', '--opset_version=17',
                 '--enable_onnx_checker=True', '--optimize_tool=None'):
        assert flag in converter, (flag, converter)
    for line, batch_size in zip(results[3:], (1, 32)):
        assert ' infer.py --use_onnx=True --use-gpu=False --batch_size={} --emotion=happy'.format(batch_size) in line
    # the lite checkpoint prepare.sh trained, and the converter's file (the script deleted export_model.py's first)
    assert (log_dir / 'lite_check' / 'happy.pdparams').is_file()
    assert 'ONNX model saved in ./log/lmf/paddle2onnx/inference/happy/inference.onnx' in \
        (log_dir / 'paddle2onnx_happy.log').read_text()
    # ONNX Runtime's probabilities of the 64 lite test samples: distributions, the same at both batch sizes
    probs = {}
    for batch_size in (1, 32):
        (path,) = glob.glob(str(log_dir / 'out_prob' / 'happy_batchsize_{}'.format(batch_size) / 'happy_prob.npy'))
        probs[batch_size] = np.load(path)
        assert probs[batch_size].shape == (64, 2)
        np.testing.assert_allclose(probs[batch_size].sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(probs[1], probs[32], rtol=0, atol=1e-5)


@pytest.mark.tipc
def test_benchmark_train(tmp_path):
    """benchmark_train.sh trains happy once per batch size of the config's train_benchmark_params and prints the
    ips line; a config without that section is refused."""
    repo, env = repo_copy(tmp_path)
    proc = subprocess.run(['bash', 'test_tipc/benchmark_train.sh', TRAIN_CONFIG], cwd=str(repo), env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    pattern = (r'^model_name: lmf_happy_bs{}_fp32, batch_size: {}, epochs: 1, train_samples: 96, '
               r'train_time: ([0-9.]+) s, ips: ([0-9.]+) samples/s$')
    speed_log = (repo / 'log' / 'lmf' / 'benchmark_train' / 'benchmark_train.log').read_text()
    for batch_size in (32, 128):
        for text in (proc.stdout, speed_log):
            match = re.search(pattern.format(batch_size, batch_size), text, re.M)
            assert match, text
            train_time, ips = float(match.group(1)), float(match.group(2))
            # train_time is printed to 1 ms: ips is 96 samples over a time within half of that of it
            low, high = 96 / (train_time + 0.0005) - 0.1, 96 / max(train_time - 0.0005, 1e-9) + 0.1
            assert train_time > 0 and low <= ips <= high, match.group(0)
        assert re.search(r'^epoch: 0, batch_size: {}, loss: [0-9.]+, ips: [0-9.]+ samples/s$'.format(batch_size),
                         speed_log, re.M), speed_log
    results = (repo / 'log' / 'lmf' / 'benchmark_train' / 'results_benchmark_train.log').read_text().splitlines()
    assert len(results) == 3 and all(line.startswith('Run successfully') for line in results), results
    assert all('--epochs=1 --patience=1' in line for line in results[1:]), results

    # the same config without its train_benchmark_params section
    config = repo / TRAIN_CONFIG
    lines = config.read_text().splitlines()
    config.write_text('\n'.join(lines[:34]) + '\n')
    proc = subprocess.run(['bash', 'test_tipc/benchmark_train.sh', TRAIN_CONFIG], cwd=str(repo), env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and 'no ===...train_benchmark_params' in proc.stderr, proc.stdout + proc.stderr
