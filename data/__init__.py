"""The dataset readers, each beside its SYNTHETIC sample generator: the paper's iemocap (binary emotions),
mosi (sentiment) and pom (16 traits), and MMSA's feature files (data/mmsa.py: mosei, sims, simsv2; mosi
reads both layouts). Every load goes through data/cache.py."""
import importlib

DATASETS = ('iemocap', 'mosi', 'pom', 'mosei', 'sims', 'simsv2')
MMSA_ONLY = ('mosei', 'sims', 'simsv2')  # readers built in data/mmsa.py


def module(dataset):
    """The reader of `dataset`: data.iemocap, data.mosi, data.pom, or data.mmsa.READERS[dataset]."""
    if dataset not in DATASETS:
        raise ValueError(dataset)
    if dataset in MMSA_ONLY:
        return importlib.import_module('data.mmsa').READERS[dataset]
    return importlib.import_module('data.' + dataset)
