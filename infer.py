"""Run an exported LMF model with Paddle Inference (or ONNX Runtime) on the test split; save its outputs.

    python export_model.py --emotion happy                      # first: check_inference/happy/
    python infer.py --emotion happy --data_path ./data/iemocap.pkl
    python infer.py --emotion happy --batch_size 1 --benchmark True
    python export_model.py --dataset mosi                       # first: check_inference/mosi/
    python infer.py --dataset mosi --data_path ./data/mosi.pkl  # -> out_pred/mosi_pred.npy
    python infer.py --dataset pom --batch_size 1 --benchmark True
    python infer.py --emotion happy --use_onnx True             # inference.onnx on ONNX Runtime (CPU)

Reads <save_inference_dir>/<name>/inference.json, inference.pdiparams and
inference_info.json as export_model.py writes them (with --use_onnx True: inference.onnx
and inference_info.json; a folder that holds these files
directly is accepted too); <name> is the emotion for IEMOCAP, else mosi or pom. The
export must be one of --dataset (and of --emotion); info files written before CMU-MOSI
and POM existed are IEMOCAP's.

IEMOCAP (--dataset iemocap, the default) writes <output_dir>/<emotion>_prob.npy (default
out_prob/): one row of class probabilities per test sample, in test-set order, and prints
weighted F1 and accuracy of the argmax. CMU-MOSI and POM write <output_dir>/<dataset>_pred.npy
(default out_pred/): the raw regression scores [N, K] (K = 1 for CMU-MOSI, one per trait for
POM), in test-set order, and print the dataset's metrics as test.py does. --benchmark True
adds a timing report in the shape of PaddlePaddle's AutoLog. --missing / --noise perturb the test
split (robustness.py); their predictions go to a file whose name says how, e.g.
happy_prob_missing-audio_seed-0.npy, never over the clean ones.

Booleans are given as the TIPC scripts pass them: --use-gpu True|False.
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np

from lmf import hparams
from lmf import engine
from lmf import checkpoints
from lmf import metrics
from lmf import robustness
import utils
from export_model import INFO_FORMAT, INPUT_NAMES, ONNX_FILE, OUTPUT_KINDS
# Fastest on the 2-core reference machine (BENCHMARKS.md): oneDNN off; one thread at
# batch size 1 (1870 vs 1572 samples/s), all cores (utils.default_cpu_threads) for larger
# batches (batch 32: 12433 vs 10795, batch 128: 12874 vs 10316 samples/s).
DEFAULT_ENABLE_MKLDNN = False
# ONNX Runtime (--use_onnx True) takes the same thread rule (intra_op_num_threads), measured on the
# 2-core AMD EPYC machine (docs/deploy.md, "ONNX Runtime"): one thread at batch size 1, both cores for larger batches.
# The graph optimisation level made no consistent difference (ORT_ENABLE_ALL is kept); the model is one
# chain of ops, so the execution mode is sequential.


def default_cpu_threads(batch_size):
    return 1 if batch_size == 1 else utils.default_cpu_threads()


def str2bool(text):
    value = str(text).strip().lower()
    if value in ('true', 't', 'yes', 'y', '1', 'on'):
        return True
    if value in ('false', 'f', 'no', 'n', '0', 'off'):
        return False
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
    parser.add_argument('--enable_mkldnn', type=str2bool, default=DEFAULT_ENABLE_MKLDNN,
                        help='CPU: use oneDNN kernels (default {})'.format(DEFAULT_ENABLE_MKLDNN))
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


# ---------------------------------------------------------------- model files

def model_folder(save_inference_dir, name):
    """<dir>/<name>/ as export_model.py writes it, or <dir> itself when it holds the files."""
    nested = os.path.join(save_inference_dir, name)
    if not os.path.isfile(utils.inference_model_files(nested)[0]) \
            and os.path.isfile(utils.inference_model_files(save_inference_dir)[0]):
        return save_inference_dir
    return nested


def program_input_shapes(program_path):
    """{input name: shape} from the data ops of a PIR program file; {} if its layout is not recognised."""
    try:
        with open(program_path) as f:
            program = json.load(f)
        shapes = {}
        for region in program['program']['regions']:
            for block in region['blocks']:
                for op in block['ops']:
                    if op.get('#') != '1.data':
                        continue
                    attrs = {a['N']: a['AT']['D'] for a in op['A']}
                    shapes[attrs['name']] = [None if d < 0 else int(d) for d in attrs['shape']]
        return shapes
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}


def export_command(dataset, name):
    return '--emotion {}'.format(name) if dataset == 'iemocap' else '--dataset {}'.format(dataset)


def load_model_info(model_dir, name, save_inference_dir, dataset='iemocap', use_onnx=False):
    """Checks the exported files; returns the info dict (dataset, name, input_dims, seq_len, output, output_dim, ...).

    An info file without 'dataset' (written before CMU-MOSI and POM existed) is IEMOCAP's.
    use_onnx: the files needed are inference.onnx and the info file; the ONNX inputs are checked.
    """
    program, params, info_path = utils.inference_model_files(model_dir)
    onnx_path = os.path.join(model_dir, ONNX_FILE)
    needed = (onnx_path, info_path) if use_onnx else (program, params, info_path)
    missing = [os.path.basename(p) for p in needed if not os.path.isfile(p)]
    if missing:
        raise utils.UserError('no exported {} model in {} ({} missing); export it first: '
                              'python export_model.py {} --save_inference_dir {}'.format(
                                  name, model_dir, ', '.join(missing), export_command(dataset, name),
                                  save_inference_dir))
    try:
        with open(info_path) as f:
            info = json.load(f)
        if info.get('format') != INFO_FORMAT:
            raise ValueError('format {!r}'.format(info.get('format')))
        info['input_dims'] = tuple(int(d) for d in info['input_dims'])
        info['output_dim'] = int(info['output_dim'])
        seq_len = info.get('seq_len')
        info['seq_len'] = None if seq_len is None else int(seq_len)
        info.setdefault('dataset', 'iemocap')
        info.setdefault('layout', 'authors')  # info files written before MMSA's feature files were read
        # info files written before TFN and --modalities: LMF on all three (a model fusing fewer keeps the inputs)
        info.setdefault('model', hparams.DEFAULT_MODEL)
        info.setdefault('modalities', list(hparams.MODALITIES))
        if info['model'] not in hparams.MODELS:
            raise ValueError('unknown model {!r}'.format(info['model']))
        info['modalities'] = hparams.modalities_of(info)
        if info['dataset'] not in OUTPUT_KINDS:
            raise ValueError('unknown dataset {!r}'.format(info['dataset']))
        # The name is the emotion for IEMOCAP, else the dataset (hparams.model_name).
        info.setdefault('name', info.get('emotion') if info['dataset'] == 'iemocap' else info['dataset'])
        if info['name'] != hparams.model_name(info['dataset'], info.get('emotion')):
            raise ValueError('name {!r} for dataset {!r}'.format(info['name'], info['dataset']))
        if len(info['input_dims']) != 3 or info.get('output') != OUTPUT_KINDS[info['dataset']]:
            raise ValueError('unexpected content')
    except (OSError, ValueError, KeyError, TypeError, utils.UserError) as err:
        raise utils.UserError('{} is not an export_model.py info file ({}); re-export the model'.format(info_path, err))
    if info['dataset'] != dataset:
        raise utils.UserError('--dataset {}: the model in {} was exported for --dataset {}{}'.format(
            dataset, model_dir, info['dataset'],
            ' ({})'.format(info['name']) if info['dataset'] == 'iemocap' else ''))
    if dataset == 'iemocap' and info.get('emotion') != name:
        raise utils.UserError('--emotion {}: the model in {} was exported for {}'.format(
            name, model_dir, info.get('emotion')))
    # The program (or ONNX graph) is what runs: its input shapes must be the ones the info file states.
    expected = {'audio': [None, info['input_dims'][0]], 'video': [None, info['input_dims'][1]],
                'text': [None, info['seq_len'], info['input_dims'][2]]}
    if use_onnx:
        model_file, shapes = onnx_path, onnx_shapes(onnx_path)
    else:
        model_file, shapes = program, program_input_shapes(program)
    if shapes and shapes != expected:
        raise utils.UserError('{} takes inputs {} but {} says {}; re-export the model'.format(
            model_file, shapes, info_path, expected))
    return info


def onnx_shapes(onnx_path):
    """Input shapes of an ONNX file (None = dynamic); a file that is not ONNX is refused."""
    from export_model import onnx_input_shapes
    try:
        return onnx_input_shapes(onnx_path)
    except Exception as err:  # onnx raises DecodeError and others for a damaged file
        raise utils.UserError('{} is not a readable ONNX model ({}); re-export the model'.format(
            onnx_path, str(err).splitlines()[0] if str(err) else type(err).__name__))


# ---------------------------------------------------------------- predictor

def paddle_error_line(err):
    """The informative line of a Paddle exception (they span many lines)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for line in lines:
        if 'Error' in line and not line.startswith('In user code'):
            return line
    return lines[0] if lines else type(err).__name__


def make_predictor(model_dir, use_gpu, enable_mkldnn, cpu_threads, ir_optim):
    """Returns (predictor, settings dict describing what actually runs)."""
    from paddle import inference
    program, params, _ = utils.inference_model_files(model_dir)
    config = inference.Config(program, params)
    device = 'gpu' if use_gpu and utils.gpu_available() else 'cpu'
    if use_gpu and device == 'cpu':
        print('--use-gpu True: this Paddle build has no usable GPU; running on CPU')
    if device == 'gpu':
        config.enable_use_gpu(256, 0)
    else:
        config.disable_gpu()
        config.set_cpu_math_library_num_threads(cpu_threads)
        if enable_mkldnn:
            config.enable_mkldnn()
        else:
            config.disable_mkldnn()
    config.switch_ir_optim(ir_optim)
    # On PIR programs memory optimisation works only with the new executor.
    config.enable_new_executor()
    config.enable_memory_optim()
    config.disable_glog_info()
    try:
        predictor = inference.create_predictor(config)
    except (ValueError, RuntimeError, OSError) as err:
        raise utils.UserError('cannot load the exported model in {}: {}'.format(model_dir, paddle_error_line(err)))
    names = list(predictor.get_input_names())
    if sorted(names) != sorted(INPUT_NAMES) or len(predictor.get_output_names()) != 1:
        raise utils.UserError('{} is not an LMF export: inputs {}, outputs {}'.format(
            model_dir, names, predictor.get_output_names()))
    settings = dict(device=device, ir_optim=ir_optim, enable_memory_optim=True,
                    enable_mkldnn=enable_mkldnn if device == 'cpu' else False,
                    cpu_math_library_num_threads=cpu_threads if device == 'cpu' else None)
    return predictor, settings


class OnnxPredictor:
    """inference.onnx on ONNX Runtime's CPU execution provider."""

    def __init__(self, onnx_path, threads):
        import onnxruntime
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: paddle2onnx leaves unused constants ORT warns about
        try:
            self.session = onnxruntime.InferenceSession(onnx_path, options, providers=['CPUExecutionProvider'])
        except Exception as err:  # onnxruntime's Fail / InvalidGraph / NoSuchFile
            raise utils.UserError('cannot load {}: {}'.format(onnx_path, str(err).splitlines()[0]))
        self.version = onnxruntime.__version__
        self.output = self.session.get_outputs()[0].name

    def run(self, audio, video, text):
        try:
            return self.session.run([self.output], {'audio': audio, 'video': video, 'text': text})[0]
        except Exception as err:  # onnxruntime's exceptions do not derive from RuntimeError
            raise RuntimeError(str(err).splitlines()[0] if str(err) else type(err).__name__)


def make_onnx_predictor(model_dir, threads):
    """Returns (OnnxPredictor, settings dict describing what runs)."""
    import onnxruntime
    predictor = OnnxPredictor(os.path.join(model_dir, ONNX_FILE), threads)
    names = [i.name for i in predictor.session.get_inputs()]
    if sorted(names) != sorted(INPUT_NAMES) or len(predictor.session.get_outputs()) != 1:
        raise utils.UserError('{} is not an LMF export: inputs {}, outputs {}'.format(
            os.path.join(model_dir, ONNX_FILE), names, [o.name for o in predictor.session.get_outputs()]))
    settings = dict(device='cpu', backend='onnxruntime', onnxruntime_version=onnxruntime.__version__,
                    execution_provider='CPUExecutionProvider', intra_op_num_threads=threads,
                    graph_optimization_level='ORT_ENABLE_ALL', execution_mode='ORT_SEQUENTIAL')
    return predictor, settings


def run_batch(predictor, audio, video, text):
    if isinstance(predictor, OnnxPredictor):
        return predictor.run(audio, video, text)
    for name, array in (('audio', audio), ('video', video), ('text', text)):
        handle = predictor.get_input_handle(name)
        handle.reshape(array.shape)
        handle.copy_from_cpu(array)
    predictor.run()
    return predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()


def predict(predictor, dataset, batch_size, warmup=0):
    """Model outputs [N, K] (class probabilities or regression scores) in dataset order, and
    per-batch timings in seconds."""
    n = len(dataset)
    if warmup:
        end = min(batch_size, n)
        sample = [np.ascontiguousarray(a[:end]) for a in (dataset.audio, dataset.video, dataset.text)]
        for _ in range(warmup):
            run_batch(predictor, *sample)
    outputs, times = [], dict(preprocess=[], inference=[], postprocess=[])
    for start in range(0, n, batch_size):
        t0 = time.perf_counter()
        batch = [np.ascontiguousarray(a[start:start + batch_size], dtype=np.float32)
                 for a in (dataset.audio, dataset.video, dataset.text)]
        t1 = time.perf_counter()
        try:
            out = run_batch(predictor, *batch)
        except (ValueError, RuntimeError) as err:
            raise utils.UserError('inference failed on samples {}..{}: {}'.format(
                start, start + len(batch[0]) - 1, paddle_error_line(err)))
        t2 = time.perf_counter()
        outputs.append(np.asarray(out, dtype=np.float32).reshape(len(batch[0]), -1))
        t3 = time.perf_counter()
        times['preprocess'].append(t1 - t0)
        times['inference'].append(t2 - t1)
        times['postprocess'].append(t3 - t2)
    return np.concatenate(outputs, axis=0), times


# ---------------------------------------------------------------- benchmark report

def cpu_rss_mb():
    """Resident memory of this process in MB (peak RSS where /proc is unavailable)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == 'darwin' else peak / 1024.0


def benchmark_report(settings, batch_size, n_samples, data_path, times, model_dir, warmup, model_name='lmf'):
    """Lines in the shape of AutoLog's report; times are per batch, after warm-up."""
    import paddle
    stamp = time.strftime('%Y/%m/%d %H:%M:%S')

    def line(text):
        return '[{}] root INFO: {}'.format(stamp, text)

    def ms(key):
        return 1000.0 * float(np.mean(times[key]))

    total = sum(sum(v) for v in times.values())
    rows = [
        '---------------------- Env info ----------------------',
        ' OS_version: {}'.format(platform.platform()),
        ' python_version: {}'.format(platform.python_version()),
        ' CPU: {} ({} logical cores)'.format(utils.cpu_model(), os.cpu_count()),
        ' CUDA_version: {}'.format(paddle.version.cuda() if paddle.device.is_compiled_with_cuda() else 'none (CPU build)'),
        '---------------------- Paddle info ----------------------',
        ' paddle_version: {}'.format(paddle.__version__),
        ' paddle_commit: {}'.format(paddle.version.commit),
        ' log_api_version: 1.0 (AutoLog layout, written by infer.py)',
        '----------------------- Conf info -----------------------',
        ' runtime_device: {}'.format(settings['device']),
    ]
    if settings.get('backend') == 'onnxruntime':
        rows += [
            ' inference_backend: onnxruntime',
            ' onnxruntime_version: {}'.format(settings['onnxruntime_version']),
            ' execution_provider: {}'.format(settings['execution_provider']),
            ' intra_op_num_threads: {}'.format(settings['intra_op_num_threads']),
            ' graph_optimization_level: {}'.format(settings['graph_optimization_level']),
            ' execution_mode: {}'.format(settings['execution_mode']),
        ]
    else:
        rows += [
            ' inference_backend: paddle_inference',
            ' ir_optim: {}'.format(settings['ir_optim']),
            ' enable_memory_optim: {}'.format(settings['enable_memory_optim']),
            ' enable_tensorrt: False',
            ' enable_mkldnn: {}'.format(settings['enable_mkldnn']),
            ' cpu_math_library_num_threads: {}'.format(settings['cpu_math_library_num_threads']),
        ]
    rows += [
        '----------------------- Model info ----------------------',
        ' model_name: {}'.format(model_name),
        ' model_dir: {}'.format(model_dir) + (' ({})'.format(ONNX_FILE) if settings.get('backend') == 'onnxruntime'
                                                else ''),
        ' precision: fp32',
        '----------------------- Data info -----------------------',
        ' data_path: {}'.format(data_path),
        ' batch_size: {}'.format(batch_size),
        ' input_shape: dynamic',
        ' data_num: {}'.format(n_samples),
        ' batches: {} (after {} warm-up runs)'.format(len(times['inference']), warmup),
        '----------------------- Perf info -----------------------',
        ' cpu_rss(MB): {:.4f}, gpu_rss(MB): {}, gpu_util: {}'.format(
            cpu_rss_mb(), 'None' if settings['device'] == 'cpu' else 'n/a',
            'None' if settings['device'] == 'cpu' else 'n/a'),
        ' total time spent(s): {:.4f}'.format(total),
        ' preprocess_time(ms): {:.4f}, inference_time(ms): {:.4f}, postprocess_time(ms): {:.4f}'.format(
            ms('preprocess'), ms('inference'), ms('postprocess')),
        # per-batch latency of the inference call (at batch size 1: per sample)
        ' inference_latency(ms): p50 {:.4f}, p99 {:.4f}'.format(
            *(1000.0 * np.percentile(times['inference'], q) for q in (50, 99))),
    ]
    return [line(r) for r in rows]


# ---------------------------------------------------------------- main

def check_outputs(outputs, info, n_samples, model_dir):
    """The predictor's outputs must be [N, output_dim] and finite; probabilities must sum to 1 per row."""
    kind = 'class probabilities' if info['output'] == 'probabilities' else 'regression scores'
    if outputs.shape != (n_samples, info['output_dim']) or not np.all(np.isfinite(outputs)) \
            or (info['output'] == 'probabilities' and not np.allclose(outputs.sum(axis=1), 1.0, atol=1e-4)):
        raise utils.UserError('the model in {} did not return {} (output shape {})'.format(
            model_dir, kind, outputs.shape))
    return kind


def main(argv=None):
    args = parse_args(argv)
    dataset, name, _ = hparams.task_of(args)  # validates --dataset and --emotion
    perturbation = robustness.from_args(args)
    if args.cpu_threads is None and args.batch_size >= 1:
        args.cpu_threads = default_cpu_threads(args.batch_size)
    for flag in ('batch_size', 'cpu_threads'):
        if getattr(args, flag) < 1:
            raise utils.UserError('--{} must be >= 1, got {}'.format(flag, getattr(args, flag)))
    if args.warmup < 0:
        raise utils.UserError('--warmup must be >= 0, got {}'.format(args.warmup))
    regression = dataset in hparams.REGRESSION
    output_dir = args.output_dir or ('out_pred' if regression else 'out_prob')

    model_dir = model_folder(args.save_inference_dir, name)
    if args.use_onnx:
        import importlib.util
        if importlib.util.find_spec('onnxruntime') is None:
            raise utils.UserError('--use_onnx True needs onnxruntime: pip install -r requirements.txt')
        if args.use_gpu:
            print('--use-gpu True: --use_onnx True runs on ONNX Runtime\'s CPU provider; running on CPU')
        onnx_path = os.path.join(model_dir, ONNX_FILE)
        if not os.path.isfile(onnx_path):
            raise utils.UserError('--use_onnx True: {} does not exist; export it first (export_model.py writes it): '
                                  'python export_model.py {} --save_inference_dir {}'.format(
                                      onnx_path, export_command(dataset, name), args.save_inference_dir))
    info = load_model_info(model_dir, name, args.save_inference_dir, dataset, use_onnx=args.use_onnx)
    perturbation.check_model(info['modalities'], 'the model in ' + model_dir)
    data_path = engine.default_data_path(args.data_path, dataset)
    train_set, _, test_set, _ = engine.load_data(dataset, data_path, name, expected_dims=info['input_dims'],
                                                model=checkpoints.model_layout(info, 'the model in ' + model_dir))
    if info['seq_len'] is not None and test_set.text.shape[1] != info['seq_len']:
        raise utils.UserError('{}: text sequences have length {} but the model in {} was exported for {}'.format(
            data_path, test_set.text.shape[1], model_dir, info['seq_len']))
    if test_set.labels.shape[1] != info['output_dim']:
        raise utils.UserError('{}: labels have {} {} but the model in {} outputs {}'.format(
            data_path, test_set.labels.shape[1], 'columns' if regression else 'classes', model_dir,
            info['output_dim']))

    if args.use_onnx:
        predictor, settings = make_onnx_predictor(model_dir, args.cpu_threads)
        print('Inference backend: ONNX Runtime {} (CPUExecutionProvider, intra_op_num_threads={})'.format(
            settings['onnxruntime_version'], args.cpu_threads))
    else:
        predictor, settings = make_predictor(model_dir, args.use_gpu, args.enable_mkldnn, args.cpu_threads,
                                             args.ir_optim)
        if settings['device'] == 'cpu':
            print('Inference device: CPU (cpu_threads={}, oneDNN {}, ir_optim {})'.format(
                args.cpu_threads, 'on' if args.enable_mkldnn else 'off', 'on' if args.ir_optim else 'off'))
        else:
            print('Inference device: GPU 0')
    print('Start inference {} on {} test samples of {} (batch size {})......'.format(
        name, len(test_set), data_path, args.batch_size))
    if perturbation:
        print(perturbation.describe())
        test_set = perturbation.apply(test_set, train_set)
    outputs, times = predict(predictor, test_set, args.batch_size, warmup=args.warmup if args.benchmark else 0)

    kind = check_outputs(outputs, info, len(test_set), model_dir)
    os.makedirs(output_dir, exist_ok=True)
    # perturbed predictions get their own name: never the clean ones' file
    out_path = os.path.join(output_dir, '{}_{}{}.npy'.format(
        dataset if regression else name, 'pred' if regression else 'prob', perturbation.suffix()))
    np.save(out_path, outputs)
    print('Saved {} [{}, {}] to {}'.format(kind, outputs.shape[0], outputs.shape[1], out_path))

    metric_set = metrics.metric_set(dataset, info['layout'])
    metrics.show_results(metric_set, metrics.task_metrics(metric_set, test_set.targets, outputs))
    if test_set.synthetic:
        print(engine.synthetic_note(dataset))
    if args.benchmark:
        for row in benchmark_report(settings, args.batch_size, len(test_set), data_path, times, model_dir,
                                    args.warmup, info['model']):
            print(row)


if __name__ == '__main__':
    utils.run_cli(main)
