"""Shared fixtures."""

import pytest

from jobs.config import load_settings


@pytest.fixture
def settings(tmp_path):
    """Settings for a fresh RECS_HOME in ``tmp_path`` (recs.toml defaults): landing/ and outputs/ under it."""
    return load_settings(home=tmp_path)
