"""Generated documentation is up to date, and every CLI verb and option is documented (as sqlite-utils does)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from cogapp import Cog

from stancekit.cli import main

ROOT = Path(__file__).resolve().parents[1]


def verbs(command: click.Command = main, path: tuple[str, ...] = ("stancekit",)):
    """(path, command) of every command and subcommand of the CLI."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from verbs(sub, (*path, name))


COGGED = ("README.md", "annotation/GUIDELINES.md", "docs/cli-reference.md")  # as the Makefile's COGGED


def test_the_makefile_cogs_the_same_files():
    assert f"COGGED := {' '.join(COGGED)}" in (ROOT / "Makefile").read_text(encoding="utf-8")


@pytest.mark.parametrize("doc", COGGED)
def test_cog_blocks_are_current(doc, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)  # the blocks read schema/taxonomy.yaml, as `make docs` does, from the repository root
    status = Cog().main(["cog", "--check", str(ROOT / doc)])
    assert status == 0, f"{doc} is stale: run `make docs` ({capsys.readouterr().out.strip()})"


def test_a_stale_block_is_caught(tmp_path, monkeypatch, capsys):
    """The check can fail: a hand edit inside GUIDELINES.md's generated tables."""
    monkeypatch.chdir(ROOT)
    copy = tmp_path / "GUIDELINES.md"
    text = (ROOT / "annotation/GUIDELINES.md").read_text(encoding="utf-8")
    copy.write_text(text.replace("| `asserted` |", "| `claimed` |", 1), encoding="utf-8")
    assert Cog().main(["cog", "--check", str(copy)]) != 0


@pytest.mark.parametrize("path, command", list(verbs()), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_verb_and_option_is_documented(path, command):
    reference = (ROOT / "docs/cli-reference.md").read_text(encoding="utf-8")
    section = reference.split(f"## {' '.join(path)}\n", 1)
    assert len(section) == 2, f"{' '.join(path)} is missing from docs/cli-reference.md: run `make docs`"
    body = section[1].split("\n## ", 1)[0]
    for param in command.params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("-"):
                assert re.search(rf"(^|[\s,]){re.escape(opt)}\b", body), f"{opt} of {' '.join(path)} is not documented"
    if not isinstance(command, click.Group):
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        cli_section = readme.split("\n## CLI reference\n", 1)[1].split("\n## ", 1)[0]
        row = next((line for line in cli_section.splitlines() if line.startswith(f"| `{' '.join(path)}` |")), None)
        assert row is not None, f"README's CLI reference has no row for `{' '.join(path)}`: run `make docs`"
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert f"`{opt}`" in row, f"{opt} of {' '.join(path)} is missing from README's CLI reference"
