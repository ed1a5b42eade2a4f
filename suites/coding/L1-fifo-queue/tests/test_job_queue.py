"""Level 1: thread-safe FIFO job queue (job_queue.JobQueue)."""

import sys
import threading

import pytest

from job_queue import JobQueue

JOIN_TIMEOUT_S = 10.0


@pytest.fixture
def tiny_switch_interval():
    # Switching threads every microsecond turns rare check-then-act races into likely ones.
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def run_threads(targets):
    """Starts one daemon thread per callable, joins them all and re-raises the first error."""
    errors = []

    def wrap(fn):
        def body():
            try:
                fn()
            except BaseException as exc:  # reported to the test below
                errors.append(exc)
        return body

    threads = [threading.Thread(target=wrap(fn), daemon=True) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT_S)
    assert not any(t.is_alive() for t in threads), "threads did not finish (deadlock?)"
    if errors:
        raise errors[0]


def test_add_job_returns_the_id():
    q = JobQueue()
    assert q.add_job("a", {"x": 1}) == "a"
    assert q.add_job("b", None) == "b"


def test_jobs_come_out_first_in_first_out():
    q = JobQueue()
    for i in range(10):
        q.add_job(f"job-{i}", i)
    got = [q.get_next_job() for _ in range(10)]
    assert got == [(f"job-{i}", i) for i in range(10)]


def test_empty_queue_returns_none():
    q = JobQueue()
    assert q.get_next_job() is None
    q.add_job("a", 1)
    assert q.get_next_job() == ("a", 1)
    assert q.get_next_job() is None


def test_none_data_is_still_a_job():
    q = JobQueue()
    q.add_job("nothing", None)
    assert q.get_next_job() == ("nothing", None)
    assert q.get_next_job() is None


def test_data_is_stored_without_copying():
    q = JobQueue()
    payload = {"items": [1, 2, 3]}
    q.add_job("a", payload)
    job_id, data = q.get_next_job()
    assert job_id == "a"
    assert data is payload


def test_get_result_of_unknown_id_is_none():
    q = JobQueue()
    assert q.get_result("missing") is None
    q.add_job("a", 1)
    assert q.get_result("b") is None


def test_status_goes_pending_running_done():
    q = JobQueue()
    q.add_job("a", 21)
    assert q.get_result("a") == {"job_id": "a", "status": "pending", "result": None}
    assert q.get_next_job() == ("a", 21)
    assert q.get_result("a") == {"job_id": "a", "status": "running", "result": None}
    q.complete_job("a", 42)
    assert q.get_result("a") == {"job_id": "a", "status": "done", "result": 42}


def test_result_none_is_a_valid_result():
    q = JobQueue()
    q.add_job("a", 1)
    q.get_next_job()
    q.complete_job("a", None)
    assert q.get_result("a") == {"job_id": "a", "status": "done", "result": None}


def test_get_result_returns_a_new_dict():
    q = JobQueue()
    q.add_job("a", 1)
    first = q.get_result("a")
    first["status"] = "done"
    first["result"] = "forged"
    assert q.get_result("a") == {"job_id": "a", "status": "pending", "result": None}
    assert q.get_result("a") is not q.get_result("a")


@pytest.mark.parametrize("stage", ["pending", "running", "done"])
def test_duplicate_id_is_rejected_in_every_state(stage):
    q = JobQueue()
    q.add_job("a", "original")
    if stage in ("running", "done"):
        q.get_next_job()
    if stage == "done":
        q.complete_job("a", "r")
    with pytest.raises(ValueError):
        q.add_job("a", "again")
    # The rejected add changed nothing.
    expected_status = stage
    assert q.get_result("a")["status"] == expected_status
    assert len(q) == (1 if stage == "pending" else 0)
    if stage == "pending":
        assert q.get_next_job() == ("a", "original")
    assert q.get_next_job() is None


@pytest.mark.parametrize("bad_id", ["", None, 7, b"bytes", ("t",)])
def test_invalid_job_id_raises_value_error(bad_id):
    q = JobQueue()
    with pytest.raises(ValueError):
        q.add_job(bad_id, 1)
    assert len(q) == 0
    assert q.get_next_job() is None


def test_complete_job_errors():
    q = JobQueue()
    with pytest.raises(KeyError):
        q.complete_job("unknown", 1)
    q.add_job("a", 1)
    with pytest.raises(ValueError):
        q.complete_job("a", 1)  # still pending
    assert q.get_result("a")["status"] == "pending"
    q.get_next_job()
    q.complete_job("a", "first")
    with pytest.raises(ValueError):
        q.complete_job("a", "second")  # already done
    assert q.get_result("a")["result"] == "first"


def test_len_counts_pending_jobs_only():
    q = JobQueue()
    assert len(q) == 0
    q.add_job("a", 1)
    q.add_job("b", 2)
    q.add_job("c", 3)
    assert len(q) == 3
    q.get_next_job()
    assert len(q) == 2
    q.complete_job("a", 0)
    assert len(q) == 2
    q.get_next_job()
    q.get_next_job()
    assert len(q) == 0


def test_queues_are_independent():
    q1 = JobQueue()
    q2 = JobQueue()
    q1.add_job("a", 1)
    assert q2.get_result("a") is None
    assert q2.get_next_job() is None
    q2.add_job("a", 2)  # same id in another queue is fine
    assert q1.get_next_job() == ("a", 1)
    assert q2.get_next_job() == ("a", 2)


def test_concurrent_producers_keep_their_order(tiny_switch_interval):
    q = JobQueue()
    producers, per_producer = 8, 250
    start = threading.Barrier(producers)

    def producer(p):
        def body():
            start.wait()
            for i in range(per_producer):
                q.add_job(f"p{p}-{i}", (p, i))
        return body

    run_threads([producer(p) for p in range(producers)])
    assert len(q) == producers * per_producer

    seen = []
    while (job := q.get_next_job()) is not None:
        seen.append(job)
    assert len(seen) == producers * per_producer
    assert len({job_id for job_id, _ in seen}) == len(seen)
    for p in range(producers):
        order = [i for (pp, i) in (data for _, data in seen) if pp == p]
        assert order == list(range(per_producer)), f"producer {p} order broken"


def test_concurrent_consumers_get_each_job_exactly_once(tiny_switch_interval):
    q = JobQueue()
    producers, consumers, per_producer = 4, 4, 250
    total = producers * per_producer
    start = threading.Barrier(producers + consumers)
    taken = [[] for _ in range(consumers)]
    produced = threading.Semaphore(0)

    def producer(p):
        def body():
            start.wait()
            for i in range(per_producer):
                q.add_job(f"p{p}-{i}", i)
                produced.release()
        return body

    remaining = [total]
    remaining_lock = threading.Lock()

    def consumer(c):
        def body():
            start.wait()
            while True:
                with remaining_lock:
                    if remaining[0] == 0:
                        return
                    remaining[0] -= 1
                # One job is guaranteed for us: wait until it was produced, then take one.
                assert produced.acquire(timeout=JOIN_TIMEOUT_S)
                job = q.get_next_job()
                assert job is not None, "a produced job was not handed out"
                taken[c].append(job[0])
                q.complete_job(job[0], c)
        return body

    run_threads([producer(p) for p in range(producers)] + [consumer(c) for c in range(consumers)])
    all_taken = [job_id for part in taken for job_id in part]
    assert len(all_taken) == total
    assert len(set(all_taken)) == total, "some job was handed out twice"
    assert q.get_next_job() is None
    assert len(q) == 0
    for c, part in enumerate(taken):
        for job_id in part:
            assert q.get_result(job_id) == {"job_id": job_id, "status": "done", "result": c}


def test_concurrent_duplicate_adds_exactly_one_wins(tiny_switch_interval):
    q = JobQueue()
    threads_n, rounds = 6, 60
    wins = [0] * rounds
    rejected = [0] * rounds
    count_lock = threading.Lock()
    barriers = [threading.Barrier(threads_n) for _ in range(rounds)]

    def adder(t):
        def body():
            for r in range(rounds):
                barriers[r].wait()
                try:
                    q.add_job(f"same-{r}", t)
                except ValueError:
                    with count_lock:
                        rejected[r] += 1
                else:
                    with count_lock:
                        wins[r] += 1
        return body

    run_threads([adder(t) for t in range(threads_n)])
    assert wins == [1] * rounds
    assert rejected == [threads_n - 1] * rounds
    assert len(q) == rounds
