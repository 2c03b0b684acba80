"""Imports point one way, down the layers drawn in docs/architecture.md: a module may import
its own layer or any below it, never one above (lazy and type-only imports included: they tie
modules as much as any other)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.factories import REPO

# Top to bottom; a module belongs to the first layer whose prefix it starts with. The same
# list, with what each layer is for, is the table in docs/architecture.md.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("entry points", ("bot.__main__", "bot.cli")),
    ("composition root", ("bot.compose",)),
    ("adapters", ("bot.discord_app", "bot.chat")),
    ("presentation", ("bot.render", "bot.console", "bot.settings")),
    ("feeds", ("retrieval.feeds",)),
    ("collection", ("retrieval.collection", "retrieval.evaluation")),
    ("engine", ("retrieval.engine",)),
    ("search", ("retrieval.search",)),
    ("index", ("retrieval.index",)),
    ("sources", ("retrieval.embedding", "retrieval.loaders")),
    ("text", ("retrieval.text",)),
    (
        "foundation",
        (
            "retrieval.dates",
            "retrieval.documents",
            "retrieval.duplicates",
            "retrieval.errors",
            "retrieval.files",
            "retrieval.near_duplicates",
            "retrieval.progress",
            "retrieval.settings",
            "retrieval.third_party",
            "retrieval.threads",
        ),
    ),
]
# The package's public API re-exports from every layer, lazily (PEP 562), for the bot.
PUBLIC_API = {"retrieval", "bot"}


def _layer(module: str) -> int | None:
    for number, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return number
    return None


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("retrieval", "bot"):
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            # `from retrieval.index import derived` imports the module retrieval.index.derived.
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] in ("retrieval", "bot")}


def test_every_module_has_a_layer() -> None:
    unplaced = [m for m in _modules() if m not in PUBLIC_API and _layer(m) is None]
    assert unplaced == [], "add them to LAYERS and docs/architecture.md"


@pytest.mark.parametrize("module", sorted(set(_modules()) - PUBLIC_API))
def test_imports_point_down(module: str) -> None:
    own = _layer(module)
    assert own is not None
    modules = _modules()
    upward = []
    for target in sorted(_imports(modules[module], module)):
        layer = _layer(target)
        if target in modules and layer is not None and layer < own:
            upward.append(f"{target} ({LAYERS[layer][0]})")
    assert upward == [], f"{module} ({LAYERS[own][0]}) imports upward"


def test_the_library_never_imports_the_bot() -> None:
    modules = _modules()
    offenders = {
        m: sorted(t for t in _imports(p, m) if t.startswith("bot"))
        for m, p in modules.items()
        if m.startswith("retrieval")
    }
    assert {m: t for m, t in offenders.items() if t} == {}


def test_the_architecture_doc_lists_every_layer() -> None:
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    for name, prefixes in LAYERS:
        assert name in doc, name
        for prefix in prefixes:
            assert prefix.replace(".", "/") in doc, prefix
