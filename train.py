"""Train one LMF model (an IEMOCAP emotion, CMU-MOSI or POM) as the paper's code does.

    python train.py --emotion happy                # IEMOCAP: published hyperparameters and seed
    python train.py --emotion sad --rank 8         # explicit flags override the table
    python train.py --dataset mosi                 # sentiment regression, 1 output
    python train.py --dataset pom --trait Vivid    # 16 traits at once, with Vivid's published setting

    python train.py --dataset mosei --data_path data/MOSEI/Processed/unaligned_50.pkl   # an MMSA feature file
    python train.py --dataset sims --recipe mmsa   # MMSA's LMF training exactly, its two defects included

    python train.py --emotion happy --modalities text,audio   # LMF without video (any non-empty subset)
    python train.py --dataset mosi --model tfn                # TFN, the full tensor fusion (hparams.TFN_SETTINGS)

Adam with the modality factors at --factor_learning_rate and everything else at
--learning_rate. The paper's pickles train as the authors' scripts do: loss summed over the
batch (cross-entropy for IEMOCAP, L1 over samples and outputs for CMU-MOSI and POM), early
stopping on the validation loss (mean cross-entropy, or the authors' validation MAE). MMSA's
feature files train as MMSA does: mean L1 loss, early stopping on the validation loss rounded
to 4 decimals (mean over batches of the batch-mean L1), patience 8; --recipe mmsa adds MMSA's
two defects (fusion weights and bias never trained, text dropout 0). The best checkpoint goes to
<model_path>/<name>.pdparams and the log to train_log/train_<name>.txt, where <name> is the
emotion, or the dataset (mosi, pom, mosei, sims, simsv2).

--modalities fuses only the modalities named (one left out contributes only the constant 1 of its
1-augmented vector: LMF on the others). --model tfn trains TFN (model.TFN) by the same procedure, with
hparams.TFN_SETTINGS unless flags are given; it has no factors (--rank and --factor_learning_rate do not
apply). The checkpoint records the model and its modalities; test.py, export_model.py and infer.py follow them.
"""
import argparse

import utils
from lmf import engine, hparams, parallel
from lmf import jobs as lmf_jobs
from safe_io import UserError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    hparams.add_task_args(parser)
    hparams.add_hparam_args(parser, hparams.names())  # every one: default None = the published value
    parser.add_argument('--model', choices=hparams.MODELS, default=hparams.DEFAULT_MODEL,
                        help='lmf (default: low-rank fusion) or tfn (the full tensor fusion LMF is compared with; '
                             'its settings from hparams.TFN_SETTINGS unless flags are given)')
    parser.add_argument('--modalities', type=str, default=None,
                        help='the modalities fused, a comma-separated non-empty subset of {} in any order '
                             '(default all three); a left-out modality\'s flags and features are unused'.format(
                                 ', '.join(hparams.MODALITIES)))
    hparams.add_hparam_args(parser, hparams.TFN_HPARAMS, default='hparams.TFN_SETTINGS')
    utils.add_data_arg(parser)
    parser.add_argument('--model_path', type=str, default='check',
                        help='folder for <name>.pdparams (name: the emotion, or the dataset)')
    parser.add_argument('--recipe', choices=hparams.RECIPES, default=None,
                        help="MMSA's feature files: ours (default: MMSA's procedure with every parameter trained and "
                             "the text dropout applied) or mmsa (MMSA's training exactly, both defects included)")
    parser.add_argument('--log_dir', type=str, default='train_log')
    utils.add_device_args(parser)
    parser.add_argument('--seeds', type=int, default=None,
                        help='train under N seeds (--seed, --seed+1, ...; MMSA\'s files: 1111, 1112, ... as MMSA), '
                             'print mean +- std of every test metric, keep the best one by validation loss')
    parser.add_argument('--jobs', type=int, default=None,
                        help='with --seeds: seeds trained side by side, each on --cpu_threads threads (default 1 '
                             'job, the seeds one after the other; lmf/jobs.py)')
    return parser.parse_args(argv)


def settings(args, data=None):
    """The run's settings from the flags (hparams.resolve); with `data`, the file's layout and sizes too."""
    flags = hparams.explicit_hparams(args, hparams.names() + hparams.TFN_HPARAMS)
    # Before the data is read, --recipe mmsa implies MMSA's layout (CMU-MOSI has both; the file decides later).
    mmsa_recipe = data is None and args.dataset in hparams.MMSA_DATASETS and args.recipe not in (None, 'ours')
    layout = 'mmsa' if mmsa_recipe else None
    return hparams.resolve(args.dataset, args.emotion, args.trait, layout, args.recipe, args.model, args.modalities,
                           hparams.check_hparams(flags), data, args.data_path)


def main(argv=None):
    args = parse_args(argv)
    early = settings(args)  # bad flags fail before the data is read
    if args.seeds is not None and args.seeds < 1:
        raise UserError('--seeds must be >= 1, got {}'.format(args.seeds))
    if args.jobs is not None and args.seeds is None:
        raise UserError('--jobs {}: needs --seeds (one run has nothing to run beside it)'.format(args.jobs))
    lmf_jobs.check(args.jobs)
    data_path = engine.default_data_path(args.data_path, args.dataset)
    device = utils.setup_device(args.device, args.cpu_threads)
    sets = engine.load_data(args.dataset, data_path, early.get('emotion'), verbose=parallel.is_main(),
                            output_dim=early.get('output_dim'))
    jobs, threads = lmf_jobs.settle(args.jobs or 1, args.seeds or 1, args.cpu_threads, device)
    hp = settings(args, sets[0])
    try:
        if args.seeds is not None:
            engine.train_seeds(hp, data_path, args.seeds, args.model_path, args.log_dir, sets=sets, jobs=jobs,
                               threads=threads, device=device)
        else:
            engine.train_and_test(hp, data_path, args.model_path, args.log_dir, sets=sets)
    except engine.TrainingDiverged as err:
        raise UserError('Training got into NaN values ({}); try a lower learning rate'.format(err))


if __name__ == '__main__':
    utils.run_cli(main)
