"""Speed and memory of this port, side by side in one run, reported as ratios.

    python benchmark.py                      # full run (about 4 minutes on 2 cores)
    python benchmark.py --quick              # seconds: keeps the script working (the tests run it)
    python benchmark.py --markdown out.md --plot benchmarks/rank_speed.png
    python benchmark.py --dataset mosi --sections train,step   # CMU-MOSI (or pom): its sizes, model and L1 loss

Sections (each compares within the same run, alternating the contenders, median of repeats):
 0. Data loading: the first load (unpickle, prepare, write the cache of prepared arrays) and the second
    (the cached arrays, memory-mapped) of an IEMOCAP-size pickle and of a CMU-MOSEI-size MMSA feature file
    (16326/1871/4659 samples, about 8.5 GB), each in its own process: seconds and peak RSS.
 1. train.py's whole process (load, train a fixed number of epochs, keep the best, test) on an
    IEMOCAP-sized synthetic pickle (4 emotions x 2717/798/938 samples; happy's published hyperparameters), at
    batch 128 and 16, against the same process in PyTorch (benchmarks/torch_train.py), with peak RSS;
    and the steady-state training step of the same model in both, in this process.
 2. Inference over the 938-sample test split: infer.py's Paddle Inference path, the Paddle dynamic
    graph, ONNX Runtime (CPU) on the exported inference.onnx, and PyTorch eval of the same weights;
    batch-1 latency p50/p99.
 3. LMF against TFN at the paper's setting (audio/video hidden 32, text out 64, rank 4, output 1):
    parameters, training and inference samples/s (the paper's Table 3).
 4. LMF training samples/s against rank 1..64 beside TFN (the plot).
PyTorch columns appear when torch is installed (pip install -r requirements-bench.txt), the ONNX Runtime
rows when onnxruntime and paddle2onnx are (requirements.txt); otherwise the report says they were left out.

With --dataset mosi or pom, sections 1 and 2 run that dataset's task instead: train.py --dataset X
against benchmarks/torch_train.py --dataset X on a SYNTHETIC pickle of the dataset's real
split sizes (CMU-MOSI 1284/229/686, POM 600/100/203) at the table's batch size, the training
step of that dataset's model with the summed L1 loss, and inference of its exported regression
scores. Sections 3 and 4 do not depend on the dataset.
"""
import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

from lmf import checkpoints, deploy, engine, hparams, speed
import safe_io
import utils

HERE = os.path.dirname(os.path.abspath(__file__))
IEMOCAP_SIZES = (('train', 2717), ('valid', 798), ('test', 938))
QUICK_SIZES = (('train', 96), ('valid', 32), ('test', 48))


def have_onnx():
    """onnxruntime and paddle2onnx both installed (the ONNX Runtime rows need them)."""
    return not deploy.missing_packages('onnxruntime', 'paddle2onnx')


def have_torch():
    return not deploy.missing_packages('torch')


def run_measured(cmd, env=None):
    """Run `python script args...` through benchmarks/peak_rss.py (env: extra environment variables).

    Returns (wall seconds, peak RSS MB of that process). Raises on failure.
    """
    with tempfile.NamedTemporaryFile(suffix='.rss') as peak_file:
        full = [cmd[0], os.path.join('benchmarks', 'peak_rss.py'), peak_file.name] + cmd[1:]
        start = time.perf_counter()
        proc = subprocess.run(full, cwd=HERE, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError('{} failed:\n{}{}'.format(' '.join(cmd), proc.stdout[-2000:], proc.stderr[-2000:]))
        return wall, float(open(peak_file.name).read() or 'nan')


# ---------------------------------------------------------------- 0. data loading

MOSEI_SIZES = (('train', 16326), ('valid', 1871), ('test', 4659))  # MMSA's CMU-MOSEI split


def load_times(dataset, data_path, task, rows, case):
    """First load (unpickle, prepare, write the cache) and second load (the cached arrays, memory-mapped)
    of a data file, each in its own process: wall seconds of engine.load_data and peak RSS."""
    py = sys.executable
    with tempfile.TemporaryDirectory(dir=os.path.dirname(data_path)) as cache:
        results = []
        for _ in ('first', 'second'):
            cmd = [py, os.path.join('benchmarks', 'load_once.py'), dataset, data_path] + ([task] if task else [])
            with tempfile.NamedTemporaryFile(suffix='.rss') as peak_file:
                full = [py, os.path.join('benchmarks', 'peak_rss.py'), peak_file.name] + cmd[1:]
                done = subprocess.run(full, cwd=HERE, capture_output=True, text=True,
                                      env=dict(os.environ, LMF_CACHE_DIR=cache))
                if done.returncode != 0:
                    raise RuntimeError('{} failed:\n{}'.format(' '.join(cmd), done.stderr[-2000:]))
                seconds = float(done.stdout.split('load seconds: ')[1].split()[0])
                results.append((seconds, float(open(peak_file.name).read() or 'nan')))
    (first, first_rss), (second, second_rss) = results
    size = os.path.getsize(data_path) / 2 ** 20
    rows.append(dict(section='data loading', case='{}, {:,.0f} MB pickle: first load / second load'.format(case, size),
                     paddle='{:.2f} s / {:.3f} s'.format(first, second), ratio='{:.0f}'.format(first / second),
                     peak='{:.0f} MB / {:.0f} MB'.format(first_rss, second_rss)))


def loading(workdir, quick, rows, notes):
    """Section 0: an IEMOCAP-size pickle of the paper's layout and a CMU-MOSEI-size MMSA file (several GB)."""
    from data import iemocap, mmsa
    iemocap_path = os.path.join(workdir, 'iemocap_load.pkl')
    iemocap.write_sample_data(iemocap_path, sizes=QUICK_SIZES if quick else IEMOCAP_SIZES)
    load_times('iemocap', iemocap_path, 'happy', rows, 'IEMOCAP (4 emotions)')
    os.remove(iemocap_path)
    mosei_path = os.path.join(workdir, 'mosei_load.pkl')
    mmsa.write_sample_data(mosei_path, 'mosei', sizes=QUICK_SIZES if quick else MOSEI_SIZES)
    load_times('mosei', mosei_path, None, rows, 'CMU-MOSEI unaligned (MMSA layout)')
    os.remove(mosei_path)
    notes.append('data loading: SYNTHETIC files of the real sizes{}; ratio = first / second'.format(' (--quick: tiny)' if quick else ''))


# ---------------------------------------------------------------- 1. train.py

def train_process(data_path, workdir, epochs, repeats, rows, dataset='iemocap'):
    py = sys.executable
    if dataset == 'iemocap':
        task, torch_extra, batch_sizes = ['--emotion', 'happy'], [], (128, 16)
    else:  # fixed-length runs in both: early stopping off
        task, torch_extra = ['--dataset', dataset], ['--patience', str(epochs)]
        batch_sizes = (hparams.published_hparams(dataset)['batch_size'],)
    for batch_size in batch_sizes:
        common = task + ['--data_path', data_path, '--epochs', str(epochs), '--batch_size', str(batch_size)]
        contenders = {'paddle': lambda: run_measured(
            [py, 'train.py'] + common + ['--patience', str(epochs), '--model_path', workdir, '--log_dir', workdir])}
        if have_torch():
            contenders['torch'] = lambda: run_measured(
                [py, os.path.join('benchmarks', 'torch_train.py')] + common + torch_extra + ['--model_path', workdir])
        results = speed.alternate(contenders, repeats)
        paddle_wall = speed.median([w for w, _ in results['paddle']])
        # For scale: the memory of a process that only imports paddle and makes one tensor.
        _, import_rss = run_measured([py, os.path.join('benchmarks', 'import_only.py')])
        row = dict(section='train.py whole process', case='{}, batch {}, {} epochs'.format(
            'happy' if dataset == 'iemocap' else dataset, batch_size, epochs),
                   paddle='{:.2f} s'.format(paddle_wall),
                   peak='{:.0f} MB (import alone {:.0f} MB, pickle {:.0f} MB)'.format(
                       max(r for _, r in results['paddle']), import_rss, os.path.getsize(data_path) / 2 ** 20))
        if 'torch' in results:
            row['peak'] += ', PyTorch {:.0f} MB'.format(max(r for _, r in results['torch']))
        if 'torch' in results:
            torch_wall = speed.median([w for w, _ in results['torch']])
            row.update(torch='{:.2f} s'.format(torch_wall), ratio='{:.2f}'.format(torch_wall / paddle_wall))
        rows.append(row)


def regression_task(dataset):
    """(published hyperparameters with output_dim, input dims) of CMU-MOSI or POM's model at the real file's sizes."""
    import data
    reader = data.module(dataset)
    hp = hparams.published_hparams(dataset)
    hp['output_dim'] = 1 if dataset == 'mosi' else len(reader.TRAITS)
    return hp, (reader.AUDIO_DIM, reader.VIDEO_DIM, 300)


def training_steps(batches, steps, repeats, rows, dataset='iemocap'):
    """Steady-state training samples/s of happy's model (or CMU-MOSI's / POM's, with the summed L1
    loss), Paddle against PyTorch, in one process."""
    import paddle
    import paddle.nn.functional as F
    regression = dataset in hparams.REGRESSION
    if regression:
        hp, dims = regression_task(dataset)
    else:
        hp, dims = hparams.emotion_hparams('happy'), (74, 35, 300)
    rng = np.random.RandomState(0)
    for batch in batches:
        data = [rng.randn(batch, dims[0]).astype('float32'), rng.randn(batch, dims[1]).astype('float32'),
                rng.randn(batch, 20, dims[2]).astype('float32'),
                rng.randn(batch, hp['output_dim']).astype('float32') if regression
                else rng.randint(0, 2, batch).astype('int64')]
        paddle.seed(0)
        model = checkpoints.build_model(hp, dims)
        model.train()
        optimizer = engine.make_optimizer(model, hp['learning_rate'], hp['factor_learning_rate'], hp['weight_decay'])

        def paddle_step():
            audio, video, text, target = (paddle.to_tensor(a) for a in data)
            out = model(audio, video, text)
            loss = engine.summed_loss(out, target, True) if regression else F.cross_entropy(out, target, reduction='sum')
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            float(loss)

        contenders = {'paddle': paddle_step}
        if have_torch():
            import torch
            from benchmarks.torch_lmf import LMF as TorchLMF
            if regression:  # torch_train.py's model and optimizer groups
                from benchmarks import torch_train
                torch_model = torch_train.build(hp, dims)
                torch_optimizer = torch_train.make_optimizer(torch_model, hp)
                torch_loss = torch.nn.functional.l1_loss
            else:
                torch_model = TorchLMF((74, 35, 300), (hp['audio_hidden'], hp['video_hidden'], hp['text_hidden']),
                                       hp['text_hidden'] // 2, (hp['audio_dropout'], hp['video_dropout'],
                                                                hp['text_dropout'], 0.5), 2, hp['rank'])
                torch_optimizer = torch.optim.Adam(torch_model.parameters(), lr=1e-3, weight_decay=hp['weight_decay'])
                torch_loss = torch.nn.functional.cross_entropy

            def torch_step():
                loss = torch_loss(
                    torch_model(*(torch.from_numpy(a) for a in data[:3])), torch.from_numpy(data[3]), reduction='sum')
                torch_optimizer.zero_grad()
                loss.backward()
                torch_optimizer.step()
                loss.item()

            contenders['torch'] = torch_step

        def timed(step):
            step()
            start = time.perf_counter()
            for _ in range(steps):
                step()
            return batch * steps / (time.perf_counter() - start)

        results = {k: speed.median(v) for k, v in speed.alternate({k: (lambda s=s: timed(s)) for k, s in contenders.items()},
                                                          repeats).items()}
        row = dict(section='training step (steady state)', case='{} model, batch {}'.format(
            'happy' if dataset == 'iemocap' else dataset, batch),
                   paddle='{:.0f} samples/s'.format(results['paddle']))
        if 'torch' in results:
            row.update(torch='{:.0f} samples/s'.format(results['torch']),
                       ratio='{:.2f}'.format(results['paddle'] / results['torch']))
        rows.append(row)


# ---------------------------------------------------------------- 2. inference

def torch_from_paddle_state(state, hp, dims):
    """The PyTorch mirror with the weights of a Paddle LMF state dict."""
    import torch
    from benchmarks.torch_lmf import LMF as TorchLMF
    model = TorchLMF(dims, (hp['audio_hidden'], hp['video_hidden'], hp['text_hidden']), hp['text_hidden'] // 2,
                     (0, 0, 0, 0), hp['output_dim'], hp['rank'])
    mapped = {}
    for name, value in state.items():
        if '.cell.' in name:
            continue  # Paddle's second name for the same LSTM weights
        name = name.replace('norm._mean', 'norm.running_mean').replace('norm._variance', 'norm.running_var')
        if name.endswith('.weight') and 'linear' in name:
            value = value.T  # Paddle Linear is [in, out], torch [out, in]
        mapped[name] = torch.from_numpy(np.ascontiguousarray(value))
    mapped.update({k: v for k, v in model.state_dict().items() if k.endswith('num_batches_tracked')})
    model.load_state_dict(mapped, strict=True)
    return model.eval()


def timed_batches(fn, dataset, batch_size):
    """Seconds per batch of fn(audio, video, text) over the dataset (after one warm-up batch)."""
    arrays = (dataset.audio, dataset.video, dataset.text)
    fn(*(a[:batch_size] for a in arrays))
    times = []
    for start in range(0, len(dataset), batch_size):
        batch = [np.ascontiguousarray(a[start:start + batch_size]) for a in arrays]
        t0 = time.perf_counter()
        fn(*batch)
        times.append(time.perf_counter() - t0)
    return times


def inference(checkpoint, test_set, workdir, repeats, rows, check_rows, dataset='iemocap'):
    """IEMOCAP: happy's exported class probabilities; CMU-MOSI / POM: the exported regression scores."""
    import paddle
    regression = dataset in hparams.REGRESSION
    name = hparams.model_name(dataset, 'happy')
    model, hp, dims = checkpoints.model_from_checkpoint(checkpoint, name, use_softmax=not regression, dataset=dataset)
    export_dir = os.path.join(workdir, 'export')
    task = ['--dataset', dataset] if regression else ['--emotion', 'happy']
    subprocess.run([sys.executable, 'export_model.py'] + task + ['--check_path', checkpoint,
                    '--save_inference_dir', export_dir], cwd=HERE, check=True, capture_output=True)

    def predictors(use_onnx):  # infer.py's, with its defaults: the thread count depends on the batch size
        return {batch: deploy.Predictor(os.path.join(export_dir, name), use_onnx,
                                        cpu_threads=deploy.default_cpu_threads(batch)) for batch in (1, 128)}
    inference_predictors = predictors(False)

    def paddle_inference(a, v, t):
        return inference_predictors[1 if len(a) == 1 else 128].run(a, v, t)

    def paddle_dynamic(a, v, t):
        with paddle.no_grad():
            return model(paddle.to_tensor(a), paddle.to_tensor(v), paddle.to_tensor(t)).numpy()

    contenders = {'Paddle Inference': paddle_inference, 'Paddle dynamic': paddle_dynamic}
    if have_onnx():
        onnx = predictors(True)
        check_rows.append('ONNX Runtime {} (CPUExecutionProvider, infer.py --use_onnx True): intra-op threads {} at '
                          'batch 1, {} at batch 128'.format(onnx[1].settings['onnxruntime_version'],
                                                            onnx[1].settings['intra_op_num_threads'],
                                                            onnx[128].settings['intra_op_num_threads']))
        contenders['ONNX Runtime'] = lambda a, v, t: onnx[1 if len(a) == 1 else 128].run(a, v, t)
        sample = [np.ascontiguousarray(a[:64]) for a in (test_set.audio, test_set.video, test_set.text)]
        check_rows.append('ONNX Runtime vs Paddle Inference, max |{} difference| on 64 samples: {:.2e}'.format(
            'output' if regression else 'prob',
            np.abs(contenders['ONNX Runtime'](*sample) - paddle_inference(*sample)).max()))
    else:
        check_rows.append('ONNX Runtime rows left out: onnxruntime and paddle2onnx are not both installed '
                          '(pip install -r requirements.txt)')
    if have_torch():
        import torch
        state, _ = checkpoints.load_checkpoint(checkpoint)
        torch_model = torch_from_paddle_state(state, hp, dims)

        def torch_eval(a, v, t):
            with torch.no_grad():
                logits = torch_model(torch.from_numpy(a), torch.from_numpy(v), torch.from_numpy(t))
                return logits.numpy() if regression else torch.softmax(logits, dim=1).numpy()

        contenders['PyTorch eval'] = torch_eval
        sample = [a[:64] for a in (test_set.audio, test_set.video, test_set.text)]
        diff = np.abs(torch_eval(*sample) - paddle_inference(*sample)).max()
        check_rows.append('PyTorch mirror vs Paddle Inference, max |{} difference| on 64 samples: {:.2e}'.format(
            'output' if regression else 'prob', diff))

    n = len(test_set)
    for batch_size in (128, 1):
        results = speed.alternate({name: (lambda fn=fn: timed_batches(fn, test_set, batch_size))
                             for name, fn in contenders.items()}, repeats)
        base = n / speed.median([sum(t) for t in results['Paddle Inference']])
        if 'ONNX Runtime' in results and 'PyTorch eval' in results:
            ort, pt = (n / speed.median([sum(t) for t in results[k]]) for k in ('ONNX Runtime', 'PyTorch eval'))
            check_rows.append('ONNX Runtime / PyTorch eval samples/s at batch {}: {:.2f}'.format(batch_size, ort / pt))
        for name, runs in results.items():
            total = speed.median([sum(t) for t in runs])
            row = dict(section='inference, {} test samples'.format(n),
                       case='{}, batch {}'.format(name, batch_size), paddle='{:.0f} samples/s'.format(n / total),
                       ratio='{:.2f}'.format(base / (n / total)))
            if batch_size == 1:
                lat = np.concatenate([np.asarray(t) for t in runs]) * 1000
                row['latency'] = 'p50 {:.2f} ms, p99 {:.2f} ms'.format(np.percentile(lat, 50), np.percentile(lat, 99))
            rows.append(row)


# ---------------------------------------------------------------- 3./4. LMF vs TFN

def lmf_vs_tfn(batch, steps, repeats, rows):
    models = {kind: speed.fusion_model(kind) for kind in ('LMF', 'TFN')}
    rows.append(dict(section="LMF vs TFN, paper's setting", case='parameters',
                     paddle='LMF {:,} / TFN {:,}'.format(speed.parameters(models['LMF']), speed.parameters(models['TFN'])),
                     ratio='1/{:.1f}'.format(speed.parameters(models['TFN']) / speed.parameters(models['LMF']))))
    for train in (True, False):
        results = speed.alternate({k: (lambda m=m: speed.throughput(m, batch, steps, train)) for k, m in models.items()}, repeats)
        lmf, tfn = speed.median(results['LMF']), speed.median(results['TFN'])
        rows.append(dict(section="LMF vs TFN, paper's setting",
                         case='{} samples/s, batch {}'.format('training' if train else 'inference', batch),
                         paddle='LMF {:.0f} / TFN {:.0f}'.format(lmf, tfn), ratio='{:.2f}'.format(lmf / tfn)))


def rank_sweep(ranks, batch, steps, repeats, rows, plot_path):
    import paddle
    paddle.seed(0)
    contenders = {'TFN': (lambda: speed.throughput(speed.fusion_model('TFN'), batch, steps, True))}
    for rank in ranks:
        contenders['LMF rank {}'.format(rank)] = lambda r=rank: speed.throughput(speed.fusion_model('LMF', r), batch, steps, True)
    results = {k: speed.median(v) for k, v in speed.alternate(contenders, repeats).items()}
    for name, value in results.items():
        rows.append(dict(section='training samples/s vs rank, batch {}'.format(batch), case=name,
                         paddle='{:.0f}'.format(value), ratio='{:.2f}'.format(value / results['TFN'])))
    if plot_path:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(ranks, [results['LMF rank {}'.format(r)] for r in ranks], 'o-', label='LMF')
        ax.axhline(results['TFN'], color='tab:red', linestyle='--', label='TFN (no rank)')
        ax.set_xscale('log', base=2)
        ax.set_xticks(ranks)
        ax.set_xticklabels([str(r) for r in ranks])
        ax.set_xlabel('rank')
        ax.set_ylabel('training samples / s')
        ax.set_ylim(bottom=0)
        ax.set_title("Training speed vs rank (paper's setting, batch {}, CPU)".format(batch))
        ax.legend()
        fig.tight_layout()
        fig.savefig(plot_path, dpi=100)
        print('wrote {}'.format(plot_path))


# ---------------------------------------------------------------- report

COLUMNS = (('section', 'section'), ('case', 'case'), ('paddle', 'measured (Paddle)'), ('torch', 'PyTorch'),
           ('ratio', 'ratio'), ('latency', 'batch-1 latency'), ('peak', 'peak RSS'))


def markdown(rows):
    used = [(key, title) for key, title in COLUMNS if any(key in row for row in rows)]
    lines = ['| ' + ' | '.join(title for _, title in used) + ' |', '|' + '---|' * len(used)]
    for row in rows:
        lines.append('| ' + ' | '.join(str(row.get(key, '')) for key, _ in used) + ' |')
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='tiny sizes, one repeat: seconds, not a benchmark')
    parser.add_argument('--repeats', type=int, default=None, help='rounds per comparison (default 3, quick 1)')
    parser.add_argument('--epochs', type=int, default=None, help='train.py epochs (default 5, quick 1)')
    parser.add_argument('--markdown', type=str, default=None, help='also write the report to this file')
    parser.add_argument('--plot', type=str, default=None, help='PNG of training speed against rank')
    parser.add_argument('--sections', type=str, default='load,train,step,infer,tfn,rank',
                        help='comma-separated subset of load,train,step,infer,tfn,rank')
    parser.add_argument('--dataset', choices=hparams.DATASETS, default='iemocap',
                        help="the task of sections train, step and infer: iemocap (default; happy), mosi or pom "
                             "(at the real split sizes and the table's batch size, summed L1 loss, regression "
                             "scores). tfn and rank do not depend on it")
    args = parser.parse_args()
    for name in ('repeats', 'epochs'):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error('--{} must be >= 1'.format(name))
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    sections = set(args.sections.split(','))
    unknown = sections - {'load', 'train', 'step', 'infer', 'tfn', 'rank'}
    if unknown:
        parser.error('--sections: unknown {}'.format(', '.join(sorted(unknown))))
    epochs = args.epochs if args.epochs is not None else (1 if args.quick else 5)
    import paddle
    import data
    utils.setup_device('cpu')  # the CPU threads train.py uses, for the in-process sections
    rows, notes = [], []
    dataset = args.dataset
    reader = data.module(dataset)
    with tempfile.TemporaryDirectory() as workdir:
        if 'load' in sections:
            loading(workdir, args.quick, rows, notes)
        data_path = os.path.join(workdir, '{}_sized.pkl'.format(dataset))
        # IEMOCAP: all four emotions, as in the real file: the loader unpickles the whole file.
        sizes = QUICK_SIZES if args.quick else (IEMOCAP_SIZES if dataset == 'iemocap' else reader.SPLIT_SIZES)
        if sections & {'train', 'step', 'infer'}:
            reader.write_sample_data(data_path, sizes=sizes)
            if dataset == 'iemocap':
                notes.append('data: SYNTHETIC pickle of 4 emotions x {} samples ({:.0f} MB on disk)'.format(
                    '/'.join(str(n) for _, n in sizes), os.path.getsize(data_path) / 2 ** 20))
            else:
                notes.append('data: SYNTHETIC pickle in the {} layout, {} samples ({:.0f} MB on disk)'.format(
                    reader.NAME, '/'.join(str(n) for _, n in sizes), os.path.getsize(data_path) / 2 ** 20))
        if 'step' in sections:
            step_batches = (128, 16) if dataset == 'iemocap' else (128, hparams.published_hparams(dataset)['batch_size'])
            training_steps(step_batches, steps=2 if args.quick else 30, repeats=repeats, rows=rows, dataset=dataset)
        if 'train' in sections or 'infer' in sections:
            train_process(data_path, workdir, epochs, repeats if 'train' in sections else 1, rows, dataset)
        if 'infer' in sections:
            name = hparams.model_name(dataset, 'happy')
            _, _, test_set, _ = engine.load_data(dataset, data_path, name, verbose=False)
            inference(os.path.join(workdir, name + '.pdparams'), test_set, workdir, repeats, rows, notes, dataset)
    if 'tfn' in sections:
        lmf_vs_tfn(batch=8 if args.quick else 64, steps=2 if args.quick else 20, repeats=repeats, rows=rows)
    if 'rank' in sections:
        rank_sweep([1, 4] if args.quick else [1, 2, 4, 8, 16, 32, 64], batch=8 if args.quick else 64,
                   steps=2 if args.quick else 10, repeats=repeats, rows=rows, plot_path=args.plot)

    header = ['# benchmark.py{} on {} ({} cores), Python {}, Paddle {}{}'.format(
        ' --quick' if args.quick else '', utils.cpu_model(), os.cpu_count(), platform.python_version(), paddle.__version__,
        ', PyTorch ' + __import__('torch').__version__ if have_torch() else ', PyTorch not installed')]
    header.append('runtime: ' + ', '.join('{}={}'.format(k, os.environ.get(k)) for k in ('MKL_DEBUG_CPU_TYPE', 'LMF_CPU_THREADS')))
    header += notes
    header.append('ratio: train.py = PyTorch time / Paddle time; training step = Paddle speed / PyTorch speed; inference = Paddle Inference speed / row speed; '
                  'LMF vs TFN = LMF / TFN (higher favours the first); median of {} alternating rounds'.format(repeats))
    report = '\n'.join(header) + '\n\n' + markdown(rows) + '\n'
    print(report)
    if args.markdown:
        with safe_io.atomic_write(args.markdown) as f:
            f.write(report)


if __name__ == '__main__':
    main()
