"""Random missing (lmf/missing.py): MMSA's generate_m on its feature files (against a restatement of MMSA's code
here), the authors' pickles' variant, the flags' checks, and training with drops (train.py --train_missing)."""
import numpy as np
import pytest

from helpers import assert_clean_error, mmsa_data, run_command, write_pickle
import test as test_script
import train
from data import common
from lmf import engine, missing, robustness

MMSA_UNK = 100  # BERT's [UNK] id, what MMSA writes in a dropped text step


def mmsa_generate_m(values, mask, rate, seed, text):
    """MMSA's data_loader.generate_m restated: returns (the dropped values, the steps it replaced by [UNK])
    (text: values are the token ids [N, T] and mask the attention mask; audio / vision: mask from the lengths)."""
    np.random.seed(seed)
    kept = (np.random.uniform(size=mask.shape) > rate) * mask
    if text:
        first_zero = np.argmin(mask, axis=1)  # MMSA's input_len (0 for a full mask: then the last step, -1)
        for i, row in enumerate(kept):
            row[0] = row[first_zero[i] - 1] = 1
        return kept * values + MMSA_UNK * (mask - kept), (mask - kept).astype(bool)
    return kept[:, :, None] * values, None


def test_mmsa_files_drop_as_mmsa_generate_m(tmp_path, monkeypatch):
    """At per-modality rates and seed 1111: the audio and video inputs are the means of MMSA's dropped frame
    sequences (audio -inf -> 0 first, as MMSA), and the text steps MMSA turns into [UNK] are zero features, every
    other step as it was; a rate of 0 leaves a modality as it is; the split itself is unchanged."""
    monkeypatch.setenv('LMF_CACHE_DIR', str(tmp_path / 'cache'))
    raw = mmsa_data('mosi', (10, 4, 30), steps=(9, 7, 8), seed=3)
    path = write_pickle(tmp_path / 'mosi.pkl', raw, protocol=4)
    test_set = engine.load_data('mosi', path, verbose=False)[2]
    clean = {m: np.array(getattr(test_set, m)) for m in missing.MODALITIES}
    rates = dict(audio=0.4, video=0.3, text=0.5)
    out = missing.at_rates(test_set, rates, seed=1111)
    part = raw['test']
    n, steps = len(part['audio']), part['audio'].shape[1]
    for modality, key in (('audio', 'audio'), ('video', 'vision')):
        frames = part[key].astype(np.float32)
        frames[frames == -np.inf] = 0  # MMSA's audio cleaning (the synthetic vision has NaN: zero here, see docs)
        frames[~np.isfinite(frames)] = 0
        lengths = part[key + '_lengths']
        mask = np.array([[1] * k + [0] * (frames.shape[1] - k) for k in lengths])
        dropped, _ = mmsa_generate_m(frames, mask, rates[modality], 1111, text=False)
        np.testing.assert_allclose(getattr(out, modality), dropped.mean(axis=1), rtol=1e-6, atol=1e-7)
        assert not np.allclose(getattr(out, modality), clean[modality])
    ids, mask = part['text_bert'][:, 0], part['text_bert'][:, 1]
    _, unk = mmsa_generate_m(ids, mask, rates['text'], 1111, text=True)
    assert unk.any() and not unk[:, 0].any()
    np.testing.assert_array_equal(out.text[unk], 0)
    np.testing.assert_array_equal(out.text[~unk], clean['text'][~unk])
    assert steps == 9 and n == 30
    only_text = missing.at_rates(test_set, dict(audio=0.0, video=0.0, text=0.5), seed=1111)
    for modality in ('audio', 'video'):
        np.testing.assert_array_equal(getattr(only_text, modality), clean[modality])
    for modality in missing.MODALITIES:
        np.testing.assert_array_equal(getattr(test_set, modality), clean[modality])


def test_the_authors_pickles_drop_word_steps_and_whole_audio_and_video():
    rng = np.random.RandomState(0)
    audio, video = rng.randn(400, 4).astype('f') + 3, rng.randn(400, 3).astype('f') + 3
    text = rng.randn(400, 6, 5).astype('f')
    text[:, :2] = 0  # front padding, as the GloVe sequences have
    split = common.Split(audio, video, text, np.eye(2, dtype='f')[rng.randint(2, size=400)])
    out = missing.at_rates(split, dict.fromkeys(missing.MODALITIES, 0.3), seed=5)
    for modality, values in (('audio', audio), ('video', video)):
        gone = ~np.any(getattr(out, modality) != 0, axis=1)
        assert 0.23 < gone.mean() < 0.37  # whole samples, with probability 0.3
        np.testing.assert_array_equal(getattr(out, modality)[~gone], values[~gone])
    dropped = ~np.any(out.text[:, 2:] != 0, axis=2)
    assert 0.25 < dropped.mean() < 0.35 and not np.any(out.text[:, :2])
    np.testing.assert_array_equal(out.text[:, 2:][~dropped], text[:, 2:][~dropped])
    again = missing.at_rates(split, dict.fromkeys(missing.MODALITIES, 0.3), seed=5)
    other = missing.at_rates(split, dict.fromkeys(missing.MODALITIES, 0.3), seed=6)
    assert np.array_equal(again.text, out.text) and not np.array_equal(other.text, out.text)
    higher = missing.at_rates(split, dict.fromkeys(missing.MODALITIES, 0.6), seed=5)
    assert np.all(~np.any(higher.text[:, 2:] != 0, axis=2) >= dropped)  # the same draws: more dropped, never fewer


@pytest.mark.parametrize('text, expected', [
    ('0.3', dict(audio=0.3, video=0.3, text=0.3)),
    ('text=0.3,audio=0.5', dict(audio=0.5, video=0.0, text=0.3)),
    ('0', dict(audio=0.0, video=0.0, text=0.0)),
])
def test_rates_are_read_for_every_modality_or_each(text, expected):
    assert missing.parse_rates(text) == expected


def test_the_header_and_file_name_name_the_protocol():
    every = robustness.Perturbation(missing_rate='0.3')
    assert every.describe('mmsa') == ("Perturbation: random missing at rate 0.3 (every modality; MMSA's protocol, "
                                      'missing seed 1111; text steps dropped at the feature level: their BERT '
                                      'features set to zero)')
    assert 'audio and video dropped whole' in every.describe('authors')
    assert every.suffix() == '_missing-rate-0.3_missing-seed-1111'
    each = robustness.Perturbation(missing_rate='text=0.3,audio=0.5', missing_seed=7)
    assert each.suffix() == '_missing-rate-audio-0.5-text-0.3_missing-seed-7'
    assert 'rate audio 0.5, text 0.3 (per modality' in each.describe('mmsa')


@pytest.mark.parametrize('flags, fragments', [
    (('--missing_rate', '1'), ('--missing_rate must be in [0, 1), got 1',)),
    (('--missing_rate', '-0.1'), ('--missing_rate must be in [0, 1)',)),
    (('--missing_rate', 'often'), ('--missing_rate', "'often' is not a number")),
    (('--missing_rate', 'smell=0.2'), ('--missing_rate', "unknown modality 'smell'")),
    (('--missing_rate', 'text=0.2,text=0.3'), ('--missing_rate', 'text given twice')),
    (('--missing_rate', 'text=1.5'), ('--missing_rate text must be in [0, 1), got 1.5',)),
    (('--missing_rate', '0.2', '--noise', '0.1'), ('--missing_rate', 'leave out --missing and --noise')),
    (('--missing_rate', '0.2', '--missing_seed', '-1'), ('--missing_seed must be in [0, 4294967295]',)),
    (('--missing_seed', '7'), ('--missing_seed 7: only --missing_rate draws with it',)),
])
def test_bad_missing_rates_are_one_line(tmp_path, flags, fragments):
    import infer
    for script, where in ((test_script, '--check_path'), (infer, '--save_inference_dir')):
        proc = run_command(script, '--emotion', 'happy', where, tmp_path / 'none', *flags)
        assert_clean_error(proc, *fragments)
        assert proc.returncode == 2


@pytest.mark.parametrize('value', ['1.5', '-0.1'])
def test_bad_train_missing_is_one_line(tmp_path, value):
    proc = run_command(train, '--emotion', 'happy', '--train_missing', value, '--model_path', tmp_path / 'check')
    assert_clean_error(proc, '--train_missing must be in [0, 1], got {}'.format(value))
    assert proc.returncode == 2 and not (tmp_path / 'check').exists()


def test_training_drops_touch_only_the_chosen_rows_and_repeat_per_epoch():
    rng = np.random.RandomState(1)
    split = common.Split(rng.randn(64, 4).astype('f') + 3, rng.randn(64, 3).astype('f') + 3,
                         rng.randn(64, 5, 2).astype('f') + 3, np.eye(2, dtype='f')[rng.randint(2, size=64)])
    rows = rng.permutation(64)[:32]
    batch = [split.audio[rows], split.video[rows], split.text[rows]]

    def epoch_batch(probability, epoch):
        drops = missing.TrainingDrops(split, probability, seed=9)
        drops.start_epoch(epoch)
        return drops.batch(rows, *batch)

    first = epoch_batch(0.5, 0)
    changed = np.array([not (np.array_equal(first[0][i], batch[0][i]) and np.array_equal(first[2][i], batch[2][i]))
                        for i in range(32)])
    assert 6 < changed.sum() < 26  # about half the rows, each at its own rate
    for array, original in zip(first, batch):
        np.testing.assert_array_equal(array[~changed], original[~changed])
    assert all(np.array_equal(a, b) for a, b in zip(first, epoch_batch(0.5, 0)))
    assert not all(np.array_equal(a, b) for a, b in zip(first, epoch_batch(0.5, 1)))
    assert all(np.array_equal(a, b) for a, b in zip(epoch_batch(0.0, 0), batch))


def train_run(tmp_path, data, name, *flags):
    """train.py on data in this process: (its run record, the checkpoint's hparams, the log's text)."""
    from lmf import checkpoints, records
    folder = tmp_path / name
    proc = run_command(train, *flags, '--data_path', data, '--epochs', '2', '--model_path', folder,
                       '--log_dir', folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    model = 'happy' if '--emotion' in flags else 'mosi'
    record = records.read(str(folder / 'train_{}.json'.format(model)))
    return record, checkpoints.load_checkpoint(str(folder / (model + '.pdparams')))[1], \
        (folder / 'train_{}.txt'.format(model)).read_text()


def test_train_missing_trains_repeatably_and_is_recorded(tmp_path, monkeypatch):
    """MMSA's layout (frames dropped before the mean) and the authors' (TFN on two modalities: whole audio drops):
    the setting is in the run record, the checkpoint and the log's first line; the same command gives the same
    numbers, and they differ from clean training."""
    from helpers import iemocap_data
    monkeypatch.setenv('LMF_CACHE_DIR', str(tmp_path / 'cache'))
    mmsa_file = write_pickle(tmp_path / 'mosi.pkl', mmsa_data('mosi', (48, 12, 16), steps=(9, 7, 8), seed=4), 4)
    iemocap_file = write_pickle(tmp_path / 'iemocap.pkl', iemocap_data(sizes=(48, 12, 16), seed=4))
    for data, flags in ((mmsa_file, ('--dataset', 'mosi')),
                        (iemocap_file, ('--emotion', 'happy', '--model', 'tfn', '--modalities', 'audio,text'))):
        record, hp, log = train_run(tmp_path, data, 'dropped', *flags, '--train_missing', '0.5')
        assert record['settings']['train_missing'] == 0.5 and hp['train_missing'] == 0.5
        assert 'random missing on 0.5 of the training samples' in log.splitlines()[0]
        again, _, _ = train_run(tmp_path, data, 'again', *flags, '--train_missing', '0.5')
        clean, clean_hp, _ = train_run(tmp_path, data, 'clean', *flags)
        assert again['metrics'] == record['metrics'] and again['best_valid_loss'] == record['best_valid_loss']
        assert clean['best_valid_loss'] != record['best_valid_loss'] and 'train_missing' not in clean_hp


def test_the_same_missing_seed_drops_the_same_in_test_py_and_infer_py_on_both_backends(tmp_path, monkeypatch):
    """An MMSA-layout model at --missing_rate 0.5: infer.py's saved scores (Paddle Inference, and ONNX Runtime where
    installed) equal the model's outputs on missing.at_rates' split (what test.py evaluates), under the name of the
    rate and seed beside the clean ones; another --missing_seed drops other steps; test.py names the protocol."""
    import export_model
    import infer
    from helpers import ONNX_MISSING
    from lmf import checkpoints
    monkeypatch.setenv('LMF_CACHE_DIR', str(tmp_path / 'cache'))
    data = write_pickle(tmp_path / 'mosi.pkl', mmsa_data('mosi', (48, 12, 16), steps=(9, 7, 8), seed=5), 4)
    _, _, log = train_run(tmp_path, data, 'check', '--dataset', 'mosi')
    check = tmp_path / 'check' / 'mosi.pdparams'
    assert run_command(export_model, '--dataset', 'mosi', '--check_path', check, '--save_inference_dir',
                       tmp_path / 'inference').returncode == 0
    model = checkpoints.model_from_checkpoint(str(check), 'mosi', dataset='mosi')[0]
    test_set = engine.load_data('mosi', data, verbose=False)[2]
    expected = {seed: engine.evaluate(model, missing.at_rates(test_set, dict.fromkeys(missing.MODALITIES, 0.5),
                                                              seed))['outputs'] for seed in (1111, 7)}
    assert not np.allclose(expected[1111], expected[7])
    tested = run_command(test_script, '--dataset', 'mosi', '--check_path', check, '--data_path', data,
                         '--missing_rate', '0.5')
    assert tested.returncode == 0 and "random missing at rate 0.5 (every modality; MMSA's protocol, missing seed " \
        '1111; text steps dropped at the feature level' in tested.stdout, tested.stdout + tested.stderr
    for backend in ['False'] + ([] if ONNX_MISSING else ['True']):
        out = tmp_path / 'pred_{}'.format(backend)
        for seed in (1111, 7):
            proc = run_command(infer, '--dataset', 'mosi', '--save_inference_dir', tmp_path / 'inference',
                               '--data_path', data, '--output_dir', out, '--use_onnx', backend,
                               '--missing_rate', '0.5', '--missing_seed', seed)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            saved = np.load(str(out / 'mosi_pred_missing-rate-0.5_missing-seed-{}.npy'.format(seed)))
            np.testing.assert_allclose(saved, expected[seed], rtol=1e-4, atol=1e-5)
