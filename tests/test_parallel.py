"""Data-parallel training with paddle.distributed.launch on 2 CPU processes (gloo)."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import paddle

from helpers import REPO, iemocap_data, mmsa_data, run_main, run_script, write_pickle
from lmf import parallel
from lmf import engine
from lmf import checkpoints
from lmf import records

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


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_train_py_on_two_nodes_and_on_one_node_with_two_processes(tmp_path):
    """Two launchers on this machine as two nodes (--nnodes 2, one process each, loopback master), and the
    documented one-node run with two processes: rank 0 alone logs and writes the checkpoint, test.py on it prints the
    log's scores, the recorded validation loss is the whole validation split's, and both runs train the same model.

    --cpu_threads 1 in both runs: by default the threads per process depend on the processes per
    node (utils.default_cpu_threads reads PADDLE_LOCAL_SIZE: 1 here, 2 in the one-node run), which
    changes the last digits of the sums.
    """
    data = write_pickle(tmp_path / 'tiny.pkl', iemocap_data(emotions=('sad',), sizes=(49, 17, 23)))
    train_args = ['train.py', '--emotion', 'sad', '--data_path', data, '--epochs', '3', '--text_hidden', '16',
                  '--batch_size', '16', '--cpu_threads', '1']
    master = '127.0.0.1:{}'.format(free_port())
    nodes = []
    try:
        for rank in (0, 1):
            cmd = [sys.executable, '-m', 'paddle.distributed.launch', '--nnodes', '2', '--rank', str(rank),
                   '--master', master, '--nproc_per_node', '1', '--max_restart', '0',
                   '--log_dir', str(tmp_path / 'launch_{}'.format(rank))] + train_args + [
                   '--model_path', str(tmp_path / 'check_{}'.format(rank)),
                   '--log_dir', str(tmp_path / 'log_{}'.format(rank))]
            nodes.append(subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          text=True, start_new_session=True))
        deadline = time.monotonic() + 150
        outputs = [node.communicate(timeout=max(1, deadline - time.monotonic()))[0] for node in nodes]
    finally:
        for node in nodes:  # on a timeout or an error: the launcher and its worker, nothing else
            if node.poll() is None:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait()
    workers = [path.read_text() if path.exists() else '' for path in
               (tmp_path / 'launch_{}'.format(rank) / 'workerlog.0' for rank in (0, 1))]
    assert [node.returncode for node in nodes] == [0, 0], '\n'.join(o[-2000:] for o in outputs + workers)
    for rank in (0, 1):  # each launcher ran one process of a 2-process job, as that job's rank
        env = dict(line.split('=', 1) for line in
                   (tmp_path / 'launch_{}'.format(rank) / 'envlog.0').read_text().splitlines() if '=' in line)
        assert (env['PADDLE_TRAINER_ID'], env['PADDLE_TRAINERS_NUM'], env['PADDLE_LOCAL_SIZE'],
                env['PADDLE_NNODES']) == (str(rank), '2', '1', '2'), env

    # rank 0 logs and writes the checkpoint; rank 1 trains and writes nothing
    assert sorted(os.listdir(tmp_path / 'log_0')) == ['train_sad.json', 'train_sad.txt']
    assert records.read(str(tmp_path / 'log_0' / 'train_sad.json'))['machine']['processes'] == 2
    assert os.listdir(tmp_path / 'check_0') == ['sad.pdparams']
    assert not (tmp_path / 'log_1').exists() and not (tmp_path / 'check_1').exists()
    assert 'Epoch 2 complete!' in workers[0] and 'Epoch' not in workers[1]
    # test.py evaluates rank 0's checkpoint and prints the scores of the training log (3 validations)
    log = (tmp_path / 'log_0' / 'train_sad.txt').read_text()
    assert len(re.findall(r'Validation loss is: ', log)) == 3
    printed = F1.search(log).groups()
    test = run_main('test', ['--emotion', 'sad', '--data_path', data, '--check_path', tmp_path / 'check_0'])
    assert F1.search(test).groups() == printed
    # the recorded validation loss is that of the whole validation split (23 + 17 rows, none twice)
    model, _, _ = checkpoints.model_from_checkpoint(str(tmp_path / 'check_0' / 'sad.pdparams'), 'sad')
    _, valid_set, test_set, _ = engine.load_data('iemocap', data, 'sad', verbose=False)
    best = float(re.search(r'Best validation loss is: (\S+)', log).group(1))
    assert abs(engine.evaluate(model, valid_set)['loss'] - best) < 1e-6
    result = engine.evaluate(model, test_set, metrics_for='iemocap')
    assert (result['f1'], result['accuracy']) == tuple(float(v) for v in printed)

    # the documented one-node run with two processes, same seed and data: the same model; its rank 1 is silent too
    one_node = launch(tmp_path, *train_args, '--model_path', str(tmp_path / 'check_one'),
                      '--log_dir', str(tmp_path / 'log_one'))
    logs = worker_logs(tmp_path)
    assert one_node.returncode == 0, one_node.stdout[-3000:] + str(logs)
    assert 'Epoch 2 complete!' in logs['workerlog.0'] and 'Epoch' not in logs['workerlog.1']
    assert sorted(os.listdir(tmp_path / 'log_one')) == ['train_sad.json', 'train_sad.txt']
    assert os.listdir(tmp_path / 'check_one') == ['sad.pdparams']
    reference = (tmp_path / 'log_one' / 'train_sad.txt').read_text()
    best_one = float(re.search(r'Best validation loss is: (\S+)', reference).group(1))
    assert abs(best - best_one) <= 1e-5 * abs(best_one), (best, best_one)
    assert F1.search(reference).groups() == printed
    two_nodes = paddle.load(str(tmp_path / 'check_0' / 'sad.pdparams'))['state_dict']
    one_node_state = paddle.load(str(tmp_path / 'check_one' / 'sad.pdparams'))['state_dict']
    assert sorted(two_nodes) == sorted(one_node_state)
    for name, value in two_nodes.items():
        np.testing.assert_allclose(value.numpy(), one_node_state[name].numpy(), rtol=1e-5, atol=1e-5, err_msg=name)


def test_mmsa_recipe_on_two_processes(tmp_path):
    """MMSA's procedure under paddle.distributed.launch, with random missing in training (--train_missing, drawn
    on the global batch before it is sharded): --recipe mmsa leaves the fusion weights untrained on every
    rank (so they are the one-process run's initial values to the bit), rank 0 alone validates (MMSA's 4 decimals)
    and logs, and test.py on the checkpoint prints the MMSA metrics the training log printed."""
    data = write_pickle(tmp_path / 'sims.pkl', mmsa_data('sims', sizes=(45, 19, 13), steps=(6, 5, 7)), protocol=4)
    args = ['train.py', '--dataset', 'sims', '--data_path', data, '--recipe', 'mmsa', '--epochs', '3',
            '--text_hidden', '16', '--video_hidden', '16', '--audio_hidden', '8', '--batch_size', '8',
            '--cpu_threads', '1', '--train_missing', '0.5']
    proc = launch(tmp_path, *args, '--model_path', str(tmp_path / 'check_2'), '--log_dir', str(tmp_path / 'log_2'))
    logs = worker_logs(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + str(logs)
    assert 'Epoch 2 complete!' in logs['workerlog.0'] and 'Epoch' not in logs['workerlog.1']
    log = (tmp_path / 'log_2' / 'train_sims.txt').read_text()
    assert "Training sims (MMSA's feature file, recipe mmsa; random missing on 0.5 of the training samples)" in log
    losses = re.findall(r'^Validation loss is: (\S+)$', log, re.M)
    assert len(losses) == 3 and all(round(float(v), 4) == float(v) for v in losses), losses
    run_main('train', args[1:] + ['--epochs', '1', '--model_path', tmp_path / 'check_1', '--log_dir', tmp_path / 'log_1'])
    (two, _), (single, _) = (checkpoints.load_checkpoint(str(tmp_path / folder / 'sims.pdparams'))
                             for folder in ('check_2', 'check_1'))
    for name in ('fusion_weights', 'fusion_bias'):
        np.testing.assert_array_equal(two[name], single[name], err_msg=name)
    assert not np.array_equal(two['audio_factor'], single['audio_factor'])  # the rest trained (3 epochs against 1)
    test = run_main('test', ['--dataset', 'sims', '--data_path', data, '--check_path', tmp_path / 'check_2',
                             '--cpu_threads', '1'])
    block = [line for line in log.splitlines() if ' on test set is ' in line]
    assert len(block) == 8 and block == [line for line in test.splitlines() if ' on test set is ' in line]
