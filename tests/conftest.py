"""Shared fixtures: tiny pickles in the published IEMOCAP layout, and a CLI runner."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED_CHECKPOINTS = os.path.join(REPO, '..', 'shared', 'reference', 'lmf_paddle_check')
sys.path.insert(0, REPO)

import utils  # noqa: E402

utils.setup_device('cpu')  # the runtime defaults the scripts use (threads), so the oracle tests them too


def tiny_split(rng, n, audio=74, video=35, text=300, seq=20, dtype=np.float64):
    """One split with a learnable signal in all three modalities."""
    label = rng.randint(0, 2, size=n)
    sign = (2.0 * label - 1.0)[:, None]
    return {
        'covarep': (rng.randn(n, audio) + sign).astype(dtype),
        'facet': (rng.randn(n, video) + sign).astype(dtype),
        'glove': (0.3 * rng.randn(n, seq, text) + 0.3 * sign[:, :, None]).astype(np.float32),
        'label': np.eye(2, dtype=np.float32)[label],
    }


def tiny_data(emotions=('happy', 'sad', 'angry', 'neutral'), sizes=(48, 16, 24), seed=0, as_bytes=True, **dims):
    rng = np.random.RandomState(seed)
    key = (lambda s: s.encode()) if as_bytes else (lambda s: s)
    data = {}
    for emotion in emotions:
        data[key(emotion)] = {key(split): {key(k): v for k, v in tiny_split(rng, n, **dims).items()}
                              for split, n in zip(('train', 'valid', 'test'), sizes)}
    return data


def write_pickle(path, obj, protocol=2):
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=protocol)
    return str(path)


@pytest.fixture
def tiny_pkl(tmp_path):
    """A small four-emotion pickle with bytes keys, as Python 2 wrote the real file."""
    return write_pickle(tmp_path / 'tiny.pkl', tiny_data())


def repo_copy(tmp_path):
    """A copy of the repository's code (no data, checkpoints or logs) for the TIPC scripts, which write
    into the folder they run in; returns (its path, an environment whose python is this interpreter)."""
    import glob
    import shutil
    repo = tmp_path / 'repo'
    os.makedirs(str(repo / 'data'))
    for pattern in ('*.py', os.path.join('data', '*.py')):
        for path in glob.glob(os.path.join(REPO, pattern)):
            shutil.copy(path, str(repo / os.path.relpath(path, REPO)))
    shutil.copytree(os.path.join(REPO, 'test_tipc'), str(repo / 'test_tipc'))
    return repo, dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))


def run_script(*args, cwd=REPO, env=None, timeout=600):
    """Run a repository script with this interpreter; returns CompletedProcess (text)."""
    full_env = dict(os.environ, **(env or {}))
    full_env.setdefault('PYTHON', sys.executable)
    cmd = list(args)
    if cmd[0].endswith('.py'):
        cmd = [sys.executable] + cmd
    return subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


def assert_clean_error(proc, *fragments):
    """Non-zero exit, no traceback, one 'error:' line that mentions every fragment."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]
