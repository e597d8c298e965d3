"""POM (16 speaker traits, regression): the reader of the authors' processed `pom.pkl`, and a
generator of SYNTHETIC data in exactly its layout.

    {b'train'|b'valid'|b'test':
        {b'covarep': [N, 43]  (audio, holds NaN and -inf),
         b'facet':   [N, 43]  (video, holds NaN),
         b'glove':   [N, 20, 300] float32, zero-padded at the front,
         b'label':   [N, 16] traits in [1, 7], in the order of TRAITS}}

Every size, the label count K included, is read from the file (older processed copies carry 17
columns). The synthetic sample (600/100/203 samples) adds a top-level b'synthetic' note, so every
run on it says so. Its 16 traits mix two hidden factors per modality, so all three modalities are
needed; scores on it say that the code learns, nothing about speaker traits.
"""
import functools
import os
import sys

import numpy as np

from data import cache, common, mmsa
from safe_io import UserError

NAME, DATASET = 'POM', 'pom'
LAYOUT_LINE = None  # one layout: loads print no layout line
REAL_PATH = os.path.join('data', 'pom.pkl')
SAMPLE_PATH = os.path.join('data', 'pom_sample.pkl')
SPLIT_SIZES = (('train', 600), ('valid', 100), ('test', 203))
AUDIO_DIM, VIDEO_DIM = 43, 43
LABEL_RANGE = (1.0, 7.0)
TRAITS = ('Confidence', 'Passionate', 'Pleasant', 'Dominant', 'Credible', 'Vivid', 'Expertise', 'Entertaining',
          'Reserved', 'Trusting', 'Relaxed', 'Outgoing', 'Thorough', 'Nervous', 'Persuasive', 'Humorous')
NOTE = b'SYNTHETIC sample data made by data/make_sample_data.py --dataset pom; not POM'
CACHE_VERSION = 1  # bump when prepare() changes what it yields: cached entries are then rebuilt
load = functools.partial(cache.load, sys.modules[__name__])  # load(path, task=None, ...): see data/cache.py
prepare = functools.partial(mmsa.prepare_one_task, sys.modules[__name__])  # MMSA's files are refused
task_key = common.single_task


def trait_names(count):
    """Names of `count` label columns: the 16 traits, else label_1..label_K (the order of other copies is unknown)."""
    return TRAITS if count == len(TRAITS) else tuple('label_{}'.format(i + 1) for i in range(count))


def check_label_count(path, count):
    if count < 2:
        raise UserError('{}: labels have {} column but POM has one per trait (16); is this a CMU-MOSI file? '
                        'use --dataset mosi'.format(path, count))


def make_sample_data(seed=0, sizes=SPLIT_SIZES):
    rng = np.random.RandomState(seed)
    # Each trait mixes the six factors (two per modality); trait std about 1.2 around 4.
    loadings = rng.randn(len(TRAITS), 6)
    loadings *= 1.15 / np.linalg.norm(loadings, axis=1, keepdims=True)
    return common.make_flat_sample(rng, sizes, AUDIO_DIM, VIDEO_DIM, loadings, 4.0, *LABEL_RANGE, step=1 / 7,
                                   note=NOTE)


def write_sample_data(path, seed=0, sizes=SPLIT_SIZES):
    common.write_pickle_atomic(path, make_sample_data(seed, sizes), NAME)
