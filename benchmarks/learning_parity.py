"""Does train.py learn about as well as a PyTorch LMF trained the reference way?

    python benchmarks/learning_parity.py --dataset mosi                 # 3 training seeds, data seed 7
    python benchmarks/learning_parity.py --dataset pom --seeds 1
    python benchmarks/learning_parity.py --dataset mosi --quick         # tiny data, 2 epochs: a smoke run

    python benchmarks/learning_parity.py --dataset mosi --layout mmsa   # MMSA's feature files, MMSA's way
    python benchmarks/learning_parity.py --dataset mosei                # (CMU-MOSEI and CH-SIMS have no other layout)
    python benchmarks/learning_parity.py --dataset sims --sizes 1368,456,457

The paper's layouts (CMU-MOSI, POM): one SYNTHETIC file in the dataset's layout and real split sizes
(data/make_sample_data.py --seed DATA_SEED; the defaults were chosen on seed 0, so the default 7 is data they were not
tuned on) and, for each training seed S (the table's seed, +1, ...), two arms: python train.py --dataset X --seed S
(its defaults: 500 epochs, patience 20) and python benchmarks/torch_train.py --dataset X --seed S (the same table,
loss, Adam groups, validation MAE and early stopping; torch's own initialisation and kernels).

MMSA's feature files (--layout mmsa; the default for mosei and sims): one SYNTHETIC file in MMSA's layout at the shape
of MMSA's published file (benchmarks/mmsa_parity.py) and, for each of MMSA's seeds 1111, 1112, ..., three arms:
benchmarks/torch_train.py (PyTorch, MMSA's procedure and both its defects: fusion weights and bias never trained, no
text dropout), train.py --recipe mmsa, and train.py (its default recipe, ours).

Each arm's test metrics and best validation loss are read from the run record it writes (lmf/records.py) and shown
side by side with the train-mean baseline (every test sample predicted as the training labels' mean): mean +- std
over the seeds, and per seed.
"""
import argparse
from concurrent.futures import ThreadPoolExecutor
import json
import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

from benchmarks import mmsa_parity  # noqa: E402
from lmf import engine, hparams, metrics, records  # noqa: E402
import safe_io  # noqa: E402
import utils  # noqa: E402

QUICK_SIZES = (('train', 96), ('valid', 32), ('test', 48))
QUICK_EPOCHS = 2
# (result key, label) of the metrics compared on the paper's layouts
METRICS = {
    'mosi': (('mae', 'MAE'), ('corr', 'Corr'), ('binary_acc', 'Acc-2 (y >= 0)'), ('f1', 'F1 (y >= 0)'),
             ('acc7', 'Acc-7 (clipped)'), ('mult_acc', 'Acc-7 (unclipped, the paper\'s)')),
    'pom': (('mae', 'MAE (mean of 16 traits)'), ('corr', 'Corr (mean)'), ('acc', 'Acc (mean)')),
}
# The arms: (key, table label, per-seed label)
AUTHORS_ARMS = (('paddle', 'Paddle train.py', 'Paddle'), ('torch', 'PyTorch', 'PyTorch'))
MMSA_ARMS = tuple((key, label, label) for key, label in (
    ('torch', "PyTorch, MMSA's way"), ('paddle_mmsa', 'Paddle --recipe mmsa'),
    ('paddle_ours', 'Paddle default (recipe ours)')))


def train_run(arm, dataset, data_path, seed, workdir, extra, threads=None):
    """Train one arm (AUTHORS_ARMS, MMSA_ARMS) for one seed in <workdir>/<arm>_seed_<seed>/ (its output in
    output.txt there); returns the run record's test metrics and best validation loss (best_valid), with the epochs
    run (the lines the script printed for them) and the wall seconds."""
    folder = os.path.join(workdir, '{}_seed_{}'.format(arm, seed))
    os.makedirs(folder, exist_ok=True)
    common = ['--dataset', dataset, '--data_path', data_path, '--seed', str(seed), '--model_path', folder] + extra
    if arm == 'torch':
        script, record = os.path.join('benchmarks', 'torch_train.py'), 'torch_{}.json'.format(dataset)
        cmd = [script] + common + (['--threads', str(threads)] if threads else [])
    else:
        script, record = 'train.py', 'train_{}.json'.format(dataset)
        cmd = [script] + common + (['--recipe', 'mmsa'] if arm == 'paddle_mmsa' else []) + ['--log_dir', folder] + (
            ['--cpu_threads', str(threads)] if threads else [])
    start = time.perf_counter()
    proc = subprocess.run([sys.executable] + cmd, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    with open(os.path.join(folder, 'output.txt'), 'w') as f:
        f.write(proc.stdout + proc.stderr)
    found = records.read(os.path.join(folder, record))
    if proc.returncode != 0 or found is None or found.get('status') != 'finished':
        raise SystemExit('{} failed ({}):\n{}{}'.format(
            script, ' '.join(cmd), proc.stdout[-3000:], proc.stderr[-3000:]))
    return dict(found['metrics'], best_valid=found['best_valid_loss'], seconds=seconds,
                epochs=len(re.findall(r'^Epoch \d+ complete!', proc.stdout, re.M)))


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


def table(arms, diffs, scored, best_label, runs, base, head):
    """The side-by-side table: a row per scored (key, label) metric and for the best validation loss, epochs and
    seconds; a column per arm (`head` says over what), per difference (first arm, second arm, title) and the
    baseline."""
    lines = ['| metric | ' + ' | '.join('{} ({})'.format(label, head) for _, label, _ in arms) + ' | ' + ' | '.join(
        title for _, _, title in diffs) + ' | train-mean baseline |', '|---|' + '---|' * (len(arms) + len(diffs) + 1)]
    extra = (('best_valid', best_label), ('epochs', 'epochs run'), ('seconds', 'wall seconds (train + test)'))
    n = len(next(iter(runs.values())))
    for key, label in tuple(scored) + extra:
        values = {arm: [r[key] for r in runs[arm]] for arm, _, _ in arms}
        is_metric = key in dict(scored)
        cells = [summary(values[arm], 4 if is_metric or key == 'best_valid' else (0 if n == 1 else 1))
                 for arm, _, _ in arms]
        if is_metric:
            cells += ['n/a' if not np.all(np.isfinite(values[a] + values[b])) else '{:+.4f}'.format(
                np.mean(values[a]) - np.mean(values[b])) for a, b, _ in diffs]
            cells.append('n/a' if np.isnan(base.get(key, float('nan'))) else '{:.4f}'.format(base[key]))
        else:
            cells += [''] * (len(diffs) + 1)
        lines.append('| {} | {} |'.format(label, ' | '.join(cells)))
    return '\n'.join(lines)


def per_seed(arms, column, columns, runs, seeds):
    """A row per seed and arm, a column per (key, title) of `columns`."""
    lines = ['| seed | {} | '.format(column) + ' | '.join(title for _, title in columns) + ' |',
             '|---|---|' + '---|' * len(columns)]
    for i, seed in enumerate(seeds):
        for arm, _, label in arms:
            lines.append('| {} | {} | '.format(seed, label) + ' | '.join(
                str(runs[arm][i][k]) if k == 'epochs' else '{:.4f}'.format(runs[arm][i][k]) for k, _ in columns) + ' |')
    return '\n'.join(lines)


def parse_sizes(text):
    try:
        sizes = tuple(int(n) for n in text.split(','))
    except ValueError:
        sizes = ()
    if len(sizes) != 3 or min(sizes) < 2:
        raise argparse.ArgumentTypeError('--sizes takes TRAIN,VALID,TEST, each >= 2, e.g. 3000,500,1000')
    return sizes


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
                        help="--layout mmsa: math threads of each run (train.py --cpu_threads, torch_train.py "
                             "--threads; default: each script's default)")
    parser.add_argument('--weight_decay', type=float, default=None,
                        help="--layout mmsa: every arm trains with this weight decay instead of the published one")
    parser.add_argument('--workdir', default=None, help='keep the data, checkpoints and logs here (default: temporary)')
    parser.add_argument('--json', default=None, help='also write the results to this file')
    args = parser.parse_args(argv)
    for name in ('seeds', 'jobs'):
        if getattr(args, name) < 1:
            parser.error('--{} must be >= 1'.format(name))
    dataset = args.dataset
    mmsa = (args.layout or hparams.default_layout(dataset)) == 'mmsa'
    if mmsa and dataset not in mmsa_parity.SHAPES:
        raise SystemExit('--layout mmsa: no generator shape for --dataset {}; one of {}'.format(
            dataset, ', '.join(mmsa_parity.SHAPES)))
    if not mmsa and dataset not in ('mosi', 'pom'):
        parser.error("--dataset {} exists only as MMSA's feature files (--layout mmsa)".format(dataset))
    if not mmsa and (args.sizes or args.jobs != 1 or args.threads or args.weight_decay is not None):
        parser.error('--sizes, --jobs, --threads and --weight_decay apply to --layout mmsa')
    import data
    reader = data.module(dataset)
    hp = hparams.published_hparams(dataset, layout='mmsa' if mmsa else None)
    published_decay = hp['weight_decay']
    if args.weight_decay is not None:
        hp['weight_decay'] = hparams.check_value('weight_decay', args.weight_decay)
    seeds = engine.seed_list(hp['seed'], args.seeds)
    spec = mmsa_parity.SHAPES[dataset] if mmsa else None
    sizes = (QUICK_SIZES if args.quick else tuple(zip(('train', 'valid', 'test'), args.sizes)) if args.sizes
             else spec['sizes'] if mmsa else reader.SPLIT_SIZES)
    extra = (['--epochs', str(QUICK_EPOCHS)] if args.quick else []) + (
        ['--weight_decay', repr(args.weight_decay)] if args.weight_decay is not None else [])
    metric_set = metrics.metric_set(dataset, 'mmsa' if mmsa else 'authors')
    arms = MMSA_ARMS if mmsa else AUTHORS_ARMS
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or tmp
        os.makedirs(workdir, exist_ok=True)
        # the prepared-data cache (data/cache.py) of the file made here goes with it, not into data/cache/
        os.environ.setdefault('LMF_CACHE_DIR', os.path.join(workdir, 'cache'))
        data_path = os.path.join(workdir, '{}{}_seed{}.pkl'.format(dataset, '_mmsa' if mmsa else '', args.data_seed))
        if mmsa:
            mmsa_parity.write_file(data_path, dataset, args.data_seed, sizes)
        else:
            reader.write_sample_data(data_path, args.data_seed, sizes)
        start, tasks, shown = time.perf_counter(), [(seed, arm) for seed in seeds for arm, _, _ in arms], \
            ('MAE', 'Corr') if mmsa else ('mae', 'corr')

        def one(task):  # every arm and seed, --jobs of them at a time; a line per run as it ends
            r = train_run(task[1], dataset, data_path, task[0], workdir, extra, args.threads)
            print('seed {} {}: test MAE {:.4f}, Corr {:.4f}, {} epochs, {:.0f} s'.format(
                *task, r[shown[0]], r[shown[1]], r['epochs'], r['seconds']), flush=True)
            return r

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = dict(zip(tasks, pool.map(one, tasks)))
        runs = {arm: [results[(seed, arm)] for seed in seeds] for arm, _, _ in arms}
        total = time.perf_counter() - start
        train_set, _, test_set, _ = engine.load_data(dataset, data_path, verbose=False)
        base = mmsa_parity.mean_baseline(train_set.labels, test_set.targets, metric_set)  # its corr is nan: a constant
    from importlib.metadata import version
    header = ['# benchmarks/learning_parity.py --dataset {}{}{} on {} ({} cores), Paddle {}, PyTorch {}'.format(
        dataset, ' --layout mmsa' if mmsa else '', ' --quick' if args.quick else '',
        utils.cpuinfo('model name') or 'unknown CPU', os.cpu_count(), version('paddlepaddle'), version('torch'))]
    samples, seed_list = '/'.join(str(n) for _, n in sizes), ', '.join(str(s) for s in seeds)
    head = 'mean +- std{} {} seeds'.format(',' if mmsa else ' over', len(seeds)) if len(seeds) > 1 else \
        'seed {}'.format(seeds[0])
    quick = '{} epochs (quick)'.format(QUICK_EPOCHS)
    if mmsa:
        real = mmsa_parity.REAL_SIZES[dataset]
        header += [
            "data: SYNTHETIC file in MMSA's layout, {} shape (text (N, {}, 768), audio (N, {}, {}), vision (N, {}, {})), "
            '{} samples{}, --data_seed {}; seeds {}'.format(
                spec['name'], spec['text_len'], *(spec['audio'] + spec['vision']), samples, '' if tuple(
                    n for _, n in sizes) == real else " (MMSA's file: {})".format('/'.join(map(str, real))),
                args.data_seed, seed_list),
            "settings: published_hparams({!r}, layout='mmsa'){}: {}; {}".format(
                dataset, '' if args.weight_decay is None else ' but --weight_decay {} (published {})'.format(
                    args.weight_decay, published_decay),
                ', '.join('{}={}'.format(k, hp[k]) for k in hparams.TABLE_COLUMNS if k != 'seed'), quick if args.quick
                else 'patience {}, no epoch limit (PyTorch) / {} (Paddle)'.format(hp['patience'], hp['epochs'])),
            'runs: {} at a time, {}; all runs {:.1f} min'.format(args.jobs, '{} math thread(s) each'.format(
                args.threads) if args.threads else "each script's default threads", total / 60)]
        diffs = (('paddle_mmsa', 'torch', 'mmsa - PyTorch'), ('paddle_ours', 'paddle_mmsa', 'ours - mmsa'))
        scored, best_label, column = [(m.key, m.summary) for m in metrics.SEED_METRICS[metric_set]], \
            "best validation loss (MMSA's)", 'arm'
        keys = ['MAE', 'Corr'] + (['Non0_acc_2', 'Has0_acc_2', 'Mult_acc_7'] if metric_set == 'mmsa_mosi'
                                  else ['Mult_acc_2', 'Mult_acc_3', 'Mult_acc_5'])
        columns = [(k, k) for k in keys] + [('best_valid', 'best valid'), ('epochs', 'epochs')]
        result = dict(dataset=dataset, layout='mmsa', data_seed=args.data_seed, seeds=seeds, quick=args.quick,
                      weight_decay=hp['weight_decay'], sizes=dict(sizes), runs=runs, metric_set=metric_set)
    else:
        header.append('data: SYNTHETIC {} layout, {} samples, --seed {}; training seeds {}; {}'.format(
            reader.NAME, samples, args.data_seed, seed_list, quick if args.quick else "the table's defaults (epochs "
            '{}, patience {}, batch {})'.format(hp['epochs'], hp['patience'], hp['batch_size'])))
        diffs, scored, best_label, column = (('paddle', 'torch', 'Paddle - PyTorch'),), METRICS[dataset], \
            'best validation MAE', 'framework'
        columns = [(k, k) for k, _ in METRICS[dataset][:3 if dataset == 'pom' else 5]] + [('epochs', 'epochs')]
        result = dict(dataset=dataset, data_seed=args.data_seed, seeds=seeds, quick=args.quick, sizes=dict(sizes),
                      paddle=runs['paddle'], torch=runs['torch'])
    body = table(arms, diffs, scored, best_label, runs, base, head) + '\n\nPer seed:\n\n' + per_seed(
        arms, column, columns, runs, seeds)
    report = '\n'.join(header) + '\n\n' + body + '\n'
    print()
    print(report)
    if args.json:
        with safe_io.atomic_write(args.json) as f:
            json.dump(dict(result, baseline={k: v for k, v in base.items() if not isinstance(v, list)}), f, indent=1)


if __name__ == '__main__':
    main()
