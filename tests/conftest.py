"""Shared fixtures: a throwaway copy of the project with a tiny, fast briefing for build tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat as nbf
import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# Property tests assert properties, not speed: no per-example deadline (Hypothesis's default of 200 ms fails
# examples at random on a loaded machine). Speed is measured by the scripts under benchmarks/.
settings.register_profile("project", deadline=None)
settings.load_profile("project")
FIXTURES = Path(__file__).resolve().parent / "fixtures"

#: Every scenario (params/*.yaml) and every real briefing (notebooks/*.ipynb). The modules that read scenarios other
#: than base ask the shared real build (``real_build``) for all of them alike, so that one build serves them all.
EVERY_SCENARIO = tuple(sorted(p.stem for p in (ROOT / "params").glob("*.yaml")))
EVERY_BRIEFING = tuple(sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb")))

#: Session fixtures that run the real briefings (a build or a hand run); the tests that use them start first.
REAL_RUNS = ("real_build", "base_pdfs", "timeline_package_results")


def pytest_configure(config: pytest.Config) -> None:
    """Give the test run a cache folder of its own (``RARE_EARTH_CACHE_DIR``), removed at the end.

    Builds, hand runs and library calls keep the chart bundle, chart SVGs, stored discovery results and package
    validations there; in the user's cache folder they would outlive the run and let one run's results stand in for
    the next's computation (and a clean CI machine computes everything). Set in the main process before the xdist
    workers start, so every worker, build and kernel of the run shares the one folder. A folder already given in
    the environment is used as it is.
    """
    if hasattr(config, "workerinput") or os.environ.get("RARE_EARTH_CACHE_DIR"):
        return
    import tempfile

    folder = tempfile.mkdtemp(prefix="rare-earth-test-cache-")
    os.environ["RARE_EARTH_CACHE_DIR"] = folder
    config.add_cleanup(lambda: (os.environ.pop("RARE_EARTH_CACHE_DIR", None), shutil.rmtree(folder, ignore_errors=True)))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the long tests first: those on the real briefings' shared runs, then the other slow ones, then the rest.

    pytest-xdist hands tests to its workers in this order, so the long builds overlap the many short tests instead
    of running alone at the end of the run (the order changes no test's result: each test sets up what it reads).
    """

    def rank(item: pytest.Item) -> int:
        if any(name in REAL_RUNS for name in getattr(item, "fixturenames", ())):
            return 0
        return 1 if item.get_closest_marker("slow") else 2

    items.sort(key=rank)  # stable: modules and their tests keep their order within each rank


def tiny_notebook(title: str = "Tiny test briefing") -> nbf.NotebookNode:
    """A small briefing that reads one data table and shows a chart, a table and metrics."""
    nb = nbf.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbf.v4.new_markdown_cell(f"# {title}\nExercises the build: parameters, a data table, a chart, a table, metrics."),
        nbf.v4.new_code_cell(
            'scenario = "base"\nscenario_title = "Base case"\nmultiplier = 1.0\nfail_in_cell = False\nsleep_s = 0.0',
            metadata={"tags": ["parameters"]},
        ),
        nbf.v4.new_code_cell(
            "import time\n\nimport altair as alt\n\n"
            "from rare_earth_lib import report\nfrom rare_earth_lib.data import package as data_package\n"
            "from rare_earth_lib.parameters.tiny import Params\n\n"
            "params = Params.from_namespace(globals())\n"
            f'doc = report.Briefing(title="{title}", params=params, figures=["shares"], tables=["rows"])\n'
            "doc.title_block()"
        ),
        nbf.v4.new_code_cell(
            'if params.fail_in_cell:\n    raise RuntimeError("asked to fail")\n'
            "time.sleep(params.sleep_s)\n"
            'shares = data_package.load("stage_shares")\n'
            "shares = shares[shares.is_default].head(8).assign(share_scaled=lambda d: d.share * params.multiplier)"
        ),
        nbf.v4.new_code_cell(
            'chart = alt.Chart(shares).mark_bar().encode(x=alt.X("share_scaled:Q", title="Scaled share (fraction)"), y="stage:N", tooltip=["region", "stage", "share"])\n'
            "doc.key_judgments([f\"The largest scaled share is {shares.share_scaled.max():.3f} ({doc.ref('shares')}).\"])\n"
            'doc.figure("shares", chart, caption="Scaled shares by stage", sources=shares)\n'
            'doc.table("rows", shares[["stage", "region", "year", "share"]], caption="The rows shown", sources=shares)\n'
            "doc.sources_appendix()\n"
            'doc.record_metrics({"max_scaled_share": float(shares.share_scaled.max()), "scenario_seen": params.scenario})'
        ),
    ]
    return nb


def make_project(root: Path, briefings: tuple[str, ...] = ("tiny",)) -> Path:
    """Copy the library and scenarios to ``root`` and add tiny briefings named ``briefings``."""
    shutil.copytree(ROOT / "rare_earth_lib", root / "rare_earth_lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "params", root / "params")
    (root / "notebooks").mkdir()
    for name in briefings:
        text = (FIXTURES / "tiny_params.py").read_text(encoding="utf-8")
        (root / "rare_earth_lib" / "parameters" / f"{name}.py").write_text(text, encoding="utf-8")
        nb = tiny_notebook(f"Tiny briefing {name}")
        nb.cells[2].source = nb.cells[2].source.replace("parameters.tiny import", f"parameters.{name} import")
        nbf.write(nb, root / "notebooks" / f"{name}.ipynb")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A throwaway project with one tiny briefing and the four real scenario files."""
    return make_project(tmp_path / "project")


@pytest.fixture(scope="session")
def tiny_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny project (``make_project``) with its base and controls_reimposed scenarios built as HTML, once per run.

    Every xdist worker shares the one build (a file lock makes the others wait). Tests never write in it: they
    take a copy (``built_copy``), in which the briefings are up to date too.
    """
    from filelock import FileLock

    shared = shared_tmp(tmp_path_factory) / "tiny-built"
    shared.mkdir(parents=True, exist_ok=True)
    project, built, failed = shared / "project", shared / "built", shared / "failed"
    with FileLock(str(shared / "build.lock")):
        if not built.is_file() and not failed.is_file():
            shutil.rmtree(project, ignore_errors=True)
            make_project(project)
            result = run_cli(project, "build", "--scenario", "base", "--scenario", "controls_reimposed", "--format", "html")
            (built if result.returncode == 0 else failed).write_text(result.stdout + result.stderr, encoding="utf-8")
        if failed.is_file():
            pytest.fail(f"building the tiny project failed:\n{failed.read_text(encoding='utf-8')}")
    return project


@pytest.fixture
def built_copy(tiny_built: Path, tmp_path: Path) -> Path:
    """A fresh copy of ``tiny_built``: base and controls_reimposed built (HTML) and up to date, one build in its history."""
    return Path(shutil.copytree(tiny_built, tmp_path / "project", symlinks=True))


def shared_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every pytest-xdist worker of this test run shares (the run's own temporary folder otherwise)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


#: The real build runs one worker per core, as ``make reports`` does (the tests' other builds run one; ``cli_env``).
CORES = ("--jobs", str(os.cpu_count() or 1))


@pytest.fixture(scope="session")
def real_build(tmp_path_factory: pytest.TempPathFactory):
    """Build the real briefings (and the tiny one) for scenarios, as HTML, once per test run.

    ``real_build("base")`` returns the shared project's ``reports/`` folder once that scenario is built there
    (``reports/base/<briefing>.{html,ipynb,manifest.json}``, for base also ``.pdf``: the first call builds base with
    every briefing in both formats in one build, whatever it asked for; and an index of every scenario built so far; the
    ``.ipynb`` is the executed notebook). ``real_build(("base", "controls_reimposed"), ("refining_timeline",))``
    builds only the scenarios and briefings named that are not built yet, in one build (its briefings run in
    parallel); a later call for more builds the rest. Tests in different modules and on different xdist workers
    that need the same built briefings share one build (a file lock serialises them); a failed build fails every
    test that asked for one of its briefings, with the build's output. Tests must only read what it returns.
    """
    from filelock import FileLock

    shared = shared_tmp(tmp_path_factory) / "real-briefings"
    shared.mkdir(parents=True, exist_ok=True)
    project = shared / "project"

    def marker(scenario: str, briefing: str, outcome: str) -> Path:
        return shared / f"{scenario}.{briefing}.{outcome}"

    def build(scenarios: str | tuple[str, ...], briefings: tuple[str, ...] | None = None) -> Path:
        scenarios = (scenarios,) if isinstance(scenarios, str) else tuple(scenarios)
        with FileLock(str(shared / "build.lock")):
            if not (project / "notebooks").is_dir():
                make_project(project)
                for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
                    shutil.copy(notebook, project / "notebooks" / notebook.name)
            every = tuple(sorted(p.stem for p in (project / "notebooks").glob("*.ipynb")))
            if not any(marker("base", b, o).is_file() for b in every for o in ("built", "failed")):
                # First, whatever was asked: the base scenario with every briefing, as HTML and PDF, in one build
                # (its briefings share their model results, as in a scheduled build). Most modules read base;
                # the PDF tests read its PDFs (``base_pdfs``), so no second build runs the same notebooks.
                result = run_cli(project, "build", "--scenario", "base", "--format", "html,pdf", *CORES, timeout=3600)
                for b in every:
                    marker("base", b, "built" if result.returncode == 0 else "failed").write_text(
                        result.stdout + result.stderr, encoding="utf-8"
                    )
            pairs = [(s, b) for s in scenarios for b in briefings or every]
            missing = [(s, b) for s, b in pairs if not marker(s, b, "built").is_file() and not marker(s, b, "failed").is_file()]
            if missing:
                args = [a for s in sorted({s for s, _ in missing}) for a in ("--scenario", s)]
                chosen = sorted({b for _, b in missing})
                if chosen != list(every):
                    args += [a for b in chosen for a in ("--briefing", b)]
                result = run_cli(project, "build", *args, "--format", "html", *CORES, timeout=3600)
                for s, b in missing:
                    marker(s, b, "built" if result.returncode == 0 else "failed").write_text(
                        result.stdout + result.stderr, encoding="utf-8"
                    )
            for s, b in pairs:
                if marker(s, b, "failed").is_file():
                    pytest.fail(f"building the real briefings for {s} failed:\n{marker(s, b, 'failed').read_text(encoding='utf-8')}")
        return project / "reports"

    build.lock = lambda: FileLock(str(shared / "build.lock"))  # held while a test copies the shared project
    return build


@pytest.fixture(scope="session")
def base_pdfs(real_build) -> Path:
    """The tiny briefing and every real briefing built as HTML and PDF for the base scenario: their folder.

    The shared real build's ``reports/base`` (``real_build`` builds base first, in both formats), read by the PDF
    tests (tests/build/test_pdf.py, test_visual.py). Tests must only read it.
    """
    return real_build("base") / "base"


def computed_once(tmp_path_factory: pytest.TempPathFactory, name: str, compute):
    """``compute()``, computed once per test run and shared by every xdist worker (pickled in the run's shared
    temporary folder under a file lock, so a second worker waits for the first and reads its result)."""
    import pickle

    from filelock import FileLock

    folder = shared_tmp(tmp_path_factory) / "computed-once"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.pickle"
    with FileLock(str(folder / f"{name}.lock")):
        if path.is_file():
            return pickle.loads(path.read_bytes())
        value = compute()
        path.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        return value


@pytest.fixture(scope="session")
def timeline_package_results(tmp_path_factory: pytest.TempPathFactory):
    """The timeline briefing's results on the data package's three timeline tables, once per test run.

    ``(params, results)``: ``tl.briefing_results`` for ``Params(n_trials=400)`` (the default horizon) on
    ``projects``, ``build_analogs`` and ``demand`` (without the world-projection tables, so ``results.world`` is
    None), built on 2026-11-30. Several modules check different parts of the same results; the simulation, both
    sensitivities and the hindcast are the same for all of them, so they run once (:func:`computed_once`).
    Tests must only read it.
    """

    def compute():
        import datetime as dt

        from rare_earth_lib.data import package as dp
        from rare_earth_lib.models import timeline as tl
        from rare_earth_lib.parameters.refining_timeline import Params

        params = Params(n_trials=400)
        tables = {name: dp.load(name) for name in tl.TABLES}
        return params, tl.briefing_results(params, tables, as_of=dp.as_of(), today=dt.date(2026, 11, 30))

    return computed_once(tmp_path_factory, "timeline_package_results", compute)


@pytest.fixture(scope="session")
def feasibility_on_the_package(tmp_path_factory):
    """A feasibility run with the assessment on the data package (default parameters) and fixed coverage years, no
    Monte Carlo: ``scorecard.FeasibilityRun``. Computed once per test run for every xdist worker
    (:func:`computed_once`): the report/text tests of the feasibility briefing only read it."""

    def compute():
        from rare_earth_lib.data import package as dp
        from rare_earth_lib.models import scorecard
        from rare_earth_lib.parameters.alliance_feasibility import Params

        def coverage(ndpr: int | None, dytb: int | None) -> dict:
            return {
                "ndpr_oxide": {"p50": ndpr},
                "dytb_oxide": {"p50": dytb, "p10": None if dytb is None else dytb - 4, "share_never": 0.43},
            }

        data = {name: dp.load(name) for name in scorecard.ASSESSMENT_TABLES}
        params = Params()
        by_case = {"low": coverage(2026, 2030), "central": coverage(2026, 2031), "high": coverage(2028, 2033)}
        result = scorecard.assess(data, params, dp.as_of(), {"ndpr_oxide": 2026, "dytb_oxide": 2031}, by_case)
        return scorecard.FeasibilityRun(params, dp.as_of(), data, by_case["central"], by_case, result, None)

    return computed_once(tmp_path_factory, "feasibility_on_the_package", compute)


BUILD_DATE = "2026-11-29"
"""The build date of every build the tests run (``RARE_EARTH_BUILD_DATE``)."""


def hand_run(tmp_path_factory: pytest.TempPathFactory, name: str) -> tuple[nbf.NotebookNode, Path]:
    """``notebooks/<name>.ipynb`` executed by hand with papermill, once per test run: the executed notebook and the
    cache folder it ran with.

    As an analyst runs it: no build and no parameters (the notebook's defaults, which equal params/base.yaml's values;
    a test checks that the parameters cell holds the model defaults), in the project's own notebooks folder, with the
    prose's inline expressions evaluated in the kernel at the end (as jupyterlab-myst shows them; the build's hidden
    evaluation cell), none of the caller's ``RARE_EARTH_`` settings or Dask scheduler address (scenario discovery
    starts its own local Dask cluster) and an empty cache folder of its own (nothing stored before: discovery's
    results are computed, charts drawn). On the build date of the tests' builds, so that its numbers can be compared
    with theirs. Shared by every module that compares a cold hand run with a build or reads its text
    (:func:`computed_once`); tests only read it.
    """

    def compute() -> tuple[nbf.NotebookNode, Path]:
        import papermill as pm

        from rare_earth_lib import env
        from rare_earth_lib.report import inline

        notebook = ROOT / "notebooks" / f"{name}.ipynb"
        folder = tmp_path_factory.mktemp(f"hand-run-{name}")
        source, out, cache = folder / f"{name}.in.ipynb", folder / f"{name}.ipynb", folder / "cache"
        nbf.write(inline.with_evaluation_cell(nbf.read(notebook, as_version=4), f"notebooks/{name}.ipynb"), source)
        mp = pytest.MonkeyPatch()
        for key in [k for k in os.environ if k.startswith("RARE_EARTH_")] + [env.DASK_SCHEDULER]:
            mp.delenv(key, raising=False)
        mp.setenv(env.CACHE_DIR, str(cache))
        mp.setenv(env.BUILD_DATE, BUILD_DATE)
        try:
            pm.execute_notebook(
                str(source), str(out), kernel_name="python3", cwd=str(notebook.parent), progress_bar=False, execution_timeout=600
            )
        finally:
            mp.undo()
        return nbf.read(out, as_version=4), cache

    return computed_once(tmp_path_factory, f"hand_run_{name}", compute)


def briefing_text(nb: nbf.NotebookNode) -> str:
    """An executed briefing's words, in single spaces: its prose with the {eval} values substituted, and its HTML
    outputs without scripts and without the charts."""
    import html
    import re

    from rare_earth_lib.report import inline

    parts = []
    for cell in inline.substituted(nb).cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source.replace("\\", ""))
        for output in cell.get("outputs", []):
            markup = re.sub(r"<script.*?</script>", " ", output.get("data", {}).get("text/html", ""), flags=re.S)
            if "vegaEmbed" not in markup:
                parts.append(html.unescape(re.sub(r"<[^>]+>", " ", markup)))
    return re.sub(r"\s+", " ", " ".join(parts))


def cli_env(project: Path) -> dict[str, str]:
    """The environment of a build the tests start: none of the caller's RARE_EARTH_ settings but the run's cache folder,
    and one briefing at a time (``RARE_EARTH_JOBS=1``) unless the test passes ``--jobs``.

    The xdist workers already keep every core busy, so a second build worker would only add its own start and its own
    kernel (about 3 CPU s for a two-job build of the tiny briefing); on one worker the second job runs on the first
    one's kept kernel. The shared real build runs as ``make reports`` does, one worker per core (``real_build``).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("RARE_EARTH_") or k == "RARE_EARTH_CACHE_DIR"}
    env["PYTHONPATH"] = str(project)  # the kernel and the CLI import the project's copy of the library
    env["RARE_EARTH_BUILD_DATE"] = BUILD_DATE
    env["RARE_EARTH_JOBS"] = "1"
    return env


def require_tool(tool: str, apt_package: str = "poppler-utils") -> str:
    """The path of a command-line tool a test needs (poppler's by default).

    Missing, the test is skipped on a developer's machine but fails in CI (``CI=true``), where ``.ci/run``
    installs the Debian package.
    """
    path = shutil.which(tool)
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"{tool} is required in CI (.ci/run installs {apt_package})")
    pytest.skip(f"{tool} not installed (apt-get install {apt_package})")


def run_cli(project: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``rare-earth-report --root project ARGS`` in a subprocess, as cron would."""
    return subprocess.run(
        [sys.executable, "-m", "rare_earth_lib.build.cli", "--root", str(project), *args],
        cwd=project,
        env=cli_env(project),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to prove nothing was touched)."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
