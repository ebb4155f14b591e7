#!/usr/bin/env python3
"""Benchmark validate and release on synthetic Label Studio exports, against baselines in the same run.

Usage: scripts/bench.py [--tasks N ...] [--workdir DIR] [--format text|json]

For each N it generates an export shaped like a real project (3 annotations x 8 regions per
task, each region with 2 per-region choices, some non-ASCII and emoji, a few injected
defects), then runs every approach in a fresh process and records wall time and peak RSS:
  json.load      whole-file json.load (the naive baseline; skipped above --max-whole tasks)
  parse-only     stancekit's streaming reader with no checks (the floor validate is held to)
  jsonschema     Python jsonschema over the loaded file (only up to --max-jsonschema tasks)
  validate       stancekit validate --format json
  release        stancekit release into a temporary directory
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = (
    "Putin said the truce “must address the root causes” of the crisis 😀 and Kyiv replied: «Жизнь». "
    "Peskov added that Moscow is “carefully studying” the proposal 🇺🇦.\n"
)


def generate(n_tasks: int, directory: Path, seed: int = 0) -> dict[str, Path]:
    """Write documents.parquet and export.json for n_tasks synthetic tasks; return their paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    export_path = directory / "export.json"
    texts = [TEXT * (2 + i % 3) + f"Task {i}." for i in range(16)]
    doc_ids = []
    with open(export_path, "w", encoding="utf-8") as out:
        out.write("[\n")
        for i in range(n_tasks):
            text = texts[i % len(texts)]
            doc_id = f"doc_{i:016x}"
            doc_ids.append((doc_id, text))
            annotations = []
            for a in range(3):
                result = []
                for r in range(8):
                    start = rng.randrange(0, len(text) - 12)
                    end = start + rng.randrange(3, 12)
                    label = "CONDITION" if r % 2 else "STANCE"
                    region = f"t{i}a{a}r{r}"
                    value = {"start": start, "end": end, "text": text[start:end].replace("\n", "\\n")}
                    if i % 997 == 1 and r == 0:
                        value["end"] = len(text) + 5  # injected defect: out of range
                    result.append({"id": region, "from_name": "label", "to_name": "text", "type": "labels",
                                   "value": {**value, "labels": [label]}, "origin": "manual"})
                    first = ("condition_type", "other") if label == "CONDITION" else ("polarity", "oppose")
                    for name, choice in (first, ("attribution", "actor")):
                        result.append({"id": region, "from_name": name, "to_name": "text", "type": "choices",
                                       "value": {**value, "choices": [choice]}, "origin": "manual"})
                result.append({"id": f"t{i}a{a}d", "from_name": "doc_stance", "to_name": "text", "type": "choices",
                               "value": {"choices": ["conditional_support"]}, "origin": "manual"})
                annotations.append({
                    "id": i * 3 + a, "completed_by": a + 1, "result": result, "was_cancelled": False,
                    "ground_truth": False, "lead_time": 30.5, "created_at": "2025-03-14T10:00:00.000000Z",
                    "updated_at": "2025-03-14T10:00:00.000000Z", "task": i + 1, "prediction": {},
                })
            task = {"id": i + 1, "data": {"text": text, "doc_id": doc_id, "title": f"Doc {i}", "source": "bench",
                                          "chunk": 0, "offset": 0},
                    "annotations": annotations, "predictions": [], "meta": {}, "inner_id": i + 1}
            out.write(("," if i else "") + json.dumps(task, ensure_ascii=False) + "\n")
        out.write("]\n")
    return {"export": export_path, "dir": directory, "doc_ids": doc_ids}


def measure(argv: list[str], cwd: Path) -> dict:
    """Run argv in a fresh process; return wall seconds, peak RSS (MB) and exit code."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "exit": os.waitstatus_to_exitcode(status), "stderr": stderr.strip().splitlines()[-1:] }


PY = sys.executable
SNIPPETS = {
    "json.load": "import json,sys; json.load(open(sys.argv[1], encoding='utf-8'))",
    "parse-only": "import sys; from stancekit.exports import iter_tasks\nfor _ in iter_tasks(sys.argv[1]): pass",
    "jsonschema": ("import json,sys,jsonschema; s=json.load(open(sys.argv[2])); d=json.load(open(sys.argv[1], encoding='utf-8'));"
                   " v=jsonschema.Draft202012Validator(s); sum(1 for _ in v.iter_errors(d))"),
}


def run(n_tasks: int, workdir: Path, max_whole: int, max_jsonschema: int) -> list[dict]:
    data = generate(n_tasks, workdir / f"n{n_tasks}")
    export = str(data["export"])
    size_mb = round(os.path.getsize(export) / 2**20, 1)
    rows = []

    def record(name: str, argv: list[str]) -> None:
        rows.append({"tasks": n_tasks, "export_mb": size_mb, "approach": name, **measure(argv, ROOT)})

    if n_tasks <= max_whole:
        record("json.load", [PY, "-c", SNIPPETS["json.load"], export])
    record("parse-only", [PY, "-c", SNIPPETS["parse-only"], export])
    if n_tasks <= max_jsonschema and (ROOT / "schema/export.schema.json").exists():
        record("jsonschema", [PY, "-c", SNIPPETS["jsonschema"], export, str(ROOT / "schema/export.schema.json")])
    stancekit = [PY, "-m", "stancekit"]
    record("validate", stancekit + ["validate", "--format", "json", export])
    release_dir = Path(tempfile.mkdtemp(dir=workdir))
    record("release", stancekit + ["release", "--version", "0.0.1", "--exports", export, "--out-dir", str(release_dir)])
    shutil.rmtree(release_dir, ignore_errors=True)
    floor = next(r["seconds"] for r in rows if r["approach"] == "parse-only") or 1e-9
    for r in rows:
        r["x_parse_only"] = round(r["seconds"] / floor, 2)
    return rows


def table(rows: list[dict]) -> str:
    head = "| tasks | export MB | approach | seconds | x parse-only | peak RSS MB | exit |"
    lines = [head, "|---:|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['tasks']} | {r['export_mb']} | {r['approach']} | {r['seconds']} | {r['x_parse_only']} "
                     f"| {r['peak_rss_mb']} | {r['exit']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--workdir", type=Path, help="where to generate exports (default: a temp dir, removed)")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--max-whole", type=int, default=20000, help="largest N for whole-file json.load")
    parser.add_argument("--max-jsonschema", type=int, default=2000, help="largest N for Python jsonschema")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="stancekit-bench-"))
    try:
        rows = [row for n in args.tasks for row in run(n, workdir, args.max_whole, args.max_jsonschema)]
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(rows, indent=2) if args.format == "json" else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
