"""Helpers shared by the tests: seeded worlds (``synthetic``), a seeded warehouse (``warehouse``), the model contract."""

from pathlib import Path

#: The project checkout (where dags/, jobs/ and the Makefile are).
ROOT = Path(__file__).resolve().parents[2]
