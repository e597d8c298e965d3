"""MMSA's feature files (CMU-MOSI, CMU-MOSEI, CH-SIMS, CH-SIMS v2): the reader, which prepares
them as MMSA prepares them for LMF, and a generator of SYNTHETIC samples in their layout.

    {'train'|'valid'|'test': {             (str keys; bytes keys are read too)
        'audio':  [N, T_a, D_a],  'vision': [N, T_v, D_v]   float32 or float64 (MMSA-FET),
        'text':   [N, T_t, 768] BERT features, zero-padded at the end,
        'regression_labels': [N] in [-3, 3] (CMU-MOSI/MOSEI) or [-1, 1] (CH-SIMS),
        'text_bert' [N, 3, T_t], 'audio_lengths' and 'vision_lengths' (unaligned files only): read
        for the lengths (random missing); not used here: 'raw_text', 'id', 'annotations',
        'classification_labels', CH-SIMS also 'regression_labels_T', '_A', '_V'}}

Preparation, as MMSA's data loader does for LMF: features as float32; audio -inf -> 0; audio
and vision averaged over the whole padded time axis (the lengths are not used) -> [N, D];
then NaN -> 0. Deviation: +-inf left after the mean (MMSA keeps them) and non-finite text
values are zeroed too, as every reader here does. Text stays the full padded sequence
[N, T_t, 768]; labels are regression_labels as float32 [N, 1] (CH-SIMS: the multimodal label).
Kept beside them for random missing (lmf/missing.py, common.SEQUENCES): the audio and vision
frame sequences (non-finite values zeroed) and the lengths of the three sequences (the text's:
the sum of text_bert's attention mask; without it, up to the last step that is not zero).

Every size is read from the file (users' own MMSA-FET files have others); (audio, vision) widths
that are another dataset's real ones, and labels outside the dataset's range, are refused naming
the dataset. `--dataset mosi` reads these and the authors' layout; mosei, sims, simsv2 only these.

The SYNTHETIC samples have the unaligned layout with the real widths, time lengths and keys,
fewer samples (500/120/250) and sentiment = the sum of one hidden factor per modality, each
shown with noise (text as cue tokens, audio and vision as shifts in the valid time steps), so
fusion beats any one modality. Scores on them say that the code learns, nothing about sentiment.
"""
import functools
import hashlib
import os

import numpy as np

from data import MMSA_ONLY, cache, common
from safe_io import DamagedFile, UserError

DATASETS = ('mosi', 'mosei', 'sims', 'simsv2')
NAMES = {'mosi': 'CMU-MOSI', 'mosei': 'CMU-MOSEI', 'sims': 'CH-SIMS', 'simsv2': 'CH-SIMS v2'}
SIGNATURES = {'mosi': (5, 20), 'mosei': (74, 35), 'sims': (33, 709), 'simsv2': (33, 709)}  # (audio, vision) widths
TEXT_DIM = 768
# (audio, vision, text) time steps of the unaligned files (CH-SIMS v2: MMSA's config)
STEPS = {'mosi': (375, 500, 50), 'mosei': (500, 500, 50), 'sims': (400, 55, 39), 'simsv2': (400, 55, 39)}
LABEL_LIMITS = {'mosi': 3.0, 'mosei': 3.0, 'sims': 1.0, 'simsv2': 1.0}  # labels lie in [-limit, limit]
REAL_SPLIT_SIZES = {'mosi': (1284, 229, 686), 'mosei': (16326, 1871, 4659), 'sims': (1368, 456, 457),
                    'simsv2': (2722, 647, 1034)}
SAMPLE_SPLIT_SIZES = (('train', 500), ('valid', 120), ('test', 250))
REAL_PATHS = {'mosi': os.path.join('data', 'MOSI', 'Processed', 'unaligned_50.pkl'),
              'mosei': os.path.join('data', 'MOSEI', 'Processed', 'unaligned_50.pkl'),
              'sims': os.path.join('data', 'SIMS', 'Processed', 'unaligned_39.pkl'),
              'simsv2': os.path.join('data', 'SIMSv2', 'Processed', 'sims_unaligned.pkl')}
SAMPLE_PATHS = {d: os.path.join('data', ('mmsa_mosi' if d == 'mosi' else d) + '_sample.pkl') for d in DATASETS}
# (--dataset, file name) -> (the file MMSA's README names, its SHA-256); checked only when a file fails to unpickle
PUBLISHED_SHA256 = {(d, name): ('{}/Processed/{}'.format(d.upper(), name), digest) for d, name, digest in (
    ('mosi', 'unaligned_50.pkl', '78e0f8b5ef8ff71558e7307848fc1fa929ecb078203f565ab22b9daab2e02524'),
    ('mosi', 'aligned_50.pkl', 'd3994fd25681f9c7ad6e9c6596a6fe9b4beb85ff7d478ba978b124139002e5f9'),
    ('mosei', 'unaligned_50.pkl', 'ad8b23d50557045e7d47959ce6c5b955d8d983f2979c7d9b7b9226f6dd6fec1f'),
    ('mosei', 'aligned_50.pkl', '45eccfb748a87c80ecab9bfac29582e7b1466bf6605ff29d3b338a75120bf791'),
    ('sims', 'unaligned_39.pkl', 'c9e20c13ec0454d98bb9c1e520e490c75146bfa2dfeeea78d84de047dbdd442f'))}
CACHE_VERSION = 2  # bump when the preparation changes: cached entries are then rebuilt


def sha256_file(path):
    with open(path, 'rb') as f:
        return hashlib.file_digest(f, 'sha256').hexdigest()


def open_top(path, dataset):
    """common.open_top; a damaged file that MMSA publishes under this name says whether its SHA-256 matches."""
    try:
        return common.open_top(path)
    except DamagedFile as err:
        published = PUBLISHED_SHA256.get((dataset, os.path.basename(path)))
        if published is None:
            raise
        name, digest = published
        verdict = ("its SHA-256 matches the one MMSA publishes for {}, so the file is as published and this reader "
                   "fails on it: please report it" if sha256_file(path) == digest else "its SHA-256 is not the one "
                   "MMSA publishes for {} (an incomplete or broken download): download it again").format(name)
        raise DamagedFile('{}; {}'.format(err, verdict))


def dataset_of(widths):
    """The dataset whose real (audio, vision) widths are `widths`, or None."""
    return next((d for d in DATASETS if SIGNATURES[d] == tuple(widths)), None)


def refuse_mmsa_file(path, top, dataset):
    """The error for an MMSA feature file given as --dataset iemocap or pom, naming the dataset of its widths."""
    try:
        train = common.str_keys(top.get('train'), '', '')
        guess = dataset_of((train['audio'].shape[-1], train['vision'].shape[-1]))
    except (UserError, KeyError, AttributeError, IndexError):
        guess = None
    raise UserError("{}: this is an MMSA feature file (train/valid/test holding audio, vision and text), not the "
                    "authors' {} pickle; use --dataset {}".format(
                        path, {'iemocap': 'IEMOCAP', 'pom': 'POM'}.get(dataset, dataset),
                        guess or 'mosi, mosei, sims or simsv2'))


def refuse_other_layout(path, top, dataset):
    """The error for the authors' layouts given as --dataset mosei, sims or simsv2 (None if neither)."""
    splits = [common.str_keys(v, path, k) for k, v in top.items() if k in common.SPLITS and isinstance(v, dict)]
    if any('covarep' in split for split in splits):
        labels = next((s['label'] for s in splits if 'label' in s), None)
        use = 'pom' if getattr(labels, 'ndim', 0) == 2 and labels.shape[1] > 1 else 'mosi'
        raise UserError("{}: this is the authors' processed pickle layout (covarep/facet/glove/label), not an MMSA "
                        "feature file, which --dataset {} needs; use --dataset {}".format(path, dataset, use))
    if any(isinstance(v, dict) and set(common.SPLITS) <= {common.text_key(k) for k in v} for v in top.values()):
        raise UserError("{}: this is the authors' IEMOCAP layout (emotions holding train/valid/test), not an MMSA "
                        "feature file, which --dataset {} needs; use --dataset iemocap".format(path, dataset))


def time_mean(a, zero_neg_inf):
    """[N, T, D] -> [N, D] float32: MMSA's LMF input. Cast to float32, (audio) -inf -> 0, mean over
    all T steps (padding included). A block of rows at a time, so float64 input needs no float32 copy;
    the result may hold NaN or +-inf (zeroed with the other features)."""
    out = np.empty((a.shape[0], a.shape[2]), dtype=np.float32)
    for rows in common.row_blocks(a):
        chunk = a[rows].astype(np.float32)
        if zero_neg_inf:
            chunk[chunk == -np.inf] = 0
        out[rows] = np.mean(chunk, axis=1)
    return out


def check_split(path, split, original):
    """The checked arrays {audio, vision, text: as stored, labels: finite float32 [N, 1]} of one split, and
    whether it has lengths (unaligned). Empties `original` (the rest of the split is dropped)."""
    raw = common.str_keys(original, path, 'split {!r}'.format(split))
    for key in ('audio', 'vision', 'text', 'regression_labels'):
        if key not in raw:
            raise UserError('{}: key {!r} missing in split {!r} (it has: {})'.format(
                path, key, split, ', '.join(sorted(raw))))
    arrays = {key: common.numeric_array(path, '{}/{}'.format(split, key), raw[key], (3,))
              for key in ('audio', 'vision', 'text')}
    labels = raw['regression_labels']
    labels = common.numeric_array(path, split + '/regression_labels',
                                  np.asarray(labels) if isinstance(labels, (list, tuple)) else labels, (1, 2))
    if labels.ndim == 2 and labels.shape[1] != 1:
        raise UserError('{}: {}/regression_labels should be [N] or [N, 1], found shape {}'.format(
            path, split, labels.shape))
    counts = dict({key: a.shape[0] for key, a in arrays.items()}, regression_labels=labels.shape[0])
    if len(set(counts.values())) != 1:
        raise UserError('{}: {} has arrays of different lengths: {}'.format(
            path, split, ', '.join('{} {}'.format(k, n) for k, n in counts.items())))
    labels = common.finite_labels(path, split + '/regression_labels', labels)
    unaligned = 'audio_lengths' in raw or 'vision_lengths' in raw
    n = labels.shape[0]
    # named as common.SEQUENCES names them (video_lengths: the file's vision_lengths)
    lengths = {name: file_lengths(path, split, key, raw[key], n, arrays[modality].shape[1])
               for name, key, modality in (('audio_lengths', 'audio_lengths', 'audio'),
                                           ('video_lengths', 'vision_lengths', 'vision')) if key in raw}
    if 'text_bert' in raw:  # [N, 3, T]: token ids, attention mask, segment ids; MMSA's text length is the mask's sum
        bert = common.numeric_array(path, split + '/text_bert', raw['text_bert'], (3,))
        if bert.shape[:2] != (n, 3):
            raise UserError('{}: {}/text_bert should be [N, 3, T] with N = {}, found shape {}'.format(
                path, split, n, bert.shape))
        lengths['text_lengths'] = np.clip(bert[:, 1].sum(axis=1), 0, arrays['text'].shape[1]).astype(np.float32)
    raw.clear()
    original.clear()
    return dict(audio=arrays['audio'], vision=arrays['vision'], text=arrays['text'], labels=labels,
                lengths=lengths), unaligned


def file_lengths(path, split, key, value, n, steps):
    """A split's audio_lengths or vision_lengths as float32 [N], clipped to [0, steps] (the frames stored)."""
    value = common.numeric_array(path, '{}/{}'.format(split, key), np.asarray(value), (1,))
    if value.shape[0] != n:
        raise UserError('{}: {}/{} has {} values for {} samples'.format(path, split, key, value.shape[0], n))
    return np.clip(value, 0, steps).astype(np.float32)


def nonzero_lengths(text):
    """[N] float32: 1 + the last step of each sequence [N, T, D] that is not all zero (0 for none)."""
    out = np.empty(text.shape[0], dtype=np.float32)
    for rows in common.row_blocks(text):
        real = np.any(text[rows] != 0, axis=2)
        out[rows] = np.where(real.any(axis=1), text.shape[1] - np.argmax(real[:, ::-1], axis=1), 0)
    return out


def sequence_lengths(raw):
    """The lengths (common.SEQUENCES) of a checked split: the file's; text without text_bert: up to its last
    step that is not zero (the features are zero-padded at the end); audio or vision without lengths (an aligned
    file): the text's, as MMSA takes them, where they have as many steps (else all steps count)."""
    lengths = raw.pop('lengths')
    text = lengths.get('text_lengths')
    text = nonzero_lengths(raw['text']) if text is None else text
    out = dict(text_lengths=text)
    for key, modality in (('audio_lengths', 'audio'), ('video_lengths', 'vision')):
        steps = raw[modality].shape[1]
        out[key] = lengths[key] if key in lengths else (
            text if steps == raw['text'].shape[1] else np.full(len(text), steps, dtype=np.float32))
    return out


def check_file(path, top, dataset):
    """{split: checked arrays} of the whole file and its layout line; every error before any preparation."""
    missing = [split for split in common.SPLITS if split not in top]
    if missing:
        raise UserError('{}: split {!r} missing at the top level (the file has: {})'.format(
            path, missing[0], ', '.join(sorted(top))))
    parts, unaligned = {}, False
    for split in common.SPLITS:
        parts[split], has_lengths = check_split(path, split, top.pop(split))
        unaligned = unaligned or has_lengths
    widths = {split: tuple(parts[split][key].shape[2] for key in ('audio', 'vision', 'text'))
              for split in common.SPLITS}
    for split in common.SPLITS:
        if widths[split] != widths['train']:
            raise UserError('{}: {} has audio/vision/text features {} wide but train has {}'.format(
                path, split, '/'.join(map(str, widths[split])), '/'.join(map(str, widths['train']))))
    check_signature(path, widths['train'][:2], dataset)
    for split in common.SPLITS:
        check_label_range(path, split, parts[split]['labels'], dataset)
    steps = tuple(parts['train'][key].shape[1] for key in ('audio', 'vision', 'text'))
    return parts, ('MMSA feature file (unaligned: audio {}, vision {}, text {} steps)'.format(*steps)
                   if unaligned or len(set(steps)) > 1 else 'MMSA feature file (aligned: {} steps)'.format(steps[0]))


def check_label_range(path, split, labels, dataset):
    limit = LABEL_LIMITS[dataset]
    outside = np.abs(labels[:, 0]) > limit * (1 + 1e-6)
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        hint = ('; CMU-MOSI and CMU-MOSEI labels span [-3, 3]: use --dataset mosi or mosei' if limit < 3 else '')
        raise UserError("{}: {}/regression_labels holds {:g} in row {}, outside {}'s range [-{:g}, {:g}]{}".format(
            path, split, labels[row, 0], row, NAMES[dataset], limit, limit, hint))


def check_signature(path, widths, dataset):
    """Refuse (audio, vision) widths that are another dataset's real ones and not this one's."""
    own, like = SIGNATURES[dataset], dataset_of(widths)
    if tuple(widths) == own or like is None:  # this dataset's, or a user's own MMSA-FET features
        return
    modality, index = ('vision', 1) if widths[1] != own[1] else ('audio', 0)
    raise UserError("{}: {} features are {} wide as {}'s, {}'s are {}; use --dataset {}".format(
        path, modality, widths[index], NAMES[like], NAMES[dataset], own[index], like))


def prepare_one_task(reader, path, task=None):
    """prepare() of the one-task readers (mosi, pom and Reader's): an MMSA feature file if the dataset
    has them (DATASETS), the authors' layout (common.prepare_flat) unless it is MMSA's only; a file of
    the other layout is refused."""
    dataset = reader.DATASET
    top, synthetic = open_top(path, dataset)
    if common.looks_like_mmsa(top):
        if dataset not in DATASETS:
            refuse_mmsa_file(path, top, dataset)
    elif dataset not in MMSA_ONLY:
        return common.prepare_flat(path, top, synthetic, reader.check_label_count, reader.LAYOUT_LINE)
    else:
        refuse_other_layout(path, top, dataset)  # None if neither of the authors' layouts: check_file says why
    return prepare_top(path, top, synthetic, dataset)


def prepare_top(path, top, synthetic, dataset):
    """prepare() (data/common.py) of an MMSA feature file, given its str-keyed top level."""
    parts, description = check_file(path, top, dataset)
    del top
    real_train, n_train = REAL_SPLIT_SIZES[dataset][0], parts['train']['labels'].shape[0]
    yield dict(layout='mmsa', synthetic=synthetic, regression=True, tasks=[''], description=description,
               sample_of=real_train if synthetic and n_train < real_train else None)
    for split in common.SPLITS:
        raw = parts.pop(split)
        lengths = sequence_lengths(raw)
        # the frame sequences go on beside their means (random missing drops frames before the mean, lmf/missing.py)
        yield '', split, dict(audio=time_mean(raw['audio'], True), video=time_mean(raw['vision'], False),
                              text=raw.pop('text'), labels=raw.pop('labels'), audio_seq=raw.pop('audio'),
                              video_seq=raw.pop('vision'), **lengths)


class Reader:
    """The reader of one MMSA-only dataset (mosei, sims, simsv2), with data/mosi.py's interface
    (SPLIT_SIZES: the sample's)."""

    def __init__(self, dataset):
        self.DATASET, self.NAME, self.CACHE_VERSION = dataset, NAMES[dataset], CACHE_VERSION
        self.REAL_PATH, self.SAMPLE_PATH = REAL_PATHS[dataset], SAMPLE_PATHS[dataset]
        self.SPLIT_SIZES = SAMPLE_SPLIT_SIZES
        self.LABEL_RANGE = (-LABEL_LIMITS[dataset], LABEL_LIMITS[dataset])
        self.load = functools.partial(cache.load, self)  # load(path, task=None, ...): see data/cache.py
        self.prepare = functools.partial(prepare_one_task, self)

    def __repr__(self):
        return '<data.mmsa reader of {}>'.format(self.NAME)

    task_key = staticmethod(common.single_task)

    def make_sample_data(self, seed=0, sizes=SAMPLE_SPLIT_SIZES, **options):
        return make_sample_data(self.DATASET, seed, sizes, **options)

    def write_sample_data(self, path, seed=0, sizes=SAMPLE_SPLIT_SIZES):
        write_sample_data(path, self.DATASET, seed, sizes)


READERS = {dataset: Reader(dataset) for dataset in ('mosei', 'sims', 'simsv2')}


def default_path(dataset):
    """MMSA's file of `dataset` (REAL_PATHS) if present, else its SYNTHETIC sample (SAMPLE_PATHS),
    written on first use."""
    real, sample = REAL_PATHS[dataset], SAMPLE_PATHS[dataset]
    if os.path.isfile(real):
        return real
    print('{} not found; using the SYNTHETIC sample data {}'.format(real, sample))
    if not os.path.isfile(sample):
        write_sample_data(sample, dataset)
    return sample


def _rounded(values, limit):
    """Annotator-average-like labels: multiples of 0.2 in [-limit, limit] (round half to even gives exact zeros)."""
    return (np.clip(np.round(values / 0.2) * 0.2, -limit, limit).round(1) + 0.0).astype(np.float32)  # + 0.0: no -0


def _padded(rng, n, steps, width, lengths, base, shift, noise):
    """[n, steps, width] float32: base + shift[i] + noise in the first lengths[i] steps, zeros after."""
    out = rng.standard_normal((n, steps, width), dtype=np.float32)
    out *= noise
    out += base.astype(np.float32)
    out += shift.astype(np.float32)[:, None, :]
    out[np.arange(steps)[None, :] >= lengths[:, None]] = 0
    return out


def make_sample_data(dataset, seed=0, sizes=SAMPLE_SPLIT_SIZES, steps=None, widths=None, dtype=np.float32,
                text_dim=TEXT_DIM):
    """The SYNTHETIC sample of `dataset` as a dict in MMSA's unaligned layout (str keys).

    steps = (audio, vision, text) time lengths (default STEPS), widths = (audio, vision) feature sizes
    (default SIGNATURES): tests make small files with them. Deterministic in the arguments.
    """
    rng = np.random.default_rng([seed, DATASETS.index(dataset)])
    audio_steps, vision_steps, text_steps = steps or STEPS[dataset]
    if text_steps < 5:
        raise ValueError('the text needs at least 5 steps ([CLS], 3 cue words, [SEP]), got {}'.format(text_steps))
    audio_width, vision_width = widths or SIGNATURES[dataset]
    limit = LABEL_LIMITS[dataset]
    scale = 1.0 if limit == 3 else 0.4  # CH-SIMS: sentiment std about 0.6, some labels clipped at +-1
    weights = scale * np.array([1.1, 0.8, 0.6])  # text, audio, vision

    # Hidden structure shared by the splits.
    audio_dir, vision_dir, text_dir = (common.unit(rng, size) for size in (audio_width, vision_width, text_dim))
    audio_base, vision_base = 0.5 * rng.standard_normal(audio_width), 0.3 * rng.standard_normal(vision_width)
    neutral_count, levels, cues_per_level = 120, 7, 3
    # token table: 0 padding, 101 [CLS], 102 [SEP], 1000.. neutral words, 2000.. cue words (level-major)
    table = np.zeros((2000 + levels * cues_per_level, text_dim), dtype=np.float32)
    table[1000:1000 + neutral_count] = 0.3 * rng.standard_normal((neutral_count, text_dim))
    cues = 0.3 * rng.standard_normal((levels, cues_per_level, text_dim))
    table[2000:] = (cues + 1.5 * (np.arange(levels) - 3)[:, None, None] * text_dir).reshape(-1, text_dim)
    table[101], table[102] = 0.3 * rng.standard_normal(text_dim), 0.3 * rng.standard_normal(text_dim)

    data = {}
    for split, n in sizes:
        z = rng.standard_normal((n, 3))  # text, audio, vision factors
        seen = z + 0.35 * rng.standard_normal((n, 3))  # what each modality shows of its factor
        sentiment = z @ weights + 0.25 * scale * rng.standard_normal(n)
        labels = _rounded(sentiment, limit)

        audio_lengths = rng.integers(max(1, audio_steps // 2), audio_steps + 1, n)
        vision_lengths = rng.integers(max(1, vision_steps // 2), vision_steps + 1, n)
        audio = _padded(rng, n, audio_steps, audio_width, audio_lengths, audio_base,
                        0.6 * seen[:, 1:2] * audio_dir, 0.6)
        vision = _padded(rng, n, vision_steps, vision_width, vision_lengths, vision_base,
                         0.4 * seen[:, 2:3] * vision_dir, 0.3)
        marked = max(1, int(round(0.05 * n)))  # samples with COVAREP's -inf, FACET's / OpenFace's NaN
        for i in rng.choice(n, marked, replace=False):
            audio[i, rng.integers(audio_lengths[i]), rng.integers(audio_width, size=2)] = -np.inf
        for i in rng.choice(n, marked, replace=False):
            vision[i, rng.integers(vision_lengths[i]), rng.integers(vision_width, size=2)] = np.nan

        # Text: [CLS] words [SEP], three cue words at the level of the seen text factor, zeros after.
        text_lengths = rng.integers(max(5, text_steps // 3), text_steps + 1, n)
        level = np.clip(np.round(1.5 * seen[:, 0]), -3, 3).astype(int) + 3
        ids = np.zeros((n, text_steps), dtype=np.int64)
        for i in range(n):
            length = text_lengths[i]
            ids[i, :length] = 1000 + rng.integers(neutral_count, size=length)
            ids[i, 0], ids[i, length - 1] = 101, 102
            ids[i, 1 + rng.choice(length - 2, size=3, replace=False)] = \
                2000 + level[i] * cues_per_level + rng.integers(cues_per_level, size=3)
        text = table[ids]
        text_bert = np.stack([ids, (ids > 0).astype(np.int64), np.zeros_like(ids)], axis=1)

        classes = np.sign(labels).astype(np.int64) + 1  # 0 negative, 1 neutral, 2 positive
        part = {
            'raw_text': [' '.join('w{}'.format(t - 1000) for t in row[1:length - 1])
                         for row, length in zip(ids, text_lengths)],
            'id': np.array(['synthetic{:04d}$_${}'.format(i // 4, i % 4 + 1) for i in range(n)]),
            'audio': audio.astype(dtype, copy=False), 'vision': vision.astype(dtype, copy=False),
            'text': text.astype(dtype, copy=False), 'text_bert': text_bert,
            'audio_lengths': audio_lengths, 'vision_lengths': vision_lengths,
            'annotations': [('Negative', 'Neutral', 'Positive')[c] for c in classes],
            'classification_labels': classes, 'regression_labels': labels,
        }
        if limit < 3:  # CH-SIMS's unimodal labels: each modality's own factor
            for key, column in zip('TAV', range(3)):
                part['regression_labels_' + key] = _rounded(0.5 * limit * seen[:, column], limit)
        data[split] = part
    real_train = REAL_SPLIT_SIZES[dataset][0]
    data[common.SYNTHETIC_KEY] = ("SYNTHETIC sample data made by data/make_sample_data.py --dataset {}{} ({} of the "
                                  "real split's {} train samples); not {}".format(
                                      dataset, ' --layout mmsa' if dataset == 'mosi' else '', dict(sizes)['train'],
                                      real_train, NAMES[dataset]))
    return data


def write_sample_data(path, dataset, seed=0, sizes=SAMPLE_SPLIT_SIZES):
    """Write make_sample_data(dataset, seed, sizes) to `path` atomically (protocol 4, as MMSA's files)."""
    common.write_pickle_atomic(path, make_sample_data(dataset, seed, sizes), NAMES[dataset], protocol=4)
