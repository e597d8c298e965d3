"""search.py: Optuna search with several workers, resumption, duplicates, failures, CSV, best command;
IEMOCAP, CMU-MOSI and POM."""
import csv
import json
import math
import re
import shlex

import pytest

from helpers import assert_clean_error, run_script, iemocap_data, write_pickle
import search
import utils

# 8 settings: small enough that random draws repeat (duplicates must not be retrained).
SMALL_SPACE = {'audio_hidden': [4, 8], 'video_hidden': [4], 'text_hidden': [8, 16], 'audio_dropout': [0],
               'video_dropout': [0], 'text_dropout': [0], 'factor_learning_rate': [0.003],
               'learning_rate': [0.003], 'rank': [1, 2], 'batch_size': [16], 'weight_decay': [0]}


# The authors' CSV headers (train_iemocap.py, train_mosi.py, train_pom.py of Low-rank-Multimodal-Fusion).
HPARAM_COLUMNS = ['audio_hidden', 'video_hidden', 'text_hidden', 'audio_dropout', 'video_dropout', 'text_dropout',
                  'factor_learning_rate', 'learning_rate', 'rank', 'batch_size', 'weight_decay']
IEMOCAP_COLUMNS = HPARAM_COLUMNS + ['Best Validation CrossEntropyLoss', 'Test CrossEntropyLoss', 'Test F1-score',
                                    'Test Accuracy Score']
MOSI_COLUMNS = HPARAM_COLUMNS + ['Best Validation MAE', 'Test MAE', 'Test Corr', 'Test multiclass accuracy',
                                 'Test binary accuracy', 'Test f1_score']
POM_TRAITS = ['Confidence', 'Passionate', 'Pleasant', 'Dominant', 'Credible', 'Vivid', 'Expertise', 'Entertaining',
              'Reserved', 'Trusting', 'Relaxed', 'Outgoing', 'Thorough', 'Nervous', 'Persuasive', 'Humorous']
POM_COLUMNS = HPARAM_COLUMNS + ['Best Validation MAE'] + ['{} {}'.format(trait, word) for word in (
    'accuracy', 'MAE', 'corr') for trait in POM_TRAITS]
TINY_SIZES = (('train', 48), ('valid', 16), ('test', 24))


@pytest.fixture
def happy_pkl(tmp_path):
    return write_pickle(tmp_path / 'happy.pkl', iemocap_data(emotions=('happy',)))


@pytest.fixture
def mosi_pkl(tmp_path):
    from data import mosi
    path = str(tmp_path / 'mosi.pkl')
    mosi.write_sample_data(path, 0, TINY_SIZES)
    return path


@pytest.fixture
def pom_pkl(tmp_path):
    from data import pom
    path = str(tmp_path / 'pom.pkl')
    pom.write_sample_data(path, 0, TINY_SIZES)
    return path


def write_space(tmp_path, space, name='space.json'):
    path = tmp_path / name
    path.write_text(json.dumps(space))
    return str(path)


def search_args(tmp_path, data, space, *extra, task=('--emotion', 'happy')):
    return ('search.py',) + tuple(task) + ('--data_path', data, '--epochs', '2', '--space', space,
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
    assert header == IEMOCAP_COLUMNS
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
    (['--trials', '2', '--heartbeat_interval', '0'], None, ['--heartbeat_interval must be >= 1']),
    (['--trials', '2', '--heartbeat_interval', '5', '--grace_period', '5'], None,
     ['--grace_period must be greater than --heartbeat_interval (5)']),
    (['--trials', '2', '--dataset', 'mosi'], None, ['--emotion', 'mosi']),  # --emotion happy is in search_args
    (['--trials', '2', '--trait', 'Vivid'], None, ['--trait', 'iemocap']),
])
def test_bad_input_is_one_line(tmp_path, happy_pkl, extra, space, fragments):
    path = write_space(tmp_path, space if space is not None else SMALL_SPACE)
    proc = run_script(*search_args(tmp_path, happy_pkl, path, *extra))
    line = assert_clean_error(proc, *fragments)
    assert 'secret' not in line
    assert not (tmp_path / 'search' / 'lmf_happy').exists()


def test_the_grids_are_the_authors():
    regression = {'audio_hidden': [4, 8, 16], 'video_hidden': [4, 8, 16], 'text_hidden': [64, 128, 256],
                  'audio_dropout': [0, 0.1, 0.15, 0.2, 0.3, 0.5], 'video_dropout': [0, 0.1, 0.15, 0.2, 0.3, 0.5],
                  'text_dropout': [0, 0.1, 0.15, 0.2, 0.3, 0.5], 'factor_learning_rate': [0.0003, 0.0005, 0.001, 0.003],
                  'learning_rate': [0.0003, 0.0005, 0.001, 0.003], 'rank': [1, 4, 8, 16],
                  'batch_size': [4, 8, 16, 32, 64, 128], 'weight_decay': [0, 0.001, 0.002, 0.01]}
    iemocap = dict(regression, audio_hidden=[8, 16, 32], batch_size=[8, 16, 32, 64, 128])
    for dataset, grid in (('iemocap', iemocap), ('mosi', regression), ('pom', regression)):
        space = search.load_space(None, dataset)
        assert list(space) == HPARAM_COLUMNS and space == grid, dataset
    assert search.space_size(search.load_space(None, 'mosi')) == 8957952


def test_mosi_search_writes_the_authors_csv_and_the_best_command_reproduces(tmp_path, mosi_pkl, pom_pkl):
    space = write_space(tmp_path, SMALL_SPACE)
    mosi = ('--dataset', 'mosi')
    proc = run_script(*search_args(tmp_path, mosi_pkl, space, '--trials', '4', '--workers', '2', task=mosi))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stderr, proc.stderr
    assert 'Study lmf_mosi in ' in proc.stdout, proc.stdout

    csv_path = tmp_path / 'search' / 'lmf_mosi.csv'
    header, rows = read_csv(csv_path)
    assert header == MOSI_COLUMNS
    done = [t for t in load_study(tmp_path, 'lmf_mosi').trials if t.state.name == 'COMPLETE']
    assert len(rows) == len(done) == 4 and len({tuple(r[:11]) for r in rows}) == 4, rows
    trial_line = re.compile(r'trial \d+ COMPLETE: validation loss [0-9.]+, test MAE [0-9.]+, test Corr \S+, '
                            r'test binary accuracy [0-9.]+, test F1 [0-9.]+ \| audio_hidden=')
    assert len(trial_line.findall(proc.stdout)) == 4, proc.stdout

    # chosen by validation MAE; the summary shows the CSV's test scores of that row
    best_row = min(rows, key=lambda r: float(r[11]))
    recorded = re.search(r'Best trial (\d+) by validation loss .*: validation loss (\S+), test MAE (\S+), '
                         r'test Corr (\S+), test binary accuracy (\S+), test F1 (\S+)\n', proc.stdout)
    assert recorded, proc.stdout
    assert list(recorded.groups()[1:]) == [best_row[i] for i in (11, 12, 13, 15, 16)]
    assert (tmp_path / 'search' / 'lmf_mosi' / 'trial_{}'.format(recorded.group(1)) / 'mosi.pdparams').is_file()
    assert '(These scores are on SYNTHETIC sample data, not CMU-MOSI results.)' in proc.stdout

    # the printed command, run as printed, gives the recorded validation MAE and the row's test scores
    lines = proc.stdout.splitlines()
    words = shlex.split(lines[[i for i, l in enumerate(lines) if l.startswith('Reproduce it')][0] + 1])
    assert words[:4] == ['python', 'train.py', '--dataset', 'mosi'] and '--emotion' not in words, words
    for name, value in zip(HPARAM_COLUMNS, best_row):
        assert words[words.index('--' + name) + 1] == value
    worker_threads = max(1, utils.default_cpu_threads() // 2)
    if worker_threads != utils.default_cpu_threads():  # train as the trial did: same last digits
        assert words[words.index('--cpu_threads') + 1] == str(worker_threads), words
    again = run_script(*words[1:], '--model_path', str(tmp_path / 'again'), '--log_dir', str(tmp_path / 'again'))
    assert again.returncode == 0, again.stderr
    assert 'Best validation loss is: {}\n'.format(recorded.group(2)) in again.stdout, again.stdout
    for column, line in ((12, 'MAE'), (13, 'Correlation w.r.t human evaluation'), (14, 'Multiclass accuracy'),
                         (15, 'Binary accuracy'), (16, 'F1-score')):
        assert '\n{} on test set is {}\n'.format(line, best_row[column]) in again.stdout, (line, again.stdout)

    # the study is CMU-MOSI's: resuming it as another dataset is refused, nothing is trained
    other = run_script(*search_args(tmp_path, pom_pkl, space, '--trials', '5', '--study', 'lmf_mosi',
                                    task=('--dataset', 'pom')))
    assert_clean_error(other, 'study lmf_mosi', 'dataset mosi', 'pom')
    assert read_csv(csv_path)[1] == rows
    assert len(list((tmp_path / 'search' / 'lmf_mosi').glob('trial_*'))) == 4


def same(value, expected):
    return (math.isnan(value) and math.isnan(expected)) or value == expected


def test_pom_csv_has_every_trait_rounded_as_the_authors(tmp_path, pom_pkl, capsys):
    # a high rate, so that 2 epochs reach the traits (about 4) and the accuracies are not all 0
    space = write_space(tmp_path, dict(SMALL_SPACE, batch_size=[8], learning_rate=[0.1], factor_learning_rate=[0.1]))
    argv = list(search_args(tmp_path, pom_pkl, space, '--trials', '2', task=('--dataset', 'pom', '--trait', 'vivid')))
    search.main(argv[1:])
    out = capsys.readouterr().out
    header, rows = read_csv(tmp_path / 'search' / 'lmf_pom.csv')
    assert len(header) == 11 + 1 + 48 and header == POM_COLUMNS
    done = sorted((t for t in load_study(tmp_path, 'lmf_pom').trials if t.state.name == 'COMPLETE'),
                  key=lambda t: t.number)
    assert len(rows) == len(done) == 2
    assert len(re.findall(r'trial \d+ COMPLETE: validation loss [0-9.]+, test mean MAE [0-9.]+, test mean Corr \S+, '
                          r'test mean accuracy [0-9.]+ \|', out)) == 2, out
    assert re.search(r'Best trial \d+ by validation loss .*: validation loss \S+, test mean MAE \S+, '
                     r'test mean Corr \S+, test mean accuracy \S+\n', out), out
    words = shlex.split(out.splitlines()[[i for i, l in enumerate(out.splitlines())
                                          if l.startswith('Reproduce it')][0] + 1])
    assert words[2:6] == ['--dataset', 'pom', '--trait', 'Vivid'], words

    # each row: the trial's checkpoint evaluated again on test, per trait, rounded to 3 decimals
    test_set = utils.load_data('pom', pom_pkl, verbose=False)[2]
    for trial, row in zip(done, rows):
        assert float(row[11]) == trial.value  # the validation MAE is not rounded
        model = utils.model_from_checkpoint(trial.user_attrs['checkpoint'], 'pom', dataset='pom')[0]
        scores = utils.evaluate(model, test_set, metrics_for='pom')
        expected = [round(v, 3) for key in ('trait_acc', 'trait_mae', 'trait_corr') for v in scores[key]]
        assert all(same(float(got), want) for got, want in zip(row[12:], expected)), (row[12:], expected)
        assert any(v > 0 for v in expected[:16]), expected

    # the study remembers its trait: another --trait is refused instead of mixed in
    argv[argv.index('--trait') + 1] = 'Nervous'
    with pytest.raises(utils.UserError, match='trait Vivid but this command has Nervous'):
        search.main(argv[1:])


def test_a_study_from_before_datasets_is_iemocap(tmp_path, mosi_pkl):
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage
    (tmp_path / 'search').mkdir()
    storage = JournalStorage(JournalFileBackend(str(tmp_path / 'search' / 'old.journal')))
    study = optuna.create_study(study_name='old', storage=storage, direction='minimize')
    for key, value in dict(emotion='happy', epochs=2, patience=20, seed=2967694878).items():  # no dataset
        study.set_user_attr(key, value)
    argv = list(search_args(tmp_path, mosi_pkl, write_space(tmp_path, SMALL_SPACE), '--trials', '2', '--study', 'old',
                            task=('--dataset', 'mosi')))
    with pytest.raises(utils.UserError, match='was run with dataset iemocap but this command has mosi'):
        search.main(argv[1:])
