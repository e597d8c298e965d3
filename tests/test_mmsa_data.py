"""MMSA's feature files (data/mmsa.py): pickle variants, MMSA's preparation for LMF, layout detection,
the SYNTHETIC samples, the safe unpickler, and every bad input as one line."""
import builtins
import contextlib
import os
import pickle
import sys

import numpy as np
import pytest

from helpers import cli_error, iemocap_data, mmsa_data, script, write_pickle
import data
from data import mmsa, mosi, pom
import utils
import safe_io
from lmf import engine

SIZES = (12, 6, 8)


def mmsa_reference(split):
    """MMSA's data loader for LMF, written from its description (mmsa.md), on one whole split."""
    audio = split['audio'].astype(np.float32)
    vision = split['vision'].astype(np.float32)
    audio[audio == -np.inf] = 0
    vision = np.transpose(np.mean(np.transpose(vision, (1, 0, 2)), axis=0, keepdims=True), (1, 0, 2))[:, 0]
    audio = np.transpose(np.mean(np.transpose(audio, (1, 0, 2)), axis=0, keepdims=True), (1, 0, 2))[:, 0]
    vision[vision != vision] = 0
    audio[audio != audio] = 0
    labels = np.array(split['regression_labels']).astype(np.float32)[:, None]
    return audio, vision, split['text'].astype(np.float32), labels


def save(tmp_path, obj, name='f.pkl', protocol=4):
    return write_pickle(tmp_path / name, obj, protocol=protocol)


def load_error(dataset, path, *fragments):
    """engine.load_data(dataset, path) under utils.run_cli, the error path of every script: one 'error:' line,
    exit code 2; returns the line."""
    return cli_error(lambda argv: engine.load_data(*argv), [dataset, path], *fragments)


# ---------------------------------------------------------------- reading and preparing

@pytest.mark.parametrize('protocol', [2, 4, 5])
@pytest.mark.parametrize('as_bytes', [False, True])
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_loads_every_pickle_variant(tmp_path, capsys, protocol, as_bytes, dtype):
    raw = mmsa_data('mosei', SIZES, dtype=dtype)
    path = save(tmp_path, mmsa_data('mosei', SIZES, dtype=dtype, as_bytes=as_bytes), protocol=protocol)
    train, valid, test, dims = engine.load_data('mosei', path)
    assert dims == (74, 35, 768) and [len(s) for s in (train, valid, test)] == list(SIZES)
    for split, name in zip((train, valid, test), ('train', 'valid', 'test')):
        assert split.layout == 'mmsa' and split.regression and not split.synthetic
        assert split.audio.shape == (len(split), 74) and split.video.shape == (len(split), 35)
        assert split.text.shape == (len(split), 6, 768) and split.labels.shape == (len(split), 1)
        for got, want in zip((split.audio, split.video, split.text, split.labels), mmsa_reference(raw[name])):
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, want)  # exactly MMSA's numbers
    assert capsys.readouterr().out.splitlines() == [
        '{}: MMSA feature file (unaligned: audio 7, vision 5, text 6 steps)'.format(path),
        'Audio feature dimension is: 74', 'Visual feature dimension is: 35', 'Text feature dimension is: 768']


def test_preparation_zeroes_what_mmsa_zeroes_and_the_infinities_it_keeps(tmp_path):
    raw = mmsa_data('mosi', SIZES, dtype=np.float64)
    train = raw['train']
    train['audio'][0, :, 1] = -np.inf  # MMSA: -> 0 before the mean
    train['audio'][1, 2, 3] = np.inf  # MMSA keeps the +inf mean; zeroed here
    train['vision'][2, 1, 4] = np.nan  # the mean is NaN -> 0
    train['vision'][3, 0, 2] = -np.inf  # MMSA keeps -inf; zeroed here
    train['text'][4, 0, 5] = np.nan
    path = save(tmp_path, raw)
    got = engine.load_data('mosi', path, verbose=False)[0]
    audio, vision, text, _ = mmsa_reference(raw['train'])
    assert got.audio[0, 1] == 0 and np.isinf(audio[1, 3]) and got.audio[1, 3] == 0
    assert got.video[2, 4] == 0 and np.isneginf(vision[3, 2]) and got.video[3, 2] == 0
    assert got.text[4, 0, 5] == 0
    finite = np.isfinite(audio)
    np.testing.assert_array_equal(got.audio[finite], audio[finite])
    assert all(np.isfinite(a).all() for a in (got.audio, got.video, got.text))
    # the mean is over the whole padded time axis: the lengths are not used
    short = int(np.flatnonzero(raw['valid']['audio_lengths'] < 7)[0])
    audio = raw['valid']['audio'][short].astype(np.float32)
    valid = engine.load_data('mosi', path, verbose=False)[1]
    np.testing.assert_allclose(valid.audio[short], np.where(np.isneginf(audio), 0, audio).sum(axis=0) / 7, rtol=1e-5)


def test_mosi_reads_both_layouts_and_says_which(tmp_path, capsys):
    mmsa_file = save(tmp_path, mmsa_data('mosi', SIZES), 'mmsa.pkl')
    train, _, _, dims = engine.load_data('mosi', mmsa_file)
    assert dims == (5, 20, 768) and train.layout == 'mmsa'
    assert capsys.readouterr().out.splitlines()[0] == \
        '{}: MMSA feature file (unaligned: audio 7, vision 5, text 6 steps)'.format(mmsa_file)
    authors = write_pickle(tmp_path / 'authors.pkl', mosi.make_sample_data(0, (('train', 8), ('valid', 4),
                                                                                ('test', 4))))
    train, _, _, dims = engine.load_data('mosi', authors)
    assert dims == (74, 47, 300) and train.layout == 'authors' and train.synthetic
    assert 'MMSA' not in capsys.readouterr().out


def test_aligned_files_and_any_feature_size(tmp_path, capsys):
    raw = mmsa_data('mosei', SIZES, steps=(6, 6, 6))
    for split in raw.values():
        del split['audio_lengths'], split['vision_lengths']
        split['vision'] = split['vision'][:, :, :30]  # a user's own MMSA-FET features
    path = save(tmp_path, raw)
    _, _, _, dims = engine.load_data('mosei', path)
    assert dims == (74, 30, 768)
    assert capsys.readouterr().out.startswith('{}: MMSA feature file (aligned: 6 steps)\n'.format(path))


def test_regression_labels_may_be_a_list_or_a_column(tmp_path):
    raw = mmsa_data('sims', SIZES)
    raw['train']['regression_labels'] = [float(v) for v in raw['train']['regression_labels']]
    raw['test']['regression_labels'] = raw['test']['regression_labels'][:, None]
    train, _, test, _ = engine.load_data('sims', save(tmp_path, raw), verbose=False)
    assert train.labels.shape == (12, 1) and test.labels.shape == (8, 1)


# ---------------------------------------------------------------- the wrong dataset or layout

WRONG_DATASET = {
    'sims file as mosei': ('sims', 'mosei', "vision features are 709 wide as CH-SIMS's, CMU-MOSEI's are 35; "
                                            "use --dataset sims"),
    'mosi file as mosei': ('mosi', 'mosei', "vision features are 20 wide as CMU-MOSI's, CMU-MOSEI's are 35; "
                                            "use --dataset mosi"),
    'mosei file as simsv2': ('mosei', 'simsv2', "vision features are 35 wide as CMU-MOSEI's, CH-SIMS v2's are 709; "
                                                "use --dataset mosei"),
    'mosei file as mosi': ('mosei', 'mosi', "vision features are 35 wide as CMU-MOSEI's, CMU-MOSI's are 20; "
                                            "use --dataset mosei"),
    'mmsa file as iemocap': ('mosei', 'iemocap', "this is an MMSA feature file (train/valid/test holding audio, "
                                                 "vision and text), not the authors' IEMOCAP pickle; use --dataset mosei"),
    'mmsa file as pom': ('sims', 'pom', "this is an MMSA feature file (train/valid/test holding audio, vision and "
                                        "text), not the authors' POM pickle; use --dataset sims"),
}


@pytest.mark.parametrize('case', sorted(WRONG_DATASET))
def test_a_file_of_another_dataset_names_the_right_flag(tmp_path, case):
    made_as, given_as, message = WRONG_DATASET[case]
    path = save(tmp_path, mmsa_data(made_as, SIZES))
    with pytest.raises(utils.UserError) as err:
        engine.load_data(given_as, path, 'happy' if given_as == 'iemocap' else None)
    assert str(err.value) == '{}: {}'.format(path, message)


def test_simsv2_reads_sims_files_they_share_the_signature(tmp_path):
    assert engine.load_data('simsv2', save(tmp_path, mmsa_data('sims', SIZES)), verbose=False)[3] == (33, 709, 768)


@pytest.mark.parametrize('dataset', ['mosei', 'sims', 'simsv2'])
def test_the_authors_layouts_are_refused_by_the_mmsa_only_datasets(tmp_path, dataset):
    sizes = (('train', 6), ('valid', 3), ('test', 3))
    for made, flag in ((mosi.make_sample_data(0, sizes), 'mosi'), (pom.make_sample_data(0, sizes), 'pom'),
                       (iemocap_data(emotions=('happy',), sizes=(6, 3, 3)), 'iemocap')):
        path = write_pickle(tmp_path / '{}.pkl'.format(flag), made)
        with pytest.raises(utils.UserError, match='not an MMSA feature file, which --dataset {} needs; use --dataset {}$'
                           .format(dataset, flag)):
            engine.load_data(dataset, path)


@pytest.mark.parametrize('dataset, value, message', [
    ('sims', 1.4, "train/regression_labels holds 1.4 in row 3, outside CH-SIMS's range [-1, 1]; CMU-MOSI and "
                  "CMU-MOSEI labels span [-3, 3]: use --dataset mosi or mosei"),
    ('mosei', -3.2, "train/regression_labels holds -3.2 in row 3, outside CMU-MOSEI's range [-3, 3]"),
])
def test_labels_outside_the_range_are_refused(tmp_path, dataset, value, message):
    raw = mmsa_data(dataset, SIZES)
    raw['train']['regression_labels'][3] = value
    path = save(tmp_path, raw)
    with pytest.raises(utils.UserError) as err:
        engine.load_data(dataset, path)
    assert str(err.value) == '{}: {}'.format(path, message)


# ---------------------------------------------------------------- bad input: one line, nothing written

def _set(split, key, value):
    return lambda raw: raw[split].__setitem__(key, value(raw[split][key]))


BAD_INPUTS = {
    'missing split': (lambda raw: raw.pop('valid'), "split 'valid' missing at the top level (the file has: test, train)"),
    'missing key': (lambda raw: raw['test'].pop('vision'), "key 'vision' missing in split 'test' (it has: "),
    'different lengths': (_set('test', 'text', lambda a: a[:7]),
                          'test has arrays of different lengths: audio 8, vision 8, text 7, regression_labels 8'),
    'short labels': (_set('train', 'regression_labels', lambda a: a[:-1]),
                     'train has arrays of different lengths: audio 12, vision 12, text 12, regression_labels 11'),
    'NaN label': (_set('valid', 'regression_labels', lambda a: np.where(np.arange(len(a)) == 4, np.nan, a)),
                  'valid/regression_labels holds 1 NaN or infinite value(s) (first in row 4); labels must be finite'),
    'infinite label': (_set('test', 'regression_labels', lambda a: np.where(np.arange(len(a)) >= 2, np.inf, a)),
                       'test/regression_labels holds 6 NaN or infinite value(s) (first in row 2)'),
    'audio 2-d': (_set('train', 'audio', lambda a: a.mean(axis=1)), 'train/audio should have 3 dimensions, found shape (12, 74)'),
    'text 4-d': (_set('valid', 'text', lambda a: a[..., None]), 'valid/text should have 3 dimensions, found shape (6, 6, 768, 1)'),
    'labels 2 columns': (_set('train', 'regression_labels', lambda a: np.stack([a, a], axis=1)),
                         'train/regression_labels should be [N] or [N, 1], found shape (12, 2)'),
    'strings as features': (_set('train', 'audio', lambda a: np.array(['x'] * len(a))),
                            'train/audio should be a numeric array, found <U1'),
    'widths differ': (_set('test', 'audio', lambda a: a[:, :, :70]),
                      'test has audio/vision/text features 70/35/768 wide but train has 74/35/768'),
    'split not a dict': (lambda raw: raw.__setitem__('test', [1, 2]), "split 'test' should be a dict, found list"),
    'empty split': (lambda raw: raw.__setitem__('valid', {k: v[:0] if hasattr(v, 'shape') else v[:0]
                                                          for k, v in raw['valid'].items()}), 'valid/audio is empty'),
}


@pytest.mark.parametrize('case', sorted(BAD_INPUTS))
def test_bad_structure_is_one_clear_error_and_writes_nothing(tmp_path, case, monkeypatch):
    cache_dir = tmp_path / 'cache'
    monkeypatch.setenv('LMF_CACHE_DIR', str(cache_dir))
    change, message = BAD_INPUTS[case]
    raw = mmsa_data('mosei', SIZES)
    change(raw)
    path = save(tmp_path, raw)
    with pytest.raises(utils.UserError) as err:
        engine.load_data('mosei', path)
    assert str(err.value).startswith(path + ': ') and message in str(err.value), str(err.value)
    assert not cache_dir.exists() or os.listdir(str(cache_dir)) == []


def test_cli_bad_data_is_one_line_exit_2(tmp_path):
    raw = mmsa_data('mosei', SIZES)
    raw['test'].pop('regression_labels')
    load_error('mosei', save(tmp_path, raw), "key 'regression_labels' missing in split 'test'")
    load_error('mosei', save(tmp_path, mmsa_data('sims', SIZES), 'sims.pkl'),
               "vision features are 709 wide as CH-SIMS's, CMU-MOSEI's are 35; use --dataset sims")


# ---------------------------------------------------------------- damaged files

def zeroed(raw_bytes):
    """A broken download: a block of zero bytes inside the file, where the next opcode is."""
    start = raw_bytes.index(b'regression_labels')  # a key, then opcodes follow
    return raw_bytes[:start - 2] + b'\0' * 4096 + raw_bytes[start - 2 + 4096:]


@pytest.mark.parametrize('damage', ['cut in half', 'zeros inside'])
def test_a_damaged_file_says_so(tmp_path, damage, monkeypatch):
    monkeypatch.setenv('LMF_CACHE_DIR', str(tmp_path / 'cache'))
    whole = pickle.dumps(mmsa_data('mosei', SIZES), protocol=4)
    path = tmp_path / 'mine.pkl'
    path.write_bytes(whole[:len(whole) // 2] if damage == 'cut in half' else zeroed(whole))
    with pytest.raises(utils.UserError) as err:
        engine.load_data('mosei', str(path))
    message = str(err.value)
    assert str(path) in message and 'is damaged' in message, message
    if damage == 'zeros inside':
        assert "invalid load key, '\\x00'" in message
    assert 'SHA-256' not in message  # not a file that MMSA publishes
    assert not (tmp_path / 'cache').exists() or os.listdir(str(tmp_path / 'cache')) == []


def test_a_damaged_published_file_says_whether_its_sha256_matches(tmp_path, monkeypatch):
    folder = tmp_path / 'MOSEI' / 'Processed'
    folder.mkdir(parents=True)
    path = folder / 'unaligned_50.pkl'
    path.write_bytes(zeroed(pickle.dumps(mmsa_data('mosei', SIZES), protocol=4)))
    line = load_error('mosei', str(path), str(path), 'is damaged', "invalid load key, '\\x00'")
    assert line.endswith("its SHA-256 is not the one MMSA publishes for MOSEI/Processed/unaligned_50.pkl (an "
                         "incomplete or broken download): download it again"), line
    # the same name under another --dataset is not a published file
    with pytest.raises(utils.UserError) as err:
        engine.load_data('sims', str(path))
    assert 'SHA-256' not in str(err.value)
    # a file that hashes as published but fails: the reader's fault
    monkeypatch.setitem(mmsa.PUBLISHED_SHA256, ('mosei', 'unaligned_50.pkl'),
                        ('MOSEI/Processed/unaligned_50.pkl', mmsa.sha256_file(str(path))))
    with pytest.raises(utils.UserError, match='matches the one MMSA publishes for MOSEI/Processed/unaligned_50.pkl'):
        engine.load_data('mosei', str(path))


def test_good_files_are_never_hashed(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(mmsa, 'sha256_file', lambda *a: calls.append(a) or '')
    folder = tmp_path / 'MOSI' / 'Processed'
    folder.mkdir(parents=True)
    path = save(folder, mmsa_data('mosi', SIZES), 'unaligned_50.pkl')
    engine.load_data('mosi', path, verbose=False)
    assert calls == []


# ---------------------------------------------------------------- the safe unpickler

class Exploit:
    def __init__(self, function, argument):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return (self.function, (self.argument,))


class Plain:
    pass


@pytest.mark.parametrize('payload, refused', [
    (Exploit(os.system, 'touch pwned_by_pickle'), '(posix|os).system'),
    (Exploit(builtins.eval, "open('pwned_by_pickle', 'w')"), '(__builtin__|builtins).eval'),
    (Plain(), 'copyreg._reconstructor|test_mmsa_data.Plain'),
])
def test_pickles_that_could_run_code_are_refused(tmp_path, monkeypatch, payload, refused):
    monkeypatch.chdir(tmp_path)
    raw = mmsa_data('mosei', SIZES)
    raw['train']['id'] = payload
    path = save(tmp_path, raw, protocol=2)
    with pytest.raises(utils.UserError, match='refusing to load ({})'.format(refused)):
        engine.load_data('mosei', path)
    assert not (tmp_path / 'pwned_by_pickle').exists()


def test_refusal_on_the_command_line_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    raw = mmsa_data('sims', SIZES)
    raw['valid']['raw_text'] = Exploit(os.system, 'touch pwned_by_pickle')
    load_error('sims', save(tmp_path, raw), 'refusing to load', 'system')
    assert not (tmp_path / 'pwned_by_pickle').exists()


def test_what_real_files_hold_is_allowed(tmp_path):
    raw = mmsa_data('sims', SIZES)
    split = raw['train']
    split['raw_text'] = np.array(split['raw_text'], dtype=object)  # object arrays of strings
    split['id'] = np.array(list(split['id']))  # unicode arrays
    split['annotations'] = [np.str_(a) for a in split['annotations']]  # numpy scalars
    split['classification_labels'] = [np.float64(c) for c in split['classification_labels']]
    split['meta'] = (np.int64(3), 'text', b'bytes', 2.5, None, True)
    for protocol in (2, 3, 4, 5):
        path = save(tmp_path, raw, 'p{}.pkl'.format(protocol), protocol=protocol)
        loaded = safe_io.safe_load_pickle(path)
        assert list(loaded['train']['raw_text']) == list(split['raw_text'])
        assert engine.load_data('sims', path, verbose=False)[3] == (33, 709, 768)


# ---------------------------------------------------------------- the SYNTHETIC samples

@pytest.mark.parametrize('dataset', mmsa.DATASETS)
def test_sample_layout_and_determinism(tmp_path, dataset, capsys):
    sizes = (('train', 20), ('valid', 6), ('test', 8))
    first = mmsa.make_sample_data(dataset, 3, sizes)
    second = mmsa.make_sample_data(dataset, 3, sizes)
    assert pickle.dumps(first, protocol=4) == pickle.dumps(second, protocol=4)
    assert set(first) == {'train', 'valid', 'test', 'synthetic'}
    audio_steps, vision_steps, text_steps = mmsa.STEPS[dataset]
    audio_width, vision_width = mmsa.SIGNATURES[dataset]
    keys = {'raw_text', 'id', 'audio', 'vision', 'text', 'text_bert', 'audio_lengths', 'vision_lengths',
            'annotations', 'classification_labels', 'regression_labels'}
    limit = mmsa.LABEL_LIMITS[dataset]
    if limit < 3:
        keys |= {'regression_labels_T', 'regression_labels_A', 'regression_labels_V'}
    for name, n in sizes:
        split = first[name]
        assert set(split) == keys
        assert split['audio'].shape == (n, audio_steps, audio_width) and split['audio'].dtype == np.float32
        assert split['vision'].shape == (n, vision_steps, vision_width) and split['vision'].dtype == np.float32
        assert split['text'].shape == (n, text_steps, 768) and split['text_bert'].shape == (n, 3, text_steps)
        assert len(split['raw_text']) == len(split['id']) == len(split['annotations']) == n
        for key in [k for k in keys if k.startswith('regression_labels')]:
            labels = split[key]
            assert labels.shape == (n,) and labels.min() >= -limit and labels.max() <= limit
            np.testing.assert_allclose(labels / 0.2, np.round(labels / 0.2), atol=1e-4)  # multiples of 0.2
        # padding zeros after the true lengths, features before
        steps = np.abs(split['audio']).sum(axis=2) > 0
        assert (steps.sum(axis=1) == split['audio_lengths']).all()
        assert (np.abs(split['text']).sum(axis=2) > 0).sum(axis=1).tolist() == split['text_bert'][:, 1].sum(axis=1).tolist()
        assert set(split['annotations']) <= {'Negative', 'Neutral', 'Positive'}
    merged = {key: np.concatenate([first[s][key] for s, _ in sizes]) for key in ('audio', 'vision')}
    assert np.isneginf(merged['audio']).any() and np.isnan(merged['vision']).any()
    labels = np.concatenate([mmsa.make_sample_data(dataset, 0, (('train', 200), ('valid', 1), ('test', 1)),
                                                   steps=(4, 4, 6))['train']['regression_labels']])
    assert (labels == 0).any() and not np.signbit(labels[labels == 0]).any()  # exact zeros, no -0
    path = tmp_path / 'sample.pkl'
    mmsa.write_sample_data(str(path), dataset, 1, sizes)
    train = engine.load_data(dataset, str(path))[0]
    assert train.synthetic and train.layout == 'mmsa'
    assert "NOTE: {} is SYNTHETIC sample data (20 of the real split's {} train samples), not {}.".format(
        path, mmsa.REAL_SPLIT_SIZES[dataset][0], mmsa.NAMES[dataset]) in capsys.readouterr().out


def ridge_correlations(sets):
    """Test correlation of a ridge fit (alpha picked on valid) on the prepared features, per modality subset."""
    def features(split, use):
        parts = dict(a=split.audio, v=split.video, t=np.asarray(split.text).mean(axis=1))
        return np.concatenate([parts[m] for m in use], axis=1)

    train, valid, test = sets
    scores = {}
    for use in ('tav', 'ta', 'tv', 'av', 't', 'a', 'v'):
        x = [features(s, use) for s in sets]
        mean, std = x[0].mean(axis=0), x[0].std(axis=0) + 1e-6
        x = [((v - mean) / std).astype(np.float64) for v in x]
        y = train.labels[:, 0] - train.labels.mean()
        # the dual form (fewer samples than features): one eigendecomposition of the N x N Gram matrix
        eigenvalues, q = np.linalg.eigh(x[0] @ x[0].T)
        best = None
        for alpha in (1.0, 10.0, 100.0, 1000.0):
            coef = q @ ((q.T @ y) / (eigenvalues + alpha))
            corr = np.corrcoef(x[1] @ (x[0].T @ coef), valid.labels[:, 0])[0, 1]
            if best is None or corr > best[0]:
                best = corr, x[0].T @ coef
        scores[use] = np.corrcoef(x[2] @ best[1], test.labels[:, 0])[0, 1]
    return scores


@pytest.mark.parametrize('dataset', ['mosi', 'mosei', 'sims'])
def test_the_sample_is_learnable_and_needs_all_three_modalities(tmp_path, dataset):
    sizes = (('train', 300), ('valid', 80), ('test', 150))
    path = tmp_path / 's.pkl'
    write_pickle(path, mmsa.make_sample_data(dataset, 0, sizes, steps=(20, 20, 20)), protocol=4)
    sets = engine.load_data(dataset, str(path), verbose=False)[:3]
    try:  # one BLAS thread: with paddle's OpenMP pools beside it, OpenBLAS threads made eigh 50x slower
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = contextlib.nullcontext
    with threadpool_limits(1):
        scores = ridge_correlations(sets)
    assert scores['tav'] > 0.75, scores
    for use in ('ta', 'tv', 'av', 't', 'a', 'v'):
        assert scores[use] < scores['tav'] - 0.05, (use, scores)  # every modality adds to the fusion


# ---------------------------------------------------------------- readers, default paths, the generator CLI

@pytest.mark.parametrize('dataset', data.DATASETS)
def test_every_dataset_has_a_reader(dataset):
    reader = engine.data_module(dataset)
    for attribute in ('NAME', 'REAL_PATH', 'SAMPLE_PATH', 'SPLIT_SIZES', 'DATASET', 'CACHE_VERSION'):
        assert getattr(reader, attribute) is not None
    assert callable(reader.load) and callable(reader.write_sample_data) and callable(reader.prepare)
    assert reader.DATASET == dataset


def test_default_paths(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    small = mmsa.make_sample_data('mosei', 0, (('train', 4), ('valid', 2), ('test', 2)), steps=(3, 3, 6))
    monkeypatch.setattr(mmsa, 'make_sample_data', lambda *args, **kwargs: small)
    assert engine.default_data_path(None, 'mosei') == os.path.join('data', 'mosei_sample.pkl')
    assert 'data/MOSEI/Processed/unaligned_50.pkl not found; using the SYNTHETIC sample data' in capsys.readouterr().out
    assert mmsa.default_path('mosi') == os.path.join('data', 'mmsa_mosi_sample.pkl')
    assert os.path.isfile('data/mmsa_mosi_sample.pkl')
    os.makedirs('data/SIMS/Processed')
    write_pickle('data/SIMS/Processed/unaligned_39.pkl', mmsa_data('sims', SIZES))
    assert mmsa.default_path('sims') == engine.default_data_path(None, 'sims') == mmsa.REAL_PATHS['sims']
    assert engine.data_module('mosi').SAMPLE_PATH == os.path.join('data', 'mosi_sample.pkl')


def test_make_sample_data_cli(tmp_path, monkeypatch, capsys):
    out = str(tmp_path / 'm.pkl')

    def make(*args):
        monkeypatch.setattr(sys, 'argv', ['make_sample_data.py', '--out', out] + list(args))
        script('data/make_sample_data').main()
    make('--dataset', 'mosi', '--layout', 'mmsa', '--train', '5', '--valid', '2', '--test', '3')
    train, valid, test, dims = engine.load_data('mosi', out, verbose=False)
    assert dims == (5, 20, 768) and (len(train), len(valid), len(test)) == (5, 2, 3) and train.layout == 'mmsa'
    for dataset, layout in (('pom', 'mmsa'), ('sims', 'authors')):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            make('--dataset', dataset, '--layout', layout)
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1] == 'make_sample_data.py: error: --dataset {} has no {} ' \
            'layout'.format(dataset, layout)
