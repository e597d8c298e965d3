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

--modalities fuses only the modalities named: one left out has no subnetwork and contributes only
the constant 1 of its 1-augmented vector (its factor is the row of that constant), which is LMF on
the others; its flags and its features in the file are unused. --model tfn trains TFN (model.TFN:
the same subnetworks, the outer product of the 1-augmented vectors, a post-fusion network) by the
same procedure, with TFN's settings of hparams.TFN_SETTINGS unless flags are given; it has no
factors, so --rank and --factor_learning_rate do not apply (every parameter trains at
--learning_rate). The checkpoint records the model and its modalities; test.py, export_model.py
and infer.py follow them.
"""
import argparse
import math
import os

import numpy as np

import parallel
from data import common
import hparams
import metrics
import utils

FACTOR_NAMES = ('audio_factor', 'video_factor', 'text_factor')
FUSION_NAMES = ('fusion_weights', 'fusion_bias')  # what MMSA's optimizer leaves out (--recipe mmsa)
MMSA_MIN_DELTA = 1e-6  # MMSA: a validation loss is better only if <= best - 1e-6


class TrainingDiverged(Exception):
    """The loss became NaN or infinite."""


def make_optimizer(model, learning_rate, factor_learning_rate, weight_decay, train_fusion=True):
    """Adam with two parameter groups: the three factors, and everything else.

    Paddle reads a group's rate from the key 'learning_rate' as a multiplier of the
    optimizer's rate (the seed passed 'lr', which Paddle ignores). train_fusion=False is MMSA's
    optimizer (its groups are parameters()[:3] and [5:]): fusion_weights and fusion_bias stay at
    their initial values. A TFN has no factors: one group, everything at learning_rate
    (factor_learning_rate is not read).
    """
    import paddle
    factors = [p for name, p in model.named_parameters() if name in FACTOR_NAMES]
    others = [p for name, p in model.named_parameters() if name not in FACTOR_NAMES
              and (train_fusion or name not in FUSION_NAMES)]
    if not train_fusion:
        for name, p in model.named_parameters():
            if name in FUSION_NAMES:
                p.stop_gradient = True
    groups = [{'params': others, 'learning_rate': 1.0}]
    if factors:
        groups.insert(0, {'params': factors, 'learning_rate': factor_learning_rate / learning_rate})
    return paddle.optimizer.Adam(learning_rate=learning_rate, weight_decay=weight_decay or None, parameters=groups)


def summed_loss(out, target, regression):
    """The batch's loss, summed as the authors' scripts sum it: L1 over samples and outputs
    (regression), or cross-entropy over samples (classification)."""
    import paddle
    import paddle.nn.functional as F
    if not regression:
        return F.cross_entropy(out, target, reduction='sum')  # IGNORE_INDEX rows add 0
    diff = out - target
    if parallel.world()[1] > 1:  # a rank without a row of this batch gets NaN targets: they add 0
        diff = paddle.where(paddle.isnan(diff), paddle.zeros_like(diff), diff)
    return paddle.abs(diff).sum()


def is_mmsa(hp):
    """Trained MMSA's way (its feature files) rather than the authors' (the paper's pickles)."""
    return hp.get('layout') == 'mmsa'


def model_hparams(hp):
    """What the model is built with: --recipe mmsa has MMSA's text dropout of 0 (its TextSubNet
    sets dropout 0 for a one-layer LSTM); the checkpoint keeps the configured value."""
    return dict(hp, text_dropout=0.0) if hp.get('recipe') == 'mmsa' else hp


def valid_loss_of(model, valid_set, hp, rng=None):
    """The early-stopping criterion. The authors': summed L1 / (N * K), or mean cross-entropy.
    MMSA's: the mean over batches (of --batch_size) of the batch-mean L1, rounded to 4 decimals;
    its batches are shuffled by rng if given (--recipe mmsa), else in file order, so that the
    short last batch does not weigh on the criterion differently every epoch."""
    if not is_mmsa(hp):
        return utils.evaluate(model, valid_set)['loss']
    return round(utils.evaluate(model, valid_set, batch_size=hp['batch_size'], batch_mean=True, rng=rng)['loss'], 4)


def fit(hp, train_set, valid_set, input_dims, checkpoint_path, log=print, on_epoch=None):
    """Train with early stopping; save the best model. Returns the best validation loss.

    Raises TrainingDiverged on a non-finite loss (the best checkpoint so far stays on disk).
    on_epoch(epoch, valid_loss), if given, is called after every validation; an exception
    it raises stops training and propagates (the search's pruner uses this).
    Under paddle.distributed.launch each rank trains its shard of every batch (see
    parallel.py); only rank 0 logs and writes the checkpoint.
    """
    utils.set_seed(hp['seed'])
    model = utils.build_model(model_hparams(hp), input_dims)
    optimizer = make_optimizer(model, hp['learning_rate'], hp.get('factor_learning_rate', hp['learning_rate']),
                               hp['weight_decay'],
                               train_fusion=hp.get('recipe') != 'mmsa')
    net, (rank, world_size) = parallel.wrap(model, hp['seed']), parallel.world()
    if rank != 0:
        log = lambda line: None  # noqa: E731 (only rank 0 logs)
    rng = np.random.RandomState(hp['seed'])
    mmsa = is_mmsa(hp)
    # MMSA shuffles the validation batches every epoch; a stream of its own keeps the training
    # order that of the default recipe (and of every rank: only rank 0 validates).
    valid_rng = np.random.RandomState([hp['seed'], 1]) if hp.get('recipe') == 'mmsa' else None
    # MMSA: loss = mean over the global batch (its L1Loss); compared with <= best - 1e-6.
    best_valid_loss, patience_left = (1e8 if mmsa else math.inf), hp['patience']
    n, batch_size = len(train_set), hp['batch_size']
    for epoch in range(hp['epochs']):
        model.train()
        total_loss = 0.0
        global_rows = (min(batch_size, n - start) for start in range(0, n, batch_size))
        for (audio, video, text, target), rows in zip(parallel.shard_batches(
                utils.iterate_batches(train_set, batch_size, shuffle=True, rng=rng)), global_rows):
            loss = summed_loss(net(audio, video, text), target, train_set.regression)
            if mmsa:
                loss = loss / (rows * train_set.labels.shape[1])
            # DataParallel averages gradients over ranks: x world_size makes it the global batch's sum (or mean).
            (loss * world_size if world_size > 1 else loss).backward()
            optimizer.step()
            optimizer.clear_grad()
            total_loss += float(loss)
        # The authors log the summed loss per sample; MMSA the mean of its batch losses.
        train_loss = parallel.sum_over_ranks(total_loss) / (math.ceil(n / batch_size) if mmsa else n)
        log('Epoch {} complete! Average Training loss: {}'.format(epoch, train_loss))
        if not math.isfinite(train_loss):
            raise TrainingDiverged('training loss became {} in epoch {}'.format(train_loss, epoch))

        parallel.sync_buffers(model)
        valid_loss = parallel.broadcast_from_main(valid_loss_of(model, valid_set, hp, valid_rng) if rank == 0 else 0.0)
        if not math.isfinite(valid_loss):
            raise TrainingDiverged('validation loss became {} in epoch {}'.format(valid_loss, epoch))
        log('Validation loss is: {}'.format(valid_loss))
        if on_epoch is not None:
            on_epoch(epoch, valid_loss)
        if (valid_loss <= best_valid_loss - MMSA_MIN_DELTA) if mmsa else (valid_loss < best_valid_loss):
            best_valid_loss, patience_left = valid_loss, hp['patience']
            if rank == 0:
                utils.save_checkpoint(checkpoint_path, model, hp, input_dims)
            log('Found new check model, saving to disk...')
        else:
            patience_left -= 1
            if patience_left <= 0:
                log('No improvement for {} epochs, stopping.'.format(hp['patience']))
                break
    return best_valid_loss


def load_for_training(hp, data_path, verbose=True):
    """(train, valid, test, input_dims) of hp's task; sets hp['output_dim'] to the label count of
    regression files (a given --output_dim must equal it) and hp['seq_len'] to the text length.
    The file's layout must be hp['layout'] (see task_hparams)."""
    sets = utils.load_data(hp['dataset'], data_path, hp.get('emotion'), verbose=verbose,
                           output_dim=hp.get('output_dim'))
    return fit_to_data(hp, sets, data_path)


def fit_to_data(hp, sets, data_path):
    """What the loaded file decides in hp: output_dim (regression: the label count) and seq_len;
    its layout must be the one hp's settings are for. Returns sets."""
    layout = sets[0].layout
    if layout != hp.get('layout', 'authors'):
        raise utils.UserError('{} is {}, but these settings are for {}'.format(
            data_path, common.LAYOUT_NAMES[layout], common.LAYOUT_NAMES[hp.get('layout', 'authors')]))
    hp['output_dim'] = int(sets[0].labels.shape[1]) if hp['dataset'] in hparams.REGRESSION else hp['output_dim']
    hp['seq_len'] = int(sets[0].text.shape[1])
    return sets


def task_hparams(args, layout=None, explicit=None):
    """The task's published settings for a file of `layout` (for --model tfn: with TFN_SETTINGS), with
    the flags given (explicit) on top; --recipe mmsa only for MMSA's files and LMF. Records the model and
    the modalities (--model, --modalities; default LMF on all three)."""
    hp = hparams.published_hparams(args.dataset, args.emotion, args.trait, layout)
    model = getattr(args, 'model', None) or hparams.DEFAULT_MODEL
    hp = hparams.fusion_hparams(hp, model, getattr(args, 'modalities', None))
    hp.update({k: v for k, v in (explicit or {}).items() if not (model == 'tfn' and k in hparams.LMF_ONLY)})
    recipe = getattr(args, 'recipe', None)
    if recipe == 'mmsa' and model == 'tfn':
        raise utils.UserError("--recipe mmsa is MMSA's LMF training (its defects are LMF's fusion weights); "
                              '--model tfn trains with --recipe ours')
    if recipe is not None:
        if hp.get('layout', 'authors') != 'mmsa' and recipe != 'ours':
            raise utils.UserError("--recipe {}: MMSA's training applies to MMSA's feature files; {} is {}".format(
                recipe, args.data_path or 'the data file', common.LAYOUT_NAMES[hp.get('layout', 'authors')]))
        if hp.get('layout') == 'mmsa':
            hp['recipe'] = recipe
    return hparams.check_hparams(hp)


def describe_task(hp):
    name = hparams.model_name(hp['dataset'], hp.get('emotion'))
    if hp.get('layout') == 'mmsa':
        notes = ["MMSA's feature file, recipe {}".format(hp.get('recipe', 'ours'))]
    else:
        notes = ['hyperparameters of trait {}'.format(hp['trait'])] if hp.get('trait') else []
    if hparams.model_of(hp) == 'tfn':
        notes.append('TFN')
    modalities = hparams.modalities_of(hp)
    if len(modalities) < len(hparams.MODALITIES):
        notes.append('modalities {}'.format(','.join(modalities)))
    return name + (' ({})'.format('; '.join(notes)) if notes else '')


def unused_note(hp):
    """What the run does not use, for the log's first line ('' when everything is): a left-out modality's
    flags and features, LMF's rank and factor rate under TFN, TFN's settings under LMF, and what
    --recipe mmsa leaves out (the text dropout, training the fusion weights)."""
    modalities, notes = hparams.modalities_of(hp), []
    left_out = [m for m in hparams.MODALITIES if m not in modalities]
    if left_out:
        notes.append('{} left out by --modalities {}: {} and the file\'s {} features are unused'.format(
            ' and '.join(left_out), ','.join(modalities),
            ', '.join('{}={}'.format(k, hp[k]) for m in left_out for k in hparams.MODALITY_HPARAMS[m] if k in hp)
            or 'its settings', ' and '.join(left_out)))
    if hparams.model_of(hp) == 'tfn':
        notes.append('rank and factor_learning_rate are LMF\'s and do not apply: TFN has no factors, every '
                     'parameter trains at learning_rate')
    elif any(k in hp for k in hparams.TFN_HPARAMS):
        notes.append('{} are TFN\'s (--model tfn) and unused by LMF'.format(
            ' and '.join(k for k in hparams.TFN_HPARAMS if k in hp)))
    if hp.get('recipe') == 'mmsa':
        notes.append("--recipe mmsa: text_dropout={} is not applied (MMSA's one-layer text subnetwork has none) and "
                     'fusion_weights and fusion_bias are not trained'.format(hp.get('text_dropout')))
    return '; '.join(notes)


def train_and_test(hp, data_path, model_path='check', log_dir='train_log', on_epoch=None, sets=None):
    """Load data, train hp's task (hp['dataset'], and hp['emotion'] for IEMOCAP), evaluate the best
    checkpoint on test.

    Returns dict(best_valid_loss, test_loss, checkpoint, synthetic, and the dataset's test
    metrics: f1 and accuracy for IEMOCAP, see metrics.mosi_metrics / pom_metrics otherwise).
    on_epoch goes to fit; sets, if given, is load_for_training's result for this data_path, and hp
    has its output_dim (reproduce.py loads a task once for all its runs). On ranks other than 0 of a data-parallel run the test entries are
    missing (rank 0 tests and writes the log). Bad data raises before anything is written.
    """
    dataset, hp = hp['dataset'], dict(hp)
    name = hparams.model_name(dataset, hp.get('emotion'))
    log_path = os.path.join(log_dir, 'train_{}.txt'.format(name))
    checkpoint_path = os.path.join(model_path, '{}.pdparams'.format(name))
    main = parallel.is_main()
    if sets is None:
        sets = load_for_training(hp, data_path, verbose=main)
    train_set, valid_set, test_set, input_dims = sets
    if not main:  # another rank of a data-parallel run: trains its shard, writes nothing
        best_valid_loss = fit(hp, train_set, valid_set, input_dims, checkpoint_path, on_epoch=on_epoch)
        return dict(best_valid_loss=best_valid_loss, test_loss=None, checkpoint=checkpoint_path,
                    synthetic=test_set.synthetic)
    os.makedirs(log_dir, exist_ok=True)
    with open(log_path, 'w') as log_file:
        def log(line):
            print(line, flush=True)
            log_file.write(line + '\n')
            log_file.flush()

        unused, note = hparams.unused_hparams(hp), unused_note(hp)
        log('Training {} on {} with {}{}'.format(describe_task(hp), data_path, ', '.join(
            '{}={}'.format(k, hp[k]) for k in sorted(hp)
            if k not in hparams.IDENTITY_KEYS + hparams.MODEL_KEYS and k not in unused),
            '; ' + note if note else ''))
        best_valid_loss = fit(hp, train_set, valid_set, input_dims, checkpoint_path, log, on_epoch=on_epoch)
        log('Best validation loss is: {}'.format(best_valid_loss))
        model, _, _ = utils.model_from_checkpoint(checkpoint_path, name, dataset=dataset)
        metric_set = metrics.metric_set(dataset, hp.get('layout', 'authors'))
        result = utils.evaluate(model, test_set, metrics_for=metric_set)
        metrics.show_results(metric_set, result, out=log)
        if test_set.synthetic:
            log(utils.synthetic_note(dataset))
    scores = {k: v for k, v in result.items() if k not in ('loss', 'outputs')}
    return dict(scores, best_valid_loss=best_valid_loss, test_loss=result['loss'], checkpoint=checkpoint_path,
                synthetic=test_set.synthetic)


def seed_list(base_seed, count):
    """The seeds of a multi-seed run: base, base+1, ... (modulo 2**32)."""
    return [(base_seed + i) % 2 ** 32 for i in range(count)]


def mean_std(values, ddof):
    values = np.asarray(values, dtype=np.float64)
    return '{:.4f} +- {:.4f}'.format(values.mean(), values.std(ddof=ddof))


def train_seeds(hp, data_path, count, model_path='check', log_dir='train_log', sets=None):
    """Train the same setting under `count` seeds; report mean +- std of every test metric.

    Seed s trains into <model_path>/<name>_seeds/seed_<s>/ (log in <log_dir>/<name>_seeds/seed_<s>/).
    The seed with the best VALIDATION loss is copied to <model_path>/<name>.pdparams and its log to
    <log_dir>/train_<name>.txt. Returns (results per seed, best result).
    """
    import shutil
    dataset = hp['dataset']
    name = hparams.model_name(dataset, hp.get('emotion'))
    seeds = seed_list(hp['seed'], count)
    main = parallel.is_main()
    say = print if main else (lambda line: None)
    say('Seeds: {}'.format(', '.join(str(s) for s in seeds)))
    results = []
    for seed in seeds:
        sub = os.path.join('{}_seeds'.format(name), 'seed_{}'.format(seed))
        result = train_and_test(dict(hp, seed=seed), data_path, os.path.join(model_path, sub),
                                os.path.join(log_dir, sub), sets=sets)
        results.append(dict(result, seed=seed, log=os.path.join(log_dir, sub, 'train_{}.txt'.format(name))))
    if not main:
        return results, None
    print()
    metric_set = metrics.metric_set(dataset, hp.get('layout', 'authors'))
    seed_metrics = metrics.SEED_METRICS[metric_set]
    for r in results:
        print('seed {}: best validation loss {:.6f}, {}'.format(r['seed'], r['best_valid_loss'], ', '.join(
            'test {} {:.4f}'.format(short, r[key]) for key, short, _ in seed_metrics)))
    ddof = 1 if count > 1 else 0
    for key, _, label in seed_metrics:
        print('Test {} over {} seeds: {} (mean +- std{})'.format(
            label, count, mean_std([r[key] for r in results], ddof), ', n-1' if ddof else ''))
    if dataset == 'pom':
        from data.pom import trait_names
        names = trait_names(len(results[0]['trait_mae']))
        print('Per trait over {} seeds (mean +- std): MAE | Corr | Acc'.format(count))
        for k, trait in enumerate(names):
            print('  {:<{w}}  {}'.format(trait, ' | '.join(
                mean_std([r[key][k] for r in results], ddof) for key in ('trait_mae', 'trait_corr', 'trait_acc')),
                w=max(len(n) for n in names)))
    best = min(results, key=lambda r: r['best_valid_loss'])
    checkpoint = os.path.join(model_path, '{}.pdparams'.format(name))
    with open(best['checkpoint'], 'rb') as source, utils.atomic_write(checkpoint, 'wb') as target:
        shutil.copyfileobj(source, target)
    shutil.copyfile(best['log'], os.path.join(log_dir, 'train_{}.txt'.format(name)))
    print('Best seed by validation loss: {} (validation loss {}); its checkpoint is {}'.format(
        best['seed'], best['best_valid_loss'], checkpoint))
    metrics.show_results(metric_set, best)
    if best['synthetic']:
        print(utils.synthetic_note(dataset))
    return results, dict(best, checkpoint=checkpoint)


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
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    explicit = hparams.check_hparams(hparams.explicit_hparams(args, hparams.names() + hparams.TFN_HPARAMS))
    # Bad flags fail before the data is read; CMU-MOSI's layout (and so whether --recipe applies) is the file's.
    early_layout = 'mmsa' if args.dataset in hparams.MMSA_DATASETS and args.recipe not in (None, 'ours') else None
    hp = task_hparams(args, early_layout, explicit)
    if args.seeds is not None and args.seeds < 1:
        raise utils.UserError('--seeds must be >= 1, got {}'.format(args.seeds))
    data_path = utils.default_data_path(args.data_path, args.dataset)
    utils.setup_device(args.device, args.cpu_threads)
    # Which settings apply depends on the file (CMU-MOSI: the authors' pickle or MMSA's file).
    sets = utils.load_data(args.dataset, data_path, hp.get('emotion'), verbose=parallel.is_main(),
                           output_dim=hp.get('output_dim'))
    hp = task_hparams(args, sets[0].layout, explicit)
    fit_to_data(hp, sets, data_path)
    try:
        if args.seeds is not None:
            train_seeds(hp, data_path, args.seeds, args.model_path, args.log_dir, sets=sets)
        else:
            train_and_test(hp, data_path, args.model_path, args.log_dir, sets=sets)
    except TrainingDiverged as err:
        raise utils.UserError('Training got into NaN values ({}); try a lower learning rate'.format(err))


if __name__ == '__main__':
    utils.run_cli(main)
