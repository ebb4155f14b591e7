"""Time `stancekit validate` against a streaming parse-only pass over the same export, in one run.

Each approach runs in its own child process, so that its peak RSS is its own.

    python scripts/bench_validate.py EXPORT.json [--whole-file] [--python-jsonschema N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

APPROACHES = {
    "parse-only (stancekit.exports.iter_tasks)":
        "from stancekit.exports import iter_tasks\nfor _ in iter_tasks(PATH): pass",
    "stancekit validate (library)":
        "from stancekit import validate, taxonomy\nvalidate.check([PATH], taxonomy.load(), open('schema/labeling-config.xml').read())",
    "whole-file json.load":
        "import json\njson.load(open(PATH, 'rb'))",
    "python jsonschema per task (first N tasks)":
        "import itertools, jsonschema\nfrom stancekit import schema, taxonomy\nfrom stancekit.exports import iter_tasks\n"
        "v = jsonschema.Draft202012Validator(schema.task_schema(schema.build(taxonomy.load())))\n"
        "for _, t in itertools.islice(iter_tasks(PATH), N): list(v.iter_errors(t))",
}


def run(code: str, path: Path, n: int = 0) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a child process running `code`."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", f"PATH = {str(path)!r}\nN = {n}\n" + code])
    _, status, usage = os.wait4(child.pid, 0)
    if status:
        raise SystemExit(f"benchmark child failed: {code.splitlines()[0]}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("--whole-file", action="store_true", help="also time json.load of the whole file")
    parser.add_argument("--python-jsonschema", type=int, default=0, metavar="N",
                        help="also time pure-Python jsonschema on the first N tasks (scaled to all tasks)")
    args = parser.parse_args()
    from stancekit.exports import iter_tasks

    tasks = sum(1 for _ in iter_tasks(args.export))
    mb = args.export.stat().st_size / 1e6
    rows = []
    names = list(APPROACHES)[:2] + (["whole-file json.load"] if args.whole_file else [])
    for name in names:
        rows.append((name, *run(APPROACHES[name], args.export)))
    if args.python_jsonschema:
        n = min(args.python_jsonschema, tasks)
        seconds, rss = run(APPROACHES["python jsonschema per task (first N tasks)"], args.export, n)
        rows.append((f"python jsonschema per task ({n} tasks, scaled)", seconds * tasks / n, rss))
    floor = rows[0][1]
    print(f"{args.export}: {tasks} tasks, {mb:.1f} MB")
    print(f"| approach | seconds | tasks/s | MB/s | peak RSS MB | x parse-only |\n|---|---|---|---|---|---|")
    for name, seconds, rss in rows:
        print(f"| {name} | {seconds:.2f} | {tasks / seconds:.0f} | {mb / seconds:.1f} | {rss:.0f} | {seconds / floor:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
