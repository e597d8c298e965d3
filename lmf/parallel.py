"""Data-parallel training over several processes, started by paddle.distributed.launch.

    python -m paddle.distributed.launch --nproc_per_node 2 train.py --emotion happy

Works on CPU (gloo) and GPU (NCCL). Without the launcher (one process) nothing here
changes anything: world() is (0, 1) and engine.fit runs exactly as before.

Semantics (the choice engine.fit makes with these helpers):
- Every rank draws the same shuffled order (same seed), so the global batches are the
  single-process ones; rank r trains on rows r, r+W, r+2W, ... of each global batch
  (shard_batches), so --batch_size stays the global batch and an epoch has the same
  number of updates as in one process.
- The loss is the cross-entropy (or L1) summed over the rank's rows, times W. paddle.DataParallel
  averages gradients over the W ranks, so the update uses the sum over the whole global
  batch, as the single-process summed loss does.
- BatchNorm normalises with each rank's own rows (not synchronised during the step);
  after every epoch the running statistics are averaged over ranks (sync_buffers), so all
  ranks hold the same model. Dropout draws differ per rank (seed + rank).
- Validation and test run on rank 0 over the full splits (each sample once); the
  validation loss is broadcast so that every rank makes the same early-stopping decision.
  Only rank 0 writes the checkpoint and the log.
"""
import os

IGNORE_INDEX = -100  # paddle.nn.functional.cross_entropy's default ignore_index

_initialised = False


def world():
    """(rank, world_size) of this process from the launcher's environment; (0, 1) otherwise."""
    return int(os.environ.get('PADDLE_TRAINER_ID', '0')), int(os.environ.get('PADDLE_TRAINERS_NUM', '1'))


def is_main():
    return world()[0] == 0


def init():
    """Initialise the process group once per process (only when world size > 1)."""
    global _initialised
    if world()[1] > 1 and not _initialised:
        import paddle.distributed as dist
        dist.init_parallel_env()
        _initialised = True


def wrap(model, seed):
    """paddle.DataParallel(model) when launched on several processes, else the model itself.

    Call after the model is built (same seed, same initial weights on every rank;
    DataParallel broadcasts rank 0's anyway). Reseeds so that dropout differs per rank.
    """
    rank, world_size = world()
    if world_size == 1:
        return model
    import paddle
    init()
    paddle.seed((seed + rank) % 2 ** 32)
    return paddle.DataParallel(model)


def shard_batches(batches, rank=None, world_size=None):
    """This rank's rows of each global batch: rows rank, rank+W, ...

    A global batch with fewer than W rows leaves some ranks without a row; such a rank
    gets the batch's first row with target IGNORE_INDEX (class targets) or NaN (regression
    targets, which engine.summed_loss masks), which adds 0 to the summed loss and to the
    gradient, so every rank still takes part in the step.
    """
    if rank is None:
        rank, world_size = world()
    if world_size == 1:
        yield from batches
        return
    import paddle
    for audio, video, text, target in batches:
        if target.shape[0] > rank:
            yield audio[rank::world_size], video[rank::world_size], text[rank::world_size], target[rank::world_size]
        else:
            ignored = float('nan') if target.is_floating_point() else IGNORE_INDEX
            yield audio[:1], video[:1], text[:1], paddle.full([1] + list(target.shape[1:]), ignored, dtype=target.dtype)


def sum_over_ranks(value):
    """A Python float summed over all ranks (float64)."""
    return _collective(value, 'all_reduce')


def broadcast_from_main(value):
    """Rank 0's Python float on every rank (float64, so it arrives exactly)."""
    return _collective(value, 'broadcast', src=0)


def _collective(value, name, **options):
    """A Python float through paddle.distributed's collective `name` as a float64 tensor (itself in one process)."""
    if world()[1] == 1:
        return value
    import paddle
    import paddle.distributed as dist
    tensor = paddle.to_tensor([value], dtype='float64')
    getattr(dist, name)(tensor, **options)
    return float(tensor.numpy()[0])


def sync_buffers(model):
    """Average the running statistics (BatchNorm mean and variance) over ranks.

    Paddle keeps them as non-trainable parameters (BatchNorm's _mean, _variance), not buffers.
    """
    world_size = world()[1]
    if world_size == 1:
        return
    import paddle.distributed as dist
    for buffer in [p for p in model.parameters() if not p.trainable] + list(model.buffers()):
        if buffer.is_floating_point():
            dist.all_reduce(buffer)
            buffer.set_value(buffer / world_size)
