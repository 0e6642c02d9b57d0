"""``rare-earth-report``: build, list, validate, compare and preview the briefings; write scenarios.

Exit codes: 0 all good; 1 a briefing failed (its previous good version stays); 2 bad input (nothing ran,
nothing under reports/ touched); 3 another build holds the lock; 4 an environment fault (read-only or full
disk, no permission: the message names the path and the OS error); 130 interrupted by SIGINT (Ctrl-C);
143 terminated by SIGTERM. Errors are one line each; --debug adds the traceback, which is always written to
reports/.logs/rare-earth-report.log when reports/ is writable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import traceback
from pathlib import Path

from rare_earth_lib import __version__, env
from rare_earth_lib.build import pipeline as b
from rare_earth_lib.parameters import ParamsError, clip

LINE_LIMIT = 400  # characters of one error line; input values are already quoted at most ~200 characters


def _formats(value: str) -> tuple[str, ...]:
    formats = tuple(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))
    bad = [f for f in formats if f not in b.FORMATS]
    if bad or not formats:
        raise argparse.ArgumentTypeError(f"unknown format {', '.join(bad) or '(none)'}: choose from {', '.join(b.FORMATS)}")
    return formats


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be a whole number of at least 1")
    return number


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rare-earth-report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--root", help="project folder holding notebooks/, params/ and reports/ (default: current folder); goes before the command"
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--debug", action="store_true", help="print the full traceback of an error on stderr")
    sub = p.add_subparsers(dest="command", required=True)
    bp = sub.add_parser("build", help="run briefings × scenarios and write reports/<scenario>/<briefing>.{ipynb,html,pdf}")
    bp.add_argument("--scenario", action="append", metavar="NAME", help="a params/NAME.yaml scenario (repeatable; default: all)")
    bp.add_argument("--briefing", action="append", metavar="NAME", help="a notebooks/NAME.ipynb briefing (repeatable; default: all)")
    bp.add_argument("--format", type=_formats, default=b.FORMATS, help="comma-separated formats: html,pdf (default: both)")
    bp.add_argument("--jobs", type=_positive_int, default=0, help="briefings run at once (default: $RARE_EARTH_JOBS, else one per core)")
    bp.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    bp.add_argument(
        "--dry-run", action="store_true", help="print which briefings would be built and why (what changed), then exit; run nothing"
    )
    going = bp.add_mutually_exclusive_group()
    going.add_argument(
        "--keep-going", dest="fail_fast", action="store_false", help="build the other briefings after a failure (the default)"
    )
    going.add_argument("--fail-fast", dest="fail_fast", action="store_true", help="stop starting new briefings after the first failure")
    bp.set_defaults(fail_fast=False)
    bp.add_argument(
        "--cell-timeout",
        type=_positive_int,
        default=b.DEFAULT_CELL_TIMEOUT_S,
        metavar="SECONDS",
        help=f"per-cell time limit (default: {b.DEFAULT_CELL_TIMEOUT_S})",
    )
    bp.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="wait up to SECONDS for another build's lock instead of exiting 3"
    )
    bp.add_argument("--quiet", action="store_true", help="print nothing unless something failed (for cron)")
    bp.add_argument(
        "--scheduler",
        default=os.environ.get(env.DASK_SCHEDULER) or None,
        metavar="ADDRESS",
        help="run the briefings on the Dask cluster at ADDRESS, e.g. tcp://host:8786 (default: $DASK_SCHEDULER_ADDRESS, else locally)",
    )
    bp.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter for this build (repeatable; applies to base unless --scenario is given); published as reports/<scenario>+KEY=VALUE/",
    )
    cp = sub.add_parser("compare", help="write reports/compare/A--B.html: parameters that differ, metrics side by side, charts overlaid")
    cp.add_argument("a", metavar="A", help="a built scenario (e.g. base)")
    cp.add_argument("b", metavar="B", help="another built scenario (e.g. controls_reimposed or base+slip_multiplier=2)")
    cp.add_argument(
        "--briefing", action="append", metavar="NAME", help="only this briefing (repeatable; default: every one built under both)"
    )
    op = sub.add_parser("open", help="open a briefing in JupyterLab with a scenario's parameters injected (a copy under scratch/)")
    op.add_argument("briefing", metavar="BRIEFING")
    op.add_argument("--scenario", default="base", metavar="NAME", help="the params/NAME.yaml scenario (default: base)")
    op.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a parameter (repeatable)")
    op.add_argument("--no-lab", action="store_true", help="write the copy and print its path; do not start JupyterLab")
    op.add_argument("--lab-args", default="", metavar="FLAGS", help='flags for jupyter lab, e.g. --lab-args "--no-browser --port 8899"')
    pv = sub.add_parser("preview", help="rebuild a briefing's HTML on every change and serve it on localhost with live reload")
    pv.add_argument("briefing", metavar="BRIEFING")
    pv.add_argument("--scenario", default="base", metavar="NAME", help="the params/NAME.yaml scenario (default: base)")
    pv.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a parameter (repeatable)")
    pv.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default: 8765)")
    pv.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    sub.add_parser("list", help="list briefings and scenarios with their titles")
    pp = sub.add_parser("params", help="every parameter of a briefing: type, bounds, default, description")
    pp.add_argument("briefing", nargs="?", metavar="BRIEFING", help="one briefing (default: all)")
    np_ = sub.add_parser("new-scenario", help="write params/NAME.yaml from another scenario with some values changed (validated)")
    np_.add_argument("name", metavar="NAME")
    np_.add_argument("--from", dest="source", default="base", metavar="SCENARIO", help="the scenario to start from (default: base)")
    np_.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="a changed value (repeatable)")
    np_.add_argument("--title", help="the new scenario's title (default: the source's title and the changes)")
    sub.add_parser(
        "validate",
        help="check every params file against every briefing's model, the notebooks' prose (numbers only through {eval}) and the data package; runs nothing",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command; every failure becomes one classified line on stderr and a documented exit code."""
    args = parser().parse_args(argv)
    layout = None
    try:
        layout = b.Layout.find(args.root)
        if args.command == "list":
            return _list(layout)
        if args.command == "validate":
            return _validate(layout)
        if args.command == "preview":
            return _preview(layout, args)
        if args.command == "open":
            return _open(layout, args)
        if args.command == "compare":
            return _compare(layout, args)
        if args.command == "params":
            return _params(args.briefing)
        if args.command == "new-scenario":
            return _new_scenario(layout, args)
        return _build(layout, args)
    except (b.BuildInputError, ParamsError) as exc:
        _error(str(exc))
        return b.EXIT_BAD_INPUT
    except b.LockedError as exc:
        _error(str(exc), prefix="")
        return b.EXIT_LOCKED
    except b.Interrupted as exc:
        _error(
            f"interrupted by {'SIGINT' if exc.exit_code == b.EXIT_SIGINT else 'SIGTERM'}: running briefings stopped, previous briefings kept"
        )
        return exc.exit_code
    except KeyboardInterrupt:
        _error("interrupted by SIGINT: previous briefings kept")
        return b.EXIT_SIGINT
    except OSError as exc:
        saved = _save_traceback(layout, args.debug)
        _error(f"environment fault: {b._os_error(exc)}{saved}")
        return b.EXIT_ENVIRONMENT
    except Exception as exc:
        if type(exc).__module__.startswith("rare_earth_lib.data"):  # a data rule (DataCheckError; not imported: pandas is slow)
            _error(str(exc))
            return b.EXIT_BAD_INPUT
        saved = _save_traceback(layout, args.debug)
        _error(f"internal error: {type(exc).__name__}: {clip(str(exc), 200)}{saved}")
        return b.EXIT_FAILED


def _error(message: str, prefix: str = "error: ") -> None:
    for line in message.splitlines() or [""]:
        print(f"rare-earth-report: {prefix}{clip(line, LINE_LIMIT)}", file=sys.stderr)


def _save_traceback(layout: b.Layout | None, debug: bool) -> str:
    """Write the traceback to reports/.logs/rare-earth-report.log (and stderr with --debug); say where it went."""
    text = traceback.format_exc()
    if debug:
        print(text, file=sys.stderr, end="")
    if layout is None:
        return "" if debug else " (run with --debug for the traceback)"
    log = Path(layout.reports) / ".logs" / "rare-earth-report.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} {sys.argv}\n{text}\n")
    except OSError:
        return "" if debug else " (traceback not saved: reports/ is not writable; run with --debug)"
    return f"; traceback in reports/.logs/{log.name}"


def _list(layout: b.Layout) -> int:
    """Briefings and scenarios with their titles; unreadable ones are listed, named on stderr, exit 2."""
    from rare_earth_lib import parameters
    from rare_earth_lib.build import scenarios

    problems: list[str] = []

    def guarded(kind: str, name: str, how):
        try:
            return how()
        except (ParamsError, OSError, UnicodeDecodeError) as exc:
            problems.append(f"{kind} {name}: {exc}")
        except Exception as exc:  # a parameter module that does not import
            problems.append(f"{kind} {name}: {type(exc).__name__}: {clip(str(exc), 200)}")
        return None

    unreadable = "(cannot describe: see the error below)"
    print("Briefings:")
    for name in layout.briefings():
        model = guarded("briefing", name, lambda name=name: parameters.briefing_model(name))
        print(f"  {name:<24} {model.briefing_title if model else unreadable}")
        if model and model.briefing_description:
            print(f"  {'':<24} {model.briefing_description}")
    print("Scenarios:")
    known = layout.scenarios()
    for name in scenarios.ordered(known):
        title = guarded("scenario", name, lambda name=name: scenarios.scenario_title(known[name]))
        print(f"  {name:<24} {title if title is not None else unreadable}")
    if problems:
        _error("\n".join(problems))
        return b.EXIT_BAD_INPUT
    return b.EXIT_OK


def _preview(layout: b.Layout, args: argparse.Namespace) -> int:
    from rare_earth_lib import parameters
    from rare_earth_lib.build import preview

    overrides = dict(parameters.parse_override(text) for text in args.overrides)
    b.validate_all(layout, *b.select(layout, [args.scenario], [args.briefing]), overrides)  # bad input: exit 2 before any kernel
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    session = preview.Preview(layout, args.briefing, args.scenario, overrides, log=log)
    log(f"preview: running {args.briefing} × {args.scenario} ...")
    session.refresh()
    server = preview.serve(session, args.port)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    log(f"preview: serving {url} (Ctrl-C stops); watching notebooks/{args.briefing}.ipynb, rare_earth_lib/ and params/{args.scenario}.yaml")
    if not args.no_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        preview.watch(session)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return b.EXIT_OK


def _open(layout: b.Layout, args: argparse.Namespace) -> int:
    """Write scratch/<briefing>--<scenario>.ipynb with the scenario's validated parameters injected, and open it in Lab."""
    import shlex
    import shutil
    import subprocess
    from pathlib import Path

    import papermill as pm

    from rare_earth_lib import parameters

    scenarios, briefings = b.select(layout, [args.scenario], [args.briefing])
    overrides = dict(parameters.parse_override(text) for text in args.overrides)
    validated = b.validate_all(layout, scenarios, briefings, overrides)
    (key,) = validated
    scratch = layout.root / "scratch"
    scratch.mkdir(exist_ok=True)
    target = scratch / f"{args.briefing}--{key[1]}.ipynb"
    pm.execute_notebook(
        str(layout.briefings()[args.briefing]),
        str(target),
        parameters=validated[key],
        prepare_only=True,
        progress_bar=False,
        log_output=False,
    )
    relative = target.relative_to(layout.root).as_posix()
    print(f"wrote {relative} ({key[1]}'s parameters injected; scratch/ is ignored by git)")
    if args.no_lab:
        return b.EXIT_OK
    lab = shutil.which("jupyter-lab", path=str(Path(sys.executable).parent)) or shutil.which("jupyter-lab")
    if lab is None:
        raise b.BuildInputError(f"JupyterLab is not installed: run `make lab` once (it installs the lab extra), then open {relative}")
    return subprocess.call([lab, f"--ServerApp.root_dir={layout.root}", relative, *shlex.split(args.lab_args)], cwd=layout.root)


def _compare(layout: b.Layout, args: argparse.Namespace) -> int:
    from rare_earth_lib.build import compare

    try:
        path = compare.write_comparison(layout.reports, args.a, args.b, args.briefing)
    except compare.CompareError as exc:
        raise b.BuildInputError(str(exc)) from None
    print(f"wrote {path.relative_to(layout.root).as_posix()}")
    return b.EXIT_OK


def _params(briefing: str | None) -> int:
    from rare_earth_lib import parameters
    from rare_earth_lib.build import scenarios

    names = [briefing] if briefing else parameters.briefing_names()
    print("\n\n".join(scenarios.format_parameters(name) for name in names))
    return b.EXIT_OK


def _new_scenario(layout: b.Layout, args: argparse.Namespace) -> int:
    import datetime as dt

    from rare_earth_lib.build import scenarios

    path = scenarios.write_new_scenario(layout.params, args.name, args.source, args.overrides, args.title, dt.date.today())
    print(f"wrote params/{path.name} (valid for every briefing); build it with: rare-earth-report build --scenario {args.name}")
    return b.EXIT_OK


def _validate(layout: b.Layout) -> int:
    scenarios, briefings = b.select(layout, None, None)
    b.validate_all(layout, scenarios, briefings)
    b.check_notebooks(layout, briefings)
    _check_prose(layout, briefings)
    from rare_earth_lib.data import package as data_package

    try:
        tables = data_package.validate_package()
    except data_package.DataPackageError as exc:
        raise b.BuildInputError(f"data package: {exc}") from None
    print(f"ok: {len(scenarios)} scenario files valid for {len(briefings)} briefings; {len(tables)} data tables valid")
    return b.EXIT_OK


def _check_prose(layout: b.Layout, briefings: list[str]) -> None:
    """The prose rule (:func:`rare_earth_lib.report.inline.prose_problems`): numbers reach markdown only through
    {eval} expressions on names a code cell defines; every break is one line naming notebook and cell (exit 2)."""
    import json

    from rare_earth_lib.report import inline

    problems = []
    for name in briefings:
        cells = json.loads(layout.briefings()[name].read_text(encoding="utf-8"))["cells"]
        problems += inline.prose_problems(cells, f"notebooks/{name}.ipynb")
    if problems:
        raise b.BuildInputError("\n".join(problems))


def _build(layout: b.Layout, args: argparse.Namespace) -> int:
    from rare_earth_lib import parameters
    from rare_earth_lib.build import index

    try:  # settings read later (the Dask clients' timeout, the workers): a bad value stops the build before anything runs
        env.dask_timeout_s()
        workers = args.jobs or env.build_jobs() or 0
    except ValueError as exc:
        raise b.BuildInputError(str(exc)) from None
    if args.overrides and not args.scenario:
        args.scenario = ["base"]  # a --set variant of the base case unless scenarios are named
    options = b.BuildOptions(
        scenarios=args.scenario,
        briefings=args.briefing,
        formats=args.format,
        jobs=workers,
        force=args.force,
        keep_going=not args.fail_fast,
        cell_timeout=args.cell_timeout,
        wait_s=args.wait,
        overrides=dict(parameters.parse_override(text) for text in args.overrides),
        scheduler=args.scheduler,
        dry_run=args.dry_run,
    )
    if args.quiet:
        code, summary = b.build(layout, options, log=lambda line: None)
    elif sys.stderr.isatty() and not args.dry_run:
        from rare_earth_lib.build.progress import LiveProgress
        from rare_earth_lib.build.scenarios import scenario_label

        scenarios, briefings = b.select(layout, args.scenario, args.briefing)
        jobs = [(name, scenario_label(s, options.overrides)) for s in scenarios for name in briefings]
        with LiveProgress(jobs, layout.reports) as live:
            code, summary = b.build(layout, options, log=live.log, progress=live.progress)
    else:
        code, summary = b.build(layout, options, log=lambda line: print(line, file=sys.stderr, flush=True))
    if code != b.EXIT_OK or not args.quiet:
        print(index.format_summary(summary))
    return code


if __name__ == "__main__":
    sys.exit(main())
