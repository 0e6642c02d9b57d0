"""Scenarios from the command line: params, new-scenario, build --set (validation), list, --version, hand-run checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from rare_earth_lib import __version__, parameters
from rare_earth_lib.build import cli, scenarios
from rare_earth_lib.build import pipeline as build
from rare_earth_lib.parameters import ParamsError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "notebooks").mkdir()
    for name in parameters.briefing_names():
        (tmp_path / "notebooks" / f"{name}.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    shutil.copytree(ROOT / "params", tmp_path / "params")

    def no_kernels(*args, **kwargs):
        raise AssertionError("a kernel pool was started for bad input")

    monkeypatch.setattr(build.cf, "ProcessPoolExecutor", no_kernels)
    return tmp_path


def test_params_lists_type_bounds_default_and_description(capsys):
    assert cli.main(["--root", str(ROOT), "params", "refining_timeline"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.strip().startswith("n_trials "))
    assert "int" in line and ">= 100, <= 1000000" in line and "10000" in line and "Monte Carlo trials." in line
    assert "choice  location | owner" in out
    assert cli.main(["--root", str(ROOT), "params"]) == 0
    out = capsys.readouterr().out
    assert all(f"{name}: " in out for name in parameters.briefing_names())


def test_params_unknown_briefing_exits_2(capsys):
    assert cli.main(["--root", str(ROOT), "params", "nope"]) == build.EXIT_BAD_INPUT
    assert "no parameter model" in capsys.readouterr().err


def test_new_scenario_writes_a_valid_commented_file(root, capsys):
    code = cli.main(
        ["--root", str(root), "new-scenario", "slow_build", "--from", "base", "--set", "slip_multiplier=2", "--set", "n_trials=500"]
    )
    assert code == 0, capsys.readouterr().err
    path = root / "params" / "slow_build.yaml"
    text = path.read_text()
    data = yaml.safe_load(text)
    assert data["slip_multiplier"] == 2 and data["n_trials"] == 500
    assert data["controls_regime"] == "suspension_extended", "the source's values are kept"
    assert "# Factor on positive slips" in text, "an added key carries its description"
    assert text.startswith("# Base case (slip_multiplier=2, n_trials=500)")
    models = parameters.validate_scenario(path)
    assert all(m.scenario == "slow_build" for m in models.values())
    assert cli.main(["--root", str(root), "list"]) == 0
    assert "slow_build               Base case (slip_multiplier=2, n_trials=500)" in capsys.readouterr().out


def test_new_scenario_title_and_changed_key_keeps_its_place(root):
    assert (
        cli.main(
            [
                "--root",
                str(root),
                "new-scenario",
                "reimposed_v2",
                "--from",
                "controls_reimposed",
                "--set",
                "controls_regime=reimposed",
                "--title",
                "Reimposed, again",
            ]
        )
        == 0
    )
    text = (root / "params" / "reimposed_v2.yaml").read_text()
    assert 'scenario_title: "Reimposed, again"' in text
    assert 'controls_regime: "reimposed"  # was reimposed in controls_reimposed' in text
    assert text.count("controls_regime:") == 1


@pytest.mark.parametrize(
    "args, fragment",
    [
        (
            ["new_one", "--set", "slip_multiplyer=2"],
            "'slip_multiplyer': unknown parameter: no briefing declares it (did you mean 'slip_multiplier'?)",
        ),
        (["new_one", "--set", "slip_multiplier=-2"], "params/new_one.yaml: parameter 'slip_multiplier': Input should be greater than 0"),
        (["new_one", "--set", "n_trials"], "expected KEY=VALUE"),
        (["new_one", "--from", "nope"], "params/nope.yaml: params file not found"),
        (["Bad-Name"], "scenario names must match"),
        (["base"], "params/base.yaml: already exists"),
    ],
)
def test_new_scenario_bad_input_exits_2_and_writes_nothing(root, capsys, args, fragment):
    before = sorted(p.name for p in (root / "params").iterdir())
    assert cli.main(["--root", str(root), "new-scenario", *args]) == build.EXIT_BAD_INPUT
    assert fragment in capsys.readouterr().err
    assert sorted(p.name for p in (root / "params").iterdir()) == before


@pytest.mark.parametrize(
    "value, fragment",
    [
        (
            "slip_multiplyer=2",
            "--set: parameter 'slip_multiplyer': unknown parameter: no briefing declares it (did you mean 'slip_multiplier'?)",
        ),
        ("slip_multiplier=9", "params/base.yaml: parameter 'slip_multiplier': Input should be less than or equal to 5"),
        ("n_trials=many", "parameter 'n_trials'"),
        ("scenario=other", "--set: parameter 'scenario'"),
        ("nothing", "--set: expected KEY=VALUE"),
    ],
)
def test_build_set_is_validated_like_a_file(root, capsys, value, fragment):
    (root / "reports").mkdir()
    assert cli.main(["--root", str(root), "build", "--set", value]) == build.EXIT_BAD_INPUT
    assert fragment in capsys.readouterr().err
    assert list((root / "reports").iterdir()) == []


def test_set_values_reach_validation_and_name_the_published_scenario(root):
    overrides = dict(parameters.parse_override(t) for t in ["slip_multiplier=2", "attribution=location", "fill_missing_capacity=false"])
    assert overrides == {"slip_multiplier": 2, "attribution": "location", "fill_missing_capacity": False}
    validated = build.validate_all(build.Layout(root), ["base"], ["refining_timeline"], overrides)
    label = "base+attribution=location+fill_missing_capacity=false+slip_multiplier=2"
    assert list(validated) == [("refining_timeline", label)]
    assert validated[("refining_timeline", label)]["slip_multiplier"] == 2
    assert validated[("refining_timeline", label)]["scenario"] == "base"
    assert scenarios.scenario_label("base", {"scenario_title": "A / B"}) == "base+scenario_title=A___B"
    assert scenarios.scenario_label("base", {}) == "base"


def test_scenarios_in_declared_order_base_first():
    names = [
        "us_policy_reversal",
        "base+slip_multiplier=2",
        "accelerated_alliance",
        "base",
        "controls_reimposed+n_trials=500",
        "controls_reimposed",
    ]
    assert scenarios.ordered(names) == [
        "base",
        "base+slip_multiplier=2",
        "accelerated_alliance",
        "controls_reimposed",
        "controls_reimposed+n_trials=500",
        "us_policy_reversal",
    ]


def test_version(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"rare-earth-report {__version__}"


def test_list_prints_declared_titles_and_scenario_titles(capsys):
    assert cli.main(["--root", str(ROOT), "list"]) == 0
    out = capsys.readouterr().out
    for name in parameters.briefing_names():
        assert parameters.briefing_model(name).briefing_title in out
    for name, path in build.Layout(ROOT).scenarios().items():
        title = yaml.safe_load(path.read_text())["scenario_title"]
        assert f"{name:<24} {title}" in out
    assert "<!--" not in out
    assert out.split("Scenarios:")[1].split()[0] == "base"


def test_hand_run_rejects_an_undeclared_injected_parameter_and_ignores_the_other_briefings():
    from rare_earth_lib.parameters.refining_timeline import Params

    injected = "# Parameters\nn_trails = 500\n"
    with pytest.raises(ParamsError) as caught:
        Params.from_namespace({"In": ["", "scenario = 'base'", injected], "n_trails": 500})
    assert "parameter 'n_trails': unknown parameter: no briefing declares it (did you mean 'n_trials'?)" in str(caught.value)
    other = next(k for k, v in parameters.declared_parameters().items() if "refining_timeline" not in v)
    ok = Params.from_namespace({"In": ["", f"# Parameters\n{other} = 1\nn_trials = 500\n"], other: 1, "n_trials": 500})
    assert ok.n_trials == 500


def test_duplicate_key_in_a_params_file_exits_2_naming_file_key_and_both_lines(root, capsys):
    (root / "params" / "dup.yaml").write_text("scenario_title: Dup\nslip_multiplier: 1.5\n# appended override\nslip_multiplier: 2\n")
    (root / "reports").mkdir()
    assert cli.main(["--root", str(root), "build", "--scenario", "dup"]) == build.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "params/dup.yaml: parameter 'slip_multiplier': key given twice, at line 2 and line 4" in err
    assert list((root / "reports").iterdir()) == []
