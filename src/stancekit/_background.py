"""Work done in a thread beside the main one, never across a fork.

The release hashes its inputs and encodes its Parquet row groups in threads: hashlib and pyarrow's
Parquet writer release the GIL, so the main thread goes on building the next rows meanwhile (on a
second core). Each `Background` is one thread: its jobs run in the order they were submitted.
Before this process forks (the export reader starts its worker processes with fork), every
Background waits for its jobs to end, so that no fork happens while a thread holds a lock that
the child would inherit held.
"""

from __future__ import annotations

import concurrent.futures
import os
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Background:
    """One thread that runs jobs in submission order (`submit`); its thread starts at the first job.

    An exception raised by a job is raised again by its Future's `result()`."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"stancekit-{name}")
        self._last: Future | None = None  # the last job submitted: the thread is idle once it is done
        _ALL.add(self)

    def submit(self, job: Callable[..., T], *args, **kwargs) -> Future[T]:
        self._last = self._executor.submit(job, *args, **kwargs)
        return self._last

    def drain(self) -> None:
        """Wait until every job submitted so far has ended (raises nothing: see each job's Future)."""
        if self._last is not None:
            concurrent.futures.wait([self._last])


_ALL: weakref.WeakSet[Background] = weakref.WeakSet()


def _drain_all() -> None:
    for background in list(_ALL):
        background.drain()


os.register_at_fork(before=_drain_all)
