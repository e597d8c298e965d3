"""pytest setup: the repository on sys.path, the scripts' runtime defaults (restored after every test, since the
tests run the scripts' main() in this process), and shared fixtures. Helpers the tests import live in helpers.py."""
import atexit
import os
import shutil
import sys
import tempfile

import pytest

# The data cache (data/cache.py) of this session, inherited by the scripts the tests run: the suite
# never writes into the repository's data/cache/.
os.environ['LMF_CACHE_DIR'] = tempfile.mkdtemp(prefix='lmf-test-cache-')
atexit.register(shutil.rmtree, os.environ['LMF_CACHE_DIR'], True)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # helpers.py
from helpers import iemocap_data, write_pickle  # noqa: E402  (puts the repository on sys.path)
import utils  # noqa: E402

utils.setup_device('cpu')  # the runtime defaults the scripts use (threads), so the oracle tests them too


@pytest.fixture(autouse=True)
def runtime_defaults():
    """After a test: the default CPU threads (a script's --cpu_threads 1 sets them process-wide) and dynamic-graph
    mode (export_model.py traces with paddle.jit)."""
    yield
    import paddle
    paddle.disable_static()
    utils.setup_device('cpu')


@pytest.fixture
def tiny_pkl(tmp_path):
    """A small four-emotion pickle with bytes keys, as Python 2 wrote the real file."""
    return write_pickle(tmp_path / 'tiny.pkl', iemocap_data())
