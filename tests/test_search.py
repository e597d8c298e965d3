"""search.py: Optuna search with several workers, resumption, duplicates, failures, CSV, best command."""
import csv
import json
import re
import shlex

import pytest

from conftest import assert_clean_error, run_script, tiny_data, write_pickle
import search

# 8 settings: small enough that random draws repeat (duplicates must not be retrained).
SMALL_SPACE = {'audio_hidden': [4, 8], 'video_hidden': [4], 'text_hidden': [8, 16], 'audio_dropout': [0],
               'video_dropout': [0], 'text_dropout': [0], 'factor_learning_rate': [0.003],
               'learning_rate': [0.003], 'rank': [1, 2], 'batch_size': [16], 'weight_decay': [0]}


@pytest.fixture
def happy_pkl(tmp_path):
    return write_pickle(tmp_path / 'happy.pkl', tiny_data(emotions=('happy',)))


def write_space(tmp_path, space, name='space.json'):
    path = tmp_path / name
    path.write_text(json.dumps(space))
    return str(path)


def search_args(tmp_path, data, space, *extra):
    return ('search.py', '--emotion', 'happy', '--data_path', data, '--epochs', '2', '--space', space,
            '--out', str(tmp_path / 'search')) + extra


def read_csv(path):
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def load_study(tmp_path, name='lmf_happy'):
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage
    storage = JournalStorage(JournalFileBackend(str(tmp_path / 'search' / (name + '.journal'))))
    return optuna.load_study(study_name=name, storage=storage)


def test_two_workers_six_distinct_settings_and_the_best_command_reproduces(tmp_path, happy_pkl):
    space = write_space(tmp_path, SMALL_SPACE)
    proc = run_script(*search_args(tmp_path, happy_pkl, space, '--trials', '6', '--workers', '2'))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stderr, proc.stderr
    # both workers trained
    assert '[worker 0] trial' in proc.stdout and '[worker 1] trial' in proc.stdout, proc.stdout

    header, rows = read_csv(tmp_path / 'search' / 'lmf_happy.csv')
    assert header == list(search.CSV_COLUMNS)
    assert header[:11] == ['audio_hidden', 'video_hidden', 'text_hidden', 'audio_dropout', 'video_dropout',
                           'text_dropout', 'factor_learning_rate', 'learning_rate', 'rank', 'batch_size',
                           'weight_decay']
    assert len(rows) == 6 and len({tuple(r[:11]) for r in rows}) == 6, rows
    trained = sorted(p.name for p in (tmp_path / 'search' / 'lmf_happy').glob('trial_*'))
    assert len(trained) == 6, trained  # duplicates were skipped before training

    # selection is on validation loss: the best row has the smallest validation loss
    best_row = min(rows, key=lambda r: float(r[11]))
    recorded = re.search(r'Best trial (\d+) by validation loss .*: validation loss ([0-9.e-]+),', proc.stdout)
    assert recorded and float(recorded.group(2)) == float(best_row[11]), proc.stdout
    assert 'CSV: {}'.format(tmp_path / 'search' / 'lmf_happy.csv') in proc.stdout

    # the printed command, run as printed (plus output folders), gives the recorded validation loss
    lines = proc.stdout.splitlines()
    command = lines[[i for i, l in enumerate(lines) if l.startswith('Reproduce it')][0] + 1]
    words = shlex.split(command)
    assert words[:2] == ['python', 'train.py']
    again = run_script(*words[1:], '--model_path', str(tmp_path / 'again'), '--log_dir', str(tmp_path / 'again'))
    assert again.returncode == 0, again.stderr
    assert 'Best validation loss is: {}\n'.format(recorded.group(2)) in again.stdout, again.stdout
    for name, value in zip(header[:11], best_row[:11]):
        assert words[words.index('--' + name) + 1] == value

    # rerun: nothing is trained again; a larger --trials resumes with exactly the missing trial
    same = run_script(*search_args(tmp_path, happy_pkl, space, '--trials', '6'))
    assert same.returncode == 0 and ' COMPLETE: ' not in same.stdout, same.stdout + same.stderr
    more = run_script(*search_args(tmp_path, happy_pkl, space, '--trials', '7'))
    assert more.returncode == 0, more.stderr
    assert more.stdout.count(' COMPLETE: ') == 1, more.stdout
    assert len(read_csv(tmp_path / 'search' / 'lmf_happy.csv')[1]) == 7

    # the study remembers its settings: a different budget is refused instead of mixed in
    other = run_script(*search_args(tmp_path, happy_pkl, space, '--trials', '7', '--patience', '3'))
    assert_clean_error(other, 'study lmf_happy', 'patience')


def test_a_duplicate_of_a_completed_setting_is_not_trained(tmp_path, happy_pkl, capsys):
    space = write_space(tmp_path, dict(SMALL_SPACE, audio_hidden=[4], text_hidden=[8]))  # 2 settings
    argv = list(search_args(tmp_path, happy_pkl, space, '--trials', '1'))[1:]
    search.main(argv)
    study = load_study(tmp_path)
    first = study.trials[0]
    study.enqueue_trial(first.params)  # the next trial the sampler hands out is the same setting
    argv[argv.index('--trials') + 1] = '2'
    search.main(argv)
    out = capsys.readouterr().out
    trials = load_study(tmp_path).trials
    assert trials[1].state.name == 'FAIL' and trials[1].user_attrs['fail_reason'] == 'duplicate of trial 0'
    assert 'trial 1 skipped (duplicate of trial 0' in out
    done = [t for t in trials if t.state.name == 'COMPLETE']
    assert len(done) == 2 and done[1].params != first.params  # random draws may repeat before the new one
    assert all(t.user_attrs['fail_reason'].startswith('duplicate of trial') for t in trials if t.state.name == 'FAIL')
    trained = sorted(p.name for p in (tmp_path / 'search' / 'lmf_happy').glob('trial_*'))
    assert trained == ['trial_0', 'trial_{}'.format(done[1].number)]


def test_diverged_trial_is_recorded_and_the_search_goes_on(tmp_path, happy_pkl):
    space = write_space(tmp_path, dict(SMALL_SPACE, audio_hidden=[4], text_hidden=[8], rank=[1],
                                       learning_rate=[1e30, 0.003], factor_learning_rate=[1e30, 0.003]))
    proc = run_script(*search_args(tmp_path, happy_pkl, space, '--trials', '4'))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r'trial \d+ FAIL \(diverged: (training|validation) loss became nan', proc.stdout), proc.stdout
    _, rows = read_csv(tmp_path / 'search' / 'lmf_happy.csv')
    assert [(r[6], r[7]) for r in rows] == [('0.003', '0.003')]  # only the completed trial has a row
    study = load_study(tmp_path)
    states = sorted(t.state.name for t in study.trials if 'duplicate' not in t.user_attrs.get('fail_reason', ''))
    assert states == ['COMPLETE', 'FAIL', 'FAIL', 'FAIL']


def test_prune_reports_the_validation_loss_of_every_epoch(tmp_path, happy_pkl):
    space = write_space(tmp_path, SMALL_SPACE)
    search.main(list(search_args(tmp_path, happy_pkl, space, '--trials', '2', '--prune', '--prune_warmup', '0'))[1:])
    done = [t for t in load_study(tmp_path).trials if t.state.name == 'COMPLETE']
    assert len(done) == 2
    for trial in done:
        assert sorted(trial.intermediate_values) == [0, 1]
        assert min(trial.intermediate_values.values()) == trial.user_attrs['best_valid_loss']


@pytest.mark.parametrize('extra,space,fragments', [
    (['--trials', '0'], None, ['--trials must be >= 1']),
    (['--trials', '9'], None, ['--trials 9 exceeds the 8 distinct settings']),
    (['--trials', '2'], {'rnk': [1]}, ['unknown hyperparameter', 'rnk']),
    (['--trials', '2'], {'rank': []}, ['rank must be a non-empty list']),
    (['--trials', '2'], {'rank': [0]}, ['rank must be >= 1']),
    (['--trials', '2', '--storage', 'sqlite:////no/such/folder/x.db'], None, ['--storage', 'cannot open']),
    (['--trials', '2', '--storage', 'postgresql://lmf:secret@127.0.0.1:9/lmf'], None, ['--storage', '***']),
])
def test_bad_input_is_one_line(tmp_path, happy_pkl, extra, space, fragments):
    path = write_space(tmp_path, space if space is not None else SMALL_SPACE)
    proc = run_script(*search_args(tmp_path, happy_pkl, path, *extra))
    line = assert_clean_error(proc, *fragments)
    assert 'secret' not in line
    assert not (tmp_path / 'search' / 'lmf_happy').exists()
