"""What a build changed, the summary it prints and writes, and ``reports/index.html``."""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import Any

SUMMARY_FILE = "build-summary.json"


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
            lines.append(f"  built  {name}: inputs changed: {', '.join(ch.get('inputs', [])) or 'none'}")
            for key, (old, new) in ch.get("metrics", {}).items():
                lines.append(f"           {key}: {_fmt(old)} -> {_fmt(new)}")
    for name in summary.get("not_run", []):
        lines.append(f"  NOT RUN {name} (stopped after a failure)")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def write(reports: Path, summary: dict[str, Any]) -> None:
    """Write ``build-summary.json`` and ``index.html`` atomically."""
    from rare_earth_lib.build.pipeline import read_manifest, write_atomic

    tmp = reports / ".tmp"
    write_atomic(reports / SUMMARY_FILE, json.dumps(summary, indent=2, sort_keys=True), tmp)
    manifests = [m for p in sorted(reports.glob("*/*.manifest.json")) if (m := read_manifest(p))]
    write_atomic(reports / "index.html", index_html(manifests, summary), tmp)


def index_html(manifests: list[dict], summary: dict[str, Any]) -> str:
    """A self-contained page: every briefing × scenario, metrics side by side, what changed."""
    e = html.escape
    briefings = sorted({m["briefing"] for m in manifests})
    failed = {(j["briefing"], j["scenario"]): j["error"] for j in summary["jobs"] if j["status"] == "failed"}
    sections = []
    for briefing in briefings:
        rows = [m for m in manifests if m["briefing"] == briefing]
        scenarios = [m["scenario"] for m in rows]
        head = "".join(f"<th>{e(s)}</th>" for s in scenarios)
        links = "".join(
            "<td>"
            + " · ".join(f'<a href="{e(m["scenario"])}/{e(o["file"])}">{e(fmt)}</a>' for fmt, o in sorted(m["outputs"].items()))
            + "</td>"
            for m in rows
        )
        built = "".join(f"<td>{e(m['built_at'])}</td>" for m in rows)
        as_of = "".join(f"<td>{e(str(m.get('data_as_of')))}</td>" for m in rows)
        status = "".join(
            f'<td class="{"bad" if (briefing, m["scenario"]) in failed else ""}">'
            f"{'last build FAILED; showing previous good' if (briefing, m['scenario']) in failed else 'ok'}</td>"
            for m in rows
        )
        keys = sorted({k for m in rows for k in m.get("metrics", {})})
        metric_rows = "".join(
            f"<tr><th>{e(k)}</th>" + "".join(f"<td>{e(_fmt(m.get('metrics', {}).get(k)))}</td>" for m in rows) + "</tr>" for k in keys
        )
        sections.append(
            f"<h2>{e(briefing)}</h2><table><thead><tr><th></th>{head}</tr></thead><tbody>"
            f"<tr><th>files</th>{links}</tr><tr><th>built</th>{built}</tr><tr><th>data as of</th>{as_of}</tr>"
            f"<tr><th>status</th>{status}</tr>{metric_rows}</tbody></table>"
        )
    change_items = []
    for job in summary["jobs"]:
        name = f"{job['briefing']} × {job['scenario']}"
        if job["status"] == "failed":
            change_items.append(f'<li class="bad"><strong>{e(name)}</strong>: failed: {e(job["error"])}</li>')
        elif job["status"] == "built":
            ch = job.get("changes", {})
            if ch.get("inputs") == ["first build"]:
                change_items.append(f"<li><strong>{e(name)}</strong>: first build</li>")
                continue
            moves = "".join(f"<li>{e(k)}: {e(_fmt(o))} → {e(_fmt(n))}</li>" for k, (o, n) in ch.get("metrics", {}).items())
            change_items.append(
                f"<li><strong>{e(name)}</strong>: rebuilt because {e(', '.join(ch.get('inputs', [])) or 'forced')}"
                + (f"<ul>{moves}</ul>" if moves else "; no headline metric moved")
                + "</li>"
            )
    c = summary["counts"]
    changed = "".join(change_items) or "<li>Nothing changed: every briefing was up to date.</li>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Rare-earth briefings</title>
<style>
body {{ font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; max-width: 1100px; margin: 0 auto; padding: 24px; color: #1d1d1f; }}
h1, h2 {{ color: #1b2a49; }} table {{ border-collapse: collapse; font-size: .85rem; margin-bottom: 1.5rem; }}
th, td {{ border-bottom: 1px solid #d0d4d9; padding: .25rem .6rem; text-align: left; vertical-align: top; }}
thead th {{ border-bottom: 2px solid #1d1d1f; }} .bad {{ color: #b22222; }}
</style></head><body>
<h1>Rare-earth briefings</h1>
<p>Last build finished {e(summary["finished_at"])}: {c["built"]} built, {c["cached"]} up to date, {c["failed"]} failed, in {summary["seconds"]:.1f} s.</p>
{"".join(sections)}
<h2>What changed since the last build</h2><ul>{changed}</ul>
</body></html>
"""
