"""search.py: Optuna search with several workers, resumption, the seeded order, duplicates, failures, dead
workers, CSV, best command; IEMOCAP, CMU-MOSI and POM, and MMSA's feature files (MMSA's grid with its joint
choices, --recipe). In this process wherever a separate one adds nothing (workers and kills need their own)."""
import csv
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import time

import pytest

from helpers import REPO, assert_clean_error, run_script, iemocap_data, write_pickle
import search
import train
import utils
from lmf import engine
from lmf import checkpoints

pytestmark = pytest.mark.filterwarnings('ignore::optuna.exceptions.ExperimentalWarning')  # as search.py does
# 8 settings: a grid small enough to be tried whole.
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
    """search.py's flags (without the script's name)."""
    return list(task) + ['--data_path', data, '--epochs', '2', '--space', space, '--out', str(tmp_path / 'search')] + \
        list(extra)


def run(capsys, argv):
    """search.main(argv) in this process; its output."""
    search.main(list(argv))
    return capsys.readouterr().out


def best_command(out):
    lines = out.splitlines()
    return shlex.split(lines[[i for i, line in enumerate(lines) if line.startswith('Reproduce it')][0] + 1])


def retrain(capsys, tmp_path, words):
    """The printed train.py command run in this process (its threads reset after); its output."""
    assert words[:2] == ['python', 'train.py'], words
    try:
        train.main(words[2:] + ['--model_path', str(tmp_path / 'again'), '--log_dir', str(tmp_path / 'again')])
    finally:
        utils.setup_device('cpu')
    return capsys.readouterr().out


def read_csv(path):
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def load_study(tmp_path, name='lmf_happy'):
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage
    storage = JournalStorage(JournalFileBackend(str(tmp_path / 'search' / (name + '.journal'))))
    return optuna.load_study(study_name=name, storage=storage)


def grid_order(space, count, seed=0):
    """The first `count` settings of the --space grid in the seeded order, as the CSV's first 11 columns."""
    grid = search.ShuffledGridSampler(search.optuna_space(search.load_space(space))[0], seed)
    return [tuple(str(grid.setting(i)[name]) for name in HPARAM_COLUMNS) for i in range(count)]


def test_two_workers_try_the_seeded_grid_order_and_the_best_command_reproduces(tmp_path, happy_pkl, capsys):
    space = write_space(tmp_path, SMALL_SPACE)
    proc = run_script('search.py', *search_args(tmp_path, happy_pkl, space, '--trials', '6', '--workers', '2'))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stderr, proc.stderr
    # both workers trained
    assert '[worker 0] trial' in proc.stdout and '[worker 1] trial' in proc.stdout, proc.stdout

    header, rows = read_csv(tmp_path / 'search' / 'lmf_happy.csv')
    assert header == IEMOCAP_COLUMNS
    # trial n tried setting n of the grid shuffled by --search_seed 0, whichever worker ran it: 6 distinct settings
    assert [tuple(r[:11]) for r in rows] == grid_order(space, 6), rows
    trained = sorted(p.name for p in (tmp_path / 'search' / 'lmf_happy').glob('trial_*'))
    assert len(trained) == 6, trained

    # selection is on validation loss: the best row has the smallest validation loss
    best_row = min(rows, key=lambda r: float(r[11]))
    recorded = re.search(r'Best trial (\d+) by validation loss .*: validation loss ([0-9.e-]+),', proc.stdout)
    assert recorded and float(recorded.group(2)) == float(best_row[11]), proc.stdout
    assert 'CSV: {}'.format(tmp_path / 'search' / 'lmf_happy.csv') in proc.stdout

    # the printed command, run as printed (with the workers' CPU threads), gives the recorded validation loss
    words = best_command(proc.stdout)
    for name, value in zip(header[:11], best_row[:11]):
        assert words[words.index('--' + name) + 1] == value
    worker_threads = max(1, utils.default_cpu_threads() // 2)
    if worker_threads != utils.default_cpu_threads():  # train as the trial did: same last digits
        assert words[words.index('--cpu_threads') + 1] == str(worker_threads), words
    assert 'Best validation loss is: {}\n'.format(recorded.group(2)) in retrain(capsys, tmp_path, words)

    # rerun: nothing is trained again; a larger --trials resumes with exactly the missing trial
    argv = search_args(tmp_path, happy_pkl, space, '--trials', '6')
    assert ' COMPLETE: ' not in run(capsys, argv)
    argv[argv.index('--trials') + 1] = '7'
    assert run(capsys, argv).count(' COMPLETE: ') == 1
    assert len(read_csv(tmp_path / 'search' / 'lmf_happy.csv')[1]) == 7

    # the study remembers its settings: a different budget is refused instead of mixed in
    with pytest.raises(utils.UserError, match='study lmf_happy .* was run with patience 20 but this command has 3'):
        search.main(argv + ['--patience', '3'])


def test_the_same_command_writes_the_same_csv_and_the_study_keeps_its_search_seed(tmp_path, happy_pkl, capsys):
    """Two runs of one command on fresh folders (the authors' whole grid, one worker): the same settings and
    scores, byte for byte. Another --search_seed is another order, and resuming with it is refused."""
    argv = ['--emotion', 'happy', '--data_path', happy_pkl, '--trials', '2', '--epochs', '1', '--seed', '5']
    csvs = []
    for out in ('a', 'b'):
        run(capsys, argv + ['--out', str(tmp_path / out)])
        csvs.append((tmp_path / out / 'lmf_happy.csv').read_bytes())
    assert csvs[0] == csvs[1] and csvs[0].count(b'\n') == 3, csvs
    space = search.optuna_space(search.load_space(None, 'iemocap'))[0]
    first = [search.ShuffledGridSampler(space, seed).setting(0) for seed in (0, 1)]
    assert read_csv(tmp_path / 'a' / 'lmf_happy.csv')[1][0][:11] == [str(first[0][n]) for n in HPARAM_COLUMNS]
    assert first[0] != first[1]
    with pytest.raises(utils.UserError, match='was run with search_seed 0 but this command has 1'):
        search.main(argv + ['--out', str(tmp_path / 'a'), '--search_seed', '1'])
    # <out>/<study>/ holds one storage's trials: the same name in another storage is refused
    url = 'sqlite:///{}'.format(tmp_path / 'other.db')
    with pytest.raises(utils.UserError, match=r'lmf_happy holds the trials of study lmf_happy in .*a.lmf_happy'
                                              r'\.journal, not sqlite:///.*other\.db; choose another --study or --out'):
        search.main(argv + ['--out', str(tmp_path / 'a'), '--storage', url])


def test_a_duplicate_of_a_completed_setting_is_not_trained(tmp_path, happy_pkl, capsys):
    space = write_space(tmp_path, dict(SMALL_SPACE, audio_hidden=[4], text_hidden=[8]))  # 2 settings
    argv = search_args(tmp_path, happy_pkl, space, '--trials', '1')
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
    assert len(done) == 2 and done[1].params != first.params
    assert all(t.user_attrs['fail_reason'].startswith('duplicate of trial') for t in trials if t.state.name == 'FAIL')
    trained = sorted(p.name for p in (tmp_path / 'search' / 'lmf_happy').glob('trial_*'))
    assert trained == ['trial_0', 'trial_{}'.format(done[1].number)]


def test_a_thread_that_loses_the_database_prints_one_line_and_other_errors_print_as_usual(capsys):
    """Optuna's heartbeat thread raises when the database goes away mid-trial: while a worker runs, that is one
    line on stderr (password hidden), not a traceback; another thread's error still reaches the previous hook."""
    import threading
    import types
    from sqlalchemy.exc import OperationalError
    url = 'postgresql://lmf:secret-word@db:5432/study'
    seen = []
    worker = types.SimpleNamespace(label='[worker 1] ', where=search.one_line(url, url), c=types.SimpleNamespace(
        storage=url), previous_hook=seen.append)

    def fail(error):
        thread = threading.Thread(target=lambda: (_ for _ in ()).throw(error))
        hook, threading.excepthook = threading.excepthook, lambda args: search.Worker.thread_failed(worker, args)
        try:
            thread.start()
            thread.join()
        finally:
            threading.excepthook = hook
    try:
        raise OperationalError('INSERT INTO trial_heartbeats', {}, Exception('connection to secret-word lost'))
    except OperationalError as err:
        lost = err
    try:  # Optuna re-raises the database error from its cleanup
        raise RuntimeError('cleanup') from lost
    except RuntimeError as err:
        fail(err)
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('[worker 1] --storage ') and 'heartbeat lost the database' in err
    assert 'secret-word' not in err and 'Traceback' not in err and not seen
    fail(ValueError('not a database error'))
    assert len(seen) == 1 and isinstance(seen[0].exc_value, ValueError)


def test_diverged_trial_is_recorded_and_the_search_goes_on(tmp_path, happy_pkl, capsys):
    space = write_space(tmp_path, dict(SMALL_SPACE, audio_hidden=[4], text_hidden=[8], rank=[1],
                                       learning_rate=[1e30, 0.003], factor_learning_rate=[1e30, 0.003]))
    out = run(capsys, search_args(tmp_path, happy_pkl, space, '--trials', '4'))
    assert re.search(r'trial \d+ FAIL \(diverged: (training|validation) loss became nan', out), out
    assert ': 1 complete, 0 pruned, 3 diverged, 0 running elsewhere; 0 not counted' in out, out
    _, rows = read_csv(tmp_path / 'search' / 'lmf_happy.csv')
    assert [(r[6], r[7]) for r in rows] == [('0.003', '0.003')]  # only the completed trial has a row
    study = load_study(tmp_path)
    states = sorted(t.state.name for t in study.trials if 'duplicate' not in t.user_attrs.get('fail_reason', ''))
    assert states == ['COMPLETE', 'FAIL', 'FAIL', 'FAIL']


def test_prune_reports_the_validation_loss_of_every_epoch(tmp_path, happy_pkl):
    space = write_space(tmp_path, SMALL_SPACE)
    search.main(search_args(tmp_path, happy_pkl, space, '--trials', '2', '--prune', '--prune_warmup', '0'))
    done = [t for t in load_study(tmp_path).trials if t.state.name == 'COMPLETE']
    assert len(done) == 2
    for trial in done:
        assert sorted(trial.intermediate_values) == [0, 1]
        assert min(trial.intermediate_values.values()) == trial.user_attrs['best_valid_loss']


STALLS = """import sys, time
import search, utils
from lmf import engine
stalled = sys.argv.pop(1)
def stall(*args, **kwargs):  # holds its trial until it is killed; the test kills it then, not mid-write
    open(stalled, 'w').close()
    time.sleep(3600)
engine.train_and_test = stall
utils.run_cli(search.main)
"""


def test_a_killed_worker_trial_is_failed_by_pid_and_its_setting_retried(tmp_path, happy_pkl, capsys):
    """The journal file has no heartbeat: the next command on this machine finds the dead pid, fails its trial
    ('worker process N died', not counted) and trains its setting once more, then goes on in the grid's order as
    if nothing had happened."""
    argv = search_args(tmp_path, happy_pkl, write_space(tmp_path, SMALL_SPACE), '--trials', '2', '--epochs', '1')
    stalled = tmp_path / 'stalled'
    victim = subprocess.Popen([sys.executable, '-c', STALLS, str(stalled)] + argv, cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not stalled.exists() and time.time() < deadline and victim.poll() is None:
            time.sleep(0.05)
        assert stalled.exists(), 'the victim never started a trial'
    finally:
        if victim.poll() is None:
            os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
    out = run(capsys, argv)
    trials = load_study(tmp_path).trials
    assert [t.state.name for t in trials] == ['FAIL', 'COMPLETE', 'COMPLETE'], out
    assert trials[0].user_attrs['fail_reason'] == 'worker process {} died'.format(victim.pid)
    assert trials[1].params == trials[0].params and trials[1].system_attrs['failed_trial'] == 0
    assert [tuple(str(t.params[n]) for n in HPARAM_COLUMNS) for t in trials[1:]] == grid_order(
        argv[argv.index('--space') + 1], 2)
    assert ': 2 complete, 0 pruned, 0 diverged, 0 running elsewhere; 1 not counted' in out, out


def test_an_interrupted_trial_runs_its_setting_first_when_the_command_is_run_again(tmp_path, happy_pkl, monkeypatch,
                                                                                    capsys):
    """Ctrl-C during a trial: FAIL ('interrupted', not counted); the same command then tries the settings an
    uninterrupted run would have tried (training replaced by fixed numbers)."""
    calls = []

    def fake_train_and_test(hp, data_path, model_path, log_dir, on_epoch=None, sets=None):
        calls.append(hp)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return dict(best_valid_loss=0.5, test_loss=0.5, f1=0.5, accuracy=0.5, synthetic=False,
                    checkpoint=os.path.join(model_path, 'happy.pdparams'))
    monkeypatch.setattr(engine, 'train_and_test', fake_train_and_test)
    space = write_space(tmp_path, SMALL_SPACE)
    argv = search_args(tmp_path, happy_pkl, space, '--trials', '3')
    with pytest.raises(KeyboardInterrupt):
        search.main(argv)
    out = run(capsys, argv)
    trials = load_study(tmp_path).trials
    assert trials[1].state.name == 'FAIL' and trials[1].user_attrs['fail_reason'] == 'interrupted'
    assert [tuple(r[:11]) for r in read_csv(tmp_path / 'search' / 'lmf_happy.csv')[1]] == grid_order(space, 3)
    assert ': 3 complete, 0 pruned, 0 diverged, 0 running elsewhere; 1 not counted' in out, out


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
    (['--trials', '2', '--workers', '0'], None, ['--workers must be >= 1, got 0']),
    (['--trials', '2', '--prune_warmup', '-1'], None, ['--prune_warmup must be >= 0, got -1']),
    (['--trials', '2', '--study', '.hidden'], None, ["--study '.hidden': use a plain name"]),
])
def test_bad_input_is_one_line(tmp_path, happy_pkl, extra, space, fragments):
    path = write_space(tmp_path, space if space is not None else SMALL_SPACE)
    with pytest.raises(utils.UserError) as err:  # utils.run_cli prints it as one 'error:' line (exit 2)
        search.main(search_args(tmp_path, happy_pkl, path, *extra))
    assert all(f in str(err.value) for f in fragments) and '\n' not in str(err.value), str(err.value)
    assert 'secret' not in str(err.value)
    assert not (tmp_path / 'search' / 'lmf_happy').exists()


def test_a_bad_storage_is_one_error_line_from_the_command(tmp_path, happy_pkl):
    proc = run_script('search.py', *search_args(tmp_path, happy_pkl, write_space(tmp_path, SMALL_SPACE), '--trials',
                                                '2', '--storage', 'postgresql://lmf:secret@127.0.0.1:9/lmf'))
    assert proc.returncode == 2 and 'secret' not in proc.stdout + proc.stderr
    assert '***' in assert_clean_error(proc, '--storage postgresql://lmf:***@127.0.0.1:9/lmf: cannot open')


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


def test_mosi_search_writes_the_authors_csv_and_the_best_command_reproduces(tmp_path, mosi_pkl, pom_pkl, capsys):
    space = write_space(tmp_path, SMALL_SPACE)
    out = run(capsys, search_args(tmp_path, mosi_pkl, space, '--trials', '4', task=('--dataset', 'mosi')))
    assert 'Study lmf_mosi in ' in out, out

    csv_path = tmp_path / 'search' / 'lmf_mosi.csv'
    header, rows = read_csv(csv_path)
    assert header == MOSI_COLUMNS
    done = [t for t in load_study(tmp_path, 'lmf_mosi').trials if t.state.name == 'COMPLETE']
    assert len(rows) == len(done) == 4 and len({tuple(r[:11]) for r in rows}) == 4, rows
    trial_line = re.compile(r'trial \d+ COMPLETE: validation loss [0-9.]+, test MAE [0-9.]+, test Corr \S+, '
                            r'test binary accuracy [0-9.]+, test F1 [0-9.]+ \| audio_hidden=')
    assert len(trial_line.findall(out)) == 4, out

    # chosen by validation MAE; the summary shows the CSV's test scores of that row
    best_row = min(rows, key=lambda r: float(r[11]))
    recorded = re.search(r'Best trial (\d+) by validation loss .*: validation loss (\S+), test MAE (\S+), '
                         r'test Corr (\S+), test binary accuracy (\S+), test F1 (\S+)\n', out)
    assert recorded, out
    assert list(recorded.groups()[1:]) == [best_row[i] for i in (11, 12, 13, 15, 16)]
    assert (tmp_path / 'search' / 'lmf_mosi' / 'trial_{}'.format(recorded.group(1)) / 'mosi.pdparams').is_file()
    assert '(These scores are on SYNTHETIC sample data, not CMU-MOSI results.)' in out

    # the printed command, run as printed, gives the recorded validation MAE and the row's test scores
    words = best_command(out)
    assert words[:4] == ['python', 'train.py', '--dataset', 'mosi'] and '--emotion' not in words, words
    assert '--cpu_threads' not in words  # one worker trains with train.py's default threads
    for name, value in zip(HPARAM_COLUMNS, best_row):
        assert words[words.index('--' + name) + 1] == value
    again = retrain(capsys, tmp_path, words)
    assert 'Best validation loss is: {}\n'.format(recorded.group(2)) in again, again
    for column, line in ((12, 'MAE'), (13, 'Correlation w.r.t human evaluation'), (14, 'Multiclass accuracy'),
                         (15, 'Binary accuracy'), (16, 'F1-score')):
        assert '\n{} on test set is {}\n'.format(line, best_row[column]) in again, (line, again)

    # the study is CMU-MOSI's: resuming it as another dataset is refused, nothing is trained
    with pytest.raises(utils.UserError, match='study lmf_mosi .* was run with dataset mosi but this command has pom'):
        search.main(search_args(tmp_path, pom_pkl, space, '--trials', '5', '--study', 'lmf_mosi',
                                task=('--dataset', 'pom')))
    assert read_csv(csv_path)[1] == rows
    assert len(list((tmp_path / 'search' / 'lmf_mosi').glob('trial_*'))) == 4


def same(value, expected):
    return (math.isnan(value) and math.isnan(expected)) or value == expected


def test_pom_csv_has_every_trait_rounded_as_the_authors(tmp_path, pom_pkl, capsys):
    # a high rate, so that 2 epochs reach the traits (about 4) and the accuracies are not all 0
    space = write_space(tmp_path, dict(SMALL_SPACE, batch_size=[8], learning_rate=[0.1], factor_learning_rate=[0.1]))
    argv = search_args(tmp_path, pom_pkl, space, '--trials', '2', task=('--dataset', 'pom', '--trait', 'vivid'))
    out = run(capsys, argv)
    header, rows = read_csv(tmp_path / 'search' / 'lmf_pom.csv')
    assert len(header) == 11 + 1 + 48 and header == POM_COLUMNS
    done = sorted((t for t in load_study(tmp_path, 'lmf_pom').trials if t.state.name == 'COMPLETE'),
                  key=lambda t: t.number)
    assert len(rows) == len(done) == 2
    assert len(re.findall(r'trial \d+ COMPLETE: validation loss [0-9.]+, test mean MAE [0-9.]+, test mean Corr \S+, '
                          r'test mean accuracy [0-9.]+ \|', out)) == 2, out
    assert re.search(r'Best trial \d+ by validation loss .*: validation loss \S+, test mean MAE \S+, '
                     r'test mean Corr \S+, test mean accuracy \S+\n', out), out
    assert best_command(out)[2:6] == ['--dataset', 'pom', '--trait', 'Vivid'], out

    # each row: the trial's checkpoint evaluated again on test, per trait, rounded to 3 decimals
    test_set = engine.load_data('pom', pom_pkl, verbose=False)[2]
    for trial, row in zip(done, rows):
        assert float(row[11]) == trial.value  # the validation MAE is not rounded
        model = checkpoints.model_from_checkpoint(trial.user_attrs['checkpoint'], 'pom', dataset='pom')[0]
        scores = engine.evaluate(model, test_set, metrics_for='pom')
        expected = [round(v, 3) for key in ('trait_acc', 'trait_mae', 'trait_corr') for v in scores[key]]
        assert all(same(float(got), want) for got, want in zip(row[12:], expected)), (row[12:], expected)
        assert any(v > 0 for v in expected[:16]), expected

    # the study remembers its trait: another --trait is refused instead of mixed in
    argv[argv.index('--trait') + 1] = 'Nervous'
    with pytest.raises(utils.UserError, match='trait Vivid but this command has Nervous'):
        search.main(argv)


def test_a_study_from_before_datasets_is_iemocap(tmp_path, mosi_pkl):
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage
    (tmp_path / 'search').mkdir()
    storage = JournalStorage(JournalFileBackend(str(tmp_path / 'search' / 'old.journal')))
    study = optuna.create_study(study_name='old', storage=storage, direction='minimize')
    for key, value in dict(emotion='happy', epochs=2, patience=20, seed=2967694878).items():  # no dataset
        study.set_user_attr(key, value)
    argv = search_args(tmp_path, mosi_pkl, write_space(tmp_path, SMALL_SPACE), '--trials', '2', '--study', 'old',
                       task=('--dataset', 'mosi'))
    with pytest.raises(utils.UserError, match='was run with dataset iemocap but this command has mosi'):
        search.main(argv)


# ---------------------------------------------------------------- MMSA's feature files

# MMSA's config_tune.json for LMF (thuiar/MMSA a94e65d), in its order: hidden_dims [text, audio, video], dropouts
# [audio, video, text, post-fusion] (LMF applies no post-fusion dropout: [.3,.3,.3,.5] and [.3]*4 are one setting).
MMSA_HIDDEN_DIMS = [[128, 16, 128], [64, 16, 64], [128, 32, 128], [256, 32, 256], [64, 32, 64]]
MMSA_DROPOUTS = [[0.3, 0.3, 0.3, 0.5], [0.3, 0.3, 0.3, 0.3], [0.2, 0.2, 0.2, 0.2], [0.4, 0.4, 0.4, 0.4]]
MMSA_SCALARS = {'factor_learning_rate': [0.0001, 0.0005, 0.001], 'learning_rate': [0.0005, 0.001, 0.002, 0.005],
                'rank': [3, 4, 5, 6], 'batch_size': [32, 64, 128], 'weight_decay': [0, 0.0001, 0.001, 0.005]}
HIDDEN = ('audio_hidden', 'video_hidden', 'text_hidden')
DROPOUT = ('audio_dropout', 'video_dropout', 'text_dropout')
MMSA_HIDDEN = [(t_a_v[1], t_a_v[2], t_a_v[0]) for t_a_v in MMSA_HIDDEN_DIMS]  # audio, video, text
MMSA_DROPOUT = list(dict.fromkeys(tuple(d[:3]) for d in MMSA_DROPOUTS))
MMSA_MOSI_COLUMNS = HPARAM_COLUMNS + ['Best Validation Loss'] + [
    'Test ' + k for k in ('Has0_acc_2', 'Has0_F1_score', 'Non0_acc_2', 'Non0_F1_score', 'Mult_acc_5', 'Mult_acc_7',
                          'MAE', 'Corr')]
MMSA_SIMS_COLUMNS = HPARAM_COLUMNS + ['Best Validation Loss'] + [
    'Test ' + k for k in ('Mult_acc_2', 'Mult_acc_3', 'Mult_acc_5', 'F1_score', 'MAE', 'Corr')]
MMSA_PARAMS = {'factor_learning_rate', 'learning_rate', 'rank', 'batch_size', 'weight_decay', 'hidden_sizes',
               'dropouts'}  # Optuna's names: the joint choices are one categorical each


@pytest.fixture(scope='module')
def mmsa_files(tmp_path_factory):
    """Tiny SYNTHETIC files in MMSA's layout (data/mmsa.py): CMU-MOSEI, CH-SIMS and MMSA's CMU-MOSI."""
    from data import mmsa
    folder = tmp_path_factory.mktemp('mmsa')
    files = {dataset: str(folder / '{}.pkl'.format(dataset)) for dataset in ('mosei', 'sims', 'mosi')}
    for dataset, path in files.items():
        mmsa.write_sample_data(path, dataset, 0, (('train', 32), ('valid', 16), ('test', 16)))
    return files


def mmsa_args(tmp_path, dataset, data, *extra):
    return ['--dataset', dataset, '--data_path', data, '--epochs', '2', '--out', str(tmp_path / 'search')] + list(extra)


def decoded(trial):
    return search.decode_params(trial.params, {'hidden_sizes': list(HIDDEN), 'dropouts': list(DROPOUT)})


def assert_in_mmsa_grid(hp):
    """A setting of MMSA's grid: the hidden sizes and dropouts one of its lists each, not mixed."""
    assert tuple(hp[n] for n in HIDDEN) in MMSA_HIDDEN, hp
    assert tuple(hp[n] for n in DROPOUT) in MMSA_DROPOUT, hp
    for name, values in MMSA_SCALARS.items():
        assert hp[name] in values, (name, hp)


def test_the_mmsa_grid_is_config_tune_with_joint_choices():
    from lmf import hparams
    space = search.load_space(None, 'mmsa')
    assert space == {**MMSA_SCALARS, HIDDEN: MMSA_HIDDEN, DROPOUT: MMSA_DROPOUT}
    assert search.space_size(space) == 5 * 3 * 3 * 4 * 4 * 3 * 4 == 8640
    flat, joint = search.optuna_space(space)
    assert flat['hidden_sizes'] == ['16/128/128', '16/64/64', '32/128/128', '32/256/256', '32/64/64']
    assert flat['dropouts'] == ['0.3/0.3/0.3', '0.2/0.2/0.2', '0.4/0.4/0.4']
    assert set(flat) == MMSA_PARAMS and joint == {'hidden_sizes': list(HIDDEN), 'dropouts': list(DROPOUT)}
    json.dumps(flat)  # stored with the study
    for text, values in zip(flat['hidden_sizes'], MMSA_HIDDEN):
        back = search.decode_params({'hidden_sizes': text}, joint)
        assert tuple(back[n] for n in HIDDEN) == values and all(type(back[n]) is int for n in HIDDEN)
    # every family but MMSA's keeps the authors' grid, one name per hyperparameter
    assert search.optuna_space(search.load_space(None, 'mosi')) == (hparams.search_space('mosi'), {})

    # docs/search.md writes MMSA's grid out: the same values and size
    text = open(os.path.join(REPO, 'docs', 'search.md')).read()
    paragraph = ' '.join(text[text.index("**MMSA's space.**"):text.index("**Joint choices in `--space`.**")].split())
    groups = re.findall(r'\{([\d./, ]+)\}', paragraph)
    assert [g.split(', ') for g in groups[:2]] == [flat['hidden_sizes'], flat['dropouts']]
    assert [[float(v) for v in g.split(',')] for g in groups[2:]] == [
        space[n] for n in ('factor_learning_rate', 'learning_rate', 'rank', 'batch_size', 'weight_decay')]
    assert '({:,} settings)'.format(search.space_size(space)) in paragraph


@pytest.mark.parametrize('given,expected', [
    ({'hidden_sizes': [[16, 128, 128], '32/64/64', [16, 128, 128]], 'rank': [4]},
     {HIDDEN: [(16, 128, 128), (32, 64, 64)], 'rank': [4]}),
    ({'dropouts': ['0.5/0.1/0'], 'batch_size': [16, 32]}, {DROPOUT: [(0.5, 0.1, 0.0)], 'batch_size': [16, 32]}),
])
def test_space_replaces_a_joint_choice_whole(tmp_path, given, expected):
    space = search.load_space(write_space(tmp_path, given), 'mmsa')
    assert space == {**search.load_space(None, 'mmsa'), **expected}
    flat, _ = search.optuna_space(space)
    assert all(isinstance(v, str) for key in ('hidden_sizes', 'dropouts') for v in flat[key])


@pytest.mark.parametrize('given,fragments', [
    ({'audio_hidden': [16]}, ['audio_hidden is part of the joint choice hidden_sizes', '[audio_hidden, video_hidden']),
    ({'hidden_sizes': [[16, 128]]}, ['hidden_sizes value [16, 128] is not a list of 3 values']),
    ({'hidden_sizes': ['16/x/128']}, ['hidden_sizes value "16/x/128" is not 3 values joined by']),
    ({'hidden_sizes': [[16, 128, 1.5]]}, ['hidden_sizes (text_hidden) value 1.5 is not an integer']),
    ({'dropouts': [[0.3, 0.3, 1.5]]}, ['text_dropout must be in [0, 1)']),
    ({'dropouts': []}, ['dropouts must be a non-empty list']),
    ({'hidden_size': [[16, 128, 128]]}, ["unknown hyperparameter 'hidden_size'", 'hidden_sizes, dropouts']),
])
def test_bad_mmsa_space_is_one_line_before_anything_is_read_or_written(tmp_path, given, fragments):
    # the data file is not even opened: CMU-MOSEI has one layout, so its grid is known before
    argv = mmsa_args(tmp_path, 'mosei', str(tmp_path / 'missing.pkl'), '--trials', '2',
                     '--space', write_space(tmp_path, given))
    with pytest.raises(utils.UserError) as err:
        search.main(argv)
    assert all(f in str(err.value) for f in fragments), str(err.value)
    assert not (tmp_path / 'search').exists()


def test_mmsa_search_samples_the_grid_writes_the_csv_and_the_best_command_reproduces(tmp_path, mmsa_files, capsys):
    argv = mmsa_args(tmp_path, 'mosei', mmsa_files['mosei'], '--trials', '3')
    search.main(argv)
    out = capsys.readouterr().out
    assert 'Study lmf_mosei in ' in out and 'space of 8640 settings' in out, out
    done = [t for t in load_study(tmp_path, 'lmf_mosei').trials if t.state.name == 'COMPLETE']
    assert len(done) == 3 and len({tuple(sorted(t.params.items())) for t in done}) == 3
    for trial in done:
        assert set(trial.params) == MMSA_PARAMS, trial.params
        hp = decoded(trial)
        assert_in_mmsa_grid(hp)
        # the trial trained what was sampled: its log's first line lists the hyperparameters it used
        log = open(os.path.join(trial.user_attrs['run_dir'], 'train_mosei.txt')).readline()
        assert "Training mosei (MMSA's feature file, recipe ours)" in log
        for name in HPARAM_COLUMNS + ['patience', 'seed']:
            assert re.search(r'[ ,]{}={}(,|$)'.format(name, re.escape(str(dict(hp, patience=8, seed=1111)[name]))),
                             log.strip()), (name, log)
        assert re.search(r'hidden_sizes=\d+/\d+/\d+ dropouts=[\d.]+/[\d.]+/[\d.]+$', out.splitlines()[
            [i for i, line in enumerate(out.splitlines()) if line.startswith('trial {} COMPLETE'.format(
                trial.number))][0]]), out

    header, rows = read_csv(tmp_path / 'search' / 'lmf_mosei.csv')
    assert header == MMSA_MOSI_COLUMNS
    assert len(rows) == 3
    for trial, row in zip(sorted(done, key=lambda t: t.number), rows):
        hp = decoded(trial)
        assert row[:11] == [str(hp[n]) for n in HPARAM_COLUMNS]
        assert float(row[11]) == trial.value == round(trial.value, 4)  # MMSA's validation loss: 4 decimals
        assert [float(v) for v in row[12:]] == [trial.user_attrs[h[len('Test '):]] for h in header[12:]]

    # chosen by validation loss; the printed command trains it again to the same validation loss and test scores
    best_row = min(rows, key=lambda r: float(r[11]))
    recorded = re.search(r'Best trial (\d+) by validation loss .*: validation loss (\S+), test MAE (\S+),', out)
    assert recorded and float(recorded.group(2)) == float(best_row[11]), out
    words = best_command(out)
    assert words[:4] == ['python', 'train.py', '--dataset', 'mosei'] and '--recipe' not in words, words
    for name, value in zip(HPARAM_COLUMNS, best_row):
        assert words[words.index('--' + name) + 1] == value
    assert words[words.index('--seed') + 1] == '1111' and words[words.index('--patience') + 1] == '8'
    again = retrain(capsys, tmp_path, words)
    assert 'Best validation loss is: {}\n'.format(recorded.group(2)) in again, again
    for column, value in zip(header[12:], best_row[12:]):
        assert '\n{} on test set is {:.4f}\n'.format(column[len('Test '):], float(value)) in again, column

    # resume: nothing is trained again; the study remembers its recipe
    search.main(argv)
    assert ' COMPLETE: ' not in capsys.readouterr().out
    with pytest.raises(utils.UserError, match='was run with recipe ours but this command has mmsa'):
        search.main(argv + ['--recipe', 'mmsa', '--study', 'lmf_mosei'])


def test_recipe_reaches_the_trials_and_the_command_and_the_file_decides_the_grid(tmp_path, mmsa_files, capsys):
    # CH-SIMS, MMSA's recipe: every trial trains with it; the command repeats it
    search.main(mmsa_args(tmp_path, 'sims', mmsa_files['sims'], '--trials', '2', '--recipe', 'mmsa'))
    out = capsys.readouterr().out
    done = [t for t in load_study(tmp_path, 'lmf_sims_recipe_mmsa').trials if t.state.name == 'COMPLETE']
    assert len(done) == 2
    for trial in done:
        assert_in_mmsa_grid(decoded(trial))
        log = open(os.path.join(trial.user_attrs['run_dir'], 'train_sims.txt')).readline()
        assert "(MMSA's feature file, recipe mmsa)" in log and ' recipe=mmsa,' in log, log
    header, rows = read_csv(tmp_path / 'search' / 'lmf_sims_recipe_mmsa.csv')
    assert header == MMSA_SIMS_COLUMNS and len(rows) == 2
    assert re.search(r'Best trial \d+ by validation loss .*: validation loss \S+, test MAE \S+, test Corr \S+, '
                     r'test Mult_acc_2 \S+, test Mult_acc_3 \S+, test F1 \S+\n', out), out
    words = best_command(out)
    assert words[2:4] == ['--dataset', 'sims'] and words[words.index('--recipe') + 1] == 'mmsa', words
    recorded = re.search(r'prints "Best validation loss is: (\S+)"', out).group(1)
    assert 'Best validation loss is: {}\n'.format(recorded) in retrain(capsys, tmp_path, words)

    # CMU-MOSI in MMSA's layout: MMSA's grid, metrics and columns (the authors' pickle keeps theirs: see above)
    search.main(mmsa_args(tmp_path, 'mosi', mmsa_files['mosi'], '--trials', '1'))
    out = capsys.readouterr().out
    assert 'Study lmf_mosi_mmsa in ' in out and 'space of 8640 settings' in out, out
    (trial,) = [t for t in load_study(tmp_path, 'lmf_mosi_mmsa').trials if t.state.name == 'COMPLETE']
    assert set(trial.params) == MMSA_PARAMS
    assert_in_mmsa_grid(decoded(trial))
    assert read_csv(tmp_path / 'search' / 'lmf_mosi_mmsa.csv')[0] == MMSA_MOSI_COLUMNS


def test_test_scores_never_choose_and_a_joint_duplicate_is_not_trained(tmp_path, mmsa_files, monkeypatch, capsys):
    """Trials whose test scores are best where their validation loss is worst: the validation loss chooses, and of
    equal (4-decimal) validation losses the earlier trial. A setting handed out twice (joint choices included)
    trains once; TPE, which samples with replacement, trains every setting of the grid once."""
    valid = {3: 0.7, 4: 0.7, 5: 0.8, 6: 0.9}  # rank 3 and 4 tie, as MMSA's rounded losses can
    test_mae = {3: 0.9, 4: 0.8, 5: 0.1, 6: 0.2}
    trained = []

    def fake_train_and_test(hp, data_path, model_path, log_dir, on_epoch=None, sets=None):
        trained.append(dict(hp))
        scores = {k: 0.5 for k in ('Has0_acc_2', 'Has0_F1_score', 'Non0_acc_2', 'Non0_F1_score', 'Mult_acc_5',
                                   'Mult_acc_7', 'Corr', 'corr')}
        return dict(scores, MAE=test_mae[hp['rank']], mae=test_mae[hp['rank']], best_valid_loss=valid[hp['rank']],
                    test_loss=test_mae[hp['rank']], checkpoint=os.path.join(model_path, 'mosei.pdparams'),
                    synthetic=True)

    monkeypatch.setattr(engine, 'train_and_test', fake_train_and_test)
    # 8 settings: 4 ranks x 2 hidden-size lists; one dropout list, the rest single values
    space = write_space(tmp_path, {'rank': [3, 4, 5, 6], 'hidden_sizes': [[16, 128, 128], [32, 64, 64]],
                                   'dropouts': [[0.2, 0.2, 0.2]], 'batch_size': [32], 'learning_rate': [0.001],
                                   'factor_learning_rate': [0.001], 'weight_decay': [0]})
    argv = mmsa_args(tmp_path, 'mosei', mmsa_files['mosei'], '--trials', '7', '--space', space, '--recipe', 'mmsa')
    search.main(argv)
    out = capsys.readouterr().out
    study = load_study(tmp_path, 'lmf_mosei_recipe_mmsa')
    done = sorted((t for t in study.trials if t.state.name == 'COMPLETE'), key=lambda t: t.number)
    assert len(done) == len(trained) == 7
    assert len({tuple(sorted(hp.items())) for hp in trained}) == 7
    assert all(hp['recipe'] == 'mmsa' and hp['layout'] == 'mmsa' for hp in trained)
    first_tied = min((t for t in done if t.params['rank'] in (3, 4)), key=lambda t: t.number)
    recorded = re.search(r'Best trial (\d+) by validation loss .*: validation loss (\S+), test MAE (\S+),', out)
    assert int(recorded.group(1)) == first_tied.number and float(recorded.group(2)) == 0.7, out
    assert float(recorded.group(3)) >= 0.8  # worse than the test MAE of the rank 5 and 6 trials: test did not choose
    assert any(t.params['rank'] in (5, 6) for t in done)
    words = best_command(out)
    assert words[words.index('--rank') + 1] == str(first_tied.params['rank'])
    assert words[words.index('--recipe') + 1] == 'mmsa'
    assert [words[words.index('--' + n) + 1] for n in HIDDEN] == first_tied.params['hidden_sizes'].split('/')

    # an enqueued trial repeats a trained setting (joint choices included): skipped, not trained; a new one is
    enqueued = len(study.trials)  # the number the enqueued trial gets
    study.enqueue_trial(done[0].params)
    argv[argv.index('--trials') + 1] = '8'
    search.main(argv)
    trials = load_study(tmp_path, 'lmf_mosei_recipe_mmsa').trials
    assert trials[enqueued].user_attrs['fail_reason'] == 'duplicate of trial {}'.format(done[0].number)
    assert len(trained) == 8 and len({tuple(sorted(hp.items())) for hp in trained}) == 8

    # TPE proposes settings it has tried: each such trial is skipped and an untried setting enqueued in its place
    del trained[:]
    out = run(capsys, argv + ['--sampler', 'tpe', '--study', 'tpe'])
    assert len(trained) == 8 and len({tuple(sorted(hp.items())) for hp in trained}) == 8, out
    assert 'skipped (duplicate of trial' in out, out
