"""Does train.py learn CMU-MOSI / POM about as well as a PyTorch LMF trained the authors' way?

    python benchmarks/learning_parity.py --dataset mosi                 # 3 training seeds, data seed 7
    python benchmarks/learning_parity.py --dataset pom --seeds 1
    python benchmarks/learning_parity.py --dataset mosi --quick         # tiny data, 2 epochs: a smoke run

On one SYNTHETIC file in the dataset's layout and real split sizes (data/make_sample_data.py
with --seed DATA_SEED; the defaults were chosen on seed 0, so the default 7 is data they were
not tuned on), for each training seed S (the table's seed, +1, +2, ...):
  Paddle:  python train.py --dataset X --seed S   (its defaults: 500 epochs, patience 20), then
           python test.py --dataset X --check_path <that checkpoint>
  PyTorch: python benchmarks/torch_train.py --dataset X --seed S   (same table, summed L1 loss,
           Adam groups, validation MAE, early stopping; torch's own initialisation and kernels)
and the train-mean baseline (every test sample predicted as the training labels' mean).
Test metrics are read from the lines the scripts print (metrics.show_results) and shown side by
side: mean +- std over the seeds, and per seed.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

import hparams  # noqa: E402
import utils  # noqa: E402
import metrics  # noqa: E402

QUICK_SIZES = (('train', 96), ('valid', 32), ('test', 48))
QUICK_EPOCHS = 2
# (result key, label) of the metrics compared, per dataset
METRICS = {
    'mosi': (('mae', 'MAE'), ('corr', 'Corr'), ('binary_acc', 'Acc-2 (y >= 0)'), ('f1', 'F1 (y >= 0)'),
             ('acc7', 'Acc-7 (clipped)'), ('mult_acc', 'Acc-7 (unclipped, the paper\'s)')),
    'pom': (('mae', 'MAE (mean of 16 traits)'), ('corr', 'Corr (mean)'), ('acc', 'Acc (mean)')),
}


def result_patterns(dataset):
    """{key: regex} for the metric lines metrics.show_results prints (the same format strings)."""
    if dataset == 'mosi':
        lines = metrics.MOSI_LINES + metrics.MOSI_VARIANT_LINES
    elif dataset == 'pom':
        lines = metrics.POM_LINES
    else:
        raise ValueError(dataset)
    return {key: re.compile(r'^\s*' + re.escape(fmt.split('{}')[0]) + r'(\S+)\s*$', re.M) for key, fmt in lines}


def parse_results(dataset, text):
    """The test metrics in a script's output (the last occurrence of each line)."""
    found = {}
    for key, pattern in result_patterns(dataset).items():
        matches = pattern.findall(text)
        if not matches:
            raise ValueError('no {!r} line in the output'.format(key))
        found[key] = float(matches[-1])
    return found


def run(cmd, what):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable] + cmd, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit('{} failed ({}):\n{}{}'.format(what, ' '.join(cmd), proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc.stdout, seconds


def training_summary(text):
    """(epochs run, best validation loss) from a training log."""
    epochs = len(re.findall(r'^Epoch \d+ complete!', text, re.M))
    best = re.findall(r'^Best validation loss is: (\S+)', text, re.M)
    return epochs, float(best[-1]) if best else float('nan')


def paddle_run(dataset, data_path, seed, workdir, extra):
    folder = os.path.join(workdir, 'paddle_seed_{}'.format(seed))
    out, train_s = run(['train.py', '--dataset', dataset, '--data_path', data_path, '--seed', str(seed),
                        '--model_path', folder, '--log_dir', folder] + extra, 'train.py')
    epochs, best = training_summary(out)
    test_out, test_s = run(['test.py', '--dataset', dataset, '--check_path', folder, '--data_path', data_path],
                           'test.py')
    return dict(parse_results(dataset, test_out), epochs=epochs, best_valid=best, seconds=train_s + test_s)


def torch_run(dataset, data_path, seed, workdir, extra):
    folder = os.path.join(workdir, 'torch_seed_{}'.format(seed))
    os.makedirs(folder, exist_ok=True)
    out, seconds = run([os.path.join('benchmarks', 'torch_train.py'), '--dataset', dataset, '--data_path', data_path,
                        '--seed', str(seed), '--model_path', folder] + extra, 'benchmarks/torch_train.py')
    epochs, best = training_summary(out)
    return dict(parse_results(dataset, out), epochs=epochs, best_valid=best, seconds=seconds)


def baseline(dataset, data_path):
    """Test metrics of predicting every test sample as the training labels' mean (per output)."""
    train_set, _, test_set, _ = utils.load_data(dataset, data_path, verbose=False)
    mean = train_set.labels.mean(axis=0, dtype=np.float64)
    prediction = np.tile(mean, (len(test_set), 1))
    return metrics.task_metrics(dataset, test_set.targets, prediction)  # its corr is nan: a constant


def summary(values, digits=4):
    values = np.asarray(values, dtype=np.float64)
    if np.all(np.isnan(values)):
        return 'n/a'
    if len(values) == 1:
        return '{:.{d}f}'.format(values[0], d=digits)
    return '{:.{d}f} +- {:.{d}f}'.format(np.mean(values), np.std(values, ddof=1), d=digits)


def table(dataset, runs, base, seeds):
    n = len(seeds)
    head = 'mean +- std over {} seeds'.format(n) if n > 1 else 'seed {}'.format(seeds[0])
    lines = ['| metric | Paddle train.py ({}) | PyTorch ({}) | Paddle - PyTorch | train-mean baseline |'.format(
        head, head), '|---|---|---|---|---|']
    for key, label in METRICS[dataset] + (('best_valid', 'best validation MAE'), ('epochs', 'epochs run'),
                                          ('seconds', 'wall seconds (train + test)')):
        p = [r[key] for r in runs['paddle']]
        t = [r[key] for r in runs['torch']]
        diff = '{:+.4f}'.format(np.mean(p) - np.mean(t)) if key in dict(METRICS[dataset]) else ''
        b = base.get(key, float('nan')) if key in dict(METRICS[dataset]) else None
        digits = 4 if key in dict(METRICS[dataset]) or key == 'best_valid' else (0 if len(seeds) == 1 else 1)
        lines.append('| {} | {} | {} | {} | {} |'.format(
            label, summary(p, digits), summary(t, digits), diff,
            '' if b is None else 'n/a' if np.isnan(b) else '{:.4f}'.format(b)))
    return '\n'.join(lines)


def per_seed(dataset, runs, seeds):
    keys = [k for k, _ in METRICS[dataset]][:3 if dataset == 'pom' else 5] + ['epochs']
    lines = ['| seed | framework | ' + ' | '.join(keys) + ' |', '|---|---|' + '---|' * len(keys)]
    for i, seed in enumerate(seeds):
        for name, label in (('paddle', 'Paddle'), ('torch', 'PyTorch')):
            r = runs[name][i]
            lines.append('| {} | {} | '.format(seed, label) + ' | '.join(
                str(r[k]) if k == 'epochs' else '{:.4f}'.format(r[k]) for k in keys) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dataset', choices=hparams.REGRESSION, required=True)
    parser.add_argument('--seeds', type=int, default=3, help="training seeds: the table's seed, +1, ... (default 3)")
    parser.add_argument('--data_seed', type=int, default=7, help='seed of the synthetic file (default 7)')
    parser.add_argument('--quick', action='store_true',
                        help='{} samples, {} epochs: checks the script, says nothing about learning'.format(
                            '/'.join(str(n) for _, n in QUICK_SIZES), QUICK_EPOCHS))
    parser.add_argument('--workdir', default=None, help='keep the data, checkpoints and logs here (default: temporary)')
    parser.add_argument('--json', default=None, help='also write the results to this file')
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error('--seeds must be >= 1')
    import data
    reader = data.module(args.dataset)
    hp = hparams.published_hparams(args.dataset)
    seeds = [(hp['seed'] + i) % 2 ** 32 for i in range(args.seeds)]
    sizes = QUICK_SIZES if args.quick else reader.SPLIT_SIZES
    extra = ['--epochs', str(QUICK_EPOCHS)] if args.quick else []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or tmp
        os.makedirs(workdir, exist_ok=True)
        data_path = os.path.join(workdir, '{}_seed{}.pkl'.format(args.dataset, args.data_seed))
        reader.write_sample_data(data_path, args.data_seed, sizes)
        runs = {'paddle': [], 'torch': []}
        for seed in seeds:
            for name, fn in (('paddle', paddle_run), ('torch', torch_run)):
                runs[name].append(fn(args.dataset, data_path, seed, workdir, extra))
                r = runs[name][-1]
                print('seed {} {}: test MAE {:.4f}, Corr {:.4f}, {} epochs, {:.0f} s'.format(
                    seed, name, r['mae'], r['corr'], r['epochs'], r['seconds']), flush=True)
        base = baseline(args.dataset, data_path)
    from importlib.metadata import version
    header = ['# benchmarks/learning_parity.py --dataset {}{} on {} ({} cores), Paddle {}, PyTorch {}'.format(
        args.dataset, ' --quick' if args.quick else '', utils.cpuinfo('model name') or 'unknown CPU', os.cpu_count(),
        version('paddlepaddle'), version('torch')),
        'data: SYNTHETIC {} layout, {} samples, --seed {}; training seeds {}; {}'.format(
            reader.NAME, '/'.join(str(n) for _, n in sizes), args.data_seed, ', '.join(str(s) for s in seeds),
            '{} epochs (quick)'.format(QUICK_EPOCHS) if args.quick else
            "the table's defaults (epochs {}, patience {}, batch {})".format(hp['epochs'], hp['patience'],
                                                                             hp['batch_size']))]
    report = '\n'.join(header) + '\n\n' + table(args.dataset, runs, base, seeds) + '\n\nPer seed:\n\n' + per_seed(
        args.dataset, runs, seeds) + '\n'
    print()
    print(report)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(dataset=args.dataset, data_seed=args.data_seed, seeds=seeds, quick=args.quick,
                           sizes=dict(sizes), paddle=runs['paddle'], torch=runs['torch'],
                           baseline={k: v for k, v in base.items() if not isinstance(v, list)}), f, indent=1)


if __name__ == '__main__':
    main()
