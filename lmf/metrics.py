"""Every dataset's test metrics in one place: IEMOCAP's weighted F1 and accuracy, the CMU-MOSI and
POM metrics of the authors' scripts, MMSA's regression metrics (CMU-MOSI / CMU-MOSEI and CH-SIMS /
CH-SIMS v2 in MMSA's feature files), and how test.py, train.py and infer.py print them.

The metrics of one run are chosen by a metric set name (metric_set()): 'iemocap', 'mosi' (the
authors' CMU-MOSI pickle), 'pom', 'mmsa_mosi' (MMSA's CMU-MOSI or CMU-MOSEI file) and 'mmsa_sims'
(MMSA's CH-SIMS or CH-SIMS v2 file).
"""
import collections

import numpy as np


def weighted_f1(truth, predictions):
    """F1 per class weighted by its support, as sklearn's f1_score(average='weighted'), in NumPy so that the
    scripts need not import scikit-learn (about 0.8 s)."""
    truth, predictions = np.asarray(truth), np.asarray(predictions)
    total = 0.0
    for label in np.union1d(truth, predictions):
        true_positive = np.sum((predictions == label) & (truth == label))
        denominator = np.sum(predictions == label) + np.sum(truth == label)
        total += np.sum(truth == label) * (2.0 * true_positive / denominator if denominator else 0.0)
    return float(total / len(truth))


def pearson(x, y):
    """Pearson correlation as np.corrcoef gives it (nan when either side is constant)."""
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    with np.errstate(divide='ignore', invalid='ignore'):
        return float(np.corrcoef(x, y)[0, 1]) if np.ptp(x) > 0 and np.ptp(y) > 0 else float('nan')  # exact for constants


def mosi_metrics(truth, predictions):
    """CMU-MOSI test metrics of sentiment predictions [N] (or [N, 1]) against truth.

    The authors' definitions (train_mosi.py), which the paper reports: mae, corr (Pearson),
    mult_acc (round(pred) == round(y), unclipped), binary_acc and f1 (weighted) with
    y >= 0 as positive. The variants later papers report: acc7 (both clipped to [-3, 3]
    first), and binary_acc_nonzero / f1_nonzero over the samples with y != 0 (y > 0 positive).
    """
    y, p = np.asarray(truth, dtype=np.float64).ravel(), np.asarray(predictions, dtype=np.float64).ravel()
    nonzero = y != 0
    return dict(
        mae=float(np.mean(np.abs(p - y))), corr=pearson(p, y),
        mult_acc=float(np.mean(np.round(p) == np.round(y))),
        binary_acc=float(np.mean((p >= 0) == (y >= 0))), f1=weighted_f1(y >= 0, p >= 0),
        acc7=float(np.mean(np.round(np.clip(p, -3, 3)) == np.round(np.clip(y, -3, 3)))),
        binary_acc_nonzero=float(np.mean((p[nonzero] > 0) == (y[nonzero] > 0))) if nonzero.any() else float('nan'),
        f1_nonzero=weighted_f1(y[nonzero] > 0, p[nonzero] > 0) if nonzero.any() else float('nan'))


def pom_metrics(truth, predictions):
    """POM test metrics of predictions [N, K] against truth [N, K], as train_pom.py computes them:
    per trait MAE, Pearson corr and accuracy of round(pred) == round(y) (lists of K), and their means
    over the traits (mae, corr, acc)."""
    y, p = np.asarray(truth, dtype=np.float64), np.asarray(predictions, dtype=np.float64)
    maes = [float(v) for v in np.mean(np.abs(p - y), axis=0)]
    corrs = [pearson(p[:, k], y[:, k]) for k in range(y.shape[1])]
    accs = [float(v) for v in np.mean(np.round(p) == np.round(y), axis=0)]
    return dict(mae=float(np.mean(maes)), corr=float(np.mean(corrs)), acc=float(np.mean(accs)),
                trait_mae=maes, trait_corr=corrs, trait_acc=accs)


# ---------------------------------------------------------------- MMSA's regression metrics
#
# MMSA (src/MMSA/utils/metricsTop.py) scores the flattened torch float32 tensors it evaluates
# through NumPy, so every comparison, clip, np.round and the MAE's mean happen in float32 there.
# The functions below do the same on the inputs cast to float32: that is not a nicety, because
# float32 changes which side of an interval edge a label falls (CH-SIMS labels are multiples of
# 0.1: float32(0.1) <= float32(0.1) puts a label of 0.1 in the neutral class as in MMSA, while
# float64(float32(0.1)) = 0.10000000149 would be > 0.1, positive). np.corrcoef computes in
# float64 whatever its input, as in MMSA.
#
# Each value is rounded to 4 decimals with Python's round() on the type MMSA rounds: NumPy
# float64 for Mult_acc_*, MAE and Corr (np.float64.__round__ is NumPy's rule, rint(x * 1e4) / 1e4),
# Python float for the accuracies and F1 that scikit-learn returns (recent scikit-learn returns
# Python floats; round() is then correctly rounded). The two rules differ only on rare ties, e.g.
# 1/160 = 0.00625 gives 0.0062 as a Mult_acc but 0.0063 as an acc_2, as it does in MMSA.
#
# Where MMSA is undefined: with no non-zero label (MMSA raises an IndexError) Non0_acc_2 and
# Non0_F1_score are nan; Corr is nan when predictions or truth are constant (np.corrcoef yields
# nan there, or rounding noise when the constant's mean is not exact; nan always here).

MMSA_MOSI_KEYS = ('Has0_acc_2', 'Has0_F1_score', 'Non0_acc_2', 'Non0_F1_score', 'Mult_acc_5', 'Mult_acc_7',
                  'MAE', 'Corr')
MMSA_SIMS_KEYS = ('Mult_acc_2', 'Mult_acc_3', 'Mult_acc_5', 'F1_score', 'MAE', 'Corr')
# CH-SIMS classes: half-open intervals (lo, hi] between these edges, after clipping to [-1, 1].
SIMS_EDGES = {2: (-1.01, 0.0, 1.01), 3: (-1.01, -0.1, 0.1, 1.01), 5: (-1.01, -0.7, -0.1, 0.1, 0.7, 1.01)}


def _round_numpy(value):
    """round(value, 4) as MMSA rounds a NumPy float64 (NumPy's rule), as a Python float."""
    return float(round(np.float64(value), 4))


def _round_python(value):
    """round(value, 4) as MMSA rounds scikit-learn's Python floats."""
    return round(float(value), 4)


def _flat32(truth, predictions):
    y = np.asarray(truth, dtype=np.float32).ravel()
    p = np.asarray(predictions, dtype=np.float32).ravel()
    if y.shape != p.shape or not y.size:
        raise ValueError('truth and predictions need the same, non-zero number of values; got {} and {}'.format(
            y.size, p.size))
    return y, p


def _exact_match(a, b):
    """Fraction of equal entries (k / N, a NumPy float64 as MMSA's Mult_acc)."""
    return np.sum(a == b) / float(len(a))


def _mae_corr(p, y):
    """MMSA's MAE (the float32 mean of |p - y| in float32) and Corr, rounded; then 'mae' (the same mean
    accumulated in float64) and 'corr' unrounded."""
    corr = pearson(p, y)
    return dict(MAE=_round_numpy(np.float64(np.mean(np.absolute(p - y)))), Corr=_round_numpy(corr),
                mae=float(np.mean(np.abs(p.astype(np.float64) - y.astype(np.float64)))), corr=corr)


def mmsa_mosi_metrics(truth, predictions):
    """MMSA's regression metrics for CMU-MOSI and CMU-MOSEI of predictions [N] (or [N, 1]).

    Keys, in MMSA's names and order, each rounded to 4 decimals: Has0_acc_2 and Has0_F1_score
    (all samples; truth >= 0 and prediction >= 0 positive; accuracy and weighted F1),
    Non0_acc_2 and Non0_F1_score (the samples with truth != 0; > 0 positive), Mult_acc_5 and
    Mult_acc_7 (both clipped to [-2, 2] / [-3, 3], np.round half to even, exact match), MAE (mean
    |prediction - truth|) and Corr (Pearson), both unclipped. Plus 'mae' and 'corr', MAE and Corr
    unrounded (mae accumulated in float64), for the lines every regression dataset prints.
    """
    y, p = _flat32(truth, predictions)
    has0_truth, has0_pred = y >= 0, p >= 0
    nonzero = y != 0
    non0_truth, non0_pred = y[nonzero] > 0, p[nonzero] > 0
    return dict(
        Has0_acc_2=_round_python(np.mean(has0_truth == has0_pred)),
        Has0_F1_score=_round_python(weighted_f1(has0_truth, has0_pred)),
        Non0_acc_2=_round_python(np.mean(non0_truth == non0_pred)) if nonzero.any() else float('nan'),
        Non0_F1_score=_round_python(weighted_f1(non0_truth, non0_pred)) if nonzero.any() else float('nan'),
        Mult_acc_5=_round_numpy(_exact_match(np.round(np.clip(p, -2., 2.)), np.round(np.clip(y, -2., 2.)))),
        Mult_acc_7=_round_numpy(_exact_match(np.round(np.clip(p, -3., 3.)), np.round(np.clip(y, -3., 3.)))),
        **_mae_corr(p, y))


def sims_classes(values, classes):
    """CH-SIMS class 0..classes-1 of float32 values in [-1, 1]: the interval (lo, hi] of SIMS_EDGES
    holding each, compared in float32 as MMSA compares them."""
    inner = np.asarray(SIMS_EDGES[classes][1:-1], dtype=np.float32)
    return np.sum(values[:, None] > inner[None, :], axis=1)


def mmsa_sims_metrics(truth, predictions):
    """MMSA's regression metrics for CH-SIMS and CH-SIMS v2 of predictions [N] (or [N, 1]).

    Both are clipped to [-1, 1] first. Keys, in MMSA's names and order, each rounded to 4 decimals:
    Mult_acc_2, Mult_acc_3, Mult_acc_5 (exact match of the classes of sims_classes: [-1, 0] vs
    (0, 1]; [-1, -0.1], (-0.1, 0.1], (0.1, 1]; [-1, -0.7], (-0.7, -0.1], (-0.1, 0.1], (0.1, 0.7],
    (0.7, 1]), F1_score (weighted F1 of the two classes), MAE and Corr of the clipped values. Plus
    'mae' and 'corr', MAE and Corr unrounded (clipped, as MMSA defines them for CH-SIMS).
    """
    y, p = _flat32(truth, predictions)
    y, p = np.clip(y, -1., 1.), np.clip(p, -1., 1.)
    y_class = {k: sims_classes(y, k) for k in SIMS_EDGES}
    p_class = {k: sims_classes(p, k) for k in SIMS_EDGES}
    result = {'Mult_acc_{}'.format(k): _round_numpy(_exact_match(p_class[k], y_class[k])) for k in SIMS_EDGES}
    return dict(result, F1_score=_round_python(weighted_f1(y_class[2], p_class[2])), **_mae_corr(p, y))


# ---------------------------------------------------------------- metric sets, printing

_SETS = {('iemocap', 'authors'): 'iemocap', ('mosi', 'authors'): 'mosi', ('pom', 'authors'): 'pom',
         ('mosi', 'mmsa'): 'mmsa_mosi', ('mosei', 'mmsa'): 'mmsa_mosi',
         ('sims', 'mmsa'): 'mmsa_sims', ('simsv2', 'mmsa'): 'mmsa_sims'}


def metric_set(dataset, layout='authors'):
    """The metric set of a dataset ('iemocap', 'mosi', 'pom', 'mosei', 'sims', 'simsv2') in a data
    layout ('authors': the authors' processed pickles; 'mmsa': MMSA's feature files)."""
    try:
        return _SETS[(dataset, layout)]
    except KeyError:
        known = ', '.join('{} ({})'.format(d, l) for d, l in _SETS)
        raise ValueError('no metrics for dataset {!r} in layout {!r}; known: {}'.format(dataset, layout, known))


def task_metrics(name, truth, outputs):
    """The metrics of metric set `name` (a metric_set() name) of model outputs [N, K] (logits for
    IEMOCAP) against its targets."""
    regression = dict(mosi=mosi_metrics, pom=pom_metrics, mmsa_mosi=mmsa_mosi_metrics, mmsa_sims=mmsa_sims_metrics)
    if name in regression:
        return regression[name](truth, outputs)
    # IEMOCAP: weighted F1 and accuracy of the predicted classes, as the paper and the seed report them
    truth, predictions = np.asarray(truth), outputs.argmax(axis=1)
    return dict(f1=weighted_f1(truth, predictions), accuracy=float(np.mean(truth == predictions)))


# ---------------------------------------------------------------- the metric table
#
# Every metric of every metric set, named once. Per metric: its key in a result or run record; `line`, how
# test.py, train.py and infer.py print it ('{}' is the value; None: not printed on a line of its own);
# `csv`, its column in search.py's CSV (None: not a column); `column`, (position, title) in RESULTS.md's
# tables (None: not a column; percent: x100 there); `higher`, whether higher is better; `seed` and
# `summary`, its labels in train.py --seeds' per-seed and summary lines; `shown`, its label in search.py's
# trial lines (None: not shown). A set's entries are in the order the set prints them.

Metric = collections.namedtuple('Metric', 'key line csv column percent higher seed summary shown')


def metric(key, line=None, csv=None, column=None, percent=False, higher=True, seed=None, summary=None, shown=None):
    return Metric(key, line, csv, column, percent, higher, seed or key, summary or seed or key, shown)


def _mmsa(key, position, summary, shown=None, higher=True, seed=None):
    """One of MMSA's metrics: printed as '<key> on test set is 0.1234', a CSV column 'Test <key>', a RESULTS.md
    column of its own name (x100 as MMSA's table)."""
    return metric(key, key + ' on test set is {}', 'Test ' + key, (position, key), True, higher, seed or key,
                  summary, shown)


_MAE = 'MAE on test set is {}'
_CORR = 'Correlation w.r.t human evaluation on test set is {}'
METRICS = {
    'iemocap': (
        metric('f1', 'F1-score on test set is {}', 'Test F1-score', (0, 'F1'), True, seed='F1', summary='F1-score',
               shown='F1'),
        metric('accuracy', 'Accuracy score on test set is {}', 'Test Accuracy Score', (1, 'accuracy'), True,
               shown='accuracy'),
    ),
    'mosi': (  # the authors' five lines, then the variants later papers report (printed indented)
        metric('mae', _MAE, 'Test MAE', (0, 'MAE'), higher=False, seed='MAE', shown='MAE'),
        metric('corr', _CORR, 'Test Corr', (1, 'Corr'), seed='Corr', summary='correlation', shown='Corr'),
        metric('mult_acc', 'Multiclass accuracy on test set is {}', 'Test multiclass accuracy', (4, 'Acc-7'), True,
               seed='multiclass acc', summary='multiclass accuracy'),
        metric('binary_acc', 'Binary accuracy on test set is {}', 'Test binary accuracy', (2, 'Acc-2'), True,
               seed='binary acc', summary='binary accuracy', shown='binary accuracy'),
        metric('f1', 'F1-score on test set is {}', 'Test f1_score', (3, 'F1'), True, seed='F1', summary='F1-score',
               shown='F1'),
        metric('acc7', 'Acc-7 (prediction and truth clipped to [-3, 3]) on test set is {}', seed='Acc-7 clipped',
               summary='Acc-7 (clipped)'),
        metric('binary_acc_nonzero', 'Acc-2 without zero-labelled samples on test set is {}', seed='Acc-2 non-0',
               summary='Acc-2 (non-zero)'),
        metric('f1_nonzero', 'F1-score without zero-labelled samples on test set is {}', seed='F1 non-0',
               summary='F1-score (non-zero)'),
    ),
    'pom': (  # means over the traits; the CSV has a column per trait instead (search.py)
        metric('mae', _MAE, column=(0, 'MAE'), higher=False, seed='MAE', summary='MAE (mean over traits)',
               shown='mean MAE'),
        metric('corr', _CORR, column=(1, 'Corr'), seed='Corr', summary='correlation (mean over traits)',
               shown='mean Corr'),
        metric('acc', 'Multiclass accuracy on test set is {}', column=(2, 'Acc'), percent=True,
               summary='multiclass accuracy (mean over traits)', shown='mean accuracy'),
    ),
    'mmsa_mosi': (
        metric('mae', _MAE, higher=False), metric('corr', _CORR),  # full precision, as every regression set prints
        _mmsa('Has0_acc_2', 0, 'Has0_acc_2 (all samples, >= 0 positive)', 'Has0_acc_2'),
        _mmsa('Has0_F1_score', 1, 'Has0_F1_score (weighted)', seed='Has0_F1'),
        _mmsa('Non0_acc_2', 2, 'Non0_acc_2 (truth != 0, > 0 positive)', 'Non0_acc_2'),
        _mmsa('Non0_F1_score', 3, 'Non0_F1_score (weighted)', 'Non0_F1', seed='Non0_F1'),
        _mmsa('Mult_acc_5', 4, 'Mult_acc_5 (clipped to [-2, 2])'),
        _mmsa('Mult_acc_7', 5, 'Mult_acc_7 (clipped to [-3, 3])'),
        _mmsa('MAE', 6, 'MAE', 'MAE', higher=False),
        _mmsa('Corr', 7, 'correlation', 'Corr'),
    ),
    'mmsa_sims': (
        metric('mae', _MAE, higher=False), metric('corr', _CORR),
        _mmsa('Mult_acc_2', 0, 'Mult_acc_2 ([-1, 0], (0, 1])', 'Mult_acc_2'),
        _mmsa('Mult_acc_3', 1, 'Mult_acc_3 (edges -0.1, 0.1)', 'Mult_acc_3'),
        _mmsa('Mult_acc_5', 2, 'Mult_acc_5 (edges -0.7, -0.1, 0.1, 0.7)'),
        _mmsa('F1_score', 3, 'F1_score (weighted, 2 classes)', 'F1'),
        _mmsa('MAE', 4, 'MAE (clipped to [-1, 1])', 'MAE', higher=False),
        _mmsa('Corr', 5, 'correlation (clipped)', 'Corr'),
    ),
}
MMSA_SETS = ('mmsa_mosi', 'mmsa_sims')
MOSI_VARIANTS = ('acc7', 'binary_acc_nonzero', 'f1_nonzero')  # printed indented, under a line of their own
# Scalar test metrics that train.py --seeds summarises (every printed one but MMSA's full-precision duplicates).
SEED_METRICS = {name: tuple(m for m in table if name not in MMSA_SETS or m.csv) for name, table in METRICS.items()}
# search.py prints these per trial; reported, never used to choose. The order is the trial line's.
SHOWN_ORDER = {'mmsa_mosi': ('MAE', 'Corr', 'Has0_acc_2', 'Non0_acc_2', 'Non0_F1_score'),
               'mmsa_sims': ('MAE', 'Corr', 'Mult_acc_2', 'Mult_acc_3', 'F1_score')}


def shown(name):
    """(key, label) of the metrics search.py prints per trial, in order."""
    by_key = {m.key: m for m in METRICS[name]}
    keys = SHOWN_ORDER.get(name) or [m.key for m in METRICS[name] if m.shown]
    return tuple((key, by_key[key].shown) for key in keys)


def columns(name):
    """The RESULTS.md columns of a metric set, in order: ((key, title, percent), ...)."""
    return tuple((m.key, m.column[1], m.percent) for m in sorted(
        (m for m in METRICS[name] if m.column), key=lambda m: m.column[0]))


def show_results(name, result, out=print):
    """Print the test metrics of metric set `name` (a metric_set() name) as the authors' scripts did
    (IEMOCAP: the seed's two lines); MMSA's sets: MAE and Corr at full precision, then MMSA's metrics with
    4 decimals as MMSA prints them (0.779 shows as 0.7790)."""
    if name == 'pom':
        from data.pom import trait_names  # noqa: the reader imports nothing of this module
        names = trait_names(len(result['trait_mae']))
        width = max(len(n) for n in names)
        out('{:<{w}}  {:>6}  {:>6}  {:>6}'.format('trait', 'MAE', 'Corr', 'Acc', w=width))
        for trait, mae, corr, acc in zip(names, result['trait_mae'], result['trait_corr'], result['trait_acc']):
            out('{:<{w}}  {:6.3f}  {:6.3f}  {:6.3f}'.format(trait, mae, corr, acc, w=width))
        out('Means over the {} traits:'.format(len(names)))
    for m in METRICS[name]:
        if m.key in MOSI_VARIANTS and name == 'mosi':
            if m.key == MOSI_VARIANTS[0]:
                out('Variants that later papers report (not the definitions of the paper):')
            out('  ' + m.line.format(result[m.key]))
        else:
            out(m.line.format('{:.4f}'.format(result[m.key]) if name in MMSA_SETS and m.csv else result[m.key]))
