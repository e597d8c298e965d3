"""train.py's whole process in PyTorch: load, train, keep the best, test.

    python benchmarks/torch_train.py --emotion happy --data_path X [--epochs 5 --batch_size 16 --threads N]
    python benchmarks/torch_train.py --dataset mosi --data_path X            # the authors' way: 500 epochs, patience 20
    python benchmarks/torch_train.py --dataset pom --trait Vivid --data_path X [--seed S --patience P]
    python benchmarks/torch_train.py --dataset sims --data_path F            # an MMSA feature file: MMSA's way

The paper's pickles: same data loader (engine.load_data), hyperparameter table, optimizer groups, loss, early
stopping and atomic best-checkpoint save as train.py, so that wall times and scores compare. Classification
(IEMOCAP): cross-entropy summed over the batch, validation loss the mean cross-entropy. Regression (CMU-MOSI, POM),
as the authors' train_mosi.py / train_pom.py: L1Loss(size_average=False), i.e. summed over the batch and the
outputs; validation loss the summed L1 / N / K; test metrics metrics.task_metrics (the authors' definitions).

Defaults: IEMOCAP runs --epochs 5 without early stopping unless --patience is given (the benchmark's fixed-length
runs); CMU-MOSI and POM use the table's epochs (500) and patience (20). --seed defaults to the table's seed
(torch.manual_seed and the shuffling order). The best checkpoint goes to <model_path>/torch_<name>.pt and the run
record (lmf/records.py, as train.py writes: status, seconds, settings, data, the test metrics, best_valid_loss) to
<model_path>/torch_<name>.json.

MMSA's feature files (CMU-MOSI in MMSA's layout, CMU-MOSEI, CH-SIMS, CH-SIMS v2; the layout is read from the file)
train as MMSA's LMF trainer does (train_mmsa; our code, from MMSA's procedure): hparams.published_hparams(dataset,
layout='mmsa'); MMSA's text subnetwork (dropout 0 for its one-layer LSTM); Adam over parameters()[:3] (the factors)
at factor_learning_rate and parameters()[5:] at learning_rate, weight decay on both, so fusion_weights and
fusion_bias are never trained; nn.L1Loss() (the batch mean); train and validation batches shuffled (MMSA's loaders
shuffle every split); no epoch limit, stop once epoch - best_epoch >= 8 (--patience), where a validation loss (the
mean over batches of the batch-mean L1, rounded to 4 decimals) is better only if <= best - 1e-6, best starting at
1e8; the best state is tested (MMSA's metrics, metrics.task_metrics). Seeds as MMSA's setup_seed (torch, numpy,
random). --recipe ours trains fusion_weights and fusion_bias too and applies the text dropout (train.py's default
recipe) with everything else MMSA's.
"""
import argparse
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from lmf import engine, hparams, metrics, records  # noqa: E402
import safe_io  # noqa: E402
import utils  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # --help works without PyTorch; main() says what to install
    torch = F = None

FACTOR_NAMES = ('audio_factor', 'video_factor', 'text_factor')
IEMOCAP_DEFAULT_EPOCHS = 5
MMSA_INITIAL_BEST = 1e8  # MMSA's best validation loss before the first epoch
MMSA_MIN_DELTA = 1e-6  # MMSA: better only if <= best - 1e-6
MMSA_EVAL_BATCH = 1024  # test outputs in eval mode do not depend on the batch


def batches(dataset, batch_size, order):
    for start in range(0, len(dataset), batch_size):
        idx = order[start:start + batch_size]
        yield (torch.from_numpy(dataset.audio[idx]), torch.from_numpy(dataset.video[idx]),
               torch.from_numpy(dataset.text[idx]), torch.from_numpy(dataset.targets[idx]))


def summed_loss(out, target, regression):
    """engine.summed_loss in PyTorch: L1 over samples and outputs, or cross-entropy over samples."""
    if regression:
        return F.l1_loss(out, target, reduction='sum')
    return F.cross_entropy(out, target, reduction='sum')


def evaluate(model, dataset, dataset_name=None):
    """(loss, outputs [N, K] numpy) of the whole split in eval mode, and with dataset_name the
    dataset's test metrics (metrics.task_metrics, the same code as train.py's)."""
    model.eval()
    with torch.no_grad():
        out = model(*(torch.from_numpy(np.array(a)) for a in (dataset.audio, dataset.video, dataset.text)))
        total = summed_loss(out, torch.from_numpy(np.array(dataset.targets)), dataset.regression).item()
    # regression: the authors' validation MAE (summed L1 / N / K); classification: mean cross-entropy
    loss = total / dataset.targets.size if dataset.regression else total / len(dataset)
    outputs = out.numpy()
    scores = metrics.task_metrics(dataset_name, dataset.targets, outputs) if dataset_name else {}
    return loss, outputs, scores


def build(hp, dims, mmsa_text=False):
    from benchmarks.torch_lmf import LMF
    return LMF(dims, (hp['audio_hidden'], hp['video_hidden'], hp['text_hidden']), hp['text_hidden'] // 2,
               (hp['audio_dropout'], hp['video_dropout'], hp['text_dropout'], hparams.POST_FUSION_DROPOUT),
               hp['output_dim'], hp['rank'], mmsa_text=mmsa_text)


def make_optimizer(model, hp):
    """Adam with the three factors at factor_learning_rate and the rest at learning_rate; L2 weight decay."""
    named = list(model.named_parameters())
    return torch.optim.Adam(
        [{'params': [p for n, p in named if n in FACTOR_NAMES], 'lr': hp['factor_learning_rate']},
         {'params': [p for n, p in named if n not in FACTOR_NAMES], 'lr': hp['learning_rate']}],
        weight_decay=hp['weight_decay'])


def finish(args, name, hp, test_set, metric_set, result, best_valid, start):
    """Print the test metrics as train.py does and the seconds since `start`; write the run record train.py writes
    (lmf/records.py) to <model_path>/torch_<name>.json."""
    metrics.show_results(metric_set, result)
    if test_set.synthetic and metric_set != 'iemocap':
        print(engine.synthetic_note(args.dataset))
    seconds = time.perf_counter() - start
    print('train loop seconds {:.3f}'.format(seconds))
    records.write(os.path.join(args.model_path, 'torch_{}.json'.format(name)), dict(
        status='finished', seconds=round(seconds, 2), settings=hp, metrics=result, best_valid_loss=best_valid,
        data=records.data_identity(args.data_path, test_set.synthetic)))


# ---------------------------------------------------------------- MMSA's feature files, MMSA's way

def mmsa_seed(seed):
    """MMSA's setup_seed on CPU: torch, numpy and random."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def mmsa_optimizer(model, hp, recipe='mmsa'):
    """MMSA's Adam: parameters()[:3] (the three factors) at factor_learning_rate, parameters()[5:]
    (the subnetworks) at learning_rate, coupled weight decay on both; parameters()[3:5]
    (fusion_weights, fusion_bias) are in no group. recipe 'ours': [3:] at learning_rate."""
    from benchmarks.torch_lmf import FUSION_ORDER
    names = [n for n, _ in model.named_parameters()]
    if tuple(names[:5]) != FUSION_ORDER:  # MMSA's slices mean these only in this order
        raise AssertionError('LMF parameter order {} is not {}'.format(names[:5], FUSION_ORDER))
    params = list(model.parameters())
    rest = params[5:] if recipe == 'mmsa' else params[3:]
    return torch.optim.Adam([{'params': params[:3], 'lr': hp['factor_learning_rate']},
                             {'params': rest, 'lr': hp['learning_rate']}], weight_decay=hp['weight_decay'])


class MMSAEarlyStopping:
    """MMSA's early stopping on a loss: epochs count from 1; a validation loss is better only if
    <= best - 1e-6 (best starts at 1e8); training stops once epoch - best_epoch >= patience."""

    def __init__(self, patience):
        self.patience = patience
        self.best, self.best_epoch, self.epoch = MMSA_INITIAL_BEST, 0, 0

    def update(self, valid_loss):
        """Record one epoch's validation loss; True if it is the new best."""
        self.epoch += 1
        better = valid_loss <= self.best - MMSA_MIN_DELTA
        if better:
            self.best, self.best_epoch = valid_loss, self.epoch
        return better

    @property
    def stop(self):
        return self.epoch - self.best_epoch >= self.patience


def mmsa_loader(split, batch_size, shuffle=True):
    """MMSA's DataLoader (every split shuffled, the global torch generator) over the prepared arrays
    (copied: they may be read-only memory maps of the data cache)."""
    tensors = [torch.from_numpy(np.array(a)) for a in (split.audio, split.video, split.text, split.targets)]
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*tensors), batch_size=batch_size,
                                       shuffle=shuffle)


def mmsa_valid_loss(model, loader, criterion):
    """MMSA's validation loss: the mean over batches of the batch-mean L1, rounded to 4 decimals."""
    model.eval()
    losses = []
    with torch.no_grad():
        for audio, video, text, target in loader:
            losses.append(criterion(model(audio, video, text), target).item())
    return round(sum(losses) / len(losses), 4)


def mmsa_outputs(model, split):
    model.eval()
    with torch.no_grad():
        return np.concatenate([model(*(torch.from_numpy(np.array(a[i:i + MMSA_EVAL_BATCH])) for a in (
            split.audio, split.video, split.text))).numpy() for i in range(0, len(split), MMSA_EVAL_BATCH)])


def train_mmsa(hp, train_set, valid_set, dims, path, recipe='mmsa', epochs=None, log=print,
               valid_loss=mmsa_valid_loss, valid_order='shuffled'):
    """Train an LMF MMSA's way (see the module docstring) and load its best state.
    epochs: a cap (MMSA has none). valid_loss(model, loader, criterion) is the criterion (a test
    can replace it). valid_order 'fixed' batches the validation split in file order instead of
    MMSA's shuffled order (a diagnosis: then the last, short batch is always the same samples).
    Returns dict(model, best_valid, best_epoch, epochs), epochs counted from 1 as MMSA counts them
    (the log lines count from 0 as train.py's)."""
    mmsa_seed(hp['seed'])
    model = build(hp, dims, mmsa_text=recipe == 'mmsa')
    optimizer = mmsa_optimizer(model, hp, recipe)
    criterion = torch.nn.L1Loss()
    train_loader = mmsa_loader(train_set, hp['batch_size'])
    valid_loader = mmsa_loader(valid_set, hp['batch_size'], shuffle=valid_order == 'shuffled')
    stopping = MMSAEarlyStopping(hp['patience'])
    while True:
        model.train()
        total = 0.0
        for audio, video, text, target in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(audio, video, text), target)
            loss.backward()
            optimizer.step()
            total += loss.item()
        train_loss = total / len(train_loader)
        loss_now = valid_loss(model, valid_loader, criterion)
        log('Epoch {} complete! Average Training loss: {}'.format(stopping.epoch, train_loss))
        log('Validation loss is: {}'.format(loss_now))
        if not (math.isfinite(train_loss) and math.isfinite(loss_now)):
            raise utils.UserError('the loss became {} in epoch {}; try a lower learning rate'.format(
                train_loss if not math.isfinite(train_loss) else loss_now, stopping.epoch))
        if stopping.update(loss_now):
            with safe_io.atomic_write(path, 'wb') as f:
                torch.save(model.state_dict(), f)
        if stopping.stop:
            log('No improvement for {} epochs (best epoch {}), stopping.'.format(
                hp['patience'], stopping.best_epoch - 1))
            break
        if epochs is not None and stopping.epoch >= epochs:
            break
    model.load_state_dict(torch.load(path))
    return dict(model=model, best_valid=stopping.best, best_epoch=stopping.best_epoch, epochs=stopping.epoch)


def main_mmsa(args, sets):
    """benchmarks/torch_train.py on one of MMSA's feature files."""
    dataset = args.dataset
    train_set, valid_set, test_set, dims = sets
    hp = hparams.published_hparams(dataset, layout='mmsa')
    hp.update({k: getattr(args, k) for k in ('batch_size', 'seed', 'patience', 'weight_decay')
               if getattr(args, k) is not None})
    hparams.check_hparams(hp)
    hp['output_dim'] = int(train_set.labels.shape[1])
    recipe = hp['recipe'] = args.recipe or 'mmsa'
    path = os.path.join(args.model_path, 'torch_{}.pt'.format(hparams.model_name(dataset)))
    print("Training {} (MMSA's feature file) MMSA's way, recipe {}, with {}".format(dataset, recipe, ', '.join(
        '{}={}'.format(k, hp[k]) for k in sorted(hp) if k not in hparams.IDENTITY_KEYS + ('epochs',))))
    start = time.perf_counter()
    run = train_mmsa(hp, train_set, valid_set, dims, path, recipe=recipe, epochs=args.epochs,
                     valid_order=args.valid_order)
    print('Best validation loss is: {} (epoch {})'.format(run['best_valid'], run['best_epoch'] - 1))
    metric_set = metrics.metric_set(dataset, 'mmsa')
    result = metrics.task_metrics(metric_set, test_set.targets, mmsa_outputs(run['model'], test_set))
    finish(args, hparams.model_name(dataset), hp, test_set, metric_set, result, run['best_valid'], start)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    hparams.add_task_args(parser)
    parser.add_argument('--data_path', required=True)
    # Not hparams.add_hparam_args: IEMOCAP's defaults differ here (the benchmark's fixed-length runs).
    epochs, patience = (hparams.BY_NAME[n].dataset_default for n in ('epochs', 'patience'))
    parser.add_argument('--epochs', type=int, default=None,
                        help='default: {} for IEMOCAP, the table\'s ({}) for CMU-MOSI and POM, no limit for '
                             "MMSA's files (as MMSA)".format(IEMOCAP_DEFAULT_EPOCHS, epochs['mosi']))
    parser.add_argument('--patience', type=int, default=None,
                        help='stop after this many epochs without a better validation loss (default: none for '
                             'IEMOCAP, the table\'s ({}) for CMU-MOSI and POM, {} for MMSA\'s files)'.format(
                                 patience['mosi'], patience['mmsa']))
    hparams.add_hparam_args(parser, ('batch_size', 'seed', 'weight_decay'))  # default: the table's
    parser.add_argument('--recipe', choices=hparams.RECIPES, default=None,
                        help="MMSA's files only: mmsa (default: MMSA's training exactly, fusion weights and bias "
                             'never trained, text dropout 0) or ours (both trained and applied, the rest MMSA\'s)')
    parser.add_argument('--valid_order', choices=('shuffled', 'fixed'), default='shuffled',
                        help="MMSA's files only: the validation batches in a new random order each epoch (default, "
                             "as MMSA's loader) or in file order (train.py's)")
    parser.add_argument('--model_path', default='/tmp')
    parser.add_argument('--threads', type=int, default=None, help='torch.set_num_threads (default: torch default)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if torch is None:
        raise utils.UserError('benchmarks/torch_train.py needs PyTorch: pip install -r requirements-bench.txt')
    if args.threads:
        torch.set_num_threads(args.threads)
    hparams.check_hparams({k: getattr(args, k) for k in ('epochs', 'patience', 'batch_size', 'seed', 'weight_decay')
                           if getattr(args, k) is not None})
    dataset = args.dataset
    emotion = (args.emotion or 'happy') if dataset == 'iemocap' else args.emotion
    if dataset != 'iemocap' and emotion is not None:
        hparams.published_hparams(dataset, emotion)  # its one-line error
    sets = engine.load_data(dataset, args.data_path, emotion, verbose=False)
    if getattr(sets[0], 'layout', 'authors') == 'mmsa':
        if args.trait is not None or emotion is not None:
            raise utils.UserError("--trait and --emotion do not apply to MMSA's feature files")
        return main_mmsa(args, sets)
    if args.recipe is not None or args.valid_order != 'shuffled':
        raise utils.UserError("--recipe and --valid_order apply to MMSA's feature files; {} is the authors' "
                              'layout'.format(args.data_path))
    hp = hparams.published_hparams(dataset, emotion, args.trait)
    regression = dataset in hparams.REGRESSION
    hp.update({k: getattr(args, k) for k in ('batch_size', 'seed', 'weight_decay') if getattr(args, k) is not None})
    epochs = args.epochs if args.epochs is not None else (hp['epochs'] if regression else IEMOCAP_DEFAULT_EPOCHS)
    patience = args.patience if args.patience is not None else (hp['patience'] if regression else None)
    hparams.check_hparams(dict(hp, epochs=epochs, **({'patience': patience} if patience is not None else {})))
    torch.manual_seed(hp['seed'])
    train_set, valid_set, test_set, dims = sets
    if regression:
        hp['output_dim'] = int(train_set.labels.shape[1])  # K from the file, as train.py
    model = build(hp, dims)
    optimizer = make_optimizer(model, hp)
    rng = np.random.RandomState(hp['seed'])
    name = hparams.model_name(dataset, hp.get('emotion'))
    path = os.path.join(args.model_path, 'torch_{}.pt'.format(name))
    best, patience_left = math.inf, patience
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for audio, video, text, target in batches(train_set, hp['batch_size'], rng.permutation(len(train_set))):
            loss = summed_loss(model(audio, video, text), target, regression)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        valid_loss = evaluate(model, valid_set)[0]
        print('Epoch {} complete! Average Training loss: {}'.format(epoch, total / len(train_set)))
        print('Validation loss is: {}'.format(valid_loss))
        if not (math.isfinite(total) and math.isfinite(valid_loss)):
            raise utils.UserError('the loss became {} in epoch {}; try a lower learning rate'.format(
                total if not math.isfinite(total) else valid_loss, epoch))
        if valid_loss < best:
            best, patience_left = valid_loss, patience
            with safe_io.atomic_write(path, 'wb') as f:
                torch.save(model.state_dict(), f)
        elif patience is not None:
            patience_left -= 1
            if patience_left <= 0:
                print('No improvement for {} epochs, stopping.'.format(patience))
                break
    if regression:
        print('Best validation loss is: {}'.format(best))
    model.load_state_dict(torch.load(path))
    finish(args, name, hp, test_set, dataset, evaluate(model, test_set, dataset)[2], best, start)


if __name__ == '__main__':
    utils.run_cli(main)
