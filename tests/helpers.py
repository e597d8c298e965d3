"""What the tests share: the repository's paths, the scripts run in this process (script, run_main, cli_error)
or as processes (run_script, assert_clean_error), a copy of the code for the TIPC scripts, and small IEMOCAP and
MMSA-layout pickles made by data/iemocap.py's and data/mmsa.py's generators."""
import contextlib
import glob
import importlib.util
import io
import os
import pickle
import shutil
import subprocess
import sys


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED_CHECKPOINTS = os.path.join(REPO, '..', 'shared', 'reference', 'lmf_paddle_check')
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

from data import iemocap, mmsa  # noqa: E402


# The ONNX side (requirements-onnx.txt) is optional: paddle2onnx has no wheel past Python 3.12.
ONNX_MISSING = [p for p in ('paddle2onnx', 'onnxruntime') if importlib.util.find_spec(p) is None]
ONNX_REASON = '{} not installed (requirements-onnx.txt; paddle2onnx has no wheel past Python 3.12)'.format(
    ' and '.join(ONNX_MISSING))


def needs_onnx(test):
    """Skip `test` where the ONNX packages are not installed, saying why."""
    import pytest
    return pytest.mark.skipif(bool(ONNX_MISSING), reason=ONNX_REASON)(test)


def skip_without_onnx():
    """From here on a test needs the ONNX packages: skip the rest where they are not installed, saying why."""
    if ONNX_MISSING:
        import pytest
        pytest.skip(ONNX_REASON)


def iemocap_data(emotions=iemocap.EMOTIONS, sizes=(48, 16, 24), seed=0, as_bytes=True, audio=None, seq=None,
                 dtype=None, marked=False):
    """A small IEMOCAP dict in the published layout from data/iemocap.py's generator (learnable, with NaN and
    -inf in the features). Unlike the generator's own files it carries no SYNTHETIC marker unless `marked`,
    as a user's file would not. Variants a test needs: str keys (as_bytes=False), fewer audio features or
    time steps than the real file (audio, seq: the first ones), another feature dtype."""
    data = iemocap.make_sample_data(seed, tuple(zip(('train', 'valid', 'test'), sizes)), emotions)
    if not marked:
        del data[b'synthetic']
    for key, splits in data.items():
        if not isinstance(splits, dict):
            continue
        for split in splits.values():
            if audio is not None:
                split[b'covarep'] = split[b'covarep'][:, :audio]
            if seq is not None:
                split[b'glove'] = split[b'glove'][:, -seq:]
            if dtype is not None:
                for name in (b'covarep', b'facet'):
                    split[name] = split[name].astype(dtype)
    if not as_bytes:
        data = _str_keys(data)
    return data


def mmsa_data(dataset='mosei', sizes=(12, 6, 8), steps=(7, 5, 6), seed=0, dtype=np.float32, as_bytes=False,
              marked=False):
    """A small dict in MMSA's unaligned layout from data/mmsa.py's generator (the dataset's real feature
    widths, short time axes), without the SYNTHETIC marker unless `marked`; bytes keys if as_bytes."""
    data = mmsa.make_sample_data(dataset, seed, tuple(zip(('train', 'valid', 'test'), sizes)), steps=steps,
                                 dtype=dtype)
    if not marked:
        del data['synthetic']
    return _bytes_keys(data) if as_bytes else data


def _bytes_keys(obj):
    if isinstance(obj, dict):
        return {(k.encode() if isinstance(k, str) else k): _bytes_keys(v) for k, v in obj.items()}
    return obj


def _str_keys(obj):
    if isinstance(obj, dict):
        return {(k.decode() if isinstance(k, bytes) else k): _str_keys(v) for k, v in obj.items()}
    return obj


def write_pickle(path, obj, protocol=2):
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=protocol)
    return str(path)


def repo_copy(tmp_path):
    """A copy of the repository's code (no data, checkpoints or logs) for the TIPC scripts, which write
    into the folder they run in; returns (its path, an environment whose python is this interpreter)."""
    repo = tmp_path / 'repo'
    os.makedirs(str(repo / 'data'))
    os.makedirs(str(repo / 'lmf'))
    for pattern in ('*.py', os.path.join('data', '*.py'), os.path.join('lmf', '*.py')):
        for path in glob.glob(os.path.join(REPO, pattern)):
            shutil.copy(path, str(repo / os.path.relpath(path, REPO)))
    shutil.copytree(os.path.join(REPO, 'test_tipc'), str(repo / 'test_tipc'))
    return repo, dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))


TIPC_MODE = 'lite_train_lite_infer'


def tipc_lite_chain(tmp_path, config, data_file, names, dataset=None):
    """test_train_inference_python.sh of `config` in lite_train_lite_infer mode, in a repository copy: its prepare
    stage and, per model of the config (names: the IEMOCAP emotions, or [dataset] for a config of one --dataset),
    train, eval, export and inference at batch sizes 1 and 32, each run on data_file and successful, and the
    checkpoints there. Returns (the copy, its log folder, {(name, batch size): the saved test outputs})."""
    repo, env = repo_copy(tmp_path)
    proc = subprocess.run(['bash', 'test_tipc/test_train_inference_python.sh', config, TIPC_MODE],
                          cwd=str(repo), env=env, capture_output=True, text=True, timeout=900)
    log_dir = repo / 'log' / ('lmf_' + dataset if dataset else 'lmf') / TIPC_MODE
    log_path = log_dir / 'results_python.log'
    results = log_path.read_text().splitlines() if log_path.exists() else []
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    assert results and all(line.startswith('Run successfully with command - ') for line in results), results
    assert len(results) == 1 + 5 * len(names), results
    flag = '--dataset' if dataset else '--emotion'
    for name in names:
        for stage in ('train.py', 'test.py', 'export_model.py', 'infer.py'):
            assert any(' {} '.format(stage) in line and '{}={}'.format(flag, name) in line for line in results), \
                (stage, name, results)
        assert os.path.isfile(str(log_dir / 'norm_train_cpu' / '{}.pdparams'.format(name)))
    if dataset:
        assert not any('--emotion' in line for line in results), results
    assert all(data_file in line for line in results if ' --data_path=' in line), results
    outputs = {}
    for name in names:
        for batch_size in (1, 32):
            assert any('infer.py' in line and '{}={}'.format(flag, name) in line and
                       '--batch_size={}'.format(batch_size) in line for line in results)
            (saved,) = glob.glob(str(log_dir / ('out_pred' if dataset else 'out_prob') / '*_batchsize_{}'.format(
                batch_size) / '{}_{}.npy'.format(name, 'pred' if dataset else 'prob')))
            outputs[(name, batch_size)] = np.load(saved)
    return repo, log_dir, outputs


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


_SCRIPTS = {}


def script(name):
    """A repository script ('train', 'test', 'data/make_sample_data', ...) as a module: the one `import train` gives,
    or, where the name is taken (`test` is the standard library's) or is a path, imported from its file once."""
    if name not in _SCRIPTS:
        path = os.path.join(REPO, name + '.py')
        module = None if '/' in name else importlib.import_module(name)
        if module is None or os.path.abspath(module.__file__) != path:
            spec = importlib.util.spec_from_file_location('lmf_script_' + name.replace('/', '_'), path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        _SCRIPTS[name] = module
    return _SCRIPTS[name]


def run_main(name, argv):
    """script(name).main(argv) in this process; returns what it printed. Any error propagates."""
    with contextlib.redirect_stdout(io.StringIO()) as out:
        script(name).main([str(a) for a in argv])
    return out.getvalue()


def run_command(module, *argv):
    """A script's command line in this process, as utils.run_cli runs it: a CompletedProcess (exit code, output)."""
    import utils
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            utils.run_cli(lambda: module.main([str(a) for a in argv]))
        except SystemExit as stop:
            code = stop.code
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def cli_error(name, argv, *fragments):
    """script(name).main(argv) under utils.run_cli in this process, as the script's `__main__` runs it: exit code 2
    and nothing on stderr but one 'error:' line, which mentions every fragment; returns that line. An exception
    other than the ones run_cli reports propagates (in a process: a traceback)."""
    import utils
    main = name if callable(name) else script(name).main
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()):
        try:
            utils.run_cli(lambda: main([str(a) for a in argv]))
        except SystemExit as exit_info:
            code = exit_info.code
        else:
            code = 0
    lines = err.getvalue().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith('error: '), (code, err.getvalue())
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]
