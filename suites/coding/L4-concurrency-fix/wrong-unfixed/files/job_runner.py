# file: job_runner.py
"""Runs jobs at most once per job id and remembers their results."""

import threading
from typing import Any, Callable


class JobRunner:
    """Runs each job id at most once; later calls for that id return the stored result.

    Contract:
    - run(job_id, fn) calls fn() (no arguments) the first time job_id is run, stores its return
      value (which may be None) and returns it. Later calls for that job_id return the stored
      value without calling their fn.
    - When several threads call run() for the same job_id at the same time, fn runs once: the
      other callers wait for it and return the same result without calling their own fn.
    - If fn raises, the exception propagates to the caller whose fn raised and nothing is stored.
      A later run() for that job_id calls its fn again, and a caller that was waiting for the
      failed attempt then runs its own fn (failures are not shared).
    - fn may take a long time. Jobs with different ids run in parallel: a slow fn for one id
      never delays run(), has_result() or completed() for other ids, and fn may itself call
      run() for other ids.
    - has_result(job_id) tells whether a result is stored; completed() counts stored results.
    - Every method may be called from many threads at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results: dict[str, Any] = {}

    def run(self, job_id: str, fn: Callable[[], Any]) -> Any:
        with self._lock:
            if job_id in self._results:
                return self._results[job_id]
        result = fn()
        with self._lock:
            self._results[job_id] = result
        return result

    def has_result(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._results

    def completed(self) -> int:
        with self._lock:
            return len(self._results)
