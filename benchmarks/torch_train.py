"""train.py's whole process in PyTorch: load, train, keep the best, test.

    python benchmarks/torch_train.py --emotion happy --data_path X [--epochs 5 --batch_size 16 --threads N]
    python benchmarks/torch_train.py --dataset mosi --data_path X            # the authors' way: 500 epochs, patience 20
    python benchmarks/torch_train.py --dataset pom --trait Vivid --data_path X [--seed S --patience P]
    python benchmarks/torch_train.py --dataset sims --data_path F            # an MMSA feature file: MMSA's way

train.py's data loader, hyperparameter table and metric code, and our own PyTorch training: Adam groups, the loss
summed over the batch (IEMOCAP's cross-entropy; as the authors' train_mosi.py / train_pom.py, L1 over samples and
outputs), early stopping on the mean cross-entropy or the summed L1 / N / K, the best checkpoint saved atomically.
IEMOCAP runs --epochs 5 without early stopping unless --patience is given (the benchmark's fixed-length runs). The
best checkpoint goes to <model_path>/torch_<name>.pt, the run record (lmf/records.py, as train.py writes it) to
<model_path>/torch_<name>.json. MMSA's feature files train as MMSA's LMF trainer does (train_mmsa, our code from
MMSA's procedure; --recipe ours trains the fusion weights and applies the text dropout).
"""
import argparse
import math
import os
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
    from benchmarks.torch_lmf import build, make_optimizer, mmsa_optimizer, mmsa_seed, summed_loss
except ImportError:  # --help works without PyTorch; main() says what to install
    torch = F = None

IEMOCAP_DEFAULT_EPOCHS = 5


def evaluate(model, dataset, metric_set=None):
    """(the authors' validation loss of the whole split in eval mode: summed L1 / N / K or mean cross-entropy,
    and with metric_set its test metrics: metrics.task_metrics, train.py's code)."""
    model.eval()
    with torch.no_grad():
        out = model(*(torch.from_numpy(np.array(a)) for a in (dataset.audio, dataset.video, dataset.text)))
        total = summed_loss(out, torch.from_numpy(np.array(dataset.targets)), dataset.regression).item()
    loss = total / (dataset.targets.size if dataset.regression else len(dataset))
    return loss, metrics.task_metrics(metric_set, dataset.targets, out.numpy()) if metric_set else {}


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
        data=records.data_identity(args.data_path, test_set.synthetic),
        machine=dict(cpu=utils.cpu_model(), device='cpu', cpu_threads=torch.get_num_threads(), torch=torch.__version__,
                     processes=1)))


# ---------------------------------------------------------------- MMSA's feature files, MMSA's way

def mmsa_loader(split, batch_size, shuffle=True):
    """MMSA's DataLoader (every split shuffled, the global torch generator) over the prepared arrays
    (copied: they may be read-only memory maps of the data cache)."""
    tensors = [torch.from_numpy(np.array(a)) for a in (split.audio, split.video, split.text, split.targets)]
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*tensors), batch_size=batch_size,
                                       shuffle=shuffle)


def mmsa_valid_loss(model, loader, criterion):
    """MMSA's validation loss: the mean over batches of the batch-mean L1, rounded to 4 decimals."""
    model.eval()
    with torch.no_grad():
        losses = [criterion(model(audio, video, text), target).item() for audio, video, text, target in loader]
    return round(sum(losses) / len(losses), 4)


def train_mmsa(hp, train_set, valid_set, dims, path, recipe='mmsa', epochs=None, log=print,
               valid_loss=mmsa_valid_loss, valid_order='shuffled'):
    """Train an LMF MMSA's way (its text subnetwork, optimizer, batch-mean L1, shuffled loaders and early stopping:
    epochs count from 1, a validation loss is better only if <= best - 1e-6, best starting at 1e8, stop once
    epoch - best_epoch >= patience) and load its best state. epochs: a cap (MMSA has none). valid_loss(model, loader,
    criterion): the criterion (a test can replace it). valid_order 'fixed': the validation batches in file order.
    Returns dict(model, best_valid, best_epoch, epochs), epochs as MMSA counts them (the log lines from 0)."""
    mmsa_seed(hp['seed'])
    model = build(hp, dims, mmsa_text=recipe == 'mmsa')
    optimizer = mmsa_optimizer(model, hp, recipe)
    criterion = torch.nn.L1Loss()
    train_loader = mmsa_loader(train_set, hp['batch_size'])
    valid_loader = mmsa_loader(valid_set, hp['batch_size'], shuffle=valid_order == 'shuffled')
    best, best_epoch, epoch = 1e8, 0, 0  # MMSA's best validation loss before the first epoch
    while epochs is None or epoch < epochs:
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
        log('Epoch {} complete! Average Training loss: {}'.format(epoch, train_loss))
        log('Validation loss is: {}'.format(loss_now))
        if not (math.isfinite(train_loss) and math.isfinite(loss_now)):
            raise utils.UserError('the loss became {} in epoch {}; try a lower learning rate'.format(
                train_loss if not math.isfinite(train_loss) else loss_now, epoch))
        epoch += 1
        if loss_now <= best - engine.MMSA_MIN_DELTA:
            best, best_epoch = loss_now, epoch
            with safe_io.atomic_write(path, 'wb') as f:
                torch.save(model.state_dict(), f)
        if epoch - best_epoch >= hp['patience']:
            log('No improvement for {} epochs (best epoch {}), stopping.'.format(hp['patience'], best_epoch - 1))
            break
    model.load_state_dict(torch.load(path))
    return dict(model=model, best_valid=best, best_epoch=best_epoch, epochs=epoch)


def main_mmsa(args, sets):
    """benchmarks/torch_train.py on one of MMSA's feature files."""
    dataset = args.dataset
    train_set, valid_set, test_set, dims = sets
    hp = dict(hparams.published_hparams(dataset, layout='mmsa'),
              **hparams.explicit_hparams(args, ('batch_size', 'seed', 'patience', 'weight_decay')))
    hp['output_dim'] = int(train_set.labels.shape[1])
    recipe = hp['recipe'] = args.recipe or 'mmsa'
    path = os.path.join(args.model_path, 'torch_{}.pt'.format(hparams.model_name(dataset)))
    print("Training {} (MMSA's feature file) MMSA's way, recipe {}, with {}".format(dataset, recipe, ', '.join(
        '{}={}'.format(k, hp[k]) for k in sorted(hp) if k not in hparams.IDENTITY_KEYS + ('epochs',))))
    start = time.perf_counter()
    run = train_mmsa(hp, train_set, valid_set, dims, path, recipe=recipe, epochs=args.epochs,
                     valid_order=args.valid_order)
    print('Best validation loss is: {} (epoch {})'.format(run['best_valid'], run['best_epoch'] - 1))
    model, metric_set = run['model'].eval(), metrics.metric_set(dataset, 'mmsa')
    with torch.no_grad():  # in batches of 1024: the outputs in eval mode do not depend on the batch
        outputs = np.concatenate([model(*(torch.from_numpy(np.array(a[i:i + 1024])) for a in (
            test_set.audio, test_set.video, test_set.text))).numpy() for i in range(0, len(test_set), 1024)])
    result = metrics.task_metrics(metric_set, test_set.targets, outputs)
    finish(args, hparams.model_name(dataset), hp, test_set, metric_set, result, run['best_valid'], start)


def main(argv=None):
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
    args = parser.parse_args(argv)
    if torch is None:
        raise utils.UserError('benchmarks/torch_train.py needs PyTorch: pip install -r requirements-bench.txt')
    if args.threads:
        torch.set_num_threads(args.threads)
    # the flags' ranges (the published values are in range)
    hparams.check_hparams(hparams.explicit_hparams(args, ('epochs', 'patience', 'batch_size', 'seed', 'weight_decay')))
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
    regression = dataset in hparams.REGRESSION
    hp = dict(hparams.published_hparams(dataset, emotion, args.trait),
              **hparams.explicit_hparams(args, ('batch_size', 'seed', 'weight_decay')))
    epochs = args.epochs if args.epochs is not None else (hp['epochs'] if regression else IEMOCAP_DEFAULT_EPOCHS)
    patience = args.patience if args.patience is not None else (hp['patience'] if regression else None)
    torch.manual_seed(hp['seed'])
    train_set, valid_set, test_set, dims = sets
    if regression:
        hp['output_dim'] = int(train_set.labels.shape[1])  # K from the file, as train.py
    model = build(hp, dims)
    optimizer = make_optimizer(model, hp)
    rng = np.random.RandomState(hp['seed'])
    name = hparams.model_name(dataset, hp.get('emotion'))
    path = os.path.join(args.model_path, 'torch_{}.pt'.format(name))
    best, patience_left, batch = math.inf, patience, hp['batch_size']
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        total, order = 0.0, rng.permutation(len(train_set))
        for i in range(0, len(train_set), batch):
            audio, video, text, target = (torch.from_numpy(a[order[i:i + batch]]) for a in (
                train_set.audio, train_set.video, train_set.text, train_set.targets))
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
    finish(args, name, hp, test_set, dataset, evaluate(model, test_set, dataset)[1], best, start)


if __name__ == '__main__':
    utils.run_cli(main)
