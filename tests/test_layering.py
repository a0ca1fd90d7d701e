"""The import rules of ``shared/architecture.md`` §2, read from the source: library packages
never import Kedro, stages talk through the library (never through each other's ``nodes.py``),
and imports run down the layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "rodin_pipelines"

KEDRO_ALLOWED = ("pipelines/", "datasets/", "hooks.py", "settings.py", "pipeline_registry.py",
                 "__main__.py", "generate_cli.py", "demo_cli.py")
"""Where Kedro (and its plugins) may be imported: the glue, the datasets and the CLIs (the demo
page's Kedro session lives in ``demo_cli.py``; ``demo/`` is Kedro-free)."""

KEDRO_MODULES = ("kedro", "kedro_datasets", "kedro_mlflow", "kedro_viz")


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def source_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def is_under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_scan_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "late.py"
    source.write_text("def f():\n    from kedro.io import AbstractDataset\n    import torch\n")
    assert {"kedro.io", "kedro.io.AbstractDataset", "torch"} <= imported_modules(source)


def test_no_library_module_imports_kedro():
    offenders = {relative(path): sorted(m for m in imported_modules(path)
                                        if any(is_under(m, k) for k in KEDRO_MODULES))
                 for path in source_files(PACKAGE)
                 if not relative(path).startswith(KEDRO_ALLOWED)}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_registry_and_the_stages_import_pipelines():
    offenders = [relative(path) for path in source_files(PACKAGE)
                 if not relative(path).startswith(("pipelines/", "pipeline_registry.py"))
                 and any(is_under(m, "rodin_pipelines.pipelines") for m in imported_modules(path))]
    assert offenders == []


def test_no_stage_imports_another_stage():
    offenders = []
    for path in source_files(PACKAGE / "pipelines"):
        parts = path.relative_to(PACKAGE / "pipelines").parts
        if len(parts) < 2:
            continue
        own = f"rodin_pipelines.pipelines.{parts[0]}"
        offenders += [f"{relative(path)} -> {m}" for m in imported_modules(path)
                      if is_under(m, "rodin_pipelines.pipelines") and not is_under(m, own)
                      and m != "rodin_pipelines.pipelines"]
    assert offenders == []


def pipeline_imports(path: Path) -> list[tuple[str, str]]:
    """``(module, name)`` of every ``from rodin_pipelines.pipelines… import name`` in ``path``
    (``name`` is ``""`` for a plain ``import``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, "") for a in node.names
                      if is_under(a.name, "rodin_pipelines.pipelines")]
        elif (isinstance(node, ast.ImportFrom) and node.module
              and is_under(node.module, "rodin_pipelines.pipelines")):
            found += [(node.module, a.name) for a in node.names]
    return found


@pytest.mark.parametrize("folder", ["benchmarks", "tests"])
def test_benchmarks_and_tests_use_the_library_not_nodes(folder):
    """Tests of a stage build its pipeline (``create_pipeline``); nothing reaches into a
    ``nodes.py``, and benchmarks use the library only."""
    offenders = []
    for path in source_files(ROOT / folder):
        for module, name in pipeline_imports(path):
            wiring = name == "create_pipeline" and not module.endswith(".nodes")
            if folder == "benchmarks" or not wiring:
                offenders.append(f"{path.relative_to(ROOT)}: {module}.{name}")
    assert offenders == []


LOWER_LAYERS_MUST_NOT_IMPORT = {
    "rendering": ("avatars", "triplane", "models", "diffusion", "training", "evaluation",
                  "generation", "datasets"),
    "avatars": ("triplane", "models", "diffusion", "training", "evaluation", "generation",
                "datasets"),
    "triplane": ("avatars", "models", "diffusion", "training", "evaluation", "generation",
                 "datasets"),
    "models": ("training", "evaluation", "generation", "datasets"),
    "diffusion": ("training", "evaluation", "generation", "datasets"),
    "training": ("evaluation", "generation", "datasets"),
    "evaluation": ("datasets",),
    "generation": ("evaluation", "datasets"),
}
"""Imports run one way, down: rendering is the ground; avatars and triplane stand on it side by
side; models and diffusion above them; training above those (its progress gallery is its own);
evaluation and generation on top."""


@pytest.mark.parametrize("package", sorted(LOWER_LAYERS_MUST_NOT_IMPORT))
def test_imports_run_down_the_layers(package):
    forbidden = [f"rodin_pipelines.{name}" for name in LOWER_LAYERS_MUST_NOT_IMPORT[package]]
    offenders = [f"{relative(path)} -> {m}" for path in source_files(PACKAGE / package)
                 for m in imported_modules(path) if any(is_under(m, f) for f in forbidden)]
    assert offenders == []
