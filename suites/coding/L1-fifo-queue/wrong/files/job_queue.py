# file: job_queue.py
class JobQueue:
    def __init__(self):
        self.jobs = {}
        self.queue = []

    def add_job(self, job_id, data):
        if not isinstance(job_id, str) or not job_id:
            raise ValueError("job_id must be a non-empty string")
        self.jobs[job_id] = {"job_id": job_id, "status": "pending", "result": None, "data": data}
        self.queue.append(job_id)
        return job_id

    def get_next_job(self):
        if not self.queue:
            return None
        job_id = self.queue.pop(0)
        job = self.jobs[job_id]
        job["status"] = "running"
        return job_id, job["data"]

    def complete_job(self, job_id, result):
        job = self.jobs[job_id]
        if job["status"] != "running":
            raise ValueError("job is not running")
        job["result"] = result
        job["status"] = "done"

    def get_result(self, job_id):
        job = self.jobs.get(job_id)
        if job is None:
            return None
        return {"job_id": job_id, "status": job["status"], "result": job["result"]}

    def __len__(self):
        return len(self.queue)
