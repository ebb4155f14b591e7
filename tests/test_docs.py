"""Generated documentation is up to date: every cog block in README.md renders to what is committed."""

from __future__ import annotations

from pathlib import Path

from cogapp import Cog

ROOT = Path(__file__).resolve().parents[1]


def test_cog_blocks_are_current(capsys):
    status = Cog().main(["cog", "--check", str(ROOT / "README.md")])
    assert status == 0, f"README.md is stale: run `make docs` ({capsys.readouterr().out.strip()})"
