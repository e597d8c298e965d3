"""search.py against a real PostgreSQL server (a throwaway cluster on 127.0.0.1, see pg.py): workers started
together on an empty database, a worker killed in the middle of a trial, the server restarted during a
search, and bad URLs."""
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import REPO, assert_clean_error, run_script
from pg import PASSWORD, free_port, pg_cluster, pg_url  # noqa: F401 (fixtures)
from test_search import SMALL_SPACE, read_csv, write_space

HEARTBEAT = ('--heartbeat_interval', '1', '--grace_period', '3')


@pytest.fixture(scope='module')
def sample(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('pgdata') / 'sample.pkl')
    proc = run_script('data/make_sample_data.py', '--out', path, '--train', '48', '--valid', '16', '--test', '24')
    assert proc.returncode == 0, proc.stderr
    return path


def args(tmp_path, data, url, out, trials, *extra):
    return ['search.py', '--emotion', 'happy', '--data_path', data, '--epochs', '1', '--patience', '1',
            '--space', write_space(tmp_path, SMALL_SPACE), '--storage', url, '--study', 'shared',
            '--trials', str(trials), '--out', str(tmp_path / out)] + list(extra)


def start(argv):
    return subprocess.Popen([sys.executable] + argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def trials_of(url):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.load_study(study_name='shared', storage=url).get_trials(deepcopy=False)


def complete(url):
    from optuna.trial import TrialState
    return [t for t in trials_of(url) if t.state == TrialState.COMPLETE]


def settings(trials):
    return [tuple(t.params[name] for name in SMALL_SPACE) for t in trials]


def csv_settings(path):
    header, rows = read_csv(path)
    return [tuple(float(v) for v in row[:11]) for row in rows]


AT_ONCE = """import sys, time
import optuna, psycopg, sqlalchemy  # imported before the meeting time, not after
import search, utils
at = float(sys.argv.pop(1))
open_study = search.open_study
def open_at_once(*args, **kwargs):  # all processes reach the empty database at the same instant
    time.sleep(max(0, at - time.time()))
    search.open_study = open_study
    return open_study(*args, **kwargs)
search.open_study = open_at_once
utils.run_cli(search.main)
"""


def test_workers_started_together_on_an_empty_database_finish_the_budget(tmp_path, sample, pg_url):
    # three independent commands (as three machines), each with its own --out, that create the tables together
    at = str(time.time() + 6)
    procs = [start(['-c', AT_ONCE, at] + args(tmp_path, sample, pg_url, 'out{}'.format(i), 6)[1:]) for i in range(3)]
    results = [finish(p) for p in procs]
    for code, out, err in results:
        assert code == 0 and 'Traceback' not in err, out + err
    assert sum(out.count(' COMPLETE: ') for _, out, _ in results) == 6, [r[1] for r in results]
    done = complete(pg_url)
    assert len(done) == 6 and len(set(settings(done))) == 6, settings(done)
    # rerunning the command trains nothing and writes the CSV of the 6 settings, each once
    again = run_script(*args(tmp_path, sample, pg_url, 'out0', 6))
    assert again.returncode == 0 and ' COMPLETE: ' not in again.stdout, again.stdout + again.stderr
    rows = csv_settings(tmp_path / 'out0' / 'shared.csv')
    assert sorted(rows) == sorted(tuple(float(v) for v in s) for s in settings(done))


STALLS = """import time
import train, utils, search
from lmf import engine
def stall(*args, **kwargs):  # the victim holds its claimed trial until it is killed, however fast training is
    time.sleep(3600)
engine.train_and_test = stall
utils.run_cli(search.main)
"""


def other_machine(argv):
    """argv run with another host name (a UTS namespace), so that workers on this one cannot see its pid."""
    return ['unshare', '--uts', 'sh', '-c', 'hostname elsewhere && exec "$@"', 'sh', sys.executable] + argv


def can_fake_another_machine():
    try:
        return subprocess.run(['unshare', '--uts', 'true'], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.skipif(not can_fake_another_machine(), reason='needs `unshare --uts` (root) to run a worker as another host')
def test_a_killed_worker_trial_is_failed_by_heartbeat_and_the_others_finish(tmp_path, sample, pg_url):
    from optuna.trial import TrialState
    victim_argv = ['-c', STALLS] + args(tmp_path, sample, pg_url, 'victim', 4, *HEARTBEAT)[1:]
    victim = subprocess.Popen(other_machine(victim_argv), cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    running = []
    while not running and time.time() < deadline:
        time.sleep(0.05)
        try:
            running = [t for t in trials_of(pg_url) if t.state == TrialState.RUNNING and 'run_dir' in t.user_attrs]
        except Exception:  # the study does not exist yet
            pass
    assert running, 'the victim never started a trial'
    os.kill(victim.pid, signal.SIGKILL)  # in the middle of its trial: it has claimed a setting and is 'training'
    victim.wait(timeout=30)
    killed = [t for t in trials_of(pg_url) if t.state == TrialState.RUNNING]
    assert len(killed) == 1 and killed[0].user_attrs['worker'].startswith('elsewhere:'), killed
    killed = killed[0].number
    # a worker on this machine cannot tell that pid is dead: only the missing heartbeats (--grace_period 3) can
    t0 = time.time()
    other = run_script(*args(tmp_path, sample, pg_url, 'other', 4, *HEARTBEAT), timeout=120)
    assert other.returncode == 0 and 'Traceback' not in other.stderr, other.stdout + other.stderr
    assert time.time() - t0 < 60
    trials = {t.number: t for t in trials_of(pg_url)}
    assert trials[killed].state == TrialState.FAIL and 'fail_reason' not in trials[killed].user_attrs, \
        trials[killed].user_attrs
    done = complete(pg_url)
    assert len(done) == 4 and len(set(settings(done))) == 4, settings(done)
    rows = csv_settings(tmp_path / 'other' / 'shared.csv')
    assert sorted(rows) == sorted(tuple(float(v) for v in s) for s in settings(done))


@pytest.mark.parametrize('case', ['password', 'port', 'database'])
def test_a_bad_url_is_one_line_without_the_password(tmp_path, sample, pg_cluster, case):
    url = {'password': pg_cluster.url('postgres', password='wrong-secret'),
           'port': pg_cluster.url('postgres', port=free_port()),
           'database': pg_cluster.url('no_such_db')}[case]
    proc = run_script(*args(tmp_path, sample, url, 'out', 2))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = assert_clean_error(proc, '--storage', 'cannot open')
    assert 'wrong-secret' not in proc.stderr + proc.stdout and PASSWORD not in proc.stderr + proc.stdout, line
    assert '***' in line
    assert {'password': 'password authentication failed', 'port': 'refused',
            'database': 'does not exist'}[case] in line


def test_processes_that_create_the_tables_at_the_same_instant_all_open_the_storage(pg_url):
    # the race of the test above, narrowed to the table creation so that it happens on every run:
    # without the retry most of these fail with UniqueViolation on pg_type_typname_nsp_index
    code = ('import sys, time\nimport optuna, psycopg, sqlalchemy\nimport search\n'
            'time.sleep(max(0, float(sys.argv[1]) - time.time()))\n'
            'search.open_storage(sys.argv[2], None, 1, 3)\n')
    at = str(time.time() + 4)
    procs = [subprocess.Popen([sys.executable, '-c', code, at, pg_url], cwd=REPO, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err


def test_a_database_restart_mid_search_loses_no_completed_trial(tmp_path, sample, pg_cluster, pg_url):
    from optuna.trial import TrialState
    argv = args(tmp_path, sample, pg_url, 'out', 5, *HEARTBEAT)
    worker = start(argv)
    deadline = time.time() + 60
    before = []
    while time.time() < deadline:
        time.sleep(0.05)
        try:
            trials = trials_of(pg_url)
        except Exception:  # the study does not exist yet
            continue
        before = [t for t in trials if t.state == TrialState.COMPLETE]
        if before and any(t.state == TrialState.RUNNING for t in trials):
            break
    assert before, 'no trial completed before the restart'
    pg_cluster.restart()
    code, out, err = finish(worker)
    assert 'Traceback' not in err, err
    if code != 0:  # it may stop, with one line that says what to do
        errors = [line for line in err.splitlines() if line.startswith('error:')]
        assert code == 2 and len(errors) == 1 and 'rerun the same command' in errors[0], err
        assert PASSWORD not in err
    again = run_script(*argv, timeout=120)
    assert again.returncode == 0 and 'Traceback' not in again.stderr, again.stdout + again.stderr
    done = complete(pg_url)
    assert len(done) == 5 and len(set(settings(done))) == 5, settings(done)
    assert {t.number for t in before} <= {t.number for t in done}
    rows = csv_settings(tmp_path / 'out' / 'shared.csv')
    assert sorted(rows) == sorted(tuple(float(v) for v in s) for s in settings(done))
