"""train.py's whole process in PyTorch (benchmark only): load, train, keep the best, test.

    python benchmarks/torch_train.py --emotion happy --data_path X [--epochs 5 --batch_size 16 --threads N]

Same data loader (utils.load_iemocap), hyperparameter table, optimizer groups, loss,
early stopping and atomic best-checkpoint save as train.py, so that wall times compare.
"""
import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import utils  # noqa: E402
from benchmarks.torch_lmf import LMF  # noqa: E402

FACTOR_NAMES = ('audio_factor', 'video_factor', 'text_factor')


def batches(dataset, batch_size, order):
    for start in range(0, len(dataset), batch_size):
        idx = order[start:start + batch_size]
        yield (torch.from_numpy(dataset.audio[idx]), torch.from_numpy(dataset.visual[idx]),
               torch.from_numpy(dataset.text[idx]), torch.from_numpy(dataset.targets[idx]))


def evaluate(model, dataset):
    model.eval()
    with torch.no_grad():
        out = model(*(torch.from_numpy(a) for a in (dataset.audio, dataset.visual, dataset.text)))
        loss = F.cross_entropy(out, torch.from_numpy(dataset.targets), reduction='sum').item() / len(dataset)
    predictions = out.numpy().argmax(axis=1)
    # the same metric code as train.py, so the comparison is of the frameworks
    return (loss,) + utils.scores(dataset.targets, predictions)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--emotion', default='happy')
    parser.add_argument('--data_path', required=True)
    parser.add_argument('--epochs', type=int, default=5)
    parser.add_argument('--batch_size', type=int, default=None)
    parser.add_argument('--model_path', default='/tmp')
    parser.add_argument('--threads', type=int, default=None, help='torch.set_num_threads (default: torch default)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    hp = utils.emotion_hparams(args.emotion)
    if args.batch_size:
        hp['batch_size'] = args.batch_size
    torch.manual_seed(hp['seed'])
    train_set, valid_set, test_set, dims = utils.load_iemocap(args.data_path, args.emotion, verbose=False)
    model = LMF(dims, (hp['audio_hidden'], hp['video_hidden'], hp['text_hidden']), hp['text_hidden'] // 2,
                (hp['audio_dropout'], hp['video_dropout'], hp['text_dropout'], 0.5), hp['output_dim'], hp['rank'])
    named = list(model.named_parameters())
    optimizer = torch.optim.Adam(
        [{'params': [p for n, p in named if n in FACTOR_NAMES], 'lr': hp['factor_learning_rate']},
         {'params': [p for n, p in named if n not in FACTOR_NAMES], 'lr': hp['learning_rate']}],
        weight_decay=hp['weight_decay'])
    rng = np.random.RandomState(hp['seed'])
    path = os.path.join(args.model_path, 'torch_{}.pt'.format(args.emotion))
    best = math.inf
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for audio, visual, text, target in batches(train_set, hp['batch_size'], rng.permutation(len(train_set))):
            loss = F.cross_entropy(model(audio, visual, text), target, reduction='sum')
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        valid_loss = evaluate(model, valid_set)[0]
        print('Epoch {} complete! Average Training loss: {}'.format(epoch, total / len(train_set)))
        print('Validation loss is: {}'.format(valid_loss))
        if valid_loss < best:
            best = valid_loss
            torch.save(model.state_dict(), path + '.tmp')
            os.replace(path + '.tmp', path)
    model.load_state_dict(torch.load(path))
    _, f1, accuracy = evaluate(model, test_set)
    utils.display(f1, accuracy)
    print('train loop seconds {:.3f}'.format(time.perf_counter() - start))


if __name__ == '__main__':
    main()
