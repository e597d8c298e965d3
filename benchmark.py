"""Speed and memory of this port, side by side in one run, reported as ratios.

    python benchmark.py                      # full run (about 4 minutes on 2 cores)
    python benchmark.py --quick              # seconds: keeps the script working (the tests run it)
    python benchmark.py --markdown out.md --plot benchmarks/rank_speed.png
    python benchmark.py --dataset mosi --sections train,step   # CMU-MOSI (or pom): its sizes, model and L1 loss
    python benchmark.py --sections jobs --repeats 1   # reproduce.py --only paper, --jobs 1 against the default

Sections (each compares within the same run, alternating the contenders, median of repeats):
 0. Data loading: the first load (unpickle, prepare, write the cache of prepared arrays) and the second (the cached
    arrays, memory-mapped) of an IEMOCAP-size pickle and of a CMU-MOSEI-size MMSA feature file (16326/1871/4659
    samples, about 8.5 GB), each in its own process: seconds and peak RSS.
 1. train.py's whole process (load, train a fixed number of epochs, keep the best, test) on an IEMOCAP-sized
    synthetic pickle (4 emotions x 2717/798/938 samples; happy at batch 128 and neutral at batch 16, the published
    hyperparameters), against the same process in PyTorch (benchmarks/torch_train.py), with peak RSS; and the
    steady-state training step of the same models in both, in this process, at the same CPU threads, with the
    share of the machine's measured sgemm peak each reaches (the step's matrix-product FLOPs, lmf/speed.py).
 2. Inference over the 938-sample test split: infer.py's Paddle Inference path, the Paddle dynamic graph, ONNX
    Runtime (CPU) on the exported inference.onnx, and PyTorch eval of the same weights; batch-1 latency p50/p99.
 3. LMF against TFN at the paper's setting (lmf/speed.py): parameters, training and inference samples/s.
 4. LMF training samples/s against rank 1..64 beside TFN (the plot).
 5. (jobs, not run by default: about 10 minutes a round at 5 seeds on 2 cores) reproduce.py --only paper --seeds N
    at --jobs 1 against its default jobs (runs side by side, lmf/jobs.py), each into a fresh folder.
With --dataset mosi or pom, sections 1 and 2 run that dataset's task on a SYNTHETIC pickle of its real split sizes
(CMU-MOSI 1284/229/686, POM 600/100/203) at the table's batch size, with the summed L1 loss.
PyTorch columns appear when torch is installed (pip install -r requirements-bench.txt), the ONNX Runtime
rows when onnxruntime and paddle2onnx are (requirements-onnx.txt); otherwise the report says they were left out.
"""
import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from lmf import checkpoints, deploy, engine, hparams, speed
from lmf import jobs as lmf_jobs
import safe_io
import utils

HERE = os.path.dirname(os.path.abspath(__file__))
IEMOCAP_SIZES = (('train', 2717), ('valid', 798), ('test', 938))
MOSEI_SIZES = (('train', 16326), ('valid', 1871), ('test', 4659))  # MMSA's CMU-MOSEI split
QUICK_SIZES = (('train', 96), ('valid', 32), ('test', 48))
SECTIONS = ('load', 'train', 'step', 'infer', 'tfn', 'rank', 'jobs')
DEFAULT_SECTIONS = SECTIONS[:-1]  # jobs trains the paper's runs twice: about 10 minutes a round at 5 seeds
TORCH = not deploy.missing_packages('torch')  # the PyTorch columns
FRAMEWORKS = {'paddle': 'Paddle', 'torch': 'PyTorch'}


def run_measured(script, *args, env=None):
    """Run `python script args...` through benchmarks/peak_rss.py (env: extra environment variables).
    Returns (wall seconds, peak RSS MB of that process, its stdout). Raises on failure."""
    cmd = [sys.executable, script] + list(args)
    with tempfile.NamedTemporaryFile(suffix='.rss') as peak_file:
        start = time.perf_counter()
        proc = subprocess.run([cmd[0], os.path.join('benchmarks', 'peak_rss.py'), peak_file.name] + cmd[1:], cwd=HERE,
                              capture_output=True, text=True, env=dict(os.environ, **(env or {})))
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError('{} failed:\n{}{}'.format(' '.join(cmd), proc.stdout[-2000:], proc.stderr[-2000:]))
        return wall, float(open(peak_file.name).read() or 'nan'), proc.stdout


# ---------------------------------------------------------------- 0. data loading

def loading(workdir, quick, rows, notes):
    """Section 0: the first load (unpickle, prepare, write the cache) and the second (the cached arrays,
    memory-mapped) of an IEMOCAP-size pickle of the paper's layout and a CMU-MOSEI-size MMSA file (several GB),
    each in its own process: wall seconds of engine.load_data and peak RSS."""
    import data
    for dataset, task, case, sizes in (('iemocap', ['happy'], 'IEMOCAP (4 emotions)', IEMOCAP_SIZES),
                                       ('mosei', [], 'CMU-MOSEI unaligned (MMSA layout)', MOSEI_SIZES)):
        path = os.path.join(workdir, dataset + '_load.pkl')
        data.module(dataset).write_sample_data(path, sizes=QUICK_SIZES if quick else sizes)
        with tempfile.TemporaryDirectory(dir=workdir) as cache:
            runs = [run_measured(os.path.join('benchmarks', 'load_once.py'), dataset, path, *task,
                                 env=dict(LMF_CACHE_DIR=cache)) for _ in ('first', 'second')]
        (first, second), (first_rss, second_rss) = zip(*(
            (float(out.split('load seconds: ')[1].split()[0]), rss) for _, rss, out in runs))
        rows.append(dict(section='data loading', case='{}, {:,.0f} MB pickle: first load / second load'.format(
            case, os.path.getsize(path) / 2 ** 20), paddle='{:.2f} s / {:.3f} s'.format(first, second),
                         ratio='{:.0f}'.format(first / second), peak='{:.0f} MB / {:.0f} MB'.format(first_rss, second_rss)))
        os.remove(path)
    notes.append('data loading: SYNTHETIC files of the real sizes{}; ratio = first / second'.format(' (--quick: tiny)' if quick else ''))


# ---------------------------------------------------------------- 1. train.py

def train_process(data_path, workdir, epochs, repeats, rows, dataset='iemocap'):
    """train.py against torch_train.py, fixed-length runs (patience = epochs: early stopping never acts); on
    IEMOCAP happy at batch 128 and neutral at 16 (their published batch sizes)."""
    for batch_size in (128, 16) if dataset == 'iemocap' else (hparams.published_hparams(dataset)['batch_size'],):
        task = ['--dataset', dataset] if dataset in hparams.REGRESSION else [
            '--emotion', 'neutral' if batch_size == 16 else 'happy']
        common = task + ['--data_path', data_path, '--epochs', str(epochs), '--batch_size', str(batch_size),
                         '--patience', str(epochs), '--model_path', workdir]
        contenders = {'paddle': lambda: run_measured('train.py', *common, '--log_dir', workdir)}
        if TORCH:
            contenders['torch'] = lambda: run_measured(os.path.join('benchmarks', 'torch_train.py'), *common)
        results = speed.alternate(contenders, repeats)
        wall = {k: speed.median([w for w, _, _ in runs]) for k, runs in results.items()}
        peak = {k: max(r for _, r, _ in runs) for k, runs in results.items()}
        # For scale: the memory of a process that only imports paddle and makes one tensor.
        import_rss = run_measured(os.path.join('benchmarks', 'import_only.py'))[1]
        row = dict(section='train.py whole process', case='{}, batch {}, {} epochs'.format(
            task[1], batch_size, epochs), paddle='{:.2f} s'.format(wall['paddle']),
                   peak='{:.0f} MB (import alone {:.0f} MB, pickle {:.0f} MB)'.format(
                       peak['paddle'], import_rss, os.path.getsize(data_path) / 2 ** 20))
        if 'torch' in results:
            row.update(torch='{:.2f} s'.format(wall['torch']), ratio='{:.2f}'.format(wall['torch'] / wall['paddle']),
                       peak=row['peak'] + ', PyTorch {:.0f} MB'.format(peak['torch']))
        rows.append(row)


def step_model(dataset, reader, batch):
    """(hparams, case name) of the step at this batch: IEMOCAP's emotion trained at it (happy at 128, neutral at
    16), CMU-MOSI's or POM's published model (reader: its data module)."""
    if dataset in hparams.REGRESSION:
        hp = hparams.published_hparams(dataset)
        return dict(hp, output_dim=1 if dataset == 'mosi' else len(reader.TRAITS)), dataset
    emotion = 'neutral' if batch == 16 else 'happy'
    return hparams.emotion_hparams(emotion), emotion


def training_steps(batches, steps, repeats, rows, dataset='iemocap'):
    """Steady-state training samples/s, Paddle against PyTorch (torch_train.py's model and optimizer groups) at the
    same CPU threads, in one process, with each one's share of the machine's measured sgemm peak (the step's
    matrix-product FLOPs per second over the best 1024^3 product of either framework)."""
    import paddle
    import data
    regression, reader = dataset in hparams.REGRESSION, data.module(dataset)
    dims, text_steps, rng = (reader.AUDIO_DIM, reader.VIDEO_DIM, 300), 20, np.random.RandomState(0)
    threads = utils.default_cpu_threads()  # what main's setup_device gave Paddle
    peaks = [speed.sgemm_peak(lambda a, b: paddle.matmul(paddle.to_tensor(a), paddle.to_tensor(b)).numpy())]
    if TORCH:
        import torch
        torch.set_num_threads(threads)  # the threads Paddle has: a step against a step, not cores against cores
        peaks.append(speed.sgemm_peak(lambda a, b: torch.from_numpy(a) @ torch.from_numpy(b)))
    peak = max(peaks)
    for batch in batches:
        hp, name = step_model(dataset, reader, batch)
        shapes = ((dims[0],), (dims[1],), (text_steps, dims[2]))
        arrays = [rng.randn(batch, *shape).astype('float32') for shape in shapes] + [
            rng.randn(batch, hp['output_dim']).astype('float32') if regression else rng.randint(0, 2, batch).astype('int64')]
        paddle.seed(0)
        model = checkpoints.build_model(hp, dims)
        model.train()
        optimizer = engine.make_optimizer(model, hp['learning_rate'], hp['factor_learning_rate'], hp['weight_decay'])

        def paddle_step():
            audio, video, text, target = (paddle.to_tensor(a) for a in arrays)
            loss = engine.summed_loss(model(audio, video, text), target, regression)
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            float(loss)

        contenders = {'paddle': paddle_step}
        if TORCH:
            from benchmarks import torch_lmf
            torch_model = torch_lmf.build(hp, dims)
            torch_optimizer = torch_lmf.make_optimizer(torch_model, hp)

            def torch_step():
                loss = torch_lmf.summed_loss(torch_model(*(torch.from_numpy(a) for a in arrays[:3])),
                                               torch.from_numpy(arrays[3]), regression)
                torch_optimizer.zero_grad()
                loss.backward()
                torch_optimizer.step()
                loss.item()

            contenders['torch'] = torch_step
        results = {k: speed.median(v) for k, v in speed.alternate(
            {k: (lambda s=s: speed.samples_per_second(s, batch, steps)) for k, s in contenders.items()}, repeats).items()}
        flops = speed.lmf_training_flops(hp, dims, text_steps)  # per sample
        row = dict(section='training step (steady state, {} thread{})'.format(threads, 's' if threads > 1 else ''),
                   case='{} model, batch {} ({:.0f} MFLOP per step)'.format(name, batch, flops * batch / 1e6),
                   paddle='{:.0f} samples/s'.format(results['paddle']))
        row['share'] = '{} of {:.0f} GFLOP/s'.format(', '.join('{} {:.0%}'.format(
            FRAMEWORKS[k], results[k] * flops / peak) for k in results), peak / 1e9)
        if 'torch' in results:
            row.update(torch='{:.0f} samples/s'.format(results['torch']),
                       ratio='{:.2f}'.format(results['paddle'] / results['torch']))
        rows.append(row)


# ---------------------------------------------------------------- 2. inference

def timed_batches(fn, dataset, batch_size):
    """Seconds per batch of fn(audio, video, text) over the dataset (after one warm-up batch)."""
    arrays, times = (dataset.audio, dataset.video, dataset.text), []
    fn(*(a[:batch_size] for a in arrays))
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
        by_batch = {batch: deploy.Predictor(os.path.join(export_dir, name), use_onnx,
                                            cpu_threads=deploy.default_cpu_threads(batch)) for batch in (1, 128)}
        return by_batch, lambda a, v, t: by_batch[1 if len(a) == 1 else 128].run(a, v, t)
    _, paddle_inference = predictors(False)

    def paddle_dynamic(a, v, t):
        with paddle.no_grad():
            return model(paddle.to_tensor(a), paddle.to_tensor(v), paddle.to_tensor(t)).numpy()

    contenders = {'Paddle Inference': paddle_inference, 'Paddle dynamic': paddle_dynamic}
    sample = [np.ascontiguousarray(a[:64]) for a in (test_set.audio, test_set.video, test_set.text)]
    differs = '{{}} vs Paddle Inference, max |{} difference| on 64 samples: {{:.2e}}'.format(
        'output' if regression else 'prob')
    if not deploy.missing_packages('onnxruntime', 'paddle2onnx'):
        onnx, contenders['ONNX Runtime'] = predictors(True)
        check_rows.append('ONNX Runtime {} (CPUExecutionProvider, infer.py --use_onnx True): intra-op threads {} at '
                          'batch 1, {} at batch 128'.format(onnx[1].settings['onnxruntime_version'],
                                                            onnx[1].settings['intra_op_num_threads'],
                                                            onnx[128].settings['intra_op_num_threads']))
        check_rows.append(differs.format('ONNX Runtime', np.abs(
            contenders['ONNX Runtime'](*sample) - paddle_inference(*sample)).max()))
    else:
        check_rows.append('ONNX Runtime rows left out: onnxruntime and paddle2onnx are not both installed '
                          '(pip install -r requirements-onnx.txt)')
    if TORCH:
        import torch
        from benchmarks import torch_lmf
        torch_model = torch_lmf.build(hp, dims).eval()  # with the Paddle weights (eval: its dropouts do nothing)
        state = {k: torch.from_numpy(np.ascontiguousarray(v))
                 for k, v in torch_lmf.from_paddle(checkpoints.load_checkpoint(checkpoint)[0]).items()}
        torch_model.load_state_dict(dict(state, **{k: v for k, v in torch_model.state_dict().items()
                                                   if k.endswith('num_batches_tracked')}), strict=True)

        def torch_eval(a, v, t):
            with torch.no_grad():
                logits = torch_model(torch.from_numpy(a), torch.from_numpy(v), torch.from_numpy(t))
                return logits.numpy() if regression else torch.softmax(logits, dim=1).numpy()

        contenders['PyTorch eval'] = torch_eval
        check_rows.append(differs.format('PyTorch mirror', np.abs(torch_eval(*sample) - paddle_inference(*sample)).max()))

    n = len(test_set)
    for batch_size in (128, 1):
        results = speed.alternate({name: (lambda fn=fn: timed_batches(fn, test_set, batch_size))
                                   for name, fn in contenders.items()}, repeats)
        rate = {name: n / speed.median([sum(t) for t in runs]) for name, runs in results.items()}
        if 'ONNX Runtime' in rate and 'PyTorch eval' in rate:
            check_rows.append('ONNX Runtime / PyTorch eval samples/s at batch {}: {:.2f}'.format(
                batch_size, rate['ONNX Runtime'] / rate['PyTorch eval']))
        for name, runs in results.items():
            row = dict(section='inference, {} test samples'.format(n), case='{}, batch {}'.format(name, batch_size),
                       paddle='{:.0f} samples/s'.format(rate[name]),
                       ratio='{:.2f}'.format(rate['Paddle Inference'] / rate[name]))
            if batch_size == 1:
                lat = np.concatenate([np.asarray(t) for t in runs]) * 1000
                row['latency'] = 'p50 {:.2f} ms, p99 {:.2f} ms'.format(np.percentile(lat, 50), np.percentile(lat, 99))
            rows.append(row)


# ---------------------------------------------------------------- 3./4. LMF vs TFN

def lmf_vs_tfn(batch, steps, repeats, rows):
    v, section = speed.lmf_vs_tfn(batch, steps, repeats), "LMF vs TFN, paper's setting"
    rows.append(dict(section=section, case='parameters', paddle='LMF {:,} / TFN {:,}'.format(
        v['lmf_params'], v['tfn_params']), ratio='1/{:.1f}'.format(v['tfn_params'] / v['lmf_params'])))
    for key, what in (('train', 'training'), ('infer', 'inference')):
        rows.append(dict(section=section, case='{} samples/s, batch {}'.format(what, batch), paddle='LMF {:.0f} / TFN '
                         '{:.0f}'.format(v['lmf_' + key], v['tfn_' + key]), ratio='{:.2f}'.format(v['lmf_' + key] / v['tfn_' + key])))


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
        ax.set_xticks(ranks, [str(r) for r in ranks])
        ax.set(xlabel='rank', ylabel='training samples / s', ylim=(0, None),
               title="Training speed vs rank (paper's setting, batch {}, CPU)".format(batch))
        ax.legend()
        fig.tight_layout()
        fig.savefig(plot_path, dpi=100)
        print('wrote {}'.format(plot_path))


# ---------------------------------------------------------------- 5. reproduce.py side by side

def reproduce_jobs(workdir, quick, seeds, repeats, rows):
    """reproduce.py --only paper at --jobs 1 (one run at a time, at the default threads) against its default jobs
    (lmf/jobs.py: one run per core at 1 thread), each into a fresh --out, so nothing is skipped: wall seconds."""
    args = ['--only', 'paper', '--seeds', str(seeds)] + (['--quick'] if quick else [])
    outs = iter(range(2 * repeats))

    def wall(*jobs):
        out = os.path.join(workdir, 'reproduce_{}'.format(next(outs)))
        seconds = run_measured('reproduce.py', *args, '--out', out, *jobs)[0]
        shutil.rmtree(out)
        return seconds

    results = speed.alternate({'one': lambda: wall('--jobs', '1'), 'default': wall}, repeats)
    one, default = (speed.median(results[k]) for k in ('one', 'default'))
    section = 'reproduce.py --only paper --seeds {}{}'.format(seeds, ' --quick' if quick else '')
    rows.append(dict(section=section, case='--jobs 1 ({} CPU threads per run)'.format(utils.default_cpu_threads()),
                     paddle='{:.1f} s'.format(one)))
    rows.append(dict(section=section, case='default --jobs ({} side by side, 1 CPU thread each)'.format(
        lmf_jobs.default_jobs(runs=10 ** 6)), paddle='{:.1f} s'.format(default), ratio='{:.2f}'.format(one / default)))


# ---------------------------------------------------------------- report

COLUMNS = (('section', 'section'), ('case', 'case'), ('paddle', 'measured (Paddle)'), ('torch', 'PyTorch'),
           ('ratio', 'ratio'), ('share', 'share of sgemm peak'), ('latency', 'batch-1 latency'), ('peak', 'peak RSS'))


def markdown(rows):
    used = [(key, title) for key, title in COLUMNS if any(key in row for row in rows)]
    return '\n'.join(['| ' + ' | '.join(title for _, title in used) + ' |', '|' + '---|' * len(used)] + [
        '| ' + ' | '.join(str(row.get(key, '')) for key, _ in used) + ' |' for row in rows])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='tiny sizes, one repeat: seconds, not a benchmark')
    parser.add_argument('--repeats', type=int, default=None, help='rounds per comparison (default 3, quick 1)')
    parser.add_argument('--epochs', type=int, default=None, help='train.py epochs (default 5, quick 1)')
    parser.add_argument('--markdown', type=str, default=None, help='also write the report to this file')
    parser.add_argument('--plot', type=str, default=None, help='PNG of training speed against rank')
    parser.add_argument('--sections', type=str, default=','.join(DEFAULT_SECTIONS),
                        help='comma-separated subset of {} (default all but jobs)'.format(','.join(SECTIONS)))
    parser.add_argument('--seeds', type=int, default=None,
                        help='seeds of reproduce.py --only paper in section jobs (default 5, quick 1)')
    parser.add_argument('--dataset', choices=hparams.DATASETS, default='iemocap',
                        help="the task of sections train, step and infer: iemocap (default; happy), mosi or pom "
                             "(at the real split sizes and the table's batch size, summed L1 loss, regression "
                             "scores). tfn and rank do not depend on it")
    args = parser.parse_args()
    for name in ('repeats', 'epochs', 'seeds'):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error('--{} must be >= 1'.format(name))
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    sections = set(args.sections.split(','))
    if sections - set(SECTIONS):
        parser.error('--sections: unknown {}'.format(', '.join(sorted(sections - set(SECTIONS)))))
    epochs = args.epochs if args.epochs is not None else (1 if args.quick else 5)
    if args.seeds is not None and 'jobs' not in sections:
        parser.error('--seeds: only section jobs reads it')
    if args.plot:
        utils.require('matplotlib', 'plots', 'benchmark.py --plot')
    import paddle
    import data
    utils.setup_device('cpu')  # the CPU threads train.py uses, for the in-process sections
    rows, notes, dataset = [], [], args.dataset
    reader = data.module(dataset)
    with tempfile.TemporaryDirectory() as workdir:
        if 'load' in sections:
            loading(workdir, args.quick, rows, notes)
        data_path = os.path.join(workdir, '{}_sized.pkl'.format(dataset))
        # IEMOCAP: all four emotions, as in the real file: the loader unpickles the whole file.
        sizes = QUICK_SIZES if args.quick else (IEMOCAP_SIZES if dataset == 'iemocap' else reader.SPLIT_SIZES)
        if sections & {'train', 'step', 'infer'}:
            reader.write_sample_data(data_path, sizes=sizes)
            notes.append('data: SYNTHETIC pickle {} {} samples ({:.0f} MB on disk)'.format(
                'of 4 emotions x' if dataset == 'iemocap' else 'in the {} layout,'.format(reader.NAME),
                '/'.join(str(n) for _, n in sizes), os.path.getsize(data_path) / 2 ** 20))
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
    if 'jobs' in sections:
        with tempfile.TemporaryDirectory() as workdir:
            reproduce_jobs(workdir, args.quick, args.seeds or (1 if args.quick else 5), repeats, rows)

    header = ['# benchmark.py{} on {} ({} cores), Python {}, Paddle {}{}'.format(
        ' --quick' if args.quick else '', utils.cpu_model(), os.cpu_count(), platform.python_version(), paddle.__version__,
        ', PyTorch ' + __import__('torch').__version__ if TORCH else ', PyTorch not installed')]
    header.append('runtime: ' + ', '.join('{}={}'.format(k, os.environ.get(k)) for k in ('MKL_DEBUG_CPU_TYPE', 'LMF_CPU_THREADS')))
    header += notes
    header.append('ratio: train.py = PyTorch time / Paddle time; training step = Paddle speed / PyTorch speed; inference = Paddle Inference speed / row speed; '
                  'LMF vs TFN = LMF / TFN (higher favours the first); reproduce.py = --jobs 1 time / default time; '
                  'median of {} alternating rounds'.format(repeats))
    report = '\n'.join(header) + '\n\n' + markdown(rows) + '\n'
    print(report)
    if args.markdown:
        with safe_io.atomic_write(args.markdown) as f:
            f.write(report)


if __name__ == '__main__':
    utils.run_cli(main)
