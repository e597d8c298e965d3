"""Random missing modalities: MMSA's protocol (its data loader's generate_m; TFR-Net and LNLN report their tables
with it), at test time (test.py and infer.py --missing_rate) and in training (train.py --train_missing).

MMSA, for modality m at rate r_m: np.random.seed(missing_seed), one uniform draw per sample and time step of the
split ([N, T_m], file order); a step is kept where draw > r_m and inside the sample's length. Dropped audio and
vision frames become zero (LMF's input is then their mean over the whole padded time axis, data/mmsa.py); dropped
text tokens become BERT's [UNK], the first and the last token of the length ([CLS], [SEP]) kept. Here:
- MMSA's feature files: the same draws on the audio and vision frame sequences that the data cache keeps beside
  their means, then the mean. Text at the feature level: no BERT runs here, so a dropped step's BERT feature is
  set to zero where MMSA would run BERT on [UNK]. A frame value that is NaN in the file counts as 0 in the mean
  (MMSA's mean would be NaN there, then 0).
- The authors' pickles, whose audio and visual are already means over time: text word steps (those not all
  zero) drop the same way, none kept (no [CLS] or [SEP] there); audio and visual drop whole, one draw per sample.
A modality at rate 0 is left exactly as it is.

Training (--train_missing p): in every epoch each training sample, with probability p, gets random missing at a
rate drawn uniformly from [0, 1), the same rate for its three modalities; draws from the run's seed and the
epoch, so a run repeats, and every data-parallel rank draws the same for the global batch.
"""
import numpy as np

from safe_io import UserError

MODALITIES = ('audio', 'video', 'text')
MISSING_SEED = 1111  # MMSA's default missing_seed
MAX_SEED = 2 ** 32 - 1  # numpy's RandomState


def parse_rates(text, flag='--missing_rate'):
    """'0.3' (every modality) or 'text=0.3,audio=0.5' (the others 0) -> {modality: rate}, each in [0, 1)."""
    def rate(value, where):
        try:
            r = float(value)
        except ValueError:
            raise UserError('{}: {!r} is not a number'.format(where, value))
        if not 0.0 <= r < 1.0:
            raise UserError('{} must be in [0, 1), got {}'.format(where, value))
        return r

    text = str(text).strip()
    if '=' not in text:
        return dict.fromkeys(MODALITIES, rate(text, flag))
    rates = dict.fromkeys(MODALITIES, 0.0)
    seen = set()
    for part in text.split(','):
        name, _, value = part.partition('=')
        name = name.strip()
        if name not in MODALITIES:
            raise UserError('{}: unknown modality {!r}; use {} (e.g. text=0.3,audio=0.5)'.format(
                flag, name, ', '.join(MODALITIES)))
        if name in seen:
            raise UserError('{}: {} given twice'.format(flag, name))
        seen.add(name)
        rates[name] = rate(value, '{} {}'.format(flag, name))
    return rates


def check_seed(seed, flag='--missing_seed'):
    if not 0 <= seed <= MAX_SEED:
        raise UserError('{} must be in [0, {}], got {}'.format(flag, MAX_SEED, seed))
    return seed


def kept_steps(draws, rates, lengths, ends):
    """[n, T] bool: the steps kept, draw > rate inside each sample's length (rates: a number or [n, 1]; lengths
    [n]); with ends, the first step and the last of the length always (BERT's [CLS] and [SEP])."""
    lengths = np.asarray(lengths).astype(np.int64)
    keep = (draws > rates) & (np.arange(draws.shape[1])[None, :] < lengths[:, None])
    if ends:
        rows = np.flatnonzero(lengths > 0)
        keep[rows, 0] = keep[rows, lengths[rows] - 1] = True
    return keep


def frame_mean(frames, keep):
    """[n, T, D] frames with the steps not kept set to zero, averaged over all T (padding included) -> [n, D]
    float32, non-finite values zeroed: MMSA's LMF input of a dropped sequence."""
    mean = np.mean(np.asarray(frames, dtype=np.float32) * keep[:, :, None], axis=1)
    mean[~np.isfinite(mean)] = 0.0
    return mean


def dropped(split, rows, rates, draw):
    """(audio, video, text) of split's rows (an index array) with random missing: new arrays, `split` unchanged.
    rates: {modality: a rate, or [n] rates of the rows}; a modality whose rates are all 0 is copied as it is.
    draw(modality, shape): uniform draws in [0, 1) of that shape, called for each modality dropped, in the
    order audio, video, text. MMSA's files need split.sequences (data/mmsa.py)."""
    arrays = {m: np.array(getattr(split, m)[rows], dtype=np.float32) for m in MODALITIES}
    mmsa = split.layout == 'mmsa'
    if mmsa and split.sequences is None:
        raise UserError("random missing on MMSA's feature files needs their frame sequences, which this split "
                        "does not hold")
    for m in MODALITIES:
        r = np.asarray(rates[m], dtype=np.float64)
        if not r.any():
            continue
        r = r.reshape(-1, 1) if r.ndim else r
        if m == 'text':
            text = arrays['text']
            if mmsa:
                lengths = split.sequences['text_lengths'][rows]
                inside = np.arange(text.shape[1])[None, :] < lengths[:, None]
                keep = kept_steps(draw(m, text.shape[:2]), r, lengths, ends=True) | ~inside
            else:
                real = np.any(text != 0, axis=2)
                keep = (draw(m, real.shape) > r) | ~real
            arrays['text'] = text * keep[:, :, None]
        elif mmsa:
            frames = split.sequences[m + '_seq'][rows]
            keep = kept_steps(draw(m, frames.shape[:2]), r, split.sequences[m + '_lengths'][rows], ends=False)
            arrays[m] = frame_mean(frames, keep)
        else:
            arrays[m] = arrays[m] * (draw(m, (len(arrays[m]),)) > r.reshape(-1))[:, None]
    return arrays['audio'], arrays['video'], arrays['text']


def at_rates(split, rates, seed=MISSING_SEED):
    """A copy of the test split with MMSA's random missing at {modality: rate}: each modality's draws
    np.random.RandomState(seed).uniform over [N, T] (MMSA seeds every modality alike), file order."""
    import copy
    out = copy.copy(split)
    out.audio, out.video, out.text = dropped(split, np.arange(len(split)), rates,
                                             lambda m, shape: np.random.RandomState(seed).uniform(size=shape))
    return out


class TrainingDrops:
    """train.py --train_missing p: batch(epoch rows, audio, video, text) for engine.iterate_batches."""

    def __init__(self, split, probability, seed):
        self.split, self.probability, self.seed = split, float(probability), int(seed)
        self.rng = None

    def start_epoch(self, epoch):
        """A new stream of draws for the epoch (independent of the batch order's)."""
        self.rng = np.random.RandomState([self.seed, 2, epoch])

    def batch(self, rows, audio, video, text):
        """The batch's arrays, the chosen rows dropped at their drawn rates (the others as they are)."""
        chosen = self.rng.random_sample(len(rows)) < self.probability
        rates = self.rng.random_sample(len(rows))
        if not chosen.any():
            return audio, video, text
        picked = np.asarray(rows)[chosen]
        out = [np.array(a, dtype=np.float32) for a in (audio, video, text)]
        for array, value in zip(out, dropped(self.split, picked, dict.fromkeys(MODALITIES, rates[chosen]),
                                             lambda m, shape: self.rng.random_sample(shape))):
            array[chosen] = value
        return tuple(out)
