"""IEMOCAP (binary emotion recognition): the reader of the authors' processed pickle, and a
generator of SYNTHETIC data in exactly its layout.

    {b'happy'|b'sad'|b'angry'|b'neutral':
        {b'train'|b'valid'|b'test':
            {b'covarep': [N, 74] float64 (holds NaN and -inf, as the real audio does),
             b'facet':   [N, 35] float64 (holds NaN, as the real video does),
             b'glove':   [N, 20, 300] float32, zero-padded at the front,
             b'label':   [N, 2] one-hot}}}

The generated file adds a top-level b'synthetic' note, so every run on it says so (code that
indexes by emotion ignores it). Its signal is multimodal: per modality a cue that agrees with the
label with probability 0.85 (audio), 0.8 (video) and 0.9 (text), carried as a shift along a hidden
direction (audio, video) or as cue words among random "GloVe" vectors (text). One modality reaches
about its cue's reliability, all three fused ~0.94. Scores on it say that the code learns, nothing
about emotion recognition.
"""
import functools
import os
import sys

import numpy as np

from data import cache, common, mmsa
from safe_io import UserError

NAME, DATASET = 'IEMOCAP', 'iemocap'
REAL_PATH = os.path.join('data', 'iemocap.pkl')
SAMPLE_PATH = os.path.join('data', 'sample_data.pkl')
EMOTIONS = ('happy', 'sad', 'angry', 'neutral')
SPLIT_SIZES = (('train', 800), ('valid', 200), ('test', 250))  # per emotion
AUDIO_DIM, VIDEO_DIM, TEXT_DIM, SEQ_LEN = 74, 35, 300, 20
CUE_RELIABILITY = dict(audio=0.85, video=0.8, text=0.9)
POSITIVE_RATE = dict(happy=0.3, sad=0.3, angry=0.35, neutral=0.45)
VOCAB, CUE_WORDS = 400, 12
NOTE = b'SYNTHETIC sample data made by data/make_sample_data.py; not IEMOCAP'
CACHE_VERSION = 1  # bump when prepare() changes what it yields: cached entries are then rebuilt
load = functools.partial(cache.load, sys.modules[__name__])  # load(path, emotion, ...): see data/cache.py


def task_key(path, info, emotion):
    if emotion not in info['tasks']:
        raise UserError('{}: emotion {!r} not found (the file has: {})'.format(path, emotion, ', '.join(info['tasks'])))
    return emotion


def prepare(data_path, emotion=None):
    """Check the file, yield its info, then (emotion, split, arrays) of every emotion (only
    `emotion`'s if given); see data/common.py."""
    top, synthetic = common.open_top(data_path)
    if set(common.SPLITS) <= set(top):
        if common.looks_like_mmsa(top):
            mmsa.refuse_mmsa_file(data_path, top, DATASET)
        raise UserError('{}: the file has train/valid/test at the top level, as the CMU-MOSI and POM files do, '
                        'not emotions; use --dataset mosi or --dataset pom'.format(data_path))
    emotions = sorted(top, key=lambda e: (EMOTIONS.index(e) if e in EMOTIONS else len(EMOTIONS), e))
    if emotion is not None:
        task_key(data_path, dict(tasks=emotions), emotion)
        emotions = [emotion]
    parts = {}
    for name in emotions:  # every emotion is checked before anything is yielded (and written)
        splits = common.str_keys(top.pop(name), data_path, '[{}]'.format(name))
        for split in common.SPLITS:
            if split not in splits:
                raise UserError('{}: split {!r} missing under emotion {!r}'.format(data_path, split, name))
        parts[name] = {split: common.check_authors_split(data_path, '{}/{}'.format(name, split), splits.pop(split),
                                                         regression=False) for split in common.SPLITS}
        common.check_same_sizes(data_path, parts[name], name + '/')
    del top  # frees the emotions not asked for
    yield dict(layout='authors', synthetic=synthetic, regression=False, tasks=emotions, description=None,
               sample_of=None)
    for name in emotions:
        splits = parts.pop(name)
        for split in common.SPLITS:
            yield name, split, splits.pop(split)


def _cue(rng, label_sign, reliability):
    agree = rng.rand(len(label_sign)) < reliability
    return np.where(agree, label_sign, -label_sign)


def _emotion(rng, emotion, sizes=SPLIT_SIZES):
    # Per-emotion hidden structure, shared by its three splits.
    audio_dir, video_dir = common.unit(rng, AUDIO_DIM, 0.3), common.unit(rng, VIDEO_DIM, 0.4)
    vocab = rng.randn(VOCAB, TEXT_DIM) * 0.15
    cue_dir = common.unit(rng, TEXT_DIM)  # cue words share a direction, as emotion words cluster in GloVe space
    vocab[:CUE_WORDS] += 3.0 * cue_dir
    vocab[CUE_WORDS:2 * CUE_WORDS] -= 3.0 * cue_dir
    vocab = vocab.astype(np.float32)
    cue_sets = (np.arange(CUE_WORDS, 2 * CUE_WORDS), np.arange(CUE_WORDS))  # negative, positive
    neutral = np.setdiff1d(np.arange(len(vocab)), np.concatenate(cue_sets))

    splits = {}
    for split, n in sizes:
        label = (rng.rand(n) < POSITIVE_RATE[emotion]).astype(np.int64)
        sign = 2.0 * label - 1.0

        # Audio (COVAREP scale: mean ~0.2, variance ~0.02).
        audio = 0.2 + 0.14 * rng.randn(n, AUDIO_DIM)
        audio += 0.14 * 1.6 * _cue(rng, sign, CUE_RELIABILITY['audio'])[:, None] * audio_dir * np.sqrt(AUDIO_DIM * 0.3)
        audio[rng.rand(n, AUDIO_DIM) < 0.01] = np.nan
        audio[rng.rand(n, AUDIO_DIM) < 0.005] = -np.inf

        # Visual (FACET scale: mean ~-0.03, variance ~0.003).
        video = -0.03 + 0.055 * rng.randn(n, VIDEO_DIM)
        video += 0.055 * 1.6 * _cue(rng, sign, CUE_RELIABILITY['video'])[:, None] * video_dir * np.sqrt(VIDEO_DIM * 0.4)
        video[rng.rand(n, VIDEO_DIM) < 0.01] = np.nan

        # Text: 4..20 neutral words, zero-padded at the front, 1-2 of them replaced by words of the cue's set.
        cue_set = (_cue(rng, sign, CUE_RELIABILITY['text']) > 0).astype(int)
        glove = np.zeros((n, SEQ_LEN, TEXT_DIM), dtype=np.float32)
        for i in range(n):
            length = rng.randint(4, SEQ_LEN + 1)
            words = rng.choice(neutral, size=length)
            n_cues = rng.randint(1, 3)
            words[rng.choice(length, size=n_cues, replace=False)] = rng.choice(cue_sets[cue_set[i]], size=n_cues)
            glove[i, SEQ_LEN - length:] = vocab[words]

        one_hot = np.eye(2, dtype=np.float32)[label]
        splits[split.encode()] = {b'covarep': audio, b'facet': video, b'glove': glove, b'label': one_hot}
    return splits


def make_sample_data(seed=0, sizes=SPLIT_SIZES, emotions=EMOTIONS):
    """The whole synthetic dataset as a dict in the published layout. Deterministic in `seed` and `sizes`."""
    rng = np.random.RandomState(seed)
    # A subset of emotions draws different numbers than the full set (one shared stream).
    data = {emotion.encode(): _emotion(rng, emotion, sizes) for emotion in EMOTIONS if emotion in emotions}
    data[b'synthetic'] = NOTE
    return data


def write_sample_data(path, seed=0, sizes=SPLIT_SIZES, emotions=EMOTIONS):
    common.write_pickle_atomic(path, make_sample_data(seed, sizes, emotions), NAME)
