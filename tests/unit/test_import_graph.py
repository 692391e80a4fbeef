"""Imports inside ``maskpatrol/`` point down only: no module reaches, directly or through
others, a module that imports it back.

The graph is read from the source with :mod:`ast`, not by importing anything, so a circle
that Python happens to survive today (a lazy import in a function, an import only for type
checking) is still found. Who imports whom, module by module:

- Every ``import`` and ``from ... import`` counts, at module level or inside a function or an
  ``if TYPE_CHECKING:`` block. Relative imports are resolved against the importing module.
- A package's ``__init__`` is a module of its own, named after the package.
- ``import a.b.c`` imports ``a.b.c``. ``from a.b import n`` imports ``a.b``, and also
  ``a.b.n`` when ``n`` is a submodule: Python runs ``a.b``'s ``__init__`` and looks ``n`` up
  in it first, whatever ``n`` is.
- So ``from . import name`` inside a package imports the package's ``__init__``, even when
  ``name`` is a submodule: ``from . import Box`` in a detector module depends on
  ``detectors/__init__``, ``from .base import Box`` only on ``detectors/base``.
  The one exception is a package's own ``__init__`` writing ``from . import sub``: it
  imports ``sub``, not itself.
- Importing ``a.b.c`` also runs the ``__init__`` of ``a.b`` and ``a``, so those count too,
  except the importer's own packages: they have run before the importer does, and counting
  them would make every package that re-exports its own modules look circular.

A cycle is a strongly connected component of more than one module, or a module that imports
itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from support.paths import ROOT

PACKAGE = "maskpatrol"


def module_names(root: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of the package under ``root``."""
    names = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve(importer: str, is_package: bool, level: int, module: str | None) -> str:
    """The absolute name of ``from <level dots><module> import ...`` written in ``importer``."""
    if level == 0:
        return module or ""
    base = importer.split(".")
    # In a package's __init__ one dot is the package itself; in a module, its package.
    drop = level - 1 if is_package else level
    base = base[: len(base) - drop]
    return ".".join(base + ([module] if module else []))


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imports_of(importer: str, path: Path, known: set[str]) -> set[str]:
    """The package modules ``importer`` imports, by the rules of this file's docstring."""
    is_package = _is_package(path)
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(importer, is_package, node.level, node.module)
            named.add(target)
            named.update(f"{target}.{alias.name}" for alias in node.names)
    own = set(_ancestors(importer)) | ({importer} if is_package else set())
    found = set()
    for name in named:
        if name in known:
            found.add(name)
        found.update(a for a in _ancestors(name) if a in known and a not in own)
    # "from . import sub" in a package's own __init__ names the package itself: the
    # submodule, already counted above, is what it imports.
    if is_package:
        found.discard(importer)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = module_names(root)
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module, and every self-import
    (Tarjan's algorithm, iterative so a deep graph cannot hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    found.append(sorted(component))
    return sorted(found)


def _describe(component: list[str], graph: dict[str, set[str]]) -> str:
    members = set(component)
    arrows = [f"{a} -> {b}" for a in component for b in sorted(graph[a] & members)]
    return ", ".join(arrows)


def test_no_module_of_the_package_imports_itself_back_through_others():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import circles in maskpatrol/:\n" + "\n".join(_describe(c, graph) for c in found)


def test_the_graph_sees_the_modules_and_their_imports():
    graph = import_graph()
    assert "maskpatrol.detectors" in graph and "maskpatrol.detectors.yunet" in graph
    assert "maskpatrol.detectors.base" in graph["maskpatrol.detectors.yunet"]
    assert "maskpatrol.pipeline" in graph["maskpatrol.results"]


#: Small packages written to a temporary folder, one per rule of the module docstring: their
#: files (the top ``__init__`` is added) and the circles the test must report.
RULE_CASES = [
    pytest.param({"det/__init__.py": "def make():\n    from .one import One\nBox = tuple\n",
                  "det/one.py": "from . import Box\n"},
                 [["maskpatrol.det", "maskpatrol.det.one"]],
                 id="a detector taking names from its package init is a circle"),
    pytest.param({"det/__init__.py": "from .base import Box\ndef make():\n    from .one import One\n",
                  "det/base.py": "Box = tuple\n", "det/one.py": "from .base import Box\n"},
                 [], id="a detector taking names from a sibling leaf is not a circle"),
    pytest.param({"det/__init__.py": "from . import one\n", "det/one.py": "from . import base\n", "det/base.py": ""},
                 [["maskpatrol.det", "maskpatrol.det.one"]],
                 id="from dot import a submodule counts as importing the package init"),
    pytest.param({"pages.py": "from .det.base import Box\n", "det/__init__.py": "from ..pages import x\n",
                  "det/base.py": ""},
                 [["maskpatrol.det", "maskpatrol.pages"]],
                 id="importing a submodule from outside runs its package init"),
    pytest.param({"a.py": "from .b import f\n",
                  "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\n"},
                 [["maskpatrol.a", "maskpatrol.b"]], id="an import for type checking only still counts"),
    pytest.param({"a.py": "def f():\n    from maskpatrol import a\n"}, [["maskpatrol.a"]],
                 id="a module importing itself is a circle"),
]


@pytest.mark.parametrize("files, circles", RULE_CASES)
def test_each_rule_finds_the_circles_of_a_small_package(tmp_path, files, circles):
    for name, text in {"__init__.py": "", **files}.items():
        path = tmp_path / PACKAGE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert cycles(import_graph(tmp_path)) == circles
