"""What the dataset readers share: the split container, structure checks with one-line errors,
cleaning of non-finite features, the checks and printed lines of every load, and the generators'
common parts. Every reader unpickles with safe_io.safe_load_pickle (numpy arrays, dicts, lists and
numbers only), accepts bytes or str keys and any numeric dtype, zeroes NaN and +-inf in the
features, refuses non-finite labels, and reads every size from the file.

A reader is read in two steps so that data/cache.py can keep the result:
  prepare(path, task=None) -> generator: first an info dict (after the whole file was checked,
      so a bad file fails before anything is written), then (task, split, arrays) one split at a
      time, arrays = {audio [N, A], video [N, V], text [N, T, E], labels [N, K] float32}; the
      features may still be float64 and hold NaN/inf (clean() / finished_chunks() fix both).
  finish_load(...) -> the per-call checks (layout, label count, model sizes) and printed lines.
info = {layout: 'authors' | 'mmsa', synthetic, regression, tasks: [names] ('' for one task),
        description: the layout line or None, sample_of: real train size of a reduced sample or None}.

One name per modality in the code: audio (the files' covarep / audio), video (facet / vision)
and text (glove / text); `video` is the paper code's name, kept in flags, checkpoints and exports.
"""
import pickle

import numpy as np

import safe_io
from safe_io import UserError

SYNTHETIC_KEY = 'synthetic'  # top-level marker that the sample generators write
SPLITS = ('train', 'valid', 'test')
FEATURES = ('covarep', 'facet', 'glove', 'label')  # the authors' names of audio, video, text, label
MODALITIES = ('audio', 'video', 'text', 'labels')  # the prepared arrays of a split
# What an MMSA feature file's split keeps beside them for random missing (lmf/missing.py): the audio and video frame
# sequences [N, T, D] (non-finite values zeroed) whose time means are audio and video, and the lengths [N] of the
# audio, video and text sequences (float32, as every cached array).
SEQUENCES = ('audio_seq', 'video_seq', 'audio_lengths', 'video_lengths', 'text_lengths')
CHUNK_BYTES = 32 << 20  # features are converted this much at a time (no second copy of a large array)
LAYOUT_NAMES = {'authors': "the authors' processed pickle", 'mmsa': "MMSA's feature file"}


class Split:
    """One split: audio [N, A], video [N, V], text [N, T, E] float32, labels [N, K] float32.

    targets is what the loss compares with: the class index [N] int64 of one-hot labels
    (classification), or the labels themselves [N, K] float32 (regression). Arrays served from
    the cache are read-only memory maps. layout: 'authors' (the paper's pickles) or 'mmsa'. sequences: MMSA's
    files' {SEQUENCES name: array}, None for the authors' pickles.
    """

    def __init__(self, audio, video, text, labels, regression=False, synthetic=False, layout='authors',
                 sequences=None):
        self.audio, self.video, self.text, self.labels, self.sequences = audio, video, text, labels, sequences
        self.targets = labels if regression else labels.argmax(axis=1).astype('int64')
        self.regression, self.synthetic, self.layout = regression, synthetic, layout  # synthetic: a generator's

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


def open_top(path):
    """(the file's top-level dict with str keys and without the SYNTHETIC marker, synthetic)."""
    top = str_keys(safe_load(path), path, 'the top level')
    synthetic = SYNTHETIC_KEY in top
    top.pop(SYNTHETIC_KEY, None)
    return top, synthetic


def looks_like_mmsa(top):
    """True if a split of the str-keyed top level holds MMSA's keys (audio/vision), not covarep/facet."""
    keys = [{text_key(k) for k in value} for value in top.values() if isinstance(value, dict)]
    return any(k & {'audio', 'vision', 'regression_labels'} and not k & set(FEATURES) for k in keys)


def clean(a):
    """float32 copy (or the array itself) with every NaN and +-inf set to 0 (the published audio holds NaN
    and -inf, the video NaN); in place where the array is ours and float32: the text needs no second copy."""
    a = a.astype(np.float32, copy=False)
    if not a.flags.writeable:
        a = a.copy()
    a[~np.isfinite(a)] = 0.0
    return a


def row_blocks(a):
    """Slices of the rows of `a` that hold about CHUNK_BYTES as float32 each."""
    rows = max(1, CHUNK_BYTES // max(1, a[:1].size * 4))
    return [slice(start, start + rows) for start in range(0, a.shape[0], rows)]


def finished_chunks(a):
    """clean(a) in C order, a block of rows at a time (float32, C-contiguous, for writing to a file)."""
    for rows in row_blocks(a):
        chunk = np.array(a[rows], dtype=np.float32, order='C')  # a copy: `a` stays as it is
        chunk[~np.isfinite(chunk)] = 0.0
        yield chunk


def numeric_array(path, where, value, ndims):
    """`value` if it is a non-empty numeric ndarray with one of `ndims` dimensions."""
    if not isinstance(value, np.ndarray) or not (np.issubdtype(value.dtype, np.floating)
                                                 or np.issubdtype(value.dtype, np.integer)):
        raise UserError('{}: {} should be a numeric array, found {}'.format(
            path, where, getattr(value, 'dtype', type(value).__name__)))
    if value.ndim not in ndims:
        raise UserError('{}: {} should have {} dimensions, found shape {}'.format(
            path, where, ' or '.join(str(n) for n in ndims), value.shape))
    if min(value.shape) == 0:
        raise UserError('{}: {} is empty (shape {})'.format(path, where, value.shape))
    return value


def finite_labels(path, where, labels):
    """labels as float32 [N, K]; a NaN or infinite label is an error naming its first row."""
    labels = np.asarray(labels, dtype=np.float32)
    labels = labels.reshape(len(labels), -1)
    bad = ~np.isfinite(labels)
    if bad.any():
        raise UserError('{}: {} holds {} NaN or infinite value(s) (first in row {}); labels must be finite'.format(
            path, where, int(bad.sum()), np.flatnonzero(bad.any(axis=1))[0]))
    return labels


def check_authors_split(path, where, raw, regression):
    """Check one {covarep, facet, glove, label} dict; returns its arrays as
    {audio, video, text: as stored, labels: float32}. Empties `raw`. `where` names it in errors."""
    feats = str_keys(raw, path, where)
    arrays = {}
    for key, ndim in zip(FEATURES, (2, 2, 3, 2)):
        if key not in feats:
            raise UserError('{}: feature {!r} missing in {}'.format(path, key, where))
        arrays[key] = numeric_array(path, '{}/{}'.format(where, key), feats[key], (ndim,))
    counts = {key: arrays[key].shape[0] for key in FEATURES}
    if len(set(counts.values())) != 1:
        raise UserError('{}: {} has mismatched sample counts {}'.format(path, where, counts))
    labels = finite_labels(path, where + '/label', arrays['label'])
    if not regression and labels.shape[1] < 2:
        raise UserError('{}: {}/label should be one-hot [N, classes >= 2], found shape {}'.format(
            path, where, labels.shape))
    feats.clear()  # the raw dicts let go of the arrays: only the returned dict holds them
    raw.clear()
    return dict(audio=arrays['covarep'], video=arrays['facet'], text=arrays['glove'], labels=labels)


def check_same_sizes(path, parts, where=''):
    """((audio, video, text) sizes, label count) of train, which every split of {split: arrays} (a prepared
    split's dict, or a Split's vars) must share; checked before anything is written, and on every load."""
    sizes = {split: ((a['audio'].shape[-1], a['video'].shape[-1], a['text'].shape[2]), a['labels'].shape[1])
             for split, a in parts.items()}
    for split in SPLITS:
        if sizes[split] != sizes['train']:
            raise UserError('{}: {}{} has feature sizes {} and {} label columns but train has {} and {}'.format(
                path, where, split, *sizes[split], *sizes['train']))
    return sizes['train']


def in_memory(prepared, info, key):
    """The three Splits of task `key` from a prepare() generator whose info was taken, without a cache."""
    sets = {}
    for task, split, arrays in prepared:
        if task == key:
            sequences = {name: clean(arrays.pop(name)) for name in SEQUENCES if name in arrays} or None
            sets[split] = Split(clean(arrays.pop('audio')), clean(arrays.pop('video')), clean(arrays.pop('text')),
                                arrays.pop('labels'), info['regression'], info['synthetic'], info['layout'], sequences)
    return [sets[split] for split in SPLITS]


def finish_load(reader, path, info, key, sets, expected_dims=None, verbose=True, output_dim=None,
                output_flag='--output_dim', model=None):
    """The checks and lines of every load (cached or not). Returns (train, valid, test, input_dims).
    model: (layout, name) of the model the data is for; a file of the other layout (CMU-MOSI has two)
    is refused first. reader.check_label_count, if it has one, refuses another dataset's labels."""
    if model is not None and model[0] != info['layout']:
        raise UserError('{} was trained on {} but {} is {}'.format(model[1], LAYOUT_NAMES[model[0]], path,
                                                                   LAYOUT_NAMES[info['layout']]))
    if hasattr(reader, 'check_label_count'):
        reader.check_label_count(path, sets[0].labels.shape[1])
    input_dims, label_count = check_same_sizes(path, dict(zip(SPLITS, map(vars, sets))), key + '/' if key else '')
    if expected_dims is not None and tuple(expected_dims) != input_dims:
        diff = ['{} {} (model expects {})'.format(n, got, want)
                for n, got, want in zip(('audio', 'video', 'text'), input_dims, expected_dims) if got != want]
        raise UserError('{}: feature sizes do not match the model: {}'.format(path, ', '.join(diff)))
    if output_dim is not None and label_count != output_dim:
        raise UserError('{}: labels have {} {} but {} is {}'.format(
            path, label_count, 'classes' if not sets[0].regression else 'columns', output_flag, output_dim))
    for dataset in sets:
        dataset.synthetic, dataset.layout = info['synthetic'], info['layout']
    if verbose:
        if info.get('description'):
            print('{}: {}'.format(path, info['description']))
        if info['synthetic']:
            part = " ({} of the real split's {} train samples)".format(len(sets[0]), info['sample_of'])
            print('NOTE: {} is SYNTHETIC sample data{}, not {}.'.format(
                path, part if info.get('sample_of') else '', reader.NAME))
        for name, dim in zip(('Audio', 'Visual', 'Text'), input_dims):
            print('{} feature dimension is: {}'.format(name, dim))
    return sets[0], sets[1], sets[2], input_dims


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


def write_pickle_atomic(path, obj, what, protocol=2):
    """Pickle `obj` to `path` atomically (protocol 2 by default, as a Python 2 writer would)."""
    with safe_io.atomic_write(path, 'wb') as f:
        pickle.dump(obj, f, protocol=protocol)
    print('Wrote SYNTHETIC sample data (not {}) to {}'.format(what, path))


# ---------------------------------------------------------------- MOSI / POM layout

def prepare_flat(path, top, synthetic, label_check, description=None):
    """prepare() of a file with the splits at the top level (the authors' CMU-MOSI and POM),
    given its str-keyed top level. label_check(path, label_count) refuses a wrong label count;
    description: the line that every verbose load prints after '<path>: ' (None: no line)."""
    missing = [split for split in SPLITS if split not in top]
    if missing:
        have = sorted(top)
        if any(isinstance(v, dict) and set(SPLITS) <= {text_key(k) for k in v} for v in top.values()):
            raise UserError('{}: the file has {} at the top level, each holding train/valid/test, as the IEMOCAP '
                            'file does; use --dataset iemocap'.format(path, ', '.join(have)))
        raise UserError('{}: split {!r} missing at the top level (the file has: {})'.format(
            path, missing[0], ', '.join(have)))
    parts = {split: check_authors_split(path, split, top.pop(split), regression=True) for split in SPLITS}
    del top
    label_check(path, parts['train']['labels'].shape[1])
    check_same_sizes(path, parts)
    yield dict(layout='authors', synthetic=synthetic, regression=True, tasks=[''], description=description,
               sample_of=None)
    for split in SPLITS:
        yield '', split, parts.pop(split)


def single_task(path, info, task):
    """task_key() of the one-task datasets: `task` (an emotion, a trait) is not a part of the file."""
    return ''


def unit(rng, size, density=None, never_zero=False):
    """A random direction (norm 1) of `size` entries, of which about a share `density` are kept if given;
    never_zero adds 1 to a random entry first. rng: a RandomState, or a Generator without density."""
    direction = rng.standard_normal(size)
    if density is not None:
        direction = direction * (rng.rand(size) < density)
    if never_zero:
        direction[rng.randint(size)] += 1.0
    return direction / np.linalg.norm(direction)


def make_flat_sample(rng, sizes, audio_dim, video_dim, loadings, offset, low, high, step, note,
                     seq_len=20, text_dim=300):
    """SYNTHETIC regression data with the splits at the top level (the CMU-MOSI / POM layout).

    Each sample has F latent factors per modality (loadings is [K, 3F]: text, audio, video factors),
    and labels = clip(offset + loadings @ factors + noise, low, high) rounded to multiples of `step`
    (annotator averages). Audio and video show their factors with noise as shifts along hidden
    directions, text as one cue word per factor whose embedding encodes its level (of 7), so no
    modality alone explains the labels. Audio holds NaN and -inf, video NaN, as the real ones do.
    """
    n_labels, width = loadings.shape
    factors = width // 3
    audio_dirs = [unit(rng, audio_dim, 0.3, True) for _ in range(factors)]
    video_dirs = [unit(rng, video_dim, 0.4, True) for _ in range(factors)]
    vocab_size, words_per_level, levels = 400, 4, 7
    vocab = rng.randn(vocab_size, text_dim) * 0.15
    cue_ids = np.arange(factors * levels * words_per_level).reshape(factors, levels, words_per_level)
    for f in range(factors):
        direction = unit(rng, text_dim, 1.0, True)
        for level in range(levels):
            vocab[cue_ids[f, level]] += 1.2 * (level - 3) * direction + 1.5 * unit(rng, text_dim, 1.0, True)
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
