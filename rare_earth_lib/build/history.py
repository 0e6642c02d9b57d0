"""The build history: ``reports/history.jsonl``, one line per build, and what it says about each briefing.

The index and the summary read it so that they remember across partial builds: a briefing whose last
build failed stays marked FAILED, whatever later builds of other briefings did, until it builds again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

HISTORY_FILE = "history.jsonl"


def entry(summary: dict[str, Any]) -> dict[str, Any]:
    """One history line from a build summary: when, what was selected, and each job's outcome and reasons."""
    jobs = []
    for job in summary.get("jobs", []):
        item = {"briefing": job["briefing"], "scenario": job["scenario"], "status": job["status"]}
        if job.get("error"):
            item["error"] = job["error"]
        if job["status"] == "built":
            item["changes"] = job.get("changes", {}).get("inputs", [])
        jobs.append(item)
    return {
        "finished_at": summary.get("finished_at"),
        "seconds": summary.get("seconds"),
        "selection": {
            "briefings": sorted({j["briefing"] for j in jobs}),
            "scenarios": sorted({j["scenario"] for j in jobs}),
        },
        "counts": summary.get("counts", {}),
        "not_run": summary.get("not_run", []),
        "jobs": jobs,
    }


def append(reports: Path, item: dict[str, Any]) -> None:
    """Append one line to ``reports/history.jsonl`` (the build holds the lock, so lines never interleave)."""
    path = reports / HISTORY_FILE
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(item, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def heal(reports: Path, warn: Callable[[str], None] | None = None) -> int:
    """Remove unreadable lines (torn, foreign, not JSON) from ``reports/history.jsonl``, naming the file.

    Called by the build that holds the lock, before it appends, so a damaged history is repaired once
    instead of being skipped silently by every later build. Returns how many lines were removed.
    """
    path = reports / HISTORY_FILE
    if not path.is_file():
        return 0
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    keep = [line for line in lines if _readable(line)]
    dropped = len(lines) - len(keep)
    if dropped:
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text("".join(line + "\n" for line in keep), encoding="utf-8")
        os.replace(tmp, path)
        if warn is not None:
            warn(f"{path.parent.name}/{path.name}: {dropped} unreadable line(s) removed (torn or not written by this tool)")
    return dropped


def _readable(line: str) -> bool:
    try:
        item = json.loads(line)
    except ValueError:
        return False
    return isinstance(item, dict) and isinstance(item.get("jobs"), list)


def read(reports: Path) -> list[dict[str, Any]]:
    """Every readable history line, oldest first (a torn or foreign line is skipped)."""
    path = reports / HISTORY_FILE
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and isinstance(item.get("jobs"), list):
            item["jobs"] = [job for job in item["jobs"] if isinstance(job, dict)]  # a foreign or torn entry
            out.append(item)
    return out


def last_outcomes(entries: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(briefing, scenario) -> its last outcome: status, error, when; plus ``failing_since`` while it keeps failing."""
    state: dict[tuple[str, str], dict[str, Any]] = {}
    for item in entries:
        for job in item["jobs"]:
            key = (job.get("briefing"), job.get("scenario"))
            previous = state.get(key, {})
            outcome = {"status": job.get("status"), "at": item.get("finished_at"), "error": job.get("error")}
            if job.get("status") == "failed":
                outcome["failing_since"] = previous.get("failing_since") or item.get("finished_at")
            state[key] = outcome
    return state


def still_failing(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every briefing × scenario whose last build failed, with the error and since when it fails."""
    return [
        {"briefing": b, "scenario": s, "error": o.get("error"), "since": o.get("failing_since"), "last_tried": o.get("at")}
        for (b, s), o in sorted(last_outcomes(entries).items())
        if o.get("status") == "failed"
    ]
