"""Briefing parameters: one pydantic model per briefing, and scenario files validated against them.

Convention: the notebook ``notebooks/<briefing>.ipynb`` has its model in
``rare_earth_lib/parameters/<briefing>.py`` as a class named ``Params`` that derives from
:class:`BriefingParams`. A scenario file ``params/<scenario>.yaml`` is a flat mapping of parameter
names to values; it applies to every briefing, and each briefing receives only the parameters its
model declares. A key that no briefing declares is an error, so a typo never passes silently.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
_NAME_RE = re.compile(NAME_PATTERN)
#: At most this many characters of any input value are quoted in an error message.
QUOTE_LIMIT = 200


def clip(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``value`` as text, cut to ``limit`` characters with a note of how much was left out."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters)"


class ParamsError(ValueError):
    """Bad scenario input. The message names the file and, where there is one, the parameter."""

    def __init__(self, source: str, message: str, parameter: str | None = None):
        self.source = source
        self.parameter = parameter
        where = f"{source}: parameter '{clip(parameter, 80)}'" if parameter else source
        super().__init__(f"{where}: {message}")


class BriefingParams(BaseModel):
    """Parameters every briefing shares. Briefing models derive from this class.

    Each briefing's model declares its title and one-line description here, once: the notebook's
    title block and ``rare-earth-report list`` both read them.
    """

    briefing_title: ClassVar[str] = ""
    briefing_description: ClassVar[str] = ""

    # strict: a quoted "10" in YAML is a mistake to report, not a number to guess.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True)

    scenario: str = Field(
        "base",
        pattern=NAME_PATTERN,
        max_length=64,
        description="Scenario name: the params file's name without .yaml (set by the build).",
    )
    scenario_title: str = Field(
        "Base case",
        min_length=1,
        max_length=120,
        description="Human-readable scenario name shown in the title block.",
    )

    @classmethod
    def from_namespace(cls, namespace: Mapping[str, Any]) -> BriefingParams:
        """Re-validate the values a notebook holds after papermill injected its parameters.

        Args:
            namespace: the notebook's ``globals()``; only the model's own field names are read. A name
                papermill injected (``papermill -f params/X.yaml``) that no briefing declares is an error
                with the same did-you-mean message as ``rare-earth-report validate``; the other
                briefings' parameters are ignored.

        Raises:
            ParamsError: naming the parameter whose injected value is invalid.
        """
        source = f"notebook parameters ({cls.__module__})"
        check_declared(injected_names(namespace), source)
        values = {name: namespace[name] for name in cls.model_fields if name in namespace}
        return validate_values(cls, values, source=source)


def validate_values(model: type[BriefingParams], values: Mapping[str, Any], source: str) -> BriefingParams:
    """Validate ``values`` against ``model``; turn pydantic's error into a one-line :class:`ParamsError`."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        err = exc.errors()[0]
        parameter = ".".join(str(p) for p in err["loc"]) or None
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown parameter"
        elif "input" in err and not isinstance(err["input"], (dict, list)):
            message = f"{message} (got {clip(repr(err['input']))})"
        raise ParamsError(source, message, parameter) from None


def briefing_names() -> list[str]:
    """Names of all briefings that have a parameter model, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def briefing_model(briefing: str) -> type[BriefingParams]:
    """Return the ``Params`` model of ``briefing``.

    Raises:
        ParamsError: when the briefing has no model.
    """
    if not _NAME_RE.match(briefing) or briefing not in briefing_names():
        raise ParamsError(
            f"briefing '{briefing}'",
            f"no parameter model rare_earth_lib/parameters/{briefing}.py (known: {', '.join(briefing_names())})",
        )
    module = importlib.import_module(f"{__name__}.{briefing}")
    model = getattr(module, "Params", None)
    if not (isinstance(model, type) and issubclass(model, BriefingParams)):
        raise ParamsError(f"rare_earth_lib/parameters/{briefing}.py", "defines no Params(BriefingParams) class")
    return model


def declared_parameters() -> dict[str, list[str]]:
    """Map every parameter name any briefing declares to the briefings that declare it."""
    out: dict[str, list[str]] = {}
    for name in briefing_names():
        for field in briefing_model(name).model_fields:
            out.setdefault(field, []).append(name)
    return out


def read_scenario_file(path: Path) -> dict[str, Any]:
    """Read a scenario YAML file safely into a flat mapping.

    Raises:
        ParamsError: missing file, malformed YAML (with line number), or not a flat mapping.
    """
    path = Path(path)
    label = _label(path)
    if not path.is_file():
        raise ParamsError(label, "params file not found")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except DuplicateKeyError as exc:
        raise ParamsError(label, f"key given twice, at line {exc.first_line} and line {exc.second_line}", exc.key) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ParamsError(label, f"malformed YAML{where}: {problem}") from None
    except UnicodeDecodeError:
        raise ParamsError(label, "not UTF-8 text") from None
    if data is None:
        raise ParamsError(label, "the file is empty: a scenario must at least declare its scenario_title")
    if not isinstance(data, dict):
        raise ParamsError(label, f"must be a mapping of parameter names to values, not {type(data).__name__}")
    for key in data:
        if not isinstance(key, str):
            raise ParamsError(label, "parameter names must be strings", str(key))
    return data


class DuplicateKeyError(yaml.YAMLError):
    """A mapping in a scenario file gives the same key twice (YAML would silently keep the last)."""

    def __init__(self, key: str, first_line: int, second_line: int):
        super().__init__(f"key {key!r} given twice, at line {first_line} and line {second_line}")
        self.key, self.first_line, self.second_line = key, first_line, second_line


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """PyYAML's safe loader (on libyaml's parser where PyYAML has it: a 20 MB file reads in a second, not ten),
    refusing duplicate keys in any mapping."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue  # the base class reports unhashable keys
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise DuplicateKeyError(clip(str(key), 80), seen[key], line)
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def validate_scenario(
    path: Path, briefings: list[str] | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, BriefingParams]:
    """Validate one scenario file for each briefing, before any kernel starts.

    The ``scenario`` parameter is set from the file name; a file may not set it itself.

    Args:
        path: ``params/<scenario>.yaml``.
        briefings: briefings to validate for (default: all).
        overrides: values that replace the file's (``build --set``), checked like the file's.

    Returns:
        Briefing name -> validated model instance holding only that briefing's parameters.

    Raises:
        ParamsError: naming the file and the offending parameter.
    """
    path = Path(path)
    label = _label(path)
    if not _NAME_RE.match(path.stem):
        raise ParamsError(label, f"scenario file names must match {NAME_PATTERN}")
    raw = read_scenario_file(path)
    if "scenario" in raw:
        raise ParamsError(label, "set by the build from the file name; remove it from the file", "scenario")
    check_declared(raw, label)
    if overrides:
        if "scenario" in overrides:
            raise ParamsError("--set", "set by the build from the file name; choose the scenario with --scenario", "scenario")
        check_declared(overrides, "--set")
    values = {**raw, **(overrides or {}), "scenario": path.stem}
    if overrides and "scenario_title" not in overrides and isinstance(raw.get("scenario_title", ""), str):
        changes = ", ".join(f"{k}={v}" for k, v in sorted(overrides.items()))
        title = raw.get("scenario_title") or BriefingParams.model_fields["scenario_title"].default
        values["scenario_title"] = f"{title} with {changes}"[:120]
    out = {}
    for name in briefings or briefing_names():
        model = briefing_model(name)
        subset = {k: v for k, v in values.items() if k in model.model_fields}
        out[name] = validate_values(model, subset, label)
    if "scenario_title" not in raw:
        raise ParamsError(
            label, "missing: every scenario must declare its title (else it would build under the default title)", "scenario_title"
        )
    return out


def check_declared(keys: Iterable[str], source: str) -> None:
    """Every key must be a parameter that some briefing declares (the other briefings' parameters are fine).

    Raises:
        ParamsError: naming the first unknown key, with the closest declared name when there is one.
    """
    declared = declared_parameters()
    for key in keys:
        if key not in declared:
            close = [k for k in declared if _similar(k, key)]
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ParamsError(source, f"unknown parameter: no briefing declares it{hint}", key)


def injected_names(namespace: Mapping[str, Any]) -> list[str]:
    """Names papermill injected into a running notebook (its ``# Parameters`` cell in IPython's input history)."""
    import ast

    history = namespace.get("In") or namespace.get("_ih") or []
    for source in reversed(list(history) if isinstance(history, list) else []):
        if isinstance(source, str) and source.lstrip().startswith("# Parameters"):
            try:
                tree = ast.parse(source)
            except SyntaxError:
                return []
            return [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)]
    return []


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line: the value is read as a YAML scalar (``2``, ``0.5``, ``true``, ``owner``).

    Raises:
        ParamsError: not ``key=value``, or the value is not a scalar.
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ParamsError("--set", f"expected KEY=VALUE, got {text!r}")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        raise ParamsError("--set", f"cannot read the value {value!r}", key) from None
    if isinstance(parsed, (dict, list)) or parsed is None:
        raise ParamsError("--set", f"the value must be a number, true/false or text, got {value!r}", key)
    return key, parsed


def _similar(a: str, b: str) -> bool:
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio() > 0.8


def _label(path: Path) -> str:
    """A short, machine-independent label for a params file: ``params/<name>.yaml``."""
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name
