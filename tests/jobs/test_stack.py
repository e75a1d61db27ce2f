"""jobs.stack without starting anything: the env file reader and the workers' queues (the stack itself runs in
tests/e2e/test_celery_stack.py)."""

import pytest

from jobs.stack.airflow import TRAIN_QUEUE, workers
from jobs.stack.envfile import EnvFileError, read_env_file


def test_env_file_reads_compose_syntax(tmp_path):
    path = tmp_path / "a.env"
    path.write_text("# comment\n\nA=1\nB = x\nC='quoted # not a comment'\nD=\"dq\"\nE=value # comment\nF=\n")
    with pytest.raises(EnvFileError, match=r"a.env:4: expected KEY=VALUE"):
        read_env_file(path)
    path.write_text("# comment\n\nA=1\nC='quoted # not a comment'\nD=\"dq\"\nE=value # comment\nF=\n")
    assert read_env_file(path) == {"A": "1", "C": "quoted # not a comment", "D": "dq", "E": "value", "F": ""}


def test_env_file_refuses_interpolation(tmp_path):
    path = tmp_path / "a.env"
    path.write_text("A=1\nURL=postgres://${HOST}/db\n")
    with pytest.raises(EnvFileError, match=r"a.env:2: URL uses '\$'"):
        read_env_file(path)


def test_the_project_env_file_parses_and_names_the_celery_executor():
    assert read_env_file()["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_only_the_second_worker_serves_the_training_queue():
    first, second = workers()
    assert first.queues == ("default",) and second.queues == ("default", TRAIN_QUEUE)
    assert first.hostname() != second.hostname()
