"""The conda environments parse as conda specs and pin what pyproject.toml pins."""

import re
import sys
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
    assert [p.name for p in ENVS] == ["motifs.yaml", "reads.yaml", "torch-cuda.yaml", "torch.yaml"]
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for env in re.findall(r'conda:\s*\n\s*"([^"]+)"', smk.read_text()):
            assert (smk.parent / env).resolve().is_file(), f"{smk.name}: missing {env}"
    cuda = yaml.safe_load((REPO / "envs" / "torch-cuda.yaml").read_text())["dependencies"]
    cpu = yaml.safe_load((REPO / "envs" / "torch.yaml").read_text())["dependencies"]
    assert "pytorch-gpu=2.13.0" in cuda  # the CUDA build of the pinned PyTorch, not whatever the solver picks
    assert [d for d in cuda if d != "pytorch-gpu=2.13.0"] == cpu  # otherwise the same env


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


# import name → conda package of the envs (stdlib and cisflow itself need nothing)
_CONDA_OF_IMPORT = {
    "numpy": "numpy",
    "scipy": "scipy",
    "pandas": "pandas",
    "yaml": "pyyaml",
    "jsonschema": "jsonschema",
    "torch": "pytorch",
    "safetensors": "safetensors",
    "sklearn": "scikit-learn",
    "matplotlib": "matplotlib-base",
    "tqdm": "tqdm",
    "pysam": "pysam",
    "pyBigWig": "pybigwig",
    "pyjaspar": "pyjaspar",
    "h5py": "h5py",
    "modiscolite": "modisco-lite",
    "memelite": "memelite",
    "MACS3": "macs3",
}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (lazy imports inside functions too)."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def _module_file(name: str) -> Path | None:
    """Source file of a ``cisflow.*`` module (None for names that are not modules, e.g. functions)."""
    base = REPO / "src" / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _third_party(script: Path) -> set[str]:
    """Top-level third-party packages a script needs, following cisflow's own imports transitively."""
    seen, todo, found = set(), [script], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "cisflow":
                parts = name.split(".")
                todo += [f for k in range(1, len(parts) + 1) if (f := _module_file(".".join(parts[:k])))]
            elif top not in sys.stdlib_module_names and top not in ("_bootstrap", "snakemake", "__future__"):
                found.add(top)
    return found


def _rules() -> list[tuple[str, str, Path, Path]]:
    """(smk file, rule, env yaml, script) for every rule with both a conda env and a script."""
    out = []
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]:
            env = re.search(r'conda:\s*\n\s*(?:"([^"]+)"|(torch_env)\(\))', block)
            script = re.search(r'script:\s*\n\s*"([^"]+)"', block)
            if env and script:
                name = block.split(":")[0]
                # torch_env() picks torch.yaml, or torch-cuda.yaml with device: cuda; both must serve the script
                paths = [env[1]] if env[1] else ["../../envs/torch.yaml", "../../envs/torch-cuda.yaml"]
                for path in paths:
                    out.append((smk.name, name, (smk.parent / path).resolve(), (smk.parent / script[1]).resolve()))
    return out


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: f"{r[1]}-{r[2].stem}")
def test_rule_env_provides_what_its_script_imports(rule):
    smk, name, env, script = rule
    have = {(MatchSpec(s).name.normalized if "==" not in s else s.split("==")[0]) for s in _env_specs(env)}
    needed = {_CONDA_OF_IMPORT.get(top, top) for top in _third_party(script)}
    missing = sorted(needed - have)
    assert not missing, f"{smk} rule {name}: {env.name} lacks {', '.join(missing)} (imported by {script.name})"
