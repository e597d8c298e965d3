"""PyTorch mirror of model.py's LMF, for side-by-side speed and learning measurements.

Same architecture and parameter shapes as the Paddle model (our own code, written
from the paper's equations); torch is an optional dependency of benchmark.py.
LMF(..., mmsa_text=True) is MMSA's variant: its text subnetwork drops its dropout (0.0) when
the LSTM has one layer, so the text dropout has no effect (benchmarks/torch_train.py trains
MMSA's feature files with it).

Parameter order: an LMF's own parameters come first in parameters() (audio, video, text
factor, fusion_weights, fusion_bias), then the subnetworks'. MMSA's optimizer relies on that
order (its groups are parameters()[:3] and [5:]); FUSION_ORDER names it.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


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
    """One-layer LSTM, dropout on its final hidden state, Linear. mmsa=True: MMSA's rule, the
    dropout is 0.0 for a one-layer LSTM whatever `dropout` says."""

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


# The first five entries of LMF.parameters(), in order.
FUSION_ORDER = ('audio_factor', 'video_factor', 'text_factor', 'fusion_weights', 'fusion_bias')


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

