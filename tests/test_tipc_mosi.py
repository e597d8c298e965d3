"""TIPC lite run of the CMU-MOSI config (test_tipc/configs/lmf/train_infer_python_mosi.txt), about 30 s.

Deselect with `-m "not tipc"`.
"""
import glob
import os
import re
import subprocess

import numpy as np
import pytest

from helpers import repo_copy
import utils

CONFIG = 'test_tipc/configs/lmf/train_infer_python_mosi.txt'
MODE = 'lite_train_lite_infer'


@pytest.mark.tipc
def test_tipc_mosi_lite_train_lite_infer(tmp_path):
    """prepare.sh makes data/lite_mosi.pkl; the test script then trains, evaluates, exports and infers mosi."""
    repo, env = repo_copy(tmp_path)

    proc = subprocess.run(['bash', 'test_tipc/prepare.sh', CONFIG, MODE], cwd=str(repo), env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lite = str(repo / 'data' / 'lite_mosi.pkl')
    assert not os.path.exists(str(repo / 'data' / 'lite_data.pkl'))  # the IEMOCAP file is not what this config uses
    train_set, valid_set, test_set, dims = utils.load_data('mosi', lite, verbose=False)
    assert (len(train_set), len(valid_set), len(test_set)) == (96, 32, 64)
    assert dims == (74, 47, 300) and train_set.labels.shape[1] == 1 and test_set.synthetic

    proc = subprocess.run(['bash', 'test_tipc/test_train_inference_python.sh', CONFIG, MODE],
                          cwd=str(repo), env=env, capture_output=True, text=True, timeout=900)
    log_dir = repo / 'log' / 'lmf_mosi' / MODE
    log_path = log_dir / 'results_python.log'
    results = log_path.read_text().splitlines() if log_path.exists() else []
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    assert results and all(line.startswith('Run successfully with command - ') for line in results), results
    for stage in ('train.py', 'test.py', 'export_model.py', 'infer.py'):
        assert any(' {} '.format(stage) in line and '--dataset=mosi' in line for line in results), (stage, results)
    assert not any('--emotion' in line for line in results), results
    assert all('lite_mosi.pkl' in line for line in results if ' --data_path=' in line), results
    # prepare, train, eval, export, inference at batch sizes 1 and 32
    assert len(results) == 1 + 5, results
    for batch_size in (1, 32):
        assert any('infer.py' in line and '--batch_size={}'.format(batch_size) in line for line in results)
    assert os.path.isfile(str(log_dir / 'norm_train_cpu' / 'mosi.pdparams'))
    # the eval stage printed the CMU-MOSI metrics of the checkpoint it was given
    eval_log = (log_dir / 'norm_train_cpu_mosi_eval.log').read_text()
    assert 'Binary accuracy on test set is' in eval_log, eval_log
    eval_mae = float(re.search(r'^MAE on test set is (\S+)', eval_log, re.M).group(1))
    # Paddle Inference's predictions of the exported model, at both batch sizes, give test.py's MAE
    for batch_size in (1, 32):
        (saved,) = glob.glob(str(log_dir / 'out_pred' / '*_batchsize_{}'.format(batch_size) / 'mosi_pred.npy'))
        predictions = np.load(saved).reshape(-1)
        assert predictions.shape == (64,)
        np.testing.assert_allclose(np.mean(np.abs(predictions - test_set.labels[:, 0])), eval_mae, rtol=1e-5)
