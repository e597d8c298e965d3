"""Learning parity on MMSA's feature files: the SYNTHETIC files benchmarks/learning_parity.py --layout mmsa trains on,
the train-mean baseline, and lockstep().

The files are in MMSA's layout (a Python 3 pickle, str keys; per split raw_text, id, audio, vision, text, text_bert,
annotations, classification_labels, regression_labels, the true lengths of unaligned files, CH-SIMS' unimodal
labels) at the shapes of MMSA's published files (SHAPES; CMU-MOSEI at 3000/500/1000 of its 16326/1871/4659 samples,
to keep a run in minutes). Planted structure: each clip has one latent per modality, t, a and v ~ N(0, 1); the label
is 0.9 t + 0.5 a + 0.45 v + 0.35 t v - 0.25 a v plus noise, scaled to the dataset's range, clipped and rounded to
annotator steps. Text is BERT-like: a [CLS] row that shows t faintly, word rows of which 60% carry a polarity of -1 or
+1 along one direction (+1 more likely as t grows), a [SEP] row, zero padding after it (lengths T/2 to T). Audio and
vision frames show a and v as a shift along hidden directions with heavy per-frame noise up to each clip's true
length, zeros after it; audio holds -inf (COVAREP's), a few vision frames NaN, CH-SIMS' vision has constant columns
as OpenFace's do. No modality alone explains the label; the products reward fusion.

lockstep() checks that train.py's training step under --recipe mmsa (and ours) is the PyTorch mirror's: same
initial weights, same batches, no dropout, the losses step by step.
"""
import pickle

import numpy as np

import safe_io
from data import common
from lmf import checkpoints, engine, metrics

SHAPES = {
    'mosi': dict(name='CMU-MOSI unaligned_50', text_len=50, audio=(375, 5), vision=(500, 20), aligned=False,
                 sizes=(('train', 1284), ('valid', 229), ('test', 686)), scale=1.35, offset=0.0, high=3.0,
                 step=0.2, sims=False),
    'mosei': dict(name='CMU-MOSEI aligned_50', text_len=50, audio=(50, 74), vision=(50, 35), aligned=True,
                  sizes=(('train', 3000), ('valid', 500), ('test', 1000)), scale=1.1, offset=0.35, high=3.0,
                  step=1.0 / 3, sims=False),
    'sims': dict(name='CH-SIMS unaligned_39', text_len=39, audio=(400, 33), vision=(55, 709), aligned=False,
                 sizes=(('train', 1368), ('valid', 456), ('test', 457)), scale=0.5, offset=0.0, high=1.0,
                 step=0.2, sims=True),
}
REAL_SIZES = {'mosi': (1284, 229, 686), 'mosei': (16326, 1871, 4659), 'sims': (1368, 456, 457)}
TEXT_DIM = 768
SYNTHETIC_NOTE = ("SYNTHETIC file in MMSA's layout at the shape of {} made by benchmarks/mmsa_parity.py "
                  '(seed {}, {} samples); not real data')


def _unit(rng, size, active):
    """A unit vector over `active` random coordinates of `size`."""
    v = np.zeros(size)
    idx = rng.choice(size, size=min(active, size), replace=False)
    v[idx] = rng.standard_normal(len(idx))
    return v / np.linalg.norm(v)


def _frames(rng, n, steps, dim, lengths, latent, direction, mean, spread, shift, dtype=np.float32):
    """[n, steps, dim]: mean + spread * noise + shift * latent * direction up to each length, zeros after."""
    x = rng.standard_normal((n, steps, dim), dtype=np.float32) * spread.astype(np.float32)
    x += mean.astype(np.float32)
    x += (shift * latent[:, None, None] * direction[None, None, :]).astype(np.float32)
    x[np.arange(steps)[None, :] >= lengths[:, None]] = 0.0
    return x.astype(dtype, copy=False)


def make_file(shape, seed, sizes=None):
    """The MMSA-layout dict of one shape ('mosi', 'mosei', 'sims') with the planted signal above."""
    spec = SHAPES[shape]
    sizes = sizes or spec['sizes']
    rng = np.random.default_rng(seed)
    T = spec['text_len']
    (Ta, Da), (Tv, Dv) = spec['audio'], spec['vision']
    # Fixed per file: the directions the latents show along, the modalities' resting values.
    text_dir, cls_dir = _unit(rng, TEXT_DIM, TEXT_DIM), _unit(rng, TEXT_DIM, TEXT_DIM)
    word_mean = 0.3 * rng.standard_normal(TEXT_DIM)
    cls_row, sep_row = 0.5 * rng.standard_normal(TEXT_DIM), 0.5 * rng.standard_normal(TEXT_DIM)
    audio_dir, vision_dir = _unit(rng, Da, max(2, Da // 3)), _unit(rng, Dv, max(3, min(40, Dv // 3)))
    audio_mean, audio_spread = rng.standard_normal(Da) * 2.0, np.exp(rng.standard_normal(Da) * 0.5) * 1.5
    vision_mean, vision_spread = rng.standard_normal(Dv) * 0.5, np.exp(rng.standard_normal(Dv) * 0.5) * 1.0
    constant = rng.random(Dv) < (0.07 if spec['sims'] else 0.0)  # OpenFace-like constant columns
    vision_spread[constant], vision_dir[constant] = 0.0, 0.0
    vision_dir /= np.linalg.norm(vision_dir)
    out = {}
    for split, n in sizes:
        t, a, v = rng.standard_normal((3, n))
        raw = 0.9 * t + 0.5 * a + 0.45 * v + 0.35 * t * v - 0.25 * a * v + 0.35 * rng.standard_normal(n)
        labels = np.clip(np.round((spec['offset'] + spec['scale'] * raw) / spec['step']) * spec['step'],
                         -spec['high'], spec['high']).astype(np.float32)

        def seen(z, noise):  # what a modality shows of its latent
            return z + noise * rng.standard_normal(n)

        # text: [CLS] w_1 .. w_k [SEP] 0 ... 0
        text_lengths = rng.integers(max(6, T // 2), T + 1, size=n)
        text = rng.standard_normal((n, T, TEXT_DIM), dtype=np.float32) * np.float32(0.35)
        text += word_mean.astype(np.float32)
        p_pos = 1.0 / (1.0 + np.exp(-2.0 * seen(t, 0.3)))
        polar = rng.random((n, T)) < 0.6
        polarity = np.where(rng.random((n, T)) < p_pos[:, None], 1.0, -1.0) * polar
        text += (4.0 * polarity[:, :, None] * text_dir[None, None, :]).astype(np.float32)
        cls = cls_row + 0.3 * seen(t, 0.8)[:, None] * cls_dir + 0.3 * rng.standard_normal((n, TEXT_DIM))
        text[:, 0] = cls.astype(np.float32)
        rows = np.arange(n)
        text[rows, text_lengths - 1] = (sep_row + 0.3 * rng.standard_normal((n, TEXT_DIM))).astype(np.float32)
        text[np.arange(T)[None, :] >= text_lengths[:, None]] = 0.0

        if spec['aligned']:
            audio_lengths = vision_lengths = text_lengths
        else:
            audio_lengths = rng.integers(int(0.3 * Ta), Ta + 1, size=n)
            vision_lengths = rng.integers(int(0.3 * Tv), Tv + 1, size=n)
        audio = _frames(rng, n, Ta, Da, audio_lengths, seen(a, 0.4), audio_dir, audio_mean, audio_spread, 2.5)
        audio[(rng.random(audio.shape) < 0.003) & (audio != 0)] = -np.inf
        vision = _frames(rng, n, Tv, Dv, vision_lengths, seen(v, 0.4), vision_dir, vision_mean, vision_spread, 1.5)
        nan_rows = np.flatnonzero(rng.random(n) < 0.01)
        vision[nan_rows, 0, rng.integers(Dv, size=len(nan_rows))] = np.nan

        ids = np.zeros((n, 3, T), dtype=np.int64)
        mask = np.arange(T)[None, :] < text_lengths[:, None]
        ids[:, 0] = np.where(mask, rng.integers(1000, 21128, size=(n, T)), 0)
        ids[:, 0, 0], ids[rows, 0, text_lengths - 1] = 101, 102
        ids[:, 1] = mask
        names = np.where(labels < 0, 'Negative', np.where(labels > 0, 'Positive', 'Neutral'))
        part = {
            'raw_text': np.array(['synthetic clip {} of {}'.format(i, split) for i in range(n)]),
            'id': np.array(['synth{:04d}$_${}'.format(i // 8, i % 8) for i in range(n)]),
            'audio': audio, 'vision': vision, 'text': text, 'text_bert': ids,
            'annotations': np.array(names),
            'classification_labels': np.where(labels < 0, 0.0, np.where(labels > 0, 2.0, 1.0)).astype(np.float32),
            'regression_labels': labels,
        }
        if not spec['aligned']:
            part['audio_lengths'], part['vision_lengths'] = list(audio_lengths), list(vision_lengths)
        if spec['sims']:  # unimodal labels, each from its own latent
            for key, z in (('T', t), ('A', a), ('V', v)):
                part['regression_labels_' + key] = np.clip(np.round(0.5 * seen(z, 0.5) / 0.2) * 0.2, -1, 1).astype(
                    np.float32)
        out[split] = part
    out[common.SYNTHETIC_KEY] = SYNTHETIC_NOTE.format(spec['name'], seed, '/'.join(str(n) for _, n in sizes))
    return out


def write_file(path, shape, seed, sizes=None):
    """Write make_file(shape, seed, sizes) to path (protocol 4, as a Python 3 writer)."""
    with safe_io.atomic_write(path, 'wb') as f:
        pickle.dump(make_file(shape, seed, sizes), f, protocol=4)
    return path


def mean_baseline(train_labels, test_labels, metric_set):
    """Test metrics of predicting every test sample as the training labels' mean."""
    mean = np.asarray(train_labels, dtype=np.float64).mean(axis=0)
    return metrics.task_metrics(metric_set, test_labels, np.tile(mean, (len(test_labels), 1)))


# ---------------------------------------------------------------- lockstep check

def lockstep(hp, train_set, dims, steps, seed=0, recipe='mmsa'):
    """Train train.py's model and optimizer (Paddle) and torch_train.py's MMSA-way ones (PyTorch)
    from the same initial weights on the same batches with every dropout 0, `steps` steps of the
    batch-mean L1. Returns ([(Paddle loss, PyTorch loss) per step], the two final state dicts as
    numpy, keyed by the PyTorch names). Equal losses say the two compute the same training step:
    forward, backward, Adam groups, weight decay, BatchNorm in training mode."""
    import paddle
    import torch
    import utils
    from benchmarks import torch_lmf
    hp = dict(hp, audio_dropout=0.0, video_dropout=0.0, text_dropout=0.0, recipe=recipe)
    torch_lmf.mmsa_seed(seed)
    torch_model = torch_lmf.build(hp, dims, mmsa_text=recipe == 'mmsa')
    torch_opt = torch_lmf.mmsa_optimizer(torch_model, hp, recipe)
    utils.set_seed(seed)
    paddle_model = checkpoints.build_model(engine.model_hparams(hp), dims)
    initial, torch_initial = {}, {k: v.detach().numpy() for k, v in torch_model.state_dict().items()}
    for key, value in paddle_model.state_dict().items():  # the mirror's initial weights
        array = torch_initial[torch_lmf.torch_name(key)]
        initial[key] = np.ascontiguousarray(array.T if torch_lmf.transposed(key) else array)
        if tuple(initial[key].shape) != tuple(value.shape):
            raise ValueError('{}: PyTorch shape {} for Paddle shape {}'.format(key, initial[key].shape, value.shape))
    paddle_model.set_state_dict(initial)
    paddle_opt = engine.make_optimizer(paddle_model, hp['learning_rate'], hp['factor_learning_rate'],
                                      hp['weight_decay'], train_fusion=recipe != 'mmsa')
    criterion = torch.nn.L1Loss()
    paddle_model.train()
    torch_model.train()
    order = np.random.RandomState(seed).permutation(len(train_set))
    batch, losses = hp['batch_size'], []
    for step in range(steps):
        start = (step * batch) % len(train_set)
        idx = order[start:start + batch]
        arrays = [np.ascontiguousarray(a[idx]) for a in (train_set.audio, train_set.video, train_set.text,
                                                         train_set.targets)]
        loss = paddle.abs(paddle_model(*[paddle.to_tensor(a) for a in arrays[:3]]) - paddle.to_tensor(arrays[3])).mean()
        loss.backward()
        paddle_opt.step()
        paddle_opt.clear_grad()
        torch_opt.zero_grad()
        torch_loss = criterion(torch_model(*[torch.from_numpy(a) for a in arrays[:3]]), torch.from_numpy(arrays[3]))
        torch_loss.backward()
        torch_opt.step()
        losses.append((float(loss), torch_loss.item()))
    paddle_state = torch_lmf.from_paddle({k: v.numpy() for k, v in paddle_model.state_dict().items()})
    torch_state = {k: v.detach().numpy() for k, v in torch_model.state_dict().items()
                   if not k.endswith('num_batches_tracked')}
    return losses, paddle_state, torch_state
