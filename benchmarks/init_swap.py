"""Diagnosis of the CMU-MOSI learning gap (BENCHMARKS.md): swap the Linear layers' initialisation.

    python benchmarks/init_swap.py --dataset mosi --data_path X [--seeds 3]

Trains, for each seed, exactly as learning_parity.py does (train.fit / torch_train.py with the
table's defaults), but
  Paddle  with PyTorch's nn.Linear initialisation: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
          (Paddle's default: Xavier-uniform weight, zero bias);
  PyTorch with Paddle's: Xavier-uniform weight, zero bias.
Everything else (LSTM, factors, BatchNorm, optimizer, data order) is unchanged. If the gap
between the frameworks follows the initialisation, the two rows swap places.
"""
import argparse
import contextlib
import io
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

import utils  # noqa: E402

RUNS = ('paddle_torch_init', 'torch_paddle_init')


def run_paddle_with_torch_init(dataset, data_path, seed, workdir):
    import paddle
    import train
    build = utils.build_model

    def torch_style(hp, dims, use_softmax=False):
        model = build(hp, dims, use_softmax)
        for layer in model.sublayers():
            if isinstance(layer, paddle.nn.Linear):
                bound = 1 / math.sqrt(layer.weight.shape[0])  # Paddle's Linear weight is [in, out]
                for p in (layer.weight, layer.bias):
                    p.set_value(np.random.uniform(-bound, bound, p.shape).astype('float32'))
        return model

    utils.build_model = torch_style  # train.fit builds through utils.build_model (after seeding numpy)
    utils.setup_device('cpu')
    hp = utils.published_hparams(dataset)
    hp['seed'] = seed
    train_set, valid_set, test_set, dims = train.load_for_training(hp, data_path, verbose=False)
    path = os.path.join(workdir, 'paddle_{}.pdparams'.format(seed))
    best = train.fit(hp, train_set, valid_set, dims, path, log=lambda line: None)
    utils.build_model = build
    model, _, _ = utils.model_from_checkpoint(path, dataset, dataset=dataset)
    return dict(utils.evaluate(model, test_set, metrics=dataset), best_valid=best)


def run_torch_with_paddle_init(dataset, data_path, seed, workdir):
    import torch
    from benchmarks import torch_train
    from benchmarks.learning_parity import parse_results, training_summary
    build = torch_train.build

    def paddle_style(hp, dims):
        model = build(hp, dims)
        for layer in model.modules():
            if isinstance(layer, torch.nn.Linear):
                torch.nn.init.xavier_uniform_(layer.weight)
                torch.nn.init.zeros_(layer.bias)
        return model

    torch_train.build = paddle_style
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        torch_train.main(['--dataset', dataset, '--data_path', data_path, '--seed', str(seed), '--model_path', workdir])
    return dict(parse_results(dataset, out.getvalue()), best_valid=training_summary(out.getvalue())[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dataset', choices=utils.REGRESSION, default='mosi')
    parser.add_argument('--data_path', required=True)
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--run', choices=RUNS, default=None, help=argparse.SUPPRESS)  # one run, in a child process
    parser.add_argument('--seed', type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        with tempfile.TemporaryDirectory() as workdir:
            fn = run_paddle_with_torch_init if args.run == RUNS[0] else run_torch_with_paddle_init
            result = fn(args.dataset, args.data_path, args.seed, workdir)
        keys = ('mae', 'corr', 'best_valid') + (('binary_acc',) if args.dataset == 'mosi' else ('acc',))
        print('RESULT ' + json.dumps({k: float(result[k]) for k in keys}))
        return
    base = utils.published_hparams(args.dataset)['seed']
    rows = []
    for seed in [(base + i) % 2 ** 32 for i in range(args.seeds)]:
        for run in RUNS:
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), '--dataset', args.dataset, '--data_path',
                                   args.data_path, '--run', run, '--seed', str(seed)], cwd=REPO,
                                  capture_output=True, text=True)
            lines = [line for line in proc.stdout.splitlines() if line.startswith('RESULT ')]
            if proc.returncode != 0 or not lines:
                raise SystemExit('{} seed {} failed:\n{}{}'.format(run, seed, proc.stdout[-2000:], proc.stderr[-2000:]))
            rows.append((seed, run, json.loads(lines[-1][len('RESULT '):])))
            print(seed, run, rows[-1][2], flush=True)
    keys = list(rows[0][2])
    print('\n| seed | run | ' + ' | '.join(keys) + ' |\n|---|---|' + '---|' * len(keys))
    for seed, run, r in rows:
        print('| {} | {} | '.format(seed, run) + ' | '.join('{:.4f}'.format(r[k]) for k in keys) + ' |')
    for run in RUNS:
        print('| mean | {} | '.format(run) + ' | '.join('{:.4f}'.format(np.mean([r[k] for _, n, r in rows if n == run]))
                                                      for k in keys) + ' |')


if __name__ == '__main__':
    main()
