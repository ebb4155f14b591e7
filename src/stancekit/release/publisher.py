"""Publish a verified build: copy build/releases/vX.Y.Z into dataset/releases, whole or not at all.

`make dataset` builds and verifies a release in build/releases; publishing promotes that very
build instead of building it a second time. A published release is never overwritten.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from .._files import file_sha256
from ..errors import ReleaseInputError, ReleaseRefused
from ..read import MANIFEST, RELEASES_DIR, VERSION_DIR, list_releases, parse_version
from .builder import BUILD_DIR_PREFIX, move_into_place, remove_stale_builds
from .changelog import write_changelog
from .verifier import verify


def publish(build_dir: str | Path, releases_dir: str | Path = RELEASES_DIR) -> Path:
    """Copy the release `build_dir` (a directory vX.Y.Z) into `releases_dir`; returns the published path.

    The build must verify against its manifest; its version must be newer than every release in
    `releases_dir`, and its manifest must record its diff against the latest of them (or none):
    otherwise its version bump and CHANGELOG lines would describe another history. Each input its
    manifest lists (paths as given to the build, relative to the working directory) must still be
    the file it was built from (same sha256): a build older than its inputs is refused. The copy
    is made in a temporary directory next to the target, verified again, and renamed into place;
    then `releases_dir`/CHANGELOG.md is regenerated from the manifests.

    Raises ReleaseInputError when `build_dir` is not a release directory or its manifest lacks what
    a build records; ReleaseRefused when it does not verify, its version is published already or
    is not the newest, it was built against another previous release, or an input has changed.
    """
    build_dir, releases_dir = Path(build_dir), Path(releases_dir)
    if not VERSION_DIR.match(build_dir.name) or not (build_dir / MANIFEST).is_file():
        raise ReleaseInputError(f"{build_dir}: not a release directory vX.Y.Z with a {MANIFEST}")
    target = releases_dir / build_dir.name
    if target.exists():
        raise ReleaseRefused(f"{target} exists: a release is never overwritten; set a new version in dataset/VERSION")
    problems = verify(build_dir)
    if problems:
        raise ReleaseRefused(f"{build_dir}: {len(problems)} problem(s) against its manifest, the first: {problems[0]} "
                             f"(`stancekit verify {build_dir}` lists them): build it again")
    try:
        manifest = json.loads((build_dir / MANIFEST).read_text(encoding="utf-8"))
        recorded, inputs = manifest["change"]["previous"], [(item["path"], item["sha256"]) for item in manifest["inputs"]]
    except (KeyError, TypeError) as exc:
        raise ReleaseInputError(f"{build_dir}/{MANIFEST}: not the manifest of a build (no {exc} in it)") from exc
    version = parse_version(build_dir.name)
    published = list_releases(releases_dir)
    if published and parse_version(published[-1].name) > version:
        raise ReleaseRefused(f"{build_dir.name} is older than {published[-1]}: only a version newer than every "
                             "published release can be published (set one in dataset/VERSION)")
    previous = published[-1].name[1:] if published else None
    if recorded != previous:
        raise ReleaseRefused(f"{build_dir} was built against previous release {recorded or 'none'}, but in "
                             f"{releases_dir} it would follow {previous or 'none'}: build it again with "
                             f"{releases_dir}'s releases beside it (`make dataset` copies them in)")
    for path, sha256 in inputs:
        if not Path(path).is_file() or file_sha256(path) != sha256:
            raise ReleaseRefused(f"{build_dir}: its input {path} has changed (or is gone) since it was built: "
                                 "build it again (`make dataset`)")
    releases_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_builds(releases_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f"{BUILD_DIR_PREFIX}{os.getpid()}-", dir=releases_dir))
    try:
        shutil.copytree(build_dir, tmp, dirs_exist_ok=True)
        problems = verify(tmp)
        if problems:
            raise ReleaseRefused(f"{build_dir}: the copy in {releases_dir} does not verify: {problems[0]}")
        move_into_place(tmp, target, "published")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_changelog(releases_dir)
    return target
