"""Write data/sample_data.pkl: SYNTHETIC data in the layout of the published IEMOCAP pickle.

These are made-up numbers, not IEMOCAP. Scores measured on them say the code
learns, nothing about emotion recognition. The layout is the real file's:

    {b'happy'|b'sad'|b'angry'|b'neutral':
        {b'train'|b'valid'|b'test':
            {b'covarep': [N, 74] float64 (holds NaN and -inf, as the real audio does),
             b'facet':   [N, 35] float64 (holds NaN, as the real visual does),
             b'glove':   [N, 20, 300] float32, zero-padded at the front,
             b'label':   [N, 2] one-hot}}}

plus one top-level key b'synthetic' (a short note) by which the loaders know
to label every run that uses it; code that indexes by emotion ignores it.

The planted signal is multimodal: each sample has a binary label and, per
modality, a cue that agrees with the label with probability 0.85 (audio), 0.8
(visual) and 0.9 (text). Audio and visual carry their cue as a shift along a
hidden direction, text as cue words among random "GloVe" vectors. Any single
modality reaches about its cue's reliability; fusing all three reaches ~0.94.

    python data/make_sample_data.py [--out data/sample_data.pkl] [--seed 0]
                                    [--train 800 --valid 200 --test 250]

The split sizes are per emotion; the defaults give data/sample_data.pkl. Smaller
sizes make quick test data (the TIPC lite mode and the tests use them).
"""
import argparse
import os
import pickle

import numpy as np

EMOTIONS = ('happy', 'sad', 'angry', 'neutral')
SPLIT_SIZES = (('train', 800), ('valid', 200), ('test', 250))
AUDIO_DIM, VISUAL_DIM, TEXT_DIM, SEQ_LEN = 74, 35, 300, 20
CUE_RELIABILITY = dict(audio=0.85, visual=0.8, text=0.9)
POSITIVE_RATE = dict(happy=0.3, sad=0.3, angry=0.35, neutral=0.45)
VOCAB, CUE_WORDS = 400, 12
NOTE = b'SYNTHETIC sample data made by data/make_sample_data.py; not IEMOCAP'


def _cue(rng, label_sign, reliability):
    agree = rng.rand(len(label_sign)) < reliability
    return np.where(agree, label_sign, -label_sign)


def _emotion(rng, emotion, sizes=SPLIT_SIZES):
    # Per-emotion hidden structure, shared by its three splits.
    audio_dir = rng.randn(AUDIO_DIM) * (rng.rand(AUDIO_DIM) < 0.3)
    audio_dir /= np.linalg.norm(audio_dir)
    visual_dir = rng.randn(VISUAL_DIM) * (rng.rand(VISUAL_DIM) < 0.4)
    visual_dir /= np.linalg.norm(visual_dir)
    vocab = rng.randn(VOCAB, TEXT_DIM) * 0.15
    # Cue words share a direction, as emotion words cluster in GloVe space.
    cue_dir = rng.randn(TEXT_DIM)
    cue_dir /= np.linalg.norm(cue_dir)
    vocab[:CUE_WORDS] += 3.0 * cue_dir
    vocab[CUE_WORDS:2 * CUE_WORDS] -= 3.0 * cue_dir
    vocab = vocab.astype(np.float32)
    positive_words, negative_words = np.arange(CUE_WORDS), np.arange(CUE_WORDS, 2 * CUE_WORDS)
    neutral_words = np.arange(2 * CUE_WORDS, VOCAB)

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
        visual = -0.03 + 0.055 * rng.randn(n, VISUAL_DIM)
        visual += 0.055 * 1.6 * _cue(rng, sign, CUE_RELIABILITY['visual'])[:, None] * visual_dir * np.sqrt(VISUAL_DIM * 0.4)
        visual[rng.rand(n, VISUAL_DIM) < 0.01] = np.nan

        # Text: 4..20 words, zero-padded at the front, 1-2 cue words at random positions.
        text_cue = _cue(rng, sign, CUE_RELIABILITY['text'])
        glove = np.zeros((n, SEQ_LEN, TEXT_DIM), dtype=np.float32)
        for i in range(n):
            length = rng.randint(4, SEQ_LEN + 1)
            words = rng.choice(neutral_words, size=length)
            cue_words = positive_words if text_cue[i] > 0 else negative_words
            n_cues = rng.randint(1, 3)
            words[rng.choice(length, size=n_cues, replace=False)] = rng.choice(cue_words, size=n_cues)
            glove[i, SEQ_LEN - length:] = vocab[words]

        one_hot = np.eye(2, dtype=np.float32)[label]
        splits[split.encode()] = {b'covarep': audio, b'facet': visual, b'glove': glove, b'label': one_hot}
    return splits


def split_sizes(train=None, valid=None, test=None):
    """SPLIT_SIZES with the given sizes replaced; each must be >= 1."""
    given = dict(train=train, valid=valid, test=test)
    sizes = []
    for split, default in SPLIT_SIZES:
        n = default if given[split] is None else int(given[split])
        if n < 1:
            raise ValueError('--{} must be >= 1, got {}'.format(split, n))
        sizes.append((split, n))
    return tuple(sizes)


def make_sample_data(seed=0, sizes=SPLIT_SIZES, emotions=EMOTIONS):
    """The whole synthetic dataset as a dict in the published layout. Deterministic in `seed` and `sizes`."""
    rng = np.random.RandomState(seed)
    # A subset of emotions draws different numbers than the full set (one shared stream).
    data = {emotion.encode(): _emotion(rng, emotion, sizes) for emotion in EMOTIONS if emotion in emotions}
    data[b'synthetic'] = NOTE
    return data


def write_sample_data(path, seed=0, sizes=SPLIT_SIZES, emotions=EMOTIONS):
    """Write make_sample_data(seed, sizes) to `path` (atomically)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = '{}.tmp{}'.format(path, os.getpid())
    with open(tmp, 'wb') as f:
        pickle.dump(make_sample_data(seed, sizes, emotions), f, protocol=2)  # protocol 2, as a Python 2 writer would
    os.replace(tmp, path)
    print('Wrote SYNTHETIC sample data (not IEMOCAP) to {}'.format(path))


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sample_data.pkl'))
    parser.add_argument('--seed', type=int, default=0)
    for split, n in SPLIT_SIZES:
        parser.add_argument('--' + split, type=int, default=None, help='{} samples per emotion (default {})'.format(split, n))
    args = parser.parse_args()
    try:
        sizes = split_sizes(args.train, args.valid, args.test)
    except ValueError as err:
        parser.error(str(err))
    write_sample_data(args.out, args.seed, sizes)
