"""What a build changed, the summary it prints and writes, and ``reports/index.html``."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

SUMMARY_FILE = "build-summary.json"
NO_INPUT_CHANGED = "no input changed (rebuilt with --force, or an output file was missing)"


def changes(previous: dict | None, current: dict | None) -> dict[str, Any]:
    """Which inputs changed between two manifests, and how each headline metric moved (old -> new)."""
    if current is None:
        return {}
    if previous is None:
        return {"inputs": ["first build"], "metrics": {k: [None, v] for k, v in current.get("metrics", {}).items()}}
    old_in, new_in = previous.get("inputs", {}), current.get("inputs", {})
    inputs = [name for name in ("notebook", "library", "parameters") if old_in.get(name) != new_in.get(name)]
    old_tables, new_tables = old_in.get("tables", {}), new_in.get("tables", {})
    inputs += [f"data table {t}" for t in sorted(set(old_tables) | set(new_tables)) if old_tables.get(t) != new_tables.get(t)]
    old_v, new_v = old_in.get("versions", {}), new_in.get("versions", {})
    inputs += [f"package {p} {old_v.get(p)} -> {new_v.get(p)}" for p in sorted(set(old_v) | set(new_v)) if old_v.get(p) != new_v.get(p)]
    if previous.get("parameters") != current.get("parameters"):
        old_p, new_p = previous.get("parameters", {}), current.get("parameters", {})
        inputs += [
            f"parameter {k}: {old_p.get(k)!r} -> {new_p.get(k)!r}" for k in sorted(set(old_p) | set(new_p)) if old_p.get(k) != new_p.get(k)
        ]
    added = [f for f in current.get("formats", []) if f not in previous.get("formats", current.get("formats", []))]
    inputs += [f"format {f} not in the last build" for f in added]
    old_m, new_m = previous.get("metrics", {}), current.get("metrics", {})
    metrics = {k: [old_m.get(k), new_m.get(k)] for k in sorted(set(old_m) | set(new_m)) if old_m.get(k) != new_m.get(k)}
    return {"inputs": inputs, "metrics": metrics}


def summary(results: list, seconds: float) -> dict[str, Any]:
    """The build summary written to ``reports/build-summary.json`` and printed at the end."""
    jobs = []
    for r in results:
        entry = {"briefing": r.job.briefing, "scenario": r.job.scenario, "status": r.status, "seconds": round(r.seconds, 2)}
        if r.error:
            entry["error"] = r.error
        if getattr(r, "publish_s", None) is not None:
            entry["publish_s"] = r.publish_s
        if r.status == "built":
            entry["changes"] = r.changes
        jobs.append(entry)
    counts = {s: sum(1 for j in jobs if j["status"] == s) for s in ("built", "cached", "failed")}
    return {
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 2),
        "counts": counts,
        "jobs": jobs,
    }


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as plain text lines for the terminal or a cron mail."""
    c = summary["counts"]
    if summary.get("dry_run"):
        lines = [f"dry run: {c['would build']} would be built, {c['cached']} up to date; nothing was run or written"]
        for job in summary["jobs"]:
            if job["status"] == "would build":
                why = "; ".join(job["changes"]["inputs"]) or ("--force" if summary.get("forced") else NO_INPUT_CHANGED)
                lines.append(f"  would build  {job['briefing']} × {job['scenario']}: {why}")
        return "\n".join(lines)
    lines = [f"{c['built']} built, {c['cached']} up to date, {c['failed']} failed in {summary['seconds']:.1f} s"]
    for job in summary["jobs"]:
        name = f"{job['briefing']} × {job['scenario']}"
        if job["status"] == "failed":
            lines.append(f"  FAILED {job['error']}")
        elif job["status"] == "built":
            ch = job.get("changes", {})
            if ch.get("inputs") == ["first build"]:
                lines.append(f"  built  {name}: first build, {len(ch.get('metrics', {}))} headline metrics in its manifest")
                continue
            lines.append(f"  built  {name}: {'; '.join(ch.get('inputs', [])) or NO_INPUT_CHANGED}")
            for key, (old, new) in ch.get("metrics", {}).items():
                lines.append(f"           {key}: {_fmt(old)} -> {_fmt(new)}")
    for name in summary.get("not_run", []):
        lines.append(f"  NOT RUN {name} (stopped after a failure)")
    for path in summary.get("removed", []):
        lines.append(f"  removed reports/{path}: this build did not produce that format")
    for f in summary.get("still_failing", []):
        lines.append(f"  STILL FAILING {f['briefing']} × {f['scenario']} since {f['since']} (not run by this build): {f['error']}")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


RECENT_BUILDS = 10


def write(reports: Path, summary: dict[str, Any]) -> None:
    """Record the build in ``history.jsonl``, then write ``build-summary.json``, the comparisons with base and ``index.html``.

    The summary gains ``still_failing``: briefings this build did not run whose last build failed (from the
    history), so a partial build or a run with everything up to date never hides a failure. Outputs of a
    format this build did not produce are removed (an HTML-only build leaves no older PDF beside the new HTML).
    """
    from rare_earth_lib.build import history
    from rare_earth_lib.build.state import _warn, read_manifest, write_atomic

    tmp = reports / ".tmp"
    summary.setdefault("removed", []).extend(remove_stale_outputs(reports, summary))
    history.heal(reports, _warn)
    history.append(reports, history.entry(summary))
    entries = history.read(reports)
    ran = {(j["briefing"], j["scenario"]) for j in summary["jobs"]}
    failing = history.still_failing(entries)
    summary["still_failing"] = [f for f in failing if (f["briefing"], f["scenario"]) not in ran]
    write_atomic(reports / SUMMARY_FILE, json.dumps(summary, indent=2, sort_keys=True), tmp)
    manifests = [m for p in sorted(reports.glob("*/*.manifest.json")) if (m := read_manifest(p))]
    compare_errors = update_comparisons(reports, manifests)
    write_atomic(reports / "index.html", index_html(manifests, summary, failing, entries, compare_errors, reports), tmp)


def remove_stale_outputs(reports: Path, summary: dict[str, Any]) -> list[str]:
    """Delete, for every job this build built, an output of a format the build did not produce; return what went."""
    from rare_earth_lib.build.state import FORMATS, read_manifest

    removed = []
    for job in summary["jobs"]:
        if job["status"] != "built":
            continue
        folder = reports / job["scenario"]
        manifest = read_manifest(folder / f"{job['briefing']}.manifest.json") or {}
        for fmt in FORMATS:
            stale = folder / f"{job['briefing']}.{fmt}"
            if fmt not in manifest.get("formats", FORMATS) and stale.exists():
                stale.unlink()
                removed.append(f"{job['scenario']}/{stale.name}")
    return removed


def update_comparisons(reports: Path, manifests: list[dict]) -> dict[str, str]:
    """Write ``compare/base--X.html`` for every built scenario X whose page is missing or older than its manifests.

    Returns:
        scenario -> why its comparison could not be written (the index says so instead of linking).
    """
    from concurrent.futures import ThreadPoolExecutor

    from rare_earth_lib.build.scenarios import BASE

    if not any(m["scenario"] == BASE for m in manifests):
        return {}
    scenarios = sorted({m["scenario"] for m in manifests} - {BASE})
    # Pages at once: drawing their charts (vl-convert) runs outside the interpreter lock, on every core.
    with ThreadPoolExecutor(max_workers=max(1, min(len(scenarios), os.cpu_count() or 1))) as pool:
        outcomes = list(pool.map(lambda scenario: update_comparison(reports, scenario), scenarios))
    return {scenario: why for scenario, why in zip(scenarios, outcomes, strict=True) if why}


def update_comparison(reports: Path, scenario: str) -> str | None:
    """Write ``compare/base--<scenario>.html`` if it is missing or older than a manifest of either scenario; None, or
    why it could not be written (a comparison never fails the build)."""
    from rare_earth_lib.build import compare
    from rare_earth_lib.build.scenarios import BASE

    try:
        if compare.is_stale(reports, BASE, scenario):
            compare.write_comparison(reports, BASE, scenario)
    except compare.CompareError as exc:
        return str(exc)
    except Exception as exc:  # the index names the problem
        return f"comparison not written: {type(exc).__name__}: {exc}"
    return None


def index_html(
    manifests: list[dict],
    summary: dict[str, Any],
    failing: list[dict] | None = None,
    entries: list[dict] | None = None,
    compare_errors: dict[str, str] | None = None,
    reports: Path | None = None,
) -> str:
    """A self-contained page: failing briefings, every briefing × scenario with formatted metrics, what changed, recent builds.

    The page and all its wording come from ``templates/index.html.j2``; this function only gathers the values.
    """
    from rare_earth_lib.build.compare import environment

    failing = failing or []
    return (
        environment()
        .get_template("index.html.j2")
        .render(
            summary=summary,
            failing=failing,
            briefings=_briefing_tables(manifests, failing, compare_errors or {}, reports),
            changes=_change_items(summary),
            recent=_recent_builds(entries or []),
            no_input_changed=NO_INPUT_CHANGED,
        )
    )


def _briefing_tables(manifests: list[dict], failing: list[dict], compare_errors: dict[str, str], reports: Path | None) -> list[dict]:
    """One table per briefing: its declared title and description, a column per scenario, a row per headline metric."""
    from rare_earth_lib.build.scenarios import BASE, ordered

    failed_now = {(f["briefing"], f["scenario"]): f for f in failing}
    has_base = {m["briefing"] for m in manifests if m["scenario"] == BASE}
    briefings = []
    for name in sorted({m["briefing"] for m in manifests}):
        rows = {m["scenario"]: m for m in manifests if m["briefing"] == name}
        title, description = _declared_title(name)
        columns = [
            _scenario_column(rows[scenario], failed_now.get((name, scenario)), compare_errors, name in has_base, reports)
            for scenario in ordered(rows)
        ]
        briefings.append(
            {"name": name, "title": title, "description": description, "columns": columns, "metrics": _metric_rows(rows, columns)}
        )
    return briefings


def _declared_title(briefing: str) -> tuple[str, str]:
    """The briefing's declared title and one-line description; its name and nothing for a briefing no model declares."""
    from rare_earth_lib import parameters

    try:
        model = parameters.briefing_model(briefing)
    except Exception:
        return briefing, ""
    return model.briefing_title or briefing, model.briefing_description


def _scenario_column(manifest: dict, failed: dict | None, compare_errors: dict[str, str], has_base: bool, reports: Path | None) -> dict:
    """One scenario of a briefing: title, output files, build and data dates, status, and its comparison with base."""
    from rare_earth_lib.build import compare
    from rare_earth_lib.build.scenarios import BASE

    scenario = manifest["scenario"]
    page = compare.page_name(BASE, scenario)
    written = reports is None or (reports / compare.COMPARE_DIR / page).is_file()
    return {
        "scenario": scenario,
        "title": (manifest.get("parameters") or {}).get("scenario_title") or scenario,
        "files": [{"format": fmt, "href": f"{scenario}/{o['file']}"} for fmt, o in sorted(manifest.get("outputs", {}).items())],
        "built_at": manifest.get("built_at"),
        "data_as_of": manifest.get("data_as_of"),
        "failed_since": failed["since"] if failed else None,
        "compare": f"{compare.COMPARE_DIR}/{page}" if scenario != BASE and has_base and written else None,
        "compare_error": compare_errors.get(scenario) if scenario != BASE else None,
    }


def _metric_rows(rows: dict[str, dict], columns: list[dict]) -> list[dict]:
    """Every headline metric of any scenario (in first-seen order) with its label, unit and formatted value per column."""
    from rare_earth_lib.build import formatting
    from rare_earth_lib.build.scenarios import ordered

    keys = list(dict.fromkeys(k for s in ordered(rows) for k in rows[s].get("metrics", {})))
    return [
        {
            "key": k,
            "label": formatting.label_of(k),
            "unit": formatting.unit_of(k)[0],
            "cells": [formatting.format_value(k, rows[c["scenario"]].get("metrics", {}).get(k)) for c in columns],
        }
        for k in keys
    ]


def _change_items(summary: dict[str, Any]) -> list[dict]:
    """What this build did to each job (failed, first build, rebuilt and why, with moved metrics) and which outputs it removed."""
    from rare_earth_lib.build import formatting

    items = []
    for job in summary["jobs"]:
        name = f"{job['briefing']} × {job['scenario']}"
        if job["status"] == "failed":
            items.append({"name": name, "kind": "failed", "error": job["error"]})
        elif job["status"] == "built":
            ch = job.get("changes", {})
            if ch.get("inputs") == ["first build"]:
                items.append({"name": name, "kind": "first"})
                continue
            moves = [
                {"label": formatting.label_of(k), "old": formatting.with_unit(k, o), "new": formatting.with_unit(k, n)}
                for k, (o, n) in ch.get("metrics", {}).items()
            ]
            items.append({"name": name, "kind": "rebuilt", "reasons": ch.get("inputs", []), "moves": moves})
    items += [{"name": removed, "kind": "removed"} for removed in summary.get("removed", [])]
    return items


def _recent_builds(entries: list[dict]) -> list[dict]:
    """The last :data:`RECENT_BUILDS` builds of the history, newest first."""
    from rare_earth_lib.build.scenarios import ordered

    recent = []
    for item in reversed(entries[-RECENT_BUILDS:]):
        counts = item.get("counts", {})
        sel = item.get("selection", {})
        recent.append(
            {
                "finished_at": item.get("finished_at"),
                "briefings": sel.get("briefings", []),
                "scenarios": ordered(sel.get("scenarios", [])),
                "built": counts.get("built", 0),
                "cached": counts.get("cached", 0),
                "failed": counts.get("failed", 0),
                "seconds": item.get("seconds"),
            }
        )
    return recent
