"""Evaluate a trained LMF checkpoint on the test split; prints the seed's result block.

    python test.py --emotion happy [--check_path check/happy.pdparams] [--data_path data/iemocap.pkl]

Reads this repository's .pdparams and the earlier LMF_Paddle port's check/*.pkl files.
The architecture comes from the checkpoint; hyperparameter flags, if given, must agree with it.
"""
import argparse

import utils


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    utils.add_hparam_args(parser)
    parser.add_argument('--check_path', type=str, default=None,
                        help='checkpoint file, or a folder holding <emotion>.pdparams (default: check/)')
    utils.add_data_arg(parser)
    parser.add_argument('--batch_size', type=int, default=1024, help='evaluation batch size')
    utils.add_device_args(parser)
    args = parser.parse_args(argv)

    utils.emotion_hparams(args.emotion)  # validates --emotion
    if args.batch_size < 1:
        raise utils.UserError('--batch_size must be >= 1, got {}'.format(args.batch_size))
    data_path = utils.default_data_path(args.data_path)
    check_path = utils.checkpoint_file(args.check_path, args.emotion)
    utils.setup_device(args.device, args.cpu_threads)

    print('Start testing {}......'.format(args.emotion))
    overrides = utils.check_hparams(utils.explicit_hparams(args, utils.MODEL_HPARAMS + utils.DROPOUT_HPARAMS))
    model, hp, input_dims = utils.model_from_checkpoint(check_path, args.emotion, overrides)
    _, _, test_set, _ = utils.load_iemocap(data_path, args.emotion, expected_dims=input_dims,
                                        classes=hp['output_dim'])
    print('Model initialized')
    result = utils.evaluate(model, test_set, batch_size=args.batch_size)
    utils.display(result['f1'], result['accuracy'])
    if test_set.synthetic:
        print(utils.SYNTHETIC_NOTE)


if __name__ == '__main__':
    utils.run_cli(main)
