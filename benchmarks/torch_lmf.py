"""PyTorch mirror of model.py's LMF (our own code, from the paper's equations; same parameter shapes), for the speed
and learning comparisons. mmsa_text=True is MMSA's variant: a one-layer LSTM text subnetwork has dropout 0.0.
LMF.parameters() starts with FUSION_ORDER (MMSA's optimizer groups are parameters()[:3] and [5:]).
"""
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from lmf import engine, hparams


class SubNet(nn.Module):
    def __init__(self, in_size, hidden_size, dropout):
        super().__init__()
        self.norm = nn.BatchNorm1d(in_size)
        self.drop = nn.Dropout(dropout)
        self.linear_1 = nn.Linear(in_size, hidden_size)
        self.linear_2 = nn.Linear(hidden_size, hidden_size)
        self.linear_3 = nn.Linear(hidden_size, hidden_size)

    def forward(self, x):
        h = self.drop(self.norm(x))
        return F.relu(self.linear_3(F.relu(self.linear_2(F.relu(self.linear_1(h))))))


class TextSubNet(nn.Module):
    """One-layer LSTM, dropout on its final hidden state (mmsa=True: 0.0, whatever `dropout` says), Linear."""

    def __init__(self, in_size, hidden_size, out_size, dropout, mmsa=False):
        super().__init__()
        if mmsa:
            dropout = 0.0
        self.rnn = nn.LSTM(in_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.linear_1 = nn.Linear(hidden_size, out_size)

    def forward(self, x):
        _, (h, _) = self.rnn(x)
        return self.linear_1(self.dropout(h[-1]))


def _append_one(h):
    return torch.cat([torch.ones_like(h[:, :1]), h], dim=1)


FUSION_ORDER = ('audio_factor', 'video_factor', 'text_factor', 'fusion_weights', 'fusion_bias')


def torch_name(paddle_name):
    """The mirror's name of an entry of a Paddle LMF state dict (also of Paddle's second name of an LSTM weight)."""
    name = paddle_name.replace('norm._mean', 'norm.running_mean').replace('norm._variance', 'norm.running_var')
    return name.replace('rnn.0.cell.', 'rnn.') + '_l0' if '.cell.' in name else name


def transposed(name):
    return name.endswith('.weight') and 'linear' in name  # a Linear weight: [in, out] in Paddle, [out, in] here


def from_paddle(state):
    """A Paddle LMF state dict (numpy arrays) as the mirror's, without Paddle's second names of the LSTM weights."""
    return {torch_name(k): v.T if transposed(k) else v for k, v in state.items() if '.cell.' not in k}


class LMF(nn.Module):
    def __init__(self, input_dims, hidden_dims, text_out, dropouts, output_dim, rank, mmsa_text=False):
        super().__init__()
        self.audio_subnet = SubNet(input_dims[0], hidden_dims[0], dropouts[0])
        self.video_subnet = SubNet(input_dims[1], hidden_dims[1], dropouts[1])
        self.text_subnet = TextSubNet(input_dims[2], hidden_dims[2], text_out, dropouts[2], mmsa=mmsa_text)
        self.output_dim = output_dim
        self.audio_factor = nn.Parameter(nn.init.xavier_normal_(torch.empty(rank, hidden_dims[0] + 1, output_dim)))
        self.video_factor = nn.Parameter(nn.init.xavier_normal_(torch.empty(rank, hidden_dims[1] + 1, output_dim)))
        self.text_factor = nn.Parameter(nn.init.xavier_normal_(torch.empty(rank, text_out + 1, output_dim)))
        self.fusion_weights = nn.Parameter(nn.init.xavier_normal_(torch.empty(1, rank)))
        self.fusion_bias = nn.Parameter(torch.zeros(1, output_dim))

    def forward(self, audio_x, video_x, text_x):
        fused = (torch.matmul(_append_one(self.audio_subnet(audio_x)), self.audio_factor)
                 * torch.matmul(_append_one(self.video_subnet(video_x)), self.video_factor)
                 * torch.matmul(_append_one(self.text_subnet(text_x)), self.text_factor))
        out = torch.matmul(self.fusion_weights, fused.permute(1, 0, 2))
        return out.reshape(-1, self.output_dim) + self.fusion_bias


# ---------------------------------------------------------------- training pieces (torch_train.py, benchmark.py)

def summed_loss(out, target, regression):
    """engine.summed_loss in PyTorch: L1 over samples and outputs, or cross-entropy over samples."""
    return (F.l1_loss if regression else F.cross_entropy)(out, target, reduction='sum')


def build(hp, dims, mmsa_text=False):
    return LMF(dims, (hp['audio_hidden'], hp['video_hidden'], hp['text_hidden']), hp['text_hidden'] // 2,
               (hp['audio_dropout'], hp['video_dropout'], hp['text_dropout'], hparams.POST_FUSION_DROPOUT),
               hp['output_dim'], hp['rank'], mmsa_text=mmsa_text)


def make_optimizer(model, hp):
    """Adam with the three factors at factor_learning_rate and the rest at learning_rate; L2 weight decay."""
    named = list(model.named_parameters())
    return torch.optim.Adam(
        [{'params': [p for n, p in named if n in engine.FACTOR_NAMES], 'lr': hp['factor_learning_rate']},
         {'params': [p for n, p in named if n not in engine.FACTOR_NAMES], 'lr': hp['learning_rate']}],
        weight_decay=hp['weight_decay'])


def mmsa_seed(seed):
    """MMSA's setup_seed on CPU: torch, numpy and random."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def mmsa_optimizer(model, hp, recipe='mmsa'):
    """MMSA's Adam: parameters()[:3] (the three factors) at factor_learning_rate, parameters()[5:]
    (the subnetworks) at learning_rate, coupled weight decay on both; parameters()[3:5]
    (fusion_weights, fusion_bias) are in no group. recipe 'ours': [3:] at learning_rate."""
    names = [n for n, _ in model.named_parameters()]
    if tuple(names[:5]) != FUSION_ORDER:  # MMSA's slices mean these only in this order
        raise AssertionError('LMF parameter order {} is not {}'.format(names[:5], FUSION_ORDER))
    params = list(model.parameters())
    rest = params[5:] if recipe == 'mmsa' else params[3:]
    return torch.optim.Adam([{'params': params[:3], 'lr': hp['factor_learning_rate']},
                             {'params': rest, 'lr': hp['learning_rate']}], weight_decay=hp['weight_decay'])
