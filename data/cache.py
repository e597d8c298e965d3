"""Prepare once, load fast: a cache of the prepared float32 arrays of every data file.

The first load of a file prepares it (the reader's prepare(), data/common.py) and saves the arrays
of ALL its tasks (IEMOCAP's four emotions) as .npy files; later loads open them as read-only memory
maps (np.load(mmap_mode='r')) instead of unpickling the file again.

    <cache>/<stem>.<dataset>.<hash of path and dataset>.<hash of the identity>/
        manifest.json                           format, identity, info, one record per array
        <task>.<split>.<audio|video|text|labels>.npy      (task: its index in info['tasks'])
        <task>.<split>.<audio_seq|video_seq|..._lengths>.npy   MMSA's files: common.SEQUENCES

<cache> is $LMF_CACHE_DIR, else data/cache/ in the repository. A data file's identity is its real
path, size, mtime_ns, inode, device, a SHA-256 of its first, middle and last 64 KiB (a file rewritten
within the timestamp resolution still differs), the dataset and the reader's CACHE_VERSION: a
changed file gets a new entry, and the older ones of its path and dataset go once it is built.

Every load checks the manifest (format, identity) and each array it opens (byte size, shape, dtype,
sampled SHA-256); anything wrong is rebuilt, with one line saying so. A build writes into a
temporary folder renamed into place when complete, so an error or Ctrl-C leaves no half entry, and
of two processes building at once the second keeps the first one's entry. A cache folder that
cannot be written is no error: the data are loaded without it, with one line saying so.
"""
import errno
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile

import numpy as np

from data import common
from safe_io import UserError

FORMAT = 'lmf-prepared-data-v1'
MANIFEST = 'manifest.json'
SAMPLE_BLOCK = 64 << 10
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Broken(Exception):
    """A cache entry that cannot be trusted (the message says why)."""


def cache_dir():
    return os.environ.get('LMF_CACHE_DIR') or os.path.join(REPO, 'data', 'cache')


def sampled_sha256(path, size):
    """SHA-256 of the first, middle and last SAMPLE_BLOCK bytes of a file of `size` bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for offset in sorted({0, max(0, size // 2 - SAMPLE_BLOCK // 2), max(0, size - SAMPLE_BLOCK)}):
            f.seek(offset)
            digest.update(f.read(SAMPLE_BLOCK))
    return digest.hexdigest()


def identity(reader, data_path):
    """What ties a cache entry to one version of one data file read by one reader."""
    if not os.path.isfile(data_path):
        raise UserError('data file {} does not exist'.format(data_path))
    real = os.path.realpath(data_path)
    try:
        stat = os.stat(real)
        sample = sampled_sha256(real, stat.st_size)
    except OSError as err:
        raise UserError('data file {} cannot be read: {}'.format(data_path, err.strerror or err))
    return dict(path=real, size=stat.st_size, mtime_ns=stat.st_mtime_ns, inode=stat.st_ino, device=stat.st_dev,
                sample=sample, dataset=reader.DATASET, reader=reader.CACHE_VERSION)


def _sha(text):
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]


def entry_names(ident):
    """(the entry's folder name, the prefix that every entry of this path and dataset shares)."""
    stem = re.sub(r'[^A-Za-z0-9_-]+', '_', os.path.splitext(os.path.basename(ident['path']))[0])[:40] or 'data'
    prefix = '{}.{}.{}'.format(stem, ident['dataset'], _sha('{}\0{}'.format(ident['path'], ident['dataset'])))
    return '{}.{}'.format(prefix, _sha(json.dumps(ident, sort_keys=True))), prefix


def array_name(index, split, modality):
    return '{}.{}.{}.npy'.format(index, split, modality)


# ---------------------------------------------------------------- loading

def load(reader, data_path, task=None, expected_dims=None, verbose=True, output_dim=None,
         output_flag='--output_dim', use_cache=True, model=None):
    """A reader's load(): (train, valid, test, input_dims) of one task, from the cache (built on first use)
    or, with use_cache=False, prepared in memory; common.finish_load's checks and lines either way."""
    info, key, sets = cached(reader, data_path, task) if use_cache else read(reader, data_path, task)
    return common.finish_load(reader, data_path, info, key, sets, expected_dims, verbose, output_dim, output_flag,
                              model)


def read(reader, data_path, task=None):
    """(info, task key, [train, valid, test]) prepared in memory, without the cache."""
    prepared = reader.prepare(data_path, task)
    info = next(prepared)
    key = reader.task_key(data_path, info, task)
    return info, key, common.in_memory(prepared, info, key)


def cached(reader, data_path, task=None):
    """(info, task key, [train, valid, test]) served from the cache entry of the file, built if needed."""
    ident = identity(reader, data_path)
    root = cache_dir()
    name, prefix = entry_names(ident)
    entry = os.path.join(root, name)
    if os.path.lexists(entry):
        try:
            return open_entry(entry, ident, reader, data_path, task)
        except Broken as err:
            print('Data cache entry {} is unusable ({}); rebuilding it from {}'.format(entry, err, data_path))
    return build(reader, data_path, task, ident, root, name, prefix)


def read_manifest(entry, ident):
    try:
        with open(os.path.join(entry, MANIFEST)) as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise Broken('no manifest')
    except (OSError, ValueError) as err:
        raise Broken('unreadable manifest: {}'.format(err))
    if not isinstance(manifest, dict) or manifest.get('format') != FORMAT:
        raise Broken('not a cache entry of format {}'.format(FORMAT))
    if manifest.get('identity') != ident:
        raise Broken('it was made from another file or version')
    info, arrays = manifest.get('info'), manifest.get('arrays')
    if not isinstance(info, dict) or not isinstance(arrays, dict) or not isinstance(info.get('tasks'), list) \
            or not all(k in info for k in ('layout', 'synthetic', 'regression')):
        raise Broken('incomplete manifest')
    return manifest


def open_array(entry, manifest, name):
    """A verified read-only memory map of one array of the entry."""
    record = manifest['arrays'].get(name)
    if not isinstance(record, dict):
        raise Broken('{} is not in the manifest'.format(name))
    path = os.path.join(entry, name)
    try:
        size = os.path.getsize(path)
        if size != record.get('bytes'):
            raise Broken('{} has {} bytes, the manifest says {}'.format(name, size, record.get('bytes')))
        if sampled_sha256(path, size) != record.get('sample'):
            raise Broken('{} does not match its checksum'.format(name))
        array = np.load(path, mmap_mode='r', allow_pickle=False)
    except (OSError, ValueError) as err:
        raise Broken('{}: {}'.format(name, getattr(err, 'strerror', None) or err))
    if list(array.shape) != record.get('shape') or array.dtype != np.float32:
        raise Broken('{} has shape {} {}, the manifest says {}'.format(name, array.shape, array.dtype,
                                                                      record.get('shape')))
    return array


def open_entry(entry, ident, reader, data_path, task):
    """(info, task key, [train, valid, test]) of a verified entry; raises Broken."""
    manifest = read_manifest(entry, ident)
    info = manifest['info']
    key = reader.task_key(data_path, info, task)
    index = info['tasks'].index(key)
    sets = []
    for split in common.SPLITS:
        arrays = [open_array(entry, manifest, array_name(index, split, m)) for m in common.MODALITIES]
        sequences = {name: open_array(entry, manifest, array_name(index, split, name)) for name in common.SEQUENCES
                     if array_name(index, split, name) in manifest['arrays']} or None
        sets.append(common.Split(*arrays, regression=info['regression'], synthetic=info['synthetic'],
                                 layout=info['layout'], sequences=sequences))
    return info, key, sets


def is_valid(entry, ident):
    """The whole entry (every array) verifies."""
    try:
        manifest = read_manifest(entry, ident)
        for name in manifest['arrays']:
            open_array(entry, manifest, name)
    except Broken:
        return False
    return True


# ---------------------------------------------------------------- building

def write_array(path, array):
    """Write `array` as a float32 .npy with non-finite values zeroed, a block of rows at a time (a float64
    input is never converted whole, and no page of the output stays mapped); returns its manifest record."""
    shape = tuple(int(n) for n in array.shape)
    with open(path, 'wb') as f:
        np.lib.format.write_array_header_1_0(f, dict(descr=np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                                                     fortran_order=False, shape=shape))
        for chunk in common.finished_chunks(array):
            f.write(chunk.data)
    size = os.path.getsize(path)
    return dict(shape=list(shape), dtype='float32', bytes=size, sample=sampled_sha256(path, size))


def build(reader, data_path, task, ident, root, name, prefix):
    prepared = reader.prepare(data_path)
    info = next(prepared)  # the file was read and checked: a bad file has failed, and nothing was written
    key = reader.task_key(data_path, info, task)
    try:
        os.makedirs(root, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix='.build-{}-{}-{}-'.format(name, socket.gethostname(), os.getpid()), dir=root)
    except OSError as err:
        print('Data cache {} is not writable ({}); loading {} without it'.format(root, err.strerror or err, data_path))
        return info, key, common.in_memory(prepared, info, key)
    try:
        manifest = dict(format=FORMAT, identity=ident, info=info, arrays={})
        for task_name, split, arrays in prepared:
            index = info['tasks'].index(task_name)
            for modality in common.MODALITIES + tuple(n for n in common.SEQUENCES if n in arrays):
                file_name = array_name(index, split, modality)
                # popped: the raw array is freed as soon as it is saved
                manifest['arrays'][file_name] = write_array(os.path.join(tmp, file_name), arrays.pop(modality))
            del arrays
        with open(os.path.join(tmp, MANIFEST), 'w') as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
        install(tmp, os.path.join(root, name), ident)
    except OSError as err:  # e.g. a full disk: the cache never fails a run
        print('Data cache {} cannot be written ({}); loading {} without it'.format(
            root, err.strerror or err, data_path))
        prepared.close()
        del prepared
        shutil.rmtree(tmp, ignore_errors=True)
        return read(reader, data_path, task)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # after a lost race, an error or Ctrl-C
    remove_stale(root, name, prefix)
    try:
        return open_entry(os.path.join(root, name), ident, reader, data_path, task)
    except Broken as err:
        print('Data cache entry {} is unusable right after it was written ({}); loading {} without it'.format(
            os.path.join(root, name), err, data_path))
        return read(reader, data_path, task)


def install(tmp, entry, ident):
    """Rename the finished folder `tmp` to `entry`. If another process got there first with a
    valid entry, keep that one (the caller deletes `tmp`); replace anything else."""
    for _ in range(5):
        try:
            os.rename(tmp, entry)
            return
        except OSError as err:
            if err.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                raise
        if is_valid(entry, ident):
            return
        discard(entry)
    raise OSError(errno.EEXIST, 'could not replace the entry', entry)


def discard(path):
    """Remove a folder (or file) of the cache: first renamed aside, so no reader sees it half deleted."""
    trash = path
    if not os.path.basename(path).startswith('.trash-'):
        trash = os.path.join(os.path.dirname(path), '.trash-{}-{}'.format(os.path.basename(path), os.getpid()))
        try:
            os.rename(path, trash)
        except FileNotFoundError:
            return
        except OSError:
            trash = path
    if os.path.isdir(trash) and not os.path.islink(trash):
        shutil.rmtree(trash, ignore_errors=True)
    else:
        try:
            os.remove(trash)
        except OSError:
            pass


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def remove_stale(root, name, prefix):
    """Delete the other entries of the same path and dataset, and leftovers of killed builds of this host."""
    host = socket.gethostname()
    try:
        names = os.listdir(root)
    except OSError:
        return
    for other in names:
        if other.startswith(prefix + '.') and other != name:
            discard(os.path.join(root, other))
        elif other.startswith('.build-' + prefix + '.'):
            head, pid, _ = other.rsplit('-', 2)
            if head.endswith('-' + host) and pid.isdigit() and not _process_alive(int(pid)):
                discard(os.path.join(root, other))
        elif other.startswith('.trash-' + prefix + '.'):
            discard(os.path.join(root, other))
