"""The project's layout (notebooks/, params/, reports/) and the selection and validation of briefings x scenarios."""

from __future__ import annotations

import concurrent.futures as cf  # noqa: F401 - tests patch cf.ProcessPoolExecutor to prove no pool starts
import json
from dataclasses import dataclass
from pathlib import Path

from rare_earth_lib import parameters as params_mod
from rare_earth_lib.build.scenarios import scenario_label
from rare_earth_lib.build.state import PACKAGE_DIR, BuildInputError
from rare_earth_lib.parameters import ParamsError, clip


@dataclass(frozen=True)
class Layout:
    """Where a project's notebooks, scenarios and reports are."""

    root: Path

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def params(self) -> Path:
        return self.root / "params"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def library(self) -> Path:
        return PACKAGE_DIR

    @classmethod
    def find(cls, root: str | Path | None = None) -> Layout:
        """The project at ``root``, else the current directory, else the checkout holding this package."""
        candidates = [Path(root)] if root else [Path.cwd(), PACKAGE_DIR.parent]
        for candidate in candidates:
            if (candidate / "notebooks").is_dir() and (candidate / "params").is_dir():
                return cls(candidate.resolve())
        where = root or "the current directory"
        raise BuildInputError(f"{where}: no notebooks/ and params/ folders here (run from the project folder or pass --root)")

    def briefings(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted(self.notebooks.glob("*.ipynb"))}

    def scenarios(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted(self.params.glob("*.yaml"))}


def select(layout: Layout, scenarios: list[str] | None, briefings: list[str] | None) -> tuple[list[str], list[str]]:
    """Resolve the selected scenario and briefing names; unknown names are bad input."""
    known_s, known_b = layout.scenarios(), layout.briefings()
    for kind, wanted, known, folder in (("scenario", scenarios, known_s, "params"), ("briefing", briefings, known_b, "notebooks")):
        for name in wanted or []:
            if name not in known:
                raise BuildInputError(
                    f"unknown {kind} '{name}': no {folder}/{name}.{'yaml' if kind == 'scenario' else 'ipynb'} (known: {', '.join(known) or 'none'})"
                )
    if not known_b:
        raise BuildInputError("notebooks/: no briefing notebooks found")
    if not known_s:
        raise BuildInputError("params/: no scenario files found")
    return list(dict.fromkeys(scenarios or known_s)), list(dict.fromkeys(briefings or known_b))


def validate_all(layout: Layout, scenarios: list[str], briefings: list[str], overrides: dict | None = None) -> dict[tuple[str, str], dict]:
    """Validate every selected scenario for every selected briefing.

    Args:
        overrides: ``build --set`` values applied over every scenario file (validated like the file's);
            the results are then keyed by the published name, ``<scenario>+key=value``.

    Returns:
        (briefing, scenario) -> the validated parameters as JSON-ready values.

    Raises:
        BuildInputError: one line per problem, naming file and parameter.
    """
    for name in briefings:
        try:
            params_mod.briefing_model(name)
        except ParamsError as exc:
            raise BuildInputError(str(exc)) from None
    out, problems = {}, []
    for scenario in scenarios:
        try:
            models = params_mod.validate_scenario(layout.params / f"{scenario}.yaml", briefings, overrides)
        except ParamsError as exc:
            problems.append(str(exc))
            continue
        for name, model in models.items():
            out[(name, scenario_label(scenario, overrides or {}))] = model.model_dump(mode="json")
    if problems:
        raise BuildInputError("\n".join(problems))
    return out


def check_notebooks(layout: Layout, briefings: list[str]) -> None:
    """Each selected notebook is a readable notebook with exactly one cell tagged ``parameters`` (else exit 2)."""
    problems = []
    for name in briefings:
        label = f"notebooks/{name}.ipynb"
        try:  # plain JSON: nbformat's schema validation would cost every no-op build a noticeable delay
            cells = json.loads(layout.briefings()[name].read_text(encoding="utf-8"))["cells"]
            tagged = [i + 1 for i, c in enumerate(cells) if "parameters" in (c.get("metadata", {}).get("tags") or [])]
        except (OSError, ValueError, UnicodeDecodeError, AttributeError, KeyError, TypeError) as exc:
            problems.append(f"{label}: not a readable notebook ({clip(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 160)})")
            continue
        if len(tagged) != 1:
            where = f"cells {', '.join(map(str, tagged))} are" if tagged else "no cell is"
            problems.append(
                f"{label}: needs exactly one cell tagged 'parameters' ({where} tagged); without it the scenario's values "
                "would be overwritten by the notebook's defaults"
            )
    if problems:
        raise BuildInputError("\n".join(problems))
