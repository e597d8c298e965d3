"""TIPC lite run of the CMU-MOSEI config (test_tipc/configs/lmf/train_infer_python_mosei.txt: MMSA's feature-file
layout), about 20 s.

Deselect with `-m "not tipc"`.
"""
import glob
import json
import os
import re

import numpy as np
import pytest

from helpers import tipc_lite_chain
from lmf import engine, hparams, metrics

CONFIG = 'test_tipc/configs/lmf/train_infer_python_mosei.txt'


def mmsa_lines(log):
    """{MMSA metric: value} from the '<key> on test set is <value>' lines after the two full-precision ones."""
    return {key: float(re.search(r'^{} on test set is (\S+)$'.format(key), log, re.M).group(1))
            for key in metrics.MMSA_MOSI_KEYS if key not in ('MAE', 'Corr')}


@pytest.mark.tipc
def test_tipc_mosei_lite_train_lite_infer(tmp_path):
    """The chain's prepare stage makes data/lite_mosei.pkl in MMSA's layout; then it trains, evaluates, exports and
    infers the CMU-MOSEI model with the settings of hparams.py (the config sets only the lite epochs and batch)."""
    repo, log_dir, predictions = tipc_lite_chain(tmp_path, CONFIG, 'lite_mosei.pkl', ['mosei'], dataset='mosei')
    assert [os.path.basename(p) for p in glob.glob(str(repo / 'data' / '*.pkl'))] == ['lite_mosei.pkl']
    train_set, valid_set, test_set, dims = engine.load_data('mosei', str(repo / 'data' / 'lite_mosei.pkl'),
                                                            verbose=False)
    assert (len(train_set), len(valid_set), len(test_set)) == (96, 32, 64)
    assert train_set.layout == 'mmsa' and test_set.synthetic
    assert dims == (74, 35, 768) and train_set.labels.shape[1] == 1 and train_set.text.shape[1:] == (50, 768)

    # trained with MMSA's procedure and the published CMU-MOSEI settings of hparams.py, the lite epochs and batch
    train_log = (log_dir / 'norm_train_cpu' / 'train_log' / 'train_mosei.txt').read_text()
    published = hparams.published_hparams('mosei')
    assert "Training mosei (MMSA's feature file, recipe ours)" in train_log, train_log
    for name in ('audio_hidden', 'video_hidden', 'text_hidden', 'rank', 'learning_rate', 'factor_learning_rate',
                 'weight_decay', 'patience', 'seed'):
        assert ' {}={},'.format(name, published[name]) in train_log or \
            ' {}={}\n'.format(name, published[name]) in train_log, (name, train_log.splitlines()[0])
    assert ' epochs=3,' in train_log and ' batch_size=32,' in train_log
    assert re.findall(r'^Validation loss is: (\S+)$', train_log, re.M), train_log
    assert all(len(v.split('.')[1]) <= 4 for v in re.findall(r'^Validation loss is: (\S+)$', train_log, re.M))
    with open(str(log_dir / 'norm_train_cpu' / 'inference' / 'mosei' / 'inference_info.json')) as f:
        info = json.load(f)
    assert (info['dataset'], info['layout'], info['output']) == ('mosei', 'mmsa', 'scores')

    # the eval stage printed MMSA's metrics of the checkpoint it was given
    eval_log = (log_dir / 'norm_train_cpu_mosei_eval.log').read_text()
    eval_mae = float(re.search(r'^MAE on test set is (\S+)', eval_log, re.M).group(1))
    eval_mmsa = mmsa_lines(eval_log)
    assert '(These scores are on SYNTHETIC sample data, not CMU-MOSEI results.)' in eval_log
    # Paddle Inference's predictions of the exported model, at both batch sizes, give test.py's scores
    for (_, batch_size), predicted in predictions.items():
        assert predicted.shape == (64, 1)
        np.testing.assert_allclose(np.mean(np.abs(predicted[:, 0] - test_set.labels[:, 0])), eval_mae, rtol=1e-5)
        again = metrics.mmsa_mosi_metrics(test_set.labels, predicted.reshape(-1))
        assert {key: again[key] for key in eval_mmsa} == eval_mmsa, (batch_size, again, eval_mmsa)
        stage = 'norm_train_cpu_mosei_python_infer_cpu_usemkldnn_False_threads_1_batchsize_{}'.format(batch_size)
        infer_log = (log_dir / (stage + '.log')).read_text()
        assert mmsa_lines(infer_log) == eval_mmsa
