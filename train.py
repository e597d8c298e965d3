"""Train one LMF model per emotion on IEMOCAP (or the synthetic sample), as the paper's code does.

    python train.py --emotion happy                # published hyperparameters and seed
    python train.py --emotion sad --rank 8         # explicit flags override the table

Adam with the modality factors at --factor_learning_rate and everything else at
--learning_rate, summed cross-entropy, early stopping on validation loss. The best
checkpoint goes to <model_path>/<emotion>.pdparams, the log to train_log/train_<emotion>.txt.
"""
import argparse
import math
import os

import numpy as np

import parallel
import utils

FACTOR_NAMES = ('audio_factor', 'video_factor', 'text_factor')
TRAIN_HPARAMS = ('epochs', 'patience', 'factor_learning_rate', 'learning_rate', 'batch_size', 'weight_decay', 'seed')


class TrainingDiverged(Exception):
    """The loss became NaN or infinite."""


def make_optimizer(model, learning_rate, factor_learning_rate, weight_decay):
    """Adam with two parameter groups: the three factors, and everything else.

    Paddle reads a group's rate from the key 'learning_rate' as a multiplier of the
    optimizer's rate (the seed passed 'lr', which Paddle ignores).
    """
    import paddle
    factors = [p for name, p in model.named_parameters() if name in FACTOR_NAMES]
    others = [p for name, p in model.named_parameters() if name not in FACTOR_NAMES]
    return paddle.optimizer.Adam(
        learning_rate=learning_rate, weight_decay=weight_decay or None,
        parameters=[{'params': factors, 'learning_rate': factor_learning_rate / learning_rate},
                    {'params': others, 'learning_rate': 1.0}])


def fit(hp, train_set, valid_set, input_dims, checkpoint_path, log=print, on_epoch=None):
    """Train with early stopping; save the best model. Returns the best validation loss.

    Raises TrainingDiverged on a non-finite loss (the best checkpoint so far stays on disk).
    on_epoch(epoch, valid_loss), if given, is called after every validation; an exception
    it raises stops training and propagates (the search's pruner uses this).
    Under paddle.distributed.launch each rank trains its shard of every batch (see
    parallel.py); only rank 0 logs and writes the checkpoint.
    """
    import paddle.nn.functional as F
    utils.set_seed(hp['seed'])
    model = utils.build_model(hp, input_dims)
    optimizer = make_optimizer(model, hp['learning_rate'], hp['factor_learning_rate'], hp['weight_decay'])
    net, (rank, world_size) = parallel.wrap(model, hp['seed']), parallel.world()
    if rank != 0:
        log = lambda line: None  # noqa: E731 (only rank 0 logs)
    rng = np.random.RandomState(hp['seed'])
    best_valid_loss, patience_left = math.inf, hp['patience']
    for epoch in range(hp['epochs']):
        model.train()
        total_loss = 0.0
        for audio, visual, text, target in parallel.shard_batches(
                utils.iterate_batches(train_set, hp['batch_size'], shuffle=True, rng=rng)):
            loss = F.cross_entropy(net(audio, visual, text), target, reduction='sum')
            # DataParallel averages gradients over ranks: x world_size makes it the global batch's sum.
            (loss * world_size if world_size > 1 else loss).backward()
            optimizer.step()
            optimizer.clear_grad()
            total_loss += float(loss)
        train_loss = parallel.sum_over_ranks(total_loss) / len(train_set)
        log('Epoch {} complete! Average Training loss: {}'.format(epoch, train_loss))
        if not math.isfinite(train_loss):
            raise TrainingDiverged('training loss became {} in epoch {}'.format(train_loss, epoch))

        parallel.sync_buffers(model)
        valid_loss = parallel.broadcast_from_main(
            utils.evaluate(model, valid_set, metrics=False)['loss'] if rank == 0 else 0.0)
        if not math.isfinite(valid_loss):
            raise TrainingDiverged('validation loss became {} in epoch {}'.format(valid_loss, epoch))
        log('Validation loss is: {}'.format(valid_loss))
        if on_epoch is not None:
            on_epoch(epoch, valid_loss)
        if valid_loss < best_valid_loss:
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


def train_and_test(hp, data_path, model_path='check', log_dir='train_log', on_epoch=None):
    """Load data, train `hp['emotion']`, evaluate the best checkpoint on test.

    Returns dict(best_valid_loss, test_loss, f1, accuracy, checkpoint, synthetic).
    on_epoch goes to fit. On ranks other than 0 of a data-parallel run the test
    entries are None (rank 0 tests and writes the log).
    """
    emotion = hp['emotion']
    os.makedirs(log_dir, exist_ok=True)
    log_path = os.path.join(log_dir, 'train_{}.txt'.format(emotion))
    checkpoint_path = os.path.join(model_path, '{}.pdparams'.format(emotion))
    if not parallel.is_main():  # another rank of a data-parallel run: trains its shard, writes nothing
        train_set, valid_set, test_set, input_dims = utils.load_iemocap(data_path, emotion, verbose=False,
                                                                        classes=hp['output_dim'])
        best_valid_loss = fit(hp, train_set, valid_set, input_dims, checkpoint_path, on_epoch=on_epoch)
        return dict(best_valid_loss=best_valid_loss, test_loss=None, f1=None, accuracy=None,
                    checkpoint=checkpoint_path, synthetic=test_set.synthetic)
    with open(log_path, 'w') as log_file:
        def log(line):
            print(line, flush=True)
            log_file.write(line + '\n')
            log_file.flush()

        train_set, valid_set, test_set, input_dims = utils.load_iemocap(data_path, emotion, classes=hp['output_dim'])
        log('Training {} on {} with {}'.format(emotion, data_path, ', '.join(
            '{}={}'.format(k, hp[k]) for k in sorted(hp) if k != 'emotion')))
        best_valid_loss = fit(hp, train_set, valid_set, input_dims, checkpoint_path, log, on_epoch=on_epoch)
        log('Best validation loss is: {}'.format(best_valid_loss))
        model, _, _ = utils.model_from_checkpoint(checkpoint_path, emotion)
        result = utils.evaluate(model, test_set)
        utils.display(result['f1'], result['accuracy'], out=log)
        if test_set.synthetic:
            log(utils.SYNTHETIC_NOTE)
    return dict(best_valid_loss=best_valid_loss, test_loss=result['loss'], f1=result['f1'],
                accuracy=result['accuracy'], checkpoint=checkpoint_path, synthetic=test_set.synthetic)


def seed_list(base_seed, count):
    """The seeds of a multi-seed run: base, base+1, ... (modulo 2**32)."""
    return [(base_seed + i) % 2 ** 32 for i in range(count)]


def train_seeds(hp, data_path, count, model_path='check', log_dir='train_log'):
    """Train the same setting under `count` seeds; report mean +- std of test F1 and accuracy.

    Seed s trains into <model_path>/<emotion>_seeds/seed_<s>/ (log in <log_dir>/<emotion>_seeds/seed_<s>/).
    The seed with the best VALIDATION loss is copied to <model_path>/<emotion>.pdparams and its log to
    <log_dir>/train_<emotion>.txt. Returns (results per seed, best result).
    """
    import shutil
    emotion = hp['emotion']
    seeds = seed_list(hp['seed'], count)
    main = parallel.is_main()
    say = print if main else (lambda line: None)
    say('Seeds: {}'.format(', '.join(str(s) for s in seeds)))
    results = []
    for seed in seeds:
        sub = os.path.join('{}_seeds'.format(emotion), 'seed_{}'.format(seed))
        result = train_and_test(dict(hp, seed=seed), data_path, os.path.join(model_path, sub),
                                os.path.join(log_dir, sub))
        results.append(dict(result, seed=seed, log=os.path.join(log_dir, sub, 'train_{}.txt'.format(emotion))))
    if not main:
        return results, None
    print()
    for r in results:
        print('seed {}: best validation loss {:.6f}, test F1 {:.4f}, test accuracy {:.4f}'.format(
            r['seed'], r['best_valid_loss'], r['f1'], r['accuracy']))
    ddof = 1 if count > 1 else 0
    for name, key in (('F1-score', 'f1'), ('accuracy', 'accuracy')):
        values = np.array([r[key] for r in results])
        print('Test {} over {} seeds: {:.4f} +- {:.4f} (mean +- std{})'.format(
            name, count, values.mean(), values.std(ddof=ddof), ', n-1' if ddof else ''))
    best = min(results, key=lambda r: r['best_valid_loss'])
    checkpoint = os.path.join(model_path, '{}.pdparams'.format(emotion))
    tmp = '{}.tmp{}'.format(checkpoint, os.getpid())
    shutil.copyfile(best['checkpoint'], tmp)
    os.replace(tmp, checkpoint)
    shutil.copyfile(best['log'], os.path.join(log_dir, 'train_{}.txt'.format(emotion)))
    print('Best seed by validation loss: {} (validation loss {}); its checkpoint is {}'.format(
        best['seed'], best['best_valid_loss'], checkpoint))
    utils.display(best['f1'], best['accuracy'])
    if best['synthetic']:
        print(utils.SYNTHETIC_NOTE)
    return results, dict(best, checkpoint=checkpoint)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    utils.add_hparam_args(parser)
    parser.add_argument('--epochs', type=int, default=None)
    parser.add_argument('--patience', type=int, default=None)
    parser.add_argument('--factor_learning_rate', type=float, default=None)
    parser.add_argument('--learning_rate', type=float, default=None)
    parser.add_argument('--batch_size', type=int, default=None)
    parser.add_argument('--weight_decay', type=float, default=None)
    parser.add_argument('--seed', type=int, default=None)
    utils.add_data_arg(parser)
    parser.add_argument('--model_path', type=str, default='check', help='folder for <emotion>.pdparams')
    parser.add_argument('--log_dir', type=str, default='train_log')
    utils.add_device_args(parser)
    parser.add_argument('--seeds', type=int, default=None,
                        help='train under N seeds (--seed, --seed+1, ...), print mean +- std of test F1 and '
                             'accuracy, keep the best one by validation loss')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    hp = utils.emotion_hparams(args.emotion)
    hp.update(utils.explicit_hparams(args, utils.MODEL_HPARAMS + utils.DROPOUT_HPARAMS + TRAIN_HPARAMS))
    hp['emotion'] = args.emotion
    utils.check_hparams(hp)
    if args.seeds is not None and args.seeds < 1:
        raise utils.UserError('--seeds must be >= 1, got {}'.format(args.seeds))
    data_path = utils.default_data_path(args.data_path)
    utils.setup_device(args.device, args.cpu_threads)
    try:
        if args.seeds is not None:
            train_seeds(hp, data_path, args.seeds, args.model_path, args.log_dir)
        else:
            train_and_test(hp, data_path, args.model_path, args.log_dir)
    except TrainingDiverged as err:
        raise utils.UserError('Training got into NaN values ({}); try a lower learning rate'.format(err))


if __name__ == '__main__':
    utils.run_cli(main)
