"""Level 3: priority scheduling with FIFO ties and aging (priority_queue.PriorityJobQueue)."""

import random
import sys
import threading

import pytest

from priority_queue import PriorityJobQueue

JOIN_TIMEOUT_S = 10.0


def drain(q):
    out = []
    while (job := q.get_next_job()) is not None:
        out.append(job[0])
    return out


class Oracle:
    """The specification, written as plainly as possible: a list scanned on every hand-out."""

    def __init__(self, aging_interval=None):
        self.aging = aging_interval
        self.pending = []  # [seq, job_id, data, priority, handed_out_count_at_add]
        self.seq = 0
        self.handed_out = 0

    def add(self, job_id, data, priority):
        self.pending.append([self.seq, job_id, data, priority, self.handed_out])
        self.seq += 1

    def _best(self):
        def key(entry):
            seq, _, _, priority, at_add = entry
            waited = self.handed_out - at_add
            eff = priority + (waited // self.aging if self.aging else 0)
            return (-eff, seq)
        return min(self.pending, key=key) if self.pending else None

    def peek(self):
        best = self._best()
        return None if best is None else (best[1], best[2])

    def get(self):
        best = self._best()
        if best is None:
            return None
        self.pending.remove(best)
        self.handed_out += 1
        return (best[1], best[2])

    def cancel(self, job_id):
        for entry in self.pending:
            if entry[1] == job_id:
                self.pending.remove(entry)
                return True
        return False


@pytest.fixture
def tiny_switch_interval():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def run_threads(targets):
    errors = []

    def wrap(fn):
        def body():
            try:
                fn()
            except BaseException as exc:
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


def test_add_job_returns_id_and_higher_priority_goes_first():
    q = PriorityJobQueue()
    assert q.add_job("low", "l", priority=1) == "low"
    assert q.add_job("high", "h", priority=10) == "high"
    assert q.add_job("mid", "m", priority=5) == "mid"
    assert q.get_next_job() == ("high", "h")
    assert q.get_next_job() == ("mid", "m")
    assert q.get_next_job() == ("low", "l")
    assert q.get_next_job() is None


def test_equal_priorities_are_first_in_first_out_not_by_id():
    q = PriorityJobQueue()
    for job_id in ["zeta", "alpha", "mike", "bravo"]:
        q.add_job(job_id, None, priority=3)
    assert drain(q) == ["zeta", "alpha", "mike", "bravo"]


def test_ties_with_uncomparable_data():
    q = PriorityJobQueue()
    q.add_job("a", {"k": 1})
    q.add_job("b", {"k": 2})
    q.add_job("c", object())
    assert drain(q) == ["a", "b", "c"]


def test_default_priority_is_zero_and_negatives_work():
    q = PriorityJobQueue()
    q.add_job("neg", None, priority=-5)
    q.add_job("default", None)
    q.add_job("pos", None, priority=1)
    q.add_job("neg2", None, -1)
    assert drain(q) == ["pos", "default", "neg2", "neg"]


def test_prompt_example_without_aging():
    q = PriorityJobQueue()
    q.add_job("a", 1, 0)
    q.add_job("b", 2, 5)
    q.add_job("c", 3, 5)
    assert drain(q) == ["b", "c", "a"]


def test_empty_queue():
    q = PriorityJobQueue()
    assert q.get_next_job() is None
    assert q.peek() is None
    assert len(q) == 0


def test_none_data_is_a_job():
    q = PriorityJobQueue()
    q.add_job("n", None)
    assert q.peek() == ("n", None)
    assert q.get_next_job() == ("n", None)


def test_peek_does_not_remove():
    q = PriorityJobQueue()
    q.add_job("a", 1, 1)
    q.add_job("b", 2, 2)
    assert q.peek() == ("b", 2)
    assert q.peek() == ("b", 2)
    assert len(q) == 2
    assert q.get_next_job() == ("b", 2)
    assert q.peek() == ("a", 1)


def test_len_counts_pending():
    q = PriorityJobQueue()
    for i in range(5):
        q.add_job(str(i), i, i % 2)
    assert len(q) == 5
    q.get_next_job()
    q.cancel("0")
    assert len(q) == 3


def test_cancel():
    q = PriorityJobQueue()
    q.add_job("a", 1, 5)
    q.add_job("b", 2, 1)
    q.add_job("c", 3, 9)
    assert q.cancel("a") is True
    assert q.cancel("a") is False
    assert q.cancel("never") is False
    assert len(q) == 2
    assert q.get_next_job() == ("c", 3)
    assert q.cancel("c") is False  # already handed out
    assert drain(q) == ["b"]


def test_cancel_then_readd_same_id_uses_the_new_job_only():
    q = PriorityJobQueue()
    q.add_job("x", "old", priority=10)
    q.add_job("y", "y", priority=5)
    assert q.cancel("x")
    q.add_job("x", "new", priority=1)
    assert q.peek() == ("y", "y")
    assert q.get_next_job() == ("y", "y")
    assert q.get_next_job() == ("x", "new")
    assert q.get_next_job() is None
    assert len(q) == 0


def test_readded_id_is_a_new_arrival():
    q = PriorityJobQueue()
    q.add_job("a", 1, 0)
    q.add_job("b", 2, 0)
    assert q.get_next_job() == ("a", 1)
    q.add_job("a", 3, 0)  # id free again; goes behind b
    assert drain(q) == ["b", "a"]


def test_duplicate_pending_id_rejected():
    q = PriorityJobQueue()
    q.add_job("a", 1, 1)
    with pytest.raises(ValueError):
        q.add_job("a", 2, 99)
    assert len(q) == 1
    assert q.get_next_job() == ("a", 1)
    assert q.get_next_job() is None


@pytest.mark.parametrize("bad_id", ["", None, 3])
def test_invalid_id(bad_id):
    q = PriorityJobQueue()
    with pytest.raises(ValueError):
        q.add_job(bad_id, 1)
    assert len(q) == 0


@pytest.mark.parametrize("interval", [0, -1])
def test_invalid_aging_interval(interval):
    with pytest.raises(ValueError):
        PriorityJobQueue(aging_interval=interval)


def test_prompt_example_with_aging():
    q = PriorityJobQueue(aging_interval=2)
    q.add_job("old", None, 0)
    q.add_job("h1", None, 1)
    q.add_job("h2", None, 1)
    assert q.get_next_job()[0] == "h1"
    q.add_job("h3", None, 1)
    assert q.get_next_job()[0] == "h2"
    assert q.peek()[0] == "old"
    assert drain(q) == ["old", "h3"]


def test_same_sequence_without_aging_starves_the_old_job():
    q = PriorityJobQueue()
    q.add_job("old", None, 0)
    q.add_job("h1", None, 1)
    q.add_job("h2", None, 1)
    q.get_next_job()
    q.add_job("h3", None, 1)
    assert drain(q) == ["h2", "h3", "old"]


def test_aging_prevents_starvation_at_the_exact_hand_out():
    q = PriorityJobQueue(aging_interval=1)
    q.add_job("low", None, 0)
    order = []
    for i in range(8):
        q.add_job(f"high{i}", None, 5)
        order.append(q.get_next_job()[0])
    # Before hand-out k, "low" has waited k: at k == 5 it ties the new job and is older.
    assert order[:5] == [f"high{i}" for i in range(5)]
    assert order[5] == "low"


def test_aging_uses_integer_division():
    q = PriorityJobQueue(aging_interval=3)
    q.add_job("low", None, 0)
    q.add_job("x1", None, 1)
    q.add_job("x2", None, 1)
    q.add_job("x3", None, 1)
    assert q.get_next_job()[0] == "x1"
    assert q.get_next_job()[0] == "x2"  # low waited 1 → still 0
    q.add_job("x4", None, 1)
    # low waited 2 → 0 (2 // 3), x3 waited 2 → 1, x4 → 1.
    assert q.get_next_job()[0] == "x3"
    # low waited 3 → 1, x4 waited 1 → 1: tie, low is older.
    assert drain(q) == ["low", "x4"]


def test_peek_and_cancel_do_not_age():
    q = PriorityJobQueue(aging_interval=1)
    q.add_job("low", None, 0)
    q.add_job("high", None, 2)
    q.add_job("victim", None, 9)
    for _ in range(5):
        assert q.peek() == ("victim", None)
    assert q.cancel("victim")
    # No hand-out yet, so "low" is still at 0.
    assert q.get_next_job() == ("high", None)
    assert q.get_next_job() == ("low", None)


def test_aging_applies_to_jobs_added_later_only_from_their_arrival():
    q = PriorityJobQueue(aging_interval=1)
    for i in range(4):
        q.add_job(f"f{i}", None, 10)
    q.add_job("early", None, 0)
    assert [q.get_next_job()[0] for _ in range(4)] == ["f0", "f1", "f2", "f3"]
    q.add_job("late", None, 3)
    # early waited 4 → 4; late waited 0 → 3.
    assert drain(q) == ["early", "late"]


@pytest.mark.parametrize("aging", [None, 1, 2, 3])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_operations_match_the_specification(aging, seed):
    rng = random.Random(seed * 100 + (aging or 0))
    q = PriorityJobQueue(aging_interval=aging)
    oracle = Oracle(aging)
    next_id = 0
    for step in range(400):
        op = rng.random()
        if op < 0.5:
            # Reuse ids that left the queue now and then.
            if rng.random() < 0.2 and next_id > 0:
                job_id = f"j{rng.randrange(next_id)}"
                if any(e[1] == job_id for e in oracle.pending):
                    job_id = f"j{next_id}"
                    next_id += 1
            else:
                job_id = f"j{next_id}"
                next_id += 1
            priority = rng.randint(-3, 3)
            q.add_job(job_id, step, priority)
            oracle.add(job_id, step, priority)
        elif op < 0.8:
            assert q.get_next_job() == oracle.get(), f"step {step}"
        elif op < 0.9:
            assert q.peek() == oracle.peek(), f"step {step}"
        else:
            if oracle.pending and rng.random() < 0.7:
                job_id = rng.choice(oracle.pending)[1]
            else:
                job_id = f"j{rng.randrange(next_id + 1)}"
            assert q.cancel(job_id) == oracle.cancel(job_id), f"step {step}"
        assert len(q) == len(oracle.pending)
    while oracle.pending:
        assert q.get_next_job() == oracle.get()
    assert q.get_next_job() is None


def test_concurrent_producers_then_drain_in_priority_then_fifo_order(tiny_switch_interval):
    q = PriorityJobQueue()
    producers, per_producer = 6, 150
    start = threading.Barrier(producers)

    def producer(p):
        def body():
            start.wait()
            for i in range(per_producer):
                q.add_job(f"p{p}-{i}", (p, i, i % 3), priority=i % 3)
        return body

    run_threads([producer(p) for p in range(producers)])
    assert len(q) == producers * per_producer
    jobs = []
    while (job := q.get_next_job()) is not None:
        jobs.append(job[1])
    assert len(jobs) == producers * per_producer
    priorities = [prio for (_, _, prio) in jobs]
    assert priorities == sorted(priorities, reverse=True)
    for p in range(producers):
        for prio in range(3):
            seq = [i for (pp, i, pr) in jobs if pp == p and pr == prio]
            assert seq == sorted(seq), f"producer {p} priority {prio}: FIFO broken"


def test_concurrent_consumers_hand_out_each_job_once(tiny_switch_interval):
    q = PriorityJobQueue(aging_interval=2)
    total = 1200
    for i in range(total):
        q.add_job(f"j{i}", i, priority=i % 7)
    consumers = 6
    start = threading.Barrier(consumers)
    taken = [[] for _ in range(consumers)]

    def consumer(c):
        def body():
            start.wait()
            while (job := q.get_next_job()) is not None:
                taken[c].append(job[0])
        return body

    run_threads([consumer(c) for c in range(consumers)])
    all_taken = [j for part in taken for j in part]
    assert len(all_taken) == total
    assert len(set(all_taken)) == total
    assert len(q) == 0
