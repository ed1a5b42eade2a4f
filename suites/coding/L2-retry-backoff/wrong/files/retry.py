# file: retry.py
import random
import time


class RetryError(Exception):
    def __init__(self, attempts, last_exception):
        super().__init__(f"failed after {attempts} attempts")
        self.attempts = attempts
        self.last_exception = last_exception


class RetryPolicy:
    def __init__(self, max_attempts=4, base_delay=1.0, multiplier=2.0, max_delay=30.0,
                 jitter=0.0, retry_on=(Exception,), sleep=time.sleep, rng=None):
        if max_attempts < 1 or base_delay < 0 or multiplier < 1 or max_delay < 0:
            raise ValueError("invalid retry settings")
        if not 0 <= jitter <= 1:
            raise ValueError("jitter must be in [0, 1]")
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.multiplier = multiplier
        self.max_delay = max_delay
        self.jitter = jitter
        self.retry_on = retry_on
        self.sleep = sleep
        self.rng = rng or random.Random()

    def backoff_delay(self, retry_number):
        if retry_number < 1:
            raise ValueError("retry_number must be >= 1")
        return min(self.max_delay, self.base_delay * self.multiplier ** (retry_number - 1))

    def run(self, fn, *args, **kwargs):
        last = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                return fn(*args, **kwargs)
            except self.retry_on as exc:
                last = exc
                delay = self.backoff_delay(attempt)
                if self.jitter:
                    delay *= 1 - self.jitter * self.rng.random()
                self.sleep(delay)
        raise RetryError(self.max_attempts, last) from last
