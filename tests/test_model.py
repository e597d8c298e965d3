"""LMF forward pass: NumPy oracle parity, shapes, and the published checkpoints."""
import os

import numpy as np
import paddle
import pytest

from helpers import SEED_CHECKPOINTS
from model import LMF
from lmf import hparams
from lmf import checkpoints


def numpy_lmf(state, audio, video, text, eps=1e-5):
    """Independent NumPy implementation of the LMF equations (eval mode)."""
    def subnet(prefix, x):
        normed = (x - state[prefix + 'norm._mean']) / np.sqrt(state[prefix + 'norm._variance'] + eps)
        h = normed * state[prefix + 'norm.weight'] + state[prefix + 'norm.bias']
        for i in (1, 2, 3):
            h = np.maximum(h @ state[prefix + 'linear_{}.weight'.format(i)] + state[prefix + 'linear_{}.bias'.format(i)], 0)
        return h

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    w_ih, w_hh = state['text_subnet.rnn.weight_ih_l0'], state['text_subnet.rnn.weight_hh_l0']
    bias = state['text_subnet.rnn.bias_ih_l0'] + state['text_subnet.rnn.bias_hh_l0']
    hidden = w_hh.shape[1]
    h = np.zeros((text.shape[0], hidden))
    c = np.zeros_like(h)
    for t in range(text.shape[1]):
        gates = text[:, t] @ w_ih.T + h @ w_hh.T + bias
        i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
    text_h = h @ state['text_subnet.linear_1.weight'] + state['text_subnet.linear_1.bias']

    fused = 1.0
    for name, z in (('audio', subnet('audio_subnet.', audio)), ('video', subnet('video_subnet.', video)),
                    ('text', text_h)):
        z1 = np.concatenate([np.ones((z.shape[0], 1)), z], axis=1)          # [B, d+1]
        fused = fused * np.einsum('bd,rdo->rbo', z1, state[name + '_factor'])  # [rank, B, out]
    return np.einsum('r,rbo->bo', state['fusion_weights'][0], fused) + state['fusion_bias']


def random_model(rank=3, output_dim=2, hidden=(5, 6, 8), seed=0, use_softmax=False):
    paddle.seed(seed)
    model = LMF((74, 35, 300), hidden, hidden[2] // 2, (0.2, 0.1, 0.3, 0.5), output_dim, rank, use_softmax)
    rng = np.random.RandomState(seed)
    # Non-trivial BatchNorm statistics, so the oracle checks their use too.
    state = model.state_dict()
    for prefix, n in (('audio_subnet.norm.', 74), ('video_subnet.norm.', 35)):
        state[prefix + '_mean'].set_value(rng.randn(n).astype('float32') * 0.3)
        state[prefix + '_variance'].set_value(rng.rand(n).astype('float32') + 0.5)
        state[prefix + 'weight'].set_value(rng.rand(n).astype('float32') + 0.5)
        state[prefix + 'bias'].set_value(rng.randn(n).astype('float32') * 0.1)
    model.fusion_bias.set_value(rng.randn(1, output_dim).astype('float32'))
    model.eval()
    return model


def inputs(batch, seed=1):
    rng = np.random.RandomState(seed)
    return (rng.randn(batch, 74).astype('float32'), rng.randn(batch, 35).astype('float32'),
            rng.randn(batch, 20, 300).astype('float32') * 0.5)


@pytest.mark.parametrize('rank,output_dim,batch', [(3, 2, 7), (1, 1, 1), (16, 3, 4), (4, 2, 1)])
def test_forward_matches_numpy_oracle(rank, output_dim, batch):
    model = random_model(rank, output_dim)
    audio, video, text = inputs(batch)
    got = model(paddle.to_tensor(audio), paddle.to_tensor(video), paddle.to_tensor(text)).numpy()
    state = {k: v.numpy().astype(np.float64) for k, v in model.state_dict().items()}
    want = numpy_lmf(state, audio.astype(np.float64), video.astype(np.float64), text.astype(np.float64))
    assert got.shape == (batch, output_dim)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_softmax_output_is_softmax_of_logits():
    audio, video, text = (paddle.to_tensor(a) for a in inputs(5))
    logits = random_model().forward(audio, video, text).numpy()
    probs = random_model(use_softmax=True).forward(audio, video, text).numpy()
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize('batch', [1, 2])
@pytest.mark.parametrize('output_dim', [1, 2])
def test_shapes_at_batch_one_and_output_dim_one(batch, output_dim):
    model = random_model(rank=2, output_dim=output_dim)
    out = model(*(paddle.to_tensor(a) for a in inputs(batch)))
    assert out.shape == [batch, output_dim]


def test_training_mode_batch_one_keeps_batch_axis():
    # The seed's .squeeze() turned a single-sample batch into a vector.
    model = random_model(rank=2, output_dim=2)
    model.train()
    audio, video, text = inputs(1)
    out = model(paddle.to_tensor(audio), paddle.to_tensor(video), paddle.to_tensor(text))
    assert out.shape == [1, 2]
    assert model.text_subnet(paddle.to_tensor(text)).shape == [1, 4]


def test_factor_shapes_and_initialisation():
    model = LMF((74, 35, 300), (4, 16, 128), 64, (0.3, 0.1, 0.5, 0.5), 2, 1)
    assert model.audio_factor.shape == [1, 5, 2]
    assert model.video_factor.shape == [1, 17, 2]
    assert model.text_factor.shape == [1, 65, 2]
    assert model.fusion_weights.shape == [1, 1]
    assert model.fusion_bias.shape == [1, 2]
    assert np.all(model.fusion_bias.numpy() == 0)
    big = LMF((74, 35, 300), (32, 32, 128), 64, (0, 0, 0, 0.5), 8, 16)
    factor = big.text_factor.numpy()
    # Xavier normal: std = sqrt(2 / (fan_in + fan_out)), not a constant or uniform fill.
    assert 0 < factor.std() < 1 and len(np.unique(factor)) == factor.size


SEED_FILES = [os.path.join(SEED_CHECKPOINTS, e + '.pkl') for e in hparams.EMOTIONS]


@pytest.mark.skipif(not all(os.path.isfile(f) for f in SEED_FILES),
                    reason='../shared/reference/lmf_paddle_check is not present')
@pytest.mark.parametrize('emotion', hparams.EMOTIONS)
def test_published_checkpoints_load_key_for_key(emotion):
    path = os.path.join(SEED_CHECKPOINTS, emotion + '.pkl')
    state, saved_hparams = checkpoints.load_checkpoint(path)  # through the restricted unpickler
    assert saved_hparams is None
    hp = dict(hparams.emotion_hparams(emotion))
    model = checkpoints.build_model(hp, (74, 35, 300))
    expected = model.state_dict()
    assert set(expected) == set(state)
    for name, tensor in expected.items():
        assert list(tensor.shape) == list(state[name].shape), name
    # paddle.set_state_dict reports nothing missing and nothing unexpected.
    missing, unexpected = model.set_state_dict({k: paddle.to_tensor(v) for k, v in state.items()})
    assert not missing and not unexpected
    # The same arrays as paddle.load gives, and the loaded model runs at batch 1.
    reference = paddle.load(path)
    for name in state:
        np.testing.assert_array_equal(state[name], reference[name].numpy())
    loaded, hp2, dims = checkpoints.model_from_checkpoint(path, emotion)
    assert dims == (74, 35, 300) and hp2['rank'] == hp['rank']
    out = loaded(*(paddle.to_tensor(a) for a in inputs(1)))
    assert out.shape == [1, 2] and np.all(np.isfinite(out.numpy()))


def test_lmf_has_far_fewer_parameters_than_tfn_at_the_papers_setting():
    from model import TFN
    count = lambda m: sum(int(np.prod(p.shape)) for p in m.parameters())
    lmf = LMF((74, 35, 300), (32, 32, 128), 64, (0, 0, 0, 0), 1, 4)
    tfn = TFN((74, 35, 300), (32, 32, 128), 64, (0, 0, 0, 0), 128, 1)
    assert count(lmf) * 11 <= count(tfn)


def test_linear_init_torch_is_pytorchs_default_and_paddle_is_unchanged():
    """CMU-MOSI and POM build their Linear layers as the authors' PyTorch code did; IEMOCAP keeps Paddle's."""
    paddle.seed(0)
    torch_style = checkpoints.build_model(dict(hparams.published_hparams('mosi'), output_dim=1), (74, 47, 300))
    paddle.seed(0)
    paddle_style = checkpoints.build_model(hparams.emotion_hparams('happy'), (74, 35, 300))
    paddle.seed(0)
    default = LMF((74, 35, 300), (4, 16, 128), 64, (0.3, 0.1, 0.5, 0.5), 2, 1)
    for name, p in default.named_parameters():  # IEMOCAP: the same draws as before the option existed
        np.testing.assert_array_equal(p.numpy(), dict(paddle_style.named_parameters())[name].numpy())
    for layer in (torch_style.audio_subnet.linear_1, torch_style.video_subnet.linear_3,
                  torch_style.text_subnet.linear_1):
        fan_in = layer.weight.shape[0]
        for values in (layer.weight.numpy(), layer.bias.numpy()):
            assert np.abs(values).max() <= 1 / np.sqrt(fan_in)
            assert np.abs(values).max() > 0.8 / np.sqrt(fan_in)  # uniform over the whole range, bias included
    assert np.all(paddle_style.audio_subnet.linear_1.bias.numpy() == 0)  # Paddle's zero bias
