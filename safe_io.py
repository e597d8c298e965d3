"""The bottom of the import graph: one-line user errors, atomic writes and the restricted
unpickler. Every other module may import this one; it imports only the standard library and numpy.
"""
import contextlib
import os
import pickle

import numpy as np


class UserError(Exception):
    """Bad input from the user: reported as one line, no traceback."""


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


def _numpy_globals():
    """The globals that numpy arrays, dtypes and scalars of pickle protocols 2-5 name, under both
    numpy's module names (numpy.core before 2.0, numpy._core since)."""
    core = getattr(np, '_core', None) or np.core  # numpy._core since 2.0
    import codecs
    import collections
    allowed = {
        ('numpy', 'ndarray'): np.ndarray,
        ('numpy', 'dtype'): np.dtype,
        # Python 3 pickles of protocol < 3 store bytes as _codecs.encode(text, 'latin1').
        ('_codecs', 'encode'): codecs.encode,
        ('collections', 'OrderedDict'): collections.OrderedDict,
    }
    for package in ('numpy.core', 'numpy._core'):
        allowed[(package + '.multiarray', '_reconstruct')] = core.multiarray._reconstruct
        allowed[(package + '.multiarray', 'scalar')] = core.multiarray.scalar
        # protocol 5 arrays: a view of the pickle's bytes or bytearray, reshaped
        allowed[(package + '.numeric', '_frombuffer')] = core.numeric._frombuffer
    return allowed


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global outside SafeUnpickler.ALLOWED (it could run code)."""


class DamagedFile(UserError):
    """A file that is not a complete, valid pickle (truncated, zero-filled, not a pickle)."""


class SafeUnpickler(pickle.Unpickler):
    """Builds only numpy arrays, dtypes and scalars, dicts, lists, tuples, strings and numbers;
    refuses any other global (functions, classes, instances)."""

    ALLOWED = _numpy_globals()

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(
                'refusing to load {}.{}: only numpy arrays, dicts, lists and numbers are allowed'.format(module, name))


def safe_load_pickle(path, what='file'):
    """Unpickle `path` with SafeUnpickler. Any failure is a UserError naming the file; a file
    that is not a complete pickle is a DamagedFile."""
    if not os.path.isfile(path):
        raise UserError('{} {} does not exist'.format(what, path))
    try:
        with open(path, 'rb') as f:
            # latin1 decodes Python 2 str the way numpy expects for array payloads.
            return SafeUnpickler(f, encoding='latin1').load()
    except RefusedGlobal as err:
        raise UserError('{} {} cannot be loaded: {}'.format(what, path, err))
    except OSError as err:
        raise UserError('{} {} cannot be read: {}'.format(what, path, err.strerror or err))
    except MemoryError:
        raise UserError('{} {} cannot be unpickled: out of memory (the file is damaged or too large for this '
                        'machine)'.format(what, path))
    except pickle.UnpicklingError as err:  # e.g. "invalid load key, '\\x00'" (zeros inside the file)
        raise DamagedFile('{} {} is damaged: not a valid pickle ({})'.format(what, path, err))
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as err:
        raise DamagedFile('{} {} is damaged: truncated or not a valid pickle ({}: {})'.format(
            what, path, type(err).__name__, err))
