#!/usr/bin/env python3
"""Benchmark `stancekit validate` and `stancekit release` on synthetic exports, against baselines in the same run.

    scripts/bench.py --tasks 10000 100000 [--workdir DIR] [--format text|json]

For each N it writes, streaming, a synthetic Label Studio JSON export of N tasks in the
shape Label Studio 1.23 exports (3 annotations x 8 spans per task, each span with its
per-region choices, labels and choices drawn from the taxonomy, spans on word boundaries,
Cyrillic, emoji and flags in the text, a few injected warning-level defects) and the
documents.parquet the tasks come from. Then it runs each approach in a fresh process and
records wall time, CPU time (user + system of the process and the children it waited for, os.wait4:
`x floor CPU` is the CPU time over the floor's, a ratio a busy machine distorts less than wall time)
and peak RSS:

  json.load    whole-file json.load (the naive baseline; only up to --max-whole tasks)
  floor        split the file into tasks (stancekit.exports.iter_raw_tasks: msgspec finds each
               task's extent) and parse each with orjson, nothing else: every ratio is against it
  parse-only   stancekit.exports.iter_tasks with no checks (the project's own reader, parse only)
  duckdb       DuckDB read_json + unnest of annotations and result items -> Parquet, what a user
               might write instead (no validation at all; DuckDB's own threads)
  jsonschema   Python jsonschema over the loaded file (only up to --max-jsonschema tasks)
  validate     stancekit validate
  release      stancekit release (validates, then writes the Parquet release)

Memory: `peak RSS MB` is the largest resident set of any one process (os.wait4); `tree MB` the
largest sum of PSS (proportional set size: shared pages split between the processes that share
them) over the process and its children, sampled every 0.1 s; `peak MB` the larger of the two,
the figure the targets use (validate and release start worker processes).

Every figure of one N comes from the same run. Label Studio's own export time is not
measured here: it is scaled linearly from the 15.7 s measured for a 10k-task snapshot export
(LABEL_STUDIO_NOTES.md), and the table shows each approach's time as a multiple of it.
The generated files are deleted after each N unless --keep is given.

Load: `stancekit validate` and `release` choose their worker processes by the load average
(`stancekit.validate.default_workers`), which the approach measured just before raises (validate's
two workers, DuckDB's threads): `--settle SECONDS` waits, before each approach, up to that long for
the 1-minute load average to fall below half the cores (`make bench` waits up to 120 s). Each row
gives the load average when its approach started and when it finished.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stancekit import taxonomy as taxonomy_mod
from stancekit.fastpath import ls_text

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "schema" / "labeling-config.xml"
EXPORT_SCHEMA = ROOT / "schema" / "export.schema.json"
TAXONOMY = ROOT / "schema" / "taxonomy.yaml"
# Label Studio's own export: 10k tasks in 15.7 s as a snapshot export (exports.create + download),
# measured on this machine (LABEL_STUDIO_NOTES.md, issue 9); scaled linearly to N tasks.
LS_EXPORT_SECONDS_PER_TASK = 15.7 / 10_000
LS_EXPORT_FIGURE = "Label Studio snapshot export, 15.7 s per 10k tasks (measured), scaled linearly"
APPROACHES = ("json.load", "floor", "parse-only", "duckdb", "jsonschema", "validate", "release")

WORDS = ["Kremlin", "ceasefire", "Ukraine", "talks", "Moscow", "conditions", "Путин", "перемирие",
         "NATO", "truce", "🕊️", "🇺🇦", "café", "naïve", "weapons", "root", "causes", "30-day", "said", "the"]
REGION_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
TIMESTAMP = "2026-11-21T10:00:00.000000Z"


# ---------------------------------------------------------------- the synthetic export

def _text(rng: random.Random, words: int) -> tuple[str, list[tuple[int, int]]]:
    """A clean document text (NFC, `\\n` line endings) and the code point offsets of its words."""
    parts, spans, pos = [], [], 0
    for i in range(words):
        word = rng.choice(WORDS)
        spans.append((pos, pos + len(word)))
        sep = "\n" if i % 40 == 39 else ". " if i % 12 == 11 else " "
        parts.append(word + sep)
        pos += len(word) + len(sep)
    return "".join(parts), spans


def _region_id(rng: random.Random) -> str:
    return "".join(rng.choice(REGION_ID_CHARS) for _ in range(10))


def _choice_item(rid: str, name: str, value: dict) -> dict:
    return {"value": value, "id": rid, "from_name": name, "to_name": taxonomy_mod.TEXT_NAME,
            "type": "choices", "origin": "manual"}


def _span_items(rng: random.Random, tax: taxonomy_mod.Taxonomy, text: str, start: int, end: int, label: str) -> list[dict]:
    """A span and its per-region choices, sharing one region id (as Label Studio writes them)."""
    rid, piece = _region_id(rng), ls_text(text[start:end])
    items = [{"value": {"start": start, "end": end, "text": piece, "labels": [label]}, "id": rid,
              "from_name": taxonomy_mod.LABELS_NAME, "to_name": taxonomy_mod.TEXT_NAME, "type": "labels",
              "origin": "manual"}]
    for q in tax.attributes_for(label):
        items.append(_choice_item(rid, q.name, {"start": start, "end": end, "text": piece,
                                                "choices": [rng.choice(q.value_names)]}))
    return items


def make_task(rng: random.Random, tax: taxonomy_mod.Taxonomy, task_id: int, text: str,
              words: list[tuple[int, int]], annotations: int = 3, regions: int = 8) -> dict:
    """One valid task: every required choice answered, spans on word boundaries, no contradiction."""
    result_sets = []
    for a in range(annotations):
        result, used = [], set()
        for r, first in enumerate(rng.sample(range(len(words) - 6), regions)):
            label = tax.label_names[r % len(tax.label_names)]
            used.add(label)
            start, end = words[first][0], words[first + rng.randrange(1, 6)][1]
            result += _span_items(rng, tax, text, start, end, label)
        for q in tax.document_choices:
            fitting = [v.value for v in q.values if not used & set(v.incompatible_labels)]
            result.append(_choice_item(_region_id(rng), q.name, {"choices": [rng.choice(fitting)]}))
        ann_id = task_id * annotations + a
        result_sets.append({
            "id": ann_id, "completed_by": 1 + a, "result": result, "was_cancelled": False,
            "ground_truth": False, "created_at": TIMESTAMP, "updated_at": TIMESTAMP, "draft_created_at": None,
            "lead_time": 42.5, "prediction": {}, "result_count": len(result),
            "unique_id": f"00000000-0000-0000-0000-{ann_id:012d}", "import_id": None, "last_action": None,
            "bulk_created": False, "task": task_id, "project": 1, "updated_by": 1 + a, "parent_prediction": None,
            "parent_annotation": None, "last_created_by": None,
        })
    return {
        "id": task_id, "annotations": result_sets, "file_upload": None, "drafts": [], "predictions": [],
        "data": {"text": text, "doc_id": doc_id_of(text), "title": f"Synthetic article {task_id}",
                 "source": "synthetic", "chunk": 0, "offset": 0},
        "meta": {}, "created_at": TIMESTAMP, "updated_at": TIMESTAMP, "inner_id": task_id,
        "total_annotations": annotations, "cancelled_annotations": 0, "total_predictions": 0, "comment_count": 0,
        "unresolved_comment_count": 0, "last_comment_updated_at": None, "project": 1, "updated_by": 1,
        "comment_authors": [],
    }


def inject_defect(task: dict, kind: int, tax: taxonomy_mod.Taxonomy) -> str:
    """Give a task one known warning-level defect (the release still builds); return its validate code."""
    annotation = task["annotations"][0]
    result = annotation["result"]
    contradicting = [(q.name, v.value) for q in tax.document_choices for v in q.values if v.incompatible_labels]
    kind %= 4 if contradicting else 3
    if kind == 0:
        task["annotations"][-1]["was_cancelled"] = True
        return "CANCELLED_ANNOTATION"
    if kind == 1:
        task["drafts"] = [{"id": annotation["id"] + 10**9, "user": "annotator@example.org", "result": result[:1],
                           "created_at": TIMESTAMP}]
        return "DRAFT_EXCLUDED"
    if kind == 2:  # move the first span's start one code point into its first word
        rid, text = result[0]["id"], task["data"]["text"]
        for item in result:
            if item["id"] == rid:
                item["value"]["start"] += 1
                item["value"]["text"] = ls_text(text[item["value"]["start"]:item["value"]["end"]])
        return "SPAN_BOUNDARY_IN_WORD"
    name, value = contradicting[0]
    for item in result:
        if item["from_name"] == name:
            item["value"]["choices"] = [value]
    return "SPAN_CONTRADICTS_DOC_CHOICE"


def doc_id_of(text: str) -> str:
    """The documents.parquet contract's id: `doc_` + sha256(clean text)[:16]."""
    return "doc_" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _document(text: str, index: int, offset_map) -> dict:
    """A documents.parquet row as ingest writes it, for a text that was its own raw UTF-8 file."""
    units, pos = [], 0
    for ch in text:
        width = len(ch.encode())
        units.append((ch, pos, pos + width))
        pos += width
    sha = hashlib.sha256(text.encode()).hexdigest()
    return {"doc_id": doc_id_of(text), "title": f"Synthetic article {index + 1}", "text": text,
            "source_file": f"synthetic/{index:08d}.txt", "source_format": "txt", "source_id": None,
            "url": None, "published": None, "raw_sha256": sha, "text_sha256": sha,
            "offset_map": offset_map(units, "utf-8")}


def generate(directory: Path, tasks: int, seed: int = 0, defects: int = 10, taxonomy_path: Path = TAXONOMY) -> dict:
    """Write export.json and documents.parquet for `tasks` tasks, streaming; return paths and injected codes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from stancekit import ingest

    tax = taxonomy_mod.load(taxonomy_path)
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    export, documents = directory / "export.json", directory / "documents.parquet"
    every = max(1, tasks // max(1, defects)) if defects else 0
    injected: list[str] = []
    rows: list[dict] = []
    writer = pq.ParquetWriter(documents, ingest.SCHEMA, compression="zstd")
    with open(export, "w", encoding="utf-8") as out:
        out.write("[")
        for i in range(tasks):
            text, words = _text(rng, 300)
            task = make_task(rng, tax, i + 1, text, words)
            if every and i % every == every // 2 and len(injected) < defects:
                injected.append(inject_defect(task, len(injected), tax))
            out.write("\n" if i == 0 else ",\n")
            out.write(json.dumps(task, ensure_ascii=False))
            rows.append(_document(text, i, ingest.offset_map))
            if len(rows) == 1000:
                writer.write_table(pa.Table.from_pylist(rows, schema=ingest.SCHEMA))
                rows = []
        out.write("\n]\n")
    if rows:
        writer.write_table(pa.Table.from_pylist(rows, schema=ingest.SCHEMA))
    writer.close()
    return {"export": export, "documents": documents, "defects": injected}


# ---------------------------------------------------------------- measuring

PY = sys.executable
SNIPPETS = {
    "json.load": "import json, sys\njson.load(open(sys.argv[1], encoding='utf-8'))",
    "floor": ("import sys, orjson\nfrom stancekit.exports import iter_raw_tasks\n"
              "for _, raw in iter_raw_tasks(sys.argv[1]): orjson.loads(raw) if isinstance(raw, bytes) else raw"),
    "parse-only": "import sys\nfrom stancekit.exports import iter_tasks\nfor _ in iter_tasks(sys.argv[1]): pass",
    "duckdb": ("import sys, duckdb\ncon = duckdb.connect()\n"
               "con.execute(\"SET preserve_insertion_order = false\")\n"
               "con.execute(f\"\"\"COPY (SELECT task_id, doc_id, a.id AS annotation_id, a.completed_by AS annotator,\n"
               "  unnest(a.result, recursive := true) FROM (SELECT id AS task_id, data.doc_id AS doc_id, unnest(annotations) AS a\n"
               "  FROM read_json('{sys.argv[1]}', format = 'array', maximum_object_size = 67108864)))\n"
               "  TO '{sys.argv[2]}' (FORMAT parquet)\"\"\")"),
    "jsonschema": ("import json, sys, jsonschema\nschema = json.load(open(sys.argv[2], encoding='utf-8'))\n"
                   "data = json.load(open(sys.argv[1], encoding='utf-8'))\n"
                   "sum(1 for _ in jsonschema.Draft202012Validator(schema).iter_errors(data))"),
}


def _children(pid: int) -> list[int]:
    """The process and its descendants, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += parents.get(p, [])
    return found


def _tree_pss_mb(pid: int) -> float:
    """The sum of PSS over the process tree, in MB (0 where /proc/PID/smaps_rollup cannot be read)."""
    total = 0
    for p in _children(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup", "rb") as f:
                for line in f:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError):
            pass
    return total / 1024


def measure(argv: list[str], cwd: Path) -> dict:
    """Run argv in a fresh process: wall seconds, peak RSS in MB (the largest of it and its children),
    the peak PSS of the whole process tree (sampled), and the exit code."""
    start = time.perf_counter()
    tree = 0.0
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            tree = max(tree, _tree_pss_mb(proc.pid))
            time.sleep(0.1)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        last = err.read().decode(errors="replace").strip().splitlines()[-1:]
    rss = round(usage.ru_maxrss / 1024, 1)
    return {"seconds": round(seconds, 2), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": rss, "tree_pss_mb": round(tree, 1),
            "peak_mb": max(rss, round(tree, 1)), "exit": proc.returncode, "stderr": last[0] if last else ""}


def _inputs(directory: Path, tasks: int, seed: int, reuse: bool) -> tuple[dict, float]:
    """The generated export and documents for `tasks` tasks (reused from an earlier --keep run with --reuse)."""
    marker = directory / "defects.json"
    if reuse and marker.is_file() and (directory / "export.json").is_file() and (directory / "documents.parquet").is_file():
        return {"export": directory / "export.json", "documents": directory / "documents.parquet",
                "defects": json.loads(marker.read_text())}, 0.0
    started = time.perf_counter()
    # In a child process: children measured later are forked from this process, and Linux counts
    # the RSS high-water mark of the process they were forked from in their own peak RSS.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        data = pool.apply(generate, (directory, tasks, seed))
    marker.write_text(json.dumps(data["defects"]))
    return data, round(time.perf_counter() - started, 1)


def settle(limit: float) -> float:
    """Wait up to `limit` seconds for the 1-minute load average to fall below half the cores; the seconds waited."""
    started = time.perf_counter()
    while os.getloadavg()[0] >= (os.cpu_count() or 1) / 2 and time.perf_counter() - started < limit:
        time.sleep(2)
    return round(time.perf_counter() - started, 1)


def run(tasks: int, workdir: Path, max_whole: int, max_jsonschema: int, keep: bool = False, seed: int = 0,
        reuse: bool = False, approaches: tuple[str, ...] = APPROACHES, settle_seconds: float = 0) -> list[dict]:
    """Generate the inputs for `tasks` tasks and measure every approach on them; one row per approach."""
    directory = workdir / f"n{tasks}"
    data, generated = _inputs(directory, tasks, seed, reuse)
    export = str(data["export"])
    size_mb = round(os.path.getsize(export) / 2**20, 1)
    stancekit = [PY, "-m", "stancekit"]
    shutil.rmtree(directory / "releases", ignore_errors=True)
    commands = {
        "json.load": [PY, "-c", SNIPPETS["json.load"], export] if tasks <= max_whole else None,
        "floor": [PY, "-c", SNIPPETS["floor"], export],
        "parse-only": [PY, "-c", SNIPPETS["parse-only"], export],
        "duckdb": [PY, "-c", SNIPPETS["duckdb"], export, str(directory / "duckdb.parquet")],
        "jsonschema": [PY, "-c", SNIPPETS["jsonschema"], export, str(EXPORT_SCHEMA)] if tasks <= max_jsonschema else None,
        "validate": stancekit + ["validate", "--config", str(CONFIG), "--taxonomy", str(TAXONOMY), export],
        "release": stancekit + ["release", "--taxonomy", str(TAXONOMY), "--version", "1.0.0", "--documents", str(data["documents"]),
                                "--exports", export, "--out-dir", str(directory / "releases")],
    }
    rows = []
    try:
        for name, argv in commands.items():
            if argv is None or name not in approaches:
                continue
            waited = settle(settle_seconds)
            start_load = round(os.getloadavg()[0], 2)
            row = {"tasks": tasks, "export_mb": size_mb, "approach": name, "settle_seconds": waited,
                   "load_avg_1m_start": start_load, **measure(argv, directory),
                   "load_avg_1m": round(os.getloadavg()[0], 2), "generate_seconds": generated,
                   "defects": len(data["defects"])}
            rows.append(row)
    finally:
        (directory / "duckdb.parquet").unlink(missing_ok=True)
        shutil.rmtree(directory / "releases", ignore_errors=True)
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)
    floor = next((r["seconds"] for r in rows if r["approach"] == "floor"), None) or 1e-9
    ls_seconds = LS_EXPORT_SECONDS_PER_TASK * tasks
    floor_cpu = next((r["cpu_seconds"] for r in rows if r["approach"] == "floor"), None) or 1e-9
    for r in rows:
        r["x_floor"] = round(r["seconds"] / floor, 2)
        r["x_floor_cpu"] = round(r["cpu_seconds"] / floor_cpu, 2)
        r["x_ls_export"] = round(r["seconds"] / ls_seconds, 2)
    return rows


# ---------------------------------------------------------------- reporting

def table(rows: list[dict]) -> str:
    lines = ["| tasks | export MB | approach | seconds | x floor | CPU s | x floor CPU | x LS export | peak RSS MB | tree MB "
             "| exit | load 1m start | load 1m end |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['tasks']} | {r['export_mb']} | {r['approach']} | {r['seconds']} | {r['x_floor']} "
                     f"| {r['cpu_seconds']} | {r['x_floor_cpu']} | {r['x_ls_export']} | {r['peak_rss_mb']} "
                     f"| {r['tree_pss_mb']} | {r['exit']} | {r['load_avg_1m_start']} | {r['load_avg_1m']} |")
    return "\n".join(lines)


TARGETS = (("validate", 1.3), ("release", 2.5))  # issue 15: times the floor, at every N
RSS_LIMIT_MB, RSS_GROWTH = 300, 0.10


def targets(rows: list[dict]) -> list[str]:
    """Issue 15's bars: at every N, validate <= 1.3x and release <= 2.5x the floor, peak memory < 300 MB;
    peak memory growing by at most 10% between the two largest N."""
    by = {(r["tasks"], r["approach"]): r for r in rows}
    ns = sorted({r["tasks"] for r in rows})
    out = []
    for name, limit in TARGETS:
        for n in ns:
            r = by.get((n, name))
            if r is None:
                continue
            out.append(f"{name} at {n} tasks: {r['x_floor']}x the floor <= {limit}x: {'met' if r['x_floor'] <= limit else 'NOT met'}")
            out.append(f"{name} at {n} tasks: peak {r['peak_mb']} MB < {RSS_LIMIT_MB} MB: "
                       f"{'met' if r['peak_mb'] < RSS_LIMIT_MB else 'NOT met'}")
        if len(ns) > 1 and (ns[-2], name) in by and (ns[-1], name) in by:
            small, big = by[(ns[-2], name)]["peak_mb"], by[(ns[-1], name)]["peak_mb"]
            change = (big - small) / small
            out.append(f"{name}: peak {small} MB at {ns[-2]} vs {big} MB at {ns[-1]} tasks ({change:+.0%}) "
                       f"grows <= {RSS_GROWTH:.0%}: {'met' if change <= RSS_GROWTH else 'NOT met'}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="\n".join(__doc__.splitlines()[2:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, nargs="+", default=[1000, 10000], help="task counts to benchmark")
    parser.add_argument("--workdir", type=Path, help="where to generate the inputs (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the generated inputs")
    parser.add_argument("--reuse", action="store_true", help="reuse inputs kept in --workdir by an earlier --keep run")
    parser.add_argument("--approaches", nargs="+", choices=APPROACHES, default=list(APPROACHES),
                        help="measure only these (e.g. re-run the key rows when the load was high)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--max-whole", type=int, default=10_000, help="largest N for whole-file json.load")
    parser.add_argument("--max-jsonschema", type=int, default=1_000, help="largest N for Python jsonschema")
    parser.add_argument("--settle", type=float, default=0, metavar="SECONDS",
                        help="before each approach, wait up to SECONDS for the 1-minute load average to fall below "
                             "half the cores (default: 0, no wait)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="stancekit-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    before = os.getloadavg()
    try:
        rows = [row for n in args.tasks for row in run(n, workdir, args.max_whole, args.max_jsonschema, args.keep or args.reuse,
                                                        args.seed, args.reuse, tuple(args.approaches), args.settle)]
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    after = os.getloadavg()
    if args.format == "json":
        print(json.dumps({"cpus": os.cpu_count(), "load_avg_before": before, "load_avg_after": after,
                          "ls_export_figure": LS_EXPORT_FIGURE, "rows": rows, "targets": targets(rows)}, indent=2))
    else:
        print(f"{os.cpu_count()} cores; load average (1, 5, 15 min) before {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, "
              f"after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")
        print(f"x LS export: time / ({LS_EXPORT_FIGURE})\n")
        print(table(rows))
        print()
        print("\n".join(targets(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
