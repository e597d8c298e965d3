"""What the three dataset readers share: the split container, structure checks with
one-line errors, cleaning of non-finite features, and the atomic pickle writer of the
sample generators.

Every reader unpickles with safe_io.safe_load_pickle (numpy arrays, dicts, lists and
numbers only), accepts bytes or str keys and any numeric dtype, zeroes NaN and +-inf in
the features, refuses non-finite labels, and reads every size from the file.

One name per modality in the code: audio (the files' b'covarep'), video (b'facet', the FACET
visual features) and text (b'glove'). `video` is the paper code's name, kept in the flags
(--video_hidden), the checkpoints (video_factor, video_subnet) and the exported input 'video'.
"""
import pickle

import numpy as np

import safe_io
from safe_io import UserError

SYNTHETIC_KEY = 'synthetic'  # top-level marker that the sample generators write
SPLITS = ('train', 'valid', 'test')
FEATURES = ('covarep', 'facet', 'glove', 'label')  # audio, video, text, label


class Split:
    """One split: audio [N, A], video [N, V], text [N, T, 300] float32, labels [N, K] float32.

    targets is what the loss compares with: the class index [N] int64 of one-hot labels
    (classification), or the labels themselves [N, K] float32 (regression).
    """

    def __init__(self, audio, video, text, labels, regression=False, synthetic=False):
        self.audio, self.video, self.text, self.labels = audio, video, text, labels
        self.targets = labels if regression else labels.argmax(axis=1).astype('int64')
        self.regression = regression
        self.synthetic = synthetic  # True for the output of a sample generator

    def __len__(self):
        return self.audio.shape[0]

    def __getitem__(self, idx):
        return self.audio[idx], self.video[idx], self.text[idx], self.labels[idx]

    @property
    def dims(self):
        """(audio, video, text) feature sizes."""
        return self.audio.shape[1], self.video.shape[1], self.text.shape[2]


def safe_load(path):
    """Unpickle a dataset file, building only numpy arrays, dicts, lists and numbers."""
    return safe_io.safe_load_pickle(path, 'data file')


def text_key(key):
    return key.decode('latin1') if isinstance(key, bytes) else key


def str_keys(obj, path, where):
    if not isinstance(obj, dict):
        raise UserError('{}: {} should be a dict, found {}'.format(path, where, type(obj).__name__))
    return {text_key(k): v for k, v in obj.items()}


def is_synthetic(data):
    return isinstance(data, dict) and any(text_key(k) == SYNTHETIC_KEY for k in data)


def clean(a):
    """float32 copy (or the array itself) with every NaN and +-inf set to 0.

    The published audio holds NaN and -inf, the video NaN. In place where the array is
    ours, so that the largest (text) needs no second copy.
    """
    a = a.astype(np.float32, copy=False)
    if not a.flags.writeable:
        a = a.copy()
    a[~np.isfinite(a)] = 0.0
    return a


def load_split(path, where, raw, regression):
    """Check one {covarep, facet, glove, label} dict and turn it into a Split. `where` names it in errors."""
    feats = str_keys(raw, path, where)
    arrays = {}
    for key, ndim in zip(FEATURES, (2, 2, 3, 2)):
        if key not in feats:
            raise UserError('{}: feature {!r} missing in {}'.format(path, key, where))
        value = feats[key]
        if not isinstance(value, np.ndarray) or not (np.issubdtype(value.dtype, np.floating)
                                                     or np.issubdtype(value.dtype, np.integer)):
            raise UserError('{}: {}/{} should be a numeric array, found {}'.format(
                path, where, key, getattr(value, 'dtype', type(value).__name__)))
        if value.ndim != ndim:
            raise UserError('{}: {}/{} should have {} dimensions, found shape {}'.format(
                path, where, key, ndim, value.shape))
        if min(value.shape) == 0:
            raise UserError('{}: {}/{} is empty (shape {})'.format(path, where, key, value.shape))
        arrays[key] = value
    counts = {key: arrays[key].shape[0] for key in FEATURES}
    if len(set(counts.values())) != 1:
        raise UserError('{}: {} has mismatched sample counts {}'.format(path, where, counts))
    labels = np.asarray(arrays.pop('label'), dtype=np.float32)
    bad = int(np.sum(~np.isfinite(labels)))
    if bad:
        rows = np.flatnonzero(~np.all(np.isfinite(labels), axis=1))
        raise UserError('{}: {}/label holds {} NaN or infinite value(s) (first in row {}); labels must be finite'.format(
            path, where, bad, rows[0]))
    if not regression and labels.shape[1] < 2:
        raise UserError('{}: {}/label should be one-hot [N, classes >= 2], found shape {}'.format(
            path, where, labels.shape))
    feats.clear()  # drop the raw arrays as soon as their float32 copies exist
    raw.clear()
    return Split(clean(arrays.pop('covarep')), clean(arrays.pop('facet')), clean(arrays.pop('glove')), labels,
                 regression=regression)


def check_splits(path, sets, where, expected_dims=None, output_dim=None, output_flag='--output_dim'):
    """Same feature sizes and label count in every split; optionally those of a model."""
    input_dims, label_count = sets[0].dims, sets[0].labels.shape[1]
    for split, dataset in zip(SPLITS, sets):
        if dataset.dims != input_dims or dataset.labels.shape[1] != label_count:
            raise UserError('{}: {}{} has feature sizes {} and {} label columns but train has {} and {}'.format(
                path, where, split, dataset.dims, dataset.labels.shape[1], input_dims, label_count))
    if expected_dims is not None and tuple(expected_dims) != input_dims:
        names = ('audio', 'video', 'text')
        diff = ['{} {} (model expects {})'.format(n, got, want)
                for n, got, want in zip(names, input_dims, expected_dims) if got != want]
        raise UserError('{}: feature sizes do not match the model: {}'.format(path, ', '.join(diff)))
    if output_dim is not None and label_count != output_dim:
        raise UserError('{}: labels have {} {} but {} is {}'.format(
            path, label_count, 'classes' if not sets[0].regression else 'columns', output_flag, output_dim))
    return input_dims


def print_dims(path, input_dims, synthetic, dataset_name):
    if synthetic:
        print('NOTE: {} is SYNTHETIC sample data, not {}.'.format(path, dataset_name))
    print('Audio feature dimension is: {}'.format(input_dims[0]))
    print('Visual feature dimension is: {}'.format(input_dims[1]))
    print('Text feature dimension is: {}'.format(input_dims[2]))


def split_sizes(defaults, train=None, valid=None, test=None):
    """`defaults` ((split, n), ...) with the given sizes replaced; each must be >= 1."""
    given = dict(train=train, valid=valid, test=test)
    sizes = []
    for split, default in defaults:
        n = default if given[split] is None else int(given[split])
        if n < 1:
            raise ValueError('--{} must be >= 1, got {}'.format(split, n))
        sizes.append((split, n))
    return tuple(sizes)


def write_pickle_atomic(path, obj, what):
    """Pickle `obj` to `path` atomically (protocol 2, as a Python 2 writer would)."""
    with safe_io.atomic_write(path, 'wb') as f:
        pickle.dump(obj, f, protocol=2)
    print('Wrote SYNTHETIC sample data (not {}) to {}'.format(what, path))


# ---------------------------------------------------------------- MOSI / POM layout

def load_flat(data_path, name, label_check, expected_dims=None, verbose=True, output_dim=None,
              output_flag='--output_dim'):
    """Read a file with the splits at the top level (CMU-MOSI, POM), for regression.

    label_check(path, label_count) raises a UserError when the label count cannot be this
    dataset's. Returns (train, valid, test, input_dims).
    """
    data = safe_load(data_path)
    synthetic = is_synthetic(data)
    top = str_keys(data, data_path, 'the top level')
    missing = [split for split in SPLITS if split not in top]
    if missing:
        have = sorted(k for k in top if k != SYNTHETIC_KEY)
        if any(isinstance(v, dict) and set(SPLITS) <= {text_key(k) for k in v} for v in top.values()):
            raise UserError('{}: the file has {} at the top level, each holding train/valid/test, as the IEMOCAP '
                            'file does; use --dataset iemocap'.format(data_path, ', '.join(have)))
        raise UserError('{}: split {!r} missing at the top level (the file has: {})'.format(
            data_path, missing[0], ', '.join(have)))
    sets = [load_split(data_path, split, top.pop(split), regression=True) for split in SPLITS]
    del data, top
    label_check(data_path, sets[0].labels.shape[1])
    input_dims = check_splits(data_path, sets, '', expected_dims, output_dim, output_flag)
    for dataset in sets:
        dataset.synthetic = synthetic
    if verbose:
        print_dims(data_path, input_dims, synthetic, name)
    return sets[0], sets[1], sets[2], input_dims


def _unit(rng, size, density):
    direction = rng.randn(size) * (rng.rand(size) < density)
    direction[rng.randint(size)] += 1.0  # never all zero
    return direction / np.linalg.norm(direction)


def make_flat_sample(rng, sizes, audio_dim, video_dim, loadings, offset, low, high, step, note,
                     seq_len=20, text_dim=300):
    """SYNTHETIC regression data with the splits at the top level (the CMU-MOSI / POM layout).

    Each sample has F latent factors per modality (loadings is [K, 3F]: text, audio, video
    factors in that order), and labels = clip(offset + loadings @ factors + noise, low, high),
    rounded to multiples of `step` (annotator averages). Audio and video show their factors
    as shifts along hidden directions, text as one cue word per factor whose embedding
    encodes the factor's level (7 levels); every modality sees its factors with noise. No
    modality alone explains the labels. Audio holds NaN and -inf, video NaN, as the real
    features do.
    """
    n_labels, width = loadings.shape
    factors = width // 3
    audio_dirs = [_unit(rng, audio_dim, 0.3) for _ in range(factors)]
    video_dirs = [_unit(rng, video_dim, 0.4) for _ in range(factors)]
    vocab_size, words_per_level, levels = 400, 4, 7
    vocab = rng.randn(vocab_size, text_dim) * 0.15
    cue_ids = np.arange(factors * levels * words_per_level).reshape(factors, levels, words_per_level)
    for f in range(factors):
        direction = _unit(rng, text_dim, 1.0)
        for level in range(levels):
            vocab[cue_ids[f, level]] += 1.2 * (level - 3) * direction + 1.5 * _unit(rng, text_dim, 1.0)
    vocab = vocab.astype(np.float32)
    neutral = np.arange(cue_ids.size, vocab_size)

    data = {}
    for split, n in sizes:
        z = rng.randn(n, width)
        text_z, audio_z, video_z = z[:, :factors], z[:, factors:2 * factors], z[:, 2 * factors:]
        labels = offset + z @ loadings.T + 0.25 * rng.randn(n, n_labels)
        labels = np.clip(np.round(labels / step) * step, low, high).astype(np.float32)

        def seen(values):  # what a modality shows of its factors
            return values + 0.35 * rng.randn(*values.shape)

        audio = 0.2 + 0.14 * rng.randn(n, audio_dim) + 0.14 * 1.5 * seen(audio_z) @ np.array(audio_dirs)
        audio[rng.rand(n, audio_dim) < 0.01] = np.nan
        audio[rng.rand(n, audio_dim) < 0.005] = -np.inf
        video = -0.03 + 0.055 * rng.randn(n, video_dim) + 0.055 * 1.5 * seen(video_z) @ np.array(video_dirs)
        video[rng.rand(n, video_dim) < 0.01] = np.nan

        text_level = np.clip(np.round(1.5 * seen(text_z)), -3, 3).astype(int) + 3
        glove = np.zeros((n, seq_len, text_dim), dtype=np.float32)
        for i in range(n):
            length = rng.randint(max(4, factors), seq_len + 1)
            words = rng.choice(neutral, size=length)
            positions = rng.choice(length, size=factors, replace=False)
            for f in range(factors):
                words[positions[f]] = rng.choice(cue_ids[f, text_level[i, f]])
            glove[i, seq_len - length:] = vocab[words]
        data[split.encode()] = {b'covarep': audio, b'facet': video, b'glove': glove, b'label': labels}
    data[SYNTHETIC_KEY.encode()] = note
    return data
