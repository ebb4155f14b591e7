"""The benchmark (scripts/bench.py) runs end to end at a small N: the shape of its output, never its timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from stancekit import taxonomy, validate
from stancekit.exports import iter_tasks

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bench  # noqa: E402


def test_generated_export_is_valid_apart_from_the_injected_warnings(tmp_path):
    tax = taxonomy.load()
    data = bench.generate(tmp_path, 40, defects=4)
    summary = validate.check([data["export"]], tax)
    assert summary.errors == 0
    assert sorted(summary.counts) == sorted(set(data["defects"]))
    assert all(validate.CODES[code].level == validate.WARNING for code in data["defects"])
    documents = pq.read_table(data["documents"]).to_pylist()
    tasks = [task for _, task in iter_tasks(data["export"])]
    assert [d["doc_id"] for d in documents] == [t["data"]["doc_id"] for t in tasks]
    assert all(d["text"] == t["data"]["text"] for d, t in zip(documents, tasks))
    used = {item["value"]["choices"][0] for t in tasks for a in t["annotations"] for item in a["result"]
            if item["type"] == "choices"}
    assert used <= {v for q in tax.questions for v in q.value_names}


def test_benchmark_reports_every_approach_with_numbers(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--tasks", "30", "50", "--workdir", str(tmp_path),
         "--max-whole", "50", "--max-jsonschema", "50", "--format", "json"],
        capture_output=True, text=True, check=True, timeout=600,
    )
    report = json.loads(out.stdout)
    assert report["cpus"] >= 1 and len(report["load_avg_before"]) == 3 and "15.7 s" in report["ls_export_figure"]
    rows = report["rows"]
    assert [(r["tasks"], r["approach"]) for r in rows] == [(n, a) for n in (30, 50) for a in bench.APPROACHES]
    for r in rows:
        assert r["exit"] == 0, r
        for key in ("seconds", "cpu_seconds", "peak_rss_mb", "peak_mb", "x_floor", "x_floor_cpu", "x_ls_export", "export_mb"):
            assert isinstance(r[key], (int, float)) and r[key] > 0, (key, r)
        assert isinstance(r["tree_pss_mb"], (int, float)) and r["peak_mb"] >= r["peak_rss_mb"]
        assert r["settle_seconds"] == 0 and r["load_avg_1m_start"] >= 0 and r["load_avg_1m"] >= 0
    assert [r["x_floor"] for r in rows if r["approach"] == "floor"] == [1.0, 1.0]
    assert [r["x_floor_cpu"] for r in rows if r["approach"] == "floor"] == [1.0, 1.0]
    # per bar (validate, release): time and memory at each N, and the growth between the two N
    assert len(report["targets"]) == 2 * (2 * 2 + 1)
    assert all(line.endswith((": met", ": NOT met")) for line in report["targets"])
    assert list(tmp_path.iterdir()) == []  # the generated inputs are deleted


def test_inputs_are_reused_and_approaches_chosen(tmp_path, capsys):
    """--keep then --reuse measures again on the same files, without generating them again."""
    assert bench.main(["--tasks", "20", "--workdir", str(tmp_path), "--keep", "--approaches", "floor", "validate"]) == 0
    capsys.readouterr()
    export = tmp_path / "n20" / "export.json"
    stamp = export.stat().st_mtime_ns
    assert bench.main(["--tasks", "20", "--workdir", str(tmp_path), "--reuse", "--approaches", "floor", "validate",
                       "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["approach"] for r in rows] == ["floor", "validate"]
    assert all(r["generate_seconds"] == 0 for r in rows)
    assert export.stat().st_mtime_ns == stamp


def test_text_table_has_a_row_per_approach(tmp_path, capsys):
    assert bench.main(["--tasks", "20", "--workdir", str(tmp_path), "--max-whole", "0", "--max-jsonschema", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split("|")[1:-1] for line in lines if line.startswith("| 20 |")]
    assert [cells[2].strip() for cells in rows] == ["floor", "parse-only", "duckdb", "validate", "release"]
    for cells in rows:
        float(cells[3]), float(cells[4]), float(cells[5]), float(cells[6]), float(cells[7])


def test_side_by_side_compares_a_revision_with_this_tree():
    """scripts/bench_side_by_side.py: both versions, both modes, a figure per round (never the timings)."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_side_by_side.py"), "--against", "HEAD", "--tasks", "15",
         "--rounds", "2", "--format", "json"],
        capture_output=True, text=True, check=True, timeout=600,
    )
    report = json.loads(out.stdout)
    assert (report["against"], report["tasks"], report["rounds"]) == ("HEAD", 15, 2)
    assert [(r["version"], r["mode"]) for r in report["rows"]] == [
        (version, mode) for version in ("HEAD", "this tree") for mode in ("validate", "release")]
    for row in report["rows"]:
        assert len(row["rounds_us"]) == 2 and all(t > 0 for t in row["rounds_us"])
        assert row["best_us"] == min(row["rounds_us"]) and row["best_us"] <= row["median_us"]


def test_side_by_side_names_a_revision_git_does_not_have():
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_side_by_side.py"), "--against", "no-such-revision"],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("cannot take src/stancekit at 'no-such-revision' from git:")
