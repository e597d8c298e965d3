"""Reproduce the paper's Tables 1-3 and its rank study, each task under several seeds.

    python reproduce.py                     # every task x 5 seeds, ranks 1..64, efficiency -> results/RESULTS.md
    python reproduce.py --quick             # tiny SYNTHETIC files, 2 seeds, 10 epochs: checks the whole chain in seconds
    python reproduce.py --only mosi,rank    # some parts; runs recorded earlier stay in the tables
    python reproduce.py --tables_only       # rewrite RESULTS.md and the figure from the recorded runs

Parts: the IEMOCAP emotions (happy, sad, angry, neutral; `iemocap` is all four), mosi, pom, rank (CMU-MOSI
at every --ranks value, as the paper's rank study), efficiency (LMF against TFN at the paper's setting; `paper` is
these five), robustness (lmf/robustness.py), and
MMSA's feature files (`mmsa` is all of them; `mmsa-mosi`, `mmsa-mosei`, `mmsa-sims`, `mmsa-simsv2` one each),
each trained under --recipe mmsa and under the default, beside MMSA's published LMF row.
Each dataset's real file is used when present (data/iemocap.pkl, data/mosi.pkl, data/pom.pkl,
data/MOSI/Processed/unaligned_50.pkl, ...), else its SYNTHETIC sample, and the tables say which. Every run trains
with the published hyperparameters and seed s = table seed + i (as train.py --seeds) into
<out>/runs/<task>/<data file>-<sha256 prefix>/rank_<r>/seed_<s>/: the log train_<name>.txt, the checkpoint
<name>.pdparams and, written last, the run record train_<name>.json (lmf/records.py). A rerun skips a run with
all three whose record has the planned settings (after Ctrl-C or a kill, the same command finishes the rest)
and retrains one whose settings changed; runs on another data file keep their own folder. Every number in
RESULTS.md is read from records: the runs', the robustness study's robustness.json beside them and
runs/efficiency/efficiency.json; the logs are for people. One reproduce.py at a time per --out (a lock file
says which process holds it). Runs train side by side (--jobs; lmf/jobs.py): one per core by default, each seeding
itself, so the numbers are those of --jobs 1 at the same --cpu_threads.
"""
import argparse
import collections
import contextlib
import glob
import os
import sys
import time

import numpy as np

import safe_io
import utils
from lmf import engine, hparams, metrics, records, robustness, speed
from lmf import jobs as lmf_jobs
from lmf import runs as lmf_runs

EMOTIONS = hparams.EMOTIONS
# A task of MMSA's files: 'mmsa-<dataset>-<recipe>', trained on that dataset's MMSA file.
MMSA_TASKS = tuple('mmsa-{}-{}'.format(d, r) for d in hparams.MMSA_DATASETS for r in hparams.RECIPES)
# The robustness study (robustness.py): its LMF runs are the tasks robustness.MISSING_STUDY names; it adds TFN and
# LMF on each subset of the modalities as tasks '<task>~tfn', '<task>~lmf-<modalities>', and LMF and TFN trained
# with missing data as '<task>~lmf+missing', '<task>~tfn+missing'.
STUDY_TASKS = tuple(t for base in robustness.MISSING_STUDY for t in robustness.study_tasks(base))
TASKS = EMOTIONS + ('mosi', 'pom') + MMSA_TASKS + STUDY_TASKS
PARTS = TASKS + ('rank', 'efficiency', 'robustness')
PAPER_PARTS = EMOTIONS + ('mosi', 'pom', 'rank', 'efficiency')  # --only paper: the paper's Tables 1-3, rank study
MMSA_SOURCES = tuple('mmsa-' + d for d in hparams.MMSA_DATASETS)  # the --only names of MMSA's files
RANKS = (1, 2, 4, 8, 16, 32, 64)
RANK_TASK = 'mosi'  # the paper studies rank on CMU-MOSI (section 5.4)
QUICK_SIZES = (('train', 64), ('valid', 24), ('test', 32))
QUICK_EPOCHS = 10
QUICK_STEPS = (8, 8, 8)  # audio, vision, text time steps of the --quick MMSA files
FIGURE = 'rank.png'
EFFICIENCY = os.path.join('runs', 'efficiency', 'efficiency.json')  # {format, seconds, setting, values}
EFFICIENCY_FORMAT = 'lmf-efficiency-v1'
EFFICIENCY_SIZES = {True: dict(batch=8, steps=2, repeats=1), False: dict(batch=64, steps=20, repeats=3)}  # by --quick
# What a file decides of a run's settings (hparams.with_data): a run record holds the planned settings plus these.
DATA_DECIDED = ('output_dim', 'seq_len')

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
# MMSA's published LMF rows (results/result-stat.md; x100, mean over seeds 1111-1115, unaligned files).
MMSA_PUBLISHED = {
    'mosi': dict(Has0_acc_2=77.90, Has0_F1_score=77.80, Non0_acc_2=79.18, Non0_F1_score=79.15, Mult_acc_5=38.13,
                 Mult_acc_7=33.82, MAE=95.04, Corr=65.10),
    'mosei': dict(Has0_acc_2=80.54, Has0_F1_score=80.94, Non0_acc_2=83.48, Non0_F1_score=83.36, Mult_acc_5=52.99,
                  Mult_acc_7=51.59, MAE=57.57, Corr=71.69),
    'sims': dict(Mult_acc_2=77.77, Mult_acc_3=64.68, Mult_acc_5=40.53, F1_score=77.88, MAE=44.12, Corr=57.59),
    'simsv2': dict(Mult_acc_2=74.18, Mult_acc_3=64.90, Mult_acc_5=47.79, F1_score=73.88, MAE=36.72, Corr=55.69),
}
TITLES = {'mosi': 'CMU-MOSI', 'pom': 'POM'}
MMSA_TITLES = {'mosi': 'CMU-MOSI (MMSA)', 'mosei': 'CMU-MOSEI (MMSA)', 'sims': 'CH-SIMS (MMSA)',
               'simsv2': 'CH-SIMS v2 (MMSA)'}
MMSA_ROWS = (('mmsa', "--recipe mmsa (MMSA's training, both defects)"), ('ours', 'default (defects fixed)'))


Task = collections.namedtuple('Task', 'base dataset source emotion name metric_set')


def describe(task):
    """What a task is: its base task ('happy~tfn' -> 'happy', robustness.split_task), --dataset, data file
    ('iemocap', 'mosi', 'pom' or 'mmsa-<dataset>'), emotion (IEMOCAP), model name (of its files: train_<name>.txt,
    train_<name>.json, <name>.pdparams) and metric set."""
    base = robustness.split_task(task)[0]
    mmsa = base in MMSA_TASKS
    dataset = base.split('-')[1] if mmsa else 'iemocap' if base in EMOTIONS else base
    emotion = base if base in EMOTIONS else None
    return Task(base, dataset, base.rsplit('-', 1)[0] if mmsa else dataset, emotion,
                hparams.model_name(dataset, emotion), metrics.metric_set(dataset, 'mmsa' if mmsa else 'authors'))


INFO = {task: describe(task) for task in TASKS}


# ---------------------------------------------------------------- what to run

def parse_only(text):
    if text is None:
        return list(PARTS)
    parts = []
    for item in (t.strip() for t in text.split(',') if t.strip()):
        if item == 'iemocap':
            parts.extend(EMOTIONS)
        elif item == 'paper':
            parts.extend(PAPER_PARTS)
        elif item == 'mmsa':
            parts.extend(MMSA_TASKS)
        elif item in MMSA_SOURCES:
            parts.extend(t for t in MMSA_TASKS if INFO[t].source == item)
        elif item == 'robustness':  # the study's LMF tasks, TFN and the subsets, then their evaluation
            parts.extend(robustness.MISSING_STUDY + STUDY_TASKS + ('robustness',))
        elif item in PARTS:
            parts.append(item)
        else:
            raise utils.UserError('--only: unknown part {!r}; choose from paper, iemocap, mmsa, {}, {}'.format(
                item, ', '.join(MMSA_SOURCES), ', '.join(p for p in PARTS if p not in MMSA_TASKS + STUDY_TASKS)))
    if not parts:
        raise utils.UserError('--only: no part given')
    return [p for p in PARTS if p in parts]


def task_hparams(task, quick):
    """A task's settings, resolved as train.py resolves them (hparams.resolve) before its file is read."""
    base, model, modalities = robustness.split_task(task)
    recipe = base.rsplit('-', 1)[1] if base in MMSA_TASKS else None
    flags = dict(epochs=QUICK_EPOCHS, patience=QUICK_EPOCHS) if quick else {}
    if robustness.trained_missing(task):
        flags['train_missing'] = robustness.TRAIN_MISSING
    return hparams.resolve(INFO[task].dataset, INFO[task].emotion, layout=recipe and 'mmsa', recipe=recipe,
                           model=model, modalities=modalities, flags=flags)


def plan(parts, seeds, ranks, quick):
    """The training runs of `parts`: a list of (task, rank, seed, settings), in the order they train (the rank
    study right after CMU-MOSI's own runs, which it shares at the published rank). TFN has no rank: rank 0."""
    runs = []
    for task in TASKS:
        study = task == RANK_TASK and 'rank' in parts
        if task not in parts and not study:
            continue
        if task != INFO[task].base and INFO[task].base not in robustness.study_bases(quick):
            continue  # --quick studies robustness on one file
        hp = task_hparams(task, quick)
        task_ranks = [hp.get('rank', 0)] if task in parts else []
        if study:
            task_ranks += [r for r in ranks if r not in task_ranks]
        for rank in task_ranks:
            for seed in engine.seed_list(hp['seed'], seeds):
                runs.append((task, rank, seed, dict(hp, rank=rank, seed=seed)))
    return runs


def run_dir(out, task, data_id, rank, seed):
    """Runs on different data files never share a folder: switching files keeps what the other trained."""
    return os.path.join(out, 'runs', task, data_id, 'rank_{}'.format(rank), 'seed_{}'.format(seed))


def locate(out, runs, data_ids):
    """plan()'s runs as (task, rank, seed, settings, folder); data_ids: {source: the folder name of its file}."""
    return [(task, rank, seed, hp, run_dir(out, task, data_ids[INFO[task].source], rank, seed))
            for task, rank, seed, hp in runs]


# ---------------------------------------------------------------- data

def data_paths(sources, quick, out):
    """{source: data file}: the real file where present, else the sample (generated on first use); --quick: tiny
    SYNTHETIC files under <out>/data (made once; the same bytes every time)."""
    import data
    from data import common, mmsa
    if not quick:
        return {s: mmsa.default_path(s.split('-', 1)[1]) if s in MMSA_SOURCES else engine.default_data_path(None, s)
                for s in sources}
    paths = {}
    for source in sources:
        path = os.path.join(out, 'data', '{}_quick.pkl'.format(source))
        if not os.path.isfile(path):
            with open(os.devnull, 'w') as null, contextlib.redirect_stdout(null):
                if source in MMSA_SOURCES:  # short time axes too: the text LSTM dominates the time
                    dataset = source.split('-', 1)[1]
                    sample = mmsa.make_sample_data(dataset, sizes=QUICK_SIZES, steps=QUICK_STEPS)
                    common.write_pickle_atomic(path, sample, mmsa.NAMES[dataset], protocol=4)
                else:
                    data.module(source).write_sample_data(path, sizes=QUICK_SIZES)
        paths[source] = path
    return paths


def data_id(path):
    """The folder name of a data file's runs: its name and the start of its sha256."""
    return '{}-{}'.format(os.path.splitext(os.path.basename(path))[0], records.sha256(path)[:10])


def recorded_data_ids(out):
    """{source: the data folder with the most recorded runs (ties: the newest)}: --tables_only's tables, and those
    of the parts a training command leaves out."""
    counts = {}
    for record in glob.glob(os.path.join(out, 'runs', '*', '*', 'rank_*', 'seed_*', 'train_*.json')):
        parts = record.split(os.sep)
        task, folder = parts[-5], parts[-4]
        if task in TASKS:
            count, newest = counts.get((INFO[task].source, folder), (0, 0.0))
            counts[INFO[task].source, folder] = (count + 1, max(newest, os.path.getmtime(record)))
    sources = dict.fromkeys(source for source, _ in counts)
    return {s: max((f for source, f in counts if source == s), key=lambda f: counts[s, f]) for s in sources}


# ---------------------------------------------------------------- runs

def record_of(directory, task):
    """The run record engine.train_and_test wrote beside the run's log, or None."""
    return records.read(os.path.join(directory, 'train_{}.json'.format(INFO[task].name)))


def recorded(record, hp):
    """Whether a run record is of the planned settings hp: its settings are hp's, plus what the file decided
    (DATA_DECIDED) where hp, planned before the file is read, has no value."""
    return record is not None and {k: v for k, v in record['settings'].items()
                                   if k in hp or k not in DATA_DECIDED} == hp


def trained(run):
    """The run is recorded with its planned settings, beside its log and checkpoint: a rerun skips it."""
    task, _, _, hp, directory = run
    files = ('train_{}.txt'.format(INFO[task].name), INFO[task].name + '.pdparams')
    return recorded(record_of(directory, task), hp) and all(os.path.isfile(os.path.join(directory, f)) for f in files)


@contextlib.contextmanager
def exclusive(out):
    """Hold <out>/.lock while training or writing: a second reproduce.py on the same --out is refused."""
    import fcntl
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, '.lock'), 'a+') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.seek(0)
            raise utils.UserError('--out {} is in use by another reproduce.py (pid {}); wait for it or use '
                                  'another --out'.format(out, lock.read().strip() or '?'))
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        yield


def studied(run, quick):
    """The records the robustness study writes beside the run once finished (robustness.evaluations): for an LMF
    or TFN run on all three modalities of a study file, at the rank its tables show (not CMU-MOSI's other ranks:
    the rank study's); () for any other run."""
    task, rank = run[:2]
    if INFO[task].base not in robustness.study_bases(quick) or rank != task_hparams(task, quick).get('rank', 0):
        return ()
    return robustness.evaluations(task)


def unevaluated(runs, quick):
    """[(run, the study's records it lacks)] of the finished runs the robustness study evaluates."""
    lacking = []
    for run in runs:
        files = studied(run, quick)
        if files and (record_of(run[4], run[0]) or {}).get('status') == 'finished':
            missing = tuple(f for f in files if robustness.read_results(run[4], f) is None)
            if missing:
                lacking.append((run, missing))
    return lacking


def print_evaluated(run, files, seconds, number, count):
    print('[robustness {}/{}] {} seed {}: {} conditions in {:.1f} s'.format(
        number, count, run[0], run[2], sum(len(robustness.record_conditions(f)) for f in files), seconds),
        flush=True)


# ---------------------------------------------------------------- efficiency

def efficiency_table(out, quick):
    """Table 3 and the paragraph under it, from the efficiency record if measured at this command's sizes."""
    record = records.read(os.path.join(out, EFFICIENCY), EFFICIENCY_FORMAT)
    if record is None or any(record['setting'].get(k) != v for k, v in EFFICIENCY_SIZES[quick].items()):
        return ['Not measured at these sizes yet: `{} --only efficiency`.'.format(
            'python reproduce.py --quick' if quick else 'python reproduce.py'), '']
    setting, device = record['setting'], record['setting']['device'].upper()
    lines = ['| model | parameters | training samples/s | inference samples/s |', '|---|---|---|---|']
    for who, v, where, params, rate in (('paper', PAPER['efficiency'], 'GPU', lambda n: '{:.1f} M'.format(n / 1e6),
                                         '{:.2f}'), ('this run', record['values'], device, '{:,.0f}'.format, '{:.0f}')):
        lines += ['| {}, {} ({}) | {} | {} | {} |'.format(who, m.upper(), where, params(v[m + '_params']),
                                                         rate.format(v[m + '_train']), rate.format(v[m + '_infer']))
                  for m in ('tfn', 'lmf')]
        lines.append('| {}, LMF / TFN | 1/{:.1f} | {:.2f}x | {:.2f}x |'.format(
            who, v['tfn_params'] / v['lmf_params'], v['lmf_train'] / v['tfn_train'], v['lmf_infer'] / v['tfn_infer']))
    return lines + ['', 'Measured in `{}`. {}: {cpu} ({cores} cores), Paddle {paddle}, {threads} CPU math threads. '
                    "Setting: the paper's (audio/video hidden 32, text out 64, rank 4, output 1), batch {batch}, "
                    '{steps} steps, median of {repeats} alternating rounds. The paper measured on a GPU; compare the '
                    "ratios, not the speeds. The paper's parameter counts (about 1.1 M and 12.5 M) do not follow from "
                    "the setting it states; ours are of this repository's models at that setting (TFN with post-fusion "
                    'width 128, `speed.fusion_model`).'.format(EFFICIENCY, device, **setting), '']


# ---------------------------------------------------------------- progress

def eta(remaining, seconds_by_task, jobs=1):
    """Seconds left: each remaining run at its task's mean recorded time (else the mean of all), `jobs` at a
    time."""
    every = [s for times in seconds_by_task.values() for s in times]
    if not every:
        return None
    overall = sum(every) / len(every)
    return sum(np.mean(seconds_by_task[task]) if seconds_by_task.get(task) else overall for task in remaining) / jobs


def minutes(seconds):
    if seconds is None:
        return 'estimating after the first run'
    return 'about {} left'.format('{:.0f} s'.format(seconds) if seconds < 90 else '{:.0f} min'.format(seconds / 60))


def headline(task, record):
    """The run's first table column ('F1 81.2', 'MAE 1.344'), or its status if it did not finish."""
    if record['status'] != 'finished':
        return record['status']
    key, title, percent = metrics.columns(INFO[task].metric_set)[0]
    return '{} {}'.format(title, published(record['metrics'][key] * (100 if percent else 1), percent))


# ---------------------------------------------------------------- tables

def collect(out, runs, data_ids):
    """From the records of `runs` on the data folders data_ids[source]: ({(task, rank): [test metrics of each
    finished run]}, {(task, rank): dict(planned, diverged, synthetic: {bool}, seconds, robustness and missing: [the
    {condition: score} of each finished run evaluated by the study, from its two records])}). A run recorded with
    other settings counts as not run."""
    results, meta = {}, {}
    for task, rank, seed, hp in runs:
        entry = meta.setdefault((task, rank), dict(planned=0, diverged=0, synthetic=set(), seconds=0.0, robustness=[],
                                                   missing=[]))
        entry['planned'] += 1
        if INFO[task].source not in data_ids:
            continue
        directory = run_dir(out, task, data_ids[INFO[task].source], rank, seed)
        record = record_of(directory, task)
        if not recorded(record, hp):
            continue
        entry['seconds'] += record['seconds']
        entry['synthetic'].add(record['data']['synthetic'])
        if record['status'] != 'finished':
            entry['diverged'] += 1
            continue
        results.setdefault((task, rank), []).append(record['metrics'])
        for key, file in (('robustness', robustness.RESULT_FILE), ('missing', robustness.MISSING_FILE)):
            scores = robustness.read_results(directory, file)
            if scores:
                entry[key].append(scores)
    return results, meta


def synthetic(meta, keys):
    return any(True in meta[k]['synthetic'] for k in keys)


def summary(values, percent, digits=None):
    """'mean ± std (min–max)' of a list (std with n-1: the spread of the seeds); one value: 'x (1 seed)'."""
    values = np.asarray(values, dtype=np.float64) * (100.0 if percent else 1.0)
    digits = digits if digits is not None else (1 if percent else 3)
    if len(values) == 1:
        return '{:.{d}f} (1 seed)'.format(values[0], d=digits)
    low, high = values.min(), values.max()
    return '{m:.{d}f} ± {s:.{d}f} ({lo:.{d}f}{to}{hi:.{d}f})'.format(
        m=values.mean(), s=values.std(ddof=1), lo=low, hi=high, d=digits, to=' to ' if low < 0 or high < 0 else '–')


def published(value, percent):
    return '{:.1f}'.format(value) if percent else '{:.3f}'.format(value)


def status_note(key, meta, results, name=None):
    """Why some seeds of key = (task, rank) have no numbers (diverged, not trained yet); nothing when all have
    numbers or none was trained (the cell says 'not run')."""
    entry, have = meta[key], len(results.get(key, []))
    if have == entry['planned'] or not (have or entry['diverged']):
        return []
    missing = entry['planned'] - have - entry['diverged']
    why = [('{} diverged'.format(entry['diverged']), entry['diverged']), ('{} not run yet'.format(missing), missing)]
    return ['{}: {} of {} seeds have results ({})'.format(
        name or key[0], have, entry['planned'], ', '.join(text for text, count in why if count))]


def repository_label(on_synthetic, counts):
    """The row label of our numbers: the data they are on and the seeds per cell."""
    counts = sorted(set(counts))
    return 'this repository{}: mean ± std (min–max), {} seed{}'.format(
        ', SYNTHETIC data' if on_synthetic else '', '/'.join(str(c) for c in counts), '' if counts == [1] else 's')


def table(head, columns, references, ours, results, meta, digits=None):
    """A table's lines, then its notes. head and columns: the header's cells; references: (label, cells) rows of
    published numbers; ours: (label prefix, [(key, metric, percent) per column]) rows, key = (task, rank)."""
    lines = ['| {} | {} |'.format(head, ' | '.join(columns)), '|---|' + '---|' * len(columns)]
    lines += ['| {} | {} |'.format(label, ' | '.join(cells)) for label, cells in references]
    notes = []
    for prefix, cells in ours:
        keys = list(dict.fromkeys(key for key, _, _ in cells))
        lines.append('| {}{} | {} |'.format(prefix, repository_label(
            synthetic(meta, keys), [len(results.get(k, [])) for k in keys]), ' | '.join(
            summary([r[m] for r in results[k]], p, digits) if results.get(k) else 'not run' for k, m, p in cells)))
        notes += [n for k in keys for n in status_note(k, meta, results)]
    return lines + [''] + incomplete(notes)


def study_not_run(quick):
    """The line a study section shows when none of its runs is recorded."""
    return ('Not part of `--quick`: `python reproduce.py --only robustness`.' if quick
            else 'Not run yet: `python reproduce.py --only robustness`.')


def robustness_section(base, out, results, meta, key_of, seeds, quick):
    """RESULTS.md's lines for one study file: the robustness records of LMF's and TFN's runs, the subsets'
    clean scores from their run records."""
    metric = robustness.MAIN_METRIC[INFO[base].metric_set]
    keys = [key_of[t] for t in (base,) + robustness.study_tasks(base) if key_of[t] in meta]
    runs = {t: meta[t, r]['robustness'] if robustness.perturbed(t) else
            [{'clean': values[metric]} for values in results.get((t, r), [])] for t, r in keys}
    return robustness.section(base, runs, summary, os.path.join(out, 'robustness_{}.png'.format(base)),
                              synthetic(meta, keys), seeds, study_not_run(quick),
                              robustness.score_name(INFO[base].metric_set))


def missing_section(base, out, meta, key_of, seeds, quick):
    """RESULTS.md's lines for one file of the random-missing study, from the MISSING_FILE records of its runs."""
    keys = [key_of[t] for t in (base,) + robustness.study_tasks(base) if robustness.MISSING_FILE in
            robustness.evaluations(t) and key_of[t] in meta]
    return robustness.missing_section(base, {t: meta[t, r]['missing'] for t, r in keys}, summary,
                                      os.path.join(out, 'missing_{}.png'.format(base)), synthetic(meta, keys), seeds,
                                      study_not_run(quick), robustness.score_name(INFO[base].metric_set))


def rank_points(results, ranks, metric):
    """(ranks, means, stds) of the rank study's runs with results (std 0 for a single seed)."""
    xs, means, stds = [], [], []
    for rank in ranks:
        runs = results.get((RANK_TASK, rank), [])
        if runs:
            values = np.asarray([r[metric] for r in runs])
            xs.append(rank)
            means.append(values.mean())
            stds.append(values.std(ddof=1) if len(values) > 1 else 0.0)
    return xs, means, stds


def draw_rank_figure(results, ranks, path, on_synthetic, seeds):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, (metric, title) in zip(axes, (('mae', 'test MAE (lower is better)'), ('corr', 'test correlation'))):
        xs, means, stds = rank_points(results, ranks, metric)
        ax.errorbar(xs, means, yerr=stds if seeds > 1 else None, fmt='o-', capsize=4)
        if not on_synthetic:  # the paper's number says nothing about synthetic data
            ax.axhline(PAPER['mosi'][metric], color='tab:red', linestyle='--', label='paper, rank 4')
            ax.legend()
        ax.set_xscale('log', base=2)
        ax.set_xticks(list(ranks))
        ax.set_xticklabels([str(r) for r in ranks])
        ax.set_xlabel('rank')
        ax.set_title(title)
    fig.suptitle('CMU-MOSI{}: {} per rank'.format(' (SYNTHETIC data)' if on_synthetic else '',
                                                  'mean ± std over {} seeds'.format(seeds) if seeds > 1 else '1 seed'))
    fig.tight_layout()
    with safe_io.atomic_write(path, 'wb') as f:
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


def incomplete(notes):
    return ['Incomplete: ' + '; '.join(notes) + '.', ''] if notes else []


def write_results(out, seeds, ranks, quick, data_ids):
    """RESULTS.md (and the figures) from the records of every planned run of these settings on data_ids[source]."""
    results, meta = collect(out, plan(PARTS, seeds, ranks, quick), data_ids)
    key_of = {t: (t, task_hparams(t, quick).get('rank', 0)) for t in TASKS}  # a table's runs: the published rank
    rank_keys = [(RANK_TASK, r) for r in ranks]
    text = ['# Results of `{}`'.format(command_of(seeds, ranks, quick)), '']
    if quick:
        text += ['**--quick: tiny SYNTHETIC files and {} epochs. These numbers only show that the chain works; they '
                 'measure nothing.**'.format(QUICK_EPOCHS), '']
    elif synthetic(meta, meta):
        text += ['**Numbers marked SYNTHETIC were trained on the generated sample files (the real datasets were not '
                 'present): they are not results on the datasets and cannot be compared with the paper.**', '']
    text += ['Each "this repository" cell: mean ± std (n-1) over seeds, then (min–max). The seeds are each task\'s '
             'published seed + 0, 1, ...; accuracies and F1 in percent. Hyperparameters (`hparams.py`): IEMOCAP\'s '
             'are the earlier Paddle port\'s per emotion; CMU-MOSI\'s hidden sizes and rank are the paper\'s and '
             'the rest our choice from the authors\' grid (they lost theirs); POM trains one model for all 16 traits '
             'with the authors\' Confidence row (they published a row per trait). Each number is read from a run '
             'record (`train_<name>.json`, beside its log) under '
             '`runs/<task>/<data file>-<sha256 prefix>/rank_<r>/seed_<s>/`.', '']
    text += ['## Table 1: CMU-MOSI and POM', '']
    for dataset in ('mosi', 'pom'):
        cols = metrics.columns(dataset)
        text += table(TITLES[dataset], [title for _, title, _ in cols],
                      [('paper (LMF)', [published(PAPER[dataset][k], p) for k, _, p in cols])],
                      [('', [(key_of[dataset], k, p) for k, _, p in cols])], results, meta)
    text += ['CMU-MOSI as in the authors\' `train_mosi.py`: Acc-2 is sign agreement with 0 counted positive, F1 its '
             'weighted F1, Acc-7 the rounded prediction equal to the rounded label (not clipped). POM: means over the '
             'traits of MAE, Pearson correlation and rounded accuracy; the run logs hold the per-trait table.', '']
    text += ['## Table 2: IEMOCAP, F1 per emotion', '']
    references = (('paper (LMF)', PAPER), ('earlier Paddle port', EARLIER_PORT))
    text += table('IEMOCAP F1', EMOTIONS, [(label, [published(numbers['iemocap'][e], True) for e in EMOTIONS])
                                           for label, numbers in references],
                  [('', [(key_of[e], 'f1', True) for e in EMOTIONS])], results, meta)
    text += ['## Table 3: efficiency, LMF against TFN', ''] + efficiency_table(out, quick)
    text += ['## Rank study: CMU-MOSI against rank', '']
    xs, _, _ = rank_points(results, ranks, 'mae')
    on_synthetic = synthetic(meta, rank_keys)
    if xs:
        draw_rank_figure(results, ranks, os.path.join(out, FIGURE), on_synthetic, seeds)
        counts = [len(results.get(k, [])) for k in rank_keys if results.get(k)]
        text += ['![CMU-MOSI test MAE and correlation against rank]({})'.format(FIGURE), '',
                 'CMU-MOSI test scores, {}:'.format(repository_label(on_synthetic, counts)), '',
                 '| rank | seeds | MAE | Corr |', '|---|---|---|---|']
        for rank in ranks:
            runs = results.get((RANK_TASK, rank), [])
            cells = [summary([r[k] for r in runs], False) if runs else 'no results' for k in ('mae', 'corr')]
            text.append('| {} | {} | {} | {} |'.format(rank, len(runs), *cells))
        text += [''] + incomplete([n for k in rank_keys for n in status_note(k, meta, results, 'rank {}'.format(k[1]))])
        text += ['Hyperparameters: CMU-MOSI\'s with only the rank changed.', '']
    else:
        text += ['Not run yet: `python reproduce.py{} --only rank`.'.format(' --quick' if quick else ''), '']
    text += ["## MMSA's feature files: LMF against MMSA's published table", '',
             "Each dataset's MMSA file (`--dataset mosi|mosei|sims|simsv2`, docs/datasets.md), trained with the "
             "settings behind MMSA's published LMF rows and MMSA's procedure, seeds 1111, 1112, ... as MMSA's; "
             "`--recipe mmsa` is MMSA's training exactly (fusion weights and bias never trained, text dropout 0), "
             'the default fixes both. Every value x100, as MMSA\'s table (MAE and Corr too); MMSA computes its '
             'metrics as `metrics.py` does.', '']
    for dataset in hparams.MMSA_DATASETS:
        cols = metrics.columns(metrics.metric_set(dataset, 'mmsa'))
        text += table(MMSA_TITLES[dataset], [title for _, title, _ in cols],
                      [("MMSA's published LMF (mean of 5 seeds)", ['{:.2f}'.format(MMSA_PUBLISHED[dataset][k])
                                                                   for k, _, _ in cols])],
                      [(label + ', ', [(key_of['mmsa-{}-{}'.format(dataset, recipe)], k, True) for k, _, _ in cols])
                       for recipe, label in MMSA_ROWS], results, meta, digits=2)
    text += robustness.HEADING
    for base in robustness.STUDY:
        text += robustness_section(base, out, results, meta, key_of, seeds, quick)
    text += robustness.MISSING_HEADING
    for base in robustness.MISSING_STUDY:
        text += missing_section(base, out, meta, key_of, seeds, quick)
    seconds = sum(m['seconds'] for m in meta.values())
    text += ['Training time of the recorded runs: {:.1f} min in total.'.format(seconds / 60)]
    path = os.path.join(out, 'RESULTS.md')
    with safe_io.atomic_write(path) as f:
        f.write('\n'.join(text) + '\n')
    return path


# ---------------------------------------------------------------- main

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, default=None, help='seeds per task and rank (default 5; --quick 2)')
    parser.add_argument('--ranks', type=str, default=','.join(str(r) for r in RANKS),
                        help='ranks of the rank study (default 1,2,4,8,16,32,64)')
    parser.add_argument('--only', type=str, default=None,
                        help='comma-separated parts: paper (the next five); iemocap or happy,sad,angry,neutral; mosi; '
                             'pom; rank; efficiency; robustness; mmsa or mmsa-mosi, mmsa-mosei, mmsa-sims, '
                             'mmsa-simsv2 (MMSA\'s feature files)')
    parser.add_argument('--quick', action='store_true',
                        help='tiny SYNTHETIC data, {} epochs, 2 seeds: seconds, to check the chain'.format(QUICK_EPOCHS))
    parser.add_argument('--out', type=str, default=None,
                        help='folder for RESULTS.md, {} and runs/ (default results; --quick results_quick)'.format(FIGURE))
    parser.add_argument('--tables_only', action='store_true',
                        help='train nothing: rewrite RESULTS.md and the figure from the recorded runs')
    parser.add_argument('--jobs', type=int, default=None,
                        help='runs trained side by side (default: one per core at 1 CPU thread each, at most the '
                             'runs to train and one per GiB of free memory; 1 on a GPU)')
    utils.add_device_args(parser)
    return parser.parse_args(argv)


def parse_ranks(text):
    try:
        ranks = sorted({int(r) for r in text.split(',') if r.strip()})
    except ValueError:
        raise utils.UserError('--ranks: expected comma-separated integers, got {!r}'.format(text))
    if not ranks:
        raise utils.UserError('--ranks: no rank given')
    for rank in ranks:
        try:
            hparams.check_value('rank', rank)
        except utils.UserError as err:
            raise utils.UserError('--ranks: {}'.format(str(err).lstrip('-')))
    return ranks


def main(argv=None):
    args = parse_args(argv)
    utils.require('matplotlib', 'plots', 'reproduce.py (its figures)')
    seeds = args.seeds if args.seeds is not None else (2 if args.quick else 5)
    if seeds < 1:
        raise utils.UserError('--seeds must be >= 1, got {}'.format(seeds))
    ranks = parse_ranks(args.ranks)
    parts = parse_only(args.only)
    lmf_jobs.check(args.jobs)  # before --out is touched
    out = args.out or ('results_quick' if args.quick else 'results')
    if os.path.exists(out) and not os.path.isdir(out):
        raise utils.UserError('--out {} is a file, not a folder'.format(out))
    if args.tables_only:
        if not os.path.isdir(os.path.join(out, 'runs')):
            raise utils.UserError('--out {} has no recorded runs (no runs/ folder)'.format(out))
        with exclusive(out):
            print('wrote {}'.format(write_results(out, seeds, ranks, args.quick, recorded_data_ids(out))))
        return
    with exclusive(out):
        train_and_write(out, parts, seeds, ranks, args)


def train_and_write(out, parts, seeds, ranks, args):
    import data
    import paddle
    from data import mmsa
    device = utils.setup_device(args.device, args.cpu_threads)
    runs = plan(parts, seeds, ranks, args.quick)
    paths = data_paths(list(dict.fromkeys(INFO[r[0]].source for r in runs)), args.quick, out)
    data_ids = {source: data_id(path) for source, path in paths.items()}
    runs = locate(out, runs, data_ids)
    todo = [r for r in runs if not trained(r)]
    # what a measurement depends on: its sizes and the machine (another machine measures again)
    effort = dict(EFFICIENCY_SIZES[args.quick], cpu=utils.cpu_model(), cores=os.cpu_count(),
                  threads=args.cpu_threads or utils.default_cpu_threads(), device=device, paddle=paddle.__version__)
    measured = records.read(os.path.join(out, EFFICIENCY), EFFICIENCY_FORMAT)
    measure = 'efficiency' in parts and (measured is None or measured['setting'] != effort)
    for source, path in sorted(paths.items()):
        real = mmsa.REAL_PATHS[source.split('-', 1)[1]] if source in MMSA_SOURCES else data.module(source).REAL_PATH
        print('{}: {}{}'.format(source, path, ' (SYNTHETIC)' if os.path.abspath(path) != os.path.abspath(real) else ''))
    print('{} training runs: {} recorded, {} to train{}'.format(
        len(runs), len(runs) - len(todo), len(todo), '; then the efficiency measurement' if measure else ''))
    seconds_by_task = {}
    for task, _, _, hp, directory in runs:
        record = record_of(directory, task)
        if recorded(record, hp):
            seconds_by_task.setdefault(task, []).append(record['seconds'])
    jobs, threads = lmf_jobs.settle(args.jobs, max(1, len(todo)), args.cpu_threads, device)
    evaluate = unevaluated([r for r in runs if r not in todo], args.quick) if 'robustness' in parts else []
    if jobs > 1 and (todo or evaluate):
        print('{} runs side by side, {} CPU thread{} each'.format(jobs, threads, 's' if threads > 1 else ''))
        loading = todo + [run for run, _ in evaluate]
        for source in dict.fromkeys(INFO[r[0]].source for r in loading):  # the cache filled once, here
            hp = next(r[3] for r in loading if INFO[r[0]].source == source)
            engine.load_data(hp['dataset'], paths[source], hp.get('emotion'), verbose=False)
    try:
        def work(pairs):  # lmf/runs.py's arguments for each (run, the study's records for it)
            return [(run[3], paths[INFO[run[0]].source], run[4], files) for run, files in pairs]

        with lmf_jobs.pool(jobs, device, threads) as side_by_side:
            # runs trained before (or by another part) that the study has not evaluated
            for number, (i, seconds) in enumerate(side_by_side(lmf_runs.evaluate_study, work(evaluate)), 1):
                print_evaluated(*evaluate[i], seconds, number, len(evaluate))
            finished = set()
            study = [studied(run, args.quick) if 'robustness' in parts else () for run in todo]
            for i, (record, seconds) in side_by_side(lmf_runs.train_run, work(zip(todo, study))):
                task, rank, seed = todo[i][:3]
                seconds_by_task.setdefault(task, []).append(record['seconds'])
                if seconds is not None:  # evaluated as soon as trained: an interrupted study keeps what it measured
                    print_evaluated(todo[i], study[i], seconds, 1, 1)
                finished.add(i)
                left = [r[0] for j, r in enumerate(todo) if j not in finished]
                print('[{}/{}] {} rank {} seed {}: {} in {:.1f} s | {} left, {}'.format(
                    len(runs) - len(left), len(runs), task, rank, seed, headline(task, record), record['seconds'],
                    len(left), minutes(eta(left, seconds_by_task, jobs))), flush=True)
        if measure:  # parameters and samples/s of each, recorded when measured (Ctrl-C keeps the previous record)
            print('measuring LMF against TFN ...', flush=True)
            start = time.perf_counter()
            values = speed.lmf_vs_tfn(effort['batch'], effort['steps'], effort['repeats'])
            records.write(os.path.join(out, EFFICIENCY), dict(seconds=round(time.perf_counter() - start, 2),
                                                              setting=effort, values=values), EFFICIENCY_FORMAT)
    except KeyboardInterrupt:
        done = sum(trained(r) for r in runs)
        print('\ninterrupted{}: {} of {} training runs are recorded in {}; the same command finishes the '
              'rest'.format(' while measuring LMF against TFN' if done == len(runs) else '', done, len(runs),
                            os.path.join(out, 'runs')), file=sys.stderr, flush=True)
        sys.exit(130)
    # the parts this command left out keep their recorded runs' tables
    print('wrote {}'.format(write_results(out, seeds, ranks, args.quick, dict(recorded_data_ids(out), **data_ids))))


if __name__ == '__main__':
    utils.run_cli(main)
