"""Missing and noisy modalities at test time (robustness.py, test.py and infer.py --missing/--noise), and training
without a modality (train.py --modalities), on data where only the text carries the label: removing it costs
nearly all the skill, removing another almost none. The scripts' main() runs in this process (no Paddle start
per call). The robustness study's records (reproduce.py) are tested by test_reproduce.py's quick run."""
import os
import re

import numpy as np
import pytest

from helpers import assert_clean_error, run_command, write_pickle
import export_model
import infer
import test as test_script
import train
from lmf import records, robustness
from data import common, iemocap

F1 = re.compile(r'^F1-score on test set is ([0-9.]+)$', re.MULTILINE)
SIZES = (('train', 600), ('valid', 100), ('test', 240))


def trained(text_only, modalities=None):
    """The happy model train.py trains on the text-only file in 20 epochs (on `modalities`; default all three)."""
    check = str(text_only['tmp'] / 'check_{}'.format((modalities or 'all').replace(',', '_')))
    flags = ['--modalities', modalities] if modalities else []
    proc = run_command(train, '--emotion', 'happy', '--data_path', text_only['data'], '--epochs', '20',
                    '--model_path', check, '--log_dir', text_only['tmp'] / 'log', *flags)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dict(text_only, check=check)


@pytest.fixture(scope='module')
def text_only(tmp_path_factory):
    """An IEMOCAP-layout file whose label only the text shows (audio and video cues agree half the time: no
    information), and the happy model train.py trains on it."""
    tmp = tmp_path_factory.mktemp('robust')
    saved = dict(iemocap.CUE_RELIABILITY)
    iemocap.CUE_RELIABILITY.update(audio=0.5, video=0.5, text=0.97)
    try:
        data = iemocap.make_sample_data(0, SIZES, emotions=('happy',))
    finally:
        iemocap.CUE_RELIABILITY.update(saved)
    del data[b'synthetic']
    return trained(dict(tmp=tmp, data=write_pickle(tmp / 'text_only.pkl', data)))


@pytest.fixture(scope='module')
def text_model(text_only):
    """The same, trained on the text alone."""
    return trained(text_only, 'text')


def f1_of(text_only, *flags):
    """test.py's F1 and output."""
    proc = run_command(test_script, '--emotion', 'happy', '--data_path', text_only['data'], '--check_path',
                    text_only['check'], *flags)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return float(F1.search(proc.stdout).group(1)), proc.stdout


def test_missing_the_informative_modality_costs_nearly_all_skill_and_another_almost_none(text_only):
    clean, out = f1_of(text_only)
    assert 'Perturbation' not in out  # the seed's output, unchanged
    without_text, out = f1_of(text_only, '--missing', 'text')
    assert 'Perturbation: text missing (set to zero); seed 0' in out
    without_audio, _ = f1_of(text_only, '--missing', 'audio')
    without_av, _ = f1_of(text_only, '--missing', 'audio,video')
    majority = 0.7 * 2 * 0.7 / 1.7  # weighted F1 of always predicting the majority class (30% positive): 0.58
    assert clean > 0.9
    assert without_text < majority + 0.08
    assert without_audio > clean - 0.05 and without_av > clean - 0.06


def test_training_on_the_informative_modality_alone_keeps_the_skill_and_without_it_loses_it(text_only, text_model):
    clean = f1_of(text_only)[0]
    assert f1_of(text_model)[0] > clean - 0.04
    assert f1_of(trained(text_only, 'audio,video'))[0] < 0.7 * 2 * 0.7 / 1.7 + 0.08  # about the majority's F1


def test_noise_hurts_on_the_informative_modality_and_not_on_another(text_only):
    text_curve = [f1_of(text_only, '--noise', str(level), '--noise_modality', 'text')[0] for level in (0.0, 0.5, 0.9)]
    assert text_curve[0] == f1_of(text_only)[0]
    audio_curve = [f1_of(text_only, '--noise', str(level), '--noise_modality', 'audio')[0] for level in (0.0, 0.9)]
    assert text_curve[0] > text_curve[1] > text_curve[2] and text_curve[0] - text_curve[2] > 0.15
    assert abs(audio_curve[1] - audio_curve[0]) < 0.05
    again = f1_of(text_only, '--noise', '0.5', '--noise_modality', 'text')[0]
    assert again == text_curve[1]  # the same seed draws the same noise
    other_seed = f1_of(text_only, '--noise', '0.5', '--noise_modality', 'text', '--seed', '1')
    assert 'seed 1' in other_seed[1]


def test_a_model_without_a_modality_notes_perturbing_it_and_refuses_removing_all_it_fuses(text_model):
    """A text-only model: --missing audio or noise on the video change nothing (a note says so), noise on all
    perturbs the text it fuses, and --missing text leaves it nothing: one error line."""
    clean = f1_of(text_model)[0]
    note = 'Note: the model in {} fuses only text; perturbing '.format(os.path.join(text_model['check'],
                                                                                    'happy.pdparams'))
    for flags, named in ((('--missing', 'audio'), 'audio'), (('--noise', '0.9', '--noise_modality', 'video'), 'video'),
                         (('--missing', 'video', '--noise', '0.5', '--noise_modality', 'audio'), 'audio,video')):
        score, out = f1_of(text_model, *flags)
        assert score == clean and note + named + ' changes nothing' in out, (flags, out)
    score, out = f1_of(text_model, '--noise', '0.9', '--noise_modality', 'all')
    assert 'Note:' not in out and score != clean
    proc = run_command(test_script, '--emotion', 'happy', '--data_path', text_model['data'], '--check_path',
                    text_model['check'], '--missing', 'text')
    assert_clean_error(proc, '--missing text', 'fuses only text', 'nothing would be left')


def test_infer_saves_perturbed_predictions_beside_the_clean_ones_and_refuses_removing_all_a_model_fuses(
        text_only, text_model):
    tmp = text_only['tmp']
    for model, inference in ((text_only, tmp / 'inference'), (text_model, tmp / 'inference_text_only')):
        proc = run_command(export_model, '--emotion', 'happy', '--check_path', model['check'],
                        '--save_inference_dir', inference)
        assert proc.returncode == 0, proc.stderr
    out = tmp / 'prob'
    common_flags = ['--emotion', 'happy', '--save_inference_dir', tmp / 'inference', '--data_path', text_only['data'],
                    '--output_dir', out]
    clean = run_command(infer, *common_flags)
    missing = run_command(infer, *common_flags, '--missing', 'text', '--noise', '0.2', '--noise_modality', 'audio')
    assert clean.returncode == 0 and missing.returncode == 0, clean.stderr + missing.stderr
    assert sorted(os.listdir(str(out))) == ['happy_prob.npy', 'happy_prob_missing-text_noise-audio-0.2_seed-0.npy']
    assert 'Perturbation: text missing (set to zero); noise 0.2 on audio' in missing.stdout
    assert not np.allclose(np.load(str(out / 'happy_prob.npy')),
                           np.load(str(out / 'happy_prob_missing-text_noise-audio-0.2_seed-0.npy')))
    proc = run_command(infer, '--emotion', 'happy', '--save_inference_dir', tmp / 'inference_text_only', '--data_path',
                    text_only['data'], '--output_dir', tmp / 'prob_text_only', '--missing', 'text,video')
    assert_clean_error(proc, '--missing video,text', 'fuses only text')
    assert not os.path.exists(str(tmp / 'prob_text_only'))


@pytest.mark.parametrize('flags, fragments', [
    (('--missing', 'smell'), ('--missing', "unknown modality 'smell'")),
    (('--missing', 'audio,,video'), ('--missing', 'an empty name')),
    (('--missing', 'audio,video,text'), ('--missing', 'every modality')),
    (('--seed', '-1'), ('--seed must be in [0, 4294967295]',)),
    (('--missing', 'audio', '--seed', '4294967296'), ('--seed must be in [0, 4294967295]',)),
    (('--noise', '1.5'), ('--noise must be in [0, 1]',)),
    (('--noise', '-0.1'), ('--noise must be in [0, 1]',)),
    (('--noise', '0.2', '--noise_modality', 'face'), ('--noise_modality face',)),
])
def test_bad_perturbations_are_one_line(tmp_path, flags, fragments):
    for script, where in ((test_script, '--check_path'), (infer, '--save_inference_dir')):
        proc = run_command(script, '--emotion', 'happy', where, tmp_path / 'none', *flags)
        assert_clean_error(proc, *fragments)
        assert proc.returncode == 2


def test_perturbation_draws_and_what_they_touch():
    rng = np.random.RandomState(0)
    audio, video = rng.randn(40, 4).astype('f'), rng.randn(40, 3).astype('f')
    text = rng.randn(40, 6, 5).astype('f')
    text[:, :2] = 0  # front padding, as the GloVe sequences have
    split = common.Split(audio, video, text, np.eye(2, dtype='f')[rng.randint(2, size=40)])
    noisy = robustness.Perturbation(None, 0.4, 'text', 7).apply(split, split)
    np.testing.assert_array_equal(noisy.audio, audio)  # only the named modality
    assert not np.any(noisy.text[:, :2])  # padding stays padding
    dropped = ~np.any(noisy.text[:, 2:] != 0, axis=2)
    assert 0.25 < dropped.mean() < 0.55  # whole steps zeroed with probability 0.4
    kept = noisy.text[:, 2:][~dropped] - text[:, 2:][~dropped]
    np.testing.assert_allclose(kept.std(axis=0), 0.4 * robustness.feature_std(text), rtol=0.2)
    stronger = robustness.Perturbation(None, 0.8, 'text', 7).apply(split, split)
    assert np.all(~np.any(stronger.text[:, 2:] != 0, axis=2) >= dropped)  # the steps dropped at 0.4 stay dropped
    np.testing.assert_array_equal(split.text, text)  # the clean split is untouched
    missing = robustness.Perturbation('audio,video').apply(split, split)
    assert not missing.audio.any() and not missing.video.any()
    np.testing.assert_array_equal(missing.text, text)
    given = {m: robustness.feature_std(getattr(split, m)) for m in robustness.MODALITIES}  # the study's precomputed
    np.testing.assert_array_equal(robustness.Perturbation(None, 0.4, 'all', 7).apply(split, split, given).text,
                                  robustness.Perturbation(None, 0.4, 'all', 7).apply(split, split).text)
    assert robustness.Perturbation().suffix() == '' and not robustness.Perturbation()


def test_a_robustness_record_is_read_back_and_anything_else_is_none(tmp_path):
    """The study's record (robustness.json beside a run's record): what evaluate_run writes is what read_results
    gives; none, a file cut short or a record of another format is None (the study evaluates that run again)."""
    assert robustness.read_results(str(tmp_path)) is None
    scores = {name: 0.5 for name, _ in robustness.conditions()}
    records.write(str(tmp_path / robustness.RESULT_FILE), dict(metric='f1', scores=scores), robustness.FORMAT)
    assert robustness.read_results(str(tmp_path)) == scores and len(scores) == 1 + 4 * 9 + 3
    text = (tmp_path / robustness.RESULT_FILE).read_text()
    (tmp_path / robustness.RESULT_FILE).write_text(text[:len(text) // 2])
    assert robustness.read_results(str(tmp_path)) is None
    records.write(str(tmp_path / robustness.RESULT_FILE), dict(metric='f1', scores=scores))  # a run record's format
    assert robustness.read_results(str(tmp_path)) is None
