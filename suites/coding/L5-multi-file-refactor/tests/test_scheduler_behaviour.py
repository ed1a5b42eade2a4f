"""Level 5: the refactored package behaves exactly like the old jobs.py module."""

import pytest

from scheduler import Job, JobQueue, JobStatus, RetryError, RetryPolicy, Scheduler


class FakeSleep:
    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


def flaky(failures, value):
    state = {"left": failures, "calls": 0}

    def fn(*args):
        state["calls"] += 1
        if state["left"] > 0:
            state["left"] -= 1
            raise RuntimeError(f"fail {state['calls']}")
        return (value, args)
    return fn, state


def test_job_defaults():
    job = Job("a", print)
    assert (job.job_id, job.fn, job.args, job.priority) == ("a", print, (), 0)
    assert job.status is JobStatus.PENDING
    assert (job.attempts, job.result, job.error) == (0, None, None)
    assert [s.value for s in JobStatus] == ["pending", "running", "succeeded", "failed"]


def test_queue_priority_then_fifo():
    q = JobQueue()
    assert q.pop() is None
    jobs = [Job("low", print, priority=0), Job("b", print, priority=5), Job("a", print, priority=5),
            Job("neg", print, priority=-1)]
    for j in jobs:
        q.push(j)
    assert len(q) == 4
    assert [q.pop().job_id for _ in range(4)] == ["b", "a", "low", "neg"]
    assert len(q) == 0


def test_retry_policy_defaults_and_delays():
    p = RetryPolicy()
    assert (p.max_attempts, p.base_delay) == (3, 0.5)
    assert [p.delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_retry_policy_call():
    sleep = FakeSleep()
    fn, state = flaky(2, "v")
    assert RetryPolicy(sleep=sleep).call(fn, 1, 2) == (("v", (1, 2)), 3)
    assert sleep.calls == [0.5, 1.0]
    sleep.calls.clear()
    fn, state = flaky(5, "v")
    with pytest.raises(RetryError) as info:
        RetryPolicy(max_attempts=2, base_delay=1.0, sleep=sleep).call(fn)
    assert info.value.attempts == 2
    assert isinstance(info.value.last_exception, RuntimeError)
    assert info.value.__cause__ is info.value.last_exception
    assert sleep.calls == [1.0]
    assert state["calls"] == 2


def test_scheduler_runs_in_priority_order_with_retries():
    sleep = FakeSleep()
    s = Scheduler(RetryPolicy(max_attempts=3, base_delay=0.25, sleep=sleep))
    ok_fn, _ = flaky(1, "ok")
    bad_fn, bad_state = flaky(10, "never")
    first = s.submit("ok", ok_fn, "x", priority=1)
    assert isinstance(first, Job) and first.status is JobStatus.PENDING and first.args == ("x",)
    s.submit("bad", bad_fn)
    s.submit("urgent", lambda: 7, priority=9)
    with pytest.raises(ValueError):
        s.submit("ok", ok_fn)
    assert len(s.queue) == 3
    done = s.run_all()
    assert [j.job_id for j in done] == ["urgent", "ok", "bad"]
    urgent, ok, bad = done
    assert (urgent.status, urgent.result, urgent.attempts) == (JobStatus.SUCCEEDED, 7, 1)
    assert (ok.status, ok.result, ok.attempts) == (JobStatus.SUCCEEDED, ("ok", ("x",)), 2)
    assert bad.status is JobStatus.FAILED and bad.attempts == 3 and bad.result is None
    assert isinstance(bad.error, RuntimeError) and bad_state["calls"] == 3
    assert sleep.calls == [0.25, 0.25, 0.5]
    assert s.get("ok") is ok and s.get("missing") is None
    assert s.run_next() is None


def test_scheduler_default_policy():
    s = Scheduler()
    assert isinstance(s.policy, RetryPolicy)
    assert s.policy.max_attempts == 3
    s.submit("a", lambda: "A")
    job = s.run_next()
    assert (job.job_id, job.status, job.result) == ("a", JobStatus.SUCCEEDED, "A")


def test_old_import_path_still_works():
    import jobs
    sleep = FakeSleep()
    s = jobs.Scheduler(jobs.RetryPolicy(sleep=sleep))
    s.submit("a", lambda x: x * 2, 21)
    assert s.run_next().result == 42
    assert isinstance(s.get("a"), Job)
