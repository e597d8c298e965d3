"""LMF on fewer modalities (train.py --modalities) and TFN (train.py --model tfn): the models against
their formulas, the checkpoint's record of both, test.py, export_model.py and infer.py (Paddle
Inference and ONNX) on them, and the one-line errors. Tiny synthetic data, 2 epochs."""
import functools
import json
import os
import pickle

import numpy as np
import paddle
import pytest

from helpers import cli_error, iemocap_data, run_main, skip_without_onnx, write_pickle
from data import mosi
from lmf import hparams
from lmf import engine
from lmf import checkpoints
import train
import utils
from model import LMF, TFN

EPOCHS = '2'
TINY_TFN = ['--audio_hidden', '4', '--video_hidden', '4', '--text_hidden', '16', '--post_fusion_dim', '16']


def inputs(batch, seed=0):
    rng = np.random.RandomState(seed)
    return [paddle.to_tensor(rng.randn(*shape).astype('float32')) for shape in ((batch, 74), (batch, 35),
                                                                                 (batch, 20, 300))]


def augmented(model, x, modality):
    """[1, h] of a fused modality, from its subnetwork."""
    h = getattr(model, modality + '_subnet')(x).numpy()
    return np.concatenate([np.ones((h.shape[0], 1)), h], axis=1)


# ---------------------------------------------------------------- the models

@pytest.mark.parametrize('modalities', [('audio', 'text'), ('video',), ('text', 'video')])
def test_lmf_without_a_modality_is_lmf_on_the_others(modalities):
    paddle.seed(0)
    model = LMF((74, 35, 300), (4, 6, 16), 8, (0, 0, 0, 0.5), 2, 3, modalities=modalities)
    model.eval()
    kept = [m for m in hparams.MODALITIES if m in modalities]
    left_out = [m for m in hparams.MODALITIES if m not in modalities]
    state = model.state_dict()
    for m in left_out:  # no subnetwork; the factor is the row of the constant 1 alone
        assert not [k for k in state if k.startswith(m + '_subnet.')]
        assert getattr(model, m + '_factor').shape == [3, 1, 2]
    x = dict(zip(hparams.MODALITIES, inputs(5)))
    z = {m: augmented(model, x[m], m) for m in kept}
    factor = {m: getattr(model, m + '_factor').numpy() for m in hparams.MODALITIES}
    w, b = model.fusion_weights.numpy()[0], model.fusion_bias.numpy()
    # LMF's formula on the kept modalities alone, the left-out factors' constant rows folded into the first
    folded = {m: factor[m].copy() for m in kept}
    for m in left_out:
        folded[kept[0]] = folded[kept[0]] * factor[m][:, :1, :]
    want = sum(w[r] * np.prod([z[m] @ folded[m][r] for m in kept], axis=0) for r in range(3)) + b
    out = model(x['audio'], x['video'], x['text']).numpy()
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    # the left-out inputs are ignored entirely: any values, NaN and inf included, give the same output
    for m in left_out:
        for value in (np.nan, np.inf, 1e6):
            changed = dict(x, **{m: paddle.full(x[m].shape, value)})
            np.testing.assert_array_equal(model(changed['audio'], changed['video'], changed['text']).numpy(), out)


def test_lmf_on_all_three_is_unchanged_by_the_modalities_argument():
    paddle.seed(0)
    default = LMF((74, 35, 300), (4, 16, 128), 64, (0.3, 0.1, 0.5, 0.5), 2, 1)
    paddle.seed(0)
    named = LMF((74, 35, 300), (4, 16, 128), 64, (0.3, 0.1, 0.5, 0.5), 2, 1, modalities=('text', 'audio', 'video'))
    assert named.modalities == hparams.MODALITIES
    for (name, p), (_, q) in zip(default.named_parameters(), named.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)


@pytest.mark.parametrize('modalities', [hparams.MODALITIES, ('audio', 'text')])
def test_tfn_fuses_the_outer_product_of_its_modalities(modalities):
    paddle.seed(0)
    tfn = TFN((74, 35, 300), (3, 2, 8), 4, (0, 0, 0, 0.5), post_fusion_dim=6, output_dim=2, modalities=modalities)
    tfn.eval()
    x = dict(zip(hparams.MODALITIES, inputs(3)))
    z = [augmented(tfn, x[m], m) for m in tfn.modalities]
    fused = np.stack([functools.reduce(np.kron, [zm[b] for zm in z]) for b in range(3)])  # [B, 4*3*5] or [B, 4*5]
    assert tfn.fused_size == fused.shape[1] and hasattr(tfn, 'video_subnet') == ('video' in modalities)
    layers = [getattr(tfn, 'post_fusion_layer_{}'.format(i)) for i in (1, 2, 3)]
    h = np.maximum(fused @ layers[0].weight.numpy() + layers[0].bias.numpy(), 0)
    h = np.maximum(h @ layers[1].weight.numpy() + layers[1].bias.numpy(), 0)
    want = h @ layers[2].weight.numpy() + layers[2].bias.numpy()
    out = tfn(*x.values()).numpy()
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    if 'video' not in modalities:  # a left-out input is never read
        np.testing.assert_array_equal(tfn(x['audio'], paddle.full(x['video'].shape, np.nan), x['text']).numpy(), out)


def test_tfn_applies_its_post_fusion_dropout_in_training_only():
    paddle.seed(0)
    tfn = TFN((74, 35, 300), (3, 2, 8), 4, (0, 0, 0, 0.9), post_fusion_dim=6, output_dim=2, use_softmax=True)
    audio, video, text = inputs(4)
    tfn.eval()
    first = tfn(audio, video, text).numpy()
    np.testing.assert_array_equal(tfn(audio, video, text).numpy(), first)
    np.testing.assert_allclose(first.sum(axis=1), 1.0, rtol=1e-6)  # use_softmax: probabilities
    tfn.train()
    assert not np.allclose(tfn(audio, video, text).numpy(), first)


def test_tfn_trains_every_parameter_at_the_learning_rate():
    hp = dict(hparams.fusion_hparams(hparams.emotion_hparams('sad'), 'tfn'), audio_hidden=3, video_hidden=2,
              text_hidden=8, post_fusion_dim=6, audio_dropout=0, video_dropout=0, text_dropout=0,
              post_fusion_dropout=0)
    assert 'rank' not in hp and 'factor_learning_rate' not in hp
    paddle.seed(0)
    model = checkpoints.build_model(hp, (74, 35, 300))
    assert isinstance(model, TFN)
    model.train()
    optimizer = engine.make_optimizer(model, 1e-3, 7e-3, 0.0)  # no factors: the factor rate is not read
    before = {n: p.numpy().copy() for n, p in model.named_parameters()}
    audio, video, text = inputs(8)
    target = paddle.to_tensor(np.random.RandomState(0).randint(0, 2, 8).astype('int64'))
    paddle.nn.functional.cross_entropy(model(audio, video, text), target, reduction='sum').backward()
    optimizer.step()
    for name, p in model.named_parameters():
        if p.stop_gradient:  # BatchNorm's running statistics
            continue
        assert np.abs(p.numpy() - before[name]).max() == pytest.approx(1e-3, rel=1e-2), name


# ---------------------------------------------------------------- settings and flags

def test_tfn_settings_keep_the_fused_tensor_small_and_flags_override_them():
    for family in hparams.FAMILIES:
        s = hparams.TFN_SETTINGS[family]
        size = (s['audio_hidden'] + 1) * (s['video_hidden'] + 1) * (s['text_hidden'] // 2 + 1)
        assert 10000 <= size <= 100000, (family, size)
    mmsa = hparams.HPARAMS['mmsa']['mosi']  # why TFN does not take LMF's settings there
    assert (mmsa['audio_hidden'] + 1) * (mmsa['video_hidden'] + 1) * (mmsa['text_hidden'] // 2 + 1) > 10 ** 6
    hp = train.settings(train.parse_args(['--dataset', 'mosi', '--model', 'tfn', '--video_hidden', '8', '--rank', '9']))
    published = hparams.published_hparams('mosi')
    assert hp['model'] == 'tfn' and hp['modalities'] == 'audio,video,text'
    assert (hp['audio_hidden'], hp['video_hidden'], hp['text_hidden']) == (32, 8, 128)
    assert (hp['post_fusion_dim'], hp['post_fusion_dropout']) == (128, 0.5)
    assert 'rank' not in hp and 'factor_learning_rate' not in hp  # LMF's, even when given
    assert {k: hp[k] for k in ('learning_rate', 'batch_size', 'audio_dropout', 'seed')} == {
        k: published[k] for k in ('learning_rate', 'batch_size', 'audio_dropout', 'seed')}
    lmf = train.settings(train.parse_args(['--emotion', 'sad', '--modalities', 'text, audio']))
    assert (lmf['model'], lmf['modalities']) == ('lmf', 'audio,text')
    assert {k: lmf[k] for k in published if k in lmf and k in hparams.TABLE_COLUMNS} == hparams.HPARAMS['iemocap']['sad']


@pytest.mark.parametrize('argv,fragment', [
    (['--modalities', ''], "--modalities must name at least one of audio, video, text, got ''"),
    (['--modalities', ','], '--modalities must name at least one of audio, video, text'),
    (['--modalities', 'audio,smell'], "--modalities: unknown modality 'smell' in 'audio,smell'"),
    (['--modalities', 'audio,,text'], "--modalities: an empty name in 'audio,,text'"),
    (['--model', 'tfn', '--post_fusion_dropout', '1'], '--post_fusion_dropout must be in [0, 1), got 1.0'),
    (['--model', 'tfn', '--post_fusion_dim', '0'], '--post_fusion_dim must be >= 1, got 0'),
    (['--dataset', 'sims', '--recipe', 'mmsa', '--model', 'tfn'], "--recipe mmsa is MMSA's LMF training"),
])
def test_bad_values_are_one_line_and_exit_2(argv, fragment):
    cli_error('train', argv + ['--data_path', 'no/such.pkl'], fragment)  # refused before the data


# ---------------------------------------------------------------- checkpoints

def save(path, hp, dims=(74, 35, 300), record=True):
    paddle.seed(0)
    model = checkpoints.build_model(hp, dims)
    checkpoints.save_checkpoint(str(path), model, hp, dims)
    if not record:  # as checkpoints written before TFN and --modalities
        with open(str(path), 'rb') as f:
            payload = pickle.load(f)
        for key in hparams.MODEL_KEYS:
            payload.pop(key)
            payload['hparams'].pop(key, None)
        with open(str(path), 'wb') as f:
            pickle.dump(payload, f, protocol=4)
    return model


def test_model_from_checkpoint_builds_what_the_checkpoint_holds(tmp_path):
    sad = dict(hparams.emotion_hparams('sad'), emotion='sad', text_hidden=8)
    tfn = dict(hparams.fusion_hparams(sad, 'tfn', 'video,text'), audio_hidden=3, video_hidden=2, post_fusion_dim=6)
    x = inputs(4)
    for name, hp, cls in (('tfn', tfn, TFN), ('lmf', dict(sad, modalities='audio'), LMF)):
        built = save(tmp_path / (name + '.pdparams'), hp)
        built.eval()
        model, loaded_hp, dims = checkpoints.model_from_checkpoint(str(tmp_path / (name + '.pdparams')), 'sad')
        assert type(model) is cls and model.modalities == built.modalities and dims == (74, 35, 300)
        assert (loaded_hp['model'], loaded_hp['modalities']) == (name, ','.join(built.modalities))
        np.testing.assert_array_equal(model(*x).numpy(), built(*x).numpy())
    _, loaded_hp, _ = checkpoints.model_from_checkpoint(str(tmp_path / 'tfn.pdparams'), 'sad')
    assert 'rank' not in loaded_hp and loaded_hp['post_fusion_dim'] == 6
    # a checkpoint written before the record: LMF on all three
    save(tmp_path / 'old.pdparams', sad, record=False)
    model, loaded_hp, _ = checkpoints.model_from_checkpoint(str(tmp_path / 'old.pdparams'), 'sad')
    assert type(model) is LMF and model.modalities == hparams.MODALITIES and loaded_hp['model'] == 'lmf'


def test_a_checkpoint_is_never_misread_as_the_other_model(tmp_path):
    sad = dict(hparams.emotion_hparams('sad'), emotion='sad', text_hidden=8)
    tfn = dict(hparams.fusion_hparams(sad, 'tfn'), audio_hidden=3, video_hidden=2, post_fusion_dim=6)
    # TFN weights without the record (code that assumes LMF wrote or stripped it)
    save(tmp_path / 'tfn.pdparams', tfn, record=False)
    with pytest.raises(utils.UserError, match='records an LMF model but holds TFN parameters'):
        checkpoints.model_from_checkpoint(str(tmp_path / 'tfn.pdparams'), 'sad')
    # a subset model without the record
    save(tmp_path / 'sub.pdparams', dict(sad, modalities='audio,text'), record=False)
    with pytest.raises(utils.UserError, match='records modalities audio,video,text but holds subnetworks of '
                                              'audio,text'):
        checkpoints.model_from_checkpoint(str(tmp_path / 'sub.pdparams'), 'sad')
    save(tmp_path / 'lmf.pdparams', sad)
    with pytest.raises(utils.UserError, match='--model tfn contradicts checkpoint .* which is an LMF model'):
        checkpoints.model_from_checkpoint(str(tmp_path / 'lmf.pdparams'), 'sad', {'model': 'tfn'})
    with pytest.raises(utils.UserError, match='--modalities text contradicts checkpoint .* which fuses '
                                              'audio,video,text'):
        checkpoints.model_from_checkpoint(str(tmp_path / 'lmf.pdparams'), 'sad', {'modalities': 'text'})


# ---------------------------------------------------------------- through the scripts

@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """LMF without video on IEMOCAP (happy; --video_hidden given, unused) and TFN on CMU-MOSI (--rank
    given, unused), each trained 2 epochs through train.py."""
    tmp = tmp_path_factory.mktemp('variants')
    data = {'iemocap': write_pickle(tmp / 'iemocap.pkl', iemocap_data(emotions=('happy',))),
            'mosi': write_pickle(tmp / 'mosi.pkl', mosi.make_sample_data(0, (('train', 48), ('valid', 16),
                                                                               ('test', 24))))}
    settings = {'subset': ('iemocap', 'happy', ['--emotion', 'happy', '--modalities', 'text,audio',
                                                '--video_hidden', '8']),
                'tfn': ('mosi', 'mosi', ['--dataset', 'mosi', '--model', 'tfn', '--rank', '3'] + TINY_TFN)}
    result = {}
    for kind, (dataset, name, args) in settings.items():
        folder = tmp / kind
        run_main('train', args + ['--data_path', data[dataset], '--epochs', EPOCHS, '--model_path', folder,
                                  '--log_dir', folder])
        result[kind] = dict(dataset=dataset, name=name, data=data[dataset], folder=folder,
                            task=args[:2], check=str(folder / (name + '.pdparams')),
                            log=(folder / 'train_{}.txt'.format(name)).read_text())
    return result


def test_the_log_and_the_checkpoint_say_what_was_trained(runs):
    subset, tfn = runs['subset'], runs['tfn']
    first = subset['log'].splitlines()[0]
    assert first.startswith('Training happy (modalities audio,text) on ')
    assert first.endswith("; video left out by --modalities audio,text: video_hidden=8, video_dropout=0.1 and "
                          "the file's video features are unused")
    used = first.split(' with ')[1].split('; ')[0]
    assert ' audio_hidden=4,' in used and ' rank=1,' in used and 'video_' not in used
    raw = pickle.load(open(subset['check'], 'rb'))
    assert (raw['model'], raw['modalities']) == ('lmf', 'audio,text')
    assert not [k for k in raw['state_dict'] if k.startswith('video_subnet')]
    assert raw['state_dict']['video_factor'].shape == (1, 1, 2)
    first = tfn['log'].splitlines()[0]
    assert first.startswith('Training mosi (TFN) on ') and ' post_fusion_dim=16,' in first
    assert first.endswith("; rank and factor_learning_rate are LMF's and do not apply: TFN has no factors, every "
                          'parameter trains at learning_rate')
    assert 'rank=' not in first and 'factor_learning_rate=' not in first
    raw = pickle.load(open(tfn['check'], 'rb'))
    assert (raw['model'], raw['modalities']) == ('tfn', 'audio,video,text')
    assert raw['state_dict']['post_fusion_layer_1.weight'].shape == (5 * 5 * 9, 16)
    assert 'audio_factor' not in raw['state_dict']


@pytest.mark.parametrize('kind', ['subset', 'tfn'])
def test_test_py_evaluates_the_checkpoint_as_training_did(runs, kind):
    run = runs[kind]
    stdout = run_main('test', run['task'] + ['--data_path', run['data'], '--check_path', run['check']])
    tested = [line for line in stdout.splitlines() if ' on test set is ' in line]
    logged = [line for line in run['log'].splitlines() if ' on test set is ' in line]
    assert tested and tested == logged


def dynamic_outputs(run, **changes):
    """The dynamic-graph model's outputs on the test split (class probabilities for IEMOCAP, as exported);
    changes: test-split arrays replaced (e.g. video=NaN)."""
    regression = run['dataset'] in hparams.REGRESSION
    model, _, _ = checkpoints.model_from_checkpoint(run['check'], run['name'], use_softmax=not regression,
                                              dataset=run['dataset'])
    _, _, test_set, _ = engine.load_data(run['dataset'], run['data'], run['name'] if run['dataset'] == 'iemocap'
                                        else None, verbose=False)
    arrays = dict(dict(audio=test_set.audio, video=test_set.video, text=test_set.text), **changes)
    with paddle.no_grad():
        return model(*(paddle.to_tensor(np.ascontiguousarray(arrays[m], dtype=np.float32))
                       for m in hparams.MODALITIES)).numpy(), test_set


@pytest.mark.parametrize('kind', ['subset', 'tfn'])
def test_export_and_infer_equal_the_dynamic_graph(runs, kind):
    run = runs[kind]
    inference = str(run['folder'] / 'inference')
    exported = run_main('export_model', run['task'] + ['--check_path', run['check'], '--save_inference_dir', inference,
                                                       '--data_path', run['data']])
    with open(os.path.join(inference, run['name'], 'inference_info.json')) as f:
        info = json.load(f)
    expected, test_set = dynamic_outputs(run)
    if kind == 'subset':
        assert (info['model'], info['modalities']) == ('lmf', ['audio', 'text'])
        assert 'video_hidden' not in info['hparams'] and info['hparams']['rank'] == 1
        assert 'video kept as input and ignored' in exported
        # the left-out modality's values never reach the output
        np.testing.assert_array_equal(dynamic_outputs(run, video=np.full(test_set.video.shape, np.nan))[0], expected)
    else:
        assert (info['model'], info['modalities']) == ('tfn', ['audio', 'video', 'text'])
        assert info['hparams'] == dict(audio_hidden=4, video_hidden=4, text_hidden=16, output_dim=1,
                                       post_fusion_dim=16)
    # one interface: the three inputs, whatever the model fuses
    assert info['inputs'] == {'audio': [None, test_set.audio.shape[1]], 'video': [None, test_set.video.shape[1]],
                              'text': [None, 20, 300]}
    for onnx in ('False', 'True'):
        if onnx == 'True':
            skip_without_onnx()
        out = str(run['folder'] / 'out_{}'.format(onnx))
        stdout = run_main('infer', run['task'] + ['--save_inference_dir', inference, '--data_path', run['data'],
                                                  '--output_dir', out, '--use_onnx', onnx])
        name = '{}_prob.npy'.format(run['name']) if run['dataset'] == 'iemocap' else 'mosi_pred.npy'
        np.testing.assert_allclose(np.load(os.path.join(out, name)), expected, rtol=0, atol=1e-5)
        assert ' on test set is ' in stdout


def test_export_refuses_a_model_or_modalities_the_checkpoint_does_not_have(runs):
    line = cli_error('export_model', ['--dataset', 'mosi', '--check_path', runs['tfn']['check'], '--model', 'lmf'])
    assert line == 'error: --model lmf contradicts checkpoint {}, which is a TFN model'.format(runs['tfn']['check'])
    line = cli_error('export_model', ['--emotion', 'happy', '--check_path', runs['subset']['check'],
                                      '--modalities', 'text,video,audio'])
    assert line == ('error: --modalities text,video,audio contradicts checkpoint {}, which fuses audio,text'.format(
        runs['subset']['check']))
