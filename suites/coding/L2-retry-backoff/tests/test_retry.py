"""Level 2: retry with exponential backoff (retry.RetryPolicy, retry.RetryError).

No test sleeps: every policy gets a recording fake sleep, and jitter gets a scripted RNG."""

import random
import time

import pytest

from retry import RetryError, RetryPolicy


class FakeSleep:
    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


class ScriptedRandom:
    """Stands in for random.Random: returns the given values in order, counts calls."""

    def __init__(self, values):
        self.values = list(values)
        self.calls = 0

    def random(self):
        self.calls += 1
        return self.values.pop(0)


class Flaky:
    """Fails with the given exceptions in order, then returns `result`."""

    def __init__(self, failures, result="ok"):
        self.failures = list(failures)
        self.result = result
        self.calls = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        if self.failures:
            raise self.failures.pop(0)
        return self.result


@pytest.fixture(autouse=True)
def no_real_sleep(monkeypatch):
    # A policy must sleep only through its `sleep` argument.
    def forbidden(seconds):
        raise AssertionError(f"time.sleep({seconds}) called; use the injected sleep")
    monkeypatch.setattr(time, "sleep", forbidden)


def test_success_first_try_returns_value_without_sleeping():
    sleep = FakeSleep()
    fn = Flaky([], result=42)
    assert RetryPolicy(sleep=sleep).run(fn) == 42
    assert len(fn.calls) == 1
    assert sleep.calls == []


def test_arguments_are_passed_through():
    sleep = FakeSleep()
    fn = Flaky([ValueError("x")], result="done")
    assert RetryPolicy(sleep=sleep).run(fn, 1, "two", key=3) == "done"
    assert fn.calls == [((1, "two"), {"key": 3})] * 2


def test_fails_twice_then_succeeds_with_backoff_1_then_2():
    sleep = FakeSleep()
    fn = Flaky([RuntimeError("a"), RuntimeError("b")])
    assert RetryPolicy(sleep=sleep).run(fn) == "ok"
    assert len(fn.calls) == 3
    assert sleep.calls == [1.0, 2.0]


def test_always_failing_makes_max_attempts_calls_and_raises_retry_error():
    sleep = FakeSleep()
    errors = [OSError(f"fail {i}") for i in range(4)]
    fn = Flaky(list(errors))
    with pytest.raises(RetryError) as info:
        RetryPolicy(sleep=sleep).run(fn)
    assert len(fn.calls) == 4
    assert sleep.calls == [1.0, 2.0, 4.0]  # no sleep after the last failure
    assert info.value.attempts == 4
    assert info.value.last_exception is errors[-1]
    assert info.value.__cause__ is errors[-1]


def test_max_attempts_one_means_no_retry():
    sleep = FakeSleep()
    fn = Flaky([KeyError("k")])
    with pytest.raises(RetryError) as info:
        RetryPolicy(max_attempts=1, sleep=sleep).run(fn)
    assert len(fn.calls) == 1
    assert sleep.calls == []
    assert info.value.attempts == 1


def test_retry_error_is_an_exception_with_positional_arguments():
    cause = ValueError("inner")
    err = RetryError(3, cause)
    assert isinstance(err, Exception)
    assert err.attempts == 3
    assert err.last_exception is cause


def test_non_retryable_exception_propagates_immediately():
    sleep = FakeSleep()
    boom = TypeError("not retryable")
    fn = Flaky([boom])
    policy = RetryPolicy(retry_on=(ConnectionError, TimeoutError), sleep=sleep)
    with pytest.raises(TypeError) as info:
        policy.run(fn)
    assert info.value is boom
    assert len(fn.calls) == 1
    assert sleep.calls == []


def test_retry_on_matches_subclasses_and_stops_at_a_foreign_exception():
    sleep = FakeSleep()
    fn = Flaky([ConnectionResetError("reset"), ValueError("bad")])
    policy = RetryPolicy(retry_on=(ConnectionError,), sleep=sleep)
    with pytest.raises(ValueError):
        policy.run(fn)
    assert len(fn.calls) == 2
    assert sleep.calls == [1.0]


def test_base_exceptions_are_not_retried_by_default():
    sleep = FakeSleep()
    fn = Flaky([KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        RetryPolicy(sleep=sleep).run(fn)
    assert len(fn.calls) == 1
    assert sleep.calls == []


def test_backoff_delay_defaults_and_cap():
    policy = RetryPolicy()
    assert [policy.backoff_delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_backoff_delay_custom_parameters():
    policy = RetryPolicy(base_delay=0.5, multiplier=3.0, max_delay=10.0)
    assert policy.backoff_delay(1) == pytest.approx(0.5)
    assert policy.backoff_delay(2) == pytest.approx(1.5)
    assert policy.backoff_delay(3) == pytest.approx(4.5)
    assert policy.backoff_delay(4) == pytest.approx(10.0)
    constant = RetryPolicy(base_delay=2.0, multiplier=1.0)
    assert [constant.backoff_delay(n) for n in (1, 5, 50)] == [2.0, 2.0, 2.0]


def test_backoff_delay_huge_retry_number_is_capped_not_overflowing():
    policy = RetryPolicy(max_delay=60.0)
    assert policy.backoff_delay(10_000) == 60.0
    assert policy.backoff_delay(1_000_000) == 60.0
    zero = RetryPolicy(base_delay=0.0)
    assert zero.backoff_delay(10_000) == 0.0


@pytest.mark.parametrize("n", [0, -1])
def test_backoff_delay_rejects_retry_number_below_one(n):
    with pytest.raises(ValueError):
        RetryPolicy().backoff_delay(n)


def test_sleeps_follow_the_capped_schedule_over_many_attempts():
    sleep = FakeSleep()
    fn = Flaky([RuntimeError()] * 7, result="late")
    policy = RetryPolicy(max_attempts=8, base_delay=1.0, max_delay=10.0, sleep=sleep)
    assert policy.run(fn) == "late"
    assert sleep.calls == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


@pytest.mark.parametrize("kwargs", [
    {"max_attempts": 0},
    {"max_attempts": -3},
    {"base_delay": -0.1},
    {"multiplier": 0.5},
    {"max_delay": -1.0},
    {"jitter": -0.01},
    {"jitter": 1.5},
])
def test_invalid_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_boundary_arguments_are_valid():
    RetryPolicy(max_attempts=1, base_delay=0.0, multiplier=1.0, max_delay=0.0, jitter=0.0)
    RetryPolicy(jitter=1.0)


def test_jitter_zero_never_touches_the_rng():
    sleep = FakeSleep()
    rng = ScriptedRandom([])
    fn = Flaky([RuntimeError()] * 3)
    RetryPolicy(sleep=sleep, rng=rng).run(fn)
    assert rng.calls == 0
    assert sleep.calls == [1.0, 2.0, 4.0]


def test_jitter_scales_delay_down_by_one_random_draw_per_sleep():
    sleep = FakeSleep()
    rng = ScriptedRandom([0.0, 0.5, 0.999])
    fn = Flaky([RuntimeError()] * 3)
    RetryPolicy(jitter=0.5, sleep=sleep, rng=rng).run(fn)
    assert rng.calls == 3
    assert sleep.calls == pytest.approx([1.0, 2.0 * 0.75, 4.0 * (1 - 0.5 * 0.999)])


def test_jitter_applies_after_the_cap():
    sleep = FakeSleep()
    rng = ScriptedRandom([0.5] * 5)
    fn = Flaky([RuntimeError()] * 5)
    RetryPolicy(max_attempts=6, max_delay=5.0, jitter=0.2, sleep=sleep, rng=rng).run(fn)
    assert sleep.calls == pytest.approx([0.9, 1.8, 3.6, 4.5, 4.5])


def test_no_rng_draw_for_the_final_failure():
    sleep = FakeSleep()
    rng = ScriptedRandom([0.25, 0.25])
    fn = Flaky([RuntimeError()] * 3)
    with pytest.raises(RetryError):
        RetryPolicy(max_attempts=3, jitter=1.0, sleep=sleep, rng=rng).run(fn)
    assert rng.calls == 2
    assert sleep.calls == pytest.approx([0.75, 1.5])


def test_full_jitter_stays_within_bounds_with_a_real_rng():
    sleep = FakeSleep()
    fn = Flaky([RuntimeError()] * 9)
    policy = RetryPolicy(max_attempts=10, max_delay=20.0, jitter=1.0, sleep=sleep,
                         rng=random.Random(1234))
    policy.run(fn)
    assert len(sleep.calls) == 9
    for n, d in enumerate(sleep.calls, start=1):
        assert 0.0 <= d <= policy.backoff_delay(n)
    assert len(set(sleep.calls)) > 1


def test_default_rng_is_private_not_the_global_random(monkeypatch):
    def forbidden():
        raise AssertionError("global random.random() used")
    monkeypatch.setattr(random, "random", forbidden)
    sleep = FakeSleep()
    fn = Flaky([RuntimeError()] * 2)
    RetryPolicy(jitter=0.5, sleep=sleep).run(fn)
    assert len(sleep.calls) == 2
    assert 0.5 <= sleep.calls[0] <= 1.0
    assert 1.0 <= sleep.calls[1] <= 2.0


def test_policy_is_reusable_and_keeps_no_state():
    sleep = FakeSleep()
    policy = RetryPolicy(max_attempts=3, sleep=sleep)
    with pytest.raises(RetryError):
        policy.run(Flaky([RuntimeError()] * 3))
    assert sleep.calls == [1.0, 2.0]
    sleep.calls.clear()
    assert policy.run(Flaky([RuntimeError()] * 2, result="second")) == "second"
    assert sleep.calls == [1.0, 2.0]


def test_exception_from_fn_result_is_returned_not_raised():
    # A function may legitimately return an exception object.
    value = ValueError("just data")
    assert RetryPolicy(sleep=FakeSleep()).run(lambda: value) is value

