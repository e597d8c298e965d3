"""Deployment: export a model to Paddle Inference and ONNX (export), and run an export (Predictor).

An export is one folder, <save_inference_dir>/<name>/ (name: the emotion for IEMOCAP, else the dataset):
inference.json (the program, Paddle 3's PIR format: an LSTM model cannot be written as a legacy .pdmodel),
inference.pdiparams (the weights), inference.onnx (the same model in ONNX: paddle2onnx, opset 17, dynamic batch axis)
and inference_info.json (dataset, name, layout, model and the modalities it fuses, input sizes, output kind,
hyperparameters, source checkpoint, ONNX file and opset). Inputs, any batch size N, float32: 'audio' [N, A], 'video'
[N, V], 'text' [N, T, E] (T fixed at export, or any); output [N, K]: class probabilities (softmax) for IEMOCAP
('probabilities'), raw regression scores for the other datasets ('scores'). A model trained on fewer modalities
keeps the three inputs (one interface for every export) and reads only the batch size of a left-out one.
"""
import json
import os
import time
import warnings

import numpy as np

from lmf import hparams
import utils
from safe_io import UserError, atomic_write

INFO_FORMAT = 'lmf-paddle-inference-v1'
INPUT_NAMES = ('audio', 'video', 'text')
ONNX_FILE = 'inference.onnx'
ONNX_OPSET = 17  # ONNX Runtime >= 1.13 runs it
CHECK_TOLERANCE = 1e-5  # per unit of output scale: max |exported - dynamic| <= 1e-5 * max(1, max |dynamic|)
OUTPUT_KINDS = {dataset: 'scores' if dataset in hparams.REGRESSION else 'probabilities' for dataset in hparams.DATASETS}
# Fastest on the 2-core reference machine (BENCHMARKS.md, docs/deploy.md), for Paddle Inference and ONNX Runtime
# alike: oneDNN off; one thread at batch size 1, the cores (utils.default_cpu_threads) for larger batches.
DEFAULT_ENABLE_MKLDNN = False


def default_cpu_threads(batch_size):
    return 1 if batch_size == 1 else utils.default_cpu_threads()


def model_files(model_dir):
    """The files of an export folder: (program, weights, ONNX model, info file)."""
    return tuple(os.path.join(model_dir, name) for name in ('inference.json', 'inference.pdiparams', ONNX_FILE,
                                                             'inference_info.json'))


def missing_packages(*packages):
    """The packages of `packages` that are not installed (checked before anything is read or written)."""
    import importlib.util
    return [p for p in packages if importlib.util.find_spec(p) is None]


# What the ONNX side needs, and the one line that says how to get it (paddle2onnx has no wheel past Python 3.12).
ONNX_PACKAGES = ('paddle2onnx', 'onnxruntime')
ONNX_INSTALL = 'pip install -r requirements-onnx.txt; paddle2onnx has wheels for Python 3.12 and older only'


# ---------------------------------------------------------------- export

def info_of(dataset, name, hp, input_dims, seq_len, checkpoint, onnx=True):
    """The info file of a model (hp: its checkpoint's settings; seq_len None: any text length; onnx False: the export
    has no ONNX file)."""
    import paddle
    kind, modalities = hparams.model_of(hp), hparams.modalities_of(hp)
    # the architecture's hyperparameters (unused_hparams: LMF's rank under TFN, TFN's own under LMF)
    keys = [k for k in hparams.MODEL_HPARAMS + ('post_fusion_dim',) if k in hp and k not in hparams.unused_hparams(hp)]
    return dict(format=INFO_FORMAT, dataset=dataset, name=name, layout=hp.get('layout', 'authors'), model=kind,
                modalities=list(modalities), **({'emotion': name} if dataset == 'iemocap' else {}),
                inputs={input_name: [None] + ([seq_len] if input_name == 'text' else []) + [int(dim)]
                        for input_name, dim in zip(INPUT_NAMES, input_dims)},
                input_dims=[int(d) for d in input_dims], seq_len=seq_len, output=OUTPUT_KINDS[dataset],
                output_dim=int(hp['output_dim']),
                hparams={k: hp[k] for k in keys},  # a left-out modality's hidden size is not the model's
                checkpoint=os.path.abspath(checkpoint), paddle_version=paddle.__version__,
                onnx={'file': ONNX_FILE, 'opset': ONNX_OPSET} if onnx else None)


def export(model, info, model_dir, inputs, check_source):
    """Write the export of `model` (dynamic graph, eval mode) that `info` describes to model_dir; Paddle Inference and
    ONNX Runtime must then give the model's outputs on `inputs` ([audio, video, text], a few samples) within
    CHECK_TOLERANCE. Without info['onnx'] no ONNX file is written (an older one is removed: it would be stale).
    Returns (the files written, max |Paddle Inference - dynamic|, max |ONNX Runtime - dynamic| or None)."""
    import paddle
    inputs = [np.ascontiguousarray(a, dtype=np.float32) for a in inputs]
    with paddle.no_grad():  # before to_static, which converts the layer
        expected = model(*[paddle.to_tensor(a) for a in inputs]).numpy()
    # a copy: InputSpec turns None into -1 in the list it is given
    specs = [paddle.static.InputSpec(list(shape), 'float32', name) for name, shape in info['inputs'].items()]
    program, params, onnx_path, info_path = files = model_files(model_dir)
    static_model = paddle.jit.to_static(model, input_spec=specs, full_graph=True)
    # Tracing warns that PIR values have no 'place' (harmless). Paddle resets the warning filters while
    # tracing, so record the warnings and show only the others.
    with warnings.catch_warnings(record=True) as caught:
        paddle.jit.save(static_model, os.path.join(model_dir, 'inference'))
    for w in caught:
        if "do not have 'place'" not in str(w.message):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    for path in (program, params):
        if not os.path.isfile(path):
            raise RuntimeError('paddle.jit.save did not write {}'.format(path))
    with atomic_write(info_path) as f:
        json.dump(info, f, indent=2)
        f.write('\n')
    if info['onnx']:
        export_onnx(program, params, onnx_path)
    elif os.path.exists(onnx_path):
        os.remove(onnx_path)
    # Probabilities are at most 1, so for them this is 1e-5; raw scores (regression) can be large on random
    # inputs, where float32 rounding alone exceeds an absolute 1e-5.
    tolerance = CHECK_TOLERANCE * max(1.0, float(np.abs(expected).max()))
    # Paddle Inference with its own CPU defaults (oneDNN on, one thread); ONNX Runtime with its default threads
    predictors = [Predictor(model_dir, enable_mkldnn=True, cpu_threads=1)]
    if info['onnx']:
        predictors.append(Predictor(model_dir, use_onnx=True, cpu_threads=utils.default_cpu_threads()))
    diffs = [float(np.abs(predictor.run(*inputs) - expected).max()) for predictor in predictors]
    for diff, what in zip(diffs, ('exported model', '{} (ONNX Runtime)'.format(onnx_path))):
        if not diff <= tolerance:
            raise RuntimeError('{} differs from the dynamic graph by {} on {}'.format(what, diff, check_source))
    written = tuple(f for f in files if f != onnx_path or info['onnx'])
    return written, diffs[0], diffs[1] if info['onnx'] else None


def export_onnx(program, params, onnx_path):
    """Convert a saved Paddle model to ONNX with paddle2onnx; writes onnx_path."""
    import logging
    import paddle2onnx
    # paddle2onnx logs its steps on the root logger at INFO; keep only its warnings and errors.
    logging.getLogger().setLevel(logging.WARNING)
    try:
        # optimize_tool 'None': the default ('polygraphy') installs packages at run time.
        model_bytes = paddle2onnx.export(program, params, save_file=None, opset_version=ONNX_OPSET,
                                         auto_upgrade_opset=False, enable_onnx_checker=True, optimize_tool='None')
    except (NameError, UnboundLocalError):  # paddle2onnx logs the conversion error, then fails to return
        model_bytes = None
    if not model_bytes:
        raise RuntimeError('paddle2onnx could not convert {}'.format(program))
    with atomic_write(onnx_path, 'wb') as f:
        f.write(model_bytes)
    shapes = onnx_input_shapes(onnx_path)
    if sorted(shapes) != sorted(INPUT_NAMES) or any(shape[0] is not None for shape in shapes.values()):
        raise RuntimeError('{} has inputs {}; expected {} with a dynamic batch axis'.format(
            onnx_path, shapes, list(INPUT_NAMES)))


# ---------------------------------------------------------------- reading an export

def onnx_input_shapes(onnx_path):
    """{input name: shape} of an ONNX file, a symbolic or unknown dimension None; a file that is not ONNX is refused.
    Read by ONNX Runtime: the onnx package comes only with paddle2onnx, which Python 3.13 does not have."""
    import onnxruntime
    try:
        session = onnxruntime.InferenceSession(onnx_path, providers=['CPUExecutionProvider'])
    except Exception as err:  # onnxruntime's Fail / InvalidGraph / NoSuchFile for a damaged file
        raise UserError('{} is not a readable ONNX model ({}); re-export the model'.format(
            onnx_path, str(err).splitlines()[0] if str(err) else type(err).__name__))
    return {value.name: [d if isinstance(d, int) else None for d in value.shape] for value in session.get_inputs()}


def program_input_shapes(program_path):
    """{input name: shape} from the data ops of a PIR program file; {} if its layout is not recognised."""
    try:
        with open(program_path) as f:
            program = json.load(f)['program']
        ops = [op for region in program['regions'] for block in region['blocks'] for op in block['ops']]
        data = [{a['N']: a['AT']['D'] for a in op['A']} for op in ops if op.get('#') == '1.data']
        return {attrs['name']: [None if d < 0 else int(d) for d in attrs['shape']] for attrs in data}
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}


def read_info(save_inference_dir, dataset, name, use_onnx=False):
    """(folder, info dict) of the export of `name` in <dir>/<name>/, or in <dir> if it holds the files, checked: the
    files the backend needs are there, the export is of `dataset` and `name`, and the program (or ONNX graph) that
    runs takes the inputs the info file states. Older info files: no dataset is IEMOCAP, no model LMF on all three."""
    model_dir = os.path.join(save_inference_dir, name)
    if not os.path.isfile(model_files(model_dir)[0]) and os.path.isfile(model_files(save_inference_dir)[0]):
        model_dir = save_inference_dir
    program, params, onnx_path, info_path = model_files(model_dir)
    command = 'python export_model.py {} --save_inference_dir {}'.format(
        '--emotion {}'.format(name) if dataset == 'iemocap' else '--dataset {}'.format(dataset), save_inference_dir)
    if use_onnx and missing_packages('onnxruntime'):
        raise UserError('--use_onnx True needs onnxruntime, which is not installed: {}'.format(ONNX_INSTALL))
    if use_onnx and not os.path.isfile(onnx_path):
        raise UserError('--use_onnx True: {} does not exist; export it with paddle2onnx installed: {} ({})'.format(
            onnx_path, command, ONNX_INSTALL))
    missing = [os.path.basename(p) for p in ((onnx_path, info_path) if use_onnx else (program, params, info_path))
               if not os.path.isfile(p)]
    if missing:
        raise UserError('no exported {} model in {} ({} missing); export it first: {}'.format(
            name, model_dir, ', '.join(missing), command))
    try:
        with open(info_path) as f:
            info = json.load(f)
        if info.get('format') != INFO_FORMAT:
            raise ValueError('format {!r}'.format(info.get('format')))
        info['input_dims'] = tuple(int(d) for d in info['input_dims'])
        info['output_dim'] = int(info['output_dim'])
        info['seq_len'] = None if info.get('seq_len') is None else int(info['seq_len'])
        info = dict(dict(dataset='iemocap', layout='authors', model=hparams.DEFAULT_MODEL,
                         modalities=list(hparams.MODALITIES)), **info)  # the defaults of older info files
        for key, known in (('model', hparams.MODELS), ('dataset', OUTPUT_KINDS)):
            if info[key] not in known:
                raise ValueError('unknown {} {!r}'.format(key, info[key]))
        info['modalities'] = hparams.modalities_of(info)
        info.setdefault('name', info.get('emotion') if info['dataset'] == 'iemocap' else info['dataset'])
        if info['name'] != hparams.model_name(info['dataset'], info.get('emotion')):
            raise ValueError('name {!r} for dataset {!r}'.format(info['name'], info['dataset']))
        if len(info['input_dims']) != 3 or info.get('output') != OUTPUT_KINDS[info['dataset']]:
            raise ValueError('unexpected content')
    except (OSError, ValueError, KeyError, TypeError, UserError) as err:
        raise UserError('{} is not an export_model.py info file ({}); re-export the model'.format(info_path, err))
    if info['dataset'] != dataset:
        raise UserError('--dataset {}: the model in {} was exported for --dataset {}{}'.format(
            dataset, model_dir, info['dataset'], ' ({})'.format(info['name']) if info['dataset'] == 'iemocap' else ''))
    if dataset == 'iemocap' and info.get('emotion') != name:
        raise UserError('--emotion {}: the model in {} was exported for {}'.format(
            name, model_dir, info.get('emotion')))
    expected = {'audio': [None, info['input_dims'][0]], 'video': [None, info['input_dims'][1]],
                'text': [None, info['seq_len'], info['input_dims'][2]]}
    model_file, shapes = (onnx_path, onnx_input_shapes(onnx_path)) if use_onnx else (
        program, program_input_shapes(program))
    if shapes and shapes != expected:
        raise UserError('{} takes inputs {} but {} says {}; re-export the model'.format(
            model_file, shapes, info_path, expected))
    return model_dir, info


def check_outputs(outputs, info, n_samples, model_dir):
    """Outputs must be [N, output_dim] and finite, probabilities sum to 1 per row; returns what they are."""
    kind = 'class probabilities' if info['output'] == 'probabilities' else 'regression scores'
    if outputs.shape != (n_samples, info['output_dim']) or not np.all(np.isfinite(outputs)) \
            or (info['output'] == 'probabilities' and not np.allclose(outputs.sum(axis=1), 1.0, atol=1e-4)):
        raise UserError('the model in {} did not return {} (output shape {})'.format(model_dir, kind, outputs.shape))
    return kind


# ---------------------------------------------------------------- running an export

def error_line(err):
    """The informative line of an exception from Paddle Inference or ONNX Runtime (they span many lines)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for line in lines:
        if 'Error' in line and not line.startswith('In user code'):
            return line
    return lines[0] if lines else type(err).__name__


class Predictor:
    """The export in model_dir on Paddle Inference (GPU 0 if use_gpu and this build has one, else CPU) or, use_onnx,
    ONNX Runtime's CPU provider; cpu_threads: math (ONNX Runtime: intra-op) threads, best default_cpu_threads(batch).
    ONNX Runtime runs sequentially with every graph optimisation (the model is one chain of ops; the level made no
    consistent difference). `device` is what runs, `settings` what a report shows. A model that does not load, or
    whose inputs are not audio, video and text with one output, is a UserError."""

    def __init__(self, model_dir, use_onnx=False, use_gpu=False, enable_mkldnn=DEFAULT_ENABLE_MKLDNN, cpu_threads=1,
                 ir_optim=True):
        self.use_onnx, self.device = use_onnx, 'gpu' if use_gpu and not use_onnx and utils.gpu_available() else 'cpu'
        where = model_files(model_dir)[2] if use_onnx else model_dir
        if use_onnx:
            import onnxruntime
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = cpu_threads, 1
            options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.log_severity_level = 3  # errors only: paddle2onnx leaves unused constants ORT warns about
            try:
                self._session = onnxruntime.InferenceSession(where, options, providers=['CPUExecutionProvider'])
            except Exception as err:  # onnxruntime's Fail / InvalidGraph / NoSuchFile
                raise UserError('cannot load {}: {}'.format(where, str(err).splitlines()[0]))
            self.settings = dict(device='cpu', backend='onnxruntime', onnxruntime_version=onnxruntime.__version__,
                                 execution_provider='CPUExecutionProvider', intra_op_num_threads=cpu_threads,
                                 graph_optimization_level='ORT_ENABLE_ALL', execution_mode='ORT_SEQUENTIAL')
            inputs = [v.name for v in self._session.get_inputs()]
            self._outputs = [v.name for v in self._session.get_outputs()]
        else:
            from paddle import inference
            config = inference.Config(*model_files(model_dir)[:2])
            if self.device == 'gpu':
                config.enable_use_gpu(256, 0)
            else:
                config.disable_gpu()
                config.set_cpu_math_library_num_threads(cpu_threads)
                config.enable_mkldnn() if enable_mkldnn else config.disable_mkldnn()
            config.switch_ir_optim(ir_optim)
            config.enable_new_executor()  # on PIR programs memory optimisation works only with the new executor
            config.enable_memory_optim()
            config.disable_glog_info()
            try:
                self._predictor = inference.create_predictor(config)
            except (ValueError, RuntimeError, OSError) as err:
                raise UserError('cannot load the exported model in {}: {}'.format(model_dir, error_line(err)))
            cpu = self.device == 'cpu'
            self.settings = dict(device=self.device, ir_optim=ir_optim, enable_memory_optim=True,
                                 enable_mkldnn=enable_mkldnn if cpu else False,
                                 cpu_math_library_num_threads=cpu_threads if cpu else None)
            inputs = list(self._predictor.get_input_names())
            self._outputs = list(self._predictor.get_output_names())
        if sorted(inputs) != sorted(INPUT_NAMES) or len(self._outputs) != 1:
            raise UserError('{} is not an LMF export: inputs {}, outputs {}'.format(where, inputs, self._outputs))

    def run(self, audio, video, text):
        """Outputs [N, K] of one batch: audio [N, A], video [N, V], text [N, T, E], C-contiguous float32."""
        if self.use_onnx:
            try:
                return self._session.run(self._outputs, {'audio': audio, 'video': video, 'text': text})[0]
            except Exception as err:  # onnxruntime's exceptions do not derive from RuntimeError
                raise RuntimeError(str(err).splitlines()[0] if str(err) else type(err).__name__)
        for name, array in zip(INPUT_NAMES, (audio, video, text)):
            handle = self._predictor.get_input_handle(name)
            handle.reshape(array.shape)
            handle.copy_from_cpu(array)
        self._predictor.run()
        return self._predictor.get_output_handle(self._outputs[0]).copy_to_cpu()

    def predict(self, dataset, batch_size, warmup=0):
        """Outputs [N, K] float32 of a data split (.audio, .video, .text) in its order, batch by batch, after
        `warmup` untimed runs of the first batch; and the seconds per batch of each step (preprocess: slicing to
        contiguous arrays, inference, postprocess) for the timing report."""
        arrays, n = (dataset.audio, dataset.video, dataset.text), len(dataset)
        sample = [np.ascontiguousarray(a[:min(batch_size, n)]) for a in arrays]
        for _ in range(warmup):
            self.run(*sample)
        outputs, times = [], dict(preprocess=[], inference=[], postprocess=[])
        for start in range(0, n, batch_size):
            t0 = time.perf_counter()
            batch = [np.ascontiguousarray(a[start:start + batch_size], dtype=np.float32) for a in arrays]
            t1 = time.perf_counter()
            try:
                out = self.run(*batch)
            except (ValueError, RuntimeError) as err:
                raise UserError('inference failed on samples {}..{}: {}'.format(
                    start, start + len(batch[0]) - 1, error_line(err)))
            t2 = time.perf_counter()
            outputs.append(np.asarray(out, dtype=np.float32).reshape(len(batch[0]), -1))
            t3 = time.perf_counter()
            for key, seconds in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
                times[key].append(seconds)
        return np.concatenate(outputs, axis=0), times
