"""pyproject.toml and environment.yml declare the same dependencies; the set-up files exist."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r): r for r in project["dependencies"]}
    for extra in ("test", "lab"):
        wanted.update({_name(r): r for r in project["optional-dependencies"][extra]})
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d): d for d in env["dependencies"] if isinstance(d, str) and _name(d) not in {"python", "pip"}}
    assert set(conda) == set(wanted), f"only in pyproject: {set(wanted) - set(conda)}; only in environment.yml: {set(conda) - set(wanted)}"
    for name, requirement in wanted.items():
        assert requirement.replace(" ", "") == conda[name].replace(" ", ""), f"{name}: {requirement} vs {conda[name]}"


def test_console_script_and_lab_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["rare-earth-report"] == "rare_earth_lib.build.cli:main"
    assert not any(_name(r) == "jupyterlab" for r in project["dependencies"]), "JupyterLab stays out of the build's dependencies"


def test_readme_quick_start_has_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip() for line in quick.splitlines() if line.strip().startswith("make ")]
    assert commands == ["make reports", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
