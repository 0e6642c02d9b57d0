"""``rare-earth-report``: build, list and validate the briefings.

Exit codes: 0 all good; 1 a briefing failed; 2 bad input (nothing ran, nothing under reports/ touched);
3 another build holds the lock.
"""

from __future__ import annotations

import argparse
import sys

from rare_earth_lib.build import pipeline as b
from rare_earth_lib.parameters import ParamsError


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
    p.add_argument("--root", help="project folder holding notebooks/, params/ and reports/ (default: current folder)")
    sub = p.add_subparsers(dest="command", required=True)
    bp = sub.add_parser("build", help="run briefings × scenarios and write reports/<scenario>/<briefing>.{ipynb,html,pdf}")
    bp.add_argument("--scenario", action="append", metavar="NAME", help="a params/NAME.yaml scenario (repeatable; default: all)")
    bp.add_argument("--briefing", action="append", metavar="NAME", help="a notebooks/NAME.ipynb briefing (repeatable; default: all)")
    bp.add_argument("--format", type=_formats, default=b.FORMATS, help="comma-separated formats: html,pdf (default: both)")
    bp.add_argument("--jobs", type=_positive_int, default=0, help="briefings run at once (default: number of cores)")
    bp.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
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
    sub.add_parser("list", help="list briefings and scenarios with one-line descriptions")
    sub.add_parser("validate", help="check every params file against every briefing's model, and the data package; runs nothing")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        layout = b.Layout.find(args.root)
        if args.command == "list":
            return _list(layout)
        if args.command == "validate":
            return _validate(layout)
        return _build(layout, args)
    except (b.BuildInputError, ParamsError) as exc:
        for line in str(exc).splitlines():
            print(f"rare-earth-report: error: {line}", file=sys.stderr)
        return b.EXIT_BAD_INPUT
    except b.LockedError as exc:
        print(f"rare-earth-report: {exc}", file=sys.stderr)
        return b.EXIT_LOCKED


def _list(layout: b.Layout) -> int:
    print("Briefings:")
    for name, path in layout.briefings().items():
        print(f"  {name:<24} {b.describe_briefing(path)}")
    print("Scenarios:")
    for name, path in layout.scenarios().items():
        print(f"  {name:<24} {b.describe_scenario(path)}")
    return b.EXIT_OK


def _validate(layout: b.Layout) -> int:
    scenarios, briefings = b.select(layout, None, None)
    b.validate_all(layout, scenarios, briefings)
    from rare_earth_lib.data import package as data_package

    try:
        tables = data_package.validate_package()
    except data_package.DataPackageError as exc:
        raise b.BuildInputError(f"data package: {exc}") from None
    print(f"ok: {len(scenarios)} scenario files valid for {len(briefings)} briefings; {len(tables)} data tables valid")
    return b.EXIT_OK


def _build(layout: b.Layout, args: argparse.Namespace) -> int:
    from rare_earth_lib.build import index

    options = b.BuildOptions(
        scenarios=args.scenario,
        briefings=args.briefing,
        formats=args.format,
        jobs=args.jobs,
        force=args.force,
        keep_going=not args.fail_fast,
        cell_timeout=args.cell_timeout,
        wait_s=args.wait,
    )
    bar = None
    if args.quiet:
        log = lambda line: None  # noqa: E731
    elif sys.stderr.isatty():
        from tqdm import tqdm

        scenarios, briefings = b.select(layout, args.scenario, args.briefing)
        bar = tqdm(total=len(scenarios) * len(briefings), unit="briefing", file=sys.stderr, dynamic_ncols=True)
        log = bar.write
    else:
        log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    try:
        code, summary = b.build(layout, options, log=log, progress=bar.update if bar else None)
    finally:
        if bar:
            bar.close()
    if code != b.EXIT_OK or not args.quiet:
        print(index.format_summary(summary))
    return code


if __name__ == "__main__":
    sys.exit(main())
