"""CMU-MOSI and POM: readers, sample generators, metrics, L1 training, the CLI and bad input."""
import os
import re
import sys

import numpy as np
import paddle
import pytest

from helpers import REPO, assert_clean_error, cli_error, iemocap_data, run_main, run_script, write_pickle
from data import mosi, pom
from lmf import hparams
import safe_io
from lmf import engine
from lmf import checkpoints
from lmf import metrics

SIZES = (('train', 48), ('valid', 16), ('test', 24))
READERS = {'mosi': mosi, 'pom': pom}


def flat_data(dataset, sizes=SIZES, synthetic=True, seed=0):
    data = READERS[dataset].make_sample_data(seed, sizes)
    if not synthetic:
        data.pop(b'synthetic')
    return data


@pytest.fixture(scope='module')
def pickles(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('regression')
    return {name: write_pickle(tmp / '{}.pkl'.format(name), flat_data(name)) for name in READERS}


# ---------------------------------------------------------------- readers and generators

@pytest.mark.parametrize('dataset', ['mosi', 'pom'])
@pytest.mark.parametrize('as_bytes', [True, False])
def test_reader_reads_sizes_from_the_file_and_cleans_features(tmp_path, capsys, dataset, as_bytes):
    rng = np.random.RandomState(0)
    labels = 3 if dataset == 'pom' else 1
    key = (lambda s: s.encode()) if as_bytes else (lambda s: s)
    data = {key(split): {key('covarep'): rng.randn(n, 5), key('facet'): rng.randn(n, 7),
                         key('glove'): rng.randn(n, 4, 6).astype(np.float32),
                         key('label'): rng.randn(n, labels)} for split, n in SIZES}
    data[key('train')][key('covarep')][0, :3] = [np.nan, -np.inf, np.inf]
    data[key('train')][key('facet')][1, 2] = np.nan
    path = write_pickle(tmp_path / 'd.pkl', data)
    train_set, valid_set, test_set, dims = engine.load_data(dataset, path)
    assert dims == (5, 7, 6) and [len(s) for s in (train_set, valid_set, test_set)] == [48, 16, 24]
    assert train_set.regression and not train_set.synthetic
    assert train_set.targets.shape == (48, labels) and train_set.targets.dtype == np.float32
    assert list(train_set.audio[0, :3]) == [0, 0, 0] and train_set.video[1, 2] == 0
    assert all(np.isfinite(a).all() for a in (train_set.audio, train_set.video, train_set.text))
    np.testing.assert_allclose(test_set.labels, data[key('test')][key('label')].astype(np.float32))
    layout = ["{}: the authors' processed CMU-MOSI pickle (covarep/facet/glove)".format(path)] if dataset == 'mosi' else []
    assert capsys.readouterr().out.splitlines() == layout + ['Audio feature dimension is: 5',
                                                             'Visual feature dimension is: 7',
                                                             'Text feature dimension is: 6']


@pytest.mark.parametrize('dataset', ['mosi', 'pom'])
def test_sample_layout_ranges_and_determinism(tmp_path, dataset):
    reader = READERS[dataset]
    first, second = tmp_path / 'a.pkl', tmp_path / 'b.pkl'
    reader.write_sample_data(str(first), 3, SIZES)
    reader.write_sample_data(str(second), 3, SIZES)
    assert first.read_bytes() == second.read_bytes()
    raw = safe_io.safe_load_pickle(str(first))
    assert set(raw) == {b'train', b'valid', b'test', b'synthetic'}
    low, high = reader.LABEL_RANGE
    for split, n in SIZES:
        part = raw[split.encode()]
        assert part[b'covarep'].shape == (n, reader.AUDIO_DIM) and part[b'facet'].shape == (n, reader.VIDEO_DIM)
        assert part[b'glove'].shape == (n, 20, 300) and part[b'glove'].dtype == np.float32
        assert part[b'label'].shape == (n, 1 if dataset == 'mosi' else 16)
        assert low <= part[b'label'].min() and part[b'label'].max() <= high
    merged = {k: np.concatenate([raw[s.encode()][k] for s, _ in SIZES]) for k in (b'covarep', b'facet')}
    assert np.isnan(merged[b'covarep']).any() and np.isneginf(merged[b'covarep']).any()
    assert np.isnan(merged[b'facet']).any()
    assert engine.load_data(dataset, str(first), verbose=False)[0].synthetic


@pytest.mark.parametrize('dataset', ['mosi', 'pom'])
def test_default_split_sizes_are_the_standard_ones(dataset):
    assert dict(READERS[dataset].SPLIT_SIZES) == {'mosi': dict(train=1284, valid=229, test=686),
                                                  'pom': dict(train=600, valid=100, test=203)}[dataset]


def _ridge_r2(features, labels, split):
    x = np.hstack([features, np.ones((len(features), 1))])
    w = np.linalg.solve(x[:split].T @ x[:split] + 1.0 * np.eye(x.shape[1]), x[:split].T @ labels[:split])
    residual = labels[split:] - x[split:] @ w
    return 1 - residual.var() / labels[split:].var()


def test_mosi_sample_needs_all_three_modalities():
    """A linear model on all three modalities explains much more than on any one of them."""
    data = mosi.make_sample_data(0, (('train', 1500), ('valid', 1), ('test', 1)))[b'train']
    clean = {k: np.nan_to_num(data[k], nan=0, posinf=0, neginf=0) for k in (b'covarep', b'facet')}
    # the text cue's level is in the word vectors: max-pool over time keeps it
    modalities = {'audio': clean[b'covarep'], 'video': clean[b'facet'], 'text': data[b'glove'].max(axis=1)}
    labels = data[b'label'][:, 0]
    single = {name: _ridge_r2(x, labels, 1000) for name, x in modalities.items()}
    together = _ridge_r2(np.hstack(list(modalities.values())), labels, 1000)
    assert together > max(single.values()) + 0.15, (single, together)


# ---------------------------------------------------------------- metrics

def test_mosi_metrics_against_sklearn_scipy_and_hand_cases():
    from scipy.stats import pearsonr
    from sklearn.metrics import accuracy_score, f1_score
    rng = np.random.RandomState(0)
    y = np.round(rng.uniform(-3, 3, 200) * 5) / 5
    y[:10] = 0
    p = y + rng.randn(200) * 1.2
    m = metrics.mosi_metrics(y[:, None], p[:, None])
    assert m['mae'] == pytest.approx(np.mean(np.abs(p - y)))
    assert m['corr'] == pytest.approx(pearsonr(p, y)[0])
    assert m['binary_acc'] == pytest.approx(accuracy_score(y >= 0, p >= 0))
    assert m['f1'] == pytest.approx(f1_score(y >= 0, p >= 0, average='weighted'))
    nonzero = y != 0
    assert m['binary_acc_nonzero'] == pytest.approx(accuracy_score(y[nonzero] > 0, p[nonzero] > 0))
    assert m['f1_nonzero'] == pytest.approx(f1_score(y[nonzero] > 0, p[nonzero] > 0, average='weighted'))
    # hand cases: rounding without clipping (the authors') and with clipping (later papers)
    hand = metrics.mosi_metrics(np.array([3.0, -3.0, 0.4, 0.0]), np.array([3.6, -4.0, 0.6, -0.2]))
    assert hand['mult_acc'] == 0.25  # round: 4 vs 3, -4 vs -3, 1 vs 0, -0 vs 0 -> only the last agrees
    assert hand['acc7'] == 0.75  # clipped: 3 == 3, -3 == -3, 1 != 0, 0 == 0
    assert hand['binary_acc'] == 0.75  # y >= 0: T F T T; p >= 0: T F T F
    assert hand['binary_acc_nonzero'] == 1.0  # the y == 0 sample is left out
    assert np.isnan(metrics.mosi_metrics(y, np.zeros_like(y))['corr'])  # constant predictions: no correlation
    assert np.isnan(metrics.pearson(np.full(7, 0.1) + np.full(7, 0.2), y[:7]))  # constant, whatever the rounding


def test_pom_metrics_per_trait_and_means():
    from scipy.stats import pearsonr
    rng = np.random.RandomState(1)
    y = rng.uniform(1, 7, (50, 16))
    p = y + rng.randn(50, 16)
    m = metrics.pom_metrics(y, p)
    for k in range(16):
        assert m['trait_mae'][k] == pytest.approx(np.mean(np.abs(p[:, k] - y[:, k])))
        assert m['trait_corr'][k] == pytest.approx(pearsonr(p[:, k], y[:, k])[0])
        assert m['trait_acc'][k] == pytest.approx(np.mean(np.round(p[:, k]) == np.round(y[:, k])))
    assert (m['mae'], m['corr'], m['acc']) == pytest.approx(
        (np.mean(m['trait_mae']), np.mean(m['trait_corr']), np.mean(m['trait_acc'])))
    hand = metrics.pom_metrics(np.array([[1.0, 7.0], [4.4, 2.0]]), np.array([[1.4, 5.0], [3.6, 2.0]]))
    assert hand['trait_mae'] == pytest.approx([0.6, 1.0]) and hand['trait_acc'] == [1.0, 0.5]  # 4.4 and 3.6 both round to 4


# ---------------------------------------------------------------- training

def test_l1_loss_is_summed_and_validation_is_the_authors_mae(pickles):
    out = paddle.to_tensor(np.array([[1.0, 2.0], [0.0, -1.0]], dtype='float32'))
    target = paddle.to_tensor(np.array([[0.5, 2.0], [1.0, 1.0]], dtype='float32'))
    assert float(engine.summed_loss(out, target, regression=True)) == pytest.approx(0.5 + 0 + 1 + 2)
    _, valid_set, _, dims = engine.load_data('pom', pickles['pom'], verbose=False)
    hp = dict(hparams.published_hparams('pom'), output_dim=16)
    paddle.seed(0)
    model = checkpoints.build_model(hp, dims)
    result = engine.evaluate(model, valid_set, batch_size=5)
    expected = np.abs(result['outputs'] - valid_set.labels).sum() / len(valid_set) / 16
    assert result['loss'] == pytest.approx(expected, rel=1e-6) and result['outputs'].shape == (16, 16)


MOSI_LINES = ['MAE on test set is ', 'Correlation w.r.t human evaluation on test set is ',
              'Multiclass accuracy on test set is ', 'Binary accuracy on test set is ', 'F1-score on test set is ']


def result_block(text, first):
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    end = next(i for i, line in enumerate(lines) if line.startswith('(These scores are on SYNTHETIC'))
    return lines[start:end + 1]


@pytest.fixture(scope='module')
def trained(tmp_path_factory, pickles):
    """CMU-MOSI (2 epochs) and POM with --trait reserved (1 epoch) through train.py: {dataset: (what it printed,
    checkpoint folder, log folder)}."""
    runs = {}
    for dataset, args in (('mosi', ['--epochs', '2']), ('pom', ['--trait', 'reserved', '--epochs', '1'])):
        tmp = tmp_path_factory.mktemp(dataset)
        out = run_main('train', ['--dataset', dataset, '--data_path', pickles[dataset], '--model_path', tmp / 'check',
                                 '--log_dir', tmp / 'log'] + args)
        runs[dataset] = out, tmp / 'check', tmp / 'log'
    return runs


def test_mosi_train_then_test_prints_the_authors_lines(trained, pickles):
    out, check, log = trained['mosi']
    assert os.listdir(check) == ['mosi.pdparams'] and sorted(os.listdir(log)) == ['train_mosi.json', 'train_mosi.txt']
    assert 'output_dim=1' in out and 'Training mosi on ' in out
    lines = result_block(out, 'MAE on test set is ')
    assert [line[:len(p)] for line, p in zip(lines, MOSI_LINES)] == MOSI_LINES
    assert lines[5].startswith('Variants that later papers report')
    assert lines[-1] == '(These scores are on SYNTHETIC sample data, not CMU-MOSI results.)'
    test = run_main('test', ['--dataset', 'mosi', '--data_path', pickles['mosi'], '--check_path', check])
    assert 'Start testing mosi......' in test
    assert result_block(test, 'MAE on test set is ') == lines  # same checkpoint, same numbers


def test_pom_trait_selects_the_row_and_the_model_predicts_every_trait(trained):
    out, check, _ = trained['pom']
    row = hparams.HPARAMS['pom']['Reserve']  # hyperparams.txt calls the trait 'Reserve'
    assert 'Training pom (hyperparameters of trait Reserved) on ' in out
    for name in ('audio_hidden', 'video_hidden', 'text_hidden', 'rank', 'batch_size', 'factor_learning_rate'):
        assert '{}={}'.format(name, row[name]) in out
    lines = result_block(out, 'trait ')
    assert [line.split()[0] for line in lines[1:17]] == list(pom.TRAITS)
    assert lines[17].startswith('Means over the 16 traits')
    assert lines[18].startswith('MAE on test set is ') and lines[20].startswith('Multiclass accuracy on test set is ')
    model, hp, _ = checkpoints.model_from_checkpoint(str(check / 'pom.pdparams'), 'pom', dataset='pom')
    assert hp['output_dim'] == 16 and hp['trait'] == 'Reserved'


def test_mosi_seeds_report_every_metric(tmp_path, pickles):
    out = run_main('train', ['--dataset', 'mosi', '--data_path', pickles['mosi'], '--epochs', '1', '--text_hidden', '8',
                             '--seeds', '2', '--model_path', tmp_path, '--log_dir', tmp_path])
    for label in ('MAE', 'correlation', 'multiclass accuracy', 'binary accuracy', 'F1-score', 'Acc-7 (clipped)',
                  'Acc-2 (non-zero)', 'F1-score (non-zero)'):
        assert re.search(r'Test {} over 2 seeds: [-0-9.na]+ \+- [0-9.na]+'.format(re.escape(label)), out), label
    assert os.path.isfile(tmp_path / 'mosi.pdparams')


STUB = """#!/bin/bash
if [ "$1" = -c ]; then exec "$REAL_PYTHON" "$@"; fi
echo "$*" >> "$CALLS"
"""


def test_train_sh_and_run_lfm_sh_take_the_dataset_and_the_trait(tmp_path, pickles):
    """What train.sh and run_lfm.sh run for DATASET and TRAIT, with PYTHON a stub that records the scripts' command
    lines (the real interpreter answers their `python -c` questions); an unknown DATASET is one error line. The
    IEMOCAP chain runs for real once, in test_cli.py."""
    stub = tmp_path / 'python'
    stub.write_text(STUB)
    stub.chmod(0o755)
    calls = tmp_path / 'calls'
    env = {'PYTHON': str(stub), 'REAL_PYTHON': sys.executable, 'CALLS': str(calls), 'DATA_PATH': pickles['mosi'],
           'CHECK_DIR': 'c', 'LOG_DIR': 'l'}

    def run(script, *args, **changes):
        calls.write_text('')
        proc = run_script('bash', script, *args, env=dict(env, **changes))
        return proc, calls.read_text().splitlines()
    proc, ran = run('train.sh', '--epochs', '1', DATASET='mosi')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == 'Start training mosi......' and proc.stdout.count('Start training') == 1
    assert ran == ['train.py --dataset mosi --data_path {} --model_path c --log_dir l --epochs 1'.format(pickles['mosi'])]
    proc, ran = run('train.sh', '--epochs', '1', DATASET='pom', TRAIT='Vivid', DATA_PATH=pickles['pom'])
    assert ran == ['train.py --dataset pom --trait Vivid --data_path {} --model_path c --log_dir l --epochs 1'.format(
        pickles['pom'])], proc.stderr
    proc, ran = run('run_lfm.sh', DATASET='mosi')
    assert proc.returncode == 0, proc.stderr
    assert ran == ['test.py --dataset mosi --data_path {} --check_path c'.format(pickles['mosi'])]
    for script in ('train.sh', 'run_lfm.sh'):
        proc, ran = run(script, DATASET='tfn')
        assert_clean_error(proc, 'DATASET=tfn', 'iemocap, mosi, pom')
        assert ran == []


# ---------------------------------------------------------------- bad input

def _nothing_written(tmp_path):
    return not (tmp_path / 'c').exists() and not (tmp_path / 'l').exists()


def _train(tmp_path, *args):
    return list(args) + ['--epochs', '1', '--model_path', tmp_path / 'c', '--log_dir', tmp_path / 'l']


@pytest.mark.parametrize('dataset, data, fragments', [
    ('iemocap', 'mosi', ['train/valid/test at the top level', '--dataset mosi']),
    ('mosi', 'iemocap', ['angry, happy, neutral, sad at the top level', 'as the IEMOCAP file does', '--dataset iemocap']),
    ('mosi', 'pom', ['labels have 16 columns but CMU-MOSI has one', '--dataset pom']),
    ('pom', 'mosi', ['labels have 1 column but POM has one per trait', '--dataset mosi']),
])
def test_a_file_of_another_dataset_is_refused(tmp_path, pickles, dataset, data, fragments):
    path = write_pickle(tmp_path / 'iemocap.pkl', iemocap_data()) if data == 'iemocap' else pickles[data]
    cli_error('train', _train(tmp_path, '--dataset', dataset, '--data_path', path), path, *fragments)
    assert _nothing_written(tmp_path)


@pytest.mark.parametrize('dataset', ['iemocap', 'mosi', 'pom'])
@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_non_finite_labels_are_refused_in_every_dataset(tmp_path, dataset, bad):
    if dataset == 'iemocap':
        data = iemocap_data(emotions=('happy',))
        data[b'happy'][b'valid'][b'label'][3, 1] = bad
        where = 'happy/valid/label'
    else:
        data = flat_data(dataset, synthetic=False)
        data[b'valid'][b'label'][3, 0] = bad
        where = 'valid/label'
    path = write_pickle(tmp_path / 'bad.pkl', data)
    cli_error('train', _train(tmp_path, '--dataset', dataset, '--data_path', path), 'bad.pkl', where, 'NaN or infinite',
              'row 3')
    assert _nothing_written(tmp_path)


def test_output_dim_must_equal_the_label_count(tmp_path, pickles):
    cli_error('train', _train(tmp_path, '--dataset', 'pom', '--data_path', pickles['pom'], '--output_dim', '17'),
              'labels have 16 columns but --output_dim is 17')
    assert _nothing_written(tmp_path)


@pytest.mark.parametrize('args, fragments', [
    (['--dataset', 'mosi', '--emotion', 'sad'], ['--emotion selects an IEMOCAP model']),
    (['--trait', 'Vivid'], ['--trait', 'does not apply to --dataset iemocap']),
    (['--dataset', 'pom', '--trait', 'Grumpy'], ["--trait: unknown trait 'Grumpy'", 'Confidence, Passion']),
])
def test_task_flags_that_do_not_fit_the_dataset(tmp_path, pickles, args, fragments):
    cli_error('train', _train(tmp_path, *args, '--data_path', pickles['mosi']), *fragments)
    assert _nothing_written(tmp_path)


def test_checkpoint_of_another_dataset_or_label_count_is_refused(tmp_path, pickles, trained):
    mosi_checkpoint, pom_checkpoint = (str(trained[d][1] / (d + '.pdparams')) for d in ('mosi', 'pom'))
    cli_error('test', ['--dataset', 'pom', '--data_path', pickles['pom'], '--check_path', mosi_checkpoint],
              '--dataset pom contradicts checkpoint', 'trained on mosi')
    cli_error('test', ['--emotion', 'happy', '--data_path', write_pickle(tmp_path / 'i.pkl', iemocap_data()),
                       '--check_path', mosi_checkpoint], '--dataset iemocap contradicts checkpoint', 'trained on mosi')
    seed_checkpoint = os.path.join(REPO, '..', 'shared', 'reference', 'lmf_paddle_check', 'happy.pkl')
    if os.path.isfile(seed_checkpoint):  # the earlier port's files are IEMOCAP's
        cli_error('test', ['--dataset', 'mosi', '--data_path', pickles['mosi'], '--check_path', seed_checkpoint],
                  '--dataset mosi contradicts checkpoint', 'bare state dict as the earlier port wrote')
    # a POM file with another number of traits than the checkpoint was trained for
    data = flat_data('pom', synthetic=False)
    for split in (b'train', b'valid', b'test'):
        data[split][b'label'] = data[split][b'label'][:, :3]
    cli_error('test', ['--dataset', 'pom', '--data_path', write_pickle(tmp_path / 'k3.pkl', data),
                       '--check_path', pom_checkpoint], 'k3.pkl: labels have 3 columns but the output_dim of checkpoint',
              'is 16')
