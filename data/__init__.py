"""The dataset readers, one each (reader beside its SYNTHETIC sample generator): the paper's three,
iemocap (binary emotions, classification), mosi (sentiment) and pom (16 speaker traits), both
regression, and MMSA's feature files (data/mmsa.py): mosei, sims and simsv2 (mosi reads both
layouts). Every load goes through data/cache.py.
"""
import importlib

DATASETS = ('iemocap', 'mosi', 'pom', 'mosei', 'sims', 'simsv2')
MMSA_ONLY = ('mosei', 'sims', 'simsv2')  # readers built in data/mmsa.py


def module(dataset):
    """The reader of `dataset`: data.iemocap, data.mosi, data.pom, or data.mmsa.READERS[dataset]."""
    if dataset not in DATASETS:
        raise ValueError(dataset)
    if dataset in MMSA_ONLY:
        from data import mmsa
        return mmsa.READERS[dataset]
    return importlib.import_module('data.' + dataset)
