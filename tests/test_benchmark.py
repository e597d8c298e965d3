"""benchmark.py --quick (IEMOCAP and CMU-MOSI) and benchmarks/learning_parity.py --quick keep working: smoke runs,
not timing or learning tests."""
import json
import os
import re

import pytest

from helpers import run_script, write_pickle
from lmf import engine


def test_benchmark_quick_runs_every_section(tmp_path):
    out = tmp_path / 'report.md'
    proc = run_script('benchmark.py', '--quick', '--markdown', str(out))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = out.read_text()
    for section in ('train.py whole process', 'training step (steady state', 'inference, 48 test samples',
                    "LMF vs TFN, paper's setting", 'training samples/s vs rank'):
        assert section in report, report
    assert '| train.py whole process | happy, batch 128, 1 epochs |' in report, report
    assert '| train.py whole process | neutral, batch 16, 1 epochs |' in report, report
    assert re.search(r'\| neutral model, batch 16 \(131 MFLOP per step\) \| [0-9]+ samples/s \|.*\| Paddle [0-9]+%'
                     r'(, PyTorch [0-9]+%)? of [0-9]+ GFLOP/s \|', report), report
    assert re.search(r'\| parameters \| LMF 237,157 / TFN 9,313,877 \| .*1/39\.3', report), report
    assert 'p50' in report and 'p99' in report and 'MB' in report
    if 'PyTorch mirror' in report:  # torch installed: the mirror must compute the same probabilities
        diff = float(re.search(r'PyTorch mirror vs Paddle Inference, max \|prob difference\| on 64 samples: ([0-9.e+-]+)',
                               report).group(1))
        assert diff < 1e-5
    assert_onnx_rows(report, 'prob')


def assert_onnx_rows(report, kind):
    """ONNX Runtime rows at batch 128 and 1 (with latency) and its agreement with Paddle Inference, or the note
    saying why they are missing."""
    from lmf import deploy
    if deploy.missing_packages('onnxruntime', 'paddle2onnx'):
        assert 'ONNX Runtime rows left out' in report, report
        return
    assert re.search(r'\| ONNX Runtime, batch 128 \| [0-9]+ samples/s \|', report), report
    assert re.search(r'\| ONNX Runtime, batch 1 \| [0-9]+ samples/s \|.*\| p50 [0-9.]+ ms, p99 [0-9.]+ ms \|', report), report
    diff = float(re.search(r'ONNX Runtime vs Paddle Inference, max \|{} difference\| on 64 samples: ([0-9.e+-]+)'.format(
        kind), report).group(1))
    assert diff < 1e-5


def test_benchmark_regression_sections_quick(tmp_path):
    """--dataset mosi: train.py --dataset mosi against torch_train.py --dataset mosi, the mosi model's L1 step,
    and inference of its exported scores."""
    out = tmp_path / 'report.md'
    proc = run_script('benchmark.py', '--quick', '--dataset', 'mosi', '--sections', 'train,step,infer',
                      '--markdown', str(out))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = out.read_text()
    assert 'CMU-MOSI layout, 96/32/48 samples' in report, report
    assert '| train.py whole process | mosi, batch 32, 1 epochs |' in report, report
    assert re.search(r'\| training step \(steady state, [0-9]+ threads?\) \| mosi model, batch 32 \(', report), report
    assert '| inference, 48 test samples | Paddle Inference, batch 1 |' in report, report
    assert 'happy' not in report, report
    if 'PyTorch mirror' in report:  # the mirror computes the same (unsoftmaxed) scores
        diff = float(re.search(r'PyTorch mirror vs Paddle Inference, max \|output difference\| on 64 samples: '
                               r'([0-9.e+-]+)', report).group(1))
        assert diff < 1e-4
    assert_onnx_rows(report, 'output')


def test_training_flops_count_every_weight_of_the_built_model():
    """lmf_training_flops against a count from the parameters of the model train.py builds: a weight of shape
    [i, o] costs i * o multiply-adds a sample (the LSTM's per time step); backward repeats them for the weight's
    gradient and again for its input's, except where the input is the data."""
    import numpy as np
    from lmf import checkpoints, hparams, speed
    dims, steps = (74, 35, 300), 20
    for emotion in ('happy', 'neutral'):
        hp = hparams.emotion_hparams(emotion)
        model = checkpoints.build_model(hp, dims)
        reading_data = ('audio_subnet.linear_1.weight', 'video_subnet.linear_1.weight', 'text_subnet.rnn.weight_ih_l0')
        total = 0
        for name, p in model.named_parameters():
            if len(p.shape) < 2 or 'norm' in name or name.endswith('bias'):
                continue  # biases (fusion_bias is [1, out]) and BatchNorm: element-wise
            macs = int(np.prod(p.shape)) * (steps if '.rnn.' in name else 1)
            if name == 'fusion_weights':
                macs *= hp['output_dim']
            total += 2 * macs * (2 if name in reading_data else 3)
        assert speed.lmf_training_flops(hp, dims, steps) == total, emotion


def test_benchmark_jobs_section_quick(tmp_path):
    """--sections jobs: reproduce.py --only paper at --jobs 1 and at the default, both rows and their ratio; --seeds
    is refused where that section does not run."""
    out = tmp_path / 'report.md'
    proc = run_script('benchmark.py', '--quick', '--sections', 'jobs', '--markdown', str(out))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = out.read_text()
    assert re.search(r'\| reproduce.py --only paper --seeds 1 --quick \| --jobs 1 \([0-9]+ CPU threads? per run\) '
                     r'\| [0-9.]+ s \|', report), report
    assert re.search(r'\| default --jobs \([0-9]+ side by side, 1 CPU thread each\) \| [0-9.]+ s \| [0-9.]+ \|',
                     report), report
    refused = run_script('benchmark.py', '--quick', '--sections', 'step', '--seeds', '2')
    assert refused.returncode == 2 and '--seeds: only section jobs reads it' in refused.stderr, refused.stderr


def test_learning_parity_reads_the_run_record(tmp_path):
    """learning_parity runs an arm's script and reads the scores from the run record it writes, not its output; the
    report's tables show them."""
    from benchmarks import learning_parity
    from data import mosi
    from lmf import records
    data = write_pickle(tmp_path / 'mosi.pkl', mosi.make_sample_data(7, learning_parity.QUICK_SIZES))
    run = learning_parity.train_run('paddle', 'mosi', data, 5, str(tmp_path / 'work'), ['--epochs', '2'])
    folder = tmp_path / 'work' / 'paddle_seed_5'
    record = records.read(str(folder / 'train_mosi.json'))
    assert run == dict(record['metrics'], best_valid=record['best_valid_loss'], epochs=2, seconds=run['seconds'])
    assert 'Epoch 1 complete!' in (folder / 'output.txt').read_text() and record['settings']['seed'] == 5
    runs = {'paddle': [run], 'torch': [dict(run, mae=run['mae'] + 0.5)]}
    table = learning_parity.table(learning_parity.AUTHORS_ARMS, (('paddle', 'torch', 'Paddle - PyTorch'),),
                                  learning_parity.METRICS['mosi'], 'best validation MAE', runs, dict(mae=1.0), 'seed 5')
    assert table.splitlines()[:3] == [
        '| metric | Paddle train.py (seed 5) | PyTorch (seed 5) | Paddle - PyTorch | train-mean baseline |',
        '|---|---|---|---|---|',
        '| MAE | {:.4f} | {:.4f} | -0.5000 | 1.0000 |'.format(run['mae'], run['mae'] + 0.5)]
    assert '| epochs run | 2 | 2 |  |  |' in table
    per_seed = learning_parity.per_seed(learning_parity.AUTHORS_ARMS, 'framework',
                                        [('mae', 'mae'), ('epochs', 'epochs')], runs, [5])
    assert per_seed.splitlines()[2] == '| 5 | Paddle | {:.4f} | 2 |'.format(run['mae'])


def test_learning_parity_quick(tmp_path):
    """A smoke run of benchmarks/learning_parity.py: both frameworks train, test and report; the baseline is right."""
    pytest.importorskip('torch')
    import numpy as np
    from benchmarks import learning_parity
    from data import mosi
    out = tmp_path / 'parity.json'
    proc = run_script(os.path.join('benchmarks', 'learning_parity.py'), '--dataset', 'mosi', '--quick', '--seeds', '1',
                      '--data_seed', '7', '--json', str(out), '--workdir', str(tmp_path / 'work'))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '| MAE | ' in proc.stdout and 'train-mean baseline' in proc.stdout, proc.stdout
    result = json.loads(out.read_text())
    for name in ('paddle', 'torch'):
        (run,) = result[name]
        assert run['epochs'] == learning_parity.QUICK_EPOCHS, run
        for key in ('mae', 'corr', 'binary_acc', 'f1', 'acc7', 'best_valid'):
            assert np.isfinite(run[key]), (name, key, run)
    assert os.path.isfile(str(tmp_path / 'work' / 'paddle_seed_0' / 'mosi.pdparams'))
    assert os.path.isfile(str(tmp_path / 'work' / 'torch_seed_0' / 'torch_mosi.pt'))
    torch_record = json.loads((tmp_path / 'work' / 'torch_seed_0' / 'torch_mosi.json').read_text())  # read from
    assert torch_record['machine']['torch'] and torch_record['machine']['cpu_threads'] >= 1
    # the baseline, computed here from the generator itself
    data = mosi.make_sample_data(7, learning_parity.QUICK_SIZES)
    mean = data[b'train'][b'label'].astype(np.float64).mean(axis=0)
    expected = np.mean(np.abs(data[b'test'][b'label'].astype(np.float64) - mean))
    assert abs(result['baseline']['mae'] - expected) < 1e-6, (result['baseline'], expected)


# ---------------------------------------------------------------- MMSA's way in PyTorch (benchmarks/torch_train.py)

def _mmsa_splits(n=(40, 16, 16), steps=6, dims=(5, 7, 12), seed=0):
    """Tiny regression splits in MMSA's layout (already prepared: audio/video [N, D], text [N, T, E])."""
    import numpy as np
    from data.common import Split
    rng = np.random.default_rng(seed)
    splits = []
    for count in n:
        text = rng.standard_normal((count, steps, dims[2])).astype(np.float32)
        labels = np.clip(text[:, :, 0].mean(axis=1, keepdims=True) * 3, -3, 3).astype(np.float32)
        splits.append(Split(rng.standard_normal((count, dims[0])).astype(np.float32),
                            rng.standard_normal((count, dims[1])).astype(np.float32), text, labels,
                            regression=True, layout='mmsa'))
    return splits + [splits[0].dims]


@pytest.fixture
def torch_one_thread():
    """PyTorch with one math thread (its default of all cores crawls on a loaded CI machine)."""
    torch = pytest.importorskip('torch')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


def _mmsa_hp(**changes):
    from lmf import hparams
    hp = hparams.published_hparams('mosi', layout='mmsa')
    hp.update(output_dim=1, audio_hidden=4, video_hidden=4, text_hidden=8, batch_size=16)
    hp.update(changes)
    return hp


def test_torch_mmsa_way_never_trains_fusion_weights_and_has_no_text_dropout(tmp_path, torch_one_thread):
    """MMSA's optimizer (parameters()[:3] and [5:]) leaves fusion_weights and fusion_bias at their initial values
    while the factors and subnetworks train; its text subnetwork has dropout 0 (deterministic in train mode) while
    the audio subnetwork's dropout acts. --recipe ours trains the fusion weights."""
    torch = torch_one_thread
    from benchmarks import torch_lmf, torch_train
    from benchmarks.torch_lmf import FUSION_ORDER
    train, valid, _, dims = _mmsa_splits()
    hp = _mmsa_hp()
    torch_lmf.mmsa_seed(hp['seed'])  # train_mmsa seeds and builds the same way: these are its initial values
    initial = {k: v.clone() for k, v in torch_lmf.build(hp, dims, mmsa_text=True).state_dict().items()}
    run = torch_train.train_mmsa(hp, train, valid, dims, str(tmp_path / 'm.pt'), epochs=2, log=lambda line: None)
    model = run['model']
    assert [n for n, _ in model.named_parameters()][:5] == list(FUSION_ORDER)
    final = model.state_dict()
    for name in ('fusion_weights', 'fusion_bias'):
        assert torch.equal(final[name], initial[name]), name
    for name in ('audio_factor', 'video_factor', 'text_factor', 'text_subnet.rnn.weight_ih_l0',
                 'audio_subnet.linear_1.weight'):
        assert not torch.equal(final[name], initial[name]), name
    groups = torch_lmf.mmsa_optimizer(model, hp).param_groups
    assert [g['lr'] for g in groups] == [hp['factor_learning_rate'], hp['learning_rate']]
    assert all(g['weight_decay'] == hp['weight_decay'] for g in groups)
    in_groups = {id(p) for g in groups for p in g['params']}
    assert {n for n, p in model.named_parameters() if id(p) not in in_groups} == {'fusion_weights', 'fusion_bias'}
    # no text dropout: hp's 0.3 is dropped to 0 and the text features do not change between train-mode calls
    assert hp['text_dropout'] > 0 and model.text_subnet.dropout.p == 0.0
    model.train()
    text, audio = torch.from_numpy(train.text), torch.from_numpy(train.audio)
    assert torch.equal(model.text_subnet(text), model.text_subnet(text))
    assert not torch.equal(model.audio_subnet(audio), model.audio_subnet(audio))  # its dropout does act
    # recipe ours: the fusion weights train and the text dropout applies
    ours = torch_train.train_mmsa(hp, train, valid, dims, str(tmp_path / 'o.pt'), recipe='ours', epochs=2,
                                  log=lambda line: None)['model']
    assert not torch.equal(ours.state_dict()['fusion_weights'], initial['fusion_weights'])
    assert ours.text_subnet.dropout.p == hp['text_dropout']


def test_torch_mmsa_way_stops_8_epochs_after_the_best(tmp_path, torch_one_thread):
    """MMSA's rule on a crafted validation-loss sequence: better only if <= best - 1e-6, stop once
    epoch - best_epoch >= 8; the best state is the one returned."""
    from benchmarks import torch_train
    # epochs 1..: the best is epoch 5 (0.85); epochs 4 and 6 improve on the best by less than 1e-6 and do not count
    # (if they did, the run would stop at 14 or 15, with the best at 4 or 6)
    losses = [1.0, 0.9, 0.95, 0.9 - 5e-7, 0.85, 0.85 - 5e-7] + [0.85 + 1e-7, 0.86] * 20
    train, valid, _, dims = _mmsa_splits()
    seen, states = iter(losses), []

    def crafted(model, loader, criterion):
        states.append({k: v.clone() for k, v in model.state_dict().items()})
        return next(seen)

    lines = []
    run = torch_train.train_mmsa(_mmsa_hp(), train, valid, dims, str(tmp_path / 'm.pt'), log=lines.append,
                                 valid_loss=crafted)
    assert (run['epochs'], run['best_epoch'], run['best_valid']) == (13, 5, 0.85)
    assert sum(line.startswith('Epoch ') for line in lines) == 13
    assert lines[-1] == 'No improvement for 8 epochs (best epoch 4), stopping.'
    best = run['model'].state_dict()
    assert all(best[k].equal(v) for k, v in states[4].items())  # the state validated in epoch 5
    assert not all(best[k].equal(v) for k, v in states[-1].items())


def test_mmsa_parity_files_have_mmsa_shapes_and_are_read_as_mmsa(tmp_path, monkeypatch):
    """The parity files: MMSA's keys and the published files' shapes (MOSEI aligned: no lengths), read by
    engine.load_data as MMSA's layout, with a planted signal the train-mean baseline cannot have."""
    import numpy as np
    from benchmarks import mmsa_parity
    monkeypatch.setenv('LMF_CACHE_DIR', str(tmp_path / 'cache'))
    sizes = (('train', 24), ('valid', 8), ('test', 12))
    for shape, spec in mmsa_parity.SHAPES.items():
        data = mmsa_parity.make_file(shape, 3, sizes)
        part = data['train']
        assert part['text'].shape == (24, spec['text_len'], 768)
        assert part['audio'].shape == (24,) + spec['audio'] and part['vision'].shape == (24,) + spec['vision']
        assert ('audio_lengths' in part) == (not spec['aligned'])
        assert ('regression_labels_T' in part) == spec['sims']
        assert np.abs(part['regression_labels']).max() <= spec['high']
        assert np.isneginf(part['audio']).any() and not np.isfinite(part['text']).all() is False
        path = mmsa_parity.write_file(str(tmp_path / (shape + '.pkl')), shape, 3, sizes)
        train, valid, test, dims = engine.load_data(shape, path, verbose=False)
        assert (train.layout, train.synthetic, dims) == ('mmsa', True, (spec['audio'][1], spec['vision'][1], 768))
        assert (len(train), len(valid), len(test)) == (24, 8, 12) and np.isfinite(train.audio).all()
    again = mmsa_parity.make_file('mosi', 3, sizes)
    assert np.array_equal(again['test']['text'], mmsa_parity.make_file('mosi', 3, sizes)['test']['text'])


def test_learning_parity_mmsa_quick(tmp_path):
    """A smoke run of --layout mmsa: the three arms (PyTorch MMSA's way, Paddle --recipe mmsa, Paddle default)
    train, test and report MMSA's metrics."""
    pytest.importorskip('torch')
    import numpy as np
    from benchmarks import learning_parity
    out = tmp_path / 'parity.json'
    proc = run_script(os.path.join('benchmarks', 'learning_parity.py'), '--dataset', 'sims', '--quick', '--seeds', '1',
                      '--json', str(out), '--workdir', str(tmp_path / 'work'))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "| PyTorch, MMSA's way (seed 1111) | Paddle --recipe mmsa (seed 1111) |" in proc.stdout, proc.stdout
    assert '| Mult_acc_2 ([-1, 0], (0, 1]) |' in proc.stdout, proc.stdout
    result = json.loads(out.read_text())
    assert result['metric_set'] == 'mmsa_sims'
    for arm, _, _ in learning_parity.MMSA_ARMS:
        (run,) = result['runs'][arm]
        assert run['epochs'] == learning_parity.QUICK_EPOCHS, (arm, run)
        for key in ('Mult_acc_2', 'Mult_acc_3', 'Mult_acc_5', 'F1_score', 'MAE', 'Corr', 'best_valid'):
            assert np.isfinite(run[key]), (arm, key, run)


@pytest.mark.parametrize('recipe', ['mmsa', 'ours'])
def test_paddle_training_step_is_the_torch_mmsa_way_step(recipe, torch_one_thread):
    """train.py's model and optimizer and the PyTorch MMSA-way mirror, from the same weights on the same batches
    without dropout, compute the same losses step after step (mean L1, Adam groups with MMSA's rates, weight decay,
    BatchNorm in training mode); under --recipe mmsa both leave fusion_weights and fusion_bias as they were."""
    import numpy as np
    from benchmarks import mmsa_parity
    train, _, _, dims = _mmsa_splits(n=(48, 8, 8))
    hp = _mmsa_hp(weight_decay=0.005, learning_rate=0.002, factor_learning_rate=0.001)
    losses, paddle_state, torch_state = mmsa_parity.lockstep(hp, train, dims, steps=9, seed=3, recipe=recipe)
    losses = np.array(losses)
    assert np.allclose(losses[:, 0], losses[:, 1], rtol=1e-4, atol=1e-6), losses
    assert abs(losses[-1, 0] - losses[0, 0]) > 1e-3  # it did train
    for name, value in torch_state.items():
        if name.endswith('running_var'):  # Paddle keeps the biased batch variance, PyTorch the unbiased (n / (n-1))
            assert np.all(paddle_state[name] < value) and np.allclose(paddle_state[name], value, rtol=1.0 / 15), name
        else:
            assert np.allclose(paddle_state[name], value, rtol=1e-3, atol=1e-5), name
    _, _, initial = mmsa_parity.lockstep(hp, train, dims, steps=0, seed=3, recipe=recipe)
    fusion_moved = [not np.array_equal(paddle_state[n], initial[n]) for n in ('fusion_weights', 'fusion_bias')]
    assert fusion_moved == ([False, False] if recipe == 'mmsa' else [True, True])


def test_missing_training_quick(tmp_path):
    """benchmarks/missing_training.py --quick: both arms train under each seed and are scored at every rate; the
    table's cells are the JSON's scores."""
    import numpy as np
    out = tmp_path / 'missing.json'
    proc = run_script(os.path.join('benchmarks', 'missing_training.py'), '--quick', '--seeds', '2', '--json', str(out),
                      env=dict(LMF_CACHE_DIR=str(tmp_path / 'cache')))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result['rates'] == [round(0.1 * i, 1) for i in range(10)] and result['train_missing'] == 0.5
    for arm, label in (('clean', 'clean'), ('missing', 'with --train_missing 0.5')):
        runs = result['runs'][arm]
        assert len(runs) == 2 and all(len(run) == 10 for run in runs)
        row = next(line for line in proc.stdout.splitlines() if line.startswith('| {} (2 seeds'.format(label)))
        at_half = 100 * np.array([run['0.5'] for run in runs])
        assert row.split(' | ')[6] == '{:.1f} ± {:.1f}'.format(at_half.mean(), at_half.std(ddof=1)), row
