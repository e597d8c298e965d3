"""Export a trained LMF (or TFN) checkpoint to a Paddle Inference model (static graph) and to ONNX.

    python export_model.py --emotion happy                       # check/happy.pdparams -> check_inference/happy/
    python export_model.py --emotion happy --audio_hidden 4 --video_hidden 16 --text_hidden 128 \\
        --audio_dropout 0.3 --video_dropout 0.1 --text_dropout 0.5 --rank 1 --data_path ./data/iemocap.pkl
    python export_model.py --dataset mosi                        # check/mosi.pdparams -> check_inference/mosi/

Writes <save_inference_dir>/<name>/ (name: the emotion, else the dataset) as lmf/deploy.py describes. The
architecture comes from the checkpoint; hyperparameter flags, --model and --modalities, if given, must agree with it
(dropouts do not change the exported model), and a checkpoint of another dataset than --dataset is refused.
--data_path (optional, a pickle of --dataset) is checked against the model, and its first test samples replace the
random inputs of the self-check, which runs the export on Paddle Inference and ONNX Runtime against the checkpoint.
"""
import argparse
import os

import numpy as np

from lmf import checkpoints, deploy, engine, hparams
import utils

CHECK_SAMPLES = 8  # samples compared between the dynamic graph and the exported model
DEFAULT_SEQ_LEN = 20  # the paper's pickles (checkpoints written before seq_len was recorded)


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
    overrides = hparams.check_hparams(hparams.explicit_hparams(args, hparams.MODEL_HPARAMS + hparams.DROPOUT_HPARAMS))
    overrides.update(hparams.explicit_hparams(args, ('model', 'modalities')))
    if args.modalities is not None:
        hparams.parse_modalities(args.modalities)  # a bad value fails before anything is read
    missing = deploy.missing_packages(*deploy.ONNX_PACKAGES)

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
                                             model=(hp.get('layout', 'authors'), 'checkpoint ' + check_path))
        if seq_len is not None and test_set.text.shape[1] != seq_len:
            raise utils.UserError('{}: text sequences have length {} but --seq_len is {}'.format(
                args.data_path, test_set.text.shape[1], seq_len))
        n = min(CHECK_SAMPLES, len(test_set))
        inputs = [test_set.audio[:n], test_set.video[:n], test_set.text[:n]]
        check_source = '{} test samples of {}'.format(n, args.data_path)
    else:
        rng = np.random.RandomState(0)
        shapes = ((input_dims[0],), (input_dims[1],), (seq_len or 20, input_dims[2]))
        inputs = [rng.randn(CHECK_SAMPLES, *shape).astype('float32') for shape in shapes]
        check_source = '{} random inputs'.format(CHECK_SAMPLES)

    info = deploy.info_of(dataset, name, hp, input_dims, seq_len, check_path, onnx=not missing)
    modalities, all_three = info['modalities'], len(info['modalities']) == len(hparams.MODALITIES)
    # LMF on all three modalities prints as it always has; other models name themselves first
    what = '' if info['model'] == 'lmf' and all_three else '{}{}: '.format(
        checkpoints.MODEL_NAMES[info['model']], '' if all_three else ' on ' + ','.join(modalities))
    print('Exporting {} ({}{}) from {}'.format(
        name, what, ', '.join('{}={}'.format(k, v) for k, v in info['hparams'].items()), check_path))
    written, diff, onnx_diff = deploy.export(model, info, os.path.join(args.save_inference_dir, name), inputs,
                                             check_source)
    print('Input specs: ' + ', '.join('{} {}'.format(k, shape) for k, shape in info['inputs'].items()))
    left_out = [m for m in hparams.MODALITIES if m not in modalities]
    if left_out:
        print('The model fuses {}; {} kept as input{} and ignored (only the batch size is read)'.format(
            ','.join(modalities), ' and '.join(left_out), 's' if len(left_out) > 1 else ''))
    print('Output: [None, {}] {}'.format(info['output_dim'], 'regression scores (no softmax)' if regression
                                         else 'class probabilities (softmax)'))
    print('Self-check on {}: max |exported - dynamic| = {:.2e}'.format(check_source, diff))
    if missing:
        print('ONNX file skipped: {} {} not installed; the Paddle Inference model is complete. For {}: {}'.format(
            ' and '.join(missing), 'is' if len(missing) == 1 else 'are', deploy.ONNX_FILE, deploy.ONNX_INSTALL))
    else:
        print('ONNX self-check (onnxruntime, opset {}) on {}: max |onnx - dynamic| = {:.2e}'.format(
            deploy.ONNX_OPSET, check_source, onnx_diff))
    for path in written:
        print('Saved {}'.format(path))


if __name__ == '__main__':
    # Paddle's C++ log prints a warning per traced op input ("not support input out tensor");
    # keep its warnings and errors out unless the caller set GLOG_minloglevel.
    os.environ.setdefault('GLOG_minloglevel', '2')
    utils.run_cli(main)
