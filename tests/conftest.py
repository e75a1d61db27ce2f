"""Shared fixtures."""

import pytest
import torch
from threadpoolctl import threadpool_limits

from jobs.config import load_settings


@pytest.fixture(scope="module")
def one_thread():
    """One torch/BLAS thread for model tests (``pytestmark = pytest.mark.usefixtures("one_thread")``).

    Their data are tiny: on a shared 2-core machine, thread-pool hand-offs cost more than the work itself.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(threads)


@pytest.fixture
def settings(tmp_path):
    """Settings for a fresh RECS_HOME in ``tmp_path`` (recs.toml defaults): landing/ and outputs/ under it."""
    return load_settings(home=tmp_path)
