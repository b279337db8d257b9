"""The house by domain, checked from the source: no import cycles and arrows that point down.

The import graph is built with ``ast`` from every module of ``engagement/``, counting imports inside functions
and under ``TYPE_CHECKING`` (a lazy import is still an arrow). Layers, top to bottom (a module may import its
own layer or any layer below it, never one above):

    presentation   engagement.ui, engagement.charts, engagement.commands, engagement.cli (pages/ sit above)
    workbench      engagement.workbench: open_workbench
    notebook       engagement.notebook: the SQL notebook, exports, the schema browser
    leadership     engagement.leadership: summary, headlines, targets, alerts, digest (reads the areas)
    derived        engagement.derived: the build of derived tables, above the models it refits
    areas          engagement.intake, .retention, .voice, .value, .experiments
    base           engagement.warehouse, engagement.sql, engagement.stats, config, filters, exports

and the statistics engine (``engagement.stats``) imports nothing of the package but itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "engagement"

LAYERS = (  # bottom first: (layer, module prefixes)
    ("base", ("engagement", "engagement.config", "engagement.filters", "engagement.exports", "engagement.sql",
              "engagement.stats", "engagement.warehouse")),
    ("areas", ("engagement.intake", "engagement.retention", "engagement.voice", "engagement.value",
               "engagement.experiments")),
    ("derived", ("engagement.derived",)),
    ("notebook", ("engagement.notebook",)),
    ("leadership", ("engagement.leadership",)),
    ("workbench", ("engagement.workbench",)),
    ("presentation", ("engagement.ui", "engagement.charts", "engagement.commands",
                      "engagement.cli", "engagement.__main__")),
)
PRESENTATION = ("engagement.ui", "engagement.charts", "engagement.commands")


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> the project modules it imports (anywhere in the file), from the source."""
    paths = {_module_name(p, root): p for p in (root / "engagement").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names if alias.name in paths)
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:
                    if f"{module}.{alias.name}" in paths:  # from package import module
                        targets.add(f"{module}.{alias.name}")
                    elif module in paths:
                        targets.add(module)
        graph[name] = targets - {name}
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
    return components


def layer_of(module: str) -> int:
    """Index in LAYERS of the longest prefix naming ``module``."""
    best, best_length = None, -1
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = rank, len(prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best


def test_tarjan_finds_a_cycle_and_leaves_a_chain_alone():
    """The checker itself: a -> b -> c -> a is one component; d -> a is not part of it."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert sorted(map(sorted, strongly_connected(graph))) == [["a", "b", "c"], ["d"]]


def test_the_graph_sees_lazy_and_type_checking_imports(tmp_path):
    (tmp_path / "engagement").mkdir()
    (tmp_path / "engagement" / "__init__.py").write_text("")
    (tmp_path / "engagement" / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from engagement.b import X\n")
    (tmp_path / "engagement" / "b.py").write_text("def f():\n    from engagement import a\n")
    graph = import_graph(tmp_path)
    assert graph["engagement.a"] == {"engagement.b"} and graph["engagement.b"] == {"engagement.a"}
    assert {"engagement.a", "engagement.b"} in strongly_connected(graph)


def test_no_import_cycles():
    cycles = [sorted(c) for c in strongly_connected(import_graph()) if len(c) > 1]
    assert cycles == [], f"import cycles (each list imports itself through the others): {cycles}"


def test_arrows_point_down_the_layers():
    wrong = sorted(
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in import_graph().items() for target in targets
        if layer_of(target) > layer_of(module)
    )
    assert wrong == []


def test_no_library_module_imports_the_presentation_layer():
    def presentation(module: str) -> bool:
        return any(module == p or module.startswith(p + ".") for p in PRESENTATION)

    wrong = sorted(f"{m} imports {t}" for m, targets in import_graph().items()
                   if not presentation(m) and m not in ("engagement.cli", "engagement.__main__")
                   for t in targets if presentation(t))
    assert wrong == []


def test_the_statistics_engine_imports_only_itself():
    assert "engagement.stats.intervals" in import_graph()
    wrong = sorted(f"{m} imports {t}" for m, targets in import_graph().items() if m.startswith("engagement.stats")
                   for t in targets if not t.startswith("engagement.stats"))
    assert wrong == []


def test_the_store_knows_no_domain():
    """The warehouse imports only the SQL files, the configuration and itself (not the derived build)."""
    allowed = ("engagement.warehouse", "engagement.sql", "engagement.config")
    assert "engagement.warehouse.store" in import_graph()
    wrong = sorted(f"{m} imports {t}" for m, targets in import_graph().items() if m.startswith("engagement.warehouse")
                   for t in targets if not t.startswith(allowed))
    assert wrong == []


def test_at_most_twelve_modules_directly_in_the_package():
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 12, modules


@pytest.mark.parametrize("area", ["stats", "warehouse", "intake", "retention", "voice", "value", "experiments",
                                  "notebook", "leadership"])
def test_every_area_is_a_package(area):
    assert (PACKAGE / area / "__init__.py").is_file()


def test_only_the_presentation_layer_reaches_into_intake():
    """The analyses read what intake stored, never the intake code (the demo's planted experiment split lives in
    engagement/experiments/planted.py, which the demo generator imports, not the other way round)."""
    assert "engagement.intake.ingest" in import_graph()
    wrong = sorted(f"{m} imports {t}" for m, targets in import_graph().items()
                   if layer_of(m) < layer_of("engagement.ui") and not m.startswith("engagement.intake")
                   for t in targets if t.startswith("engagement.intake"))
    assert wrong == []


def test_no_library_module_imports_another_modules_private_names():
    """Shared helpers are public and live where both sides can import them (gamma_gamma once imported
    bgnbd's _numerical_hessian; they are engagement/stats/mle.py now)."""
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("engagement"):
                wrong += [f"{path.relative_to(ROOT)}: {node.module}.{a.name}" for a in node.names
                          if a.name.startswith("_")]
    assert wrong == []


def test_only_the_app_glue_imports_streamlit():
    """The library is usable from a notebook and the CLI without Streamlit: only ``engagement.ui`` (the app's glue)
    names it, and every other module imports with Streamlit unavailable (a lazy import inside a function of a
    lower module would pass the source check and fail here only when that function runs; the source check
    below sees those too)."""
    import subprocess
    import sys

    naming = sorted(
        _module_name(path, ROOT) for path in PACKAGE.rglob("*.py")
        if any((isinstance(node, ast.Import) and any(a.name.split(".")[0] == "streamlit" for a in node.names))
               or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "streamlit")
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))))
    assert naming and all(name.startswith("engagement.ui") for name in naming), naming
    library = sorted(name for name in import_graph() if not name.startswith("engagement.ui")
                     and name != "engagement.__main__")
    script = ("import importlib, sys\nsys.modules['streamlit'] = None\nfailed = []\n"
              f"for name in {library!r}:\n"
              "    try:\n        importlib.import_module(name)\n"
              "    except ImportError as exc:\n        failed.append(f'{name}: {exc}')\n"
              "print('\\n'.join(failed))\nsys.exit(1 if failed else 0)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
