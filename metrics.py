"""Every dataset's test metrics in one place: IEMOCAP's weighted F1 and accuracy, the CMU-MOSI and
POM metrics of the authors' scripts, MMSA's regression metrics (CMU-MOSI / CMU-MOSEI and CH-SIMS /
CH-SIMS v2 in MMSA's feature files), and how test.py, train.py and infer.py print them.

The metrics of one run are chosen by a metric set name (metric_set()): 'iemocap', 'mosi' (the
authors' CMU-MOSI pickle), 'pom', 'mmsa_mosi' (MMSA's CMU-MOSI or CMU-MOSEI file) and 'mmsa_sims'
(MMSA's CH-SIMS or CH-SIMS v2 file).
"""
import re

import numpy as np


def weighted_f1(truth, predictions):
    """F1 per class weighted by its support, as sklearn's f1_score(average='weighted').

    Written out in NumPy so that the scripts need not import scikit-learn (about 0.8 s).
    """
    truth, predictions = np.asarray(truth), np.asarray(predictions)
    total = 0.0
    for label in np.union1d(truth, predictions):
        true_positive = np.sum((predictions == label) & (truth == label))
        denominator = np.sum(predictions == label) + np.sum(truth == label)
        total += np.sum(truth == label) * (2.0 * true_positive / denominator if denominator else 0.0)
    return float(total / len(truth))


def scores(truth, predictions):
    """(weighted F1, accuracy) of class predictions, as the paper and the seed report them."""
    truth, predictions = np.asarray(truth), np.asarray(predictions)
    return weighted_f1(truth, predictions), float(np.mean(truth == predictions))


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


def _mean_abs32(p, y):
    """MMSA's MAE before rounding: the float32 mean of |p - y| in float32."""
    return np.float64(np.mean(np.absolute(p - y)))


def _mean_abs64(p, y):
    """The same mean accumulated in float64 (the full-precision 'mae')."""
    return float(np.mean(np.abs(p.astype(np.float64) - y.astype(np.float64))))


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
    corr = pearson(p, y)
    result = dict(
        Has0_acc_2=_round_python(np.mean(has0_truth == has0_pred)),
        Has0_F1_score=_round_python(weighted_f1(has0_truth, has0_pred)),
        Non0_acc_2=_round_python(np.mean(non0_truth == non0_pred)) if nonzero.any() else float('nan'),
        Non0_F1_score=_round_python(weighted_f1(non0_truth, non0_pred)) if nonzero.any() else float('nan'),
        Mult_acc_5=_round_numpy(_exact_match(np.round(np.clip(p, -2., 2.)), np.round(np.clip(y, -2., 2.)))),
        Mult_acc_7=_round_numpy(_exact_match(np.round(np.clip(p, -3., 3.)), np.round(np.clip(y, -3., 3.)))),
        MAE=_round_numpy(_mean_abs32(p, y)),
        Corr=_round_numpy(corr))
    result.update(mae=_mean_abs64(p, y), corr=corr)
    return result


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
    corr = pearson(p, y)
    result = {'Mult_acc_{}'.format(k): _round_numpy(_exact_match(p_class[k], y_class[k])) for k in SIMS_EDGES}
    result.update(F1_score=_round_python(weighted_f1(y_class[2], p_class[2])),
                  MAE=_round_numpy(_mean_abs32(p, y)), Corr=_round_numpy(corr))
    result.update(mae=_mean_abs64(p, y), corr=corr)
    return result


# ---------------------------------------------------------------- metric sets, printing

METRIC_SETS = ('iemocap', 'mosi', 'pom', 'mmsa_mosi', 'mmsa_sims')
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
    if name == 'mosi':
        return mosi_metrics(truth, outputs)
    if name == 'pom':
        return pom_metrics(truth, outputs)
    if name == 'mmsa_mosi':
        return mmsa_mosi_metrics(truth, outputs)
    if name == 'mmsa_sims':
        return mmsa_sims_metrics(truth, outputs)
    f1, accuracy = scores(truth, outputs.argmax(axis=1))
    return dict(f1=f1, accuracy=accuracy)


IEMOCAP_LINES = (('f1', 'F1-score on test set is {}'),
                 ('accuracy', 'Accuracy score on test set is {}'))


def display(f1, accuracy, out=print):
    for (_, line), value in zip(IEMOCAP_LINES, (f1, accuracy)):
        out(line.format(value))


MOSI_LINES = (('mae', 'MAE on test set is {}'),
              ('corr', 'Correlation w.r.t human evaluation on test set is {}'),
              ('mult_acc', 'Multiclass accuracy on test set is {}'),
              ('binary_acc', 'Binary accuracy on test set is {}'),
              ('f1', 'F1-score on test set is {}'))
MOSI_VARIANT_LINES = (('acc7', 'Acc-7 (prediction and truth clipped to [-3, 3]) on test set is {}'),
                      ('binary_acc_nonzero', 'Acc-2 without zero-labelled samples on test set is {}'),
                      ('f1_nonzero', 'F1-score without zero-labelled samples on test set is {}'))
POM_LINES = (('mae', 'MAE on test set is {}'),
             ('corr', 'Correlation w.r.t human evaluation on test set is {}'),
             ('acc', 'Multiclass accuracy on test set is {}'))


# MMSA's metric sets print MAE and Corr at full precision like the other regression datasets, then
# every MMSA metric in MMSA's order, its 4-decimal value formatted with MMSA_VALUE_FORMAT (so
# 0.779 shows as 0.7790). All the lines keep '{}' for the value, so one parser reads them all.
MMSA_VALUE_FORMAT = '{:.4f}'
_MMSA_HEAD = (('mae', 'MAE on test set is {}'),
              ('corr', 'Correlation w.r.t human evaluation on test set is {}'))
MMSA_MOSI_LINES = _MMSA_HEAD + tuple((key, key + ' on test set is {}') for key in MMSA_MOSI_KEYS)
MMSA_SIMS_LINES = _MMSA_HEAD + tuple((key, key + ' on test set is {}') for key in MMSA_SIMS_KEYS)
# The lines of each metric set that start a line (the CMU-MOSI variants are indented, POM's
# per-trait table is not in this form).
LINES = {'iemocap': IEMOCAP_LINES, 'mosi': MOSI_LINES, 'pom': POM_LINES,
         'mmsa_mosi': MMSA_MOSI_LINES, 'mmsa_sims': MMSA_SIMS_LINES}


def parse_results(name, text):
    """{key: float} of the last block of LINES[name] that show_results printed in `text` (a log).

    The block is matched as a whole, line after line, because in MMSA's sets two lines read alike:
    'MAE on test set is {}' is the full-precision 'mae' first and MMSA's rounded 'MAE' later, so a
    line-by-line search for the first (or last) 'MAE on test set is' finds the wrong one. {} if none.
    """
    keys = [key for key, _ in LINES[name]]
    block = '\n'.join(re.escape(line).replace(re.escape('{}'), r'(\S+)') for _, line in LINES[name])
    found = list(re.finditer('^' + block + '$', text, flags=re.MULTILINE))
    return {key: float(value) for key, value in zip(keys, found[-1].groups())} if found else {}


# Scalar test metrics that train.py's --seeds summarises: (result key, per-seed label, summary label).
SEED_METRICS = {
    'iemocap': (('f1', 'F1', 'F1-score'), ('accuracy', 'accuracy', 'accuracy')),
    'mosi': (('mae', 'MAE', 'MAE'), ('corr', 'Corr', 'correlation'), ('mult_acc', 'multiclass acc', 'multiclass accuracy'),
             ('binary_acc', 'binary acc', 'binary accuracy'), ('f1', 'F1', 'F1-score'),
             ('acc7', 'Acc-7 clipped', 'Acc-7 (clipped)'), ('binary_acc_nonzero', 'Acc-2 non-0', 'Acc-2 (non-zero)'),
             ('f1_nonzero', 'F1 non-0', 'F1-score (non-zero)')),
    'pom': (('mae', 'MAE', 'MAE (mean over traits)'), ('corr', 'Corr', 'correlation (mean over traits)'),
            ('acc', 'acc', 'multiclass accuracy (mean over traits)')),
    'mmsa_mosi': (('Has0_acc_2', 'Has0_acc_2', 'Has0_acc_2 (all samples, >= 0 positive)'),
                  ('Has0_F1_score', 'Has0_F1', 'Has0_F1_score (weighted)'),
                  ('Non0_acc_2', 'Non0_acc_2', 'Non0_acc_2 (truth != 0, > 0 positive)'),
                  ('Non0_F1_score', 'Non0_F1', 'Non0_F1_score (weighted)'),
                  ('Mult_acc_5', 'Mult_acc_5', 'Mult_acc_5 (clipped to [-2, 2])'),
                  ('Mult_acc_7', 'Mult_acc_7', 'Mult_acc_7 (clipped to [-3, 3])'),
                  ('MAE', 'MAE', 'MAE'), ('Corr', 'Corr', 'correlation')),
    'mmsa_sims': (('Mult_acc_2', 'Mult_acc_2', 'Mult_acc_2 ([-1, 0], (0, 1])'),
                  ('Mult_acc_3', 'Mult_acc_3', 'Mult_acc_3 (edges -0.1, 0.1)'),
                  ('Mult_acc_5', 'Mult_acc_5', 'Mult_acc_5 (edges -0.7, -0.1, 0.1, 0.7)'),
                  ('F1_score', 'F1_score', 'F1_score (weighted, 2 classes)'),
                  ('MAE', 'MAE', 'MAE (clipped to [-1, 1])'), ('Corr', 'Corr', 'correlation (clipped)')),
}


def show_results(name, result, out=print):
    """Print the test metrics of metric set `name` (a metric_set() name): as the authors' script did
    (IEMOCAP: the seed's two lines), for MMSA's sets the lines of MMSA_MOSI_LINES / MMSA_SIMS_LINES."""
    if name in ('mmsa_mosi', 'mmsa_sims'):
        for i, (key, line) in enumerate(LINES[name]):
            out(line.format(result[key] if i < len(_MMSA_HEAD) else MMSA_VALUE_FORMAT.format(result[key])))
    elif name == 'iemocap':
        display(result['f1'], result['accuracy'], out)
    elif name == 'mosi':
        for key, line in MOSI_LINES:
            out(line.format(result[key]))
        out('Variants that later papers report (not the definitions of the paper):')
        for key, line in MOSI_VARIANT_LINES:
            out('  ' + line.format(result[key]))
    else:
        from data.pom import trait_names  # noqa: the reader imports nothing of this module
        names = trait_names(len(result['trait_mae']))
        width = max(len(n) for n in names)
        out('{:<{w}}  {:>6}  {:>6}  {:>6}'.format('trait', 'MAE', 'Corr', 'Acc', w=width))
        for trait, mae, corr, acc in zip(names, result['trait_mae'], result['trait_corr'], result['trait_acc']):
            out('{:<{w}}  {:6.3f}  {:6.3f}  {:6.3f}'.format(trait, mae, corr, acc, w=width))
        out('Means over the {} traits:'.format(len(names)))
        for key, line in POM_LINES:
            out(line.format(result[key]))
