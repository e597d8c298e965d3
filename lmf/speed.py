"""Speed at the paper's efficiency setting (its Table 3): LMF against TFN, measured in alternating rounds
(the machines are shared and noisy: a ratio of medians of alternating rounds holds when a single time does not).
benchmark.py and reproduce.py's efficiency table use it.
"""
import math
import statistics
import time

import numpy as np

# The paper's Table 3 setting: audio and video hidden 32, text hidden 128 (text out 64), rank 4, one output.
PAPER_SETTING = dict(audio_hidden=32, video_hidden=32, text_hidden=128, rank=4, output_dim=1)


def alternate(contenders, repeats):
    """Run each callable in turn, `repeats` rounds: {name: [its result of each round]}."""
    results = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            results[name].append(fn())
    return results


def median(values):
    return statistics.median(values)


def fusion_model(kind, rank=4):
    from model import LMF, TFN
    s = PAPER_SETTING
    hidden = (s['audio_hidden'], s['video_hidden'], s['text_hidden'])
    if kind == 'LMF':
        return LMF((74, 35, 300), hidden, s['text_hidden'] // 2, (0.1, 0.1, 0.1, 0.5), s['output_dim'], rank)
    return TFN((74, 35, 300), hidden, s['text_hidden'] // 2, (0.1, 0.1, 0.1, 0.5), 128, s['output_dim'])


def throughput(model, batch, steps, train):
    """Samples/s of training steps (Adam, L1 loss as in the paper's regression) or of eval batches."""
    import paddle
    rng = np.random.RandomState(0)
    inputs = [paddle.to_tensor(rng.randn(*shape).astype('float32'))
              for shape in ((batch, 74), (batch, 35), (batch, 20, 300))]
    target = paddle.to_tensor(rng.randn(batch, 1).astype('float32'))
    if train:
        model.train()
        optimizer = paddle.optimizer.Adam(learning_rate=1e-3, parameters=model.parameters())

        def step():
            loss = paddle.nn.functional.l1_loss(model(*inputs), target)
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
    else:
        model.eval()

        def step():
            with paddle.no_grad():
                model(*inputs).numpy()
    return samples_per_second(step, batch, steps)


def samples_per_second(step, batch, steps):
    """Samples/s of `steps` calls of step() on batches of `batch` samples, after one warm-up call."""
    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - start)


def lmf_training_flops(hp, dims, text_steps):
    """FLOPs one sample's training step through LMF with hp's sizes must do, counting the matrix products only
    (element-wise work is a few percent). Forward: the audio and video subnetworks' three Linear layers, the text
    LSTM over text_steps steps and its Linear, the fusion. Backward: every weight's gradient (a forward's products
    again) and the gradient of every input that needs one, which the layers reading the data do not (the LSTM's
    input projection, a subnetwork's first Linear). 2 FLOPs per multiply-add. dims: (audio_in, video_in, text_in)."""
    audio, video, text = hp['audio_hidden'], hp['video_hidden'], hp['text_hidden']
    text_out, rank, out = text // 2, hp['rank'], hp['output_dim']
    reading_data = dims[0] * audio + dims[1] * video + text_steps * 4 * text * dims[2]
    rest = (2 * audio * audio + 2 * video * video + text_steps * 4 * text * text + text * text_out
            + rank * out * (audio + video + text_out + 3) + rank * out)
    return 2 * (2 * reading_data + 3 * rest)


def sgemm_peak(matmul, size=1024, repeats=5):
    """The machine's measured sgemm peak, FLOP/s: the best of `repeats` timed [size, size] @ [size, size]
    float32 products by matmul(a, b) (which must finish its work before returning), at the caller's threads."""
    rng = np.random.RandomState(0)
    a, b = (rng.randn(size, size).astype('float32') for _ in range(2))
    matmul(a, b)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best


def parameters(model):
    return sum(int(np.prod(p.shape)) for p in model.parameters())


def lmf_vs_tfn(batch, steps, repeats):
    """Table 3 here: {lmf,tfn}_params, and samples/s of training ({lmf,tfn}_train) and inference (_infer)."""
    import paddle
    paddle.seed(0)
    models = {kind: fusion_model(kind) for kind in ('LMF', 'TFN')}
    values = {'lmf_params': parameters(models['LMF']), 'tfn_params': parameters(models['TFN'])}
    for train, name in ((True, 'train'), (False, 'infer')):
        speeds = alternate({kind: (lambda m=m: throughput(m, batch, steps, train)) for kind, m in models.items()},
                           repeats)
        values['lmf_' + name], values['tfn_' + name] = (median(speeds[k]) for k in ('LMF', 'TFN'))
    return values
