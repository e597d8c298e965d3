"""pytest setup: the repository on sys.path, the scripts' runtime defaults, and shared fixtures.
Helpers the tests import live in helpers.py."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # helpers.py
from helpers import iemocap_data, write_pickle  # noqa: E402  (puts the repository on sys.path)
import utils  # noqa: E402

utils.setup_device('cpu')  # the runtime defaults the scripts use (threads), so the oracle tests them too


@pytest.fixture
def tiny_pkl(tmp_path):
    """A small four-emotion pickle with bytes keys, as Python 2 wrote the real file."""
    return write_pickle(tmp_path / 'tiny.pkl', iemocap_data())
