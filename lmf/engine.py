"""The training engine: the data a run reads, batches, the losses, the optimizer groups, evaluation,
early stopping under both recipes (the authors' and MMSA's, as train.py's docstring says), and a run
from start to finish (train_and_test, train_seeds).
"""
import math
import os
import shutil
import time

import numpy as np

import utils
from lmf import jobs as lmf_jobs
from lmf import checkpoints, hparams, metrics, missing, parallel, records
from safe_io import UserError, atomic_write

# ---------------------------------------------------------------- datasets

def data_module(dataset):
    """The reader of `dataset` (data.module); an unknown one is a UserError naming --dataset."""
    import data
    if dataset not in data.DATASETS:
        raise UserError('--dataset: unknown dataset {!r}; choose one of {}'.format(dataset, ', '.join(data.DATASETS)))
    return data.module(dataset)


def load_data(dataset, data_path, task=None, expected_dims=None, verbose=True, output_dim=None,
              output_flag='--output_dim', model=None):
    """(train, valid, test, input_dims) of one task; see each reader's prepare(). Served from the cache
    of prepared arrays (data/cache.py: read-only memory maps; the file is read once for all its
    tasks); the checks against expected_dims and output_dim and the printed lines happen on every
    call. output_flag names where output_dim came from in the error when the labels disagree with it.
    model: (layout, name) of the model the data is for (a checkpoint's or an export's): a file of the
    other layout is refused before the size checks."""
    from data import cache
    return cache.load(data_module(dataset), data_path, task, expected_dims=expected_dims, verbose=verbose,
                      output_dim=output_dim, output_flag=output_flag, model=model)


def synthetic_note(dataset='iemocap'):
    return '(These scores are on SYNTHETIC sample data, not {} results.)'.format(data_module(dataset).NAME)


def default_data_path(explicit=None, dataset='iemocap'):
    """--data_path if given (it must exist); else the dataset's real file (its reader's REAL_PATH), else its
    synthetic sample (SAMPLE_PATH), generated on first use."""
    if explicit:
        if not os.path.isfile(explicit):
            raise UserError('--data_path {} does not exist'.format(explicit))
        return explicit
    reader = data_module(dataset)
    if os.path.isfile(reader.REAL_PATH):
        return reader.REAL_PATH
    print('{} not found; using the SYNTHETIC sample data {}'.format(reader.REAL_PATH, reader.SAMPLE_PATH))
    if not os.path.isfile(reader.SAMPLE_PATH):
        reader.write_sample_data(reader.SAMPLE_PATH)
    return reader.SAMPLE_PATH


def iterate_batches(dataset, batch_size, shuffle=False, rng=None, drops=None):
    """Yield (audio, video, text, targets) paddle tensors; the last batch may be short. drops: a
    missing.TrainingDrops whose batch() changes the inputs of a shuffled batch (train.py --train_missing)."""
    import paddle
    n = len(dataset)
    order = rng.permutation(n) if shuffle else None
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size] if shuffle else slice(start, start + batch_size)
        # the arrays may be read-only memory maps (data/cache.py); to_tensor copies plain contiguous arrays
        inputs = [dataset.audio[idx], dataset.video[idx], dataset.text[idx]]
        if drops is not None:
            inputs = list(drops.batch(idx, *inputs))
        yield tuple(paddle.to_tensor(np.ascontiguousarray(a)) for a in inputs + [dataset.targets[idx]])


def evaluate(model, dataset, batch_size=1024, metrics_for=None, batch_mean=False, rng=None):
    """Loss and (with metrics_for, a metrics.metric_set name) that set's test metrics of `model`.

    Classification: mean cross-entropy per sample. Regression: L1 summed over samples and
    outputs, divided by N * K (the authors' validation MAE; K = 1 for CMU-MOSI); with
    batch_mean, the mean over batches of each batch's mean L1 (MMSA's validation loss, which
    depends on batch_size). With rng, the batches are drawn in a shuffled order (MMSA's loaders
    shuffle the validation split too) and outputs is in that order. Returns dict(loss,
    outputs [N, K], and the metrics of metrics.task_metrics()).
    """
    import paddle
    import paddle.nn.functional as F
    model.eval()
    outputs, total, batch_losses = [], 0.0, []
    with paddle.no_grad():
        for audio, video, text, target in iterate_batches(dataset, batch_size, shuffle=rng is not None, rng=rng):
            out = model(audio, video, text)
            if dataset.regression:
                batch_sum = float(F.l1_loss(out, target, reduction='sum'))
                batch_losses.append(batch_sum / target.size)
                total += batch_sum
            else:
                total += float(F.cross_entropy(out, target, reduction='sum'))
            outputs.append(out.numpy())
    outputs = np.concatenate(outputs, axis=0)
    if batch_mean and dataset.regression:
        loss = float(np.mean(batch_losses))
    else:
        loss = total / dataset.targets.size if dataset.regression else total / len(dataset)
    result = dict(loss=loss, outputs=outputs)
    if metrics_for:
        if rng is not None:
            raise ValueError('test metrics are computed on the split in file order (rng=None)')
        result.update(metrics.task_metrics(metrics_for, dataset.targets, outputs))
    return result


FACTOR_NAMES = ('audio_factor', 'video_factor', 'text_factor')
FUSION_NAMES = ('fusion_weights', 'fusion_bias')  # what MMSA's optimizer leaves out (--recipe mmsa)
MMSA_MIN_DELTA = 1e-6  # MMSA: a validation loss is better only if <= best - 1e-6


class TrainingDiverged(Exception):
    """The loss became NaN or infinite."""


def make_optimizer(model, learning_rate, factor_learning_rate, weight_decay, train_fusion=True):
    """Adam with two parameter groups: the three factors, and everything else (Paddle reads a group's
    'learning_rate' as a multiplier of the optimizer's rate). train_fusion=False is MMSA's optimizer (its
    groups are parameters()[:3] and [5:]): fusion_weights and fusion_bias stay at their initial values.
    A TFN has no factors: one group, everything at learning_rate (factor_learning_rate is not read)."""
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


def model_hparams(hp):
    """What the model is built with: --recipe mmsa has MMSA's text dropout of 0 (its TextSubNet
    sets dropout 0 for a one-layer LSTM); the checkpoint keeps the configured value."""
    return dict(hp, text_dropout=0.0) if hp.get('recipe') == 'mmsa' else hp


def valid_loss_of(model, valid_set, hp, rng=None):
    """The early-stopping criterion. The authors': summed L1 / (N * K), or mean cross-entropy.
    MMSA's: the mean over batches (of --batch_size) of the batch-mean L1, rounded to 4 decimals;
    its batches are shuffled by rng if given (--recipe mmsa), else in file order, so that the
    short last batch does not weigh on the criterion differently every epoch."""
    if hp.get('layout') != 'mmsa':
        return evaluate(model, valid_set)['loss']
    return round(evaluate(model, valid_set, batch_size=hp['batch_size'], batch_mean=True, rng=rng)['loss'], 4)


def fit(hp, train_set, valid_set, input_dims, checkpoint_path, log=print, on_epoch=None):
    """Train with early stopping; save the best model. Returns the best validation loss.

    Raises TrainingDiverged on a non-finite loss (the best checkpoint so far stays on disk).
    on_epoch(epoch, valid_loss), if given, is called after every validation; an exception
    it raises stops training and propagates (the search's pruner uses this).
    Under paddle.distributed.launch each rank trains its shard of every batch (see
    parallel.py); only rank 0 logs and writes the checkpoint.
    """
    utils.set_seed(hp['seed'])
    model = checkpoints.build_model(model_hparams(hp), input_dims)
    optimizer = make_optimizer(model, hp['learning_rate'], hp.get('factor_learning_rate', hp['learning_rate']),
                               hp['weight_decay'], train_fusion=hp.get('recipe') != 'mmsa')
    net, (rank, world_size) = parallel.wrap(model, hp['seed']), parallel.world()
    if rank != 0:
        log = lambda line: None  # noqa: E731 (only rank 0 logs)
    rng = np.random.RandomState(hp['seed'])
    mmsa = hp.get('layout') == 'mmsa'  # trained MMSA's way (its feature files), else the authors' way
    # MMSA shuffles the validation batches every epoch; a stream of its own keeps the training
    # order that of the default recipe (and of every rank: only rank 0 validates).
    valid_rng = np.random.RandomState([hp['seed'], 1]) if hp.get('recipe') == 'mmsa' else None
    # MMSA: loss = mean over the global batch (its L1Loss); compared with <= best - 1e-6.
    best_valid_loss, patience_left = (1e8 if mmsa else math.inf), hp['patience']
    n, batch_size = len(train_set), hp['batch_size']
    drops = missing.TrainingDrops(train_set, hp['train_missing'], hp['seed']) if hp.get('train_missing') else None
    for epoch in range(hp['epochs']):
        model.train()
        total_loss = 0.0
        if drops is not None:
            drops.start_epoch(epoch)
        global_rows = (min(batch_size, n - start) for start in range(0, n, batch_size))
        for (audio, video, text, target), rows in zip(parallel.shard_batches(
                iterate_batches(train_set, batch_size, shuffle=True, rng=rng, drops=drops)), global_rows):
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
                checkpoints.save_checkpoint(checkpoint_path, model, hp, input_dims)
            log('Found new check model, saving to disk...')
        else:
            patience_left -= 1
            if patience_left <= 0:
                log('No improvement for {} epochs, stopping.'.format(hp['patience']))
                break
    return best_valid_loss


def load_for_training(hp, data_path, verbose=True):
    """(train, valid, test, input_dims) of hp's task and hp for that file (hparams.with_data)."""
    sets = load_data(hp['dataset'], data_path, hp.get('emotion'), verbose=verbose, output_dim=hp.get('output_dim'))
    return sets, hparams.with_data(hp, sets[0], data_path)


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
    if hp.get('train_missing'):
        notes.append('random missing on {:g} of the training samples'.format(hp['train_missing']))
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
    on_epoch goes to fit; sets, if given, is (train, valid, test, input_dims) of this data_path, and hp
    has its output_dim (reproduce.py loads a task once for all its runs). On ranks other than 0 of a
    data-parallel run the test entries are missing (rank 0 tests and writes the log). Bad data raises
    before anything is written.
    """
    dataset, hp = hp['dataset'], dict(hp)
    name = hparams.model_name(dataset, hp.get('emotion'))
    log_path = os.path.join(log_dir, 'train_{}.txt'.format(name))
    checkpoint_path = os.path.join(model_path, '{}.pdparams'.format(name))
    main = parallel.is_main()
    if sets is None:
        sets, hp = load_for_training(hp, data_path, verbose=main)
    train_set, valid_set, test_set, input_dims = sets
    if not main:  # another rank of a data-parallel run: trains its shard, writes nothing
        best_valid_loss = fit(hp, train_set, valid_set, input_dims, checkpoint_path, on_epoch=on_epoch)
        return dict(best_valid_loss=best_valid_loss, test_loss=None, checkpoint=checkpoint_path,
                    synthetic=test_set.synthetic)
    os.makedirs(log_dir, exist_ok=True)
    start = time.perf_counter()
    record = dict(settings=hp, data=records.data_identity(data_path, test_set.synthetic),
                  machine=dict(utils.machine(), processes=parallel.world()[1]))
    if os.path.exists(records.path_of(log_path)):  # an earlier run's record must not outlive a rerun cut short
        os.remove(records.path_of(log_path))
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
        try:
            best_valid_loss = fit(hp, train_set, valid_set, input_dims, checkpoint_path, log, on_epoch=on_epoch)
        except TrainingDiverged as err:
            records.write(records.path_of(log_path), dict(record, status='diverged', error=str(err),
                                                          seconds=round(time.perf_counter() - start, 2)))
            raise
        log('Best validation loss is: {}'.format(best_valid_loss))
        model, _, _ = checkpoints.model_from_checkpoint(checkpoint_path, name, dataset=dataset)
        metric_set = metrics.metric_set(dataset, hp.get('layout', 'authors'))
        result = evaluate(model, test_set, metrics_for=metric_set)
        metrics.show_results(metric_set, result, out=log)
        if test_set.synthetic:
            log(synthetic_note(dataset))
    scores = {k: v for k, v in result.items() if k not in ('loss', 'outputs')}
    records.write(records.path_of(log_path), dict(
        record, status='finished', seconds=round(time.perf_counter() - start, 2), metrics=scores,
        best_valid_loss=best_valid_loss, test_loss=result['loss']))
    return dict(scores, best_valid_loss=best_valid_loss, test_loss=result['loss'], checkpoint=checkpoint_path,
                synthetic=test_set.synthetic)


def seed_list(base_seed, count):
    """The seeds of a multi-seed run: base, base+1, ... (modulo 2**32)."""
    return [(base_seed + i) % 2 ** 32 for i in range(count)]


def mean_std(values, ddof):
    values = np.asarray(values, dtype=np.float64)
    return '{:.4f} +- {:.4f}'.format(values.mean(), values.std(ddof=ddof))


def train_seeds(hp, data_path, count, model_path='check', log_dir='train_log', sets=None, jobs=1, threads=None,
                device='cpu'):
    """Train the same setting under `count` seeds; report mean +- std of every test metric.

    Seed s trains into <model_path>/<name>_seeds/seed_<s>/ (log in <log_dir>/<name>_seeds/seed_<s>/).
    The seed with the best VALIDATION loss is copied to <model_path>/<name>.pdparams and its log to
    <log_dir>/train_<name>.txt. With jobs > 1 the seeds train side by side in worker processes on `threads`
    CPU threads each (lmf/jobs.py; their epochs are in their logs). Returns (results per seed, best result).
    """
    dataset = hp['dataset']
    name = hparams.model_name(dataset, hp.get('emotion'))
    seeds = seed_list(hp['seed'], count)
    main = parallel.is_main()
    if main:
        print('Seeds: {}'.format(', '.join(str(s) for s in seeds)))
    subs = [os.path.join('{}_seeds'.format(name), 'seed_{}'.format(seed)) for seed in seeds]
    if jobs == 1:
        trained = [train_and_test(dict(hp, seed=seed), data_path, os.path.join(model_path, sub),
                                  os.path.join(log_dir, sub), sets=sets) for seed, sub in zip(seeds, subs)]
    else:
        trained = [None] * count
        with lmf_jobs.pool(jobs, device, threads) as side_by_side:
            for i, result in side_by_side(train_and_test, [
                    (dict(hp, seed=seed), data_path, os.path.join(model_path, sub), os.path.join(log_dir, sub))
                    for seed, sub in zip(seeds, subs)]):
                trained[i] = result
                print('seed {} trained ({} of {})'.format(seeds[i], count - trained.count(None), count), flush=True)
    results = [dict(result, seed=seed, log=os.path.join(log_dir, sub, 'train_{}.txt'.format(name)))
               for result, seed, sub in zip(trained, seeds, subs)]
    if not main:
        return results, None
    print()
    metric_set = metrics.metric_set(dataset, hp.get('layout', 'authors'))
    seed_metrics = metrics.SEED_METRICS[metric_set]
    for r in results:
        print('seed {}: best validation loss {:.6f}, {}'.format(r['seed'], r['best_valid_loss'], ', '.join(
            'test {} {:.4f}'.format(m.seed, r[m.key]) for m in seed_metrics)))
    ddof = 1 if count > 1 else 0
    for m in seed_metrics:
        print('Test {} over {} seeds: {} (mean +- std{})'.format(
            m.summary, count, mean_std([r[m.key] for r in results], ddof), ', n-1' if ddof else ''))
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
    with open(best['checkpoint'], 'rb') as source, atomic_write(checkpoint, 'wb') as target:
        shutil.copyfileobj(source, target)
    # the best seed's log and record (a copy cut short is no record to records.read: it is never half-read)
    for source in (best['log'], records.path_of(best['log'])):
        shutil.copyfile(source, os.path.join(log_dir, os.path.basename(source)))
    print('Best seed by validation loss: {} (validation loss {}); its checkpoint is {}'.format(
        best['seed'], best['best_valid_loss'], checkpoint))
    metrics.show_results(metric_set, best)
    if best['synthetic']:
        print(synthetic_note(dataset))
    return results, dict(best, checkpoint=checkpoint)
