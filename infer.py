"""Run an exported LMF model with Paddle Inference (or ONNX Runtime) on the test split; save its outputs.

    python export_model.py --emotion happy                      # first: check_inference/happy/
    python infer.py --emotion happy --data_path ./data/iemocap.pkl
    python infer.py --emotion happy --batch_size 1 --benchmark True
    python infer.py --dataset mosi --data_path ./data/mosi.pkl  # -> out_pred/mosi_pred.npy
    python infer.py --emotion happy --use_onnx True             # inference.onnx on ONNX Runtime (CPU)

Reads the export in <save_inference_dir>/<name>/, or in a folder that holds its files (lmf/deploy.py), which must be
of --dataset (and --emotion). Saves one row per test sample, in test-set order: IEMOCAP's class probabilities to
<output_dir>/<emotion>_prob.npy (default out_prob/), the other datasets' regression scores [N, K] to
<output_dir>/<dataset>_pred.npy (default out_pred/); prints the metrics as test.py does. --benchmark True adds a
timing report in the shape of PaddlePaddle's AutoLog. --missing / --noise perturb the test split (robustness.py)
and name the file after it, e.g. happy_prob_missing-audio_seed-0.npy. Booleans as TIPC passes them: --use-gpu True.
"""
import argparse
import os
import platform
import sys
import time

import numpy as np

from lmf import deploy, engine, hparams, metrics, robustness
import safe_io
import utils


def str2bool(text):
    value = str(text).strip().lower()
    if value in ('true', 't', 'yes', 'y', '1', 'on', 'false', 'f', 'no', 'n', '0', 'off'):
        return value in ('true', 't', 'yes', 'y', '1', 'on')
    raise argparse.ArgumentTypeError('expected True or False, got {!r}'.format(text))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    hparams.add_task_args(parser, trait=False)
    parser.add_argument('--save_inference_dir', type=str, default='check_inference',
                        help='folder that export_model.py wrote (default: check_inference/)')
    utils.add_data_arg(parser)
    parser.add_argument('--output_dir', type=str, default=None,
                        help='where <emotion>_prob.npy (IEMOCAP; default out_prob/) or <dataset>_pred.npy '
                             '(CMU-MOSI, POM; default out_pred/) goes')
    parser.add_argument('--batch_size', type=int, default=32)
    parser.add_argument('--use-gpu', '--use_gpu', dest='use_gpu', type=str2bool, default=False,
                        help='True: run on GPU when this Paddle build has one (default False)')
    parser.add_argument('--enable_mkldnn', type=str2bool, default=deploy.DEFAULT_ENABLE_MKLDNN,
                        help='CPU: use oneDNN kernels (default {})'.format(deploy.DEFAULT_ENABLE_MKLDNN))
    parser.add_argument('--cpu_threads', type=int, default=None,
                        help='CPU math library threads (default: 1 at batch size 1, else available cores up to 4); '
                             'with --use_onnx True the ONNX Runtime intra-op threads (same default)')
    parser.add_argument('--use_onnx', '--use-onnx', dest='use_onnx', type=str2bool, default=False,
                        help='True: run <model dir>/inference.onnx with ONNX Runtime (CPU) instead of Paddle '
                             'Inference (default False)')
    parser.add_argument('--ir_optim', type=str2bool, default=True, help='graph optimisation passes (default True)')
    parser.add_argument('--benchmark', type=str2bool, default=False, help='print an AutoLog-style timing report')
    parser.add_argument('--warmup', type=int, default=3, help='untimed warm-up runs before the benchmark (default 3)')
    robustness.add_args(parser)
    return parser.parse_args(argv)


def cpu_rss_mb():
    """Resident memory of this process in MB (peak RSS where /proc is unavailable)."""
    try:
        with open('/proc/self/status') as f:
            return next(int(line.split()[1]) for line in f if line.startswith('VmRSS:')) / 1024.0
    except (OSError, StopIteration):
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024.0 * 1024.0) if sys.platform == 'darwin' else peak / 1024.0


def benchmark_report(settings, batch_size, n_samples, data_path, times, model_dir, warmup, model_name):
    """Lines in the shape of AutoLog's report; times are per batch, after warm-up (Predictor.predict's)."""
    import paddle
    onnx, cpu = settings.get('backend') == 'onnxruntime', settings['device'] == 'cpu'
    ms = {key: 1000.0 * float(np.mean(values)) for key, values in times.items()}
    rows = [
        '---------------------- Env info ----------------------',
        ' OS_version: {}'.format(platform.platform()),
        ' python_version: {}'.format(platform.python_version()),
        ' CPU: {} ({} logical cores)'.format(utils.cpu_model(), os.cpu_count()),
        ' CUDA_version: {}'.format(
            paddle.version.cuda() if paddle.device.is_compiled_with_cuda() else 'none (CPU build)'),
        '---------------------- Paddle info ----------------------',
        ' paddle_version: {}'.format(paddle.__version__),
        ' paddle_commit: {}'.format(paddle.version.commit),
        ' log_api_version: 1.0 (AutoLog layout, written by infer.py)',
        '----------------------- Conf info -----------------------',
        ' runtime_device: {}'.format(settings['device']),
        ' inference_backend: {}'.format('onnxruntime' if onnx else 'paddle_inference'),
    ] + [' {}: {}'.format(key, settings.get(key, False)) for key in (  # TensorRT: never enabled
        ('onnxruntime_version', 'execution_provider', 'intra_op_num_threads', 'graph_optimization_level',
         'execution_mode') if onnx else
        ('ir_optim', 'enable_memory_optim', 'enable_tensorrt', 'enable_mkldnn', 'cpu_math_library_num_threads'))] + [
        '----------------------- Model info ----------------------',
        ' model_name: {}'.format(model_name),
        ' model_dir: {}'.format(model_dir) + (' ({})'.format(deploy.ONNX_FILE) if onnx else ''),
        ' precision: fp32',
        '----------------------- Data info -----------------------',
        ' data_path: {}'.format(data_path),
        ' batch_size: {}'.format(batch_size),
        ' input_shape: dynamic',
        ' data_num: {}'.format(n_samples),
        ' batches: {} (after {} warm-up runs)'.format(len(times['inference']), warmup),
        '----------------------- Perf info -----------------------',
        ' cpu_rss(MB): {:.4f}, gpu_rss(MB): {}, gpu_util: {}'.format(
            cpu_rss_mb(), 'None' if cpu else 'n/a', 'None' if cpu else 'n/a'),
        ' total time spent(s): {:.4f}'.format(sum(sum(v) for v in times.values())),
        ' preprocess_time(ms): {:.4f}, inference_time(ms): {:.4f}, postprocess_time(ms): {:.4f}'.format(
            ms['preprocess'], ms['inference'], ms['postprocess']),
        # per-batch latency of the inference call (at batch size 1: per sample)
        ' inference_latency(ms): p50 {:.4f}, p99 {:.4f}'.format(
            *(1000.0 * np.percentile(times['inference'], q) for q in (50, 99))),
    ]
    stamp = time.strftime('%Y/%m/%d %H:%M:%S')
    return ['[{}] root INFO: {}'.format(stamp, row) for row in rows]


def main(argv=None):
    args = parse_args(argv)
    dataset, name, _ = hparams.task_of(args)  # validates --dataset and --emotion
    perturbation = robustness.Perturbation(args.missing, args.noise, args.noise_modality, args.seed,
                                           args.missing_rate, args.missing_seed)
    if args.cpu_threads is None and args.batch_size >= 1:
        args.cpu_threads = deploy.default_cpu_threads(args.batch_size)
    for flag, low in (('batch_size', 1), ('cpu_threads', 1), ('warmup', 0)):
        if getattr(args, flag) < low:
            raise utils.UserError('--{} must be >= {}, got {}'.format(flag, low, getattr(args, flag)))
    regression = dataset in hparams.REGRESSION
    output_dir = args.output_dir or ('out_pred' if regression else 'out_prob')

    if args.use_onnx and args.use_gpu:
        print('--use-gpu True: --use_onnx True runs on ONNX Runtime\'s CPU provider; running on CPU')
    model_dir, info = deploy.read_info(args.save_inference_dir, dataset, name, use_onnx=args.use_onnx)
    perturbation.check_model(info['modalities'], 'the model in ' + model_dir)
    data_path = engine.default_data_path(args.data_path, dataset)
    train_set, _, test_set, _ = engine.load_data(dataset, data_path, name, expected_dims=info['input_dims'],
                                                 model=(info['layout'], 'the model in ' + model_dir))
    if info['seq_len'] is not None and test_set.text.shape[1] != info['seq_len']:
        raise utils.UserError('{}: text sequences have length {} but the model in {} was exported for {}'.format(
            data_path, test_set.text.shape[1], model_dir, info['seq_len']))
    if test_set.labels.shape[1] != info['output_dim']:
        raise utils.UserError('{}: labels have {} {} but the model in {} outputs {}'.format(
            data_path, test_set.labels.shape[1], 'columns' if regression else 'classes', model_dir, info['output_dim']))

    if args.use_gpu and not args.use_onnx and not utils.gpu_available():
        print('--use-gpu True: this Paddle build has no usable GPU; running on CPU')
    predictor = deploy.Predictor(model_dir, args.use_onnx, args.use_gpu, args.enable_mkldnn, args.cpu_threads,
                                 args.ir_optim)
    if args.use_onnx:
        print('Inference backend: ONNX Runtime {} (CPUExecutionProvider, intra_op_num_threads={})'.format(
            predictor.settings['onnxruntime_version'], args.cpu_threads))
    elif predictor.device == 'cpu':
        print('Inference device: CPU (cpu_threads={}, oneDNN {}, ir_optim {})'.format(
            args.cpu_threads, 'on' if args.enable_mkldnn else 'off', 'on' if args.ir_optim else 'off'))
    else:
        print('Inference device: GPU 0')
    print('Start inference {} on {} test samples of {} (batch size {})......'.format(
        name, len(test_set), data_path, args.batch_size))
    if perturbation:
        print(perturbation.describe(test_set.layout))
        test_set = perturbation.apply(test_set, train_set)
    outputs, times = predictor.predict(test_set, args.batch_size, warmup=args.warmup if args.benchmark else 0)

    kind = deploy.check_outputs(outputs, info, len(test_set), model_dir)
    # perturbed predictions get their own name: never the clean ones' file
    out_path = os.path.join(output_dir, '{}_{}{}.npy'.format(
        dataset if regression else name, 'pred' if regression else 'prob', perturbation.suffix()))
    with safe_io.atomic_write(out_path, 'wb') as f:
        np.save(f, outputs)
    print('Saved {} [{}, {}] to {}'.format(kind, outputs.shape[0], outputs.shape[1], out_path))

    metric_set = metrics.metric_set(dataset, info['layout'])
    metrics.show_results(metric_set, metrics.task_metrics(metric_set, test_set.targets, outputs))
    if test_set.synthetic:
        print(engine.synthetic_note(dataset))
    if args.benchmark:
        for row in benchmark_report(predictor.settings, args.batch_size, len(test_set), data_path, times, model_dir,
                                    args.warmup, info['model']):
            print(row)


if __name__ == '__main__':
    utils.run_cli(main)
