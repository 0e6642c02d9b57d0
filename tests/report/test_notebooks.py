"""Sanity checks parametrized over every briefing notebook (the analyst-hygiene rules)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from rare_earth_lib import parameters

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_there_are_briefings():
    assert {"alliance_feasibility", "refining_timeline"} <= set(IDS)
    assert set(IDS) == set(parameters.briefing_names()), "every notebook has a model and every model a notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_parameters_cell_holds_exactly_the_model_defaults(path):
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert tagged[0] is code[0], "the parameters cell is the first code cell"
    values = {}
    for node in ast.parse(source(tagged[0])).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name), ast.unparse(node)
        values[node.targets[0].id] = ast.literal_eval(node.value)
    model = parameters.briefing_model(path.stem)
    defaults = {name: field.default for name, field in model.model_fields.items()}
    assert values == defaults


STRIP_FIX = "run `.venv/bin/pre-commit install` once (commits then strip notebooks) or `.venv/bin/nbstripout notebooks/*.ipynb` now"
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "papermill", "user_expressions", "collapsed", "scrolled")


def unstripped(nb: dict, name: str) -> list[str]:
    """What a commit must not carry: outputs, execution counts, execution timestamps and run metadata."""
    problems = [f"{name}: notebook metadata '{k}'" for k in ("papermill",) if k in nb.get("metadata", {})]
    for number, cell in enumerate(nb["cells"], start=1):
        if cell["cell_type"] == "code" and cell.get("outputs"):
            problems.append(f"{name} cell {number}: outputs")
        if cell["cell_type"] == "code" and cell.get("execution_count") is not None:
            problems.append(f"{name} cell {number}: execution count")
        problems += [f"{name} cell {number}: metadata '{k}'" for k in VOLATILE_CELL_METADATA if k in cell.get("metadata", {})]
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_outputs_are_stripped(path):
    problems = unstripped(json.loads(path.read_text(encoding="utf-8")), f"notebooks/{path.name}")
    assert not problems, f"{'; '.join(problems[:5])}{' ...' if len(problems) > 5 else ''}: {STRIP_FIX}"


def test_the_pre_commit_hook_strips_what_the_check_refuses(tmp_path):
    """nbstripout, with the arguments .pre-commit-config.yaml gives it, leaves nothing the check above refuses."""
    import subprocess
    import sys

    import yaml

    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hook = next(h for repo in config["repos"] for h in repo["hooks"] if h["id"] == "nbstripout")
    nb = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    nb["metadata"]["papermill"] = {"duration": 1.0}
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["execution_count"] = 3
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hi\n"]}]
    code["metadata"]["execution"] = {"iopub.execute_input": "2026-11-30T10:00:00Z"}
    code["metadata"]["papermill"] = {"duration": 0.1}
    markdown = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    markdown["metadata"]["user_expressions"] = [{"expression": "x", "result": {}}]
    dirty = tmp_path / "dirty.ipynb"
    dirty.write_text(json.dumps(nb), encoding="utf-8")
    assert len(unstripped(nb, "dirty")) >= 5
    subprocess.run([sys.executable, "-m", "nbstripout", *hook["args"], str(dirty)], check=True)
    assert unstripped(json.loads(dirty.read_text(encoding="utf-8")), "dirty") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_thin_notebook_no_functions_or_classes_and_uses_the_library(path):
    code = [source(c) for c in cells(path) if c["cell_type"] == "code"]
    tree = ast.parse("\n\n".join(code))
    defined = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    assert not defined, f"define these in rare_earth_lib instead: {defined}"
    imports = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert any(m.startswith("rare_earth_lib") for m in imports)
    assert "Params.from_namespace(globals())" in "\n".join(code), "the notebook re-validates its parameters"


#: Briefings one build computes together (shared model results): a build's numbers must equal a cold hand run's.
SHARED = ("alliance_feasibility", "refining_timeline")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_runs_with_its_defaults(path, real_build, tmp_path_factory):
    """papermill run by hand, with no parameters file, behaves like the build: no error, headline metrics recorded,
    and for the briefings whose model results a build shares, the same metrics as the base build (whose parameters
    are the defaults), i.e. sharing results within a build changes no number."""
    from conftest import hand_run

    from rare_earth_lib.build import render

    nb, _ = hand_run(tmp_path_factory, path.stem)
    metrics = render.notebook_metrics(nb)
    assert metrics, "the briefing records its headline metrics"
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    if path.stem in SHARED:
        reports = real_build("base")
        built = json.loads((reports / "base" / f"{path.stem}.manifest.json").read_text(encoding="utf-8"))["metrics"]
        assert built == json.loads(json.dumps(metrics)), path.stem
        assert not (reports / ".tmp" / "shared").exists(), "the shared results go with the build's staging area"
