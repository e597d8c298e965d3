"""Low-rank Multimodal Fusion (Liu, Shen et al., ACL 2018) in PaddlePaddle.

The layer names and parameter shapes match the earlier LMF_Paddle port, so its
published checkpoints load here key for key.
"""
import math
import warnings

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

# Paddle warns on every training-mode BatchNorm call that it tracks running statistics.
warnings.filterwarnings('ignore', message='When training, we now always track global mean and variance')


def linear(in_size, out_size, init='paddle'):
    """nn.Linear with Paddle's initialisation (Xavier-uniform weight, zero bias), or with
    init='torch' PyTorch's, which the authors' code had: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)),
    about half the weight scale."""
    if init == 'paddle':
        return nn.Linear(in_size, out_size)
    if init != 'torch':
        raise ValueError('linear init must be paddle or torch, got {!r}'.format(init))
    bound = 1.0 / math.sqrt(in_size)
    return nn.Linear(in_size, out_size,
                     weight_attr=paddle.ParamAttr(initializer=nn.initializer.Uniform(-bound, bound)),
                     bias_attr=paddle.ParamAttr(initializer=nn.initializer.Uniform(-bound, bound)))


class SubNet(nn.Layer):
    """Audio or video encoder: BatchNorm -> dropout -> three Linear+ReLU layers.

    [B, in_size] -> [B, hidden_size]
    """

    def __init__(self, in_size, hidden_size, dropout, linear_init='paddle'):
        super().__init__()
        # Paddle's momentum is the weight of the old statistic: 0.9 == PyTorch's 0.1.
        self.norm = nn.BatchNorm1D(in_size, momentum=0.9, epsilon=1e-5)
        self.drop = nn.Dropout(p=dropout)
        self.linear_1 = linear(in_size, hidden_size, linear_init)
        self.linear_2 = linear(hidden_size, hidden_size, linear_init)
        self.linear_3 = linear(hidden_size, hidden_size, linear_init)

    def forward(self, x):
        dropped = self.drop(self.norm(x))
        y_1 = F.relu(self.linear_1(dropped))
        y_2 = F.relu(self.linear_2(y_1))
        return F.relu(self.linear_3(y_2))


class TextSubNet(nn.Layer):
    """Text encoder: one-layer LSTM, dropout on the final hidden state, Linear.

    [B, T, in_size] -> [B, out_size]
    """

    def __init__(self, in_size, hidden_size, out_size, dropout=0.2, linear_init='paddle'):
        super().__init__()
        self.rnn = nn.LSTM(in_size, hidden_size, num_layers=1)
        self.dropout = nn.Dropout(dropout)
        self.linear_1 = linear(hidden_size, out_size, linear_init)

    def forward(self, x):
        _, (final_hidden, _) = self.rnn(x)  # final_hidden: [num_layers, B, hidden]
        # Index the last layer instead of .squeeze(), which drops the batch axis at B == 1.
        return self.linear_1(self.dropout(final_hidden[-1]))


MODALITIES = ('audio', 'video', 'text')  # the order of the inputs, factors and fusion


class Fusion(nn.Layer):
    """What LMF and TFN share: the subnetworks of the modalities fused (none for one left out), their
    1-augmented outputs (modality_vectors) and the optional softmax (finish)."""

    def __init__(self, input_dims, hidden_dims, text_out, dropouts, output_dim, use_softmax, linear_init, modalities):
        super().__init__()
        chosen = tuple(modalities)
        unknown = [m for m in chosen if m not in MODALITIES]
        if unknown or not chosen:
            raise ValueError('modalities must be a non-empty subset of {}, got {}'.format(MODALITIES, chosen))
        self.modalities = tuple(m for m in MODALITIES if m in chosen)
        self.audio_in, self.video_in, self.text_in = (int(d) for d in input_dims)
        self.audio_hidden, self.video_hidden, self.text_hidden = (
            int(d) if m in self.modalities else 0 for m, d in zip(MODALITIES, hidden_dims))
        self.text_out = int(text_out) if 'text' in self.modalities else 0
        self.output_dim = int(output_dim)
        self.use_softmax = use_softmax
        self.audio_prob, self.video_prob, self.text_prob, self.post_fusion_prob = dropouts
        if 'audio' in self.modalities:
            self.audio_subnet = SubNet(self.audio_in, self.audio_hidden, dropouts[0], linear_init)
        if 'video' in self.modalities:
            self.video_subnet = SubNet(self.video_in, self.video_hidden, dropouts[1], linear_init)
        if 'text' in self.modalities:
            self.text_subnet = TextSubNet(self.text_in, self.text_hidden, self.text_out, dropouts[2], linear_init)

    def modality_vectors(self, audio_x, video_x, text_x):
        """[B, d + 1] per modality, a constant 1 in front of its subnetwork's output as the authors' code does;
        for a modality not fused, [B, 1] ones of x's batch: only its batch size is read, never its values
        (using x keeps it an input of an exported program)."""
        vectors = []
        for name, x in zip(MODALITIES, (audio_x, video_x, text_x)):
            if name in self.modalities:
                h = getattr(self, name + '_subnet')(x)
                vectors.append(paddle.concat([paddle.ones_like(h[:, :1]), h], axis=1))
            else:
                vectors.append(paddle.ones_like(paddle.flatten(x, start_axis=1)[:, :1]))
        return vectors

    def finish(self, output):
        return F.softmax(output, axis=-1) if self.use_softmax else output


class LMF(Fusion):
    """Low-rank Multimodal Fusion.

    Args:
        input_dims: (audio_in, video_in, text_in) feature sizes, e.g. (74, 35, 300).
        hidden_dims: (audio_hidden, video_hidden, text_hidden).
        text_out: size of the text subnetwork's output (text_hidden // 2 in every script).
        dropouts: (audio, video, text, post_fusion). As in the authors' code, the
            post-fusion rate is kept as an attribute but not applied in forward.
        output_dim: number of outputs (2 for the binary IEMOCAP tasks).
        rank: rank of the modality-specific factors.
        use_softmax: return softmax probabilities instead of logits.
        linear_init: initialisation of the subnetworks' Linear layers, 'paddle' (default, as the
            earlier Paddle port) or 'torch' (as the authors' PyTorch code); see linear().
        modalities: the modalities fused (default all three). A modality left out has no subnetwork
            and its 1-augmented vector is the constant [1] alone: its factor is [rank, 1, output_dim],
            the row of that constant, and its input is ignored (only its batch size is read). That is
            LMF on the remaining modalities; its hidden size is 0 here.

    forward(audio_x [B, audio_in], video_x [B, video_in], text_x [B, T, text_in]) -> [B, output_dim]
    """

    def __init__(self, input_dims, hidden_dims, text_out, dropouts, output_dim, rank, use_softmax=False,
                 linear_init='paddle', modalities=MODALITIES):
        super().__init__(input_dims, hidden_dims, text_out, dropouts, output_dim, use_softmax, linear_init, modalities)
        self.rank = int(rank)

        xavier = nn.initializer.XavierNormal()
        # Each factor maps a 1-augmented modality vector to rank x output_dim values.
        self.audio_factor = self.create_parameter(
            [self.rank, self.audio_hidden + 1, self.output_dim], default_initializer=xavier)
        self.video_factor = self.create_parameter(
            [self.rank, self.video_hidden + 1, self.output_dim], default_initializer=xavier)
        self.text_factor = self.create_parameter(
            [self.rank, self.text_out + 1, self.output_dim], default_initializer=xavier)
        self.fusion_weights = self.create_parameter([1, self.rank], default_initializer=xavier)
        self.fusion_bias = self.create_parameter([1, self.output_dim], default_initializer=nn.initializer.Constant(0.0))

    def forward(self, audio_x, video_x, text_x):
        audio_h, video_h, text_h = self.modality_vectors(audio_x, video_x, text_x)

        # [B, d+1] @ [rank, d+1, out] -> [rank, B, out]; the product over modalities
        # equals projecting the full outer-product tensor with a rank-r weight tensor.
        fusion_zy = (paddle.matmul(audio_h, self.audio_factor)
                     * paddle.matmul(video_h, self.video_factor)
                     * paddle.matmul(text_h, self.text_factor))
        # Weighted sum over rank: [1, rank] @ [B, rank, out] -> [B, 1, out].
        output = paddle.matmul(self.fusion_weights, fusion_zy.transpose([1, 0, 2]))
        return self.finish(output.reshape([-1, self.output_dim]) + self.fusion_bias)


class TFN(Fusion):
    """Tensor Fusion Network (Zadeh et al., 2017), the baseline LMF is compared with.

    Same subnetworks as LMF; fusion is the outer product of the three 1-augmented modality vectors,
    flattened to (a+1)(v+1)(t+1) values, then a post-fusion network of three Linear layers (ReLU after
    the first two).

    Args:
        input_dims, hidden_dims, text_out: as for LMF.
        dropouts: (audio, video, text, post_fusion); post_fusion is applied to the fused tensor.
        post_fusion_dim: width of the two hidden post-fusion layers.
        output_dim: number of outputs.
        use_softmax, linear_init: as for LMF (linear_init covers the post-fusion layers too).
        modalities: the modalities fused (default all three); one left out has no subnetwork and
            contributes its constant 1 alone, so the fused tensor is the outer product of the others.

    forward(audio_x [B, audio_in], video_x [B, video_in], text_x [B, T, text_in]) -> [B, output_dim]
    """

    def __init__(self, input_dims, hidden_dims, text_out, dropouts, post_fusion_dim=128, output_dim=1,
                 use_softmax=False, linear_init='paddle', modalities=MODALITIES):
        super().__init__(input_dims, hidden_dims, text_out, dropouts, output_dim, use_softmax, linear_init, modalities)
        self.post_fusion_dim = int(post_fusion_dim)
        self.post_fusion_dropout = nn.Dropout(p=self.post_fusion_prob)
        self.fused_size = (self.audio_hidden + 1) * (self.video_hidden + 1) * (self.text_out + 1)
        self.post_fusion_layer_1 = linear(self.fused_size, self.post_fusion_dim, linear_init)
        self.post_fusion_layer_2 = linear(self.post_fusion_dim, self.post_fusion_dim, linear_init)
        self.post_fusion_layer_3 = linear(self.post_fusion_dim, self.output_dim, linear_init)

    def forward(self, audio_x, video_x, text_x):
        audio_h, video_h, text_h = self.modality_vectors(audio_x, video_x, text_x)
        # Batched outer products: [B, a, 1] x [B, 1, v] -> [B, a*v], then with text -> [B, a*v*t]
        # (reshape's 0 keeps the batch axis, which is dynamic in an exported program).
        audio_video = paddle.matmul(audio_h.unsqueeze(2), video_h.unsqueeze(1)).reshape([0, -1])
        fused = paddle.matmul(audio_video.unsqueeze(2), text_h.unsqueeze(1)).reshape([0, -1])
        hidden = F.relu(self.post_fusion_layer_1(self.post_fusion_dropout(fused)))
        hidden = F.relu(self.post_fusion_layer_2(hidden))
        return self.finish(self.post_fusion_layer_3(hidden))
