"""README's "Code map" names every module of src/stancekit, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "stancekit"


def modules() -> set[str]:
    """Every module and subpackage under src/stancekit, dotted from the package (`release`, `release.build`);
    `__init__` and `__main__` are the package itself."""
    out = set()
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] in ("__init__", "__main__"):
            parts = parts[:-1]
        if parts:
            out.add(".".join(parts))
    return out


def code_map() -> set[str]:
    """The first-column names of the table under README's "## Code map"."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Code map\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([\w.]+)` \|", section, flags=re.MULTILINE))


def test_every_module_is_in_the_code_map():
    missing = sorted(modules() - code_map())
    assert not missing, f"README 'Code map' lacks {missing}: add one line on each one's role"


def test_the_code_map_names_no_module_that_is_gone():
    gone = sorted(code_map() - modules())
    assert not gone, f"README 'Code map' lists {gone}, which src/stancekit does not have"


def test_the_check_sees_a_missing_module(tmp_path, monkeypatch):
    """The check can fail: a new module file is reported."""
    fake = tmp_path / "stancekit"
    for name in [*code_map(), "newstage"]:
        path = fake.joinpath(*name.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    monkeypatch.setitem(globals(), "PACKAGE", fake)
    assert modules() - code_map() == {"newstage"}
