"""The layering check (`lint-imports`, in `make lint`): it passes on the tree as it is, and fails
when a module imports a layer above it, or a framework outside its adapter."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("paincoach", "bot", "scheduler", "coach", "storage", "dialogs", "content", "clock", "sandbox", "research")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(command), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def copy_of_the_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(ROOT / "pyproject.toml", tree)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__", "*.yaml"))
    return tree


def test_the_tree_keeps_its_layers() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "forbidden", "contract"),
    [
        ("dialogs/engine.py", "import coach.patients", "Each layer imports only the layers below it"),
        ("content/check.py", "import dialogs.state", "Each layer imports only the layers below it"),
        ("coach/patients.py", "import bot.sender", "Each layer imports only the layers below it"),
        ("bot/pipeline.py", "import aiogram", "Only an adapter imports its Telegram framework"),
        ("coach/desk.py", "import telegram", "Only an adapter imports its Telegram framework"),
        ("bot/ptb/api.py", "import aiogram", "Only an adapter imports its Telegram framework"),
        ("bot/aiogram/api.py", "import telegram", "Only an adapter imports its Telegram framework"),
        # only the command line may start the sandbox (docs/architecture.md); the stand-in knows no coach
        ("paincoach/app.py", "import sandbox.app", "Each layer imports only the layers below it"),
        ("sandbox/botapi/core.py", "import coach.patients", "The Bot API stand-in knows nothing of the coach"),
    ],
)
def test_a_forbidden_import_breaks_the_check(tmp_path: Path, module: str, forbidden: str, contract: str) -> None:
    tree = copy_of_the_tree(tmp_path)
    path = tree / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{forbidden}  # forbidden\n", encoding="utf-8")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout
