"""Export a trained LMF checkpoint to a Paddle Inference model (static graph).

    python export_model.py --emotion happy                       # check/happy.pdparams -> check_inference/happy/
    python export_model.py --emotion happy --audio_hidden 4 --video_hidden 16 --text_hidden 128 \\
        --audio_dropout 0.3 --video_dropout 0.1 --text_dropout 0.5 --rank 1 --data_path ./data/iemocap.pkl

Writes, for --save_inference_dir DIR (default check_inference/):

    DIR/<emotion>/inference.json        the program (Paddle 3 PIR format; an LSTM model
                                        cannot be written as a legacy .pdmodel)
    DIR/<emotion>/inference.pdiparams   the weights
    DIR/<emotion>/inference_info.json   emotion, input sizes, output kind, source checkpoint

Inputs (dynamic batch): audio [N, 74], video [N, 35], text [N, --seq_len, 300] float32,
named 'audio', 'video', 'text'; the feature sizes come from the checkpoint. The output
is [N, classes] softmax probabilities. infer.py reads exactly this layout.

The architecture comes from the checkpoint; hyperparameter flags, if given, must agree
with it (dropouts do not change the exported model). The dataset is not needed; if
--data_path is given, its feature sizes are checked against the model and its first
test samples are used for the numerical self-check of the export.
"""
import argparse
import json
import os
import warnings

import numpy as np

import utils

INFO_FORMAT = 'lmf-paddle-inference-v1'
INPUT_NAMES = ('audio', 'video', 'text')
CHECK_SAMPLES = 8  # samples compared between the dynamic graph and the exported model
CHECK_TOLERANCE = 1e-5


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    utils.add_hparam_args(parser)
    parser.add_argument('--check_path', type=str, default=None,
                        help='checkpoint file, or a folder holding <emotion>.pdparams (default: check/)')
    parser.add_argument('--save_inference_dir', type=str, default='check_inference',
                        help='the model goes to <save_inference_dir>/<emotion>/ (default: check_inference/)')
    parser.add_argument('--data_path', type=str, default=None,
                        help='optional IEMOCAP pickle: check that its feature sizes fit the model')
    parser.add_argument('--seq_len', type=int, default=20,
                        help='text sequence length of the exported input (default 20); 0 = any length')
    args = parser.parse_args(argv)

    utils.emotion_hparams(args.emotion)  # validates --emotion
    if args.seq_len < 0:
        raise utils.UserError('--seq_len must be >= 1, or 0 for any length; got {}'.format(args.seq_len))
    if args.data_path and not os.path.isfile(args.data_path):
        raise utils.UserError('--data_path {} does not exist'.format(args.data_path))
    check_path = utils.checkpoint_file(args.check_path, args.emotion)
    overrides = utils.explicit_hparams(args, utils.MODEL_HPARAMS + utils.DROPOUT_HPARAMS)
    utils.check_hparams(overrides)

    import paddle
    paddle.set_device('cpu')
    model, hp, input_dims = utils.model_from_checkpoint(check_path, args.emotion, overrides, use_softmax=True)
    seq_len = args.seq_len or None

    if args.data_path:
        _, _, test_set, _ = utils.load_iemocap(args.data_path, args.emotion, expected_dims=input_dims)
        data_seq_len = test_set.text.shape[1]
        if seq_len is not None and data_seq_len != seq_len:
            raise utils.UserError('{}: text sequences have length {} but --seq_len is {}'.format(
                args.data_path, data_seq_len, seq_len))
        n = min(CHECK_SAMPLES, len(test_set))
        inputs = [test_set.audio[:n], test_set.visual[:n], test_set.text[:n]]
        check_source = '{} test samples of {}'.format(n, args.data_path)
    else:
        rng = np.random.RandomState(0)
        length = seq_len or 20
        inputs = [rng.randn(CHECK_SAMPLES, input_dims[0]).astype('float32'),
                  rng.randn(CHECK_SAMPLES, input_dims[1]).astype('float32'),
                  rng.randn(CHECK_SAMPLES, length, input_dims[2]).astype('float32')]
        check_source = '{} random inputs'.format(CHECK_SAMPLES)

    model_dir = os.path.join(args.save_inference_dir, args.emotion)
    print('Exporting {} ({}) from {}'.format(args.emotion, ', '.join(
        '{}={}'.format(k, hp[k]) for k in utils.MODEL_HPARAMS), check_path))
    expected = dynamic_outputs(model, inputs)
    files = export(model, input_dims, seq_len, model_dir)
    info = {
        'format': INFO_FORMAT,
        'emotion': args.emotion,
        'inputs': {name: [None] + ([seq_len] if name == 'text' else []) + [int(dim)]
                   for name, dim in zip(INPUT_NAMES, input_dims)},
        'input_dims': [int(d) for d in input_dims],
        'seq_len': seq_len,
        'output': 'probabilities',
        'output_dim': int(hp['output_dim']),
        'hparams': {k: hp[k] for k in utils.MODEL_HPARAMS},
        'checkpoint': os.path.abspath(check_path),
        'paddle_version': paddle.__version__,
    }
    with open(files[2], 'w') as f:
        json.dump(info, f, indent=2)
        f.write('\n')

    diff = self_check(files, inputs, expected)
    if not diff <= CHECK_TOLERANCE:
        raise RuntimeError('exported model differs from the dynamic graph by {} on {}'.format(diff, check_source))
    print('Input specs: ' + ', '.join('{} {}'.format(name, shape) for name, shape in info['inputs'].items()))
    print('Output: [None, {}] class probabilities (softmax)'.format(info['output_dim']))
    print('Self-check on {}: max |exported - dynamic| = {:.2e}'.format(check_source, diff))
    for path in files:
        print('Saved {}'.format(path))


if __name__ == '__main__':
    # Paddle's C++ log prints a warning per traced op input ("not support input out tensor");
    # keep its warnings and errors out unless the caller set GLOG_minloglevel.
    os.environ.setdefault('GLOG_minloglevel', '2')
    utils.run_cli(main)
