"""Does training with random missing (train.py --train_missing) pay when inputs go missing at test time?

LMF trained clean and with --train_missing P (default 0.5) under N seeds each, on a SYNTHETIC file in MMSA's layout
that nothing else here uses (a generator seed of its own), where each modality carries part of the label (the
sample's sentiment is the sum of one hidden factor per modality); each run's best checkpoint evaluated at
--missing_rate 0.0, 0.1, ..., 0.9 (seed 1111, lmf/missing.py): the main metric at each rate and its mean over the
rates (the number LNLN's table reports).

    python benchmarks/missing_training.py                 # CMU-MOSI's layout, 5 seeds: about 5 minutes on 2 cores
    python benchmarks/missing_training.py --dataset sims --seeds 3 --json missing.json
    python benchmarks/missing_training.py --quick         # tiny sizes: seconds, keeps the script working
"""
import argparse
import contextlib
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lmf import checkpoints, engine, hparams, metrics, missing, robustness  # noqa: E402 (the repository first)
from data import common, mmsa  # noqa: E402
import safe_io  # noqa: E402
import utils  # noqa: E402

RATES = robustness.LEVELS  # 0, 0.1, ..., 0.9: the study's rates
DATA_SEED = 20261206  # the generator's seed: a file no test, table or benchmark here has trained on
QUICK_SIZES, QUICK_STEPS, QUICK_EPOCHS = (('train', 96), ('valid', 32), ('test', 48)), (8, 8, 8), 3
MAIN_METRIC = robustness.MAIN_METRIC  # the study's accuracy-like score of each metric set


def scores_at_rates(checkpoint, name, dataset, test_set, metric_set):
    """{rate: the main metric of the checkpoint on the test split at that missing rate (0: clean)}."""
    model = checkpoints.model_from_checkpoint(checkpoint, name, dataset=dataset)[0]
    key = MAIN_METRIC[metric_set]
    return {r: float(engine.evaluate(model, missing.at_rates(test_set, dict.fromkeys(missing.MODALITIES, r))
                                     if r else test_set, metrics_for=metric_set)[key]) for r in RATES}


def measure(dataset, path, seeds, probability, workdir, epochs=None):
    """{'clean' | 'missing': [{rate: score} per seed]}, each run trained by engine.train_and_test as train.py does."""
    sets = engine.load_data(dataset, path, verbose=False)
    metric_set = metrics.metric_set(dataset, 'mmsa')
    name = hparams.model_name(dataset)
    flags = {} if epochs is None else dict(epochs=epochs, patience=epochs)
    found = {'clean': [], 'missing': []}
    for seed in engine.seed_list(hparams.published_hparams(dataset, layout='mmsa')['seed'], seeds):
        for arm, extra in (('clean', {}), ('missing', dict(train_missing=probability))):
            hp = hparams.resolve(dataset, layout='mmsa', flags=dict(flags, seed=seed, **extra), data=sets[0],
                                 data_path=path)
            folder = os.path.join(workdir, '{}_seed_{}'.format(arm, seed))
            with open(os.devnull, 'w') as null, contextlib.redirect_stdout(null):  # the log file has its lines
                engine.train_and_test(hp, path, folder, folder, sets=sets)
            found[arm].append(scores_at_rates(os.path.join(folder, name + '.pdparams'), name, dataset, sets[2],
                                              metric_set))
            print('{} seed {}: {} at rate 0 / 0.5 / 0.9: {:.4f} / {:.4f} / {:.4f}'.format(
                arm, seed, MAIN_METRIC[metric_set], *(found[arm][-1][r] for r in (0.0, 0.5, 0.9))),
                file=sys.stderr, flush=True)
    return found


def table(found, metric, probability):
    """Markdown: a row per arm, mean ± std over seeds (x100) at each rate and of the mean over the rates."""
    def cell(values):
        values = 100 * np.asarray(values)
        return '{:.1f} ± {:.1f}'.format(values.mean(), values.std(ddof=1)) if len(values) > 1 else \
            '{:.1f}'.format(values[0])
    lines = ['| LMF trained | ' + ' | '.join('r = {:g}'.format(r) for r in RATES) + ' | mean over r |',
             '|---|' + '---|' * (len(RATES) + 1)]
    for arm, label in (('clean', 'clean'), ('missing', 'with --train_missing {:g}'.format(probability))):
        runs = found[arm]
        lines.append('| {} ({} seeds, {}) | {} | {} |'.format(label, len(runs), metric, ' | '.join(
            cell([run[r] for run in runs]) for r in RATES), cell([np.mean(list(run.values())) for run in runs])))
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dataset', choices=('mosi', 'sims'), default='mosi',
                        help="the layout of MMSA's file the SYNTHETIC data takes (default mosi)")
    parser.add_argument('--seeds', type=int, default=None, help="seeds per arm, MMSA's 1111, 1112, ... (default 5, "
                                                                'quick 1)')
    parser.add_argument('--train_missing', type=float, default=0.5, help='the missing-trained arm (default 0.5)')
    parser.add_argument('--quick', action='store_true', help='tiny sizes and 3 epochs: seconds, not a measurement')
    parser.add_argument('--json', default=None, help='also write {dataset, train_missing, rates, runs} here')
    utils.add_device_args(parser)
    args = parser.parse_args()
    seeds = args.seeds if args.seeds is not None else (1 if args.quick else 5)
    if seeds < 1:
        raise utils.UserError('--seeds must be >= 1, got {}'.format(seeds))
    hparams.check_value('train_missing', args.train_missing)
    utils.setup_device(args.device, args.cpu_threads)
    with tempfile.TemporaryDirectory() as workdir:
        path = os.path.join(workdir, 'unseen.pkl')
        sample = mmsa.make_sample_data(args.dataset, DATA_SEED, **(
            dict(sizes=QUICK_SIZES, steps=QUICK_STEPS) if args.quick else {}))
        common.write_pickle_atomic(path, sample, mmsa.NAMES[args.dataset], protocol=4)
        found = measure(args.dataset, path, seeds, args.train_missing, workdir,
                        QUICK_EPOCHS if args.quick else None)
    metric_set = metrics.metric_set(args.dataset, 'mmsa')
    print('# SYNTHETIC data in the layout of {}, generator seed {}{}: test {} at --missing_rate r (seed 1111)'.format(
        mmsa.NAMES[args.dataset], DATA_SEED, ' (--quick sizes)' if args.quick else '', MAIN_METRIC[metric_set]))
    print(table(found, MAIN_METRIC[metric_set], args.train_missing))
    if args.json:
        with safe_io.atomic_write(args.json) as f:
            json.dump(dict(dataset=args.dataset, train_missing=args.train_missing, rates=list(RATES),
                           runs={arm: [{str(r): s for r, s in run.items()} for run in runs]
                                 for arm, runs in found.items()}), f, indent=1)


if __name__ == '__main__':
    utils.run_cli(main)
