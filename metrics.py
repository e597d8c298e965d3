"""Every dataset's test metrics in one place: IEMOCAP's weighted F1 and accuracy, the CMU-MOSI and
POM metrics of the authors' scripts, and how test.py, train.py and infer.py print them.
"""
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


def task_metrics(dataset, truth, outputs):
    """The dataset's metrics of model outputs [N, K] (logits for IEMOCAP) against its targets."""
    if dataset == 'mosi':
        return mosi_metrics(truth, outputs)
    if dataset == 'pom':
        return pom_metrics(truth, outputs)
    f1, accuracy = scores(truth, outputs.argmax(axis=1))
    return dict(f1=f1, accuracy=accuracy)


def display(f1, accuracy, out=print):
    out('F1-score on test set is {}'.format(f1))
    out('Accuracy score on test set is {}'.format(accuracy))


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


def show_results(dataset, result, out=print):
    """Print a dataset's test metrics as its authors' script did (IEMOCAP: the seed's two lines)."""
    if dataset == 'iemocap':
        display(result['f1'], result['accuracy'], out)
    elif dataset == 'mosi':
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
        for name, mae, corr, acc in zip(names, result['trait_mae'], result['trait_corr'], result['trait_acc']):
            out('{:<{w}}  {:6.3f}  {:6.3f}  {:6.3f}'.format(name, mae, corr, acc, w=width))
        out('Means over the {} traits:'.format(len(names)))
        for key, line in POM_LINES:
            out(line.format(result[key]))
