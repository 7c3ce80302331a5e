"""The conda environments parse as conda specs and pin what pyproject.toml pins."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from rattler import MatchSpec

REPO = Path(__file__).resolve().parents[2]
ENVS = sorted((REPO / "envs").glob("*.yaml"))
CONDA_NAMES = {"pytorch": "torch", "matplotlib-base": "matplotlib", "pybigwig": "pybigwig"}


def _pyproject_pins() -> dict[str, str]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    deps = list(data["project"]["dependencies"])
    for extra in data["project"]["optional-dependencies"].values():
        deps += extra
    pins = {}
    for dep in deps:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(==|>=)\s*([^\s;]+)", dep)
        assert match, f"unparsed dependency {dep!r}"
        pins[match.group(1).lower()] = match.group(2) + match.group(3)
    return pins


def _env_specs(path: Path) -> list[str]:
    env = yaml.safe_load(path.read_text())
    specs = []
    for dep in env["dependencies"]:
        specs += dep["pip"] if isinstance(dep, dict) else [dep]
    return specs


def test_every_rule_env_exists_and_there_are_three():
    assert [p.name for p in ENVS] == ["motifs.yaml", "reads.yaml", "torch.yaml"]
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for env in re.findall(r'conda:\s*\n\s*"([^"]+)"', smk.read_text()):
            assert (smk.parent / env).resolve().is_file(), f"{smk.name}: missing {env}"


@pytest.mark.parametrize("path", ENVS, ids=lambda p: p.name)
def test_env_specs_parse_and_agree_with_pyproject(path):
    pins = _pyproject_pins()
    env = yaml.safe_load(path.read_text())
    assert {"conda-forge", "nodefaults"} <= set(env["channels"])
    for spec in _env_specs(path):
        if "==" in spec and not spec.startswith("python"):
            name, version = spec.split("==")  # pip section
        else:
            parsed = MatchSpec(spec)
            name, version = parsed.name.normalized, str(parsed.version)
        name = CONDA_NAMES.get(name, name).lower()
        if name not in pins:
            continue
        op, wanted = pins[name][:2], pins[name][2:]
        if op == "==":
            assert version.rstrip(".*").lstrip("=") == wanted, f"{path.name}: {spec} vs pyproject {name}{pins[name]}"
        else:
            assert version.startswith(">="), f"{path.name}: {spec} vs pyproject {name}{pins[name]}"
