"""Evaluate a trained LMF checkpoint on the test split; prints the seed's result block.

    python test.py --emotion happy [--check_path check/happy.pdparams] [--data_path data/iemocap.pkl]
    python test.py --dataset mosi  [--check_path check/mosi.pdparams]  [--data_path data/mosi.pkl]
    python test.py --dataset pom   [--check_path check/pom.pdparams]   [--data_path data/pom.pkl]

    python test.py --dataset mosei --data_path data/MOSEI/Processed/unaligned_50.pkl   # MMSA's feature file

Prints the test metrics as training ends with them (metrics.show_results: the authors' lines; for a model of
MMSA's feature files, MMSA's metrics in MMSA's names and order, one `<name> on test set is <value>` line each).

Reads this repository's .pdparams and the earlier LMF_Paddle port's check/*.pkl files.
The architecture comes from the checkpoint; hyperparameter flags, if given, must agree with it.
--missing, --noise and --noise_modality perturb the test split (robustness.py); a header line says how.
"""
import argparse

from lmf import checkpoints, engine, hparams, metrics, robustness
import utils


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    hparams.add_task_args(parser, trait=False)
    hparams.add_hparam_args(parser, default="the checkpoint's")
    utils.add_check_path_arg(parser)
    utils.add_data_arg(parser)
    parser.add_argument('--batch_size', type=int, default=1024, help='evaluation batch size')
    robustness.add_args(parser)
    utils.add_device_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    dataset, name, _ = hparams.task_of(args)  # validates --dataset and --emotion
    perturbation = robustness.Perturbation(args.missing, args.noise, args.noise_modality, args.seed,
                                           args.missing_rate, args.missing_seed)
    if args.batch_size < 1:
        raise utils.UserError('--batch_size must be >= 1, got {}'.format(args.batch_size))
    data_path = engine.default_data_path(args.data_path, dataset)
    check_path = checkpoints.checkpoint_file(args.check_path, name, dataset=dataset)
    utils.setup_device(args.device, args.cpu_threads)

    print('Start testing {}......'.format(name))
    overrides = hparams.check_hparams(hparams.explicit_hparams(args, hparams.MODEL_HPARAMS + hparams.DROPOUT_HPARAMS))
    model, hp, input_dims = checkpoints.model_from_checkpoint(check_path, name, overrides, dataset=dataset)
    perturbation.check_model(hparams.modalities_of(hp), 'the model in ' + check_path)
    train_set, _, test_set, _ = engine.load_data(
        dataset, data_path, name, expected_dims=input_dims, output_dim=hp['output_dim'],
        output_flag='the output_dim of checkpoint {}'.format(check_path),
        model=(hp.get('layout', 'authors'), 'checkpoint ' + check_path))
    print('Model initialized')
    if perturbation:
        print(perturbation.describe(test_set.layout))
        test_set = perturbation.apply(test_set, train_set)
    metric_set = metrics.metric_set(dataset, hp.get('layout', 'authors'))
    result = engine.evaluate(model, test_set, batch_size=args.batch_size, metrics_for=metric_set)
    metrics.show_results(metric_set, result)
    if test_set.synthetic:
        print(engine.synthetic_note(dataset))


if __name__ == '__main__':
    utils.run_cli(main)
