"""Does train.py learn about as well as a PyTorch LMF trained the reference way?

    python benchmarks/learning_parity.py --dataset mosi                 # 3 training seeds, data seed 7
    python benchmarks/learning_parity.py --dataset pom --seeds 1
    python benchmarks/learning_parity.py --dataset mosi --quick         # tiny data, 2 epochs: a smoke run

    python benchmarks/learning_parity.py --dataset mosi --layout mmsa   # MMSA's feature files, MMSA's way
    python benchmarks/learning_parity.py --dataset mosei                # (CMU-MOSEI and CH-SIMS have no other layout)
    python benchmarks/learning_parity.py --dataset sims --sizes 1368,456,457

The paper's layouts (CMU-MOSI, POM): on one SYNTHETIC file in the dataset's layout and real
split sizes (data/make_sample_data.py with --seed DATA_SEED; the defaults were chosen on seed 0,
so the default 7 is data they were not tuned on), for each training seed S (the table's seed,
+1, +2, ...):
  Paddle:  python train.py --dataset X --seed S   (its defaults: 500 epochs, patience 20), then
           python test.py --dataset X --check_path <that checkpoint>
  PyTorch: python benchmarks/torch_train.py --dataset X --seed S   (same table, summed L1 loss,
           Adam groups, validation MAE, early stopping; torch's own initialisation and kernels)
and the train-mean baseline (every test sample predicted as the training labels' mean).

MMSA's feature files (--layout mmsa; the default for mosei and sims): one SYNTHETIC file in MMSA's
layout at the shape of MMSA's published file (benchmarks/mmsa_parity.py: CMU-MOSI unaligned_50,
CMU-MOSEI aligned_50 at 3000/500/1000 samples unless --sizes, CH-SIMS unaligned_39), and for each
of MMSA's seeds 1111, 1112, ... three arms on it:
  PyTorch, MMSA's way: python benchmarks/torch_train.py --dataset X --seed S   (MMSA's procedure and
           both its defects: fusion weights and bias never trained, no text dropout)
  Paddle, --recipe mmsa: python train.py --dataset X --recipe mmsa --seed S, then test.py
  Paddle, default:       python train.py --dataset X --seed S   (recipe ours), then test.py
and the train-mean baseline, with MMSA's metrics (metrics.task_metrics).

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

from lmf import hparams  # noqa: E402
from lmf import engine
import utils  # noqa: E402
from lmf import metrics  # noqa: E402

QUICK_SIZES = (('train', 96), ('valid', 32), ('test', 48))
QUICK_EPOCHS = 2
# (result key, label) of the metrics compared, per dataset
METRICS = {
    'mosi': (('mae', 'MAE'), ('corr', 'Corr'), ('binary_acc', 'Acc-2 (y >= 0)'), ('f1', 'F1 (y >= 0)'),
             ('acc7', 'Acc-7 (clipped)'), ('mult_acc', 'Acc-7 (unclipped, the paper\'s)')),
    'pom': (('mae', 'MAE (mean of 16 traits)'), ('corr', 'Corr (mean)'), ('acc', 'Acc (mean)')),
}


MMSA_SETS = ('mmsa_mosi', 'mmsa_sims')
# The arms of the MMSA comparison: (key, column label)
MMSA_ARMS = (('torch', "PyTorch, MMSA's way"), ('paddle_mmsa', 'Paddle --recipe mmsa'),
             ('paddle_ours', 'Paddle default (recipe ours)'))


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
    """The test metrics in a script's output (the last occurrence of each line; for MMSA's metric
    sets 'mmsa_mosi' and 'mmsa_sims' the last block of their lines, metrics.parse_results)."""
    if dataset in MMSA_SETS:
        found = metrics.parse_results(dataset, text)
        if not found:
            raise ValueError('no {} result lines in the output'.format(dataset))
        return found
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
    train_set, _, test_set, _ = engine.load_data(dataset, data_path, verbose=False)
    mean = train_set.labels.mean(axis=0, dtype=np.float64)
    prediction = np.tile(mean, (len(test_set), 1))
    return metrics.task_metrics(dataset, test_set.targets, prediction)  # its corr is nan: a constant


def summary(values, digits=4):
    """mean +- std (ddof 1) of the finite values; NaN ones (e.g. the correlation of a constant output)
    are left out and counted."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 'n/a'
    note = '' if finite.size == values.size else ' ({} of {} n/a)'.format(values.size - finite.size, values.size)
    if finite.size == 1:
        return '{:.{d}f}'.format(finite[0], d=digits) + note
    return '{:.{d}f} +- {:.{d}f}'.format(np.mean(finite), np.std(finite, ddof=1), d=digits) + note


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


# ---------------------------------------------------------------- MMSA's feature files

def mmsa_run(arm, dataset, data_path, seed, workdir, extra, metric_set, threads=None):
    """One arm of the MMSA comparison (MMSA_ARMS) for one seed: train, test, read the printed metrics.
    The scripts' output is kept in <workdir>/<arm>_seed_<seed>/output.txt."""
    folder = os.path.join(workdir, '{}_seed_{}'.format(arm, seed))
    os.makedirs(folder, exist_ok=True)
    common = ['--dataset', dataset, '--data_path', data_path, '--seed', str(seed)]
    paddle_threads = ['--cpu_threads', str(threads)] if threads else []
    if arm == 'torch':
        out, seconds = run([os.path.join('benchmarks', 'torch_train.py')] + common + ['--model_path', folder] + extra
                           + (['--threads', str(threads)] if threads else []), 'benchmarks/torch_train.py')
        test_out = out
    else:
        recipe = ['--recipe', 'mmsa'] if arm == 'paddle_mmsa' else []
        out, train_s = run(['train.py'] + common + recipe + ['--model_path', folder, '--log_dir', folder] + extra
                           + paddle_threads, 'train.py')
        test_out, test_s = run(['test.py', '--dataset', dataset, '--check_path', folder, '--data_path', data_path]
                               + paddle_threads, 'test.py')
        seconds = train_s + test_s
    with open(os.path.join(folder, 'output.txt'), 'w') as f:
        f.write(out if test_out is out else out + test_out)
    epochs, best = training_summary(out)
    return dict(parse_results(metric_set, test_out), epochs=epochs, best_valid=best, seconds=seconds)


def mmsa_runs(dataset, data_path, seeds, workdir, extra, metric_set, jobs=1, threads=None):
    """{arm: [result per seed]} of every arm and seed, `jobs` of them at a time."""
    from concurrent.futures import ThreadPoolExecutor
    tasks = [(seed, arm) for seed in seeds for arm, _ in MMSA_ARMS]

    def one(task):
        seed, arm = task
        r = mmsa_run(arm, dataset, data_path, seed, workdir, extra, metric_set, threads)
        print('seed {} {}: test MAE {:.4f}, Corr {:.4f}, {} epochs, {:.0f} s'.format(
            seed, arm, r['MAE'], r['Corr'], r['epochs'], r['seconds']), flush=True)
        return r

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = dict(zip(tasks, pool.map(one, tasks)))
    return {arm: [results[(seed, arm)] for seed in seeds] for arm, _ in MMSA_ARMS}


def mmsa_table(metric_set, runs, base, seeds):
    n = len(seeds)
    head = 'mean +- std, {} seeds'.format(n) if n > 1 else 'seed {}'.format(seeds[0])
    lines = ['| metric | ' + ' | '.join('{} ({})'.format(label, head) for _, label in MMSA_ARMS)
             + ' | mmsa - PyTorch | ours - mmsa | train-mean baseline |', '|---|' + '---|' * (len(MMSA_ARMS) + 3)]
    scored = [(key, label) for key, _, label in metrics.SEED_METRICS[metric_set]]
    extra = (('best_valid', "best validation loss (MMSA's)"), ('epochs', 'epochs run'),
             ('seconds', 'wall seconds (train + test)'))
    for key, label in scored + list(extra):
        values = {arm: [r[key] for r in runs[arm]] for arm, _ in MMSA_ARMS}
        is_metric = key in dict(scored)
        digits = 4 if is_metric or key == 'best_valid' else (0 if n == 1 else 1)
        cells = [summary(values[arm], digits) for arm, _ in MMSA_ARMS]
        if is_metric:
            def diff(x, y):
                return 'n/a' if not np.all(np.isfinite(x + y)) else '{:+.4f}'.format(np.mean(x) - np.mean(y))
            cells += [diff(values['paddle_mmsa'], values['torch']), diff(values['paddle_ours'], values['paddle_mmsa'])]
            b = base.get(key, float('nan'))
            cells.append('n/a' if np.isnan(b) else '{:.4f}'.format(b))
        else:
            cells += ['', '', '']
        lines.append('| {} | {} |'.format(label, ' | '.join(cells)))
    return '\n'.join(lines)


def mmsa_per_seed(metric_set, runs, seeds):
    keys = ['MAE', 'Corr'] + (['Non0_acc_2', 'Has0_acc_2', 'Mult_acc_7'] if metric_set == 'mmsa_mosi'
                              else ['Mult_acc_2', 'Mult_acc_3', 'Mult_acc_5'])
    lines = ['| seed | arm | ' + ' | '.join(keys + ['best valid', 'epochs']) + ' |',
             '|---|---|' + '---|' * (len(keys) + 2)]
    for i, seed in enumerate(seeds):
        for arm, label in MMSA_ARMS:
            r = runs[arm][i]
            lines.append('| {} | {} | '.format(seed, label) + ' | '.join(
                ['{:.4f}'.format(r[k]) for k in keys] + ['{:.4f}'.format(r['best_valid']), str(r['epochs'])]) + ' |')
    return '\n'.join(lines)


def parse_sizes(text):
    try:
        sizes = tuple(int(n) for n in text.split(','))
    except ValueError:
        sizes = ()
    if len(sizes) != 3 or min(sizes) < 2:
        raise argparse.ArgumentTypeError('--sizes takes TRAIN,VALID,TEST, each >= 2, e.g. 3000,500,1000')
    return sizes


def main_mmsa(args):
    from benchmarks import mmsa_parity
    dataset = args.dataset
    if dataset not in mmsa_parity.SHAPES:
        raise SystemExit('--layout mmsa: no generator shape for --dataset {}; one of {}'.format(
            dataset, ', '.join(mmsa_parity.SHAPES)))
    spec = mmsa_parity.SHAPES[dataset]
    hp = hparams.published_hparams(dataset, layout='mmsa')
    published_decay = hp['weight_decay']
    if args.weight_decay is not None:
        hp['weight_decay'] = hparams.check_value('weight_decay', args.weight_decay)
    seeds = [(hp['seed'] + i) % 2 ** 32 for i in range(args.seeds)]
    sizes = (QUICK_SIZES if args.quick else tuple(zip(('train', 'valid', 'test'), args.sizes)) if args.sizes
             else spec['sizes'])
    extra = ['--epochs', str(QUICK_EPOCHS)] if args.quick else []
    if args.weight_decay is not None:
        extra += ['--weight_decay', repr(args.weight_decay)]
    metric_set = metrics.metric_set(dataset, 'mmsa')
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or tmp
        os.makedirs(workdir, exist_ok=True)
        # the prepared-data cache (data/cache.py) of the file made here goes with it, not into data/cache/
        os.environ.setdefault('LMF_CACHE_DIR', os.path.join(workdir, 'cache'))
        data_path = os.path.join(workdir, '{}_mmsa_seed{}.pkl'.format(dataset, args.data_seed))
        mmsa_parity.write_file(data_path, dataset, args.data_seed, sizes)
        start = time.perf_counter()
        runs = mmsa_runs(dataset, data_path, seeds, workdir, extra, metric_set, args.jobs, args.threads)
        total = time.perf_counter() - start
        train_set, _, test_set, _ = engine.load_data(dataset, data_path, verbose=False)
        base = mmsa_parity.mean_baseline(train_set.labels, test_set.targets, metric_set)
        shapes = 'text (N, {}, 768), audio (N, {}, {}), vision (N, {}, {})'.format(
            spec['text_len'], *(spec['audio'] + spec['vision']))
    from importlib.metadata import version
    header = ['# benchmarks/learning_parity.py --dataset {} --layout mmsa{} on {} ({} cores), Paddle {}, '
              'PyTorch {}'.format(
        dataset, ' --quick' if args.quick else '', utils.cpuinfo('model name') or 'unknown CPU', os.cpu_count(),
        version('paddlepaddle'), version('torch')),
        "data: SYNTHETIC file in MMSA's layout, {} shape ({}), {} samples{}, --data_seed {}; seeds {}".format(
            spec['name'], shapes, '/'.join(str(n) for _, n in sizes),
            ' (MMSA\'s file: {})'.format('/'.join(str(n) for n in mmsa_parity.REAL_SIZES[dataset]))
            if tuple(n for _, n in sizes) != mmsa_parity.REAL_SIZES[dataset] else '', args.data_seed,
            ', '.join(str(s) for s in seeds)),
        "settings: published_hparams({!r}, layout='mmsa'){}: {}; {}".format(
            dataset, '' if args.weight_decay is None else ' but --weight_decay {} (published {})'.format(
                args.weight_decay, published_decay),
            ', '.join('{}={}'.format(k, hp[k]) for k in hparams.TABLE_COLUMNS if k != 'seed'),
            '{} epochs (quick)'.format(QUICK_EPOCHS) if args.quick else
            'patience {}, no epoch limit (PyTorch) / {} (Paddle)'.format(hp['patience'], hp['epochs'])),
        'runs: {} at a time, {}; all runs {:.1f} min'.format(
            args.jobs,
            '{} math thread(s) each'.format(args.threads) if args.threads else "each script's default threads",
            total / 60)]
    report = '\n'.join(header) + '\n\n' + mmsa_table(metric_set, runs, base, seeds) + '\n\nPer seed:\n\n' + \
        mmsa_per_seed(metric_set, runs, seeds) + '\n'
    print()
    print(report)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(dataset=dataset, layout='mmsa', data_seed=args.data_seed, seeds=seeds, quick=args.quick,
                           weight_decay=hp['weight_decay'],
                           sizes=dict(sizes), runs=runs, metric_set=metric_set,
                           baseline={k: v for k, v in base.items() if not isinstance(v, list)}), f, indent=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dataset', choices=hparams.REGRESSION, required=True)
    parser.add_argument('--layout', choices=hparams.LAYOUTS, default=None,
                        help="authors (the paper's pickles: mosi, pom) or mmsa (MMSA's feature files: mosi, mosei, "
                             'sims); default: the dataset\'s usual one')
    parser.add_argument('--seeds', type=int, default=3, help="training seeds: the table's seed, +1, ... (default 3)")
    parser.add_argument('--data_seed', type=int, default=7, help='seed of the synthetic file (default 7)')
    parser.add_argument('--quick', action='store_true',
                        help='{} samples, {} epochs: checks the script, says nothing about learning'.format(
                            '/'.join(str(n) for _, n in QUICK_SIZES), QUICK_EPOCHS))
    parser.add_argument('--sizes', type=parse_sizes, default=None,
                        help="--layout mmsa: TRAIN,VALID,TEST samples (default: MMSA's file's; CMU-MOSEI "
                             '3000,500,1000)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='--layout mmsa: runs at a time (default 1; the wall seconds are then shared-CPU times)')
    parser.add_argument('--threads', type=int, default=None,
                        help="--layout mmsa: math threads of each run (train.py/test.py --cpu_threads, torch_train.py "
                             "--threads; default: each script's default)")
    parser.add_argument('--weight_decay', type=float, default=None,
                        help="--layout mmsa: every arm trains with this weight decay instead of the published one")
    parser.add_argument('--workdir', default=None, help='keep the data, checkpoints and logs here (default: temporary)')
    parser.add_argument('--json', default=None, help='also write the results to this file')
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error('--seeds must be >= 1')
    if args.jobs < 1:
        parser.error('--jobs must be >= 1')
    layout = args.layout or hparams.default_layout(args.dataset)
    if layout == 'mmsa':
        return main_mmsa(args)
    if args.dataset not in ('mosi', 'pom'):
        parser.error("--dataset {} exists only as MMSA's feature files (--layout mmsa)".format(args.dataset))
    if args.sizes or args.jobs != 1 or args.threads or args.weight_decay is not None:
        parser.error('--sizes, --jobs, --threads and --weight_decay apply to --layout mmsa')
    import data
    reader = data.module(args.dataset)
    hp = hparams.published_hparams(args.dataset)
    seeds = [(hp['seed'] + i) % 2 ** 32 for i in range(args.seeds)]
    sizes = QUICK_SIZES if args.quick else reader.SPLIT_SIZES
    extra = ['--epochs', str(QUICK_EPOCHS)] if args.quick else []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or tmp
        os.makedirs(workdir, exist_ok=True)
        # the prepared-data cache (data/cache.py) of the file made here goes with it, not into data/cache/
        os.environ.setdefault('LMF_CACHE_DIR', os.path.join(workdir, 'cache'))
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
