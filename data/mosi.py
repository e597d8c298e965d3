"""CMU-MOSI (sentiment regression): the reader of the authors' processed `mosi.pkl`, and a
generator of SYNTHETIC data in exactly its layout.

    {b'train'|b'valid'|b'test':
        {b'covarep': [N, 74]  (audio, holds NaN and -inf),
         b'facet':   [N, 47]  (video; 46 or 47 depending on the processed copy, holds NaN),
         b'glove':   [N, 20, 300] float32, zero-padded at the front,
         b'label':   [N, 1] sentiment in [-3, 3]}}

`--dataset mosi` also reads MMSA's CMU-MOSI feature files (data/mmsa.py: audio 5, vision 20,
BERT text 768 wide), so every load says which layout it found. The synthetic sample
(1284/229/686 samples, the standard split) adds a top-level b'synthetic' note, so every run on
it says so. Its sentiment sums one hidden factor per modality, so all three modalities are
needed; scores on it say that the code learns, nothing about sentiment analysis.
"""
import functools
import os
import sys

import numpy as np

from data import cache, common, mmsa
from safe_io import UserError

NAME, DATASET = 'CMU-MOSI', 'mosi'
LAYOUT_LINE = "the authors' processed CMU-MOSI pickle (covarep/facet/glove)"  # two layouts: loads say which
REAL_PATH = os.path.join('data', 'mosi.pkl')
SAMPLE_PATH = os.path.join('data', 'mosi_sample.pkl')
SPLIT_SIZES = (('train', 1284), ('valid', 229), ('test', 686))
AUDIO_DIM, VIDEO_DIM = 74, 47
LABEL_RANGE = (-3.0, 3.0)
CACHE_VERSION = 'authors-1,mmsa-{}'.format(mmsa.CACHE_VERSION)  # bump when prepare() changes
NOTE = b'SYNTHETIC sample data made by data/make_sample_data.py --dataset mosi; not CMU-MOSI'
load = functools.partial(cache.load, sys.modules[__name__])  # load(path, task=None, ...): see data/cache.py
prepare = functools.partial(mmsa.prepare_one_task, sys.modules[__name__])  # the authors' layout or MMSA's
task_key = common.single_task


def check_label_count(path, count):
    if count != 1:
        raise UserError('{}: labels have {} columns but CMU-MOSI has one (sentiment){}'.format(
            path, count, '; is this a POM file? use --dataset pom' if count > 1 else ''))


def make_sample_data(seed=0, sizes=SPLIT_SIZES):
    rng = np.random.RandomState(seed)
    loadings = np.array([[1.1, 0.8, 0.6]])  # text, audio, video: sentiment std about 1.4
    return common.make_flat_sample(rng, sizes, AUDIO_DIM, VIDEO_DIM, loadings, 0.0, *LABEL_RANGE, step=0.2,
                                   note=NOTE)


def write_sample_data(path, seed=0, sizes=SPLIT_SIZES):
    common.write_pickle_atomic(path, make_sample_data(seed, sizes), NAME)
