"""The README's query examples work exactly as written, with the pinned versions, on a published outputs tree.

Each code block of "Querying the outputs" runs as a reader would run it from the checkout: in a home where
``recs sample`` and two days of ``recs run`` published (``.venv`` linked in, so ``.venv/bin/...`` and
``outputs/...`` resolve as they do in the checkout)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def blocks(title: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", section(title), flags=re.S | re.M)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("checkout")
    (home / ".venv").symlink_to(BIN.parent)
    env = {**os.environ, "RECS_HOME": str(home)}
    steps = [["sample", "--users", "150", "--items", "120", "--ratings", "3000", "--days", "8"],
             ["run", "--models", "popularity", "--as-of", "2026-11-20"], ["run", "--models", "popularity"]]
    for args in steps:
        done = subprocess.run([BIN / "recs", *args], env=env, cwd=home, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (args, done.stderr[-3000:])
    return home, env


def test_the_shell_examples(home):
    home, env = home
    (shell,) = blocks("Querying the outputs", "bash")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", shell], env=env, cwd=home, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    # The DuckDB query's table, then `recs recommend 42` and `recs query`, each with rows.
    assert "│ rank" in done.stdout and "popularity" in done.stdout, done.stdout
    assert [int(n) > 0 for n in re.findall(r"^\((\d+) rows\)$", done.stdout, flags=re.M)] == [True, True], done.stdout


#: Runs a README block like a notebook cell: the last line's value (an expression, or the name it assigns) is what a
#: reader looks at; its length is printed.
NOTEBOOK = """
import ast, sys
tree = ast.parse(sys.stdin.read())
*body, last = tree.body
ns = {}
exec(compile(ast.Module(body, []), "<README>", "exec"), ns)
if isinstance(last, ast.Expr):
    value = eval(compile(ast.Expression(last.value), "<README>", "eval"), ns)
else:
    exec(compile(ast.Module([last], []), "<README>", "exec"), ns)
    value = ns[last.targets[0].id]
print(len(value), sorted(set(value.run_date.astype(str))) if "run_date" in value else "")
"""


def test_the_python_examples(home):
    home, env = home
    examples = blocks("Querying the outputs", "python")
    assert len(examples) >= 2
    shown = []
    for code in examples:
        done = subprocess.run([sys.executable, "-c", NOTEBOOK], input=code, env=env, cwd=home, capture_output=True,
                              text=True)
        assert done.returncode == 0, code + "\n" + done.stderr[-3000:]
        shown.append(done.stdout.split(maxsplit=1))
    assert all(int(n) > 0 for n, *_ in shown), shown
    # The pandas example's latest day is the later of the two published days.
    assert shown[-1][1].strip() == "['2026-11-20']", shown


def test_the_sql_example(home):
    home, _ = home
    (sql,) = blocks("Querying the outputs", "sql")
    cwd = os.getcwd()
    os.chdir(home)  # its paths are relative to the checkout
    try:
        rows = duckdb.sql(sql).df()
    finally:
        os.chdir(cwd)
    assert len(rows) > 0 and set(rows.run_date.astype(str)) == {"2026-11-20"}, rows
