"""lmf/metrics.py: MMSA's regression metrics against computations written here independently (scikit-learn,
np.corrcoef, np.digitize), their edge cases, the metric sets and the lines show_results prints."""
import warnings

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from lmf import metrics

MOSI_KEYS = ['Has0_acc_2', 'Has0_F1_score', 'Non0_acc_2', 'Non0_F1_score', 'Mult_acc_5', 'Mult_acc_7', 'MAE', 'Corr']
SIMS_KEYS = ['Mult_acc_2', 'Mult_acc_3', 'Mult_acc_5', 'F1_score', 'MAE', 'Corr']


# ---------------------------------------------------------------- independent references
#
# MMSA evaluates torch float32 tensors through NumPy and scikit-learn and rounds with round() whatever
# type comes back: scikit-learn's Python floats, NumPy float64 for its own sums and corrcoef.

def ref_mosi(truth, pred):
    y = np.array(truth, dtype=np.float32).reshape(-1)
    p = np.array(pred, dtype=np.float32).reshape(-1)
    keep = [i for i in range(len(y)) if y[i] != 0]

    def exact(a, b):
        return np.sum(a == b) / float(len(a))

    def clip_round(v, bound):
        return np.round(np.clip(v, -bound, bound))

    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        corr = np.corrcoef(p, y)[0][1]
    out = {
        'Has0_acc_2': round(accuracy_score(y >= 0, p >= 0), 4),
        'Has0_F1_score': round(f1_score(y >= 0, p >= 0, average='weighted'), 4),
        'Non0_acc_2': round(accuracy_score(y[keep] > 0, p[keep] > 0), 4) if keep else float('nan'),
        'Non0_F1_score': round(f1_score(y[keep] > 0, p[keep] > 0, average='weighted'), 4) if keep else float('nan'),
        'Mult_acc_5': round(exact(clip_round(p, 2.), clip_round(y, 2.)), 4),
        'Mult_acc_7': round(exact(clip_round(p, 3.), clip_round(y, 3.)), 4),
        'MAE': round(np.mean(np.abs(p - y)).astype(np.float64), 4),
        'Corr': round(corr, 4)}
    return out, corr


def ref_sims_class(values, edges):
    """Class of each float32 value: i with edges[i] < v <= edges[i + 1] (np.digitize, right=True)."""
    return np.digitize(values, np.array(edges, dtype=np.float32), right=True) - 1


def ref_sims(truth, pred):
    y = np.clip(np.array(truth, dtype=np.float32).reshape(-1), -1., 1.)
    p = np.clip(np.array(pred, dtype=np.float32).reshape(-1), -1., 1.)
    edges = {2: [-1.01, 0.0, 1.01], 3: [-1.01, -0.1, 0.1, 1.01], 5: [-1.01, -0.7, -0.1, 0.1, 0.7, 1.01]}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        corr = np.corrcoef(p, y)[0][1]
    out = {}
    for k, e in edges.items():
        cp, cy = ref_sims_class(p, e), ref_sims_class(y, e)
        assert cp.min() >= 0 and cp.max() < k and cy.min() >= 0 and cy.max() < k
        out['Mult_acc_{}'.format(k)] = round(np.sum(cp == cy) / float(len(cy)), 4)
        if k == 2:
            out['F1_score'] = round(f1_score(cy, cp, average='weighted'), 4)
    out['MAE'] = round(np.mean(np.abs(p - y)).astype(np.float64), 4)
    out['Corr'] = round(corr, 4)
    return {key: out[key] for key in SIMS_KEYS}, corr


def same(a, b):
    return (np.isnan(a) and np.isnan(b)) or a == b


def check(result, reference, keys):
    assert list(k for k in result if k not in ('mae', 'corr')) == keys  # MMSA's names and order
    for key in keys:
        assert isinstance(result[key], float), key
        assert same(result[key], float(reference[key])), (key, result[key], reference[key])


def quiet(function, *args):
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # the implementation itself warns about nothing
        return function(*args)


# ---------------------------------------------------------------- random data

def mosi_like(rng, n):
    """Labels on MOSI's grid (thirds, many zeros, exact halves), predictions with exact 0s and halves."""
    y = rng.randint(-9, 10, n) / 3.0
    y[rng.rand(n) < 0.1] = 0.0
    y[rng.rand(n) < 0.1] = rng.choice([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5], 1)
    p = rng.randn(n) * 1.6
    p[rng.rand(n) < 0.05] = 0.0
    p[rng.rand(n) < 0.1] = rng.choice([-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5])
    return y, p


@pytest.mark.parametrize('seed', range(8))
def test_mmsa_mosi_equals_independent_computation(seed):
    rng = np.random.RandomState(seed)
    n = rng.randint(2, 700)
    y, p = mosi_like(rng, n)
    if seed % 2:
        y, p = y.astype(np.float32)[:, None], p.astype(np.float32)[:, None]  # [N, 1] float32, as evaluated
    result = quiet(metrics.mmsa_mosi_metrics, y, p)
    reference, corr = ref_mosi(y, p)
    check(result, reference, MOSI_KEYS)
    y64, p64 = np.asarray(y, np.float32).astype(np.float64).ravel(), np.asarray(p, np.float32).astype(np.float64).ravel()
    assert result['mae'] == pytest.approx(np.mean(np.abs(p64 - y64)), abs=1e-12)
    assert result['corr'] == corr
    from scipy.stats import pearsonr
    assert result['corr'] == pytest.approx(pearsonr(p64, y64)[0], abs=1e-12)
    assert abs(result['mae'] - result['MAE']) <= 5e-5 + 1e-7  # the two MAE lines agree to rounding
    assert abs(result['corr'] - result['Corr']) <= 5e-5 + 1e-12


@pytest.mark.parametrize('seed', range(8))
def test_mmsa_sims_equals_independent_computation(seed):
    rng = np.random.RandomState(100 + seed)
    n = rng.randint(2, 500)
    y = rng.randint(-10, 11, n) / 10.0  # CH-SIMS labels are multiples of 0.1, many on the edges
    y[rng.rand(n) < 0.05] = rng.uniform(-1.5, 1.5)  # beyond +-1: clipped
    p = rng.uniform(-1.3, 1.3, n)
    p[rng.rand(n) < 0.2] = rng.choice([-1.0, -0.7, -0.1, 0.0, 0.1, 0.7, 1.0, -1.2, 1.2])
    if seed % 2:
        y, p = y.astype(np.float32)[:, None], p.astype(np.float32)[:, None]
    result = quiet(metrics.mmsa_sims_metrics, y, p)
    reference, corr = ref_sims(y, p)
    check(result, reference, SIMS_KEYS)
    yc = np.clip(np.asarray(y, np.float32).ravel(), -1, 1).astype(np.float64)
    pc = np.clip(np.asarray(p, np.float32).ravel(), -1, 1).astype(np.float64)
    assert result['mae'] == pytest.approx(np.mean(np.abs(pc - yc)), abs=1e-12)  # clipped, MMSA's definition
    assert result['corr'] == corr == pytest.approx(np.corrcoef(pc, yc)[0, 1], abs=1e-12)
    assert abs(result['mae'] - result['MAE']) <= 5e-5 + 1e-7


def test_weighted_f1_equals_sklearn_on_its_edges():
    cases = [([1, 1, 1], [1, 1, 1]),                 # a single class
             ([1, 1, 1], [0, 0, 0]),                 # the true class never predicted, the predicted one absent
             ([0, 1, 1], [1, 1, 1]),                 # a class absent from the predictions
             ([0, 0, 1, 2], [0, 0, 0, 0]),
             ([True, False, True], [True, True, True]),
             ([0.0, 1.0], [2.0, 2.0]), ([1], [0]), ([3], [3])]
    rng = np.random.RandomState(0)
    for _ in range(200):
        n, k = rng.randint(1, 60), rng.randint(1, 5)
        cases.append((rng.randint(0, k, n), rng.randint(0, rng.randint(1, k + 1), n)))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for truth, pred in cases:
            assert metrics.weighted_f1(truth, pred) == f1_score(truth, pred, average='weighted'), (truth, pred)


# ---------------------------------------------------------------- hand cases: CMU-MOSI / MOSEI

def test_zero_labels_count_positive_in_has0_and_are_left_out_of_non0():
    y = [0.0, 0.0, 1.0, -1.0]
    p = [-0.5, 0.5, 1.0, 1.0]
    m = quiet(metrics.mmsa_mosi_metrics, y, p)
    # Has0: truth >= 0 is T T T F, prediction >= 0 is F T T T
    assert m['Has0_acc_2'] == 0.5
    assert m['Has0_F1_score'] == 0.5  # class T: 2 * 2 / (3 + 3) weighted 3/4; class F: 0
    # Non0: only the samples 1.0 and -1.0; truth > 0 T F, prediction > 0 T T
    assert m['Non0_acc_2'] == 0.5
    assert m['Non0_F1_score'] == 0.3333  # class T: 2 / 3 weighted 1/2; class F: 0
    check(m, ref_mosi(y, p)[0], MOSI_KEYS)


def test_predictions_exactly_zero_are_positive_in_has0_negative_in_non0():
    y, p = [1.0, -1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]
    m = quiet(metrics.mmsa_mosi_metrics, y, p)
    assert m['Has0_acc_2'] == 0.75  # 0 >= 0: right for 1.0, 0.0 and 2.0
    assert m['Non0_acc_2'] == 0.3333  # 0 > 0 is false: right only for -1.0
    assert m['Mult_acc_7'] == 0.25 and m['MAE'] == 1.0
    assert np.isnan(m['Corr']) and np.isnan(m['corr'])  # constant predictions
    check(m, ref_mosi(y, p)[0], MOSI_KEYS)


def test_only_zero_labels_leave_non0_undefined():
    m = quiet(metrics.mmsa_mosi_metrics, [0.0, 0.0, 0.0], [0.4, -1.0, 2.0])
    assert m['Has0_acc_2'] == 0.6667
    assert np.isnan(m['Non0_acc_2']) and np.isnan(m['Non0_F1_score'])  # MMSA raises an IndexError here


# (prediction, truth, Mult_acc_5 match, Mult_acc_7 match): np.round halves to even after clipping.
ROUNDING = [(0.5, 0.0, 1, 1), (0.5, 1.0, 0, 0), (1.5, 2.0, 1, 1), (1.5, 1.0, 0, 0), (-2.5, -2.0, 1, 1),
            (-2.5, -3.0, 1, 0),    # a5: -2.5 -> -2, -3 clipped to -2; a7: -2 vs -3
            (2.5, 3.0, 1, 0), (2.5, 2.0, 1, 1), (-0.5, 0.0, 1, 1), (-1.5, -2.0, 1, 1),
            (3.5, 3.0, 1, 1),      # clipped to 3 (a7) and 2 (a5)
            (-3.7, -2.6, 1, 1), (0.49, 0.0, 1, 1), (0.51, 0.0, 0, 0), (2.4, 2.6, 1, 0),
            (0.50000001, 0.0, 1, 1)]  # 0.5 in float32, as MMSA's tensors hold it


@pytest.mark.parametrize('pred, truth, match5, match7', ROUNDING)
def test_mult_acc_rounds_half_to_even_after_clipping(pred, truth, match5, match7):
    m = quiet(metrics.mmsa_mosi_metrics, [truth], [pred])
    assert (m['Mult_acc_5'], m['Mult_acc_7']) == (match5, match7)
    check(m, ref_mosi([truth], [pred])[0], MOSI_KEYS)


def test_mult_acc_over_all_rounding_cases_at_once():
    p, y = [r[0] for r in ROUNDING], [r[1] for r in ROUNDING]
    m = quiet(metrics.mmsa_mosi_metrics, y, p)
    assert m['Mult_acc_5'] == round(sum(r[2] for r in ROUNDING) / len(ROUNDING), 4)
    assert m['Mult_acc_7'] == round(sum(r[3] for r in ROUNDING) / len(ROUNDING), 4)
    check(m, ref_mosi(y, p)[0], MOSI_KEYS)


def test_all_predictions_one_class():
    rng = np.random.RandomState(3)
    y = rng.randint(-9, 10, 50) / 3.0
    p = np.abs(rng.randn(50)) + 0.1  # every prediction positive
    m = quiet(metrics.mmsa_mosi_metrics, y, p)
    check(m, ref_mosi(y, p)[0], MOSI_KEYS)
    positive = np.mean(y >= 0)
    assert m['Has0_acc_2'] == round(positive, 4)
    assert m['Has0_F1_score'] == round(positive * 2 * positive / (1 + positive), 4)  # the negative class scores 0
    one = quiet(metrics.mmsa_mosi_metrics, [1.0, 2.0], [0.5, 3.0])  # one class in truth and predictions
    assert one['Has0_acc_2'] == one['Has0_F1_score'] == one['Non0_acc_2'] == one['Non0_F1_score'] == 1.0


def test_rounding_follows_the_type_mmsa_rounds():
    """1/160 = 0.00625: scikit-learn's Python float rounds up (0.0063), MMSA's NumPy float64 to even (0.0062)."""
    y = np.ones(160)
    p = -np.ones(160)
    p[0] = 1.0
    m = quiet(metrics.mmsa_mosi_metrics, y, p)
    assert m['Has0_acc_2'] == m['Non0_acc_2'] == 0.0063
    assert m['Mult_acc_5'] == m['Mult_acc_7'] == 0.0062
    check(m, ref_mosi(y, p)[0], MOSI_KEYS)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError):
        metrics.mmsa_mosi_metrics([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        metrics.mmsa_sims_metrics([], [])


# ---------------------------------------------------------------- hand cases: CH-SIMS

# value -> (2-class, 3-class, 5-class) bin; intervals (lo, hi] after clipping to [-1, 1].
SIMS_BINS = {-1.0: (0, 0, 0), -0.7: (0, 0, 0), -0.69: (0, 0, 1), -0.1: (0, 0, 1), -0.09: (0, 1, 2),
             0.0: (0, 1, 2), 0.1: (1, 1, 2), 0.11: (1, 2, 3), 0.7: (1, 2, 3), 0.71: (1, 2, 4), 1.0: (1, 2, 4),
             -1.5: (0, 0, 0), 1.2: (1, 2, 4), -7.0: (0, 0, 0), 3.0: (1, 2, 4)}
CENTRES = {2: (-0.5, 0.5), 3: (-0.5, 0.0, 0.5), 5: (-0.85, -0.4, 0.0, 0.4, 0.85)}


@pytest.mark.parametrize('value', sorted(SIMS_BINS))
@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_sims_interval_edges(value, dtype):
    for k, expected in zip((2, 3, 5), SIMS_BINS[value]):
        for c, centre in enumerate(CENTRES[k]):
            for truth, pred in ((value, centre), (centre, value)):  # the edge as label and as prediction
                m = quiet(metrics.mmsa_sims_metrics, np.array([truth], dtype), np.array([pred], dtype))
                assert m['Mult_acc_{}'.format(k)] == float(c == expected), (value, k, c)
    assert [int(c) for c in metrics.sims_classes(np.array([value], np.float32).clip(-1, 1), 5)] == [SIMS_BINS[value][2]]


def test_sims_clips_before_mae_and_corr():
    y, p = [1.0, -1.0, 0.5, 0.0], [3.0, -2.0, 0.5, 0.2]
    m = quiet(metrics.mmsa_sims_metrics, y, p)
    assert m['MAE'] == 0.05 and m['mae'] == pytest.approx(0.05, abs=1e-7)  # |0.2 - 0| / 4 after clipping
    assert m['Mult_acc_2'] == 0.75 and m['Mult_acc_3'] == 0.75 and m['Mult_acc_5'] == 0.75
    check(m, ref_sims(y, p)[0], SIMS_KEYS)


def test_sims_one_class_and_constant_predictions():
    y = [-0.8, -0.2, 0.0, 0.4, 0.9]
    m = quiet(metrics.mmsa_sims_metrics, y, [0.3] * 5)  # every prediction in one class: (0, 1], (0.1, 1], (0.1, 0.7]
    assert m['Mult_acc_2'] == 0.4 and m['Mult_acc_3'] == 0.4 and m['Mult_acc_5'] == 0.2
    assert m['F1_score'] == round(0.4 * 2 * 0.4 / 1.4, 4)
    assert np.isnan(m['Corr']) and np.isnan(m['corr'])
    check(m, ref_sims(y, [0.3] * 5)[0], SIMS_KEYS)
    same_class = quiet(metrics.mmsa_sims_metrics, [0.2, 0.5], [0.9, 0.3])
    assert same_class['Mult_acc_2'] == same_class['F1_score'] == 1.0


# ---------------------------------------------------------------- metric sets and printed lines

def test_metric_sets():
    assert [metrics.metric_set(d, 'authors') for d in ('iemocap', 'mosi', 'pom')] == ['iemocap', 'mosi', 'pom']
    assert [metrics.metric_set(d, 'mmsa') for d in ('mosi', 'mosei', 'sims', 'simsv2')] == \
        ['mmsa_mosi', 'mmsa_mosi', 'mmsa_sims', 'mmsa_sims']
    for dataset, layout in (('sims', 'authors'), ('mosei', 'authors'), ('pom', 'mmsa'), ('iemocap', 'mmsa'),
                            ('mosi', 'other'), ('imdb', 'authors')):
        with pytest.raises(ValueError):
            metrics.metric_set(dataset, layout)
    assert set(metrics.SEED_METRICS) == set(metrics.METRICS) == set(metrics._SETS.values())


def test_metric_table_names_each_metric_once():
    for name, table in metrics.METRICS.items():
        keys = [m.key for m in table]
        assert len(keys) == len(set(keys)), name
        csv = [m.csv for m in table if m.csv]
        assert len(csv) == len(set(csv)), name
        positions = sorted(m.column[0] for m in table if m.column)
        assert positions == list(range(len(positions))), name
    assert [k for k, _, _ in metrics.columns('mosi')] == ['mae', 'corr', 'binary_acc', 'f1', 'mult_acc']
    assert [m.key for m in metrics.METRICS['mosi'] if not m.higher] == ['mae']
    assert metrics.shown('mmsa_sims') == (('MAE', 'MAE'), ('Corr', 'Corr'), ('Mult_acc_2', 'Mult_acc_2'),
                                          ('Mult_acc_3', 'Mult_acc_3'), ('F1_score', 'F1'))


def test_task_metrics_of_the_mmsa_sets():
    rng = np.random.RandomState(5)
    y, p = rng.uniform(-1, 1, (30, 1)).astype(np.float32), rng.uniform(-1, 1, (30, 1)).astype(np.float32)
    assert metrics.task_metrics('mmsa_mosi', y, p) == metrics.mmsa_mosi_metrics(y, p)
    assert metrics.task_metrics('mmsa_sims', y, p) == metrics.mmsa_sims_metrics(y, p)


def printed(name, result):
    lines = []
    metrics.show_results(name, result, out=lines.append)
    return lines


def test_show_results_mmsa_mosi():
    result = dict(Has0_acc_2=0.779, Has0_F1_score=0.7788, Non0_acc_2=0.7912, Non0_F1_score=0.791, Mult_acc_5=0.35,
                  Mult_acc_7=0.3, MAE=0.9241, Corr=0.6678, mae=0.92405123456789, corr=0.66781234567891)
    lines = printed('mmsa_mosi', result)
    assert lines == ['MAE on test set is 0.92405123456789',
                     'Correlation w.r.t human evaluation on test set is 0.66781234567891',
                     'Has0_acc_2 on test set is 0.7790',
                     'Has0_F1_score on test set is 0.7788',
                     'Non0_acc_2 on test set is 0.7912',
                     'Non0_F1_score on test set is 0.7910',
                     'Mult_acc_5 on test set is 0.3500',
                     'Mult_acc_7 on test set is 0.3000',
                     'MAE on test set is 0.9241',
                     'Corr on test set is 0.6678']
    assert [m.key for m in metrics.METRICS['mmsa_mosi'] if m.line] == ['mae', 'corr'] + MOSI_KEYS


def test_show_results_mmsa_sims_with_nan_corr():
    result = metrics.mmsa_sims_metrics([-0.8, -0.2, 0.0, 0.4, 0.9], [0.3] * 5)
    lines = printed('mmsa_sims', result)
    assert lines == ['MAE on test set is {}'.format(result['mae']),
                     'Correlation w.r.t human evaluation on test set is nan',
                     'Mult_acc_2 on test set is 0.4000',
                     'Mult_acc_3 on test set is 0.4000',
                     'Mult_acc_5 on test set is 0.2000',
                     'F1_score on test set is 0.2286',
                     'MAE on test set is 0.5200',
                     'Corr on test set is nan']
    assert [m.key for m in metrics.METRICS['mmsa_sims'] if m.line] == ['mae', 'corr'] + SIMS_KEYS


def test_show_results_of_the_existing_sets_unchanged():
    assert printed('iemocap', dict(f1=0.85, accuracy=0.8625)) == [
        'F1-score on test set is 0.85', 'Accuracy score on test set is 0.8625']
    mosi = dict(mae=0.91, corr=0.668, mult_acc=0.328, binary_acc=0.764, f1=0.757, acc7=0.33,
                binary_acc_nonzero=0.77, f1_nonzero=0.76)
    assert printed('mosi', mosi) == [
        'MAE on test set is 0.91',
        'Correlation w.r.t human evaluation on test set is 0.668',
        'Multiclass accuracy on test set is 0.328',
        'Binary accuracy on test set is 0.764',
        'F1-score on test set is 0.757',
        'Variants that later papers report (not the definitions of the paper):',
        '  Acc-7 (prediction and truth clipped to [-3, 3]) on test set is 0.33',
        '  Acc-2 without zero-labelled samples on test set is 0.77',
        '  F1-score without zero-labelled samples on test set is 0.76']
    pom = dict(mae=0.796, corr=0.396, acc=0.428, trait_mae=[0.5, 0.25], trait_corr=[0.1, -0.2], trait_acc=[0.4, 1.0])
    assert printed('pom', pom) == [
        'trait       MAE    Corr     Acc',
        'label_1   0.500   0.100   0.400',
        'label_2   0.250  -0.200   1.000',
        'Means over the 2 traits:',
        'MAE on test set is 0.796',
        'Correlation w.r.t human evaluation on test set is 0.396',
        'Multiclass accuracy on test set is 0.428']


def test_seed_metrics():
    """MMSA's sets in MMSA's order, without the full-precision duplicates of MAE and Corr."""
    assert [m.key for m in metrics.SEED_METRICS['mmsa_mosi']] == MOSI_KEYS
    assert [m.key for m in metrics.SEED_METRICS['mmsa_sims']] == SIMS_KEYS
    assert [m.key for m in metrics.SEED_METRICS['iemocap']] == ['f1', 'accuracy']
