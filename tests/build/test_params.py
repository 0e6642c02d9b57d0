"""Parameter models and scenario files: every bad input is exit 2 with a one-line message, nothing runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rare_earth_lib import parameters
from rare_earth_lib.build import cli
from rare_earth_lib.build import pipeline as build
from rare_earth_lib.parameters import ParamsError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with the real notebooks, a copy of params/ and a reports/ holding a good briefing."""
    (tmp_path / "notebooks").mkdir()
    for name in parameters.briefing_names():  # nothing reads a notebook before validation passes
        (tmp_path / "notebooks" / f"{name}.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    shutil.copytree(ROOT / "params", tmp_path / "params")
    good = tmp_path / "reports" / "base"
    good.mkdir(parents=True)
    (good / "refining_timeline.html").write_text("<p>previous good briefing</p>")

    def no_kernels(*args, **kwargs):
        raise AssertionError("a kernel pool was started for bad input")

    monkeypatch.setattr(build.cf, "ProcessPoolExecutor", no_kernels)
    return tmp_path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


BAD_FILES = [
    ("unknown parameter", "n_trails: 500\n", ["params/bad.yaml", "'n_trails'", "unknown parameter", "n_trials"]),
    ("wrong type", "n_trials: many\n", ["params/bad.yaml", "'n_trials'", "integer"]),
    ("quoted number", 'n_trials: "500"\n', ["params/bad.yaml", "'n_trials'", "integer"]),
    ("below bounds", "n_trials: -5\n", ["params/bad.yaml", "'n_trials'", "greater than or equal"]),
    ("above bounds", "n_trials: 100000000\n", ["params/bad.yaml", "'n_trials'", "less than or equal"]),
    ("bad choice", "attribution: by_flag\n", ["params/bad.yaml", "'attribution'", "'location' or 'owner'"]),
    ("malformed YAML", "n_trials: [1, 2\nseed: 3\n", ["params/bad.yaml", "malformed YAML at line"]),
    ("not a mapping", "- n_trials\n- seed\n", ["params/bad.yaml", "must be a mapping"]),
    ("scenario set in file", "scenario: other\n", ["params/bad.yaml", "'scenario'", "file name"]),
    ("title too long", "scenario_title: " + "x" * 200 + "\n", ["params/bad.yaml", "'scenario_title'", "at most 120"]),
]


@pytest.mark.parametrize("case, text, expected", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_params_file_exits_2_and_touches_nothing(root, capsys, case, text, expected):
    (root / "params" / "bad.yaml").write_text(text)
    before = snapshot(root / "reports")
    code = cli.main(["--root", str(root), "build", "--scenario", "bad"])
    err = capsys.readouterr().err
    assert code == build.EXIT_BAD_INPUT
    for fragment in expected:
        assert fragment in err, f"{case}: {fragment!r} not in {err!r}"
    assert len(err.strip().splitlines()) == 1, "one line per problem"
    assert snapshot(root / "reports") == before


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--scenario", "nope"], "unknown scenario 'nope': no params/nope.yaml"),
        (["--briefing", "nope"], "unknown briefing 'nope': no notebooks/nope.ipynb"),
        (["--format", "docx"], "unknown format docx"),
        (["--jobs", "0"], "at least 1"),
    ],
)
def test_bad_arguments_exit_2(root, capsys, args, fragment):
    before = snapshot(root / "reports")
    with pytest.raises(SystemExit) if args[0] in {"--format", "--jobs"} else _no_raise() as caught:
        code = cli.main(["--root", str(root), "build", *args])
    err = capsys.readouterr().err
    if caught is not None and hasattr(caught, "value"):
        code = caught.value.code
    assert code == build.EXIT_BAD_INPUT
    assert fragment in err
    assert snapshot(root / "reports") == before


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "2 cores"])
def test_a_bad_jobs_setting_is_bad_input_before_anything_runs(root, monkeypatch, capsys, value):
    """``RARE_EARTH_JOBS`` (the default of ``--jobs``) is checked like the option: exit 2, one line naming it."""
    from rare_earth_lib import env

    monkeypatch.setenv(env.JOBS, value)
    before = snapshot(root / "reports")
    code = cli.main(["--root", str(root), "build", "--scenario", "base"])
    assert code == build.EXIT_BAD_INPUT
    [line] = capsys.readouterr().err.strip().splitlines()
    assert f"{env.JOBS}={value!r}" in line and "at least 1" in line
    assert snapshot(root / "reports") == before


def test_the_jobs_setting_is_the_default_of_the_option(root, monkeypatch):
    """``--jobs`` wins; without it ``RARE_EARTH_JOBS``; without either (unset or empty) 0, one worker per core."""
    from rare_earth_lib import env

    seen = []
    monkeypatch.setattr(build, "build", lambda layout, options, **kw: (seen.append(options.jobs), (build.EXIT_OK, {}))[1])
    for setting, args, expected in [(" 3 ", [], 3), ("3", ["--jobs", "2"], 2), ("", [], 0), (None, [], 0)]:
        if setting is None:
            monkeypatch.delenv(env.JOBS, raising=False)
        else:
            monkeypatch.setenv(env.JOBS, setting)
        cli.main(["--root", str(root), "build", "--quiet", "--scenario", "base", *args])
        assert seen[-1] == expected, (setting, args)


class _no_raise:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_missing_params_file_is_named():
    with pytest.raises(ParamsError, match=r"params/absent.yaml: params file not found"):
        parameters.read_scenario_file(Path("params/absent.yaml"))


def test_validate_reports_every_bad_file(root, capsys):
    (root / "params" / "bad1.yaml").write_text("n_trials: -1\n")
    (root / "params" / "bad2.yaml").write_text("seed: x\n")
    code = cli.main(["--root", str(root), "validate"])
    err = capsys.readouterr().err
    assert code == build.EXIT_BAD_INPUT
    assert "params/bad1.yaml: parameter 'n_trials'" in err
    assert "params/bad2.yaml: parameter 'seed'" in err


def test_validate_accepts_the_shipped_scenarios(capsys):
    assert cli.main(["--root", str(ROOT), "validate"]) == build.EXIT_OK
    count = len(build.Layout(ROOT).scenarios())
    assert f"ok: {count} scenario files valid" in capsys.readouterr().out


def test_list_prints_descriptions(capsys):
    assert cli.main(["--root", str(ROOT), "list"]) == build.EXIT_OK
    out = capsys.readouterr().out
    for name in ("alliance_feasibility", "refining_timeline", "base", "controls_reimposed", "accelerated_alliance", "us_policy_reversal"):
        assert name in out
    assert "Base case" in out


def test_each_briefing_receives_only_its_own_parameters():
    models = parameters.validate_scenario(ROOT / "params" / "base.yaml")
    for name, model in models.items():
        assert set(model.model_dump()) == set(parameters.briefing_model(name).model_fields)
        assert model.scenario == "base"


def test_shared_parameter_names_mean_the_same_thing():
    """A parameter declared by two briefings must have the same type and default in both."""
    declared = parameters.declared_parameters()
    for name, briefings in declared.items():
        fields = [parameters.briefing_model(b).model_fields[name] for b in briefings]
        assert len({(str(f.annotation), repr(f.default)) for f in fields}) == 1, name


def test_every_field_is_documented_and_bounded():
    for briefing in parameters.briefing_names():
        for name, field in parameters.briefing_model(briefing).model_fields.items():
            assert field.description, f"{briefing}.{name} has no description"
            assert field.annotation in (int, float, bool, str) or "Literal" in str(field.annotation), (
                f"{briefing}.{name} is not a flat scalar"
            )
            if field.annotation in (int, float) and name != "seed":
                bounded = any(hasattr(m, a) for m in field.metadata for a in ("ge", "gt", "le", "lt"))
                assert bounded, f"{briefing}.{name} has no bounds"


def test_notebook_revalidates_injected_values():
    from rare_earth_lib.parameters.refining_timeline import Params

    with pytest.raises(ParamsError, match=r"parameter 'n_trials'"):
        Params.from_namespace({"n_trials": "10; import os", "scenario": "base"})
    ok = Params.from_namespace({"n_trials": 500, "unrelated": object()})
    assert ok.n_trials == 500


def test_keep_going_is_the_default_and_fail_fast_turns_it_off():
    p = cli.parser()
    assert p.parse_args(["build"]).fail_fast is False
    assert p.parse_args(["build", "--keep-going"]).fail_fast is False
    assert p.parse_args(["build", "--fail-fast"]).fail_fast is True
    with pytest.raises(SystemExit):
        p.parse_args(["build", "--keep-going", "--fail-fast"])


def test_validate_names_a_number_typed_into_a_notebooks_prose(tmp_path, capsys):
    """`validate` applies the prose rule: a number typed into markdown is one line naming notebook and cell, exit 2."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    shutil.copytree(ROOT / "params", tmp_path / "params")
    path = tmp_path / "notebooks" / "refining_timeline.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    where = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown")
    nb["cells"][where]["source"] = "Capacity reaches 12,345 t by 2031."
    path.write_text(json.dumps(nb), encoding="utf-8")
    code = cli.main(["--root", str(tmp_path), "validate"])
    err = capsys.readouterr().err
    assert code == build.EXIT_BAD_INPUT
    assert f"notebooks/refining_timeline.ipynb, markdown cell {where + 1}: number typed into prose" in err
