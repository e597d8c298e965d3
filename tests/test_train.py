"""Training: per-group learning rates, atomic checkpoints, determinism, NaN stop, flags."""
import os
import pickle

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from helpers import cli_error, iemocap_data, run_main, write_pickle
import utils
from lmf import hparams
from lmf import engine
from lmf import checkpoints
from lmf import records


def tiny_hp(**overrides):
    hp = dict(hparams.emotion_hparams('sad'), emotion='sad', epochs=3, patience=2, batch_size=16,
              audio_hidden=4, video_hidden=4, text_hidden=8, rank=2)
    hp.update(overrides)
    return hp


def one_adam_step(model, learning_rate, factor_learning_rate, weight_decay=0.0):
    optimizer = engine.make_optimizer(model, learning_rate, factor_learning_rate, weight_decay)
    before = {n: p.numpy().copy() for n, p in model.named_parameters()}
    rng = np.random.RandomState(0)
    audio, video, text = (paddle.to_tensor(rng.randn(*s).astype('float32')) for s in ((8, 74), (8, 35), (8, 20, 300)))
    target = paddle.to_tensor(rng.randint(0, 2, 8).astype('int64'))
    F.cross_entropy(model(audio, video, text), target, reduction='sum').backward()
    optimizer.step()
    return {n: np.abs(p.numpy() - before[n]).max() for n, p in model.named_parameters()}


def test_each_parameter_group_moves_at_its_own_rate():
    # Adam's first step moves every parameter with a non-zero gradient by ~its learning rate.
    paddle.seed(0)
    model = checkpoints.build_model(tiny_hp(audio_dropout=0, video_dropout=0, text_dropout=0), (74, 35, 300))
    model.train()  # dropouts are 0 here; Paddle's LSTM has no backward in eval mode
    steps = one_adam_step(model, learning_rate=1e-3, factor_learning_rate=5e-3)
    for name in engine.FACTOR_NAMES:
        assert steps[name] == pytest.approx(5e-3, rel=1e-3), name
    for name in ('fusion_weights', 'fusion_bias', 'audio_subnet.linear_1.weight', 'text_subnet.rnn.weight_ih_l0',
                 'text_subnet.linear_1.bias', 'video_subnet.norm.weight'):
        assert steps[name] == pytest.approx(1e-3, rel=1e-3), name


def test_weight_decay_is_applied():
    # Adam's L2 term adds decay * w to the gradient; a large decay makes it dominate,
    # so the first step shrinks nearly every weight towards zero (about half without).
    hp = tiny_hp(audio_dropout=0, video_dropout=0, text_dropout=0)
    shrunk = {}
    for decay in (0.0, 100.0):
        paddle.seed(0)
        model = checkpoints.build_model(hp, (74, 35, 300))
        model.train()
        before = {n: p.numpy().copy() for n, p in model.named_parameters()}
        one_adam_step(model, 1e-3, 1e-3, decay)
        after = {n: p.numpy() for n, p in model.named_parameters()}
        name = 'text_subnet.rnn.weight_ih_l0'
        shrunk[decay] = np.mean(np.abs(after[name]) < np.abs(before[name]))
    assert shrunk[100.0] > 0.99 and shrunk[0.0] < 0.7


def test_same_seed_same_numbers(tmp_path):
    data = engine.load_data('iemocap', write_pickle(tmp_path / 'd.pkl', iemocap_data(emotions=('sad',))), 'sad', verbose=False)
    logs = []
    for run in ('a', 'b'):
        lines = []
        engine.fit(tiny_hp(), data[0], data[1], data[3], str(tmp_path / run / 'sad.pdparams'), lines.append)
        logs.append(lines)
    assert logs[0] == logs[1]
    first, _ = checkpoints.load_checkpoint(str(tmp_path / 'a' / 'sad.pdparams'))
    second, _ = checkpoints.load_checkpoint(str(tmp_path / 'b' / 'sad.pdparams'))
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
    # a different seed gives different weights
    engine.fit(tiny_hp(seed=1), data[0], data[1], data[3], str(tmp_path / 'c' / 'sad.pdparams'), lambda line: None)
    third, _ = checkpoints.load_checkpoint(str(tmp_path / 'c' / 'sad.pdparams'))
    assert not np.array_equal(first['text_factor'], third['text_factor'])


def test_early_stopping_and_log_lines(tmp_path):
    data = engine.load_data('iemocap', write_pickle(tmp_path / 'd.pkl', iemocap_data(emotions=('sad',))), 'sad', verbose=False)
    lines = []
    # A learning rate this small cannot improve the validation loss for long.
    hp = tiny_hp(epochs=40, patience=2, learning_rate=1e-9, factor_learning_rate=1e-9)
    engine.fit(hp, data[0], data[1], data[3], str(tmp_path / 'sad.pdparams'), lines.append)
    epochs = [l for l in lines if l.startswith('Epoch ')]
    assert 3 <= len(epochs) < 40
    assert lines[0].startswith('Epoch 0 complete! Average Training loss: ')
    assert lines[1].startswith('Validation loss is: ')
    assert lines[2] == 'Found new check model, saving to disk...'
    assert lines[-1] == 'No improvement for 2 epochs, stopping.'


def test_nan_loss_stops_with_clear_message(tmp_path, monkeypatch):
    data = engine.load_data('iemocap', write_pickle(tmp_path / 'd.pkl', iemocap_data(emotions=('sad',))), 'sad', verbose=False)
    build = checkpoints.build_model

    def poisoned(hp, dims, use_softmax=False):
        model = build(hp, dims, use_softmax)
        model.fusion_bias.set_value(np.full([1, 2], np.nan, dtype='float32'))
        return model

    monkeypatch.setattr(checkpoints, 'build_model', poisoned)
    with pytest.raises(engine.TrainingDiverged, match='training loss became nan in epoch 0'):
        engine.fit(tiny_hp(), data[0], data[1], data[3], str(tmp_path / 'sad.pdparams'), lambda line: None)
    assert not os.path.exists(tmp_path / 'sad.pdparams')


def test_nan_loss_cli(tmp_path, tiny_pkl):
    cli_error('train', ['--emotion', 'sad', '--data_path', tiny_pkl, '--epochs', '3', '--learning_rate', '1e30',
                        '--factor_learning_rate', '1e30', '--text_hidden', '8', '--model_path', tmp_path,
                        '--log_dir', tmp_path], 'Training got into NaN values')


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    paddle.seed(0)
    model = checkpoints.build_model(tiny_hp(), (74, 35, 300))
    path = str(tmp_path / 'sad.pdparams')
    checkpoints.save_checkpoint(path, model, tiny_hp(), (74, 35, 300))
    good = open(path, 'rb').read()

    def dies_half_way(obj, f, protocol=None):
        f.write(b'\x80\x04partial')
        raise KeyboardInterrupt

    monkeypatch.setattr(pickle, 'dump', dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        checkpoints.save_checkpoint(path, model, tiny_hp(), (74, 35, 300))
    assert open(path, 'rb').read() == good
    assert os.listdir(tmp_path) == ['sad.pdparams']


def test_checkpoint_records_hparams_and_loads_back(tmp_path):
    paddle.seed(0)
    hp = tiny_hp()
    model = checkpoints.build_model(hp, (74, 35, 300))
    path = str(tmp_path / 'sad.pdparams')
    checkpoints.save_checkpoint(path, model, hp, (74, 35, 300))
    state, saved = checkpoints.load_checkpoint(path)
    assert saved == hp
    assert set(state) == set(model.state_dict())
    assert set(paddle.load(path)['state_dict']) == set(state)  # plain paddle.load reads it too


def test_emotion_alone_selects_published_hparams(tmp_path, tiny_pkl):
    out = run_main('train', ['--emotion', 'angry', '--data_path', tiny_pkl, '--epochs', '1',
                             '--model_path', tmp_path, '--log_dir', tmp_path])
    _, saved = checkpoints.load_checkpoint(str(tmp_path / 'angry.pdparams'))
    published = hparams.HPARAMS['iemocap']['angry']
    assert {k: saved[k] for k in published} == published
    assert saved['epochs'] == 1 and saved['emotion'] == 'angry'
    log = (tmp_path / 'train_angry.txt').read_text()
    assert 'Epoch 0 complete! Average Training loss:' in log and 'F1-score on test set is' in log
    assert 'F1-score on test set is' in out


def test_the_run_record_names_the_machine(tmp_path, tiny_pkl):
    """The same seed gives the same numbers on the same CPU, Paddle and CPU threads: the record says which."""
    try:
        run_main('train', ['--emotion', 'sad', '--data_path', tiny_pkl, '--epochs', '1', '--cpu_threads', '3',
                           '--model_path', tmp_path, '--log_dir', tmp_path])
    finally:
        utils.setup_device('cpu')  # this process's default threads again
    assert records.read(str(tmp_path / 'train_sad.json'))['machine'] == dict(
        cpu=utils.cpu_model(), device='cpu', cpu_threads=3, paddle=paddle.__version__, processes=1)


def test_explicit_flags_override_the_table(tmp_path, tiny_pkl):
    run_main('train', ['--emotion', 'happy', '--data_path', tiny_pkl, '--epochs', '1', '--rank', '3',
                       '--batch_size', '8', '--learning_rate', '0.002', '--seed', '7', '--text_hidden', '16',
                       '--model_path', tmp_path, '--log_dir', tmp_path])
    state, saved = checkpoints.load_checkpoint(str(tmp_path / 'happy.pdparams'))
    assert (saved['rank'], saved['batch_size'], saved['learning_rate'], saved['seed']) == (3, 8, 0.002, 7)
    assert saved['audio_hidden'] == hparams.HPARAMS['iemocap']['happy']['audio_hidden']
    assert state['audio_factor'].shape == (3, 5, 2)


@pytest.mark.parametrize('args,fragments', [
    (['--emotion', 'joy'], ['unknown emotion', 'happy, sad, angry, neutral']),
    (['--emotion', 'sad', '--rank', '0'], ['--rank must be >= 1']),
    (['--emotion', 'sad', '--audio_dropout', '1.5'], ['--audio_dropout must be in [0, 1)']),
    (['--emotion', 'sad', '--learning_rate', '0'], ['--learning_rate must be > 0']),
    (['--emotion', 'sad', '--data_path', 'no/such.pkl'], ['--data_path no/such.pkl does not exist']),
    (['--emotion', 'sad', '--output_dim', '1', '--data_path', 'TINY'], ['labels have 2 classes but --output_dim is 1']),
    (['--emotion', 'sad', '--model_path', 'FILE', '--data_path', 'TINY', '--epochs', '1'], ['FILE']),
])
def test_bad_flags(args, fragments, tiny_pkl, tmp_path):
    a_file = tmp_path / 'a_file'
    a_file.write_text('not a folder')
    args = [{'TINY': tiny_pkl, 'FILE': str(a_file)}.get(a, a) for a in args]
    fragments = [str(a_file) if f == 'FILE' else f for f in fragments]
    cli_error('train', args + ['--log_dir', tmp_path], *fragments)


def test_bad_thread_setting(tiny_pkl, tmp_path, monkeypatch):
    monkeypatch.setenv('LMF_CPU_THREADS', 'abc')
    cli_error('train', ['--emotion', 'sad', '--data_path', tiny_pkl, '--epochs', '1', '--model_path', tmp_path,
                        '--log_dir', tmp_path], 'LMF_CPU_THREADS must be an integer')
