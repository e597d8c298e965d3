"""Data-parallel training with paddle.distributed.launch on 2 CPU processes (gloo)."""
import os
import re
import sys

import numpy as np
import paddle

from conftest import REPO, run_script, tiny_data, write_pickle
import parallel
import utils

F1 = re.compile(r'F1-score on test set is ([0-9.]+)\nAccuracy score on test set is ([0-9.]+)\n')


def launch(tmp_path, *args):
    return run_script(sys.executable, '-m', 'paddle.distributed.launch', '--nproc_per_node', '2',
                      '--log_dir', str(tmp_path / 'launch'), '--max_restart', '0', *args)


def worker_logs(tmp_path):
    return {name: (tmp_path / 'launch' / name).read_text()
            for name in sorted(os.listdir(tmp_path / 'launch')) if name.startswith('workerlog')}


def test_shards_partition_every_global_batch():
    audio = paddle.arange(10, dtype='float32').reshape([5, 2])
    target = paddle.arange(5, dtype='int64')
    for world_size in (2, 3):
        for rows in (5, 2, 1):
            batch = (audio[:rows], audio[:rows], audio[:rows], target[:rows])
            seen = []
            for rank in range(world_size):
                (a, _, _, t), = parallel.shard_batches(iter([batch]), rank, world_size)
                real = t.numpy()[t.numpy() != parallel.IGNORE_INDEX]
                assert len(t.numpy()) == max(len(real), 1)  # a rank without a row gets one ignored row
                np.testing.assert_array_equal(a.numpy()[:len(real)], audio.numpy()[real])
                seen += real.tolist()
            assert sorted(seen) == list(range(rows))
    assert list(parallel.shard_batches(iter([1, 2]), 0, 1)) == [1, 2]  # one process: untouched


def test_gradient_is_the_global_batch_sum_on_every_rank(tmp_path):
    proc = launch(tmp_path, os.path.join(REPO, 'tests', 'parallel_grad_check.py'))
    logs = worker_logs(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + str(logs)
    for rank in (0, 1):
        assert 'parallel check OK on rank {}'.format(rank) in logs['workerlog.{}'.format(rank)]


def test_train_py_on_two_processes(tmp_path):
    data = write_pickle(tmp_path / 'tiny.pkl', tiny_data(emotions=('sad',), sizes=(49, 17, 23)))
    proc = launch(tmp_path, 'train.py', '--emotion', 'sad', '--data_path', data, '--epochs', '3',
                  '--text_hidden', '16', '--batch_size', '16', '--model_path', str(tmp_path / 'check'),
                  '--log_dir', str(tmp_path / 'log'))
    logs = worker_logs(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + str(logs)
    # rank 0 logs and writes; rank 1 trains silently
    assert os.listdir(tmp_path / 'log') == ['train_sad.txt'] and os.listdir(tmp_path / 'check') == ['sad.pdparams']
    assert 'Epoch 2 complete!' in logs['workerlog.0'] and 'Epoch' not in logs['workerlog.1']
    log = (tmp_path / 'log' / 'train_sad.txt').read_text()
    assert len(re.findall(r'Validation loss is: ', log)) == 3
    printed = F1.search(log).groups()

    # the checkpoint loads in test.py, which evaluates the whole test split: same scores
    test = run_script('test.py', '--emotion', 'sad', '--data_path', data, '--check_path', str(tmp_path / 'check'))
    assert test.returncode == 0, test.stderr
    assert F1.search(test.stdout).groups() == printed

    # and the recorded validation loss is that of the whole validation split (23 + 17 rows, none twice)
    model, _, _ = utils.model_from_checkpoint(str(tmp_path / 'check' / 'sad.pdparams'), 'sad')
    _, valid_set, test_set, _ = utils.load_data('iemocap', data, 'sad', verbose=False)
    best = float(re.search(r'Best validation loss is: (\S+)', log).group(1))
    assert abs(utils.evaluate(model, valid_set)['loss'] - best) < 1e-6
    result = utils.evaluate(model, test_set, metrics='iemocap')
    assert (result['f1'], result['accuracy']) == tuple(float(v) for v in printed)
