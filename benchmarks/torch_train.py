"""train.py's whole process in PyTorch: load, train, keep the best, test.

    python benchmarks/torch_train.py --emotion happy --data_path X [--epochs 5 --batch_size 16 --threads N]
    python benchmarks/torch_train.py --dataset mosi --data_path X            # the authors' way: 500 epochs, patience 20
    python benchmarks/torch_train.py --dataset pom --trait Vivid --data_path X [--seed S --patience P]

Same data loader (utils.load_data), hyperparameter table, optimizer groups, loss, early
stopping and atomic best-checkpoint save as train.py, so that wall times and scores compare.
Classification (IEMOCAP): cross-entropy summed over the batch, validation loss the mean
cross-entropy. Regression (CMU-MOSI, POM), as the authors' train_mosi.py / train_pom.py:
L1Loss(size_average=False), i.e. summed over the batch and the outputs; validation loss the
summed L1 / N / K; test metrics metrics.task_metrics (the authors' definitions).

Defaults: IEMOCAP runs --epochs 5 without early stopping unless --patience is given (the
benchmark's fixed-length runs); CMU-MOSI and POM use the table's epochs (500) and patience (20).
--seed defaults to the table's seed (torch.manual_seed and the shuffling order).
"""
import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import hparams  # noqa: E402
import utils  # noqa: E402
import metrics  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # --help works without PyTorch; main() says what to install
    torch = F = None

FACTOR_NAMES = ('audio_factor', 'video_factor', 'text_factor')
IEMOCAP_DEFAULT_EPOCHS = 5


def batches(dataset, batch_size, order):
    for start in range(0, len(dataset), batch_size):
        idx = order[start:start + batch_size]
        yield (torch.from_numpy(dataset.audio[idx]), torch.from_numpy(dataset.video[idx]),
               torch.from_numpy(dataset.text[idx]), torch.from_numpy(dataset.targets[idx]))


def summed_loss(out, target, regression):
    """train.summed_loss in PyTorch: L1 over samples and outputs, or cross-entropy over samples."""
    if regression:
        return F.l1_loss(out, target, reduction='sum')
    return F.cross_entropy(out, target, reduction='sum')


def evaluate(model, dataset, dataset_name=None):
    """(loss, outputs [N, K] numpy) of the whole split in eval mode, and with dataset_name the
    dataset's test metrics (metrics.task_metrics, the same code as train.py's)."""
    model.eval()
    with torch.no_grad():
        out = model(*(torch.from_numpy(a) for a in (dataset.audio, dataset.video, dataset.text)))
        total = summed_loss(out, torch.from_numpy(dataset.targets), dataset.regression).item()
    # regression: the authors' validation MAE (summed L1 / N / K); classification: mean cross-entropy
    loss = total / dataset.targets.size if dataset.regression else total / len(dataset)
    outputs = out.numpy()
    scores = metrics.task_metrics(dataset_name, dataset.targets, outputs) if dataset_name else {}
    return loss, outputs, scores


def build(hp, dims):
    from benchmarks.torch_lmf import LMF
    return LMF(dims, (hp['audio_hidden'], hp['video_hidden'], hp['text_hidden']), hp['text_hidden'] // 2,
               (hp['audio_dropout'], hp['video_dropout'], hp['text_dropout'], hparams.POST_FUSION_DROPOUT),
               hp['output_dim'], hp['rank'])


def make_optimizer(model, hp):
    """Adam with the three factors at factor_learning_rate and the rest at learning_rate; L2 weight decay."""
    named = list(model.named_parameters())
    return torch.optim.Adam(
        [{'params': [p for n, p in named if n in FACTOR_NAMES], 'lr': hp['factor_learning_rate']},
         {'params': [p for n, p in named if n not in FACTOR_NAMES], 'lr': hp['learning_rate']}],
        weight_decay=hp['weight_decay'])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    hparams.add_task_args(parser)
    parser.add_argument('--data_path', required=True)
    # Not hparams.add_hparam_args: IEMOCAP's defaults differ here (the benchmark's fixed-length runs).
    epochs, patience = (hparams.BY_NAME[n].dataset_default for n in ('epochs', 'patience'))
    parser.add_argument('--epochs', type=int, default=None,
                        help='default: {} for IEMOCAP, the table\'s ({}) for CMU-MOSI and POM'.format(
                            IEMOCAP_DEFAULT_EPOCHS, epochs['mosi']))
    parser.add_argument('--patience', type=int, default=None,
                        help='stop after this many epochs without a better validation loss (default: none for '
                             'IEMOCAP, the table\'s ({}) for CMU-MOSI and POM)'.format(patience['mosi']))
    hparams.add_hparam_args(parser, ('batch_size', 'seed'))  # default: the table's
    parser.add_argument('--model_path', default='/tmp')
    parser.add_argument('--threads', type=int, default=None, help='torch.set_num_threads (default: torch default)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if torch is None:
        raise utils.UserError('benchmarks/torch_train.py needs PyTorch: pip install -r requirements-bench.txt')
    if args.threads:
        torch.set_num_threads(args.threads)
    dataset = args.dataset
    emotion = (args.emotion or 'happy') if dataset == 'iemocap' else args.emotion
    hp = hparams.published_hparams(dataset, emotion, args.trait)
    regression = dataset in hparams.REGRESSION
    if args.batch_size:
        hp['batch_size'] = args.batch_size
    if args.seed is not None:
        hp['seed'] = args.seed
    epochs = args.epochs if args.epochs is not None else (hp['epochs'] if regression else IEMOCAP_DEFAULT_EPOCHS)
    patience = args.patience if args.patience is not None else (hp['patience'] if regression else None)
    hparams.check_hparams(dict(hp, epochs=epochs, **({'patience': patience} if patience is not None else {})))
    torch.manual_seed(hp['seed'])
    train_set, valid_set, test_set, dims = utils.load_data(dataset, args.data_path, hp.get('emotion'), verbose=False)
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
            with utils.atomic_write(path, 'wb') as f:
                torch.save(model.state_dict(), f)
        elif patience is not None:
            patience_left -= 1
            if patience_left <= 0:
                print('No improvement for {} epochs, stopping.'.format(patience))
                break
    if regression:
        print('Best validation loss is: {}'.format(best))
    model.load_state_dict(torch.load(path))
    result = evaluate(model, test_set, dataset)[2]
    metrics.show_results(dataset, result)
    if regression and test_set.synthetic:
        print(utils.synthetic_note(dataset))
    print('train loop seconds {:.3f}'.format(time.perf_counter() - start))


if __name__ == '__main__':
    utils.run_cli(main)
