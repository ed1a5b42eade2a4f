# file: retry.py
"""Retrying a callable with capped exponential backoff and optional jitter."""

from __future__ import annotations

import random
import time
from typing import Any, Callable


class RetryError(Exception):
    """Raised when every allowed attempt failed with a retryable exception."""

    def __init__(self, attempts: int, last_exception: BaseException) -> None:
        super().__init__(f"gave up after {attempts} attempt(s): {last_exception!r}")
        self.attempts = attempts
        self.last_exception = last_exception


class RetryPolicy:
    """Calls a function up to max_attempts times, sleeping with exponential backoff in between."""

    def __init__(
        self,
        max_attempts: int = 4,
        base_delay: float = 1.0,
        multiplier: float = 2.0,
        max_delay: float = 30.0,
        jitter: float = 0.0,
        retry_on: tuple[type[BaseException], ...] = (Exception,),
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if base_delay < 0:
            raise ValueError("base_delay must not be negative")
        if multiplier < 1:
            raise ValueError("multiplier must be at least 1")
        if max_delay < 0:
            raise ValueError("max_delay must not be negative")
        if not 0 <= jitter <= 1:
            raise ValueError("jitter must be within [0, 1]")
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.multiplier = multiplier
        self.max_delay = max_delay
        self.jitter = jitter
        self.retry_on = tuple(retry_on)
        self.sleep = sleep
        self.rng = rng if rng is not None else random.Random()

    def backoff_delay(self, retry_number: int) -> float:
        """Delay before retry `retry_number` (1-based), capped at max_delay, without jitter."""
        if retry_number < 1:
            raise ValueError("retry_number must be at least 1")
        if self.base_delay == 0:
            return 0.0
        try:
            delay = self.base_delay * self.multiplier ** (retry_number - 1)
        except OverflowError:
            return float(self.max_delay)
        return float(min(self.max_delay, delay))

    def _delay_with_jitter(self, retry_number: int) -> float:
        delay = self.backoff_delay(retry_number)
        if self.jitter == 0:
            return delay
        return delay * (1 - self.jitter * self.rng.random())

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Returns fn's first successful result; raises RetryError when all attempts fail."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return fn(*args, **kwargs)
            except self.retry_on as exc:
                if attempt == self.max_attempts:
                    raise RetryError(attempt, exc) from exc
                self.sleep(self._delay_with_jitter(attempt))
        raise AssertionError("unreachable")  # the loop always returns or raises
