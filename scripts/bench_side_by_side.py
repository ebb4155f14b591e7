#!/usr/bin/env python3
"""A worker's CPU time per task, this tree's code against another revision's, side by side in one process.

    scripts/bench_side_by_side.py --against REV [--tasks 2000] [--rounds 5] [--format text|json]

scripts/bench.py times whole commands in fresh processes: on a shared machine its noise (the floor
alone varied by a half within one hour of issue 15's round 4) hides a change worth a few percent.
This script instead imports both versions of the package into one process (REV's `src/stancekit`,
taken with `git archive`, under the name `stancekit_<rev>`) and alternates them over the same tasks
of a generated export (scripts/bench.py's generator), round by round, so both meet the same load:

  validate   `validate._check(..., records=False)`, what each of `stancekit validate`'s workers runs per task
  release    `validate._check(..., records=True, convert=release.builder._Rows)` against the document
             store, what each of `stancekit release`'s workers runs per task

For each version and mode it prints the CPU microseconds a task (process time over the tasks, each
result dropped at once) of every round, their best and their median. These are internal functions:
REV must have them (any revision since issue 15's round 3, 86870e1). Raises SystemExit with a message
when REV cannot be read from git or its package imports itself by absolute name.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # scripts/bench.py: the generator and the repository's paths

MODES = ("validate", "release")


def import_revision(rev: str, into: Path) -> str:
    """Extract REV's src/stancekit into `into` as package `stancekit_<rev>`, put it on sys.path; return its name."""
    try:
        archive = subprocess.run(["git", "archive", rev, "src/stancekit"], cwd=bench.ROOT, capture_output=True,
                                 check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = exc.stderr.decode(errors="replace").strip() if isinstance(exc, subprocess.CalledProcessError) else exc
        raise SystemExit(f"cannot take src/stancekit at {rev!r} from git: {detail}") from exc
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        # the "data" filter where this Python has it (3.11.4+): our own archive, but no member outside `into`
        tar.extractall(into, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    name = "stancekit_" + "".join(c if c.isalnum() else "_" for c in rev)
    package = into / name
    (into / "src" / "stancekit").rename(package)
    for path in package.rglob("*.py"):
        if any(line.lstrip().startswith(("from stancekit", "import stancekit")) for line in path.read_text().splitlines()):
            raise SystemExit(f"{rev}: {path.relative_to(into)} imports stancekit by absolute name: "
                             "it would run this tree's code, not its own")
    sys.path.insert(0, str(into))
    return name


def workers_of(package: str, documents: Path) -> dict:
    """mode -> a function (index, raw task bytes) -> what that version's worker computes for the task."""
    validate = importlib.import_module(f"{package}.validate")
    taxonomy = importlib.import_module(f"{package}.taxonomy").load(bench.TAXONOMY)
    store = importlib.import_module(f"{package}.documents").DocumentStore.open(documents)
    rows = importlib.import_module(f"{package}.release.builder")._Rows(taxonomy)
    validator = validate.Validator(taxonomy)
    return {"validate": lambda i, raw: validate._check(validator, None, "export.json", i, raw, records=False),
            "release": lambda i, raw: validate._check(validator, store, "export.json", i, raw, records=True,
                                                      convert=rows)}


def measure(workers: dict[str, dict], raws: list[bytes], rounds: int) -> list[dict]:
    """Every version and mode, alternated `rounds` times: CPU µs a task of each round, best and median."""
    times: dict[tuple[str, str], list[float]] = {(v, m): [] for v in workers for m in MODES}
    for _ in range(rounds):
        for version, modes in workers.items():
            for mode in MODES:
                work = modes[mode]
                gc.collect()
                start = time.process_time()
                for index, raw in enumerate(raws):
                    work(index, raw)
                times[(version, mode)].append((time.process_time() - start) / len(raws) * 1e6)
    return [{"version": version, "mode": mode, "rounds_us": [round(t, 1) for t in ts], "best_us": round(min(ts), 1),
             "median_us": round(statistics.median(ts), 1)} for (version, mode), ts in times.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="\n".join(__doc__.splitlines()[2:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", required=True, metavar="REV", help="the git revision to compare with")
    parser.add_argument("--tasks", type=int, default=2000, help="tasks of the generated export (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="alternations of the two versions (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=["text", "json"], default="text")
    args = parser.parse_args(argv)
    from stancekit.exports import iter_raw_tasks

    with tempfile.TemporaryDirectory(prefix="stancekit-side-by-side-") as tmp:
        package = import_revision(args.against, Path(tmp))
        data = bench.generate(Path(tmp) / "inputs", args.tasks, seed=args.seed, defects=0)
        raws = [raw for _, raw in iter_raw_tasks(data["export"])]
        workers = {args.against: workers_of(package, data["documents"]), "this tree": workers_of("stancekit", data["documents"])}
        rows = measure(workers, raws, args.rounds)
    if args.format == "json":
        print(json.dumps({"against": args.against, "tasks": len(raws), "rounds": args.rounds, "rows": rows}, indent=2))
        return 0
    print(f"{len(raws)} tasks, {args.rounds} alternating rounds; CPU µs a task (results dropped at once)\n")
    print("| version | mode | best | median | rounds |\n|---|---|---:|---:|---|")
    for row in rows:
        print(f"| {row['version']} | {row['mode']} | {row['best_us']} | {row['median_us']} | "
              f"{', '.join(map(str, row['rounds_us']))} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
