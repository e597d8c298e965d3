"""Export a trained LMF (or TFN) checkpoint to a Paddle Inference model (static graph).

    python export_model.py --emotion happy                       # check/happy.pdparams -> check_inference/happy/
    python export_model.py --emotion happy --audio_hidden 4 --video_hidden 16 --text_hidden 128 \\
        --audio_dropout 0.3 --video_dropout 0.1 --text_dropout 0.5 --rank 1 --data_path ./data/iemocap.pkl
    python export_model.py --dataset mosi                        # check/mosi.pdparams -> check_inference/mosi/
    python export_model.py --dataset pom --data_path ./data/pom.pkl   # check/pom.pdparams -> check_inference/pom/

Writes, for --save_inference_dir DIR (default check_inference/) and the model's name
(the emotion for IEMOCAP, mosi or pom for the regression datasets):

    DIR/<name>/inference.json           the program (Paddle 3 PIR format; an LSTM model
                                        cannot be written as a legacy .pdmodel)
    DIR/<name>/inference.pdiparams      the weights
    DIR/<name>/inference.onnx           the same model as ONNX (paddle2onnx, opset 17,
                                        dynamic batch axis) for infer.py --use_onnx True
    DIR/<name>/inference_info.json      dataset, name (and emotion), model (lmf or tfn) and the
                                        modalities it fuses, input sizes, output kind,
                                        hyperparameters, source checkpoint, the ONNX file and opset

Inputs (dynamic batch): audio [N, A], video [N, V], text [N, --seq_len, 300] float32,
named 'audio', 'video', 'text'; the feature sizes come from the checkpoint (IEMOCAP 74 and
35, CMU-MOSI 74 and 47, POM 43 and 43 in the authors' files). The output
is [N, classes] softmax probabilities for IEMOCAP ('output': 'probabilities' in the info
file) and the raw regression scores [N, K] for CMU-MOSI (K = 1) and POM (K = the traits),
without softmax ('output': 'scores'). infer.py reads exactly this layout.

A TFN checkpoint (train.py --model tfn) exports the same way. A model trained on fewer modalities
(train.py --modalities) keeps the three inputs, so that infer.py and the TIPC scripts have one
interface; it reads only the batch size of a left-out modality's input, never its values.
--model and --modalities, if given, must be the checkpoint's.

The architecture comes from the checkpoint; hyperparameter flags, if given, must agree
with it (dropouts do not change the exported model), and a checkpoint trained on another
dataset than --dataset is refused. The dataset is not needed; if --data_path is given (a
pickle of --dataset), its feature sizes and label count are checked against the model and
its first test samples are used for the numerical self-check of the export, which runs
both Paddle Inference and ONNX Runtime (CPU) on them.
"""
import argparse
import json
import os
import warnings

import numpy as np

from lmf import hparams
from lmf import engine
from lmf import checkpoints
import utils

INFO_FORMAT = 'lmf-paddle-inference-v1'
INPUT_NAMES = ('audio', 'video', 'text')
CHECK_SAMPLES = 8  # samples compared between the dynamic graph and the exported model
ONNX_FILE = 'inference.onnx'
ONNX_OPSET = 17  # ONNX opset of inference.onnx; ONNX Runtime >= 1.13 runs it
DEFAULT_SEQ_LEN = 20  # the paper's pickles (checkpoints written before seq_len was recorded)
CHECK_TOLERANCE = 1e-5  # per unit of output scale: max |exported - dynamic| <= 1e-5 * max(1, max |dynamic|)
# What the exported model returns, per dataset (the 'output' of inference_info.json).
OUTPUT_KINDS = {dataset: 'scores' if dataset in hparams.REGRESSION else 'probabilities'
                for dataset in hparams.DATASETS}


def input_specs(input_dims, seq_len):
    """InputSpecs of the exported program; seq_len None = any length."""
    import paddle
    audio_in, video_in, text_in = input_dims
    return [paddle.static.InputSpec([None, audio_in], 'float32', 'audio'),
            paddle.static.InputSpec([None, video_in], 'float32', 'video'),
            paddle.static.InputSpec([None, seq_len, text_in], 'float32', 'text')]


def export(model, input_dims, seq_len, model_dir):
    """Trace `model` (eval mode) and write inference.json / inference.pdiparams to model_dir."""
    import paddle
    os.makedirs(model_dir, exist_ok=True)
    static_model = paddle.jit.to_static(model, input_spec=input_specs(input_dims, seq_len), full_graph=True)
    # Tracing warns that PIR values have no 'place' (harmless). Paddle resets the warning
    # filters while tracing, so record the warnings and show only the others.
    with warnings.catch_warnings(record=True) as caught:
        paddle.jit.save(static_model, os.path.join(model_dir, 'inference'))
    for w in caught:
        if "do not have 'place'" not in str(w.message):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    files = utils.inference_model_files(model_dir)
    for path in files[:2]:
        if not os.path.isfile(path):
            raise RuntimeError('paddle.jit.save did not write {}'.format(path))
    return files


def dynamic_outputs(model, inputs):
    """The dynamic-graph model's output on numpy inputs (call before export: to_static converts the layer)."""
    import paddle
    with paddle.no_grad():
        return model(*[paddle.to_tensor(a) for a in inputs]).numpy()


def require_onnx_packages():
    """paddle2onnx (the converter) and onnxruntime (the self-check) must be installed; checked before writing."""
    import importlib.util

    def installed(package):
        try:
            return importlib.util.find_spec(package) is not None
        except (ImportError, ValueError):
            return False
    missing = [p for p in ('paddle2onnx', 'onnxruntime') if not installed(p)]
    if missing:
        raise utils.UserError('{} not installed; the ONNX export needs it: pip install -r requirements.txt'.format(
            ' and '.join(missing) + (' is' if len(missing) == 1 else ' are')))


def onnx_input_shapes(onnx_path):
    """{input name: shape} of an ONNX file; a symbolic or unknown dimension is None."""
    import onnx
    model = onnx.load(onnx_path, load_external_data=False)
    initializers = {init.name for init in model.graph.initializer}
    shapes = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        shapes[value.name] = [d.dim_value if d.HasField('dim_value') else None
                              for d in value.type.tensor_type.shape.dim]
    return shapes


def export_onnx(files, onnx_path):
    """Convert the saved Paddle model (files from export()) to ONNX with paddle2onnx; writes onnx_path."""
    import logging
    import paddle2onnx
    # paddle2onnx logs its steps on the root logger at INFO; keep only its warnings and errors.
    logging.getLogger().setLevel(logging.WARNING)
    try:
        # optimize_tool 'None': the default ('polygraphy') installs packages at run time.
        model_bytes = paddle2onnx.export(files[0], files[1], save_file=None, opset_version=ONNX_OPSET,
                                         auto_upgrade_opset=False, enable_onnx_checker=True,
                                         optimize_tool='None')
    except (NameError, UnboundLocalError):  # paddle2onnx logs the conversion error, then fails to return
        model_bytes = None
    if not model_bytes:
        raise RuntimeError('paddle2onnx could not convert {}'.format(files[0]))
    with open(onnx_path, 'wb') as f:
        f.write(model_bytes)
    shapes = onnx_input_shapes(onnx_path)
    if sorted(shapes) != sorted(INPUT_NAMES) or any(shape[0] is not None for shape in shapes.values()):
        raise RuntimeError('{} has inputs {}; expected {} with a dynamic batch axis'.format(
            onnx_path, shapes, list(INPUT_NAMES)))
    return onnx_path


def onnx_check(onnx_path, inputs, expected):
    """Run inference.onnx with ONNX Runtime (CPU) on `inputs`; max |difference| to `expected`."""
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(onnx_path, options, providers=['CPUExecutionProvider'])
    exported = session.run(None, {name: np.ascontiguousarray(a) for name, a in zip(INPUT_NAMES, inputs)})[0]
    return float(np.abs(exported - expected).max())


def self_check(files, inputs, expected):
    """Run the exported model with Paddle Inference on `inputs`; max |difference| to `expected`."""
    from paddle import inference
    config = inference.Config(files[0], files[1])
    config.disable_gpu()
    config.disable_glog_info()
    predictor = inference.create_predictor(config)
    for name, array in zip(INPUT_NAMES, inputs):
        handle = predictor.get_input_handle(name)
        handle.reshape(array.shape)
        handle.copy_from_cpu(np.ascontiguousarray(array))
    predictor.run()
    exported = predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
    return float(np.abs(exported - expected).max())


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    hparams.add_task_args(parser, trait=False)
    hparams.add_hparam_args(parser, default="the checkpoint's")
    parser.add_argument('--model', choices=hparams.MODELS, default=None,
                        help="lmf or tfn (default: the checkpoint's; if given, it must be the checkpoint's)")
    parser.add_argument('--modalities', type=str, default=None,
                        help="the modalities the model fuses (default: the checkpoint's; if given, they must be the "
                             "checkpoint's)")
    utils.add_check_path_arg(parser)
    parser.add_argument('--save_inference_dir', type=str, default='check_inference',
                        help='the model goes to <save_inference_dir>/<name>/ (default: check_inference/)')
    parser.add_argument('--data_path', type=str, default=None,
                        help='optional pickle of --dataset: check that its feature sizes and label count fit the '
                             'model, and self-check the export on its test samples')
    parser.add_argument('--seq_len', type=int, default=None,
                        help="text sequence length of the exported input (default: the training file's, recorded in "
                             'the checkpoint; 20 for checkpoints that record none); 0 = any length')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    dataset, name, _ = hparams.task_of(args)  # validates --dataset and --emotion
    regression = dataset in hparams.REGRESSION
    if args.seq_len is not None and args.seq_len < 0:
        raise utils.UserError('--seq_len must be >= 1, or 0 for any length; got {}'.format(args.seq_len))
    if args.data_path and not os.path.isfile(args.data_path):
        raise utils.UserError('--data_path {} does not exist'.format(args.data_path))
    check_path = checkpoints.checkpoint_file(args.check_path, name, dataset=dataset)
    overrides = hparams.explicit_hparams(args, hparams.MODEL_HPARAMS + hparams.DROPOUT_HPARAMS)
    hparams.check_hparams(overrides)
    if args.modalities is not None:
        hparams.parse_modalities(args.modalities)  # a bad value fails before anything is read
        overrides['modalities'] = args.modalities
    if args.model is not None:
        overrides['model'] = args.model

    require_onnx_packages()
    import paddle
    paddle.set_device('cpu')
    # Classification exports class probabilities; regression the raw scores.
    model, hp, input_dims = checkpoints.model_from_checkpoint(check_path, name, overrides, use_softmax=not regression,
                                                        dataset=dataset)
    seq_len = (hp.get('seq_len') or DEFAULT_SEQ_LEN) if args.seq_len is None else (args.seq_len or None)
    if dataset == 'mosi' and hp['output_dim'] != 1:
        # The seed's flat .pkl checkpoints record no dataset, so model_from_checkpoint cannot refuse them.
        raise utils.UserError('--dataset mosi: checkpoint {} has {} outputs but a CMU-MOSI model has one '
                              '(sentiment)'.format(check_path, hp['output_dim']))

    if args.data_path:
        _, _, test_set, _ = engine.load_data(dataset, args.data_path, name, expected_dims=input_dims,
                                            output_dim=hp['output_dim'],
                                            output_flag='the output_dim of checkpoint {}'.format(check_path),
                                            model=checkpoints.model_layout(hp, 'checkpoint ' + check_path))
        data_seq_len = test_set.text.shape[1]
        if seq_len is not None and data_seq_len != seq_len:
            raise utils.UserError('{}: text sequences have length {} but --seq_len is {}'.format(
                args.data_path, data_seq_len, seq_len))
        n = min(CHECK_SAMPLES, len(test_set))
        inputs = [test_set.audio[:n], test_set.video[:n], test_set.text[:n]]
        check_source = '{} test samples of {}'.format(n, args.data_path)
    else:
        rng = np.random.RandomState(0)
        length = seq_len or 20
        inputs = [rng.randn(CHECK_SAMPLES, input_dims[0]).astype('float32'),
                  rng.randn(CHECK_SAMPLES, input_dims[1]).astype('float32'),
                  rng.randn(CHECK_SAMPLES, length, input_dims[2]).astype('float32')]
        check_source = '{} random inputs'.format(CHECK_SAMPLES)

    model_dir = os.path.join(args.save_inference_dir, name)
    kind, modalities = hparams.model_of(hp), hparams.modalities_of(hp)
    model_keys = [k for k in hparams.model_keys(kind) if k in hp and k not in hparams.unused_hparams(hp)]
    # LMF on all three modalities prints as it always has; other models name themselves first
    what = '' if kind == 'lmf' and len(modalities) == len(hparams.MODALITIES) else '{}{}: '.format(
        checkpoints.MODEL_NAMES[kind], '' if len(modalities) == len(hparams.MODALITIES) else ' on ' + ','.join(modalities))
    print('Exporting {} ({}{}) from {}'.format(
        name, what, ', '.join('{}={}'.format(k, hp[k]) for k in model_keys), check_path))
    expected = dynamic_outputs(model, inputs)
    files = export(model, input_dims, seq_len, model_dir)
    info = {'format': INFO_FORMAT, 'dataset': dataset, 'name': name, 'layout': hp.get('layout', 'authors'),
            'model': kind, 'modalities': list(modalities)}
    if dataset == 'iemocap':
        info['emotion'] = name
    info.update({
        'inputs': {input_name: [None] + ([seq_len] if input_name == 'text' else []) + [int(dim)]
                   for input_name, dim in zip(INPUT_NAMES, input_dims)},
        'input_dims': [int(d) for d in input_dims],
        'seq_len': seq_len,
        'output': OUTPUT_KINDS[dataset],
        'output_dim': int(hp['output_dim']),
        'hparams': {k: hp[k] for k in model_keys},  # a left-out modality's hidden size is not the model's
        'checkpoint': os.path.abspath(check_path),
        'paddle_version': paddle.__version__,
        'onnx': {'file': ONNX_FILE, 'opset': ONNX_OPSET},
    })
    with open(files[2], 'w') as f:
        json.dump(info, f, indent=2)
        f.write('\n')

    onnx_path = export_onnx(files, os.path.join(model_dir, ONNX_FILE))

    # Probabilities are at most 1, so for them this is 1e-5; raw scores (regression) can be
    # large on random inputs, where float32 rounding alone exceeds an absolute 1e-5.
    tolerance = CHECK_TOLERANCE * max(1.0, float(np.abs(expected).max()))
    diff = self_check(files, inputs, expected)
    if not diff <= tolerance:
        raise RuntimeError('exported model differs from the dynamic graph by {} on {}'.format(diff, check_source))
    onnx_diff = onnx_check(onnx_path, inputs, expected)
    if not onnx_diff <= tolerance:
        raise RuntimeError('{} (ONNX Runtime) differs from the dynamic graph by {} on {}'.format(
            onnx_path, onnx_diff, check_source))
    print('Input specs: ' + ', '.join('{} {}'.format(k, shape) for k, shape in info['inputs'].items()))
    left_out = [m for m in hparams.MODALITIES if m not in modalities]
    if left_out:
        print('The model fuses {}; {} kept as input{} and ignored (only the batch size is read)'.format(
            ','.join(modalities), ' and '.join(left_out), 's' if len(left_out) > 1 else ''))
    if regression:
        print('Output: [None, {}] regression scores (no softmax)'.format(info['output_dim']))
    else:
        print('Output: [None, {}] class probabilities (softmax)'.format(info['output_dim']))
    print('Self-check on {}: max |exported - dynamic| = {:.2e}'.format(check_source, diff))
    print('ONNX self-check (onnxruntime, opset {}) on {}: max |onnx - dynamic| = {:.2e}'.format(
        ONNX_OPSET, check_source, onnx_diff))
    for path in files[:2] + (onnx_path, files[2]):
        print('Saved {}'.format(path))


if __name__ == '__main__':
    # Paddle's C++ log prints a warning per traced op input ("not support input out tensor");
    # keep its warnings and errors out unless the caller set GLOG_minloglevel.
    os.environ.setdefault('GLOG_minloglevel', '2')
    utils.run_cli(main)
