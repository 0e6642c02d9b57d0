"""Faults a scheduled build meets: kills, wrong parameters, bad input, broken state, bad data, a full disk.

Each class of fault is pinned here on the tiny fixture project (tests/conftest.py ``make_project``):
the exit code, the one line that names the culprit, no traceback, and nothing under ``reports/<scenario>/``
replaced by a wrong or broken briefing.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from conftest import cli_env, run_cli, snapshot

from rare_earth_lib.build import cli, pipeline
from rare_earth_lib.parameters import ParamsError, read_scenario_file

ROOT = Path(__file__).resolve().parents[2]


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def copy(built_copy: Path) -> Path:
    """A fresh copy of the session's built tiny project (conftest ``tiny_built``; its briefings are up to date in the copy too)."""
    return built_copy


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real notebooks and scenarios in a throwaway folder, with a previous good briefing; no kernel may start."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(ROOT / "params", tmp_path / "params")
    good = tmp_path / "reports" / "base"
    good.mkdir(parents=True)
    (good / "refining_timeline.html").write_text("<p>previous good briefing</p>")

    def no_kernels(*args, **kwargs):
        raise AssertionError("a kernel pool was started")

    monkeypatch.setattr(pipeline.cf, "ProcessPoolExecutor", no_kernels)
    return tmp_path


def main(root: Path, *args: str) -> int:
    return cli.main(["--root", str(root), *args])


def add_params(project: Path, text: str, scenario: str = "base") -> None:
    path = project / "params" / f"{scenario}.yaml"
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def edit_notebook(project: Path, change, name: str = "tiny") -> None:
    path = project / "notebooks" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr


def run_patched(project: Path, patch: str, *args: str) -> subprocess.CompletedProcess:
    """Run the CLI in a subprocess after ``patch`` (Python source) has replaced something, to simulate a fault."""
    code = f"import sys\n{patch}\nfrom rare_earth_lib.build import cli\nsys.exit(cli.main({['--root', str(project), *args]!r}))"
    return subprocess.run([sys.executable, "-c", code], cwd=project, env=cli_env(project), capture_output=True, text=True, timeout=300)


def start_build(project: Path, *args: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "rare_earth_lib.build.cli", "--root", str(project), "build", "--scenario", "base", *args]
    return subprocess.Popen(cmd, cwd=project, env=cli_env(project), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_kernel(proc: subprocess.Popen, timeout: float = 120) -> list[psutil.Process]:
    """Wait until the build's kernel runs; return every process the build has started by then."""
    main = psutil.Process(proc.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the build ended early: {proc.communicate()}"
        try:
            family = main.children(recursive=True)
            if any("ipykernel" in " ".join(p.cmdline()) for p in family):
                time.sleep(2)  # well into the sleeping cell
                return main.children(recursive=True)
        except psutil.Error:
            pass
        time.sleep(0.2)
    raise AssertionError("the build never started a kernel")


def survivors(processes: list[psutil.Process]) -> list[str]:
    out = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(f"{p.pid} {' '.join(p.cmdline())[:100]}")
        except psutil.NoSuchProcess:
            pass
    return out


# --- 1. the build dies with its process ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=["SIGKILL", "SIGTERM", "SIGINT"])
def test_signal_to_the_main_process_mid_kernel_stops_everything_and_publishes_nothing(copy, sig):
    before = snapshot(copy / "reports" / "base")
    add_params(copy, "multiplier: 2.0\nsleep_s: 40\n")
    proc = start_build(copy, "--format", "html", "--cell-timeout", "120")
    family = wait_for_kernel(proc)
    assert any("ipykernel" in " ".join(p.cmdline()) for p in family) and len(family) >= 2
    started = time.monotonic()
    os.kill(proc.pid, sig)  # the main process only, as `kill PID`, `timeout` and CI runners do
    out, err = proc.communicate(timeout=30)
    ended = time.monotonic() - started
    deadline = time.monotonic() + 5
    while survivors(family) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert survivors(family) == [], "no worker, kernel or helper of the build may outlive it"
    time.sleep(3)  # an orphan would publish within seconds; nothing may change
    assert snapshot(copy / "reports" / "base") == before
    if sig == signal.SIGKILL:
        # What a killed build leaves (its staging) the next build removes before it publishes the scenario's values:
        # tests/build/test_build.py, test_kill_9_mid_build_keeps_previous_outputs_and_next_build_recovers.
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 128 + sig, err
        assert ended < 10, "SIGTERM/SIGINT end the build promptly"
        assert "interrupted by" in err and "previous briefings kept" in err and "Traceback" not in err
        assert not any((copy / "reports" / ".tmp").glob("*")), "staging is removed"


def test_workers_ask_to_die_with_their_parent():
    """The pool worker's start-up and every kernel command line carry the parent-death request."""
    from rare_earth_lib.build import executor

    cmd = executor.guarded_kernel_cmd(["python", "-m", "ipykernel_launcher", "-f", "x.json"])
    assert cmd[:2] == [sys.executable, "-c"] and "prctl(1, signal.SIGKILL" in cmd[2] and cmd[3] == str(os.getpid())
    assert cmd[4:] == ["python", "-m", "ipykernel_launcher", "-f", "x.json"]
    from jupyter_client.manager import AsyncKernelManager

    assert issubclass(executor.kernel_manager_class(), AsyncKernelManager), "nbclient's cell timeout needs the async manager"
    # The guard really execs the command, and refuses to run once its parent is not the one named.
    ran = subprocess.run([*executor.guarded_kernel_cmd([sys.executable, "-c", "print('kernel')"])], capture_output=True, text=True)
    assert ran.returncode == 0 and ran.stdout == "kernel\n"
    stale = executor.guarded_kernel_cmd([sys.executable, "-c", "print('kernel')"])
    stale[3] = "1"
    assert subprocess.run(stale, capture_output=True, text=True).returncode == 1


def test_only_the_publisher_writes_reports_and_it_takes_bytes_or_staged_files(tmp_path):
    """A result from any executor (paths or bytes) is published by the main process; a job never writes reports/<scenario>/."""
    reports = tmp_path / "reports"
    staging = pipeline.reset_staging(reports)
    job = pipeline.Job("tiny", "base", tmp_path / "tiny.ipynb", {"scenario": "base", "scenario_title": "Base case"}, ("html",), reports)
    job.tmp_dir.mkdir(parents=True)
    (job.tmp_dir / "tiny.ipynb").write_text("{}")
    (job.tmp_dir / "tiny.html").write_text("<p>new</p>")
    manifest = {"schema": 1, "briefing": "tiny", "scenario": "base", "status": "ok", "built_at": "x", "cache_key": "k", "outputs": {}}
    staged = pipeline.Staged(
        "tiny",
        "base",
        "built",
        files={"ipynb": job.tmp_dir / "tiny.ipynb", "html": job.tmp_dir / "tiny.html"},
        manifest=manifest,
        used_parameters=[dict(job.params)],
    )
    in_memory = staged.as_bytes()
    assert in_memory.files == {"ipynb": b"{}", "html": b"<p>new</p>"}
    assert not (reports / "base").exists(), "staging a result publishes nothing"
    assert pipeline.publish(job, in_memory, staging).status == "built"
    assert (reports / "base" / "tiny.html").read_text() == "<p>new</p>"
    assert json.loads((reports / "base" / "tiny.manifest.json").read_text())["briefing"] == "tiny"
    # A staged path outside reports/.tmp is refused.
    with pytest.raises(ValueError, match="not staged"):
        pipeline._place(tmp_path / "tiny.ipynb", reports / "base" / "x.ipynb", staging)


# --- 2. a briefing is provably built with its scenario's parameters --------------------------------


@pytest.mark.parametrize("tags", [[], [["parameters"], ["parameters"]]], ids=["no tag", "two tags"])
def test_notebook_needs_exactly_one_parameters_cell(root, capsys, tags):
    def retag(nb):
        for cell in nb.cells:
            cell.metadata.pop("tags", None)
        for cell, tag in zip(nb.cells, tags, strict=False):
            cell.metadata["tags"] = tag

    edit_notebook(root, retag, "refining_timeline")
    before = snapshot(root / "reports")
    assert main(root, "build", "--scenario", "us_policy_reversal") == 2
    err = capsys.readouterr().err
    assert "notebooks/refining_timeline.ipynb: needs exactly one cell tagged 'parameters'" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert snapshot(root / "reports") == before
    assert main(root, "validate") == 2
    assert "refining_timeline.ipynb" in capsys.readouterr().err


@pytest.mark.slow
def test_notebook_that_overwrites_its_parameters_fails_and_keeps_the_good_briefing(copy):
    """A defaults cell after the tagged one would publish other numbers under the scenario's name."""

    def overwrite(nb):
        nb.cells.insert(2, nbformat.v4.new_code_cell("multiplier = 0.5"))

    edit_notebook(copy, overwrite)
    before = snapshot(copy / "reports" / "base")
    result = run_cli(copy, "build", "--scenario", "base", "--format", "html")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "tiny × base: the notebook ran with multiplier=0.5 but params/base.yaml gives 1.0" in result.stdout
    assert "'parameters' tag" in result.stdout and "executed notebook kept at reports/base/tiny.failed.ipynb" in result.stdout
    after = snapshot(copy / "reports" / "base")
    assert after.pop("tiny.failed.ipynb")
    assert after == before, "a briefing built with other parameters is never published"
    no_traceback(result)
    assert "the notebook ran with multiplier=0.5" in (copy / "reports" / ".logs" / "base__tiny.log").read_text()


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("", ["params/bad.yaml", "empty", "scenario_title"]),
        ("# only a comment\n", ["params/bad.yaml", "empty"]),
        ("seed: 5\n", ["params/bad.yaml", "'scenario_title'", "missing"]),
        ("scenario_title: A\nseed: 2\nseed: 3\n", ["params/bad.yaml", "'seed'", "line 2 and line 3"]),
    ],
    ids=["empty", "comment only", "no title", "duplicate key"],
)
def test_empty_titleless_and_duplicate_key_scenarios_are_bad_input(root, capsys, text, fragments):
    (root / "params" / "bad.yaml").write_text(text)
    before = snapshot(root / "reports")
    assert main(root, "build", "--scenario", "bad") == 2
    err = capsys.readouterr().err
    for fragment in fragments:
        assert fragment in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert snapshot(root / "reports") == before


def test_duplicate_keys_are_refused_by_the_one_reader(tmp_path):
    path = tmp_path / "params" / "dup.yaml"
    path.parent.mkdir()
    path.write_text("# A scenario.\nscenario_title: A\n\nseed: 1\nscenario_title: B\n")
    with pytest.raises(ParamsError, match=r"params/dup.yaml: parameter 'scenario_title': key given twice, at line 2 and line 5"):
        read_scenario_file(path)


# --- 3. every failure is classified and short ------------------------------------------------------


def test_huge_parameter_value_is_quoted_briefly(root, capsys):
    (root / "params" / "big.yaml").write_text("scenario_title: " + "x" * 20_000_000 + "\n")
    assert main(root, "build", "--scenario", "big") == 2
    err = capsys.readouterr().err
    assert "params/big.yaml: parameter 'scenario_title'" in err and "more characters" in err
    assert len(err) < 1000 and "Traceback" not in err


def test_lock_file_that_cannot_be_opened_is_an_environment_fault_naming_it(root, capsys):
    (root / "reports" / ".build.lock").mkdir()
    assert main(root, "build", "--scenario", "base") == pipeline.EXIT_ENVIRONMENT == 4
    err = capsys.readouterr().err
    assert "environment fault: reports/.build.lock: Is a directory (OS error 21)" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "Traceback" in (root / "reports" / ".logs" / "rare-earth-report.log").read_text()
    assert main(root, "--debug", "build", "--scenario", "base") == 4
    assert "Traceback" in capsys.readouterr().err


def test_read_only_reports_is_an_environment_fault_naming_the_path(root, capsys, monkeypatch):
    def read_only(reports, warn=None):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(reports / ".tmp"))

    monkeypatch.setattr(pipeline, "reset_staging", read_only)
    before = snapshot(root / "reports" / "base")
    assert main(root, "build", "--scenario", "base") == 4
    err = capsys.readouterr().err
    assert "environment fault: reports/.tmp: Read-only file system (OS error 30)" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert snapshot(root / "reports" / "base") == before


FULL_DISK_INDEX = """
import errno, os
from rare_earth_lib.build import index
def full(reports, summary):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(reports / "index.html"))
index.write = full
"""


@pytest.mark.slow
def test_full_disk_when_the_index_is_written_exits_4_naming_it(copy):
    before = snapshot(copy / "reports" / "base")
    result = run_patched(copy, FULL_DISK_INDEX, "build", "--scenario", "base", "--format", "html")
    assert result.returncode == 4, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("rare-earth-report:")]
    assert errors == [
        "rare-earth-report: error: environment fault: reports/index.html: No space left on device (OS error 28); "
        "traceback in reports/.logs/rare-earth-report.log"
    ]
    no_traceback(result)
    assert snapshot(copy / "reports" / "base") == before


def test_write_atomic_on_a_full_disk_keeps_the_old_file_whole(tmp_path, monkeypatch):
    target = tmp_path / "tiny.failed.ipynb"
    target.write_text("old, whole")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pipeline.os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        pipeline.write_atomic(target, b"new" * 1000, tmp_path / ".tmp")
    assert target.read_text() == "old, whole"
    assert list((tmp_path / ".tmp").iterdir()) == [], "the partial temporary file is removed"


def test_list_over_a_garbage_params_file_names_it(root, capsys):
    (root / "params" / "garbage.yaml").write_bytes(b"\xff\xfe\x00garbage")
    assert main(root, "list") == 2
    out, err = capsys.readouterr()
    assert "refining_timeline" in out and "garbage" in out
    assert "scenario garbage: params/garbage.yaml: not UTF-8 text" in err and "Traceback" not in err


# --- 4. self-healing state ------------------------------------------------------------------------


@pytest.mark.slow
def test_corrupt_state_is_treated_as_missing_and_rebuilt(copy):
    reports = copy / "reports"
    manifest = reports / "base" / "tiny.manifest.json"
    manifest.write_text(manifest.read_text()[:200])  # a partial manifest
    (reports / "base" / "other.manifest.json").write_text('{"schema": 1, "status": "ok"}')  # another briefing's, partial
    (reports / "build-summary.json").write_text("{not json")
    with (reports / "history.jsonl").open("a") as fh:
        fh.write('{"jobs": ["not a job", 3], "finished_at": "x"}\n{"jobs": [{"briefing"\n\x00garbage\n')
    shutil.rmtree(reports / ".tmp", ignore_errors=True)
    (reports / ".tmp").write_text("a file where staging goes")
    result = run_cli(copy, "build", "--scenario", "base", "--format", "html")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reports/base/tiny.manifest.json: not valid JSON (partial or corrupt); treated as missing" in result.stderr
    assert "reports/.tmp was not a folder; moved it aside" in result.stderr
    assert json.loads(manifest.read_text())["status"] == "ok"
    assert json.loads((reports / "build-summary.json").read_text())["counts"]["built"] == 1
    assert "tiny" in (reports / "index.html").read_text()
    no_traceback(result)
    # The next build is clean: up to date, no warnings about the state it repaired.
    again = run_cli(copy, "build", "--scenario", "base", "--format", "html")
    assert again.returncode == 0 and "0 built, 1 up to date" in again.stdout and "warning" not in again.stderr


@pytest.mark.slow
def test_leftovers_in_staging_are_removed_and_a_stale_failed_notebook_goes(copy):
    reports = copy / "reports"
    (reports / ".tmp" / "base__tiny" / "junk").mkdir(parents=True)
    (reports / ".tmp" / "stray.txt").write_text("x")
    (reports / "base" / "tiny.failed.ipynb").write_text("{}")  # from a failure since fixed
    result = run_cli(copy, "build", "--scenario", "base", "--format", "html")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 built, 1 up to date" in result.stdout
    assert "removed leftovers in reports/.tmp" in result.stderr
    assert not (reports / "base" / "tiny.failed.ipynb").exists()
    assert not any((reports / ".tmp").glob("*"))


# --- 5. data files --------------------------------------------------------------------------------


def _data_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = Path(shutil.copytree(ROOT / "rare_earth_lib" / "data", tmp_path / "data", ignore=shutil.ignore_patterns("*.py", "__pycache__")))
    monkeypatch.setenv("RARE_EARTH_DATA_DIR", str(data))
    return data


def _prices_with(data: Path, transform) -> None:
    path = data / "prices.csv"
    path.write_bytes(transform(path.read_bytes()))


@pytest.mark.parametrize(
    "case, breaks, fragments",
    [
        ("BOM", lambda d: _prices_with(d, lambda b: b"\xef\xbb\xbf" + b), ["prices.csv, row 1", "byte-order mark"]),
        (
            "non-UTF-8 byte",
            lambda d: _prices_with(d, lambda b: b.replace(b"\n", b"\n\xe9", 3).replace(b"\n\xe9", b"\n", 2)),
            ["prices.csv, row 4, column", "byte 0xe9 is not UTF-8"],
        ),
        ("header only", lambda d: _prices_with(d, lambda b: b.split(b"\n")[0] + b"\n"), ["prices.csv, row 2", "header but no data rows"]),
        ("missing descriptor", lambda d: (d / "datapackage.json").unlink(), ["datapackage.json", "descriptor is missing"]),
        ("truncated descriptor", lambda d: (d / "datapackage.json").write_text('{"resources": ['), ["datapackage.json", "not valid JSON"]),
        ("descriptor without resources", lambda d: (d / "datapackage.json").write_text("{}"), ["datapackage.json", "'resources'"]),
    ],
    ids=["BOM", "non-UTF-8 byte", "header only", "missing descriptor", "truncated descriptor", "descriptor without resources"],
)
def test_bad_data_files_are_bad_input_naming_file_row_and_column(tmp_path, monkeypatch, capsys, case, breaks, fragments):
    from rare_earth_lib.data import package as data_package

    data = _data_copy(tmp_path, monkeypatch)
    breaks(data)
    data_package.clear_cache()
    code = cli.main(["--root", str(ROOT), "validate"])
    err = capsys.readouterr().err
    assert code == 2, err
    for fragment in fragments:
        assert fragment in err, f"{case}: {fragment!r} not in {err!r}"
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_data_stops_the_build_before_any_kernel(root, capsys, tmp_path, monkeypatch):
    data = _data_copy(tmp_path, monkeypatch)
    (data / "datapackage.json").write_text('{"resources": [')
    before = snapshot(root / "reports" / "base")
    assert main(root, "build", "--scenario", "base", "--force") == 2
    err = capsys.readouterr().err
    assert "datapackage.json" in err and "not valid JSON" in err and "Traceback" not in err
    assert snapshot(root / "reports" / "base") == before
