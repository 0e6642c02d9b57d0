"""Scenarios from the command line: describe parameters, write a new params file, name a ``--set`` variant, order scenarios."""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rare_earth_lib import parameters as params_mod
from rare_earth_lib.parameters import NAME_PATTERN, ParamsError

#: The scenario every other one is compared with; listed first everywhere.
BASE = "base"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def scenario_label(scenario: str, overrides: Mapping[str, Any]) -> str:
    """The name a ``--set`` build publishes under: ``base+slip_multiplier=2`` (keys sorted, filesystem-safe)."""
    parts = [scenario]
    for key in sorted(overrides):
        value = overrides[key]
        text = json.dumps(value) if isinstance(value, bool) else str(value)
        parts.append(f"{key}={_UNSAFE.sub('_', text)}")
    return "+".join(parts)


def split_label(label: str) -> tuple[str, str]:
    """(the params file's scenario, the ``+key=value`` suffix or '') of a published scenario name."""
    name, _, rest = label.partition("+")
    return name, rest


def ordered(names: Iterable[str]) -> list[str]:
    """Scenarios in their declared order: base first, then the others by name; a ``--set`` variant follows its scenario."""
    return sorted(set(names), key=lambda n: (split_label(n)[0] != BASE, split_label(n)[0], split_label(n)[1]))


def scenario_title(path: Path) -> str:
    """A scenario file's ``scenario_title`` (the model's default when the file does not set one)."""
    raw = params_mod.read_scenario_file(path)
    title = raw.get("scenario_title", params_mod.BriefingParams.model_fields["scenario_title"].default)
    return str(title)


# --- describing parameters ---------------------------------------------------------------------


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Literal:
        return "choice"
    return getattr(annotation, "__name__", str(annotation))


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def bounds_text(field: Any) -> str:
    """A field's bounds (``0 <= x <= 1``) or choices (``location | owner``); ``-`` when it has none."""
    if typing.get_origin(field.annotation) is typing.Literal:
        return " | ".join(str(a) for a in typing.get_args(field.annotation))
    low = high = ""
    for meta in field.metadata:
        for attr, op in (("ge", ">="), ("gt", ">")):
            if getattr(meta, attr, None) is not None:
                low = f"{op} {_num(getattr(meta, attr))}"
        for attr, op in (("le", "<="), ("lt", "<")):
            if getattr(meta, attr, None) is not None:
                high = f"{op} {_num(getattr(meta, attr))}"
        if getattr(meta, "max_length", None) is not None:
            high = f"at most {meta.max_length} characters"
    return ", ".join(t for t in (low, high) if t) or "-"


def parameter_rows(briefing: str) -> list[dict[str, str]]:
    """One row per parameter of ``briefing``: name, type, bounds, default, description."""
    model = params_mod.briefing_model(briefing)
    return [
        {
            "name": name,
            "type": _type_name(field.annotation),
            "bounds": bounds_text(field),
            "default": json.dumps(field.default)
            if isinstance(field.default, (bool, str))
            else f"{field.default:g}"
            if isinstance(field.default, float)
            else str(field.default),
            "description": field.description or "",
        }
        for name, field in model.model_fields.items()
    ]


def format_parameters(briefing: str) -> str:
    """The parameters of a briefing as aligned plain-text columns under its title."""
    model = params_mod.briefing_model(briefing)
    rows = parameter_rows(briefing)
    heads = {"name": "parameter", "type": "type", "bounds": "bounds", "default": "default", "description": "description"}
    widths = {k: max(len(heads[k]), *(len(r[k]) for r in rows)) for k in ("name", "type", "bounds", "default")}

    def line(r: Mapping[str, str]) -> str:
        return "  " + "  ".join(r[k].ljust(widths[k]) for k in widths) + "  " + r["description"]

    return "\n".join([f"{briefing}: {model.briefing_title}", line(heads), *(line(r) for r in rows)])


# --- new scenario files ------------------------------------------------------------------------


def _field(key: str):
    for briefing in params_mod.declared_parameters().get(key, []):
        return params_mod.briefing_model(briefing).model_fields[key], params_mod.declared_parameters()[key]
    return None, []


def new_scenario_text(source: Path, name: str, overrides: Mapping[str, Any], title: str | None, today: dt.date) -> str:
    """The text of ``params/<name>.yaml``: the source file's lines with ``overrides`` applied, each change commented.

    The first line states the new scenario's title and where it came from (``list`` and the index show the
    title); the source's comments are kept beneath it; an overridden key keeps its place with its old value
    in a comment; a key the source does not set is appended with its description, bounds and default.
    """
    lines = source.read_text(encoding="utf-8").splitlines()
    changes = ", ".join(f"{k}={json.dumps(v)}" for k, v in overrides.items()) or "no changes"
    raw = params_mod.read_scenario_file(source)
    title = title or f"{raw.get('scenario_title', source.stem)} ({changes})"
    header = [
        f"# {title}",
        f"# Made from params/{source.name} by rare-earth-report new-scenario on {today.isoformat()}: {changes}.",
        f"# The comments below are params/{source.name}'s; they describe that scenario.",
    ]
    values = {**overrides, "scenario_title": title}
    done = set()
    out = []
    for line in lines:
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:", line)
        if match and match.group(1) in values:
            key = match.group(1)
            old = line.split(":", 1)[1].strip()
            out.append(f"{key}: {json.dumps(values[key])}  # was {old[:60]} in {source.stem}")
            done.add(key)
        else:
            out.append(line)
    added = [k for k in values if k not in done]
    if added:
        out += ["", f"# --- set by new-scenario (not in params/{source.name}) ---"]
        for key in added:
            field, briefings = _field(key)
            if field is not None and key != "scenario_title":
                out.append(f"# {field.description} ({', '.join(briefings)}; {bounds_text(field)}; default {field.default!r})")
            out.append(f"{key}: {json.dumps(values[key])}")
    return "\n".join(header + out) + "\n"


def write_new_scenario(params_dir: Path, name: str, source: str, sets: list[str], title: str | None, today: dt.date) -> Path:
    """Write ``params/<name>.yaml`` from ``params/<source>.yaml`` with ``sets`` applied, validated for every briefing first.

    Raises:
        ParamsError: bad name, existing file, unknown source, bad ``--set`` or a value the models refuse.
    """
    if not re.match(NAME_PATTERN, name):
        raise ParamsError(f"params/{name}.yaml", f"scenario names must match {NAME_PATTERN} (lower case, digits, underscores)")
    target = params_dir / f"{name}.yaml"
    if target.exists():
        raise ParamsError(f"params/{name}.yaml", "already exists; choose another name or edit the file")
    src = params_dir / f"{source}.yaml"
    if not src.is_file():
        raise ParamsError(f"params/{source}.yaml", "params file not found (--from names a scenario in params/)")
    overrides = dict(params_mod.parse_override(s) for s in sets)
    if "scenario" in overrides:
        raise ParamsError("--set", "set by the build from the file name", "scenario")
    params_mod.check_declared(overrides, "--set")
    if title is not None:
        overrides.pop("scenario_title", None)
    text = new_scenario_text(src, name, overrides, title, today)
    with tempfile.TemporaryDirectory() as tmp:
        trial = Path(tmp) / "params" / f"{name}.yaml"
        trial.parent.mkdir()
        trial.write_text(text, encoding="utf-8")
        params_mod.validate_scenario(trial)  # names params/<name>.yaml and the parameter
    target.write_text(text, encoding="utf-8")
    return target
