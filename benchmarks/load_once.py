"""Load one data file through engine.load_data, as every script does, and print the seconds it took (benchmark.py
runs it under benchmarks/peak_rss.py): python benchmarks/load_once.py DATASET PATH [TASK]. With $LMF_CACHE_DIR empty
this is a first load (unpickle, prepare, write the cache of prepared arrays), else a second (memory-mapped arrays).
"""
import sys
import time

from lmf import engine  # lmf sets the CPU runtime defaults before paddle is imported

if __name__ == '__main__':
    dataset, path = sys.argv[1], sys.argv[2]
    task = sys.argv[3] if len(sys.argv) > 3 else None
    start = time.perf_counter()
    train_set, valid_set, test_set, dims = engine.load_data(dataset, path, task, verbose=False)
    print('load seconds: {:.3f} ({} train samples, dims {})'.format(time.perf_counter() - start, len(train_set), dims))
