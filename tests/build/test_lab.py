"""JupyterLab: `make lab` installs once and passes flags; `open` writes a parameterized copy under scratch/ and starts Lab."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from rare_earth_lib.build import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    shutil.copytree(ROOT / "params", tmp_path / "params")
    return tmp_path


def _injected(path: Path) -> str:
    nb = json.loads(path.read_text())
    return "".join(next(c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", []))["source"])


def test_open_writes_a_copy_with_the_scenario_injected_and_starts_lab(root, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(shutil, "which", lambda name, path=None: f"/bin/{name}")
    monkeypatch.setattr(subprocess, "call", lambda cmd, cwd=None: calls.append((cmd, cwd)) or 0)
    code = cli.main(
        ["--root", str(root), "open", "refining_timeline", "--scenario", "controls_reimposed", "--lab-args", "--no-browser --port 8899"]
    )
    assert code == 0, capsys.readouterr().err
    copy = root / "scratch" / "refining_timeline--controls_reimposed.ipynb"
    assert 'scenario = "controls_reimposed"' in _injected(copy)
    assert 'scenario_title = "Controls reimposed"' in _injected(copy)
    assert calls == [
        (
            [
                "/bin/jupyter-lab",
                f"--ServerApp.root_dir={root}",
                "scratch/refining_timeline--controls_reimposed.ipynb",
                "--no-browser",
                "--port",
                "8899",
            ],
            root,
        )
    ]
    assert "scratch/" in (ROOT / ".gitignore").read_text().split()


def test_open_validates_like_build(root, capsys):
    assert cli.main(["--root", str(root), "open", "refining_timeline", "--set", "n_trails=5", "--no-lab"]) == 2
    assert "did you mean 'n_trials'" in capsys.readouterr().err
    assert not (root / "scratch").exists()


def test_make_lab_installs_once_opens_the_root_and_passes_args():
    def dry(*extra: str) -> str:
        return subprocess.run(
            ["make", "-n", "-C", str(ROOT), *extra, "lab", "ARGS=--no-browser --port 8899"], capture_output=True, text=True
        ).stdout

    installed = dry("--assume-old=.venv/.installed", "--assume-old=.venv/.lab-installed", "LAB_STAMP=.venv/.lab-installed")
    assert "pip install" not in installed, "an installed lab is not installed again"
    assert f'jupyter lab --ServerApp.root_dir="{ROOT}" --no-browser --port 8899' in installed
    fresh = dry("--assume-old=.venv/.installed", "LAB_STAMP=.venv/.no-such-lab-stamp")
    assert "pip install --quiet -e '.[lab,test]'" in fresh
