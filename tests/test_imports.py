"""Headless commands stay fast: they never import the model, cache or UI libraries."""

import json
import subprocess
import sys

import pytest

HEAVY = ("pymc", "pytensor", "arviz", "mlflow", "textual", "ibis", "pandas", "numpy", "scipy")
PROBE = """
import json, sys
from vibes_tui.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in {heavy!r} if m in sys.modules)
print("LOADED=" + json.dumps(loaded), file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize(
    "argv", [["--help"], ["experiments", "list"], ["experiments", "schema", "--type", "ab-test"]]
)
def test_headless_commands_do_not_import_heavy_modules(home, argv):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stderr.rsplit("LOADED=", 1)[1])
    assert loaded == []


def test_an_exact_posterior_loads_no_sampler_cache_or_ui(home, ab_test):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY[:5]), "posterior", ab_test, "--exact"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stderr.rsplit("LOADED=", 1)[1]) == []


@pytest.mark.mcmc
def test_a_cache_hit_loads_no_sampler(home, ab_test):
    # A small fit: what is imported on a hit does not depend on the fit's size.
    args = ["posterior", ab_test, "--json", "--draws", "200", "--tune", "200", "--chains", "2"]
    assert (
        subprocess.run(
            [sys.executable, "-m", "vibes_tui.cli", *args], capture_output=True, check=True
        ).returncode
        == 0
    )
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=("pymc", "pytensor", "textual")), *args],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["cached"] is True
    assert json.loads(proc.stderr.rsplit("LOADED=", 1)[1]) == []


def imports_of(path, modules) -> set[str]:
    """The vibes_core ``modules`` a module imports, at module level or inside functions; not
    those only a type checker reads (under ``if TYPE_CHECKING:``). ``from package import
    module`` imports the module (the package is its parent, not an import of its own)."""
    import ast

    tree, found = ast.parse(path.read_text()), set()

    def visit(node) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            named = {f"{node.module}.{alias.name}" for alias in node.names}
            found.update(named & modules or {node.module})
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found & modules


def test_vibes_core_has_no_import_circle():
    """Dependencies point down: a module never imports, even inside a function, one that
    imports it back (through any chain). A package's __init__ is the package."""
    from pathlib import Path

    import vibes_core

    root = Path(vibes_core.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {name: imports_of(path, set(modules)) - {name} for name, path in modules.items()}

    def circle_from(start: str) -> list[str] | None:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for after in sorted(graph[node]):
                if after == start:
                    return [*trail, start]
                if after not in seen:
                    seen.add(after)
                    stack.append((after, [*trail, after]))
        return None

    circles = {tuple(found) for name in graph if (found := circle_from(name))}
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in sorted(circles))
