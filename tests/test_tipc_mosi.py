"""TIPC lite run of the CMU-MOSI config (test_tipc/configs/lmf/train_infer_python_mosi.txt), about 20 s.

Deselect with `-m "not tipc"`.
"""
import os
import re

import numpy as np
import pytest

from helpers import tipc_lite_chain
from lmf import engine

CONFIG = 'test_tipc/configs/lmf/train_infer_python_mosi.txt'


@pytest.mark.tipc
def test_tipc_mosi_lite_train_lite_infer(tmp_path):
    """The chain's prepare stage makes data/lite_mosi.pkl; then it trains, evaluates, exports and infers mosi."""
    repo, log_dir, predictions = tipc_lite_chain(tmp_path, CONFIG, 'lite_mosi.pkl', ['mosi'], dataset='mosi')
    assert not os.path.exists(str(repo / 'data' / 'lite_data.pkl'))  # the IEMOCAP file is not what this config uses
    train_set, valid_set, test_set, dims = engine.load_data('mosi', str(repo / 'data' / 'lite_mosi.pkl'),
                                                            verbose=False)
    assert (len(train_set), len(valid_set), len(test_set)) == (96, 32, 64)
    assert dims == (74, 47, 300) and train_set.labels.shape[1] == 1 and test_set.synthetic
    # the eval stage printed the CMU-MOSI metrics of the checkpoint it was given
    eval_log = (log_dir / 'norm_train_cpu_mosi_eval.log').read_text()
    assert 'Binary accuracy on test set is' in eval_log, eval_log
    eval_mae = float(re.search(r'^MAE on test set is (\S+)', eval_log, re.M).group(1))
    # Paddle Inference's predictions of the exported model, at both batch sizes, give test.py's MAE
    for predicted in predictions.values():
        assert predicted.shape == (64, 1)
        np.testing.assert_allclose(np.mean(np.abs(predicted[:, 0] - test_set.labels[:, 0])), eval_mae, rtol=1e-5)
