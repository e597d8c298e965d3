"""Shared pieces of the LMF scripts: hyperparameter table, safe loading of the
IEMOCAP pickle and of checkpoints, building a model from a checkpoint, metrics.
"""
import os
import pickle
import sys
import warnings

import numpy as np

# Paddle warns at import that ccache (a C++ build cache) is missing; irrelevant here.
warnings.filterwarnings('ignore', message='No ccache found')

# CPU runtime defaults. They must be in the environment before paddle is imported, and
# every script imports utils first. A value the user already set wins. See BENCHMARKS.md.


def cpuinfo(field):
    """The first value of `field` in /proc/cpuinfo ('' where there is none, e.g. not Linux)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith(field):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return ''


if cpuinfo('vendor_id') == 'AuthenticAMD':
    # The MKL bundled with paddlepaddle takes a slow code path on AMD CPUs unless told to use
    # AVX2. Only there: on an AVX-512 Intel CPU the same setting made training 1.5x slower.
    os.environ.setdefault('MKL_DEBUG_CPU_TYPE', '5')

# Published per-emotion hyperparameters and seeds of the LMF_Paddle port (its
# train.sh and check/*.pkl). The one place these numbers live: train.sh, run_lfm.sh
# and the TIPC config take them from here (train.py --emotion X); the README's table
# shows them and tests/test_train.py checks that it agrees.
EMOTION_HPARAMS = {
    'happy': dict(audio_hidden=4, video_hidden=16, text_hidden=128, audio_dropout=0.3, video_dropout=0.1,
                  text_dropout=0.5, rank=1, factor_learning_rate=0.001, learning_rate=0.001, batch_size=128,
                  weight_decay=0.002, seed=2967694878),
    'sad': dict(audio_hidden=8, video_hidden=4, text_hidden=128, audio_dropout=0.0, video_dropout=0.0,
                text_dropout=0.0, rank=4, factor_learning_rate=0.002, learning_rate=0.001, batch_size=64,
                weight_decay=0.002, seed=2290532931),
    'angry': dict(audio_hidden=8, video_hidden=4, text_hidden=64, audio_dropout=0.3, video_dropout=0.1,
                  text_dropout=0.15, rank=8, factor_learning_rate=0.003, learning_rate=0.0005, batch_size=64,
                  weight_decay=0.001, seed=2528475277),
    'neutral': dict(audio_hidden=32, video_hidden=8, text_hidden=64, audio_dropout=0.2, video_dropout=0.5,
                    text_dropout=0.2, rank=16, factor_learning_rate=0.003, learning_rate=0.0005, batch_size=16,
                    weight_decay=0.002, seed=3202492277),
}
EMOTIONS = tuple(EMOTION_HPARAMS)
COMMON_HPARAMS = dict(epochs=100, patience=20, output_dim=2)
POST_FUSION_DROPOUT = 0.5  # every script of the paper and the seed uses 0.5
MODEL_HPARAMS = ('audio_hidden', 'video_hidden', 'text_hidden', 'rank', 'output_dim')
DROPOUT_HPARAMS = ('audio_dropout', 'video_dropout', 'text_dropout')

REAL_DATA_PATH = os.path.join('data', 'iemocap.pkl')
SAMPLE_DATA_PATH = os.path.join('data', 'sample_data.pkl')
SYNTHETIC_KEY = 'synthetic'  # top-level marker that data/make_sample_data.py writes
SYNTHETIC_NOTE = '(These scores are on SYNTHETIC sample data, not IEMOCAP results.)'
SPLITS = ('train', 'valid', 'test')
FEATURES = ('covarep', 'facet', 'glove', 'label')  # audio, visual, text, one-hot label


class UserError(Exception):
    """Bad input from the user: reported as one line, no traceback."""


def run_cli(main):
    """Run main(); a UserError becomes one 'error: ...' line on stderr and exit code 2."""
    try:
        main()
    except UserError as err:
        print('error: {}'.format(err), file=sys.stderr)
        sys.exit(2)
    except OSError as err:  # e.g. an output folder that is a file or not writable
        where = ': {}'.format(err.filename) if err.filename else ''
        print('error: {}{}'.format(err.strerror or err, where), file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        sys.exit(130)


def emotion_hparams(emotion):
    """Published hyperparameters (plus epochs, patience, output_dim) of one emotion."""
    if emotion not in EMOTION_HPARAMS:
        raise UserError('--emotion: unknown emotion {!r}; choose one of {}'.format(emotion, ', '.join(EMOTIONS)))
    return dict(COMMON_HPARAMS, **EMOTION_HPARAMS[emotion])


def add_hparam_args(parser):
    """Hyperparameter flags shared by train/test/export. Default None = 'from the table or checkpoint'."""
    parser.add_argument('--emotion', type=str, default='happy', help='one of ' + ', '.join(EMOTIONS))
    parser.add_argument('--output_dim', type=int, default=None)
    parser.add_argument('--audio_hidden', type=int, default=None)
    parser.add_argument('--video_hidden', type=int, default=None)
    parser.add_argument('--text_hidden', type=int, default=None)
    parser.add_argument('--audio_dropout', type=float, default=None)
    parser.add_argument('--video_dropout', type=float, default=None)
    parser.add_argument('--text_dropout', type=float, default=None)
    parser.add_argument('--rank', type=int, default=None)


def add_data_arg(parser):
    parser.add_argument('--data_path', type=str, default=None,
                        help='IEMOCAP pickle (default: data/iemocap.pkl, else the synthetic data/sample_data.pkl)')


def add_device_args(parser):
    """--device and --cpu_threads, for setup_device()."""
    parser.add_argument('--device', choices=('auto', 'cpu', 'gpu'), default='auto')
    parser.add_argument('--cpu_threads', type=int, default=None,
                        help='CPU math threads (default: $LMF_CPU_THREADS, else available cores up to 4)')


def explicit_hparams(args, names):
    """The hyperparameters among `names` that the user gave on the command line."""
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def check_hparams(hp):
    """Range checks with the flag's name in the message."""
    for name in ('audio_hidden', 'video_hidden', 'text_hidden', 'rank', 'output_dim', 'batch_size', 'epochs',
                 'patience'):
        if name in hp and hp[name] < 1:
            raise UserError('--{} must be >= 1, got {}'.format(name, hp[name]))
    if 'text_hidden' in hp and hp['text_hidden'] < 2:
        raise UserError('--text_hidden must be >= 2 (the text output is text_hidden // 2)')
    for name in DROPOUT_HPARAMS:
        if name in hp and not 0.0 <= hp[name] < 1.0:
            raise UserError('--{} must be in [0, 1), got {}'.format(name, hp[name]))
    for name in ('learning_rate', 'factor_learning_rate'):
        if name in hp and not hp[name] > 0:
            raise UserError('--{} must be > 0, got {}'.format(name, hp[name]))
    if 'weight_decay' in hp and hp['weight_decay'] < 0:
        raise UserError('--weight_decay must be >= 0, got {}'.format(hp['weight_decay']))
    if 'seed' in hp and not 0 <= hp['seed'] < 2 ** 32:
        raise UserError('--seed must be in [0, 2**32), got {}'.format(hp['seed']))
    return hp


# ---------------------------------------------------------------- safe pickle

def _numpy_globals():
    try:
        multiarray = np._core.multiarray  # numpy >= 2
    except AttributeError:
        multiarray = np.core.multiarray
    import codecs
    import collections
    allowed = {
        ('numpy', 'ndarray'): np.ndarray,
        ('numpy', 'dtype'): np.dtype,
        # Python 3 pickles of protocol < 3 store bytes as _codecs.encode(text, 'latin1').
        ('_codecs', 'encode'): codecs.encode,
        ('collections', 'OrderedDict'): collections.OrderedDict,
    }
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        allowed[(module, '_reconstruct')] = multiarray._reconstruct
        allowed[(module, 'scalar')] = multiarray.scalar
    return allowed


class SafeUnpickler(pickle.Unpickler):
    """Builds only numpy arrays, dicts, lists, strings and numbers; refuses any other global."""

    ALLOWED = _numpy_globals()

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                'refusing to load {}.{}: only numpy arrays, dicts, lists and numbers are allowed'.format(module, name))


def safe_load_pickle(path, what='file'):
    """Unpickle `path` with SafeUnpickler. Any failure is a UserError naming the file."""
    if not os.path.isfile(path):
        raise UserError('{} {} does not exist'.format(what, path))
    try:
        with open(path, 'rb') as f:
            # latin1 decodes Python 2 str the way numpy expects for array payloads.
            return SafeUnpickler(f, encoding='latin1').load()
    except pickle.UnpicklingError as err:
        raise UserError('{} {} cannot be loaded: {}'.format(what, path, err))
    except OSError as err:
        raise UserError('{} {} cannot be read: {}'.format(what, path, err.strerror or err))
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError) as err:
        raise UserError('{} {} is truncated or not a valid pickle ({}: {})'.format(
            what, path, type(err).__name__, err))


# ---------------------------------------------------------------- dataset

def _text(key):
    return key.decode('latin1') if isinstance(key, bytes) else key


def _str_keys(obj, path, where):
    if not isinstance(obj, dict):
        raise UserError('{}: {} should be a dict, found {}'.format(path, where, type(obj).__name__))
    return {_text(k): v for k, v in obj.items()}


class IEMOCAP:
    """One split: audio [N, 74], visual [N, 35], text [N, T, 300] float32, labels [N, K] one-hot."""

    def __init__(self, audio, visual, text, labels, synthetic=False):
        self.audio, self.visual, self.text, self.labels = audio, visual, text, labels
        self.targets = labels.argmax(axis=1).astype('int64')  # class index of each sample, [N]
        self.synthetic = synthetic  # True for data/make_sample_data.py output

    def __len__(self):
        return self.audio.shape[0]

    def __getitem__(self, idx):
        return self.audio[idx], self.visual[idx], self.text[idx], self.labels[idx]


def is_synthetic(data):
    return isinstance(data, dict) and any(_text(k) == SYNTHETIC_KEY for k in data)


def load_iemocap(data_path, emotion, expected_dims=None, verbose=True, classes=None):
    """Read one emotion of the CMU-MultimodalSDK IEMOCAP pickle.

    Accepts bytes or str keys and any float dtype; replaces NaN and +-inf by 0.
    Returns (train, valid, test, input_dims) with input_dims = (audio, visual, text) sizes.
    Set expected_dims (and classes) to refuse data whose feature sizes (and number of label
    classes) differ from a model's.
    """
    data = safe_load_pickle(data_path, 'data file')
    synthetic = is_synthetic(data)
    top = _str_keys(data, data_path, 'the top level')
    if emotion not in top:
        have = sorted(k for k in top if k != SYNTHETIC_KEY)
        raise UserError('{}: emotion {!r} not found (the file has: {})'.format(data_path, emotion, ', '.join(have)))
    splits = _str_keys(top[emotion], data_path, '[{}]'.format(emotion))
    del data, top  # frees the other emotions before the conversion below
    sets = []
    for split in SPLITS:
        if split not in splits:
            raise UserError('{}: split {!r} missing under emotion {!r}'.format(data_path, split, emotion))
        sets.append(_load_split(data_path, emotion, split, splits.pop(split)))

    input_dims = (sets[0].audio.shape[1], sets[0].visual.shape[1], sets[0].text.shape[2])
    for split, dataset in zip(SPLITS, sets):
        dims = (dataset.audio.shape[1], dataset.visual.shape[1], dataset.text.shape[2])
        if dims != input_dims or dataset.labels.shape[1] != sets[0].labels.shape[1]:
            raise UserError('{}: {}/{} has feature sizes {} but train has {}'.format(
                data_path, emotion, split, dims, input_dims))
    if expected_dims is not None and tuple(expected_dims) != input_dims:
        names = ('audio', 'visual', 'text')
        diff = ['{} {} (model expects {})'.format(n, got, want)
                for n, got, want in zip(names, input_dims, expected_dims) if got != want]
        raise UserError('{}: feature sizes do not match the model: {}'.format(data_path, ', '.join(diff)))

    if classes is not None and sets[0].labels.shape[1] != classes:
        raise UserError('{}: labels have {} classes but the model has output_dim {}'.format(
            data_path, sets[0].labels.shape[1], classes))
    for dataset in sets:
        dataset.synthetic = synthetic
    if verbose:
        if synthetic:
            print('NOTE: {} is SYNTHETIC sample data, not IEMOCAP.'.format(data_path))
        print('Audio feature dimension is: {}'.format(input_dims[0]))
        print('Visual feature dimension is: {}'.format(input_dims[1]))
        print('Text feature dimension is: {}'.format(input_dims[2]))
    return sets[0], sets[1], sets[2], input_dims


def _load_split(path, emotion, split, raw):
    where = '{}/{}'.format(emotion, split)
    feats = _str_keys(raw, path, where)
    arrays = {}
    for key, ndim in zip(FEATURES, (2, 2, 3, 2)):
        if key not in feats:
            raise UserError('{}: feature {!r} missing in {}'.format(path, key, where))
        value = feats[key]
        if not isinstance(value, np.ndarray) or not (np.issubdtype(value.dtype, np.floating)
                                                     or np.issubdtype(value.dtype, np.integer)):
            raise UserError('{}: {}/{} should be a numeric array, found {}'.format(
                path, where, key, getattr(value, 'dtype', type(value).__name__)))
        if value.ndim != ndim:
            raise UserError('{}: {}/{} should have {} dimensions, found shape {}'.format(
                path, where, key, ndim, value.shape))
        if min(value.shape) == 0:
            raise UserError('{}: {}/{} is empty (shape {})'.format(path, where, key, value.shape))
        arrays[key] = value
    counts = {key: arrays[key].shape[0] for key in FEATURES}
    if len(set(counts.values())) != 1:
        raise UserError('{}: {} has mismatched sample counts {}'.format(path, where, counts))
    if arrays['label'].shape[1] < 2:
        raise UserError('{}: {}/label should be one-hot [N, classes >= 2], found shape {}'.format(
            path, where, arrays['label'].shape))

    def clean(a):
        # The published audio holds NaN and -inf, the visual NaN: zero every non-finite value.
        # In place: the unpickled array is ours, so the largest (text) needs no second copy.
        a = a.astype(np.float32, copy=False)
        if not a.flags.writeable:
            a = a.copy()
        a[~np.isfinite(a)] = 0.0
        return a

    feats.clear()  # drop the raw arrays as soon as their float32 copies exist
    raw.clear()
    return IEMOCAP(clean(arrays.pop('covarep')), clean(arrays.pop('facet')), clean(arrays.pop('glove')),
                   np.asarray(arrays.pop('label'), dtype=np.float32))


def default_data_path(explicit=None):
    """--data_path if given (it must exist); else data/iemocap.pkl, else the synthetic sample."""
    if explicit:
        if not os.path.isfile(explicit):
            raise UserError('--data_path {} does not exist'.format(explicit))
        return explicit
    if os.path.isfile(REAL_DATA_PATH):
        return REAL_DATA_PATH
    print('{} not found; using the SYNTHETIC sample data {}'.format(REAL_DATA_PATH, SAMPLE_DATA_PATH))
    if not os.path.isfile(SAMPLE_DATA_PATH):
        from data.make_sample_data import write_sample_data
        write_sample_data(SAMPLE_DATA_PATH)
    return SAMPLE_DATA_PATH


# ---------------------------------------------------------------- paddle side

def default_cpu_threads():
    """CPU math threads for training and evaluation: $LMF_CPU_THREADS, else the cores this
    process may use (at most 4), shared among data-parallel processes.

    Paddle itself defaults to one thread; two made a training step 1.4x faster on the
    2-core reference machine (BENCHMARKS.md).
    """
    if os.environ.get('LMF_CPU_THREADS'):
        try:
            return int(os.environ['LMF_CPU_THREADS'])
        except ValueError:
            raise UserError('LMF_CPU_THREADS must be an integer, got {!r}'.format(os.environ['LMF_CPU_THREADS']))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1)
    # processes of this job on this machine (paddle.distributed.launch sets these)
    processes = int(os.environ.get('PADDLE_LOCAL_SIZE') or os.environ.get('PADDLE_TRAINERS_NUM') or 1)
    return max(1, min(4, cores // max(1, processes)))


def setup_device(device, cpu_threads=None):
    """Select 'cpu', 'gpu' or 'auto' (falls back to CPU with one line when no GPU build) and
    the CPU math threads (default_cpu_threads() when None)."""
    import paddle
    from paddle.base import core
    has_gpu = paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0
    if device == 'gpu' and not has_gpu:
        print('--device gpu: this Paddle build has no usable GPU; running on CPU')
    use = 'gpu' if device in ('gpu', 'auto') and has_gpu else 'cpu'
    paddle.set_device(use)
    threads = default_cpu_threads() if cpu_threads is None else cpu_threads
    if threads < 1:
        raise UserError('--cpu_threads must be >= 1, got {}'.format(threads))
    core.set_num_threads(threads)
    return use


def set_seed(seed):
    import random
    import paddle
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


def build_model(hp, input_dims, use_softmax=False):
    """LMF from a hyperparameter dict (keys of MODEL_HPARAMS and DROPOUT_HPARAMS)."""
    from model import LMF
    dropouts = (hp.get('audio_dropout', 0.0), hp.get('video_dropout', 0.0), hp.get('text_dropout', 0.0),
                POST_FUSION_DROPOUT)
    return LMF(input_dims, (hp['audio_hidden'], hp['video_hidden'], hp['text_hidden']), hp['text_hidden'] // 2,
               dropouts, hp['output_dim'], hp['rank'], use_softmax=use_softmax)


CHECKPOINT_FORMAT = 'lmf-paddle-checkpoint-v1'


def save_checkpoint(path, model, hparams, input_dims):
    """Write {'state_dict', 'hparams', 'input_dims'} atomically: temp file, fsync, rename."""
    state = {name: tensor.numpy() for name, tensor in model.state_dict().items()}
    payload = {'format': CHECKPOINT_FORMAT, 'state_dict': state, 'hparams': dict(hparams),
               'input_dims': [int(d) for d in input_dims]}
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = '{}.tmp{}'.format(path, os.getpid())
    try:
        with open(tmp, 'wb') as f:
            pickle.dump(payload, f, protocol=4)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def checkpoint_file(check_path, emotion, default_dir='check'):
    """--check_path as given: a file, or a folder holding <emotion>.pdparams (or the seed's <emotion>.pkl)."""
    path = check_path or default_dir
    if os.path.isdir(path):
        candidates = [os.path.join(path, emotion + ext) for ext in ('.pdparams', '.pkl')]
        found = [c for c in candidates if os.path.isfile(c)]
        if not found:
            raise UserError('--check_path {}: no {}.pdparams in that folder; train it first (bash train.sh)'.format(
                path, emotion))
        return found[0]
    if not os.path.isfile(path):
        raise UserError('--check_path {} does not exist'.format(path))
    return path


def load_checkpoint(path):
    """Returns (state_dict of numpy arrays, hparams dict or None).

    Reads our .pdparams files and the seed's flat state-dict .pkl files, both safely.
    """
    raw = safe_load_pickle(path, 'checkpoint')
    if isinstance(raw, dict) and raw.get('format') == CHECKPOINT_FORMAT:
        state, hparams = raw['state_dict'], raw.get('hparams')
    else:
        state, hparams = raw, None
    if not isinstance(state, dict) or 'audio_factor' not in state:
        raise UserError('checkpoint {} is not an LMF state dict (no audio_factor)'.format(path))
    # paddle.save adds a name-mapping entry that is not a parameter.
    state = {k: np.asarray(v) for k, v in state.items() if isinstance(v, np.ndarray)}
    return state, hparams


def shape_hparams(state, path='checkpoint'):
    """The hyperparameters that a state dict's shapes determine, and its input dims."""
    try:
        audio_factor = state['audio_factor']
        hp = dict(rank=audio_factor.shape[0], audio_hidden=audio_factor.shape[1] - 1,
                  output_dim=audio_factor.shape[2], video_hidden=state['video_factor'].shape[1] - 1,
                  text_hidden=state['text_subnet.rnn.weight_hh_l0'].shape[1])
        input_dims = (state['audio_subnet.norm.weight'].shape[0], state['video_subnet.norm.weight'].shape[0],
                      state['text_subnet.rnn.weight_ih_l0'].shape[1])
    except (KeyError, IndexError) as err:
        raise UserError('{} is missing LMF parameters ({})'.format(path, err))
    return {k: int(v) for k, v in hp.items()}, tuple(int(d) for d in input_dims)


def model_from_checkpoint(path, emotion, overrides=None, use_softmax=False):
    """Build an LMF in eval mode from a checkpoint.

    Shapes decide the architecture; flags in `overrides` that contradict it are a
    UserError naming the flag. Returns (model, hparams, input_dims).
    """
    import paddle
    state, saved = load_checkpoint(path)
    hp, input_dims = shape_hparams(state, path)
    trained_for = (saved or {}).get('emotion')
    if trained_for and trained_for != emotion:
        raise UserError('--emotion {} contradicts checkpoint {}, which was trained for {}'.format(
            emotion, path, trained_for))
    for name, value in (overrides or {}).items():
        if name in hp and hp[name] != value:
            raise UserError('--{} {} contradicts checkpoint {}, which has {} {}'.format(
                name, value, path, name, hp[name]))
    # Dropouts do not change evaluation; take them from the checkpoint, the flags or the table.
    rest = dict(EMOTION_HPARAMS.get(emotion, {}))
    rest.update({k: v for k, v in (saved or {}).items() if k not in hp})
    rest.update({k: v for k, v in (overrides or {}).items() if k not in hp})
    hp = dict(rest, **hp)
    model = build_model(hp, input_dims, use_softmax=use_softmax)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise UserError('checkpoint {} does not fit LMF: missing {} unexpected {}'.format(
            path, missing[:5], unexpected[:5]))
    for name, tensor in expected.items():
        if list(tensor.shape) != list(state[name].shape):
            raise UserError('checkpoint {}: {} has shape {}, model expects {}'.format(
                path, name, list(state[name].shape), list(tensor.shape)))
    model.set_state_dict({k: paddle.to_tensor(v.astype(np.float32)) for k, v in state.items()})
    model.eval()
    return model, hp, input_dims


def iterate_batches(dataset, batch_size, shuffle=False, rng=None):
    """Yield (audio, visual, text, targets) paddle tensors; the last batch may be short."""
    import paddle
    n = len(dataset)
    order = rng.permutation(n) if shuffle else None
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size] if shuffle else slice(start, start + batch_size)
        yield (paddle.to_tensor(dataset.audio[idx]), paddle.to_tensor(dataset.visual[idx]),
               paddle.to_tensor(dataset.text[idx]), paddle.to_tensor(dataset.targets[idx]))


def weighted_f1(truth, predictions):
    """F1 per class weighted by its support, as sklearn's f1_score(average='weighted').

    Written out in NumPy so that the scripts need not import scikit-learn (about 0.8 s).
    """
    truth, predictions = np.asarray(truth), np.asarray(predictions)
    total = 0.0
    for label in np.union1d(truth, predictions):
        true_positive = np.sum((predictions == label) & (truth == label))
        denominator = np.sum(predictions == label) + np.sum(truth == label)
        total += np.sum(truth == label) * (2.0 * true_positive / denominator if denominator else 0.0)
    return float(total / len(truth))


def scores(truth, predictions):
    """(weighted F1, accuracy) of class predictions, as the paper and the seed report them."""
    truth, predictions = np.asarray(truth), np.asarray(predictions)
    return weighted_f1(truth, predictions), float(np.mean(truth == predictions))


def evaluate(model, dataset, batch_size=1024, metrics=True):
    """Mean cross-entropy, weighted F1 and accuracy of `model` on `dataset`.

    Returns dict(loss, f1, accuracy, logits [N, K], predictions [N]); only loss and
    logits when metrics=False.
    """
    import paddle
    import paddle.nn.functional as F
    model.eval()
    logits, total = [], 0.0
    with paddle.no_grad():
        for audio, visual, text, target in iterate_batches(dataset, batch_size):
            out = model(audio, visual, text)
            total += float(F.cross_entropy(out, target, reduction='sum'))
            logits.append(out.numpy())
    logits = np.concatenate(logits, axis=0)
    result = dict(loss=total / len(dataset), logits=logits)
    if metrics:
        predictions = logits.argmax(axis=1)
        f1, accuracy = scores(dataset.targets, predictions)
        result.update(f1=f1, accuracy=accuracy, predictions=predictions)
    return result


def display(f1, accuracy, out=print):
    out('F1-score on test set is {}'.format(f1))
    out('Accuracy score on test set is {}'.format(accuracy))


# ---------------------------------------------------------------- deployment

def inference_model_files(model_dir):
    """What export_model.py writes to one emotion's folder and infer.py reads:
    (program inference.json, weights inference.pdiparams, metadata inference_info.json)."""
    return tuple(os.path.join(model_dir, name)
                 for name in ('inference.json', 'inference.pdiparams', 'inference_info.json'))
