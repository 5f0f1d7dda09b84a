"""House rules CI enforces, also here so a local run catches them: import layers and lint."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists() and not shutil.which(name):
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return str(path) if path.exists() else name


def test_import_layers_hold():
    out = subprocess.run([tool("lint-imports")], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    assert "6 kept, 0 broken" in out.stdout


def test_ruff_is_clean():
    out = subprocess.run([tool("ruff"), "check", "."], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:]
