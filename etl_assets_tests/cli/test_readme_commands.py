"""Every command the README shows works as shown: each shell line is one this suite covers,
and the `dg` ones run here against the project (the make targets have their own tests:
test_quiet_commands.py for `make validate`, the e2e tests for what `make run`/`make dev` show)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
COVERED_ELSEWHERE = {"make run", "make test", "make validate"}


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.DOTALL)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line]


def test_the_readme_shows_only_commands_that_are_tested():
    commands = readme_commands()
    assert {"make run", "make test"} <= set(commands)
    for command in commands:
        assert command in COVERED_ELSEWHERE or command.startswith(".venv/bin/dg "), command


@pytest.mark.parametrize("command", [c for c in readme_commands() if c.startswith(".venv/bin/")])
def test_readme_dg_command_works(command, tmp_path, sample_dir):
    dg = Path(sys.prefix) / "bin" / "dg"
    if not dg.exists():
        pytest.skip("dagster-dg-cli is not installed in this environment")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETL_", "DAGSTER_"))}
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    data = tmp_path / "data"
    (data / "landing" / "products").mkdir(parents=True)
    products = sample_dir / "landing" / "products" / "products.csv"
    (data / "landing" / "products" / "products.csv").write_bytes(products.read_bytes())
    env.update(PYTHONPATH=str(ROOT), DAGSTER_HOME=str(home), ETL_DATA_DIR=str(data))
    args = [str(dg), *command.removeprefix(".venv/bin/dg ").replace("'", "").split()]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "BetaWarning" not in output and "PreviewWarning" not in output, output
    if "list defs" in command:
        assert "silver/orders_quarantine" in output and "medallion_daily" in output
    if "launch" in command:
        assert (data / "lake" / "bronze" / "products.parquet").exists()
