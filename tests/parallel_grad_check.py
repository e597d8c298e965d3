"""Run under `python -m paddle.distributed.launch --nproc_per_node 2` (tests/test_parallel.py does).

Checks that the data-parallel step of engine.fit -- this rank's rows of the global batch
(parallel.shard_batches), the summed cross-entropy times the world size, paddle.DataParallel --
gives every rank the gradient of the summed loss over the WHOLE global batch, as one process
computes it, for cross-entropy and for the regression datasets' L1; and that the helpers reduce, broadcast and average as they say.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import paddle  # noqa: E402
import paddle.nn.functional as F  # noqa: E402

from lmf import parallel  # noqa: E402
from lmf import engine

rank, world_size = parallel.world()
assert world_size == 2, world_size
parallel.init()
paddle.seed(0)
layer = paddle.nn.Linear(6, 3)
reference = paddle.nn.Linear(6, 3)
reference.set_state_dict(layer.state_dict())
net = paddle.DataParallel(layer)
rng = np.random.RandomState(0)  # same data on every rank, as with the same shuffling seed
for rows in (5, 1):  # 5 rows: shards of 3 and 2; 1 row: rank 1 gets only an ignored row
    x = rng.randn(rows, 6).astype('float32')
    y = rng.randint(0, 3, rows).astype('int64')
    batch = (paddle.to_tensor(x), paddle.to_tensor(x), paddle.to_tensor(x), paddle.to_tensor(y))
    for audio, _, _, target in parallel.shard_batches(iter([batch])):
        loss = F.cross_entropy(net(audio), target, reduction='sum')
        (loss * world_size).backward()
    F.cross_entropy(reference(paddle.to_tensor(x)), paddle.to_tensor(y), reduction='sum').backward()
    for mine, single in zip(layer.parameters(), reference.parameters()):
        np.testing.assert_allclose(mine.grad.numpy(), single.grad.numpy(), rtol=1e-5, atol=1e-6)
        mine.clear_gradient()
        single.clear_gradient()

# Regression (CMU-MOSI, POM): summed L1; a rank without a row gets NaN targets, which add nothing.
import train  # noqa: E402
for rows in (5, 1):
    x = rng.randn(rows, 6).astype('float32')
    y = rng.randn(rows, 3).astype('float32')
    batch = (paddle.to_tensor(x), paddle.to_tensor(x), paddle.to_tensor(x), paddle.to_tensor(y))
    for audio, _, _, target in parallel.shard_batches(iter([batch])):
        (engine.summed_loss(net(audio), target, regression=True) * world_size).backward()
    engine.summed_loss(reference(paddle.to_tensor(x)), paddle.to_tensor(y), regression=True).backward()
    for mine, single in zip(layer.parameters(), reference.parameters()):
        assert np.all(np.isfinite(mine.grad.numpy()))
        np.testing.assert_allclose(mine.grad.numpy(), single.grad.numpy(), rtol=1e-5, atol=1e-6)
        mine.clear_gradient()
        single.clear_gradient()

assert parallel.sum_over_ranks(rank + 1.0) == 3.0
assert parallel.broadcast_from_main(rank + 0.1) == 0.1
norm = paddle.nn.BatchNorm1D(2)
norm._mean.set_value(paddle.full([2], float(rank)))
parallel.sync_buffers(norm)
np.testing.assert_allclose(norm._mean.numpy(), [0.5, 0.5])
print('parallel check OK on rank {}'.format(rank), flush=True)
