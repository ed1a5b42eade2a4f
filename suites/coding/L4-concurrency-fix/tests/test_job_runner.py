"""Level 4: the fixed job_runner.JobRunner keeps its contract under concurrency.

The races are driven with events and barriers, not luck: the first caller's fn holds the job
open until the second caller has had every chance to enter, so the unfixed code fails every run.
Every wait has a timeout, so a deadlocking fix fails instead of hanging."""

import threading
import time

import pytest

from job_runner import JobRunner

WAIT_S = 5.0


class Call:
    """runner.run(job_id, fn) in a daemon thread; records the result or the exception."""

    def __init__(self, runner, job_id, fn):
        self.result = None
        self.error = None
        self.done = threading.Event()

        def body():
            try:
                self.result = runner.run(job_id, fn)
            except BaseException as exc:
                self.error = exc
            finally:
                self.done.set()

        self.thread = threading.Thread(target=body, daemon=True)
        self.thread.start()

    def wait(self, timeout=WAIT_S):
        assert self.done.wait(timeout), "run() did not return (deadlock or blocked by another job)"
        return self


def in_thread(fn, timeout=WAIT_S):
    """Calls fn() in a daemon thread; fails the test if it does not finish in time."""
    box = {}

    def body():
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=body, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "call blocked (is a lock held while a job runs?)"
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_runs_once_and_stores_the_result():
    runner = JobRunner()
    calls = []
    assert runner.run("a", lambda: calls.append(1) or "A") == "A"
    assert runner.run("a", lambda: calls.append(2) or "other") == "A"
    assert calls == [1]
    assert runner.has_result("a")
    assert runner.completed() == 1


def test_different_ids_are_independent():
    runner = JobRunner()
    assert runner.run("a", lambda: 1) == 1
    assert runner.run("b", lambda: 2) == 2
    assert runner.run("a", lambda: 3) == 1
    assert runner.completed() == 2
    assert not runner.has_result("c")


def test_none_result_is_stored():
    runner = JobRunner()
    calls = []
    assert runner.run("a", lambda: calls.append(1)) is None
    assert runner.run("a", lambda: calls.append(2) or "x") is None
    assert calls == [1]
    assert runner.has_result("a")


def test_exception_propagates_and_nothing_is_stored():
    runner = JobRunner()

    def boom():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        runner.run("a", boom)
    assert not runner.has_result("a")
    assert runner.completed() == 0
    assert runner.run("a", lambda: "second try") == "second try"
    assert runner.completed() == 1


def test_same_id_at_the_same_time_runs_fn_once():
    runner = JobRunner()
    first_in = threading.Event()
    second_fn_called = threading.Event()
    calls = []

    def first():
        calls.append("first")
        first_in.set()
        # The unfixed code lets the second caller's fn run meanwhile; give it every chance.
        second_fn_called.wait(0.5)
        return ["result of first"]

    def second():
        calls.append("second")
        second_fn_called.set()
        return ["result of second"]

    a = Call(runner, "job", first)
    assert first_in.wait(WAIT_S)
    b = Call(runner, "job", second)
    a.wait()
    b.wait()
    assert a.error is None and b.error is None
    assert calls == ["first"], "fn ran more than once for one job id"
    assert a.result is b.result, "both callers must get the very same stored result"
    assert runner.run("job", lambda: "late") is a.result


def test_many_threads_same_id_one_call_one_result():
    runner = JobRunner()
    n = 8
    start = threading.Barrier(n)
    calls = []
    calls_lock = threading.Lock()

    def make_fn(i):
        def fn():
            with calls_lock:
                calls.append(i)
            time.sleep(0.1)  # keeps the job in flight while the others arrive
            return object()
        return fn

    def caller(i):
        def go():
            start.wait(WAIT_S)
            return runner.run("shared", make_fn(i))
        return go

    results = [None] * n
    threads = []
    for i in range(n):
        def body(i=i):
            results[i] = caller(i)()
        t = threading.Thread(target=body, daemon=True)
        threads.append(t)
        t.start()
    for t in threads:
        t.join(WAIT_S)
    assert not any(t.is_alive() for t in threads)
    assert len(calls) == 1, f"fn ran {len(calls)} times"
    assert all(r is results[0] for r in results)
    assert runner.completed() == 1


def test_different_ids_run_in_parallel():
    runner = JobRunner()
    both_running = threading.Barrier(2, timeout=2.0)

    def fn(name):
        def body():
            both_running.wait()  # raises BrokenBarrierError unless both jobs run at once
            return name
        return body

    a = Call(runner, "a", fn("a"))
    b = Call(runner, "b", fn("b"))
    a.wait()
    b.wait()
    assert a.error is None, f"job a could not run alongside job b: {a.error!r}"
    assert b.error is None, f"job b could not run alongside job a: {b.error!r}"
    assert (a.result, b.result) == ("a", "b")


def test_slow_job_does_not_block_other_ids():
    runner = JobRunner()
    release = threading.Event()
    started = threading.Event()

    def slow():
        started.set()
        release.wait(WAIT_S)
        return "slow"

    slow_call = Call(runner, "slow", slow)
    try:
        assert started.wait(WAIT_S)
        assert in_thread(lambda: runner.run("fast", lambda: "fast"), timeout=2.0) == "fast"
        assert in_thread(lambda: runner.has_result("slow"), timeout=2.0) is False
        assert in_thread(lambda: runner.has_result("fast"), timeout=2.0) is True
        assert in_thread(runner.completed, timeout=2.0) == 1
    finally:
        release.set()
    slow_call.wait()
    assert slow_call.result == "slow"
    assert runner.completed() == 2


def test_fn_may_run_other_ids():
    runner = JobRunner()

    def outer():
        inner = runner.run("inner", lambda: 20)
        return inner + 1

    assert in_thread(lambda: runner.run("outer", outer), timeout=2.0) == 21
    assert runner.has_result("inner") and runner.has_result("outer")


def test_waiter_runs_its_own_fn_after_a_failure():
    runner = JobRunner()
    first_in = threading.Event()
    calls = []

    def failing():
        calls.append("failing")
        first_in.set()
        time.sleep(0.1)  # the second caller arrives and waits meanwhile
        raise RuntimeError("first attempt failed")

    def succeeding():
        calls.append("succeeding")
        return "second"

    a = Call(runner, "job", failing)
    assert first_in.wait(WAIT_S)
    b = Call(runner, "job", succeeding)
    a.wait()
    b.wait()
    assert isinstance(a.error, RuntimeError)
    assert b.error is None, f"the failure was shared with a waiting caller: {b.error!r}"
    assert b.result == "second"
    assert calls == ["failing", "succeeding"]
    assert runner.run("job", lambda: "third") == "second"


def test_many_ids_many_threads_each_once():
    runner = JobRunner()
    ids = [f"j{i}" for i in range(20)]
    counts = {i: 0 for i in ids}
    counts_lock = threading.Lock()
    threads_n = 6
    start = threading.Barrier(threads_n)
    errors = []

    def worker(offset):
        def body():
            try:
                start.wait(WAIT_S)
                for k in range(len(ids)):
                    job_id = ids[(k + offset) % len(ids)]

                    def fn(job_id=job_id):
                        with counts_lock:
                            counts[job_id] += 1
                        time.sleep(0.002)
                        return job_id.upper()

                    assert runner.run(job_id, fn) == job_id.upper()
            except BaseException as exc:
                errors.append(exc)
        return body

    threads = [threading.Thread(target=worker(t * 3), daemon=True) for t in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors[0]
    assert counts == {i: 1 for i in ids}
    assert runner.completed() == len(ids)
