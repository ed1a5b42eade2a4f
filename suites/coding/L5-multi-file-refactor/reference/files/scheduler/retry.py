# file: scheduler/retry.py
"""Retrying a function with exponential backoff."""

from __future__ import annotations

import time
from typing import Any, Callable


class RetryError(Exception):
    """Every attempt failed; the last exception is also the __cause__."""

    def __init__(self, attempts: int, last_exception: BaseException) -> None:
        super().__init__(f"failed after {attempts} attempts: {last_exception!r}")
        self.attempts = attempts
        self.last_exception = last_exception


class RetryPolicy:
    """Calls a function up to max_attempts times, with exponential backoff in between."""

    def __init__(self, max_attempts: int = 3, base_delay: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.sleep = sleep

    def delay(self, retry_number: int) -> float:
        return self.base_delay * 2 ** (retry_number - 1)

    def call(self, fn: Callable[..., Any], *args: Any) -> tuple[Any, int]:
        """Returns (result, attempts used); raises RetryError when every attempt fails."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return fn(*args), attempt
            except Exception as exc:
                if attempt == self.max_attempts:
                    raise RetryError(attempt, exc) from exc
                self.sleep(self.delay(attempt))
        raise AssertionError("unreachable")
