"""Who may import whom (docs/ARCHITECTURE.md), checked on the source of every module.

Imports are read from each module's syntax tree, so the lazy imports inside
functions (the engine and testenv load them on first use) count too. No root,
no kernel: runs everywhere.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("xdp_tui", "testenv")

# The bottom: imported by everything, importing nothing of ours but each other.
BASE = {
    "xdp_tui",
    "xdp_tui.errors",
    "xdp_tui.paths",
    "xdp_tui.privileges",
    "xdp_tui.process",
    "xdp_tui.stderr",
    "xdp_tui.lab_records",
    "xdp_tui.labs",
    "xdp_tui.config",
    "xdp_tui.userfiles",
    "xdp_tui.pins",
    "xdp_tui.tui_sessions",
}
# The modules that make system calls: a widget or screen reaches them only
# through the workbench, from a thread worker.
KERNEL_FACING = ("xdp_tui.engine._lib", "xdp_tui.engine.bpfsys", "xdp_tui.engine.libbpf")
KERNEL_FACING += ("xdp_tui.engine.attach", "xdp_tui.engine.session", "xdp_tui.engine.redirect")
TUI = ("xdp_tui.app", "xdp_tui.screens", "xdp_tui.widgets")
FACES = (*TUI, "xdp_tui.cli", "xdp_tui.__main__")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # what it imports, resolved to a module where one exists
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _ours() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if "_data" not in path.parts:
                modules[_module_name(path)] = path
    return modules


MODULES = _ours()


def _resolve(base: str, name: str) -> str:
    """`from base import name`: the submodule when there is one, else base."""
    candidate = f"{base}.{name}"
    return candidate if candidate in MODULES else base


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the nodes under `if TYPE_CHECKING:`: names for annotations, never run."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def _imports_of(module: str, path: Path) -> Iterator[Import]:
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), str(path))
    types_only = _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in types_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package this module is in
                parents = module.split(".")
                keep = len(parents) - node.level + (1 if is_package else 0)
                base = ".".join([*parents[:keep], *([base] if base else [])])
            for alias in node.names:
                yield Import(module, _resolve(base, alias.name), node.lineno)


ALL_IMPORTS = [imp for name, path in sorted(MODULES.items()) for imp in _imports_of(name, path)]


def _within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _is_ours(name: str) -> bool:
    return _within(name, *PACKAGES)


@dataclass(frozen=True)
class Rule:
    name: str
    binds: Callable[[str], bool]  # does the rule apply to this importing module?
    allows: Callable[[str], bool]  # may it import this target?

    def breaches(self, imports: list[Import]) -> list[str]:
        return [str(i) for i in imports if self.binds(i.module) and not self.allows(i.target)]


RULES = [
    Rule(
        "Textual only in the TUI",
        lambda m: not _within(m, *TUI),
        lambda t: not _within(t, "textual"),
    ),
    Rule(
        "the base imports only the base",
        lambda m: m in BASE,
        lambda t: not _is_ours(t) or t in BASE,
    ),
    Rule(
        "the engine imports the base and itself, never testenv",
        lambda m: _within(m, "xdp_tui.engine"),
        lambda t: not _is_ours(t) or t in BASE or _within(t, "xdp_tui.engine"),
    ),
    Rule(
        "testenv imports the base, the engine and itself",
        lambda m: _within(m, "testenv"),
        lambda t: not _is_ours(t) or t in BASE or _within(t, "xdp_tui.engine", "testenv"),
    ),
    Rule(
        "services never import a face",
        lambda m: _within(
            m, "xdp_tui.lessons", "xdp_tui.checks", "xdp_tui.doctor", "xdp_tui.workbench"
        ),
        lambda t: not _within(t, *FACES),
    ),
    Rule(
        "no kernel calls in screens and widgets",
        lambda m: _within(m, *TUI),
        lambda t: not _within(t, "testenv", *KERNEL_FACING),
    ),
]


def test_the_walk_sees_the_tree() -> None:
    assert "xdp_tui.engine.bpfsys" in MODULES and "testenv.lab" in MODULES
    # Lazy imports inside functions count: the workbench imports the engine that way.
    assert any(
        i.module == "xdp_tui.workbench" and _within(i.target, "xdp_tui.engine") for i in ALL_IMPORTS
    )


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_layer_rule(rule: Rule) -> None:
    assert rule.breaches(ALL_IMPORTS) == []


@pytest.mark.parametrize(
    ("module", "target"),
    [
        ("xdp_tui.engine.attach", "testenv"),  # the cycle this test exists for
        ("xdp_tui.engine.maps", "textual.widgets"),
        ("xdp_tui.labs", "xdp_tui.engine.bpfsys"),
        ("testenv.lab", "xdp_tui.workbench"),
        ("xdp_tui.widgets.live_stats", "xdp_tui.engine.bpfsys"),
        ("xdp_tui.checks", "xdp_tui.screens.main"),
    ],
)
def test_a_breach_is_reported(module: str, target: str) -> None:
    assert any(rule.breaches([Import(module, target, 1)]) for rule in RULES)
