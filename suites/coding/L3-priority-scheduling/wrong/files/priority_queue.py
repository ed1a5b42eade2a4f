# file: priority_queue.py
import heapq
import itertools
import threading


class PriorityJobQueue:
    def __init__(self, aging_interval=None):
        if aging_interval is not None and aging_interval < 1:
            raise ValueError("aging_interval must be >= 1")
        self.aging_interval = aging_interval
        self._heap = []
        self._pending = {}
        self._counter = itertools.count()
        self._handed_out = 0
        self._lock = threading.Lock()

    def add_job(self, job_id, data, priority=0):
        if not isinstance(job_id, str) or not job_id:
            raise ValueError("job_id must be a non-empty string")
        with self._lock:
            if job_id in self._pending:
                raise ValueError("duplicate job id")
            seq = next(self._counter)
            # Aging: a job that arrives later is penalised relative to earlier ones.
            bonus = self._handed_out // self.aging_interval if self.aging_interval else 0
            entry = [-(priority - bonus), seq, job_id, data]
            self._pending[job_id] = entry
            heapq.heappush(self._heap, entry)
        return job_id

    def _pop_cancelled(self):
        while self._heap and self._heap[0][2] is None:
            heapq.heappop(self._heap)

    def get_next_job(self):
        with self._lock:
            self._pop_cancelled()
            if not self._heap:
                return None
            _, _, job_id, data = heapq.heappop(self._heap)
            del self._pending[job_id]
            self._handed_out += 1
            return job_id, data

    def peek(self):
        with self._lock:
            self._pop_cancelled()
            if not self._heap:
                return None
            return self._heap[0][2], self._heap[0][3]

    def cancel(self, job_id):
        with self._lock:
            entry = self._pending.pop(job_id, None)
            if entry is None:
                return False
            entry[2] = None
            return True

    def __len__(self):
        with self._lock:
            return len(self._pending)
