"""The three datasets of the paper, one module each (reader beside its SYNTHETIC sample generator):
iemocap (binary emotions, classification), mosi (sentiment) and pom (16 speaker traits), both regression.
"""
import importlib

DATASETS = ('iemocap', 'mosi', 'pom')


def module(dataset):
    """The reader module of `dataset` (data.iemocap, data.mosi or data.pom)."""
    if dataset not in DATASETS:
        raise ValueError(dataset)
    return importlib.import_module('data.' + dataset)
