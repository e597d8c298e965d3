"""IEMOCAP loader: key types, dtypes, non-finite values, safety, and every bad input."""
import io
import os
import pickle

import numpy as np
import pytest

from helpers import cli_error, iemocap_data, write_pickle
from data.iemocap import write_sample_data
from lmf import engine
from lmf import checkpoints
import utils


@pytest.mark.parametrize('as_bytes', [True, False])
@pytest.mark.parametrize('dtype', [np.float64, np.float32, np.float16])
def test_loads_bytes_or_str_keys_and_any_float(tmp_path, capsys, as_bytes, dtype):
    data = iemocap_data(emotions=('sad',), as_bytes=as_bytes, dtype=dtype)
    path = write_pickle(tmp_path / 'd.pkl', data)
    train, valid, test, dims = engine.load_data('iemocap', path, 'sad')
    assert dims == (74, 35, 300)
    assert (len(train), len(valid), len(test)) == (48, 16, 24)
    for split in (train, valid, test):
        for array in (split.audio, split.video, split.text, split.labels):
            assert array.dtype == np.float32
    assert not train.synthetic
    out = capsys.readouterr().out.splitlines()
    assert out == ['Audio feature dimension is: 74', 'Visual feature dimension is: 35',
                   'Text feature dimension is: 300']
    key = b'sad' if as_bytes else 'sad'
    raw = data[key][b'test' if as_bytes else 'test'][b'covarep' if as_bytes else 'covarep']
    np.testing.assert_allclose(test.audio, np.nan_to_num(raw, nan=0, posinf=0, neginf=0).astype(np.float32))


def test_non_finite_values_become_zero(tmp_path):
    data = iemocap_data(emotions=('happy',))
    split = data[b'happy'][b'train']
    split[b'covarep'][0, :3] = [np.nan, -np.inf, np.inf]
    split[b'facet'][1, 5] = np.nan
    split[b'glove'][2, 0, 0] = np.nan
    path = write_pickle(tmp_path / 'd.pkl', data)
    train, _, _, _ = engine.load_data('iemocap', path, 'happy', verbose=False)
    for array in (train.audio, train.video, train.text):
        assert np.all(np.isfinite(array))
    assert list(train.audio[0, :3]) == [0, 0, 0] and train.video[1, 5] == 0 and train.text[2, 0, 0] == 0
    # finite values are untouched
    raw = split[b'covarep'][0, 3:]  # the generator's own NaN and -inf become 0 too
    np.testing.assert_allclose(train.audio[0, 3:], np.nan_to_num(raw, nan=0, posinf=0, neginf=0).astype(np.float32))


class Python2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 wrote str (BINSTRING opcodes), arrays' payloads included."""
    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + len(obj).to_bytes(4, 'little') + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def test_reads_a_python2_style_pickle(tmp_path):
    buf = io.BytesIO()
    Python2Pickler(buf, protocol=2).dump(iemocap_data(emotions=('angry',)))
    raw = buf.getvalue()
    assert pickle.SHORT_BINSTRING + bytes([5]) + b'angry' in raw  # a Python 2 str key
    path = tmp_path / 'py2.pkl'
    path.write_bytes(raw)
    train, _, test, dims = engine.load_data('iemocap', str(path), 'angry', verbose=False)
    assert dims == (74, 35, 300) and len(train) == 48
    np.testing.assert_allclose(test.labels, iemocap_data(emotions=('angry',))[b'angry'][b'test'][b'label'])


class Exploit:
    def __reduce__(self):
        return (os.system, ('touch pwned_by_pickle',))


@pytest.mark.parametrize('loader', ['data', 'checkpoint'])
def test_refuses_pickles_that_run_code(tmp_path, loader, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_pickle(tmp_path / 'evil.pkl', {b'happy': Exploit()})
    with pytest.raises(utils.UserError, match='refusing to load (posix|os).system'):
        if loader == 'data':
            engine.load_data('iemocap', path, 'happy')
        else:
            checkpoints.load_checkpoint(path)
    assert not (tmp_path / 'pwned_by_pickle').exists()


def _mutate(tmp_path, change):
    data = iemocap_data(emotions=('happy',))
    change(data[b'happy'])
    return write_pickle(tmp_path / 'bad.pkl', data)


BAD_INPUTS = {
    'missing emotion': (lambda d: None, 'sad', "emotion 'sad' not found"),
    'missing split': (lambda d: d.pop(b'valid'), 'happy', "split 'valid' missing"),
    'missing feature': (lambda d: d[b'test'].pop(b'facet'), 'happy', "feature 'facet' missing in happy/test"),
    'wrong rank': (lambda d: d[b'train'].__setitem__(b'covarep', d[b'train'][b'covarep'][:, :, None]), 'happy',
                   'happy/train/covarep should have 2 dimensions'),
    'wrong feature size': (lambda d: d[b'test'].__setitem__(b'glove', d[b'test'][b'glove'][:, :, :299]), 'happy',
                           'happy/test has feature sizes (74, 35, 299)'),
    'mismatched counts': (lambda d: d[b'valid'].__setitem__(b'label', d[b'valid'][b'label'][:5]), 'happy',
                          'happy/valid has mismatched sample counts'),
    'not an array': (lambda d: d[b'train'].__setitem__(b'label', [1, 0]), 'happy',
                     'happy/train/label should be a numeric array'),
    'split not a dict': (lambda d: d.__setitem__(b'test', [1, 2]), 'happy', 'should be a dict'),
}


@pytest.mark.parametrize('case', sorted(BAD_INPUTS))
def test_bad_structure_is_one_clear_error(tmp_path, case):
    change, emotion, message = BAD_INPUTS[case]
    path = _mutate(tmp_path, change)
    with pytest.raises(utils.UserError) as err:
        engine.load_data('iemocap', path, emotion, verbose=False)
    assert message in str(err.value) and path in str(err.value)


def test_feature_sizes_must_match_the_model(tmp_path):
    path = write_pickle(tmp_path / 'd.pkl', iemocap_data(emotions=('happy',), audio=70))
    with pytest.raises(utils.UserError, match=r'audio 70 \(model expects 74\)'):
        engine.load_data('iemocap', path, 'happy', expected_dims=(74, 35, 300), verbose=False)


@pytest.mark.parametrize('content', [b'', b'not a pickle at all', 'truncated'])
def test_unreadable_files(tmp_path, content):
    path = tmp_path / 'broken.pkl'
    if content == 'truncated':
        content = pickle.dumps(iemocap_data(emotions=('happy',)), protocol=2)[:5000]
    path.write_bytes(content)
    with pytest.raises(utils.UserError, match='broken.pkl'):
        engine.load_data('iemocap', str(path), 'happy')


def test_cli_reports_bad_data_without_traceback(tmp_path):
    path = _mutate(tmp_path, lambda d: d[b'test'].pop(b'label'))
    cli_error('train', ['--emotion', 'happy', '--data_path', path, '--model_path', tmp_path / 'c',
                        '--log_dir', tmp_path / 'l'], 'bad.pkl', "feature 'label' missing in happy/test")
    assert not (tmp_path / 'c').exists() and not (tmp_path / 'l').exists()
    cli_error('test', ['--emotion', 'happy', '--data_path', tmp_path / 'nope.pkl'], '--data_path', 'nope.pkl',
              'does not exist')


def test_default_data_path_prefers_real_then_sample(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    os.makedirs('data')
    small = iemocap_data(emotions=('happy',), marked=True)  # made before make_sample_data is replaced by it
    monkeypatch.setattr('data.iemocap.make_sample_data', lambda *args, **kwargs: small)
    assert engine.default_data_path(None) == os.path.join('data', 'sample_data.pkl')
    assert 'data/iemocap.pkl not found; using the SYNTHETIC sample data' in capsys.readouterr().out
    assert os.path.isfile('data/sample_data.pkl')
    write_pickle(tmp_path / 'data' / 'iemocap.pkl', iemocap_data(emotions=('happy',)))
    assert engine.default_data_path(None) == os.path.join('data', 'iemocap.pkl')
    with pytest.raises(utils.UserError, match='--data_path missing.pkl does not exist'):
        engine.default_data_path('missing.pkl')


def test_sample_data_layout_and_determinism(tmp_path):
    first, second = tmp_path / 'a.pkl', tmp_path / 'b.pkl'
    sizes = (('train', 40), ('valid', 10), ('test', 12))  # the default's layout; train.sh's test runs the default
    write_sample_data(str(first), seed=3, sizes=sizes)
    write_sample_data(str(second), seed=3, sizes=sizes)
    assert first.read_bytes() == second.read_bytes()
    raw = pickle.loads(first.read_bytes())
    assert set(raw) == {b'happy', b'sad', b'angry', b'neutral', b'synthetic'}
    for emotion in (b'happy', b'sad', b'angry', b'neutral'):
        assert set(raw[emotion]) == {b'train', b'valid', b'test'}
        split = raw[emotion][b'train']
        assert set(split) == {b'covarep', b'facet', b'glove', b'label'}
        assert split[b'covarep'].dtype == np.float64 and split[b'covarep'].shape[1] == 74
        assert split[b'facet'].dtype == np.float64 and split[b'facet'].shape[1] == 35
        assert split[b'glove'].dtype == np.float32 and split[b'glove'].shape[1:] == (20, 300)
        assert np.isnan(split[b'covarep']).any() and np.isneginf(split[b'covarep']).any()
        assert np.isnan(split[b'facet']).any()
        assert set(np.unique(split[b'label'].sum(axis=1))) == {1.0}
        # front zero-padding: a zero first step before any non-zero one, never zeros after words
        nonzero = np.abs(split[b'glove']).sum(axis=2) > 0
        assert not nonzero[:, 0].all() and nonzero[:, -1].all()
        assert np.all(np.diff(nonzero.astype(int), axis=1) >= 0)
    train, _, _, _ = engine.load_data('iemocap', str(first), 'neutral', verbose=False)
    assert train.synthetic
    assert [len(raw[b'sad'][name.encode()][b'label']) for name, _ in sizes] == [40, 10, 12]
