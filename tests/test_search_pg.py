"""search.py against a real PostgreSQL server (a throwaway cluster on 127.0.0.1, see pg.py): commands started
together on an empty database, a worker killed in the middle of a trial, the server restarted during a search,
and bad URLs. Commands that must run beside others, or die, are processes; the rest run in this one."""
import os
import signal
import subprocess
import sys
import time

import pytest

import pg
from helpers import REPO, iemocap_data, write_pickle
from pg import PASSWORD
from test_search import SMALL_SPACE, STALLS, read_csv, write_space
import search
import utils

pg_cluster, pg_url = pg.pg_cluster, pg.pg_url  # the fixtures

pytestmark = pytest.mark.filterwarnings('ignore::optuna.exceptions.ExperimentalWarning')  # as search.py does
HEARTBEAT = ('--heartbeat_interval', '1', '--grace_period', '3')


@pytest.fixture(scope='module')
def sample(tmp_path_factory):
    return write_pickle(tmp_path_factory.mktemp('pgdata') / 'sample.pkl', iemocap_data(emotions=('happy',)))


def args(tmp_path, data, url, out, trials, *extra):
    """search.py's flags (without the script's name)."""
    return ['--emotion', 'happy', '--data_path', data, '--epochs', '1', '--patience', '1',
            '--space', write_space(tmp_path, SMALL_SPACE), '--storage', url, '--study', 'shared',
            '--trials', str(trials), '--out', str(tmp_path / out)] + list(extra)


def start(argv, code=None):
    return subprocess.Popen([sys.executable] + (['-c', code] if code else ['search.py']) + argv, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def trials_of(url):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.load_study(study_name='shared', storage=url).get_trials(deepcopy=False)


def complete(url):
    return [t for t in trials_of(url) if t.state.name == 'COMPLETE']


def settings(trials):
    return [tuple(t.params[name] for name in SMALL_SPACE) for t in trials]


def csv_settings(path):
    header, rows = read_csv(path)
    return [tuple(float(v) for v in row[:11]) for row in rows]


def assert_csv_has(path, trials):
    assert sorted(csv_settings(path)) == sorted(tuple(float(v) for v in s) for s in settings(trials))


def test_commands_started_together_on_an_empty_database_finish_the_budget(tmp_path, sample, pg_url, capsys):
    # two independent commands (as two machines), each with its own --out
    procs = [start(args(tmp_path, sample, pg_url, 'out{}'.format(i), 4)) for i in range(2)]
    results = [proc.communicate(timeout=120) + (proc.returncode,) for proc in procs]
    for out, err, code in results:
        assert code == 0 and 'Traceback' not in err, out + err
    assert sum(out.count(' COMPLETE: ') for out, _, _ in results) == 4, [r[0] for r in results]
    done = complete(pg_url)
    assert len(done) == 4 and len(set(settings(done))) == 4, settings(done)
    # rerunning the command trains nothing and writes the CSV of the 4 settings, each once
    search.main(args(tmp_path, sample, pg_url, 'out0', 4))
    assert ' COMPLETE: ' not in capsys.readouterr().out
    assert_csv_has(tmp_path / 'out0' / 'shared.csv', done)


def test_a_killed_worker_trial_is_failed_by_heartbeat_and_its_setting_retried(tmp_path, sample, pg_url, capsys):
    """RDB storages find a dead worker by its missing heartbeats only (on this machine as on any other)."""
    stalled = tmp_path / 'stalled'
    victim = start([str(stalled)] + args(tmp_path, sample, pg_url, 'victim', 4, *HEARTBEAT), code=STALLS)
    try:
        deadline = time.time() + 60
        while not stalled.exists() and time.time() < deadline and victim.poll() is None:
            time.sleep(0.05)
        assert stalled.exists(), victim.communicate() if victim.poll() is not None else 'no trial started'
    finally:
        if victim.poll() is None:
            os.kill(victim.pid, signal.SIGKILL)  # in the middle of its trial
        victim.communicate(timeout=30)
    (killed,) = [t for t in trials_of(pg_url) if t.state.name == 'RUNNING']
    t0 = time.time()
    search.main(args(tmp_path, sample, pg_url, 'other', 4, *HEARTBEAT))
    out = capsys.readouterr().out
    assert time.time() - t0 < 60, out
    trials = {t.number: t for t in trials_of(pg_url)}
    assert trials[killed.number].state.name == 'FAIL' and 'fail_reason' not in trials[killed.number].user_attrs
    done = complete(pg_url)
    assert len(done) == 4 and len(set(settings(done))) == 4, settings(done)
    assert [t.number for t in done if t.params == killed.params and t.system_attrs.get('failed_trial') == killed.number]
    assert_csv_has(tmp_path / 'other' / 'shared.csv', done)


@pytest.mark.parametrize('case', ['password', 'port', 'database'])
def test_a_bad_url_is_one_line_without_the_password(tmp_path, sample, pg_cluster, case):
    url = {'password': pg_cluster.url('postgres', password='wrong-secret'),
           'port': pg_cluster.url('postgres', port=pg.free_port()),
           'database': pg_cluster.url('no_such_db')}[case]
    with pytest.raises(utils.UserError) as err:
        search.main(args(tmp_path, sample, url, 'out', 2))
    line = str(err.value)
    assert line.startswith('--storage postgresql://lmf:***@127.0.0.1:') and 'cannot open' in line, line
    assert '\n' not in line and 'wrong-secret' not in line and PASSWORD not in line, line
    assert {'password': 'password authentication failed', 'port': 'refused',
            'database': 'does not exist'}[case] in line


def test_processes_that_create_the_tables_at_the_same_instant_all_open_the_storage(pg_url):
    # RDBStorage creates Optuna's tables without a lock: without the retry most of these fail with UniqueViolation
    # on pg_type_typname_nsp_index. Each process, once imported, waits for the word to go.
    code = ('import sys\nimport optuna, psycopg, sqlalchemy\nimport search\n'
            'print("ready", flush=True)\nsys.stdin.readline()\nsearch.open_storage(sys.argv[1], None, 1, 3)\n')
    procs = [subprocess.Popen([sys.executable, '-c', code, pg_url], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for proc in procs:
        assert proc.stdout.readline() == 'ready\n', proc.communicate()
    for proc in procs:
        proc.stdin.write('go\n')
        proc.stdin.flush()
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err


def test_a_database_restart_mid_search_loses_no_completed_trial(tmp_path, sample, pg_cluster, pg_url, capsys):
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
        before = [t for t in trials if t.state.name == 'COMPLETE']
        if before and any(t.state.name == 'RUNNING' for t in trials):
            break
    assert before, 'no trial completed before the restart'
    pg_cluster.restart()
    out, err = worker.communicate(timeout=120)
    assert 'Traceback' not in err, err
    if worker.returncode != 0:  # it may stop, with one line that says what to do
        errors = [line for line in err.splitlines() if line.startswith('error:')]
        assert worker.returncode == 2 and len(errors) == 1 and 'rerun the same command' in errors[0], err
        assert PASSWORD not in err
    search.main(argv)  # the same command again
    capsys.readouterr()
    done = complete(pg_url)
    assert len(done) == 5 and len(set(settings(done))) == 5, settings(done)
    assert {t.number for t in before} <= {t.number for t in done}
    assert_csv_has(tmp_path / 'out' / 'shared.csv', done)
