"""Run records: what one training run was and what it scored, as data.

train.py (engine.train_and_test) writes <log_dir>/train_<name>.json beside its log, atomically, when the
run ends; reproduce.py, the robustness study, RESULTS.md and the benchmarks read scores from these records
(search.py takes train_and_test's returned scores, the same dict), never from the log's text (the log keeps the seed's format, for people). A record:

    {"format": "lmf-run-v1", "status": "finished" or "diverged", "seconds": 12.3,
     "settings": {...},                       # the run's resolved settings (hparams.resolve)
     "data": {"path": ..., "sha256": ..., "synthetic": true},
     "machine": {"cpu": ..., "device": "cpu", "cpu_threads": 2, "paddle": "3.3.1", "processes": 1},
     "metrics": {...},                        # every test metric (metrics.METRICS' keys; POM: per trait too)
     "best_valid_loss": ..., "test_loss": ...}

write and read take the format of other records too (reproduce.py's robustness and efficiency records).
"""
import functools
import hashlib
import json
import os

from safe_io import atomic_write

FORMAT = 'lmf-run-v1'


def path_of(log_path):
    """The record beside a log: train_happy.txt -> train_happy.json."""
    return os.path.splitext(log_path)[0] + '.json'


@functools.lru_cache(maxsize=None)
def _sha256(path, size, mtime_ns):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 22), b''):
            digest.update(block)
    return digest.hexdigest()


def sha256(path):
    """sha256 of a data file (once per process and version of the file): a run recorded on other data is not a
    run of this file."""
    stat = os.stat(path)
    return _sha256(os.path.realpath(path), stat.st_size, stat.st_mtime_ns)


def data_identity(path, synthetic):
    return dict(path=path, sha256=sha256(path), synthetic=bool(synthetic))


def write(path, record, kind=FORMAT):
    """Write a record of format `kind` atomically (a reader never sees half of one)."""
    with atomic_write(path) as f:
        json.dump(dict(record, format=kind), f, indent=1, sort_keys=True)
        f.write('\n')


def read(path, kind=FORMAT):
    """The record of format `kind` at path, or None where there is none or it is not one (cut short, another
    format)."""
    try:
        with open(path) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get('format') == kind else None
