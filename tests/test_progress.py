"""Progress bars: on stderr only when it is a terminal, never with --quiet, never when stderr is a pipe or file."""

from __future__ import annotations

import fcntl
import os
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from click.testing import CliRunner

from stancekit.cli import main

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bench  # noqa: E402

TAXONOMY = str(ROOT / "schema" / "taxonomy.yaml")
CONFIG = str(ROOT / "schema" / "labeling-config.xml")
VERBS = [["validate"], ["release"], ["ingest"], ["ls", "push"], ["ls", "pull"]]


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_long_running_verbs_have_quiet(verb):
    result = CliRunner().invoke(main, [*verb, "--help"])
    assert result.exit_code == 0 and "--quiet" in result.output


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("progress")
    data = bench.generate(directory, 20, defects=0)
    raw = directory / "raw"
    raw.mkdir()
    for i in range(3):
        (raw / f"article{i}.txt").write_text(f"Title {i}\n\nThe Kremlin said the talks would go on, day {i}.\n",
                                             encoding="utf-8")
    return data, raw


def commands(inputs, tmp_path):
    data, raw = inputs
    stancekit = [sys.executable, "-m", "stancekit"]
    return {
        "validate": stancekit + ["validate", "--config", CONFIG, "--taxonomy", TAXONOMY, str(data["export"])],
        "release": stancekit + ["release", "--taxonomy", TAXONOMY, "--version", "1.0.0", "--documents",
                                str(data["documents"]), "--exports", str(data["export"]), "--out-dir", str(tmp_path / "r")],
        "ingest": stancekit + ["ingest", str(raw), "--out", str(tmp_path / "documents.parquet")],
    }


@pytest.mark.parametrize("verb", ["validate", "release", "ingest"])
def test_nothing_on_stderr_when_it_is_not_a_terminal(inputs, tmp_path, verb):
    argv = commands(inputs, tmp_path)[verb]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def _on_a_terminal(argv: list[str], cwd: Path) -> str:
    """Run argv with stderr on a pseudo-terminal; return what it wrote there."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 columns wide
    try:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            out += chunk
        assert proc.wait(timeout=300) == 0, out
    finally:
        os.close(master)
    return out.decode(errors="replace")


@pytest.mark.parametrize("verb", ["validate", "release", "ingest"])
def test_a_bar_on_a_terminal_and_none_with_quiet(inputs, tmp_path, verb):
    argv = commands(inputs, tmp_path)[verb]
    shown = _on_a_terminal(argv, tmp_path)
    assert verb in shown and "%" in shown, shown
    shutil.rmtree(tmp_path / "r", ignore_errors=True)
    assert _on_a_terminal([*argv, "--quiet"], tmp_path) == ""
