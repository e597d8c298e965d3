"""benchmark.py --quick (IEMOCAP and CMU-MOSI) and benchmarks/learning_parity.py --quick keep working: smoke runs,
not timing or learning tests."""
import json
import os
import re

import pytest

from helpers import run_script


def test_benchmark_quick_runs_every_section(tmp_path):
    out = tmp_path / 'report.md'
    proc = run_script('benchmark.py', '--quick', '--markdown', str(out))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = out.read_text()
    for section in ('train.py whole process', 'training step (steady state)', 'inference, 48 test samples', "LMF vs TFN, paper's setting",
                    'training samples/s vs rank'):
        assert section in report, report
    assert re.search(r'\| parameters \| LMF 237,157 / TFN 9,313,877 \| .*1/39\.3', report), report
    assert 'p50' in report and 'p99' in report and 'MB' in report
    if 'PyTorch mirror' in report:  # torch installed: the mirror must compute the same probabilities
        diff = float(re.search(r'PyTorch mirror vs Paddle Inference, max \|prob difference\| on 64 samples: ([0-9.e+-]+)',
                               report).group(1))
        assert diff < 1e-5
    assert_onnx_rows(report, 'prob')


def assert_onnx_rows(report, kind):
    """ONNX Runtime rows at batch 128 and 1 (with latency) and its agreement with Paddle Inference, or the note
    saying why they are missing."""
    import benchmark
    if not benchmark.have_onnx():
        assert 'ONNX Runtime rows left out' in report, report
        return
    assert re.search(r'\| ONNX Runtime, batch 128 \| [0-9]+ samples/s \|', report), report
    assert re.search(r'\| ONNX Runtime, batch 1 \| [0-9]+ samples/s \|.*\| p50 [0-9.]+ ms, p99 [0-9.]+ ms \|', report), report
    diff = float(re.search(r'ONNX Runtime vs Paddle Inference, max \|{} difference\| on 64 samples: ([0-9.e+-]+)'.format(
        kind), report).group(1))
    assert diff < 1e-5


def test_benchmark_regression_sections_quick(tmp_path):
    """--dataset mosi: train.py --dataset mosi against torch_train.py --dataset mosi, the mosi model's L1 step,
    and inference of its exported scores."""
    out = tmp_path / 'report.md'
    proc = run_script('benchmark.py', '--quick', '--dataset', 'mosi', '--sections', 'train,step,infer',
                      '--markdown', str(out))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = out.read_text()
    assert 'CMU-MOSI layout, 96/32/48 samples' in report, report
    assert '| train.py whole process | mosi, batch 32, 1 epochs |' in report, report
    assert '| training step (steady state) | mosi model, batch 32 |' in report, report
    assert '| inference, 48 test samples | Paddle Inference, batch 1 |' in report, report
    assert 'happy' not in report, report
    if 'PyTorch mirror' in report:  # the mirror computes the same (unsoftmaxed) scores
        diff = float(re.search(r'PyTorch mirror vs Paddle Inference, max \|output difference\| on 64 samples: '
                               r'([0-9.e+-]+)', report).group(1))
        assert diff < 1e-4
    assert_onnx_rows(report, 'output')


def test_learning_parity_result_lines_parse():
    """learning_parity reads the metric lines that metrics.show_results prints, for both datasets."""
    from benchmarks import learning_parity
    import metrics
    mosi = dict(mae=0.91, corr=0.668, mult_acc=0.328, binary_acc=0.764, f1=0.757, acc7=0.33,
                binary_acc_nonzero=0.77, f1_nonzero=0.76)
    lines = ['Epoch 0 complete! Average Training loss: 1.0']
    metrics.show_results('mosi', mosi, out=lines.append)
    assert learning_parity.parse_results('mosi', '\n'.join(lines)) == mosi
    pom = dict(mae=0.796, corr=0.396, acc=0.428, trait_mae=[0.5] * 16, trait_corr=[0.1] * 16, trait_acc=[0.4] * 16)
    lines = []
    metrics.show_results('pom', pom, out=lines.append)
    assert learning_parity.parse_results('pom', '\n'.join(lines)) == dict(mae=0.796, corr=0.396, acc=0.428)
    assert learning_parity.training_summary('Epoch 0 complete! x\nEpoch 1 complete! x\nBest validation loss is: 0.5\n') \
        == (2, 0.5)


def test_learning_parity_quick(tmp_path):
    """A smoke run of benchmarks/learning_parity.py: both frameworks train, test and report; the baseline is right."""
    pytest.importorskip('torch')
    import numpy as np
    from benchmarks import learning_parity
    from data import mosi
    out = tmp_path / 'parity.json'
    proc = run_script(os.path.join('benchmarks', 'learning_parity.py'), '--dataset', 'mosi', '--quick', '--seeds', '1',
                      '--data_seed', '7', '--json', str(out), '--workdir', str(tmp_path / 'work'))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '| MAE | ' in proc.stdout and 'train-mean baseline' in proc.stdout, proc.stdout
    result = json.loads(out.read_text())
    for name in ('paddle', 'torch'):
        (run,) = result[name]
        assert run['epochs'] == learning_parity.QUICK_EPOCHS, run
        for key in ('mae', 'corr', 'binary_acc', 'f1', 'acc7', 'best_valid'):
            assert np.isfinite(run[key]), (name, key, run)
    assert os.path.isfile(str(tmp_path / 'work' / 'paddle_seed_0' / 'mosi.pdparams'))
    assert os.path.isfile(str(tmp_path / 'work' / 'torch_seed_0' / 'torch_mosi.pt'))
    # the baseline, computed here from the generator itself
    data = mosi.make_sample_data(7, learning_parity.QUICK_SIZES)
    mean = data[b'train'][b'label'].astype(np.float64).mean(axis=0)
    expected = np.mean(np.abs(data[b'test'][b'label'].astype(np.float64) - mean))
    assert abs(result['baseline']['mae'] - expected) < 1e-6, (result['baseline'], expected)
