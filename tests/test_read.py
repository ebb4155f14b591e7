"""The reading side stays apart from the builder: what `import stancekit; stancekit.load()` brings in,
and no import cycle anywhere in src/stancekit."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from stancekit import errors, read

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "stancekit"
# What reading a release may load of stancekit: the package, the reading module and what it needs.
READING_SIDE = {"stancekit", "stancekit.read", "stancekit.paths", "stancekit.errors"}
NEVER_FOR_READING = ("jsonschema_rs", "krippendorff", "matplotlib", "msgspec", "regex", "yaml")

LOAD_AND_LIST = """
import json, sys
sys.modules["fcntl"] = None  # as on Windows: `import fcntl` raises ImportError
import stancekit
tables = stancekit.load(root=sys.argv[1], layer="gold")
print(json.dumps({"modules": sorted(sys.modules), "rows": {k: len(v) for k, v in tables.items()}}))
"""


def _load_in_fresh_process(root: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", LOAD_AND_LIST, str(root)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_load_imports_no_builder_module_and_works_without_fcntl():
    result = _load_in_fresh_process(ROOT)
    assert result["rows"]["documents"] == 5 and result["rows"]["spans"] > 0
    ours = {m for m in result["modules"] if m == "stancekit" or m.startswith("stancekit.")}
    assert ours <= READING_SIDE, f"stancekit.load() imported builder modules: {sorted(ours - READING_SIDE)}"
    heavy = [m for m in NEVER_FOR_READING if m in result["modules"]]
    assert not heavy, f"stancekit.load() imported {heavy}"


def test_the_module_check_can_fail(tmp_path, monkeypatch):
    """A reading module that imports the builder is caught (the check is not vacuous)."""
    package = tmp_path / "stancekit"
    package.mkdir()
    for path in PACKAGE.glob("*.py"):
        (package / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (package / "read.py").write_text((PACKAGE / "read.py").read_text(encoding="utf-8")
                                     + "\nfrom . import columns  # noqa\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    result = _load_in_fresh_process(ROOT)
    assert "stancekit.columns" in result["modules"]


def _imports(path: Path, module: str, is_package: bool) -> set[str]:
    """The stancekit modules a module imports, at any depth of its code (lazy imports count too)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] == "stancekit"):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                out.add(candidate if candidate in MODULES else target)
        elif isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names if alias.name.startswith("stancekit.")}
    return {m for m in out if m in MODULES} - {module}


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["stancekit", *path.relative_to(PACKAGE).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


MODULES = _modules()


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph (module -> modules it imports), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_in_the_package():
    # A submodule importing its own package (`from . import x` in release/builder) is how Python
    # packages work, not a cycle: only imports between modules other than one's ancestors count.
    graph = {name: {m for m in _imports(path, name, is_package) if not name.startswith(m + ".")}
             for name, (path, is_package) in MODULES.items()}
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph) or [])}"


def test_absolute_and_relative_imports_are_both_seen(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from stancekit import read\nfrom stancekit.release import builder\nfrom .. import errors\n")
    assert _imports(module, "stancekit.release.m", False) == {"stancekit.read", "stancekit.release.builder",
                                                              "stancekit.errors"}


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_load_errors_are_stancekit_errors(tmp_path):
    with pytest.raises(errors.ReleaseNotFound, match="no release found"):
        read.load(releases_dir=tmp_path)
    with pytest.raises(FileNotFoundError):  # still one, for code written before the hierarchy
        read.load(path=tmp_path)
    with pytest.raises(errors.InputError, match="layer must be one of"):
        read.load(layer="silver", root=ROOT)
    with pytest.raises(errors.ReleaseNotFound, match="no release 9.9.9"):
        read.load(version="9.9.9", root=ROOT)
    with pytest.raises(errors.ReleaseInputError, match="is not X.Y.Z"):
        read.resolve("v2", ROOT / read.RELEASES_DIR)


def test_a_damaged_release_is_one_error_saying_how_to_find_out_more(tmp_path):
    import shutil

    copy = tmp_path / "v2.0.0"
    shutil.copytree(ROOT / "dataset/releases/v2.0.0", copy)
    (copy / "spans.parquet").write_bytes(b"not parquet")
    with pytest.raises(errors.ReleaseInputError, match=r"spans.parquet: cannot read .*stancekit verify"):
        read.load(path=copy)
    (copy / "spans.parquet").unlink()
    with pytest.raises(errors.ReleaseInputError, match="spans.parquet"):
        read.load(path=copy)
    with pytest.raises(errors.ReleaseInputError, match="not both"):
        read.load(path=ROOT / "dataset/releases/v2.0.0", version="1.0.0")
    with pytest.raises(errors.ReleaseInputError, match="is not X.Y.Z"):
        read.load(version="garbage", releases_dir=tmp_path / "nothing-here")
