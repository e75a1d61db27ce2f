"""Tests; a package so shared helpers import as tests.synthetic and tests.model_contract."""
