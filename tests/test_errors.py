"""One exception hierarchy: every exception class of stancekit derives from StancekitError, and the
CLI alone maps the two branches to exit codes."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import stancekit
from stancekit import cli
from stancekit.errors import CheckFailed, InputError, StancekitError


def exception_classes() -> list[type]:
    """Every exception class defined in a module of the package."""
    found = []
    for info in pkgutil.walk_packages(stancekit.__path__, "stancekit."):
        if info.name.endswith("__main__"):
            continue  # importing it runs the CLI
        module = importlib.import_module(info.name)
        found += [obj for _, obj in inspect.getmembers(module, inspect.isclass)
                  if issubclass(obj, BaseException) and obj.__module__ == module.__name__]
    return found


def test_every_exception_class_derives_from_the_base():
    classes = exception_classes()
    assert len(classes) >= 15
    assert [c.__qualname__ for c in classes if not issubclass(c, StancekitError)] == []


@pytest.mark.parametrize(("name", "branch"), [
    ("exports.ExportReadError", InputError), ("taxonomy.TaxonomyError", InputError),
    ("documents.DocumentsError", InputError), ("gold.GoldError", InputError),
    ("release.ReleaseInputError", InputError), ("release.ReleaseRefused", CheckFailed),
    ("validate.InputRejected", CheckFailed), ("validate.ConfigError", InputError),
])
def test_each_error_is_in_its_branch(name, branch):
    module, cls = name.rsplit(".", 1)
    assert issubclass(getattr(importlib.import_module(f"stancekit.{module}"), cls), branch)


def test_the_cli_maps_branches_to_exit_codes():
    from stancekit import labelstudio, release

    assert cli.exit_code(release.ReleaseInputError("x")) == 2
    assert cli.exit_code(release.ReleaseRefused("x")) == 1
    assert cli.exit_code(labelstudio.LabelStudioError("x")) == 1


def test_no_library_error_carries_an_exit_code():
    assert [c.__qualname__ for c in exception_classes() if "code" in vars(c)] == []


@pytest.mark.parametrize("verb", [["config"], ["schema"]])
def test_an_unwritable_output_is_one_line_and_exit_2(verb, tmp_path):
    """The system refuses the write (a path under a regular file): one line naming it, no traceback."""
    from pathlib import Path

    from click.testing import CliRunner

    blocker = tmp_path / "file"
    blocker.write_text("")
    root = Path(__file__).resolve().parents[1]
    result = CliRunner().invoke(cli.main, [*verb, "--taxonomy", str(root / "schema/taxonomy.yaml"),
                                           "--out", str(blocker / "out.txt")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1 and str(blocker) in result.output
