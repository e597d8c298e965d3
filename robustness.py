"""Missing and noisy modalities at test time: MultiBench's protocol adapted to what this model sees.

    python test.py --emotion happy --missing audio                  # audio input set to zero
    python test.py --dataset mosi --noise 0.3 --noise_modality text  # noisy transcript
    python infer.py --emotion happy --missing audio,video --seed 1   # -> out_prob/happy_prob_missing-audio-video.npy

Only the test split is perturbed; the model was trained on clean data.
- missing: the modality's input is set to zero before its subnetwork, as an absent sensor gives.
- noise LEVEL in [0, 1] on audio or video: Gaussian noise of standard deviation LEVEL times each
  feature's standard deviation on the training split (MultiBench adds N(0, LEVEL) to its normalised
  time series; these features are not normalised, so the training std sets the scale).
- noise LEVEL on text: the same Gaussian noise on every word vector, then whole time steps zeroed
  with probability LEVEL (MultiBench corrupts words with probability LEVEL; a zeroed step is a
  dropped word). Padding steps (all zero) stay zero, so the noise never lengthens a sentence.
The random draws depend only on --seed (the noise at level p is p times the same draws), so a run is
repeatable and the curves of two models are measured on the same perturbed inputs.
"""
import numpy as np

from safe_io import UserError

MODALITIES = ('audio', 'video', 'text')
NOISE_TARGETS = MODALITIES + ('all',)


def parse_modalities(text, flag):
    """'audio,video' -> ('audio', 'video') in MODALITIES order; one-line errors name the flag."""
    names = [t.strip() for t in str(text).split(',') if t.strip()]
    unknown = [n for n in names if n not in MODALITIES]
    if unknown or not names:
        raise UserError('{} {}: {}; choose from {} (comma-separated)'.format(
            flag, text, 'unknown modality {!r}'.format(unknown[0]) if unknown else 'no modality given',
            ', '.join(MODALITIES)))
    return tuple(m for m in MODALITIES if m in names)


class Perturbation:
    """What --missing, --noise, --noise_modality and --seed ask for (checked on construction)."""

    def __init__(self, missing=None, noise=0.0, noise_modality='all', seed=0):
        self.missing = parse_modalities(missing, '--missing') if missing else ()
        if len(self.missing) == len(MODALITIES):
            raise UserError('--missing {}: every modality missing leaves the model nothing to see'.format(missing))
        if not 0.0 <= noise <= 1.0:
            raise UserError('--noise must be in [0, 1], got {}'.format(noise))
        if noise_modality not in NOISE_TARGETS:
            raise UserError('--noise_modality {}: choose one of {}'.format(noise_modality, ', '.join(NOISE_TARGETS)))
        self.noise, self.seed = float(noise), int(seed)
        self.noisy = () if self.noise == 0 else (MODALITIES if noise_modality == 'all' else (noise_modality,))

    def __bool__(self):
        return bool(self.missing or self.noisy)

    def describe(self):
        """The header line: what was perturbed (or that nothing was)."""
        if not self:
            return 'Perturbation: none (clean test split)'
        parts = []
        if self.missing:
            parts.append('{} missing (set to zero)'.format(', '.join(self.missing)))
        if self.noisy:
            parts.append('noise {:g} on {} (Gaussian, {:g} x training std{})'.format(
                self.noise, ', '.join(self.noisy), self.noise,
                '; text time steps zeroed with probability {:g}'.format(self.noise) if 'text' in self.noisy else ''))
        return 'Perturbation: {}; seed {}'.format('; '.join(parts), self.seed)

    def suffix(self):
        """What perturbed predictions add to their file name, so that they never overwrite the clean ones."""
        parts = []
        if self.missing:
            parts.append('missing-' + '-'.join(self.missing))
        if self.noisy:
            parts.append('noise-{}-{:g}'.format('all' if len(self.noisy) == 3 else self.noisy[0], self.noise))
        return '_' + '_'.join(parts + ['seed-{}'.format(self.seed)]) if parts else ''

    def apply(self, split, train_split):
        """A perturbed copy of `split` (data.common.Split: audio [N, A], video [N, V], text [N, T, D]); the
        noise scale is train_split's per-feature standard deviation. `split` itself is left unchanged."""
        import copy
        out = copy.copy(split)
        if not self:
            return out
        # One stream per modality (noise on text leaves the audio draws alone), the same at every level:
        # the noise is the level times the same draws, and the dropped steps at a level include those below.
        streams = {m: np.random.RandomState([self.seed, i]) for i, m in enumerate(MODALITIES)}
        for modality in MODALITIES:
            values = np.array(getattr(split, modality), dtype=np.float32)  # a writable copy (the cache's are read-only)
            if modality in self.noisy:
                values = noisy(values, feature_std(getattr(train_split, modality)), self.noise, streams[modality],
                               drop_steps=modality == 'text')
            if modality in self.missing:
                values[...] = 0.0
            setattr(out, modality, values)
        return out


def feature_std(values):
    """Per-feature standard deviation [D] over the samples (and, for sequences [N, T, D], over the
    time steps that are not padding)."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 3:
        values = values.reshape(-1, values.shape[-1])
        values = values[np.any(values != 0, axis=1)]
    return values.astype(np.float64).std(axis=0).astype(np.float32)


def noisy(values, std, level, rng, drop_steps=False):
    """values + N(0, (level * std)^2) per feature; sequences: only on non-padding steps, and with
    drop_steps each such step zeroed with probability level."""
    noise = rng.standard_normal(values.shape).astype(np.float32) * (level * std)
    if values.ndim == 3:
        real = np.any(values != 0, axis=2, keepdims=True)  # padding steps stay zero
        values = values + noise * real
        if drop_steps:
            values = values * (rng.random_sample(real.shape) >= level)
        return values.astype(np.float32)
    return (values + noise).astype(np.float32)


def add_args(parser):
    """--missing, --noise, --noise_modality and --seed (test.py, infer.py)."""
    parser.add_argument('--missing', type=str, default=None,
                        help='modalities to remove at test time, e.g. audio or audio,video (their inputs set to zero)')
    parser.add_argument('--noise', type=float, default=0.0,
                        help='noise level in [0, 1] at test time: Gaussian noise of LEVEL x the training std, and on '
                             'text whole time steps zeroed with probability LEVEL (default 0)')
    parser.add_argument('--noise_modality', type=str, default='all',
                        help='where --noise goes: audio, video, text or all (default all)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the perturbation draws (default 0)')


def from_args(args):
    return Perturbation(args.missing, args.noise, args.noise_modality, args.seed)
