"""data/cache.py: the prepared arrays are read once per file, served as read-only memory maps, equal the
uncached preparation, and a changed file, a damaged entry, two processes, an unwritable folder or a bad
file never give wrong data or a failed run."""
import os
import pickle
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import REPO, iemocap_data, mmsa_data, write_pickle
from data import cache, common, mosi, pom
import utils
from lmf import engine

SMALL = (('train', 10), ('valid', 4), ('test', 6))


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / 'cache'
    monkeypatch.setenv('LMF_CACHE_DIR', str(folder))
    return folder


@pytest.fixture
def unpickled(monkeypatch):
    """The paths unpickled so far (every reader unpickles through common.safe_load)."""
    calls = []
    real = common.safe_load

    def counting(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(common, 'safe_load', counting)
    return calls


def entries(folder):
    return sorted(os.listdir(str(folder))) if folder.exists() else []


def files_of(dataset, tmp_path, name='d.pkl', seed=0):
    """A small file of each dataset's layout."""
    if dataset == 'iemocap':
        made = iemocap_data(sizes=(10, 4, 6), seed=seed)
    elif dataset in ('mosi', 'pom'):
        made = {'mosi': mosi, 'pom': pom}[dataset].make_sample_data(seed, SMALL)
    else:
        made = mmsa_data(dataset, (10, 4, 6), seed=seed, dtype=np.float64)
    return write_pickle(tmp_path / name, made, protocol=4)


def copied(loaded):
    """A load's splits with their arrays copied into memory (a memory map of a file that a test then truncates
    would crash the process when read: SIGBUS)."""
    sets = [common.Split(*(np.array(getattr(s, a)) for a in common.MODALITIES), regression=s.regression,
                         synthetic=s.synthetic, layout=s.layout) for s in loaded[:3]]
    return tuple(sets) + (loaded[3],)


def assert_same(first, second):
    for a, b in zip(first[:3], second[:3]):
        for name in ('audio', 'video', 'text', 'labels', 'targets'):
            x, y = getattr(a, name), getattr(b, name)
            assert x.dtype == y.dtype and x.shape == y.shape
            assert np.array_equal(x, y) and x.tobytes() == y.tobytes(), name  # bit for bit
        assert (a.regression, a.synthetic, a.layout) == (b.regression, b.synthetic, b.layout)
        assert (a.sequences is None) == (b.sequences is None)
        for name in a.sequences or ():
            assert a.sequences[name].tobytes() == b.sequences[name].tobytes(), name
    assert first[3] == second[3]


def test_the_suite_never_writes_the_repositorys_cache():
    assert not os.path.realpath(os.environ['LMF_CACHE_DIR']).startswith(os.path.realpath(REPO) + os.sep)


def test_second_load_is_served_from_the_cache_for_every_emotion(tmp_path, cache_dir, unpickled, capsys):
    path = files_of('iemocap', tmp_path)
    started = time.perf_counter()
    first = engine.load_data('iemocap', path, 'happy')
    first_seconds = time.perf_counter() - started
    assert unpickled == [path]
    assert len(entries(cache_dir)) == 1
    lines = capsys.readouterr().out
    for emotion in ('sad', 'angry', 'neutral', 'happy'):  # train.sh's four runs: one unpickling
        started = time.perf_counter()
        again = engine.load_data('iemocap', path, emotion)
        print('{}: first load {:.3f} s, cached {:.3f} s'.format(emotion, first_seconds, time.perf_counter() - started),
              file=sys.stderr)
        assert capsys.readouterr().out == lines  # the printed lines on every load
    assert unpickled == [path]
    assert_same(first, again)
    for split in again[:3]:
        for array in (split.audio, split.video, split.text, split.labels):
            assert isinstance(array, np.memmap) and not array.flags.writeable


def test_mmsa_frame_sequences_are_served_from_the_cache(tmp_path, cache_dir, unpickled):
    """An MMSA file's audio and vision frames (non-finite values zeroed) and its lengths come from the cache as
    memory maps on later loads, the file unpickled once; an aligned file (no lengths) takes the text's."""
    raw = mmsa_data('mosei', (10, 4, 6), steps=(7, 5, 6), seed=2, dtype=np.float64)
    path = write_pickle(tmp_path / 'mosei.pkl', raw, protocol=4)
    engine.load_data('mosei', path, verbose=False)
    served = engine.load_data('mosei', path, verbose=False)
    assert unpickled == [path]
    for split, name in zip(served[:3], common.SPLITS):
        part = raw[name]
        assert set(split.sequences) == set(common.SEQUENCES)
        assert all(isinstance(a, np.memmap) for a in split.sequences.values())
        for key, stored in (('audio_seq', 'audio'), ('video_seq', 'vision')):
            expected = part[stored].astype(np.float32)
            expected[~np.isfinite(expected)] = 0
            assert np.array_equal(split.sequences[key], expected), key
        assert np.array_equal(split.sequences['audio_lengths'], part['audio_lengths'])
        assert np.array_equal(split.sequences['video_lengths'], part['vision_lengths'])
        assert np.array_equal(split.sequences['text_lengths'], part['text_bert'][:, 1].sum(axis=1))
    aligned = mmsa_data('mosei', (10, 4, 6), steps=(6, 6, 6), seed=2)
    for name in common.SPLITS:
        for key in ('audio_lengths', 'vision_lengths', 'text_bert'):
            del aligned[name][key]
    test_set = engine.load_data('mosei', write_pickle(tmp_path / 'aligned.pkl', aligned, 4), verbose=False)[2]
    text = aligned['test']['text']
    last = [max(np.flatnonzero(np.any(row != 0, axis=1))) + 1 for row in text]
    assert np.array_equal(test_set.sequences['text_lengths'], last)
    assert np.array_equal(test_set.sequences['audio_lengths'], last)


@pytest.mark.parametrize('dataset', ['iemocap', 'mosi', 'pom', 'mosei', 'sims'])
def test_cached_arrays_equal_the_uncached_preparation(tmp_path, cache_dir, dataset):
    path = files_of(dataset, tmp_path)
    task = 'angry' if dataset == 'iemocap' else None
    direct = cache.load(engine.data_module(dataset), path, task, verbose=False, use_cache=False)
    built = engine.load_data(dataset, path, task, verbose=False)
    served = engine.load_data(dataset, path, task, verbose=False)
    assert not isinstance(direct[0].text, np.memmap) and isinstance(served[0].text, np.memmap)
    assert_same(direct, built)
    assert_same(direct, served)


def test_the_per_call_checks_still_run_on_cached_loads(tmp_path, cache_dir):
    path = files_of('iemocap', tmp_path)
    engine.load_data('iemocap', path, 'happy', verbose=False)
    with pytest.raises(utils.UserError, match=r'audio 74 \(model expects 70\)'):
        engine.load_data('iemocap', path, 'happy', expected_dims=(70, 35, 300))
    with pytest.raises(utils.UserError, match='labels have 2 classes but --output_dim is 3'):
        engine.load_data('iemocap', path, 'sad', output_dim=3)
    with pytest.raises(utils.UserError, match="emotion 'joy' not found"):
        engine.load_data('iemocap', path, 'joy')
    path = files_of('pom', tmp_path, 'pom.pkl')
    engine.load_data('pom', path, verbose=False)
    with pytest.raises(utils.UserError, match='use --dataset pom'):
        engine.load_data('mosi', path)  # the label count of CMU-MOSI, checked before its entry is written
    assert [e for e in entries(cache_dir) if '.mosi.' in e] == []


def test_a_changed_or_replaced_file_is_read_again(tmp_path, cache_dir, unpickled):
    path = files_of('mosei', tmp_path, seed=0)
    first = engine.load_data('mosei', path, verbose=False)
    # rewritten in place at once: same size, same inode, maybe the same mtime
    files_of('mosei', tmp_path, seed=1)
    second = engine.load_data('mosei', path, verbose=False)
    assert len(unpickled) == 2 and not np.array_equal(first[0].text, second[0].text)
    assert len(entries(cache_dir)) == 1  # the stale entry of the same path is gone
    # replaced by another file (os.replace: a new inode)
    other = files_of('mosei', tmp_path, 'other.pkl', seed=2)
    os.replace(other, path)
    third = engine.load_data('mosei', path, verbose=False)
    assert len(unpickled) == 3 and not np.array_equal(second[0].text, third[0].text)
    assert len(entries(cache_dir)) == 1
    np.testing.assert_array_equal(third[2].labels, cache.load(engine.data_module('mosei'), path, verbose=False,
                                                              use_cache=False)[2].labels)


def _entry(cache_dir):
    (name,) = entries(cache_dir)
    return cache_dir / name


DAMAGE = {
    'garbage manifest': lambda e: (e / 'manifest.json').write_text('{"format": '),
    'missing manifest': lambda e: (e / 'manifest.json').unlink(),
    'truncated npy': lambda e: os.truncate(str(e / '0.train.text.npy'), 1000),
    'missing npy': lambda e: (e / '0.test.labels.npy').unlink(),
    'changed npy': lambda e: (e / '0.valid.audio.npy').write_bytes(
        (e / '0.valid.audio.npy').read_bytes()[:-4] + b'\x01\x02\x03\x04'),
    'not a folder': lambda e: (__import__('shutil').rmtree(str(e)), e.write_text('x')),
}


@pytest.mark.parametrize('damage', sorted(DAMAGE))
def test_a_damaged_entry_is_rebuilt_with_one_line(tmp_path, cache_dir, unpickled, capsys, damage):
    path = files_of('mosi', tmp_path)
    good = copied(engine.load_data('mosi', path, verbose=False))
    DAMAGE[damage](_entry(cache_dir))
    capsys.readouterr()
    again = engine.load_data('mosi', path, verbose=False)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith('Data cache entry ') and 'is unusable' in out[0] \
        and out[0].endswith('rebuilding it from {}'.format(path)), out
    assert len(unpickled) == 2
    assert_same(good, again)
    assert len(entries(cache_dir)) == 1
    engine.load_data('mosi', path, verbose=False)
    assert len(unpickled) == 2 and capsys.readouterr().out == ''


def test_an_entry_of_another_file_is_never_trusted(tmp_path, cache_dir, unpickled, capsys):
    mine, theirs = files_of('mosi', tmp_path, 'mine.pkl', seed=0), files_of('mosi', tmp_path, 'theirs.pkl', seed=1)
    engine.load_data('mosi', theirs, verbose=False)
    their_entry = _entry(cache_dir)
    name, _ = cache.entry_names(cache.identity(engine.data_module('mosi'), mine))
    __import__('shutil').copytree(str(their_entry), str(cache_dir / name))  # a foreign entry under my name
    loaded = engine.load_data('mosi', mine, verbose=False)
    assert 'it was made from another file or version' in capsys.readouterr().out
    assert_same(loaded, cache.load(mosi, mine, verbose=False, use_cache=False))


def test_a_lost_race_keeps_the_winners_entry(tmp_path, cache_dir, unpickled):
    """The second of two processes that both found no entry: its rename fails, it verifies and uses the first's."""
    path = files_of('sims', tmp_path)
    reader = engine.data_module('sims')
    winner = engine.load_data('sims', path, verbose=False)
    entry = _entry(cache_dir)
    inode = os.stat(str(entry / 'manifest.json')).st_ino
    ident = cache.identity(reader, path)
    name, prefix = cache.entry_names(ident)
    _, _, sets = cache.build(reader, path, None, ident, str(cache_dir), name, prefix)  # the late one
    assert os.stat(str(entry / 'manifest.json')).st_ino == inode  # the winner's entry stays
    assert entries(cache_dir) == [entry.name]  # the loser's temporary folder is gone
    assert_same(winner, tuple(sets) + (winner[3],))


CHILD = """
import glob, hashlib, os, sys, time
sys.path.insert(0, sys.argv[1])
from data import cache, iemocap
path, barrier = sys.argv[2], sys.argv[3]
real_install = cache.install

def install_when_both_built(tmp, entry, ident):
    # both processes have written their whole entry before either renames it: a real race
    open(os.path.join(barrier, str(os.getpid())), 'w').close()
    deadline = time.time() + 60
    while len(os.listdir(barrier)) < 2 and time.time() < deadline:
        time.sleep(0.005)
    return real_install(tmp, entry, ident)

cache.install = install_when_both_built
sets = iemocap.load(path, 'happy', verbose=False)
print(hashlib.sha256(b''.join(getattr(s, a).tobytes() for s in sets[:3]
                              for a in ('audio', 'video', 'text', 'labels'))).hexdigest())
"""


def test_two_processes_building_at_once_both_succeed(tmp_path, cache_dir):
    path = write_pickle(tmp_path / 'd.pkl', iemocap_data(sizes=(60, 15, 20)), protocol=4)
    barrier = tmp_path / 'barrier'
    barrier.mkdir()
    processes = [subprocess.Popen([sys.executable, '-c', CHILD, REPO, path, str(barrier)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in processes]
    assert [r[2] for r in results] == [0, 0], results
    assert len(os.listdir(str(barrier))) == 2  # both built an entry
    assert results[0][0] == results[1][0] and len(results[0][0].strip()) == 64
    assert results[0][1] == results[1][1] == ''  # no line: losing the race is normal
    assert len(entries(cache_dir)) == 1  # the winner's; the loser's temporary folder is gone
    assert cache.is_valid(str(_entry(cache_dir)), cache.identity(engine.data_module('iemocap'), path))
    direct = cache.load(engine.data_module('iemocap'), path, 'happy', verbose=False, use_cache=False)
    assert_same(direct, engine.load_data('iemocap', path, 'happy', verbose=False))


def test_an_unwritable_cache_folder_loads_without_it(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    monkeypatch.setenv('LMF_CACHE_DIR', str(blocker / 'cache'))  # a folder below a file: never writable
    path = files_of('mosei', tmp_path)
    sets = engine.load_data('mosei', path, verbose=False)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith('Data cache {} is not writable ('.format(blocker / 'cache')) \
        and out[0].endswith('loading {} without it'.format(path)), out
    assert_same(sets, cache.load(engine.data_module('mosei'), path, verbose=False, use_cache=False))


def test_a_full_disk_mid_build_loads_without_the_cache(tmp_path, cache_dir, monkeypatch, capsys):
    path = files_of('iemocap', tmp_path)
    real, written = cache.write_array, []

    def fails_later(target, array):
        if len(written) == 5:
            raise OSError(28, 'No space left on device')
        written.append(target)
        return real(target, array)

    monkeypatch.setattr(cache, 'write_array', fails_later)
    sets = engine.load_data('iemocap', path, 'sad', verbose=False)
    assert 'cannot be written (No space left on device); loading' in capsys.readouterr().out
    assert entries(cache_dir) == []  # no half entry, no temporary folder
    assert_same(sets, cache.load(engine.data_module('iemocap'), path, 'sad', verbose=False, use_cache=False))


def test_ctrl_c_mid_build_leaves_no_half_entry(tmp_path, cache_dir, monkeypatch):
    path = files_of('iemocap', tmp_path)
    real = cache.write_array
    calls = []

    def interrupted(target, array):
        calls.append(target)
        if len(calls) == 7:
            raise KeyboardInterrupt
        return real(target, array)

    monkeypatch.setattr(cache, 'write_array', interrupted)
    with pytest.raises(KeyboardInterrupt):
        engine.load_data('iemocap', path, 'happy', verbose=False)
    assert entries(cache_dir) == []
    monkeypatch.setattr(cache, 'write_array', real)
    assert len(engine.load_data('iemocap', path, 'happy', verbose=False)[0]) == 10


def test_leftovers_of_a_killed_build_are_removed(tmp_path, cache_dir):
    path = files_of('pom', tmp_path)
    name, _ = cache.entry_names(cache.identity(pom, path))
    dead = cache_dir / '.build-{}-{}-{}-abcd1234'.format(name, socket.gethostname(), 2 ** 22 + 12345)
    alive = cache_dir / '.build-{}-{}-{}-efgh5678'.format(name, socket.gethostname(), os.getpid())
    for folder in (dead, alive):
        folder.mkdir(parents=True)
    engine.load_data('pom', path, verbose=False)
    assert entries(cache_dir) == sorted([alive.name, name])


def test_a_bad_file_writes_nothing(tmp_path, cache_dir):
    data = iemocap_data(emotions=('happy', 'sad'), sizes=(10, 4, 6))
    data[b'sad'][b'test'].pop(b'glove')  # the last emotion read: the first is checked and fine
    path = write_pickle(tmp_path / 'bad.pkl', data)
    with pytest.raises(utils.UserError, match="feature 'glove' missing in sad/test"):
        engine.load_data('iemocap', path, 'happy')
    (tmp_path / 'cut.pkl').write_bytes(pickle.dumps(iemocap_data(sizes=(10, 4, 6)), protocol=4)[:3000])
    with pytest.raises(utils.UserError, match='is damaged: .*truncated'):
        engine.load_data('iemocap', str(tmp_path / 'cut.pkl'), 'happy')
    assert entries(cache_dir) == []


def test_read_only_cached_arrays_train_and_evaluate(tmp_path, cache_dir):
    import train
    from lmf import hparams
    path = files_of('iemocap', tmp_path)
    engine.load_data('iemocap', path, 'sad', verbose=False)
    sets = engine.load_data('iemocap', path, 'sad', verbose=False)
    assert isinstance(sets[0].audio, np.memmap)
    batches = list(engine.iterate_batches(sets[0], 4, shuffle=True, rng=np.random.RandomState(0)))
    assert sum(b[0].shape[0] for b in batches) == 10
    hp = dict(hparams.emotion_hparams('sad'), emotion='sad', epochs=1, batch_size=4, audio_hidden=4,
              video_hidden=4, text_hidden=8, rank=2)
    engine.train_and_test(hp, path, str(tmp_path / 'check'), str(tmp_path / 'log'))
    assert os.path.isfile(str(tmp_path / 'check' / 'sad.pdparams'))
