"""Shared pieces of the LMF scripts: one-line errors, atomic writes, the safe unpickler, data
loading entry points, device setup, checkpoints, building a model from one, batching,
evaluation and metrics. The tasks and hyperparameters are in hparams.py, the dataset readers in
data/ (one module per dataset).
"""
import contextlib
import os
import pickle
import sys
import warnings

import numpy as np

import hparams  # the tasks and hyperparameters (it imports this module back; neither uses the other at import)

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

SYNTHETIC_NOTE_FORMAT = '(These scores are on SYNTHETIC sample data, not {} results.)'


@contextlib.contextmanager
def atomic_write(path, mode='w', fsync=False, **open_args):
    """Open a temporary file beside `path`; when the block ends without error, rename it over
    `path` (so a crash or Ctrl-C never leaves half a file, and the old file stays until then);
    on error remove it. Creates the folder. fsync: flush to disk before the rename; open_args go to open()."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = '{}.tmp{}'.format(path, os.getpid())
    try:
        with open(tmp, mode, **open_args) as f:
            yield f
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


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


def add_check_path_arg(parser):
    """--check_path, read by checkpoint_file()."""
    parser.add_argument('--check_path', type=str, default=None,
                        help='checkpoint file, or a folder holding <name>.pdparams, name being the emotion, mosi '
                             'or pom (default: check/)')


def add_data_arg(parser):
    parser.add_argument('--data_path', type=str, default=None,
                        help='dataset pickle (default: data/iemocap.pkl, data/mosi.pkl or data/pom.pkl by --dataset, '
                             'else that dataset\'s synthetic sample)')


def add_device_args(parser):
    """--device and --cpu_threads, for setup_device()."""
    parser.add_argument('--device', choices=('auto', 'cpu', 'gpu'), default='auto')
    parser.add_argument('--cpu_threads', type=int, default=None,
                        help='CPU math threads (default: $LMF_CPU_THREADS, else available cores up to 4)')


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


# ---------------------------------------------------------------- datasets

def data_module(dataset):
    """The reader of `dataset` (data/iemocap.py, data/mosi.py, data/pom.py)."""
    import data
    if dataset not in hparams.DATASETS:
        raise UserError('--dataset: unknown dataset {!r}; choose one of {}'.format(
            dataset, ', '.join(hparams.DATASETS)))
    return data.module(dataset)


def load_data(dataset, data_path, task=None, expected_dims=None, verbose=True, output_dim=None,
              output_flag='--output_dim'):
    """(train, valid, test, input_dims) of one task; see each reader's load(). output_flag names
    where output_dim came from in the error when the labels disagree with it."""
    return data_module(dataset).load(data_path, task, expected_dims=expected_dims, verbose=verbose,
                                     output_dim=output_dim, output_flag=output_flag)


def synthetic_note(dataset='iemocap'):
    return SYNTHETIC_NOTE_FORMAT.format(data_module(dataset).NAME)


def default_data_path(explicit=None, dataset='iemocap'):
    """--data_path if given (it must exist); else the dataset's real file, else its synthetic sample
    (data/iemocap.pkl or data/sample_data.pkl; data/mosi.pkl or data/mosi_sample.pkl; data/pom.pkl or
    data/pom_sample.pkl), generated on first use."""
    if explicit:
        if not os.path.isfile(explicit):
            raise UserError('--data_path {} does not exist'.format(explicit))
        return explicit
    reader = data_module(dataset)
    if os.path.isfile(reader.REAL_PATH):
        return reader.REAL_PATH
    print('{} not found; using the SYNTHETIC sample data {}'.format(reader.REAL_PATH, reader.SAMPLE_PATH))
    if not os.path.isfile(reader.SAMPLE_PATH):
        reader.write_sample_data(reader.SAMPLE_PATH)
    return reader.SAMPLE_PATH


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


def gpu_available():
    """This Paddle build has CUDA and sees a GPU (the one check: the scripts and the TIPC scripts ask it)."""
    import paddle
    return paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0


def setup_device(device, cpu_threads=None):
    """Select 'cpu', 'gpu' or 'auto' (falls back to CPU with one line when no GPU build) and
    the CPU math threads (default_cpu_threads() when None)."""
    import paddle
    from paddle.base import core
    has_gpu = gpu_available()
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
    """LMF from a hyperparameter dict (keys of MODEL_HPARAMS and DROPOUT_HPARAMS, and linear_init)."""
    from model import LMF
    dropouts = (hp.get('audio_dropout', 0.0), hp.get('video_dropout', 0.0), hp.get('text_dropout', 0.0),
                hparams.POST_FUSION_DROPOUT)
    return LMF(input_dims, (hp['audio_hidden'], hp['video_hidden'], hp['text_hidden']), hp['text_hidden'] // 2,
               dropouts, hp['output_dim'], hp['rank'], use_softmax=use_softmax,
               linear_init=hp.get('linear_init', 'paddle'))


CHECKPOINT_FORMAT = 'lmf-paddle-checkpoint-v1'


def save_checkpoint(path, model, hp, input_dims):
    """Write {'state_dict', 'hparams', 'input_dims'} atomically (atomic_write, with fsync)."""
    state = {name: tensor.numpy() for name, tensor in model.state_dict().items()}
    payload = {'format': CHECKPOINT_FORMAT, 'state_dict': state, 'hparams': dict(hp),
               'input_dims': [int(d) for d in input_dims]}
    with atomic_write(path, 'wb', fsync=True) as f:
        pickle.dump(payload, f, protocol=4)


def checkpoint_file(check_path, name, default_dir='check', dataset='iemocap'):
    """--check_path as given: a file, or a folder holding <name>.pdparams (or the seed's <emotion>.pkl)."""
    path = check_path or default_dir
    if os.path.isdir(path):
        candidates = [os.path.join(path, name + ext) for ext in ('.pdparams', '.pkl')]
        found = [c for c in candidates if os.path.isfile(c)]
        if not found:
            raise UserError('--check_path {}: no {}.pdparams in that folder; train it first ({}bash train.sh)'.format(
                path, name, '' if dataset == 'iemocap' else 'DATASET={} '.format(dataset)))
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
        state, hp = raw['state_dict'], raw.get('hparams')
    else:
        state, hp = raw, None
    if not isinstance(state, dict) or 'audio_factor' not in state:
        raise UserError('checkpoint {} is not an LMF state dict (no audio_factor)'.format(path))
    # paddle.save adds a name-mapping entry that is not a parameter.
    state = {k: np.asarray(v) for k, v in state.items() if isinstance(v, np.ndarray)}
    return state, hp


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


def model_from_checkpoint(path, name, overrides=None, use_softmax=False, dataset='iemocap'):
    """Build an LMF in eval mode from the checkpoint of model `name` (an emotion, or the dataset).

    Shapes decide the architecture; flags in `overrides` that contradict it, and a checkpoint
    trained on another dataset or emotion, are a UserError naming the flag. Returns
    (model, hparams, input_dims).
    """
    import paddle
    state, saved = load_checkpoint(path)
    hp, input_dims = shape_hparams(state, path)
    flat = saved is None  # a bare state dict: the earlier LMF_Paddle port's, all IEMOCAP
    saved = saved or {}
    # Our checkpoints record the dataset (those written before CMU-MOSI/POM existed are IEMOCAP's).
    trained_on = saved.get('dataset', 'iemocap')
    if trained_on != dataset:
        raise UserError('--dataset {} contradicts checkpoint {}, which {}'.format(
            dataset, path, 'is a bare state dict as the earlier port wrote for IEMOCAP' if flat else
            'was trained on {}{}'.format(trained_on, ' ({})'.format(saved['emotion']) if saved.get('emotion') else '')))
    trained_for = saved.get('emotion')
    if dataset == 'iemocap' and trained_for and trained_for != name:
        raise UserError('--emotion {} contradicts checkpoint {}, which was trained for {}'.format(
            name, path, trained_for))
    for flag, value in (overrides or {}).items():
        if flag in hp and hp[flag] != value:
            raise UserError('--{} {} contradicts checkpoint {}, which has {} {}'.format(
                flag, value, path, flag, hp[flag]))
    # Dropouts do not change evaluation; take them from the checkpoint, the flags or the table.
    rest = hparams.published_hparams(dataset, name if dataset == 'iemocap' else None,
                             saved.get('trait') if dataset == 'pom' else None)
    rest.update({k: v for k, v in saved.items() if k not in hp})
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
    """Yield (audio, video, text, targets) paddle tensors; the last batch may be short."""
    import paddle
    n = len(dataset)
    order = rng.permutation(n) if shuffle else None
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size] if shuffle else slice(start, start + batch_size)
        yield (paddle.to_tensor(dataset.audio[idx]), paddle.to_tensor(dataset.video[idx]),
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


def pearson(x, y):
    """Pearson correlation as np.corrcoef gives it (nan when either side is constant)."""
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    with np.errstate(divide='ignore', invalid='ignore'):
        return float(np.corrcoef(x, y)[0, 1]) if np.ptp(x) > 0 and np.ptp(y) > 0 else float('nan')  # exact for constants


def mosi_metrics(truth, predictions):
    """CMU-MOSI test metrics of sentiment predictions [N] (or [N, 1]) against truth.

    The authors' definitions (train_mosi.py), which the paper reports: mae, corr (Pearson),
    mult_acc (round(pred) == round(y), unclipped), binary_acc and f1 (weighted) with
    y >= 0 as positive. The variants later papers report: acc7 (both clipped to [-3, 3]
    first), and binary_acc_nonzero / f1_nonzero over the samples with y != 0 (y > 0 positive).
    """
    y, p = np.asarray(truth, dtype=np.float64).ravel(), np.asarray(predictions, dtype=np.float64).ravel()
    nonzero = y != 0
    return dict(
        mae=float(np.mean(np.abs(p - y))), corr=pearson(p, y),
        mult_acc=float(np.mean(np.round(p) == np.round(y))),
        binary_acc=float(np.mean((p >= 0) == (y >= 0))), f1=weighted_f1(y >= 0, p >= 0),
        acc7=float(np.mean(np.round(np.clip(p, -3, 3)) == np.round(np.clip(y, -3, 3)))),
        binary_acc_nonzero=float(np.mean((p[nonzero] > 0) == (y[nonzero] > 0))) if nonzero.any() else float('nan'),
        f1_nonzero=weighted_f1(y[nonzero] > 0, p[nonzero] > 0) if nonzero.any() else float('nan'))


def pom_metrics(truth, predictions):
    """POM test metrics of predictions [N, K] against truth [N, K], as train_pom.py computes them:
    per trait MAE, Pearson corr and accuracy of round(pred) == round(y) (lists of K), and their means
    over the traits (mae, corr, acc)."""
    y, p = np.asarray(truth, dtype=np.float64), np.asarray(predictions, dtype=np.float64)
    maes = [float(v) for v in np.mean(np.abs(p - y), axis=0)]
    corrs = [pearson(p[:, k], y[:, k]) for k in range(y.shape[1])]
    accs = [float(v) for v in np.mean(np.round(p) == np.round(y), axis=0)]
    return dict(mae=float(np.mean(maes)), corr=float(np.mean(corrs)), acc=float(np.mean(accs)),
                trait_mae=maes, trait_corr=corrs, trait_acc=accs)


def task_metrics(dataset, truth, outputs):
    """The dataset's metrics of model outputs [N, K] (logits for IEMOCAP) against its targets."""
    if dataset == 'mosi':
        return mosi_metrics(truth, outputs)
    if dataset == 'pom':
        return pom_metrics(truth, outputs)
    f1, accuracy = scores(truth, outputs.argmax(axis=1))
    return dict(f1=f1, accuracy=accuracy)


def evaluate(model, dataset, batch_size=1024, metrics=None):
    """Loss and (with metrics='iemocap', 'mosi' or 'pom') that dataset's test metrics of `model`.

    Classification: mean cross-entropy per sample. Regression: L1 summed over samples and
    outputs, divided by N * K (the authors' validation MAE; K = 1 for CMU-MOSI).
    Returns dict(loss, outputs [N, K], and the metrics of task_metrics()).
    """
    import paddle
    import paddle.nn.functional as F
    model.eval()
    outputs, total = [], 0.0
    with paddle.no_grad():
        for audio, video, text, target in iterate_batches(dataset, batch_size):
            out = model(audio, video, text)
            if dataset.regression:
                total += float(F.l1_loss(out, target, reduction='sum'))
            else:
                total += float(F.cross_entropy(out, target, reduction='sum'))
            outputs.append(out.numpy())
    outputs = np.concatenate(outputs, axis=0)
    result = dict(loss=total / dataset.targets.size if dataset.regression else total / len(dataset), outputs=outputs)
    if metrics:
        result.update(task_metrics(metrics, dataset.targets, outputs))
    return result


def display(f1, accuracy, out=print):
    out('F1-score on test set is {}'.format(f1))
    out('Accuracy score on test set is {}'.format(accuracy))


MOSI_LINES = (('mae', 'MAE on test set is {}'),
              ('corr', 'Correlation w.r.t human evaluation on test set is {}'),
              ('mult_acc', 'Multiclass accuracy on test set is {}'),
              ('binary_acc', 'Binary accuracy on test set is {}'),
              ('f1', 'F1-score on test set is {}'))
MOSI_VARIANT_LINES = (('acc7', 'Acc-7 (prediction and truth clipped to [-3, 3]) on test set is {}'),
                      ('binary_acc_nonzero', 'Acc-2 without zero-labelled samples on test set is {}'),
                      ('f1_nonzero', 'F1-score without zero-labelled samples on test set is {}'))
POM_LINES = (('mae', 'MAE on test set is {}'),
             ('corr', 'Correlation w.r.t human evaluation on test set is {}'),
             ('acc', 'Multiclass accuracy on test set is {}'))


def show_results(dataset, result, out=print):
    """Print a dataset's test metrics as its authors' script did (IEMOCAP: the seed's two lines)."""
    if dataset == 'iemocap':
        display(result['f1'], result['accuracy'], out)
    elif dataset == 'mosi':
        for key, line in MOSI_LINES:
            out(line.format(result[key]))
        out('Variants that later papers report (not the definitions of the paper):')
        for key, line in MOSI_VARIANT_LINES:
            out('  ' + line.format(result[key]))
    else:
        from data.pom import trait_names
        names = trait_names(len(result['trait_mae']))
        width = max(len(n) for n in names)
        out('{:<{w}}  {:>6}  {:>6}  {:>6}'.format('trait', 'MAE', 'Corr', 'Acc', w=width))
        for name, mae, corr, acc in zip(names, result['trait_mae'], result['trait_corr'], result['trait_acc']):
            out('{:<{w}}  {:6.3f}  {:6.3f}  {:6.3f}'.format(name, mae, corr, acc, w=width))
        out('Means over the {} traits:'.format(len(names)))
        for key, line in POM_LINES:
            out(line.format(result[key]))


# ---------------------------------------------------------------- deployment

def inference_model_files(model_dir):
    """What export_model.py writes to one emotion's folder and infer.py reads:
    (program inference.json, weights inference.pdiparams, metadata inference_info.json)."""
    return tuple(os.path.join(model_dir, name)
                 for name in ('inference.json', 'inference.pdiparams', 'inference_info.json'))
