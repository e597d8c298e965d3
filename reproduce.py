"""Reproduce the paper's Tables 1-3 and its rank study, each task under several seeds.

    python reproduce.py                     # every task x 5 seeds, ranks 1..64, efficiency -> results/RESULTS.md
    python reproduce.py --quick             # tiny SYNTHETIC files, 2 seeds, 3 epochs: checks the whole chain in seconds
    python reproduce.py --only mosi,rank    # some parts; runs recorded earlier stay in the tables
    python reproduce.py --tables_only       # rewrite RESULTS.md and the figure from the recorded runs

Parts: the IEMOCAP emotions (happy, sad, angry, neutral; `iemocap` is all four), mosi, pom, rank (CMU-MOSI
at every --ranks value, as the paper's rank study) and efficiency (LMF against TFN at the paper's setting).
Each dataset's real file is used when present (data/iemocap.pkl, data/mosi.pkl, data/pom.pkl), else its
SYNTHETIC sample, and the tables say which. Every run trains with the published hyperparameters and seed
s = table seed + i (as train.py --seeds) into <out>/runs/<task>/rank_<r>/seed_<s>/: the log train_<name>.txt,
the checkpoint <name>.pdparams and, written last, run.json. A run with run.json is finished and a rerun skips
it (after Ctrl-C or a kill, the same command finishes the rest); a run whose hyperparameters or data file
changed is trained again. Every number in RESULTS.md is read back from the runs' logs.
"""
import argparse
import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import time

import numpy as np

import hparams
import utils

EMOTIONS = hparams.EMOTIONS
TASKS = EMOTIONS + ('mosi', 'pom')
PARTS = TASKS + ('rank', 'efficiency')
RANKS = (1, 2, 4, 8, 16, 32, 64)
RANK_TASK = 'mosi'  # the paper studies rank on CMU-MOSI (section 5.4)
QUICK_SIZES = (('train', 64), ('valid', 24), ('test', 32))
QUICK_EPOCHS = 10
FIGURE = 'rank.png'

# The published numbers (../shared/reference: the paper's Tables 1-3, and the earlier Paddle 2.2 port's train.sh).
# Accuracies and F1 in percent, as the paper prints them.
PAPER = {
    'mosi': dict(mae=0.912, corr=0.668, binary_acc=76.4, f1=75.7, mult_acc=32.8),
    'pom': dict(mae=0.796, corr=0.396, acc=42.8),
    'iemocap': dict(happy=85.8, sad=85.9, angry=89.0, neutral=71.7),
    'efficiency': dict(lmf_params=1.1e6, tfn_params=12.5e6, lmf_train=1134.82, tfn_train=340.74,
                       lmf_infer=2249.90, tfn_infer=1177.17),
}
EARLIER_PORT = {'iemocap': dict(happy=85.9, sad=86.3, angry=89.0, neutral=71.8)}

# Table columns per dataset: (metric key, column title, percent?). The key names a line of the log
# (utils.show_results prints it); the line's format is the one source of where the number comes from.
COLUMNS = {
    'mosi': (('mae', 'MAE', False), ('corr', 'Corr', False), ('binary_acc', 'Acc-2', True), ('f1', 'F1', True),
             ('mult_acc', 'Acc-7', True)),
    'pom': (('mae', 'MAE', False), ('corr', 'Corr', False), ('acc', 'Acc', True)),
    'iemocap': (('f1', 'F1', True), ('accuracy', 'accuracy', True)),
}
LOG_LINES = {'iemocap': (('f1', 'F1-score on test set is {}'), ('accuracy', 'Accuracy score on test set is {}')),
             'mosi': utils.MOSI_LINES, 'pom': utils.POM_LINES}
EFFICIENCY_LINES = (('lmf_params', 'LMF parameters: {}'), ('tfn_params', 'TFN parameters: {}'),
                    ('lmf_train', 'LMF training samples/s: {}'), ('tfn_train', 'TFN training samples/s: {}'),
                    ('lmf_infer', 'LMF inference samples/s: {}'), ('tfn_infer', 'TFN inference samples/s: {}'))


def dataset_of(task):
    return 'iemocap' if task in EMOTIONS else task


def log_name(task):
    return 'train_{}.txt'.format(hparams.model_name(dataset_of(task), task if task in EMOTIONS else None))


def read_log(path, lines):
    """{key: float} of the lines `key, format` found in the log at path (first occurrence of each)."""
    values = {}
    with open(path) as f:
        text = f.read()
    for key, line in lines:
        pattern = '^' + re.escape(line).replace(re.escape('{}'), r'(\S+)') + '$'
        found = re.search(pattern, text, flags=re.MULTILINE)
        if found:
            values[key] = float(found.group(1))
    return values


# ---------------------------------------------------------------- what to run

def parse_only(text):
    if text is None:
        return list(PARTS)
    parts = []
    for item in (t.strip() for t in text.split(',') if t.strip()):
        if item == 'iemocap':
            parts.extend(EMOTIONS)
        elif item in PARTS:
            parts.append(item)
        else:
            raise utils.UserError('--only: unknown part {!r}; choose from iemocap, {}'.format(item, ', '.join(PARTS)))
    if not parts:
        raise utils.UserError('--only: no part given')
    return [p for p in PARTS if p in parts]


def task_hparams(task, quick):
    hp = hparams.published_hparams(dataset_of(task), task if task in EMOTIONS else None)
    if quick:
        hp.update(epochs=QUICK_EPOCHS, patience=QUICK_EPOCHS)
    return hp


def plan(parts, seeds, ranks, quick):
    """The training runs of `parts`: a list of (task, rank, seed, hyperparameters), in the order they train
    (the rank study right after CMU-MOSI's own runs, which it shares at the published rank)."""
    import train
    runs = []
    for task in TASKS:
        study = task == RANK_TASK and 'rank' in parts
        if task not in parts and not study:
            continue
        hp = task_hparams(task, quick)
        task_ranks = [hp['rank']] if task in parts else []
        if study:
            task_ranks += [r for r in ranks if r not in task_ranks]
        for rank in task_ranks:
            for seed in train.seed_list(hp['seed'], seeds):
                runs.append((task, rank, seed, dict(hp, rank=rank, seed=seed)))
    return runs


def run_dir(out, task, rank, seed):
    return os.path.join(out, 'runs', task, 'rank_{}'.format(rank), 'seed_{}'.format(seed))


# ---------------------------------------------------------------- data

def quick_data(out):
    """Tiny SYNTHETIC files of every dataset under <out>/data (made once; the same bytes every time)."""
    import data
    paths = {}
    for dataset in hparams.DATASETS:
        path = os.path.join(out, 'data', '{}_quick.pkl'.format(dataset))
        if not os.path.isfile(path):
            with contextlib.redirect_stdout(open(os.devnull, 'w')):
                data.module(dataset).write_sample_data(path, sizes=QUICK_SIZES)
        paths[dataset] = path
    return paths


@functools.lru_cache(maxsize=None)
def fingerprint(path):
    """sha256 of a data file: a run recorded on other data is not a finished run of this one."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 22), b''):
            digest.update(block)
    return digest.hexdigest()


def data_paths(parts, quick, out):
    if quick:
        return quick_data(out)
    needed = {dataset_of(t) for t in TASKS if t in parts or (t == RANK_TASK and 'rank' in parts)}
    return {d: utils.default_data_path(None, d) for d in hparams.DATASETS if d in needed}


def is_synthetic(path, dataset):
    import data
    return os.path.abspath(path) != os.path.abspath(data.module(dataset).REAL_PATH)


# ---------------------------------------------------------------- records

def record_of(directory):
    try:
        with open(os.path.join(directory, 'run.json')) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json(path, obj):
    with utils.atomic_write(path) as f:
        json.dump(obj, f, indent=1, sort_keys=True)


def setting_of(hp, data_path, dataset):
    return dict(hparams={k: hp[k] for k in sorted(hp)}, data_sha256=fingerprint(data_path),
                synthetic=is_synthetic(data_path, dataset))


def finished(record, hp, sha=None):
    """A record of a completed run with these hyperparameters (and, if given, this data file)."""
    return (record is not None and record['setting']['hparams'] == {k: hp[k] for k in sorted(hp)}
            and (sha is None or record['setting']['data_sha256'] == sha))


class Loader:
    """The splits of the task being trained, loaded once for all its seeds and ranks."""

    def __init__(self):
        self.key, self.sets = None, None

    def get(self, hp, path):
        """(splits, hp with the file's output_dim)."""
        import train
        key = (hp['dataset'], hp.get('emotion'), path)
        if key != self.key:
            self.key, self.sets = None, None  # free the previous task's arrays first
            loaded = dict(hp)
            self.sets = train.load_for_training(loaded, path, verbose=False), loaded['output_dim']
            self.key = key
        sets, output_dim = self.sets
        return sets, dict(hp, output_dim=output_dim)


def train_run(task, hp, data_path, directory, loader):
    """Train one run into `directory` (emptied first); run.json is written last. Returns the record."""
    import train
    if os.path.isdir(directory):  # a run killed before its run.json: start it again
        shutil.rmtree(directory)
    os.makedirs(directory)
    sets, hp_with_outputs = loader.get(hp, data_path)
    start = time.perf_counter()
    status = 'finished'
    with contextlib.redirect_stdout(open(os.devnull, 'w')):
        try:
            train.train_and_test(hp_with_outputs, data_path, directory, directory, sets=sets)
        except train.TrainingDiverged as err:
            status = 'diverged'
            with open(os.path.join(directory, log_name(task)), 'a') as log:
                log.write('Training diverged: {}\n'.format(err))
    record = dict(status=status, seconds=round(time.perf_counter() - start, 2),
                  setting=setting_of(hp, data_path, hp['dataset']))
    write_json(os.path.join(directory, 'run.json'), record)
    return record


def efficiency_setting(quick):
    return dict(batch=8, steps=2, repeats=1) if quick else dict(batch=64, steps=20, repeats=3)


def measure_efficiency(directory, setting, threads):
    """LMF against TFN at the paper's setting (benchmark.py's section 3), written as a log and run.json."""
    import paddle
    import benchmark
    from infer import cpu_model
    if os.path.isdir(directory):
        shutil.rmtree(directory)
    os.makedirs(directory)
    start = time.perf_counter()
    paddle.seed(0)
    models = {kind: benchmark.fusion_model(kind) for kind in ('LMF', 'TFN')}
    values = {'lmf_params': benchmark.parameters(models['LMF']), 'tfn_params': benchmark.parameters(models['TFN'])}
    for train, name in ((True, 'train'), (False, 'infer')):
        speeds = benchmark.alternate({kind: (lambda m=m: benchmark.throughput(m, setting['batch'], setting['steps'], train))
                                      for kind, m in models.items()}, setting['repeats'])
        values['lmf_' + name], values['tfn_' + name] = (benchmark.median(speeds[k]) for k in ('LMF', 'TFN'))
    with open(os.path.join(directory, 'efficiency.txt'), 'w') as log:
        log.write('CPU: {} ({} cores), Paddle {}, {} CPU math threads\n'.format(
            cpu_model(), os.cpu_count(), paddle.__version__, threads))
        log.write("Setting: the paper's (audio/video hidden 32, text out 64, rank 4, output 1), batch {batch}, "
                  '{steps} steps, median of {repeats} alternating rounds\n'.format(**setting))
        for key, line in EFFICIENCY_LINES:
            log.write(line.format(values[key]) + '\n')
    record = dict(status='finished', seconds=round(time.perf_counter() - start, 2), setting=setting)
    write_json(os.path.join(directory, 'run.json'), record)
    return record


# ---------------------------------------------------------------- progress

def eta(remaining, seconds_by_task):
    """Seconds left: each remaining run at its task's mean recorded time (else the mean of all)."""
    every = [s for times in seconds_by_task.values() for s in times]
    if not every:
        return None
    overall = sum(every) / len(every)
    return sum(np.mean(seconds_by_task[task]) if seconds_by_task.get(task) else overall for task in remaining)


def minutes(seconds):
    if seconds is None:
        return 'estimating after the first run'
    return 'about {} left'.format('{:.0f} s'.format(seconds) if seconds < 90 else '{:.0f} min'.format(seconds / 60))


def headline(task, record, directory):
    if record['status'] != 'finished':
        return record['status']
    dataset = dataset_of(task)
    key, title, percent = COLUMNS[dataset][0]
    value = read_log(os.path.join(directory, log_name(task)), LOG_LINES[dataset]).get(key)
    return '{} {}'.format(title, 'missing' if value is None else '{:.3f}'.format(value))


# ---------------------------------------------------------------- tables

def collect(out, runs, shas):
    """{(task, rank): [values per finished run]} and counts, read from the recorded logs.

    runs: plan() of every part; shas: {dataset: sha256} to require, or {} to accept the recorded data."""
    results, meta = {}, {}
    for task, rank, seed, hp in runs:
        dataset = dataset_of(task)
        directory = run_dir(out, task, rank, seed)
        record = record_of(directory)
        entry = meta.setdefault((task, rank), dict(planned=0, diverged=0, synthetic=set(), seconds=0.0))
        entry['planned'] += 1
        if not finished(record, hp, shas.get(dataset)):
            continue
        entry['seconds'] += record['seconds']
        entry['synthetic'].add(record['setting']['synthetic'])
        if record['status'] == 'diverged':
            entry['diverged'] += 1
            continue
        values = read_log(os.path.join(directory, log_name(task)), LOG_LINES[dataset])
        results.setdefault((task, rank), []).append(values)
    return results, meta


def summary(values, percent):
    """'mean ± std (min–max)' of a list (std with n-1; the spread of the seeds)."""
    scale = 100.0 if percent else 1.0
    values = np.asarray(values, dtype=np.float64) * scale
    digits = 1 if percent else 3
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return '{m:.{d}f} ± {s:.{d}f} ({lo:.{d}f}–{hi:.{d}f})'.format(
        m=values.mean(), s=std, lo=values.min(), hi=values.max(), d=digits)


def published(value, percent):
    return '{:.1f}'.format(value) if percent else '{:.3f}'.format(value)


def status_note(key, meta, results):
    """What is missing from the runs of key = (task, rank): seeds not finished, seeds that diverged."""
    entry = meta[key]
    have = len(results.get(key, []))
    notes = []
    if have < entry['planned']:
        notes.append('{}: {} of {} seeds finished'.format(key[0], have, entry['planned']))
    if entry['diverged']:
        notes.append('{}: {} diverged, left out'.format(key[0], entry['diverged']))
    return notes


def regression_table(dataset, results, meta, hp_rank):
    key = (dataset, hp_rank)
    cols = COLUMNS[dataset]
    lines = ['| {} | {} |'.format(dataset_title(dataset), ' | '.join(title for _, title, _ in cols)),
             '|---|' + '---|' * len(cols),
             '| paper (LMF) | {} |'.format(' | '.join(published(PAPER[dataset][k], p) for k, _, p in cols))]
    runs = results.get(key, [])
    cells = [summary([r[k] for r in runs], p) if runs else 'not run' for k, _, p in cols]
    lines.append('| {} | {} |'.format(repository_label(meta[key], len(runs)), ' | '.join(cells)))
    return lines, status_note(key, meta, results)


def dataset_title(dataset):
    return {'mosi': 'CMU-MOSI', 'pom': 'POM', 'iemocap': 'IEMOCAP'}[dataset]


def repository_label(entry, n):
    return 'this repository{}: mean ± std (min–max), {} seeds'.format(
        ', SYNTHETIC data' if True in entry['synthetic'] else '', n)


def iemocap_table(results, meta, ranks_of):
    keys = [(e, ranks_of[e]) for e in EMOTIONS]
    lines = ['| IEMOCAP F1 | {} |'.format(' | '.join(EMOTIONS)), '|---|' + '---|' * len(EMOTIONS),
             '| paper (LMF) | {} |'.format(' | '.join(published(PAPER['iemocap'][e], True) for e in EMOTIONS)),
             '| earlier Paddle port | {} |'.format(' | '.join(published(EARLIER_PORT['iemocap'][e], True)
                                                             for e in EMOTIONS))]
    cells = [summary([r['f1'] for r in results[k]], True) if results.get(k) else 'not run' for k in keys]
    synthetic = any(True in meta[k]['synthetic'] for k in keys)
    counts = sorted({len(results.get(k, [])) for k in keys})
    lines.append('| this repository{}: mean ± std (min–max), {} seeds | {} |'.format(
        ', SYNTHETIC data' if synthetic else '', '/'.join(str(c) for c in counts), ' | '.join(cells)))
    notes = [n for k in keys for n in status_note(k, meta, results)]
    return lines, notes


def efficiency_table(out):
    path = os.path.join(out, 'runs', 'efficiency', 'efficiency.txt')
    if record_of(os.path.dirname(path)) is None:
        return ['Not measured yet: `python reproduce.py --only efficiency`.'], None
    values = read_log(path, EFFICIENCY_LINES)
    with open(path) as f:
        cpu_line, setting_line = f.readline().strip(), f.readline().strip()
    p = PAPER['efficiency']
    lines = ['| model | parameters | training samples/s | inference samples/s |', '|---|---|---|---|',
             '| paper, TFN (GPU) | {:.1f} M | {:.2f} | {:.2f} |'.format(p['tfn_params'] / 1e6, p['tfn_train'], p['tfn_infer']),
             '| paper, LMF (GPU) | {:.1f} M | {:.2f} | {:.2f} |'.format(p['lmf_params'] / 1e6, p['lmf_train'], p['lmf_infer']),
             '| paper, LMF / TFN | 1/{:.1f} | {:.2f}x | {:.2f}x |'.format(
                 p['tfn_params'] / p['lmf_params'], p['lmf_train'] / p['tfn_train'], p['lmf_infer'] / p['tfn_infer']),
             '| this run, TFN (CPU) | {:,.0f} | {:.0f} | {:.0f} |'.format(values['tfn_params'], values['tfn_train'],
                                                                     values['tfn_infer']),
             '| this run, LMF (CPU) | {:,.0f} | {:.0f} | {:.0f} |'.format(values['lmf_params'], values['lmf_train'],
                                                                     values['lmf_infer']),
             '| this run, LMF / TFN | 1/{:.1f} | {:.2f}x | {:.2f}x |'.format(
                 values['tfn_params'] / values['lmf_params'], values['lmf_train'] / values['tfn_train'],
                 values['lmf_infer'] / values['tfn_infer'])]
    return lines, (cpu_line, setting_line)


def rank_points(results, ranks, metric):
    """(ranks, means, stds) of the rank study's finished runs."""
    xs, means, stds = [], [], []
    for rank in ranks:
        runs = results.get((RANK_TASK, rank), [])
        if runs:
            values = np.asarray([r[metric] for r in runs])
            xs.append(rank)
            means.append(values.mean())
            stds.append(values.std(ddof=1) if len(values) > 1 else 0.0)
    return xs, means, stds


def draw_rank_figure(results, ranks, path, synthetic, seeds):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, (metric, title) in zip(axes, (('mae', 'test MAE (lower is better)'), ('corr', 'test correlation'))):
        xs, means, stds = rank_points(results, ranks, metric)
        ax.errorbar(xs, means, yerr=stds, fmt='o-', capsize=4)
        ax.axhline(PAPER['mosi'][metric], color='tab:red', linestyle='--', label='paper (real data), rank 4')
        ax.set_xscale('log', base=2)
        ax.set_xticks(list(ranks))
        ax.set_xticklabels([str(r) for r in ranks])
        ax.set_xlabel('rank')
        ax.set_title(title)
        ax.legend()
    fig.suptitle('CMU-MOSI{}: mean ± std over {} seeds per rank'.format(' (SYNTHETIC data)' if synthetic else '', seeds))
    fig.tight_layout()
    with utils.atomic_write(path, 'wb') as f:
        fig.savefig(f, format='png', dpi=100)
    plt.close(fig)


def command_of(seeds, ranks, quick):
    """The command whose settings a RESULTS.md shows (without --only, --out: those choose runs, not settings)."""
    words = ['python reproduce.py'] + (['--quick'] if quick else [])
    if seeds != (2 if quick else 5):
        words.append('--seeds {}'.format(seeds))
    if list(ranks) != list(RANKS):
        words.append('--ranks {}'.format(','.join(str(r) for r in ranks)))
    return ' '.join(words)


def write_results(out, seeds, ranks, quick, shas):
    """RESULTS.md (and the rank figure) from every recorded run that fits these settings."""
    command = command_of(seeds, ranks, quick)
    every = plan(PARTS, seeds, ranks, quick)
    results, meta = collect(out, every, shas)
    ranks_of = {t: task_hparams(t, quick)['rank'] for t in TASKS}
    synthetic_any = any(True in m['synthetic'] for m in meta.values())
    text = ['# Results of `{}`'.format(command), '']
    if quick:
        text += ['**--quick: tiny SYNTHETIC files and {} epochs. These numbers only show that the chain works; they '
                 'measure nothing.**'.format(QUICK_EPOCHS), '']
    elif synthetic_any:
        text += ['**Rows marked SYNTHETIC were trained on the generated sample files (the real datasets were not '
                 'present): they are not results on the datasets and cannot be compared with the paper.**', '']
    text += ['Each "this repository" cell: mean ± std (n-1) over seeds, then (min–max). The seeds are each task\'s '
             'published seed + 0, 1, ..., its hyperparameters the published ones (`hparams.py`); accuracies and F1 '
             'in percent. Each number is read from a run log under `runs/<task>/rank_<r>/seed_<s>/`.', '']
    text += ['## Table 1: CMU-MOSI and POM', '']
    for dataset in ('mosi', 'pom'):
        lines, notes = regression_table(dataset, results, meta, ranks_of[dataset])
        text += lines + [''] + (['Incomplete: ' + '; '.join(notes) + '.', ''] if notes else [])
    text += ['CMU-MOSI as in the authors\' `train_mosi.py`: Acc-2 is sign agreement with 0 counted positive, F1 its '
             'weighted F1, Acc-7 the rounded prediction equal to the rounded label (not clipped). POM: means over the '
             'traits of MAE, Pearson correlation and rounded accuracy; the run logs hold the per-trait table.', '']
    text += ['## Table 2: IEMOCAP, F1 per emotion', '']
    lines, notes = iemocap_table(results, meta, ranks_of)
    text += lines + [''] + (['Incomplete: ' + '; '.join(notes) + '.', ''] if notes else [])
    text += ['## Table 3: efficiency, LMF against TFN', '']
    lines, machine = efficiency_table(out)
    text += lines + ['']
    if machine:
        text += ['Measured in `runs/efficiency/efficiency.txt`. {} {} The paper measured on a GPU; compare the '
                 'ratios, not the speeds. Its parameter counts (about 1.1 M and 12.5 M) are of a larger LMF than this '
                 'setting gives; TFN here has post-fusion width 128 (`benchmark.fusion_model`).'.format(machine[0] + '.', machine[1] + '.'), '']
    text += ['## Rank study: CMU-MOSI against rank', '']
    xs, _, _ = rank_points(results, ranks, 'mae')
    if xs:
        draw_rank_figure(results, ranks, os.path.join(out, FIGURE), synthetic_any, seeds)
        text += ['![CMU-MOSI test MAE and correlation against rank]({})'.format(FIGURE), '',
                 '| rank | runs | MAE | Corr |', '|---|---|---|---|']
        for rank in ranks:
            runs = results.get((RANK_TASK, rank), [])
            if runs:
                text.append('| {} | {} | {} | {} |'.format(rank, len(runs), summary([r['mae'] for r in runs], False),
                                                          summary([r['corr'] for r in runs], False)))
        text += ['', 'Hyperparameters: CMU-MOSI\'s published ones with only the rank changed.', '']
    else:
        text += ['Not run yet: `python reproduce.py --only rank`.', '']
    seconds = sum(m['seconds'] for m in meta.values())
    text += ['Training time of the recorded runs: {:.1f} min in total.'.format(seconds / 60)]
    path = os.path.join(out, 'RESULTS.md')
    with utils.atomic_write(path) as f:
        f.write('\n'.join(text) + '\n')
    return path


# ---------------------------------------------------------------- main

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, default=None, help='seeds per task and rank (default 5; --quick 2)')
    parser.add_argument('--ranks', type=str, default=','.join(str(r) for r in RANKS),
                        help='ranks of the rank study (default 1,2,4,8,16,32,64)')
    parser.add_argument('--only', type=str, default=None,
                        help='comma-separated parts: iemocap or happy,sad,angry,neutral; mosi; pom; rank; efficiency')
    parser.add_argument('--quick', action='store_true',
                        help='tiny SYNTHETIC data, {} epochs, 2 seeds: seconds, to check the chain'.format(QUICK_EPOCHS))
    parser.add_argument('--out', type=str, default=None,
                        help='folder for RESULTS.md, {} and runs/ (default results; --quick results_quick)'.format(FIGURE))
    parser.add_argument('--tables_only', action='store_true',
                        help='train nothing: rewrite RESULTS.md and the figure from the recorded runs')
    utils.add_device_args(parser)
    return parser.parse_args(argv)


def parse_ranks(text):
    try:
        ranks = sorted({int(r) for r in text.split(',') if r.strip()})
    except ValueError:
        raise utils.UserError('--ranks: expected comma-separated integers, got {!r}'.format(text))
    if not ranks or ranks[0] < 1:
        raise utils.UserError('--ranks: every rank must be >= 1, got {!r}'.format(text))
    return ranks


def main(argv=None):
    args = parse_args(argv)
    seeds = args.seeds if args.seeds is not None else (2 if args.quick else 5)
    if seeds < 1:
        raise utils.UserError('--seeds must be >= 1, got {}'.format(seeds))
    ranks = parse_ranks(args.ranks)
    parts = parse_only(args.only)
    out = args.out or ('results_quick' if args.quick else 'results')
    if os.path.exists(out) and not os.path.isdir(out):
        raise utils.UserError('--out {} is a file, not a folder'.format(out))
    if args.tables_only:
        path = write_results(out, seeds, ranks, args.quick, {})
        print('wrote {}'.format(path))
        return
    utils.setup_device(args.device, args.cpu_threads)
    os.makedirs(out, exist_ok=True)
    paths = data_paths(parts, args.quick, out)
    shas = {d: fingerprint(p) for d, p in paths.items()}
    runs = plan(parts, seeds, ranks, args.quick)
    todo = [r for r in runs if not finished(record_of(run_dir(out, r[0], r[1], r[2])), r[3], shas[dataset_of(r[0])])]
    effort = efficiency_setting(args.quick)
    eff_dir = os.path.join(out, 'runs', 'efficiency')
    eff_record = record_of(eff_dir)
    measure = 'efficiency' in parts and (eff_record is None or eff_record['setting'] != effort)
    for dataset, path in sorted(paths.items()):
        print('{}: {}{}'.format(dataset, path, ' (SYNTHETIC)' if is_synthetic(path, dataset) else ''))
    print('{} training runs: {} recorded, {} to train{}'.format(
        len(runs), len(runs) - len(todo), len(todo), '; then the efficiency measurement' if measure else ''))
    seconds_by_task = {}
    for task, rank, seed, hp in runs:
        record = record_of(run_dir(out, task, rank, seed))
        if record is not None and record['setting']['hparams'] == {k: hp[k] for k in sorted(hp)}:
            seconds_by_task.setdefault(task, []).append(record['seconds'])
    loader = Loader()
    try:
        for i, (task, rank, seed, hp) in enumerate(todo):
            directory = run_dir(out, task, rank, seed)
            record = train_run(task, hp, paths[hp['dataset']], directory, loader)
            seconds_by_task.setdefault(task, []).append(record['seconds'])
            left = [t for t, _, _, _ in todo[i + 1:]]
            print('[{}/{}] {} rank {} seed {}: {} in {:.1f} s | {} left, {}'.format(
                len(runs) - len(todo) + i + 1, len(runs), task, rank, seed, headline(task, record, directory),
                record['seconds'], len(left), minutes(eta(left, seconds_by_task))), flush=True)
        if measure:
            print('measuring LMF against TFN ...', flush=True)
            measure_efficiency(eff_dir, effort, args.cpu_threads or utils.default_cpu_threads())
    except KeyboardInterrupt:
        done = sum(finished(record_of(run_dir(out, t, r, s)), hp, shas[dataset_of(t)]) for t, r, s, hp in runs)
        print('\ninterrupted: {} of {} runs are recorded in {}; rerun the same command to train the other {}'.format(
            done, len(runs), os.path.join(out, 'runs'), len(runs) - done), flush=True)
        raise
    path = write_results(out, seeds, ranks, args.quick, shas)
    print('wrote {}'.format(path))


if __name__ == '__main__':
    utils.run_cli(main)
