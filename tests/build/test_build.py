"""The build as a scheduled job uses it: real subprocesses, real kernels, on a tiny throwaway project."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat as nbf
import pytest
from conftest import cli_env, make_project, require_tool, run_cli, snapshot

pytestmark = pytest.mark.slow


def manifest(project: Path, scenario: str = "base", briefing: str = "tiny") -> dict:
    return json.loads((project / "reports" / scenario / f"{briefing}.manifest.json").read_text())


def summary(project: Path) -> dict:
    return json.loads((project / "reports" / "build-summary.json").read_text())


def statuses(project: Path) -> dict[tuple[str, str], str]:
    return {(j["briefing"], j["scenario"]): j["status"] for j in summary(project)["jobs"]}


class RefCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.refs += [v for k, v in attrs if k in {"src", "href"} and v]


def network_refs(page: str) -> list[str]:
    """Every src/href that would reach the network (relative links and in-page anchors are fine)."""
    from urllib.parse import urlparse

    parser = RefCollector()
    parser.feed(page)
    return [r for r in parser.refs if r.startswith("//") or urlparse(r).scheme not in ("", "data")]


def edit_note(table: Path) -> None:
    """Change one cell of one row of a data table (its free-text note), keeping the table valid."""
    with table.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    column = rows[0].index("note")
    rows[1][column] = (rows[1][column] + " (edited)").strip()
    with table.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def test_end_to_end_html_and_pdf(real_build):
    """The tiny briefing of the session's shared build of base (HTML and PDF, by the CLI in a subprocess)."""
    reports = real_build("base")
    out = reports / "base"
    page = (out / "tiny.html").read_text()
    # Self-contained: no src/href leaves the page, no require.js or MathJax.
    assert network_refs(page) == []
    assert "require.js" not in page and "MathJax" not in page
    # The chart: a static SVG for readers without JavaScript, and the spec for vegaEmbed with tooltips.
    assert page.count('class="chart"') == 1 and "<svg" in page and "window.vegaEmbed(" in page and '"tooltip"' in page
    assert "Figure 1." in page and "Table 1." in page and "Data as of" in page and "Scenario" in page
    assert "import altair" not in page, "code must be hidden"
    # The PDF: the title as text, the chart drawn as vectors (no raster images), fonts embedded.
    pdf = out / "tiny.pdf"
    text = subprocess.run([require_tool("pdftotext"), str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Tiny briefing tiny" in text and "Figure 1." in text and "Page 1 of" in text
    images = subprocess.run([require_tool("pdfimages"), "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert len(images.strip().splitlines()) == 2, f"expected no raster images:\n{images}"
    fonts = subprocess.run([require_tool("pdffonts"), str(pdf)], capture_output=True, text=True, check=True).stdout
    assert len(fonts.strip().splitlines()) > 2
    # The manifest records what a scheduled build needs to explain itself.
    m = json.loads((out / "tiny.manifest.json").read_text())
    for key in ("parameters", "git", "versions", "inputs", "cache_key", "timings", "metrics", "exit_status", "data_as_of"):
        assert key in m
    assert set(m["inputs"]["tables"]) == {"stage_shares", "sources"}, "the tables the briefing read, for the cache"
    assert m["metrics"]["scenario_seen"] == "base"
    assert {"kernel_start_s", "first_cell_s", "cells_s", "execute_s", "html_s", "pdf_s"} <= m["timings"].keys()
    assert m["timings"]["first_cell_s"] <= m["timings"]["cells_s"], "the first code cell is one of the cells"
    with real_build.lock():  # no other scenario is being built into the shared project meanwhile
        assert not list(reports.glob(".tmp/*")), "no leftovers"


def dry_run(project: Path, *args: str) -> dict[tuple[str, str], str]:
    """``build --dry-run ARGS``: the jobs it would build, each with why (the inputs it names), and nothing written."""
    before = snapshot(project / "reports")
    result = run_cli(project, "build", "--dry-run", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert snapshot(project / "reports") == before, "a dry run writes nothing"
    lines = result.stdout.splitlines()
    assert lines[0].startswith("dry run: ") and lines[0].endswith("nothing was run or written"), result.stdout
    would = {}
    for line in lines[1:]:
        name, why = line.removeprefix("  would build  ").split(": ", 1)
        briefing, scenario = name.split(" × ")
        would[(briefing, scenario)] = why
    return would


def test_cache_rebuilds_exactly_what_changed(built_copy):
    """What an input's change rebuilds, said by ``build --dry-run`` (the build's own plan, no kernel) and, for a
    parameter and a data table, done by a build whose summary names the same change."""
    project = built_copy  # base and controls_reimposed built once (HTML) by the session's first build, then copied
    assert statuses(project) == {("tiny", "base"): "built", ("tiny", "controls_reimposed"): "built"}
    both = ("--scenario", "base", "--scenario", "controls_reimposed", "--format", "html")

    # No change: nothing would be built, and a build runs no kernel.
    assert dry_run(project, *both) == {}
    again = run_cli(project, "build", *both)
    assert again.returncode == 0
    assert set(statuses(project).values()) == {"cached"}
    assert "0 built, 2 up to date" in again.stdout

    # A parameter change rebuilds only that scenario; the summary shows how the metric moved.
    params = project / "params" / "base.yaml"
    params.write_text(params.read_text() + "multiplier: 2.0\n")
    would = dry_run(project, *both)
    assert set(would) == {("tiny", "base")} and "parameter multiplier: 1.0 -> 2.0" in would[("tiny", "base")]
    third = run_cli(project, "build", *both)
    assert statuses(project) == {("tiny", "base"): "built", ("tiny", "controls_reimposed"): "cached"}
    assert "parameter multiplier: 1.0 -> 2.0" in third.stdout
    assert "max_scaled_share:" in third.stdout
    index = (project / "reports" / "index.html").read_text()
    assert "What changed since the last build" in index and "max_scaled_share" in index and network_refs(index) == []

    def after(path: Path, change, *args: str) -> dict[tuple[str, str], str]:
        """What a dry run of base (HTML) would build after ``change(path)``; the file is then restored."""
        text = path.read_bytes()
        change(path)
        try:
            return dry_run(project, "--scenario", "base", "--format", "html", *args)
        finally:
            path.write_bytes(text)

    def append(line: str):
        return lambda path: path.write_text(path.read_text() + line)

    # A change to a table the briefing did not read rebuilds nothing; to a library module or the notebook, it does.
    data = project / "rare_earth_lib" / "data"
    assert after(data / "prices.csv", edit_note) == {}
    assert after(project / "rare_earth_lib" / "report" / "briefing.py", append("\n# touched\n")) == {("tiny", "base"): "library"}
    notebook = project / "notebooks" / "tiny.ipynb"
    assert after(notebook, lambda p: p.write_text(p.read_text().replace("The rows shown", "The rows that are shown"))) == {
        ("tiny", "base"): "notebook"
    }
    # Asking for a format the last build did not make rebuilds; --force always does.
    assert dry_run(project, "--scenario", "base") == {("tiny", "base"): "format pdf not in the last build"}
    assert dry_run(project, "--scenario", "base", "--format", "html", "--force") == {("tiny", "base"): "--force"}

    # ... and a change to a table it read rebuilds it, as the dry run said.
    edit_note(data / "stage_shares.csv")
    assert dry_run(project, "--scenario", "base", "--format", "html") == {("tiny", "base"): "data table stage_shares"}
    run_cli(project, "build", "--scenario", "base", "--format", "html")
    assert statuses(project) == {("tiny", "base"): "built"}
    assert summary(project)["jobs"][0]["changes"]["inputs"] == ["data table stage_shares"]


def test_failing_cell_is_named_others_still_build_and_good_output_stays(tmp_path):
    project = make_project(tmp_path / "p", briefings=("tiny", "other"))
    assert run_cli(project, "build", "--scenario", "base", "--format", "html").returncode == 0
    good = (project / "reports" / "base" / "tiny.html").read_bytes()
    good_manifest = manifest(project)
    (project / "params" / "base.yaml").write_text((project / "params" / "base.yaml").read_text() + "multiplier: 3.0\n")
    model = project / "rare_earth_lib" / "parameters" / "tiny.py"
    model.write_text(model.read_text().replace("fail_in_cell: bool = Field(False", "fail_in_cell: bool = Field(True"))
    nb = project / "notebooks" / "tiny.ipynb"
    nb.write_text(nb.read_text().replace("fail_in_cell = False", "fail_in_cell = True"))
    result = run_cli(project, "build", "--scenario", "base", "--format", "html")
    assert result.returncode == 1
    assert "tiny × base: cell 4" in result.stdout and "RuntimeError: asked to fail" in result.stdout
    assert "reports/base/tiny.failed.ipynb" in result.stdout
    assert (project / "reports" / "base" / "tiny.failed.ipynb").is_file()
    assert (project / "reports" / "base" / "tiny.html").read_bytes() == good, "the previous good briefing stays"
    assert manifest(project) == good_manifest
    assert statuses(project)[("other", "base")] == "built"
    assert "last build FAILED" in (project / "reports" / "index.html").read_text()


def test_cell_timeout(project):
    # The cell sleeps 240 s: a build that ends well before that proves the 3 s timeout fired, with room for
    # kernel start-up on a loaded machine.
    (project / "params" / "base.yaml").write_text((project / "params" / "base.yaml").read_text() + "sleep_s: 240\n")
    started = time.monotonic()
    result = run_cli(project, "build", "--scenario", "base", "--format", "html", "--cell-timeout", "3")
    assert result.returncode == 1
    assert "tiny × base" in result.stdout and "timed out" in result.stdout.lower()
    # The cell is named like any other failing cell: its number and first source line (normally the sleeping
    # cell 4; on a loaded machine the imports of cell 3 may already take 3 s).
    import re

    import nbformat

    match = re.search(r'cell (\d+) of notebooks/tiny.ipynb \("([^"]*)"\) timed out after 3 s', result.stdout)
    assert match, result.stdout
    cells = nbformat.read(project / "notebooks" / "tiny.ipynb", as_version=4).cells
    assert cells[int(match.group(1)) - 1].source.splitlines()[0] == match.group(2)
    assert int(match.group(1)) in (3, 4)
    assert "executed notebook kept at reports/base/tiny.failed.ipynb" in result.stdout
    assert time.monotonic() - started < 150
    # The kept notebook is the run as far as it went: the cells before the one that timed out have their outputs.
    kept = nbformat.read(project / "reports" / "base" / "tiny.failed.ipynb", as_version=4)
    code = [c for c in kept.cells if c.cell_type == "code"]
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in code)
    if int(match.group(1)) == 4:
        assert any(o.get("output_type") == "display_data" for o in code[2].outputs), "the title block's output is kept"


def test_second_build_exits_3_while_the_lock_is_held(project):
    from filelock import FileLock

    (project / "reports").mkdir()
    with FileLock(str(project / "reports" / ".build.lock")):
        result = run_cli(project, "build", "--scenario", "base")
    assert result.returncode == 3
    assert "another build holds reports/.build.lock" in result.stderr
    assert not (project / "reports" / "base").exists()


def test_overlapping_builds_end_consistent(project):
    cmd = [sys.executable, "-m", "rare_earth_lib.build.cli", "--root", str(project), "build", "--scenario", "base", "--format", "html"]
    procs = [
        subprocess.Popen(cmd, cwd=project, env=cli_env(project), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    codes = sorted(p.wait(timeout=300) for p in procs)
    assert codes in ([0, 0], [0, 3])
    m = manifest(project)
    html_file = project / "reports" / "base" / "tiny.html"
    import hashlib

    assert m["outputs"]["html"]["sha256"] == hashlib.sha256(html_file.read_bytes()).hexdigest()


def test_kill_9_mid_build_keeps_previous_outputs_and_next_build_recovers(built_copy):
    project = built_copy  # base already built
    before = snapshot(project / "reports" / "base")
    (project / "params" / "base.yaml").write_text((project / "params" / "base.yaml").read_text() + "multiplier: 2.0\nsleep_s: 20\n")
    cmd = [sys.executable, "-m", "rare_earth_lib.build.cli", "--root", str(project), "build", "--scenario", "base", "--cell-timeout", "120"]
    proc = subprocess.Popen(
        cmd, cwd=project, env=cli_env(project), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    staged = project / "reports" / ".tmp"
    deadline = time.monotonic() + 60
    while not any(staged.glob("*/tiny.ipynb")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert any(staged.glob("*/tiny.ipynb")), "the build never reached execution"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert snapshot(project / "reports" / "base") == before, "kill -9 must leave the previous outputs untouched"
    (project / "params" / "base.yaml").write_text((project / "params" / "base.yaml").read_text().replace("sleep_s: 20\n", ""))
    result = run_cli(project, "build", "--scenario", "base")
    assert result.returncode == 0, result.stdout + result.stderr
    assert manifest(project)["parameters"]["multiplier"] == 2.0
    assert not any(staged.glob("*")), "leftovers of the killed build are cleaned up"


def test_parameter_strings_reach_the_notebook_as_data_and_quiet_prints_nothing(project):
    """A scenario title with quotes, markup and code is shown as text; ``--quiet`` prints nothing on success."""
    title = 'Quote " and <script>alert(1)</script> and \\n; import os'
    (project / "params" / "odd.yaml").write_text(f"# Odd title.\nscenario_title: {json.dumps(title)}\n")
    result = run_cli(project, "build", "--scenario", "odd", "--format", "html", "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "" and result.stderr == ""
    page = (project / "reports" / "odd" / "tiny.html").read_text()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert manifest(project, "odd")["parameters"]["scenario_title"] == title


def test_bad_data_row_is_bad_input_before_any_kernel_and_keeps_good_briefings(built_copy):
    project = built_copy  # base already built
    before = snapshot(project / "reports" / "base")
    table = project / "rare_earth_lib" / "data" / "stage_shares.csv"
    with table.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows[3][rows[0].index("share")] = "ninety percent"
    with table.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    result = run_cli(project, "build", "--scenario", "base", "--format", "html")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "stage_shares.csv" in result.stderr and "row 4" in result.stderr and "share" in result.stderr
    assert snapshot(project / "reports" / "base") == before
    assert run_cli(project, "validate").returncode == 2


def test_warm_kernels_give_the_same_briefings_as_cold_ones(tmp_path):
    """With one worker (``RARE_EARTH_JOBS=1``, as every test build but the real one), the first job runs on the kernel
    started while the data were validated, and the next on that same kernel, kept with a new session; two briefings
    share it in turn and each result equals a cold run's: nothing the first briefing defined is left for the second (a
    probe, which both define, counts how often its own name was already defined)."""
    import shutil

    warm = make_project(tmp_path / "warm", briefings=("tiny", "other"))
    for name in ("tiny", "other"):
        path = warm / "notebooks" / f"{name}.ipynb"
        nb = nbf.read(path, as_version=4)
        nb.cells.append(
            nbf.v4.new_code_cell("leak_probe = globals().get('leak_probe', 0) + 1\ndoc.record_metrics({'leak_probe': leak_probe})")
        )
        nbf.write(nb, path)
    cold = Path(shutil.copytree(warm, tmp_path / "cold"))
    args = ["build", "--scenario", "base", "--format", "html"]
    for project, flag in ((warm, "1"), (cold, "0")):
        env = {**cli_env(project), "RARE_EARTH_WARM_KERNELS": flag}
        result = subprocess.run(
            [sys.executable, "-m", "rare_earth_lib.build.cli", "--root", str(project), *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    keys = [(b, "base") for b in ("tiny", "other")]
    warm_runs = {k: manifest(warm, k[1], k[0]) for k in keys}
    cold_runs = {k: manifest(cold, k[1], k[0]) for k in keys}
    assert all(m["timings"]["warm_kernel"] for m in warm_runs.values()), "every job ran on a warm kernel"
    assert not any(m["timings"]["warm_kernel"] for m in cold_runs.values())
    assert sorted(m["timings"]["kernel_earlier_jobs"] for m in warm_runs.values()) == [0, 1], "one kernel ran both"
    for key in keys:
        assert warm_runs[key]["metrics"]["leak_probe"] == 1, key
        counts = [
            [
                c.get("execution_count")
                for c in nbf.read(p / "reports" / key[1] / f"{key[0]}.ipynb", as_version=4).cells
                if c.cell_type == "code"
            ]
            for p in (warm, cold)
        ]
        assert counts[0] == counts[1], key  # numbered from 1 on the kept kernel too
        assert warm_runs[key]["metrics"] == cold_runs[key]["metrics"], key
        assert warm_runs[key]["parameters"] == cold_runs[key]["parameters"], key
        assert warm_runs[key]["inputs"]["tables"] == cold_runs[key]["inputs"]["tables"], key
        assert warm_runs[key]["metrics"]["scenario_seen"] == key[1]
    assert not (warm / "reports" / ".tmp").exists() or not any((warm / "reports" / ".tmp").iterdir())


def test_warm_up_runs_each_import_of_the_notebooks_once_and_binds_nothing(tmp_path, monkeypatch):
    """A spare kernel's warm-up is the build's notebooks' own top-level imports, each run on its own: a failing one
    leaves the rest warm, a cell that is not plain Python adds nothing, and the user namespace stays empty."""
    from rare_earth_lib.build.executor import warm_up_code

    (tmp_path / "warm_probe_a.py").write_text("LOADED = True\n")
    (tmp_path / "warm_probe_b.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    first, second = nbf.v4.new_notebook(), nbf.v4.new_notebook()
    first.cells = [
        nbf.v4.new_markdown_cell("import warm_probe_never  (prose, not code)"),
        nbf.v4.new_code_cell("import json\nimport warm_probe_missing_module\nx = 1"),
        nbf.v4.new_code_cell("%matplotlib inline\nimport warm_probe_magic"),
        nbf.v4.new_code_cell("def f():\n    import warm_probe_nested\n"),
    ]
    second.cells = [nbf.v4.new_code_cell("from warm_probe_a import LOADED\nimport json\nimport warm_probe_b as b")]
    paths = []
    for i, nb in enumerate((first, second)):
        paths.append(tmp_path / f"nb{i}.ipynb")
        nbf.write(nb, paths[-1])
    code = warm_up_code(paths)
    body = compile(code, "<test>", "exec")
    assert code.count("import json") == 1, "an import two notebooks share runs once"
    for absent in ("warm_probe_never", "warm_probe_magic", "warm_probe_nested", "x = 1", "def f"):
        assert absent not in code
    for name in ("warm_probe_a", "warm_probe_b"):
        sys.modules.pop(name, None)
    namespace: dict = {}
    exec(body, namespace)  # the missing module's import fails inside the warm-up, the later ones still run
    assert set(namespace) == {"__builtins__"}
    assert "warm_probe_a" in sys.modules and "warm_probe_b" in sys.modules
    assert "warm_probe_missing_module" not in sys.modules
