"""Work done in a thread beside the main one, never across a fork.

The release hashes its inputs and encodes its Parquet row groups in threads: hashlib and pyarrow's
Parquet writer release the GIL, so the main thread goes on building the next rows meanwhile (on a
second core). Each `Background` is one thread: its jobs run in the order they were submitted.
Before this process forks (the export reader starts its worker processes with fork), every
Background waits for its jobs to end and stops its thread, so that the process forks with no
thread of ours: a child never inherits a lock held by a thread it does not have (and Python 3.12+
warns about forking a process with threads).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Background:
    """One thread that runs jobs in submission order (`submit`); the thread starts with the first job
    and after each `stop`. An exception raised by a job is raised again by its Future's `result()`."""

    def __init__(self, name: str) -> None:
        self.name = f"stancekit-{name}"
        self._executor: ThreadPoolExecutor | None = None
        _ALL.add(self)

    def submit(self, job: Callable[..., T], *args, **kwargs) -> Future[T]:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
        return self._executor.submit(job, *args, **kwargs)

    def stop(self) -> None:
        """Wait until every job submitted so far has ended, and end the thread (raises nothing: see each
        job's Future)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


_ALL: weakref.WeakSet[Background] = weakref.WeakSet()


def _stop_all() -> None:
    for background in list(_ALL):
        background.stop()


os.register_at_fork(before=_stop_all)
