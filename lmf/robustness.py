"""Missing and noisy modalities at test time: MultiBench's protocol adapted to what this model sees.

    python test.py --emotion happy --missing audio                  # audio input set to zero
    python test.py --dataset mosi --noise 0.3 --noise_modality text  # noisy transcript
    python infer.py --emotion happy --missing audio,video --seed 1   # -> out_prob/happy_prob_missing-audio-video.npy

Only the test split is perturbed; the model was trained on clean data.
- missing: the modality's input is set to zero before its subnetwork, as an absent sensor gives.
- noise LEVEL in [0, 1] on audio or video: Gaussian noise of standard deviation LEVEL times each
  feature's standard deviation on the training split (MultiBench adds N(0, LEVEL) to its normalised
  time series; these features are not normalised, so the training std sets the scale).
- noise LEVEL on text: the same Gaussian noise on every word vector, then whole time steps zeroed
  with probability LEVEL (MultiBench corrupts words with probability LEVEL; a zeroed step is a
  dropped word). Padding steps (all zero) stay zero, so the noise never lengthens a sentence.
The random draws depend only on --seed (the noise at level p is p times the same draws), so a run is
repeatable and the curves of two models are measured on the same perturbed inputs.
--missing_rate r (with --missing_seed, default 1111) is MMSA's random-missing protocol instead (lmf/missing.py).
"""
import os

import numpy as np

from lmf import checkpoints, engine, hparams, metrics, missing as random_missing, records
from safe_io import UserError, atomic_write

MODALITIES = hparams.MODALITIES
NOISE_TARGETS = MODALITIES + ('all',)
MAX_SEED = 2 ** 32 - 1  # numpy's RandomState


class Perturbation:
    """What --missing, --noise, --noise_modality and --seed ask for, or --missing_rate and --missing_seed
    (checked on construction)."""

    def __init__(self, missing=None, noise=0.0, noise_modality='all', seed=0, missing_rate=None, missing_seed=None):
        self.missing = tuple(hparams.parse_modalities(missing, '--missing').split(',')) if missing else ()
        if len(self.missing) == len(MODALITIES):
            raise UserError('--missing {}: every modality missing leaves the model nothing to see'.format(missing))
        if not 0.0 <= noise <= 1.0:
            raise UserError('--noise must be in [0, 1], got {}'.format(noise))
        if noise_modality not in NOISE_TARGETS:
            raise UserError('--noise_modality {}: choose one of {}'.format(noise_modality, ', '.join(NOISE_TARGETS)))
        if not 0 <= seed <= MAX_SEED:
            raise UserError('--seed must be in [0, {}], got {}'.format(MAX_SEED, seed))
        self.noise, self.seed, self.noise_modality = float(noise), int(seed), noise_modality
        self.noisy = () if self.noise == 0 else (MODALITIES if noise_modality == 'all' else (noise_modality,))
        self.note = None  # check_model's
        # {modality: rate} of random missing, or None; per_modality: the rates were named one by one
        self.rates = None if missing_rate is None else random_missing.parse_rates(missing_rate)
        self.per_modality = missing_rate is not None and '=' in str(missing_rate)
        if missing_seed is not None and missing_rate is None:
            raise UserError('--missing_seed {}: only --missing_rate draws with it'.format(missing_seed))
        self.missing_seed = random_missing.check_seed(
            random_missing.MISSING_SEED if missing_seed is None else missing_seed)
        if self.rates is not None and (self.missing or self.noisy):
            raise UserError('--missing_rate is a perturbation of its own: leave out --missing and --noise')

    def check_model(self, fused, model_name):
        """fused: the modalities the model fuses (its checkpoint's --modalities). A UserError if --missing
        removes all of them; else describe() adds a note when a perturbed modality is not fused (its input
        is unused, so the scores are the clean ones). --noise_modality all means every fused one."""
        if self.missing and set(fused) <= set(self.missing):
            raise UserError('--missing {}: {} fuses only {}, so nothing would be left to see'.format(
                ','.join(self.missing), model_name, ','.join(fused)))
        named = self.missing + (self.noisy if self.noise_modality != 'all' else ()) + (
            tuple(m for m, r in self.rates.items() if r > 0) if self.per_modality else ())
        unused = [m for m in MODALITIES if m in named and m not in fused]
        self.note = 'Note: {} fuses only {}; perturbing {} changes nothing'.format(
            model_name, ','.join(fused), ','.join(unused)) if unused else None

    def __bool__(self):
        return bool(self.missing or self.noisy or self.rates is not None)

    def rate_text(self, sep=' ', join=', '):
        """'0.3' (every modality alike) or 'text 0.3, audio 0.5' (the rates named, the others 0)."""
        if not self.per_modality:
            return '{:g}'.format(self.rates['text'])
        return join.join('{}{}{:g}'.format(m, sep, r) for m, r in self.rates.items() if r > 0) or '0'

    def describe(self, layout=None):
        """The header line: what was perturbed (or that nothing was), and check_model's note on a second line.
        layout: the data's ('authors' or 'mmsa'), which decides how random missing drops."""
        if not self:
            return 'Perturbation: none (clean test split)'
        if self.rates is not None:
            how = ("text steps dropped at the feature level: their BERT features set to zero" if layout == 'mmsa' else
                   'text word steps dropped, audio and video dropped whole' if layout == 'authors' else '')
            line = "Perturbation: random missing at rate {} ({}; MMSA's protocol, missing seed {}{})".format(
                self.rate_text(), 'per modality' if self.per_modality else 'every modality', self.missing_seed,
                '; ' + how if how else '')
            return line + ('\n' + self.note if self.note else '')
        parts = []
        if self.missing:
            parts.append('{} missing (set to zero)'.format(', '.join(self.missing)))
        if self.noisy:
            parts.append('noise {:g} on {} (Gaussian, {:g} x training std{})'.format(
                self.noise, ', '.join(self.noisy), self.noise,
                '; text time steps zeroed with probability {:g}'.format(self.noise) if 'text' in self.noisy else ''))
        return 'Perturbation: {}; seed {}'.format('; '.join(parts), self.seed) + ('\n' + self.note if self.note else '')

    def suffix(self):
        """What perturbed predictions add to their file name, so that they never overwrite the clean ones."""
        if self.rates is not None:
            return '_missing-rate-{}_missing-seed-{}'.format(self.rate_text('-', '-'), self.missing_seed)
        parts = []
        if self.missing:
            parts.append('missing-' + '-'.join(self.missing))
        if self.noisy:
            parts.append('noise-{}-{:g}'.format('all' if len(self.noisy) == 3 else self.noisy[0], self.noise))
        return '_' + '_'.join(parts + ['seed-{}'.format(self.seed)]) if parts else ''

    def apply(self, split, train_split, train_std=None):
        """A perturbed copy of `split` (data.common.Split: audio [N, A], video [N, V], text [N, T, D]); the
        noise scale is train_split's per-feature standard deviation (train_std: {modality: std [D]}, the
        feature_std values when computed already). `split` itself is left unchanged."""
        import copy
        if self.rates is not None:
            return random_missing.at_rates(split, self.rates, self.missing_seed)
        out = copy.copy(split)
        if not self:
            return out
        # One stream per modality (noise on text leaves the audio draws alone), the same at every level:
        # the noise is the level times the same draws, and the dropped steps at a level include those below.
        streams = {m: np.random.RandomState([self.seed, i]) for i, m in enumerate(MODALITIES)}
        for modality in MODALITIES:
            values = np.array(getattr(split, modality), dtype=np.float32)  # a writable copy (the cache's are read-only)
            if modality in self.noisy:
                std = train_std[modality] if train_std else feature_std(getattr(train_split, modality))
                values = noisy(values, std, self.noise, streams[modality], drop_steps=modality == 'text')
            if modality in self.missing:
                values[...] = 0.0
            setattr(out, modality, values)
        return out


def feature_std(values):
    """Per-feature standard deviation [D] over the samples (and, for sequences [N, T, D], over the
    time steps that are not padding)."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 3:
        values = values.reshape(-1, values.shape[-1])
        values = values[np.any(values != 0, axis=1)]
    return values.astype(np.float64).std(axis=0).astype(np.float32)


def noisy(values, std, level, rng, drop_steps=False):
    """values + N(0, (level * std)^2) per feature; sequences: only on non-padding steps, and with
    drop_steps each such step zeroed with probability level."""
    noise = rng.standard_normal(values.shape).astype(np.float32) * (level * std)
    if values.ndim == 3:
        real = np.any(values != 0, axis=2, keepdims=True)  # padding steps stay zero
        values = values + noise * real
        if drop_steps:
            values = values * (rng.random_sample(real.shape) >= level)
        return values.astype(np.float32)
    return (values + noise).astype(np.float32)


def add_args(parser):
    """--missing, --noise, --noise_modality, --seed, --missing_rate and --missing_seed (test.py, infer.py), for
    Perturbation."""
    parser.add_argument('--missing', type=str, default=None,
                        help='modalities to remove at test time, e.g. audio or audio,video (their inputs set to zero)')
    parser.add_argument('--noise', type=float, default=0.0,
                        help='noise level in [0, 1] at test time: Gaussian noise of LEVEL x the training std, and on '
                             'text whole time steps zeroed with probability LEVEL (default 0)')
    parser.add_argument('--noise_modality', type=str, default='all',
                        help='where --noise goes: audio, video, text or all (default all)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the perturbation draws (default 0)')
    parser.add_argument('--missing_rate', type=str, default=None,
                        help="random missing at test time, MMSA's protocol (lmf/missing.py): a rate in [0, 1) for "
                             'every modality, or per modality, e.g. text=0.3,audio=0.5 (the others 0)')
    parser.add_argument('--missing_seed', type=int, default=None,
                        help='seed of the random-missing draws (default {}, as MMSA)'.format(
                            random_missing.MISSING_SEED))


# ---------------------------------------------------------------- the study (reproduce.py --only robustness)
#
# For each of STUDY's data files: LMF and TFN on all three modalities, each checkpoint evaluated clean, at
# noise levels 0.1 .. 0.9 on each modality and on all together, and with each modality missing; and LMF
# trained on every non-empty subset of the modalities (the ablation). For each of MISSING_STUDY's files: LMF and
# TFN trained clean and with --train_missing TRAIN_MISSING, each evaluated at missing rates 0.1 .. 0.9 (MMSA's
# protocol) and under MMIN's six conditions. reproduce.py plans and trains the runs (resumable, like its other
# tasks); this module names them, evaluates a trained run into its records (RESULT_FILE, MISSING_FILE) beside its
# run record, and turns the records into RESULTS.md's tables and figures.

LEVELS = tuple(round(0.1 * i, 1) for i in range(10))  # MultiBench's 10 levels; the missing rates too
STUDY = ('happy', 'mosi', 'mmsa-mosi-ours')  # the LMF task of each file (reproduce.py's task names)
# The random-missing study: LMF and TFN trained clean and with --train_missing TRAIN_MISSING, on these files.
MISSING_STUDY = STUDY + ('mmsa-sims-ours',)
TRAIN_MISSING = 0.5
MISSING_SUFFIX = '+missing'  # '<task>+missing': the task trained with --train_missing TRAIN_MISSING
# reproduce.py --quick: IEMOCAP happy for both studies, and MMSA's CH-SIMS file (frames dropped before the mean) for
# the random-missing one: a matter of seconds
QUICK_STUDY = ('happy', 'mmsa-sims-ours')
STUDY_TITLES = {'happy': 'IEMOCAP happy', 'mosi': 'CMU-MOSI', 'mmsa-mosi-ours': "CMU-MOSI, MMSA's layout",
                'mmsa-sims-ours': "CH-SIMS, MMSA's layout"}
# The score of each curve: the metric set's accuracy-like main metric (higher is better, so the area is too).
MAIN_METRIC = {'iemocap': 'f1', 'mosi': 'binary_acc', 'mmsa_mosi': 'Non0_acc_2', 'mmsa_sims': 'Mult_acc_2'}
SUBSETS = tuple(','.join(m for m in MODALITIES if m in combo) for combo in
                (('audio',), ('video',), ('text',), ('audio', 'video'), ('audio', 'text'), ('video', 'text'),
                 MODALITIES))
MMIN_MISSING = SUBSETS[:6]  # MMIN's six conditions: one or two of the three modalities missing
RESULT_FILE = 'robustness.json'  # {"format": FORMAT, "metric": the MAIN_METRIC key, "scores": {condition: score}}
FORMAT = 'lmf-robustness-v1'
MISSING_FILE = 'missing.json'  # the same, of missing_conditions()
MISSING_FORMAT = 'lmf-missing-v1'


def study_bases(quick):
    return QUICK_STUDY if quick else MISSING_STUDY


def study_task(base, model, subset=SUBSETS[-1]):
    """The name of a study run: base itself (LMF on all three), '<base>~tfn', '<base>~lmf-audio,text'."""
    if model == 'tfn':
        return '{}~tfn'.format(base)
    return base if subset == SUBSETS[-1] else '{}~lmf-{}'.format(base, subset)


def study_tasks(base):
    """The runs a study file adds to its LMF task `base`: TFN and, on STUDY's files, LMF on each proper subset;
    then LMF and TFN trained with missing data ('<base>~lmf+missing', '<base>~tfn+missing'). reproduce.py trains
    them like its own tasks."""
    tasks = (study_task(base, 'tfn'),) + (tuple(study_task(base, 'lmf', s) for s in SUBSETS[:-1])
                                          if base in STUDY else ())
    return tasks + tuple(missing_task(base, model, True) for model in ('lmf', 'tfn'))


def trained_missing(task):
    """Whether a study task trains with --train_missing TRAIN_MISSING."""
    return task.endswith(MISSING_SUFFIX)


def split_task(task):
    """(base task, model, modalities) of a study task, or of a base task itself (LMF, all three)."""
    base, _, variant = task[:-len(MISSING_SUFFIX)].partition('~') if trained_missing(task) else task.partition('~')
    if not variant:
        return base, 'lmf', SUBSETS[-1]
    model, _, modalities = variant.partition('-')
    return base, model, modalities or SUBSETS[-1]


def perturbed(task):
    """Whether a study run is evaluated under every noise perturbation: LMF and TFN trained clean on all three
    modalities (the subset models are the ablation: their clean score only)."""
    return split_task(task)[2] == SUBSETS[-1] and not trained_missing(task)


def evaluations(task):
    """The records the study writes beside a run of `task` (of a study file): RESULT_FILE for the noise study
    (perturbed, on STUDY's files), MISSING_FILE for LMF and TFN on all three modalities, clean- or missing-trained."""
    base, _, modalities = split_task(task)
    if modalities != SUBSETS[-1] or base not in MISSING_STUDY:
        return ()
    return ((RESULT_FILE,) if perturbed(task) and base in STUDY else ()) + (MISSING_FILE,)


def conditions():
    """(name, Perturbation) of every condition: clean, each noise target at each level, each modality missing."""
    out = [('clean', Perturbation())]
    for target in NOISE_TARGETS:
        out += [('noise {} {:g}'.format(target, level), Perturbation(None, level, target)) for level in LEVELS[1:]]
    out += [('missing {}'.format(m), Perturbation(m)) for m in MODALITIES]
    return out


def missing_conditions():
    """(name, Perturbation) of the random-missing study: clean, 'rate 0.1' ... 'rate 0.9' (MMSA's protocol, seed
    1111) and MMIN's six ('missing audio', ..., 'missing video,text': those inputs zeroed)."""
    return ([('clean', Perturbation())] +
            [('rate {:g}'.format(r), Perturbation(missing_rate=str(r))) for r in LEVELS[1:]] +
            [('missing {}'.format(subset), Perturbation(subset)) for subset in MMIN_MISSING])


def record_conditions(file):
    """The (name, Perturbation) conditions of one of the study's records: RESULT_FILE's or MISSING_FILE's."""
    return conditions() if file == RESULT_FILE else missing_conditions()


RECORD_FORMATS = {RESULT_FILE: FORMAT, MISSING_FILE: MISSING_FORMAT}


def evaluate_run(directory, checkpoint, name, dataset, metric_set, sets, files=(RESULT_FILE,)):
    """Evaluate a trained run's checkpoint under the conditions of each record in `files` (RESULT_FILE: noise
    seed 0; MISSING_FILE) and write each record into <directory> atomically. sets: (train, valid, test, dims)."""
    model, _, _ = checkpoints.model_from_checkpoint(checkpoint, name, dataset=dataset)
    train_set, _, test_set, _ = sets
    train_std = {m: feature_std(getattr(train_set, m)) for m in MODALITIES}  # once, not per condition
    for file in files:
        scores = {condition: float(engine.evaluate(model, perturbation.apply(test_set, train_set, train_std),
                                                   metrics_for=metric_set)[MAIN_METRIC[metric_set]])
                  for condition, perturbation in record_conditions(file)}
        records.write(os.path.join(directory, file), dict(metric=MAIN_METRIC[metric_set], scores=scores),
                      RECORD_FORMATS[file])


def read_results(directory, file=RESULT_FILE):
    """{condition: score} of a run's robustness record (or of its MISSING_FILE; None if it has none)."""
    record = records.read(os.path.join(directory, file), RECORD_FORMATS[file])
    return record and record['scores']


def curve(results, model, target):
    """(levels, [per-seed scores at each level]) of one noise curve; level 0 is the clean score."""
    names = ['clean'] + ['noise {} {:g}'.format(target, level) for level in LEVELS[1:]]
    return LEVELS, [[r[n] for r in results[model]] for n in names]


def relative_robustness(scores):
    """MultiBench's relative robustness: the area under the score-against-level curve (trapezoid, step 0.1)."""
    scores = np.asarray(scores, dtype=np.float64)
    return float(np.sum((scores[1:] + scores[:-1]) / 2.0) * 0.1)


HEADING = ['## Robustness: missing and noisy modalities, LMF and TFN', '',
           'Models trained on clean data; only the test split is perturbed (robustness.py, as `test.py --noise` / '
           '`--missing`): Gaussian noise of level x the training std on a modality (text: also each word step '
           'dropped with probability level), levels 0, 0.1, ..., 0.9, or a modality set to zero. Relative '
           'robustness: the area under the score-against-level curve (trapezoid, step 0.1; MultiBench\'s '
           'definition), so 0.9 x the clean score would be a flat curve. TFN: our settings (hparams.TFN_SETTINGS). '
           'Scores in percent; mean ± std (min–max) over seeds.', '']  # RESULTS.md's lines before the sections


def study_title(base, on_synthetic):
    return STUDY_TITLES[base] + (' (SYNTHETIC data)' if on_synthetic else '')


def pyplot():
    """matplotlib's pyplot on the file-only backend."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path):
    """Write a figure as PNG atomically (a reader never sees half of one) and free it."""
    with atomic_write(path, 'wb') as f:
        fig.savefig(f, format='png', dpi=90)
    pyplot().close(fig)


def score_name(metric_set):
    """The name RESULTS.md's tables give MAIN_METRIC[metric_set] ('F1', 'Acc-2', ...)."""
    return next(m.column[1] for m in metrics.METRICS[metric_set] if m.key == MAIN_METRIC[metric_set])


def section(base, runs, summary, figure_path, on_synthetic, seeds, not_run, score):
    """RESULTS.md lines for one study file. runs: {study task: [robustness results of each seed]} (the LMF
    task itself under base); summary(values, percent) formats a cell as reproduce.py's other tables; not_run:
    the line shown when nothing was run; score: the score's name (score_name)."""
    title = study_title(base, on_synthetic)
    results = {'LMF': runs.get(base, []), 'TFN': runs.get(study_task(base, 'tfn'), [])}
    lines = ['### {}'.format(title), '']
    if not results['LMF'] and not results['TFN']:
        return lines + [not_run, '']
    lines += ['Score: test {}.'.format(score), '',
              '| model | clean | ' + ' | '.join('relative robustness, noise on {}'.format(t) for t in NOISE_TARGETS)
              + ' | ' + ' | '.join('{} missing'.format(m) for m in MODALITIES) + ' |', '|---|' + '---|' * 8]
    for model, seeded in results.items():
        if not seeded:
            lines.append('| {} | {} |'.format(model, ' | '.join(['not run'] * 8)))
            continue
        cells = [summary([r['clean'] for r in seeded], True)]
        for target in NOISE_TARGETS:
            _, scores = curve(results, model, target)
            cells.append(summary([relative_robustness(per_seed) for per_seed in zip(*scores)], True))
        cells += [summary([r['missing ' + m] for r in seeded], True) for m in MODALITIES]
        lines.append('| {} ({} seed{}) | {} |'.format(model, len(seeded), '' if len(seeded) == 1 else 's',
                                                     ' | '.join(cells)))
    lines += ['', 'Ablation: LMF trained on a subset of the modalities, clean test score:', '',
              '| modalities | ' + ' | '.join(SUBSETS) + ' |', '|---|' + '---|' * len(SUBSETS)]
    ablation = [runs.get(study_task(base, 'lmf', subset), []) for subset in SUBSETS]
    lines.append('| LMF | {} |'.format(' | '.join(summary([r['clean'] for r in seeded], True) if seeded else 'not run'
                                                  for seeded in ablation)))
    draw(results, figure_path, title, seeds, score)
    lines += ['', '![{}: score against noise level, LMF and TFN]({})'.format(title, os.path.basename(figure_path))]
    return lines + ['']


def draw(results, path, title, seeds, score):
    """One panel per noise target: mean score against level, a band of one std over seeds, LMF and TFN."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(NOISE_TARGETS), figsize=(13, 3.2), sharey=True)
    for ax, target in zip(axes, NOISE_TARGETS):
        for model, colour in (('LMF', 'tab:blue'), ('TFN', 'tab:orange')):
            if not results[model]:
                continue
            levels, scores = curve(results, model, target)
            mean = np.array([np.mean(s) for s in scores]) * 100
            std = np.array([np.std(s, ddof=1) if len(s) > 1 else 0.0 for s in scores]) * 100
            ax.plot(levels, mean, 'o-', color=colour, label=model, markersize=3)
            ax.fill_between(levels, mean - std, mean + std, color=colour, alpha=0.2)
        ax.set_title('noise on {}'.format(target))
        ax.set_xlabel('noise level')
    axes[0].set_ylabel('test {} (%)'.format(score))
    axes[0].legend()
    fig.suptitle('{}: {} (band: one std over seeds)'.format(title, 'mean of {} seeds'.format(seeds)))
    fig.tight_layout()
    save_figure(fig, path)


# ---------------------------------------------------------------- the random-missing study's tables and figure

MISSING_HEADING = [
    "## Missing modalities as the literature measures them: random missing and MMIN's conditions", '',
    "LMF and TFN trained clean and with `--train_missing {:g}` (lmf/missing.py: half the training samples, new draws "
    'every epoch, each dropped at a rate drawn from [0, 1)), tested at `--missing_rate` r = 0, 0.1, ..., 0.9 '
    "(MMSA's protocol, missing seed 1111; on MMSA's files the text steps are dropped at the feature level, their "
    "BERT features zeroed: no BERT runs here; on the authors' pickles audio and video drop whole), the mean over r "
    "(the number LNLN's table reports), and under MMIN's six conditions (one or two modalities' inputs zeroed). "
    'Scores in percent; mean ± std (min–max) over seeds.'.format(TRAIN_MISSING), '']
MISSING_MODELS = (('LMF', 'lmf', False), ('LMF', 'lmf', True), ('TFN', 'tfn', False), ('TFN', 'tfn', True))


def missing_task(base, model, missing_trained):
    """The study task of LMF or TFN on all three modalities of `base`, trained clean or with missing data."""
    if not missing_trained:
        return base if model == 'lmf' else study_task(base, 'tfn')
    return '{}~{}{}'.format(base, model, MISSING_SUFFIX)


def missing_label(name, missing_trained):
    return '{}, {}'.format(name, 'trained with --train_missing {:g}'.format(TRAIN_MISSING) if missing_trained
                           else 'trained clean')


def rate_scores(scores):
    """A run's scores at r = 0, 0.1, ..., 0.9 (0: the clean one)."""
    return [scores['clean']] + [scores['rate {:g}'.format(r)] for r in LEVELS[1:]]


def missing_section(base, runs, summary, figure_path, on_synthetic, seeds, not_run, score):
    """RESULTS.md lines for one file of the random-missing study. runs: {study task: [MISSING_FILE scores of each
    seed]}; summary, not_run and score as for section()."""
    title = study_title(base, on_synthetic)
    lines = ['### {}'.format(title), '']
    found = {(name, trained): runs.get(missing_task(base, model, trained), [])
             for name, model, trained in MISSING_MODELS}
    if not any(found.values()):
        return lines + [not_run, '']
    lines += ['Score: test {}.'.format(score), '',
              '| model | ' + ' | '.join('r = {:g}'.format(r) for r in LEVELS) + ' | mean over r |',
              '|---|' + '---|' * (len(LEVELS) + 1)]
    for (name, trained), seeded in found.items():
        cells = ([summary(per_rate, True) for per_rate in zip(*(rate_scores(s) for s in seeded))] +
                 [summary([np.mean(rate_scores(s)) for s in seeded], True)]) if seeded else ['not run'] * 11
        lines.append('| {} | {} |'.format(missing_label(name, trained), ' | '.join(cells)))
    lines += ['', "MMIN's conditions (the modalities named missing, their inputs zeroed):", '',
              '| model | clean | ' + ' | '.join('{} missing'.format(s) for s in MMIN_MISSING) + ' |',
              '|---|' + '---|' * (len(MMIN_MISSING) + 1)]
    for (name, trained), seeded in found.items():
        cells = [summary([s[c] for s in seeded], True) if seeded else 'not run'
                 for c in ['clean'] + ['missing ' + m for m in MMIN_MISSING]]
        lines.append('| {} | {} |'.format(missing_label(name, trained), ' | '.join(cells)))
    draw_missing(found, figure_path, title, seeds, score)
    return lines + ['', '![{}: score against missing rate, LMF and TFN trained clean and with missing data]({})'.format(
        title, os.path.basename(figure_path)), '']


def draw_missing(found, path, title, seeds, score):
    """Mean score against missing rate with a band of one std over seeds: LMF and TFN, clean- and missing-trained."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for (name, trained), seeded in found.items():
        if not seeded:
            continue
        per_rate = np.array([rate_scores(s) for s in seeded]) * 100
        mean = per_rate.mean(axis=0)
        std = per_rate.std(axis=0, ddof=1) if len(seeded) > 1 else np.zeros_like(mean)
        colour = 'tab:blue' if name == 'LMF' else 'tab:orange'
        ax.plot(LEVELS, mean, 'o-' if trained else 's--', color=colour, label=missing_label(name, trained),
                markersize=3)
        ax.fill_between(LEVELS, mean - std, mean + std, color=colour, alpha=0.15)
    ax.set(xlabel='missing rate r (MMSA\'s protocol)', ylabel='test {} (%)'.format(score))
    ax.set_title('{}: mean of {} seeds (band: one std)'.format(title, seeds), fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
