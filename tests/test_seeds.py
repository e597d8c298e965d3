"""train.py --seeds N: the same setting under N seeds, mean +- std, the best seed kept."""
import re

import numpy as np

from helpers import cli_error, run_main
from lmf import engine
from lmf import checkpoints


def test_seed_list_is_deterministic():
    assert engine.seed_list(7, 3) == [7, 8, 9]
    assert engine.seed_list(2 ** 32 - 1, 2) == [2 ** 32 - 1, 0]


def test_three_seeds(tmp_path, tiny_pkl):
    out = run_main('train', ['--emotion', 'sad', '--data_path', tiny_pkl, '--epochs', '2', '--text_hidden', '8',
                             '--seed', '5', '--seeds', '3', '--model_path', tmp_path / 'check',
                             '--log_dir', tmp_path / 'log'])
    assert 'Seeds: 5, 6, 7\n' in out
    per_seed = re.findall(r'seed (\d+): best validation loss ([0-9.]+), test F1 ([0-9.]+), test accuracy ([0-9.]+)', out)
    assert [int(s[0]) for s in per_seed] == [5, 6, 7]
    # full-precision scores of each run, in seed order, then the best seed's again
    f1s = [float(v) for v in re.findall(r'F1-score on test set is (\S+)', out)]
    accs = [float(v) for v in re.findall(r'Accuracy score on test set is (\S+)', out)]
    valid = [float(v) for v in re.findall(r'Best validation loss is: (\S+)', out)]
    assert len(f1s) == len(accs) == 4 and len(valid) == 3
    mean, std = re.search(r'Test F1-score over 3 seeds: ([0-9.]+) \+- ([0-9.]+) \(mean \+- std, n-1\)', out).groups()
    assert float(mean) == round(np.mean(f1s[:3]), 4) and float(std) == round(np.std(f1s[:3], ddof=1), 4)
    mean, std = re.search(r'Test accuracy over 3 seeds: ([0-9.]+) \+- ([0-9.]+)', out).groups()
    assert float(mean) == round(np.mean(accs[:3]), 4) and float(std) == round(np.std(accs[:3], ddof=1), 4)

    # the best seed is chosen on validation loss (not test) and kept at the usual place
    best = int(np.argmin(valid))
    assert 'Best seed by validation loss: {} '.format(5 + best) in out
    assert (f1s[3], accs[3]) == (f1s[best], accs[best])
    _, saved = checkpoints.load_checkpoint(str(tmp_path / 'check' / 'sad.pdparams'))
    assert saved['seed'] == 5 + best
    assert (tmp_path / 'log' / 'train_sad.txt').read_text().count('Best validation loss is: {}'.format(valid[best]))
    test = run_main('test', ['--emotion', 'sad', '--data_path', tiny_pkl, '--check_path', tmp_path / 'check'])
    assert 'F1-score on test set is {}\n'.format(f1s[best]) in test


def test_seeds_must_be_positive():
    cli_error('train', ['--emotion', 'sad', '--seeds', '0'], '--seeds must be >= 1')


def test_seeds_side_by_side_give_the_numbers_of_seeds_one_after_the_other(tmp_path, tiny_pkl):
    summaries = []
    for jobs in ('1', '2'):
        out = run_main('train', ['--emotion', 'sad', '--data_path', tiny_pkl, '--epochs', '2', '--text_hidden', '8',
                                 '--seeds', '2', '--jobs', jobs, '--cpu_threads', '1',
                                 '--model_path', tmp_path / jobs / 'check', '--log_dir', tmp_path / jobs / 'log'])
        assert ('trained (2 of 2)' in out) == (jobs == '2'), out
        summary = [line.replace(str(tmp_path / jobs), '') for line in out.splitlines()
                   if re.match(r'(seed \d+: |Test |Best seed )', line)]
        assert len(summary) == 2 + 2 + 1, out
        summaries.append(summary)
    assert summaries[0] == summaries[1]


def test_jobs_needs_seeds_and_is_positive():
    cli_error('train', ['--emotion', 'sad', '--jobs', '2'], '--jobs 2: needs --seeds')
    cli_error('train', ['--emotion', 'sad', '--seeds', '2', '--jobs', '0'], '--jobs must be >= 1')
