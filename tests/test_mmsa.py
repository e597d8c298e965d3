"""Models of MMSA's feature files end to end: train.py's two recipes, test.py's MMSA metric lines against an
independent computation from infer.py's saved predictions, export to Paddle Inference and ONNX, and the one-line
errors of a model given another layout's or dataset's file. The files are tiny MMSA-layout pickles from
data/mmsa.py's generator (real feature widths, short time axes)."""
import json
import os
import pickle
import re

import numpy as np
import pytest

from helpers import cli_error, run_main, skip_without_onnx, write_pickle
from test_metrics import ref_sims  # MMSA's CH-SIMS metrics written out again, not metrics.py
from lmf import hparams
from lmf import engine
from lmf import checkpoints
import utils
from data import mmsa

SIZES = (('train', 64), ('valid', 24), ('test', 40))
STEPS = {'sims': (12, 8, 10), 'mosi': (10, 12, 10)}  # audio, vision, text time steps
FAST = ['--epochs', '3', '--text_hidden', '16', '--video_hidden', '16', '--audio_hidden', '8']
VALUE = r'(-?[0-9.]+|nan)'


def mmsa_file(tmp_path, dataset, seed=0):
    return write_pickle(tmp_path / '{}_mmsa.pkl'.format(dataset),
                        mmsa.make_sample_data(dataset, seed, SIZES, steps=STEPS[dataset]), protocol=4)


@pytest.fixture(scope='module')
def sims(tmp_path_factory):
    """A CH-SIMS-layout file, and a model trained on it under each recipe (3 epochs)."""
    tmp = tmp_path_factory.mktemp('mmsa')
    data = mmsa_file(tmp, 'sims')
    runs = {}
    for recipe in hparams.RECIPES:
        check, logs = str(tmp / ('check_' + recipe)), str(tmp / ('log_' + recipe))
        run_main('train', ['--dataset', 'sims', '--data_path', data, '--recipe', recipe] + FAST +
                 ['--model_path', check, '--log_dir', logs])
        runs[recipe] = dict(check=check, log=os.path.join(logs, 'train_sims.txt'))
    return dict(tmp=tmp, data=data, runs=runs)


def raw_test_labels(path):
    with open(path, 'rb') as f:
        return np.asarray(pickle.load(f)['test']['regression_labels'], dtype=np.float32)


def printed(text, names):
    """{name: value} of the '<name> on test set is <value>' lines (the last of each name: MMSA's block)."""
    values = {}
    for name in names:
        found = re.findall(r'^{} on test set is {}$'.format(name, VALUE), text, flags=re.MULTILINE)
        assert found, name
        values[name] = float(found[-1])
    return values


def test_training_follows_mmsas_procedure_and_the_recipe_decides_the_defects(sims):
    for recipe, run in sims['runs'].items():
        log = open(run['log']).read()
        assert "Training sims (MMSA's feature file, recipe {})".format(recipe) in log
        # the first line says what MMSA's training leaves out
        assert ('--recipe mmsa: text_dropout=0.2 is not applied' in log.split('\n')[0]) == (recipe == 'mmsa')
        assert 'patience=8' in log and 'seed=1111' in log and 'layout' not in log.split('\n')[0].split(' with ')[1]
        losses = [float(v) for v in re.findall(r'^Validation loss is: (\S+)$', log, flags=re.MULTILINE)]
        assert len(losses) == 3 and all(round(v, 4) == v for v in losses)  # MMSA's 4-decimal criterion
    state = {r: checkpoints.load_checkpoint(os.path.join(run['check'], 'sims.pdparams'))[0]
             for r, run in sims['runs'].items()}
    # the fusion weights and bias as the model was initialised (same seed, same build order as engine.fit)
    _, saved = checkpoints.load_checkpoint(os.path.join(sims['runs']['mmsa']['check'], 'sims.pdparams'))
    assert saved['recipe'] == 'mmsa' and saved['layout'] == 'mmsa' and saved['seq_len'] == STEPS['sims'][2]
    utils.set_seed(saved['seed'])
    initial = checkpoints.build_model(engine.model_hparams(saved), (33, 709, 768)).state_dict()
    for name in engine.FUSION_NAMES:
        np.testing.assert_array_equal(state['mmsa'][name], initial[name].numpy())  # MMSA: never trained
        assert not np.allclose(state['ours'][name], initial[name].numpy())  # ours: trained
    assert not np.allclose(state['mmsa']['audio_factor'], initial['audio_factor'].numpy())
    # --recipe mmsa builds the text dropout as MMSA's one-layer TextSubNet does: 0; ours applies it
    assert engine.model_hparams(dict(saved, text_dropout=0.2))['text_dropout'] == 0.0
    assert engine.model_hparams(dict(saved, recipe='ours', text_dropout=0.2))['text_dropout'] == 0.2


def test_mmsa_early_stopping_rule(monkeypatch, tmp_path):
    """Stops 8 epochs after the best; a loss better by less than 1e-6 is not better."""
    sets = engine.load_data('sims', mmsa_file(tmp_path, 'sims'), None, verbose=False)
    hp = dict(hparams.published_hparams('sims'), epochs=50, text_hidden=8, video_hidden=8, audio_hidden=4)
    hp = hparams.with_data(hp, sets[0], 'f')
    losses = iter([0.5, 0.4, 0.4 - 5e-7, 0.39] + [0.39] * 20)
    monkeypatch.setattr(engine, 'valid_loss_of', lambda model, valid_set, hp, rng: next(losses))
    lines = []
    best = engine.fit(hp, sets[0], sets[1], sets[3], str(tmp_path / 'm.pdparams'), log=lines.append)
    assert best == 0.39
    assert sum(line.startswith('Epoch ') for line in lines) == 4 + 8
    assert sum(line == 'Found new check model, saving to disk...' for line in lines) == 3


def test_recipe_mmsa_validates_on_shuffled_batches_and_the_default_in_file_order(monkeypatch, tmp_path):
    """MMSA's loaders shuffle the validation split every epoch, so its criterion (the mean of batch
    means) weighs a different short last batch each time; the default keeps the file's order."""
    sets = engine.load_data('sims', mmsa_file(tmp_path, 'sims'), None, verbose=False)
    hp = dict(hparams.published_hparams('sims'), epochs=3, batch_size=5, text_hidden=8, video_hidden=8, audio_hidden=4)
    hp = hparams.with_data(hp, sets[0], 'f')
    valid = sets[1]
    model = checkpoints.build_model(hp, sets[3])

    def batch_mean_l1(order):
        out = engine.evaluate(model, valid)['outputs'][order]  # file order, then permuted
        losses = [np.mean(np.abs(out[i:i + 5] - valid.targets[order][i:i + 5])) for i in range(0, len(valid), 5)]
        return round(float(np.mean(losses)), 4)
    assert len(valid) % 5 != 0  # a short last batch, so the order matters
    assert engine.valid_loss_of(model, valid, hp) == batch_mean_l1(np.arange(len(valid)))
    shuffled = batch_mean_l1(np.random.RandomState(3).permutation(len(valid)))
    assert engine.valid_loss_of(model, valid, hp, np.random.RandomState(3)) == shuffled
    assert shuffled != batch_mean_l1(np.arange(len(valid)))  # else this test could not tell the orders apart
    # fit draws a fresh order every epoch under --recipe mmsa, none under the default
    seen, real = [], engine.valid_loss_of

    def order_drawn(rng):
        if rng is None:
            return None
        copy = np.random.RandomState()
        copy.set_state(rng.get_state())
        return copy.permutation(len(valid))
    monkeypatch.setattr(engine, 'valid_loss_of', lambda m, v, h, rng: seen.append(order_drawn(rng)) or real(m, v, h, rng))
    for recipe in ('ours', 'mmsa'):
        seen.clear()
        engine.fit(dict(hp, recipe=recipe), sets[0], valid, sets[3], str(tmp_path / (recipe + '.pdparams')),
                  log=lambda line: None)
        if recipe == 'ours':
            assert seen == [None] * 3
        else:
            assert len(seen) == 3 and not np.array_equal(seen[0], seen[1]) and not np.array_equal(seen[1], seen[2])


def test_the_printed_mmsa_metrics_equal_an_independent_computation_from_infer_predictions(sims, tmp_path):
    run = sims['runs']['ours']
    test = run_main('test', ['--dataset', 'sims', '--data_path', sims['data'], '--check_path', run['check']])
    names = ('Mult_acc_2', 'Mult_acc_3', 'Mult_acc_5', 'F1_score', 'MAE', 'Corr')
    lines = [line for line in test.splitlines() if ' on test set is ' in line]
    assert [line.split(' on test set is ')[0] for line in lines] == [
        'MAE', 'Correlation w.r.t human evaluation'] + list(names)
    shown = printed(test, names)
    inference = str(tmp_path / 'inference')
    run_main('export_model', ['--dataset', 'sims', '--check_path', run['check'], '--save_inference_dir', inference,
                              '--data_path', sims['data']])
    with open(os.path.join(inference, 'sims', 'inference_info.json')) as f:
        info = json.load(f)
    assert info['layout'] == 'mmsa' and info['input_dims'] == [33, 709, 768] and info['seq_len'] == STEPS['sims'][2]
    truth = raw_test_labels(sims['data'])
    for backend in ('False', 'True'):
        if backend == 'True':
            skip_without_onnx()
        out = str(tmp_path / 'pred_onnx_{}'.format(backend))
        infer = run_main('infer', ['--dataset', 'sims', '--save_inference_dir', inference, '--data_path', sims['data'],
                                   '--output_dir', out, '--use_onnx', backend])
        pred = np.load(os.path.join(out, 'sims_pred.npy'))
        assert pred.shape == (len(truth), 1)
        expected, _ = ref_sims(truth, pred.ravel())
        for name in names:
            assert shown[name] == pytest.approx(expected[name], abs=1e-4), name
        assert printed(infer, names) == shown


def test_a_model_refuses_a_file_of_another_layout_or_dataset(sims, tmp_path):
    check = sims['runs']['ours']['check']
    mosei = write_pickle(tmp_path / 'mosei.pkl', mmsa.make_sample_data('mosei', 0, SIZES, steps=(6, 6, 8)))
    cli_error('test', ['--dataset', 'mosei', '--data_path', mosei, '--check_path', os.path.join(check, 'sims.pdparams')],
              '--dataset mosei contradicts checkpoint', 'trained on sims')
    # CMU-MOSI: a model of MMSA's file and the authors' pickle (and the other way round)
    mosi_mmsa = mmsa_file(tmp_path, 'mosi')
    check_mosi = str(tmp_path / 'check_mosi')
    small = ['--epochs', '1', '--text_hidden', '8', '--video_hidden', '8', '--audio_hidden', '4',
             '--model_path', check_mosi, '--log_dir', str(tmp_path / 'log_mosi')]
    out = run_main('train', ['--dataset', 'mosi', '--data_path', mosi_mmsa] + small)
    assert "MMSA's feature file" in out
    import data
    authors = write_pickle(tmp_path / 'mosi_authors.pkl', data.module('mosi').make_sample_data(
        0, (('train', 16), ('valid', 8), ('test', 8))))
    cli_error('test', ['--dataset', 'mosi', '--data_path', authors, '--check_path', check_mosi],
              "was trained on MMSA's feature file", "the authors' processed pickle")
    cli_error('train', ['--dataset', 'mosi', '--data_path', authors, '--recipe', 'mmsa',
                        '--model_path', tmp_path / 'nothing'], '--recipe mmsa', "the authors' processed pickle")
    assert not os.path.exists(str(tmp_path / 'nothing'))
    out = run_main('train', ['--dataset', 'mosi', '--data_path', mosi_mmsa, '--recipe', 'mmsa'] + small)
    assert "Training mosi (MMSA's feature file, recipe mmsa)" in out


def test_seeds_are_mmsas(sims, tmp_path):
    out = run_main('train', ['--dataset', 'sims', '--data_path', sims['data'], '--seeds', '2', '--epochs', '1',
                             '--text_hidden', '8', '--video_hidden', '8', '--audio_hidden', '4',
                             '--model_path', tmp_path / 'c', '--log_dir', tmp_path / 'l'])
    assert 'Seeds: 1111, 1112' in out
    assert re.search(r'^Test Mult_acc_2 \(\[-1, 0\], \(0, 1\]\) over 2 seeds: ', out, flags=re.MULTILINE)
    assert os.path.isfile(os.path.join(str(tmp_path / 'c'), 'sims.pdparams'))
