"""The process every script runs in: the CPU runtime defaults (set before paddle is imported), one-line
errors (run_cli), the device and its CPU threads, seeds, and the flags every script shares.
"""
import os
import sys
import warnings

import numpy as np

from safe_io import UserError

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


def cpu_model():
    """The CPU's name, for every number measured on it."""
    import platform
    return cpuinfo('model name') or platform.processor() or 'unknown'


if cpuinfo('vendor_id') == 'AuthenticAMD':
    # The MKL bundled with paddlepaddle takes a slow code path on AMD CPUs unless told to use
    # AVX2. Only there: on an AVX-512 Intel CPU the same setting made training 1.5x slower.
    os.environ.setdefault('MKL_DEBUG_CPU_TYPE', '5')


def require(package, extra, what):
    """A UserError naming what needs `package` and its install command, unless it is installed. Checked before
    anything is written, so that a missing optional package never leaves half an output behind."""
    import importlib.util
    if importlib.util.find_spec(package) is None:
        raise UserError('{} needs {}, which is not installed: pip install -r requirements-{}.txt'.format(
            what, package, extra))


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

# ---------------------------------------------------------------- paddle side

def available_cores():
    """The cores this process may use (its affinity where the OS says, else the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1)


def default_cpu_threads(jobs=1):
    """CPU math threads for training and evaluation: $LMF_CPU_THREADS, else the cores this
    process may use (at most 4), shared among data-parallel processes and among `jobs` runs side by side.

    Paddle itself defaults to one thread; two made a training step 1.4x faster on the
    2-core reference machine (BENCHMARKS.md).
    """
    if os.environ.get('LMF_CPU_THREADS'):
        try:
            return int(os.environ['LMF_CPU_THREADS'])
        except ValueError:
            raise UserError('LMF_CPU_THREADS must be an integer, got {!r}'.format(os.environ['LMF_CPU_THREADS']))
    # processes of this job on this machine (paddle.distributed.launch sets these)
    processes = int(os.environ.get('PADDLE_LOCAL_SIZE') or os.environ.get('PADDLE_TRAINERS_NUM') or 1)
    return max(1, min(4, available_cores() // max(1, processes * jobs)))


def gpu_available():
    """This Paddle build has CUDA and sees a GPU (the one check: the scripts and the TIPC scripts ask it)."""
    import paddle
    return paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0


_device = dict(device=None, cpu_threads=None)  # as setup_device last set them (None: not set by this code)


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
    _device.update(device=use, cpu_threads=threads)
    return use


def machine():
    """What a run's numbers depend on beyond its settings and data: the same seed gives the same numbers on the same
    CPU, Paddle, device and CPU threads (another thread count sums in another order)."""
    import paddle
    return dict(_device, device=_device['device'] or paddle.device.get_device().split(':')[0], cpu=cpu_model(),
                paddle=paddle.__version__)


def set_seed(seed):
    import random
    import paddle
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)
