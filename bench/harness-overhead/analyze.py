#!/usr/bin/python3
"""Turns two `gpumod bench smoke` result files and the null server's request logs into
bench/harness-overhead/results.json and results.md (bench/harness-overhead/run calls this).

Per attempt, gpumod's own overhead is the request time gpumod measured (request sent to the last
chunk, `metrics.request_ms`) minus the time the null server measured for the same request
(handler start to just before the last bytes of the body, `server_ns`). Attempts and server log
lines are joined on the sampling seed each attempt sends. Quantiles are nearest-rank, so every
reported quantile is an observed value.

    analyze.py --c1 RESULT.json --c1-log SERVER.jsonl --c4 RESULT.json --c4-log SERVER.jsonl
               --latency-ms 200 --threads 4 --machine TEXT --build TEXT [--note TEXT]
               [--compare LABEL=RESULTS.json ...] --out DIR

--compare keeps an earlier measurement (a results.json this script wrote) beside this one, under
the label given: it is copied whole into results.json ("earlier") and summed up in a table in
results.md. Earlier measurements the compared file itself kept come along, so passing the current
results.json keeps the history.
"""

import argparse
import json
import math
import sys
from pathlib import Path

MEDIAN_TARGET_MS = 1.0
SPEEDUP_TARGET = 3.0


def nearest_rank(values, q):
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def describe(values):
    return {
        "n": len(values),
        "median": nearest_rank(values, 0.5),
        "p95": nearest_rank(values, 0.95),
        "min": min(values) if values else None,
        "max": max(values) if values else None,
    }


def load_log(path):
    by_seed = {}
    lines = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    for line in lines:
        if line.get("seed") is None:
            sys.exit(f"analyze: {path}: a request without a seed; cannot join it to an attempt")
        if line["seed"] in by_seed:
            sys.exit(f"analyze: {path}: seed {line['seed']} sent twice; cannot join")
        by_seed[line["seed"]] = line
    return lines, by_seed


def analyze_run(result_path, log_path):
    result = json.loads(Path(result_path).read_text())
    lines, by_seed = load_log(log_path)
    attempts = result["attempts"]
    overheads = []
    for attempt in attempts:
        line = by_seed.get(attempt["seed"])
        if line is None:
            sys.exit(f"analyze: attempt with seed {attempt['seed']} has no server log line")
        request_ms = attempt["metrics"]["request_ms"]
        overheads.append(request_ms - line["server_ns"] / 1e6)
    # Retried requests show up as extra log lines; an attempt is one request when none retried.
    retries = sum(a.get("retries", 0) for a in attempts)
    summary = result["summary"]
    arrivals = sorted(line["arrival_ns"] for line in lines)
    completions = sorted(line["completion_ns"] for line in lines)
    return {
        "result_file": Path(result_path).name,
        "run_id": result["id"],
        "status": result["status"],
        "concurrency": result["config"]["concurrency"],
        "attempts": len(attempts),
        "server_requests": len(lines),
        "retries": retries,
        "passed": summary["passed"],
        "scored": summary["scored"],
        "sandbox": result["environment"].get("sandbox"),
        "wall_s": summary["wall_s"],
        "generation_s": summary["generation_s"],
        "validation_s": summary["validation_s"],
        # From the first request's arrival to the last one's completion, on the server's clock.
        "server_span_s": (completions[-1] - arrivals[0]) / 1e9 if lines else None,
        "overhead_ms": describe(overheads),
        "overhead_ms_per_attempt": overheads,
        "request_ms": describe([a["metrics"]["request_ms"] for a in attempts]),
        "server_ms": describe([line["server_ns"] / 1e6 for line in lines]),
        "completion_tokens": attempts[0]["metrics"]["completion_tokens"] if attempts else None,
        # The overhead grows with the number of streamed chunks (each is decoded as JSON).
        "overhead_us_per_chunk_median": (
            nearest_rank(overheads, 0.5) * 1000 / attempts[0]["metrics"]["completion_tokens"]
            if attempts and attempts[0]["metrics"]["completion_tokens"]
            else None
        ),
        "validation_s_per_attempt": summary["validation_s"] / len(attempts) if attempts else None,
        "gpumod_version": result["environment"].get("gpumod_version"),
        "gpumod_commit": result["environment"].get("gpumod_commit"),
    }


def fmt(value, digits=3):
    return "—" if value is None else f"{value:.{digits}f}"


def load_compared(specs):
    """The --compare files, each as {"label", "results"}, followed by what they kept."""
    earlier = []
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep or not label or not path:
            sys.exit(f"analyze: --compare wants LABEL=RESULTS.json, got '{spec}'")
        results = json.loads(Path(path).read_text())
        kept = results.pop("earlier", [])
        earlier.append({"label": label, "results": results})
        earlier += kept
    return earlier


def render_compared(data):
    if not data["earlier"]:
        return []
    overhead = data["overhead_ms_all"]["median"]
    lines = [
        "## Compared with earlier measurements",
        "",
        "Each row is a whole run of this benchmark, kept from the results.json it wrote "
        "(`earlier` in results.json has all its numbers). Only rows on the same machine and in "
        "the same session compare cleanly; the ratio is the earlier median over this run's.",
        "",
        "| measurement | machine | gpumod | requests | overhead median ms | p95 ms | µs per chunk "
        "(c1 median) | speedup c4/c1 | median ratio to this run |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
        f"| **this run** | {data['machine']} | {data['concurrency_1']['gpumod_commit']} | "
        f"{data['overhead_ms_all']['n']} | {fmt(overhead)} | "
        f"{fmt(data['overhead_ms_all']['p95'])} | "
        f"{fmt(data['concurrency_1']['overhead_us_per_chunk_median'], 1)} | "
        f"{fmt(data['speedup'], 2)}x | 1.0x |",
    ]
    for entry in data["earlier"]:
        run = entry["results"]
        median = run["overhead_ms_all"]["median"]
        ratio = median / overhead if overhead and median is not None and overhead > 0 else None
        lines.append(
            f"| {entry['label']} | {run['machine']} | {run['concurrency_1']['gpumod_commit']} | "
            f"{run['overhead_ms_all']['n']} | {fmt(median)} | {fmt(run['overhead_ms_all']['p95'])} "
            f"| {fmt(run['concurrency_1']['overhead_us_per_chunk_median'], 1)} | "
            f"{fmt(run['speedup'], 2)}x | {fmt(ratio, 1)}x |"
        )
    for entry in data["earlier"]:
        if entry["results"].get("note"):
            lines.append("")
            lines.append(f"Setup of \"{entry['label']}\": {entry['results']['note']}")
    lines.append("")
    return lines


def render_md(data):
    c1, c4 = data["concurrency_1"], data["concurrency_4"]
    overhead = data["overhead_ms_all"]
    met_overhead = overhead["median"] is not None and overhead["median"] < MEDIAN_TARGET_MS
    met_speedup = data["speedup"] is not None and data["speedup"] >= SPEEDUP_TARGET
    verdict = lambda met: "met" if met else "**not met**"
    lines = [
        "# harness-overhead: gpumod's own time per request",
        "",
        "**Question.** Against a server that answers after a fixed latency and does no work, how "
        "much time does gpumod add to each request, and does `--concurrency 4` finish the same "
        "attempts faster than `--concurrency 1`? Targets (issue #5): under "
        f"{MEDIAN_TARGET_MS:g} ms per request at the median; at least {SPEEDUP_TARGET:g}x faster "
        "with 4 concurrent chats against a server answering 4 at once, validation included.",
        "",
        f"**Answer (this run).** gpumod's overhead per request: **{fmt(overhead['median'])} ms "
        f"median, {fmt(overhead['p95'])} ms p95** over {overhead['n']} requests "
        f"({verdict(met_overhead)}). `--concurrency 4` took {fmt(c4['wall_s'], 2)} s against "
        f"{fmt(c1['wall_s'], 2)} s: **{fmt(data['speedup'], 2)}x** ({verdict(met_speedup)}; "
        "validation by pytest included).",
        "",
        "## How it was measured",
        "",
        f"- `null_server --latency-ms {data['latency_ms']} --threads {data['threads']} "
        "--reply-file suites/coding/L1-fifo-queue/reference/answer.md`: every chat completion "
        "waits the latency (counted from the request's arrival), then streams the L1 reference "
        f"answer in llama-server's format ({c1['completion_tokens']} chunks of 4 bytes, usage and "
        "timings chunk, `data: [DONE]`).",
        f"- `gpumod bench smoke --base-url … --level L1 --attempts {c1['attempts']} "
        "--concurrency 1`, then the same with `--concurrency 4`, each against a fresh server; "
        f"every attempt is graded by pytest (sandbox: {c1['sandbox']}), so the reply must pass.",
        "- **overhead** = gpumod's request time (`metrics.request_ms`: request sent → last chunk, "
        "monotonic clock) − the server's time for the same request (`server_ns`: handler start → "
        "just before the body's last bytes go to the socket, monotonic clock). It covers "
        "connecting, sending, reading and decoding the stream on gpumod's side, plus the kernel's "
        "loopback hops. Attempts and server log lines are joined on the sampling seed each "
        "attempt sends.",
        "- **speedup** = wall time of the concurrency-1 run / wall time of the concurrency-4 run "
        "(`summary.wall_s`: the whole run, requests, validation and bookkeeping).",
        "- Quantiles are nearest-rank (each is an observed value).",
        "",
        "## Result",
        "",
        f"Machine: {data['machine']}. Build: {data['build']}. gpumod {c1['gpumod_version']} "
        f"({c1['gpumod_commit']}).",
        "",
    ]
    if data["note"]:
        lines += [f"Setup: {data['note']}", ""]
    lines += [
        "| run | attempts | passed | wall s | generation s | validation s | overhead median ms "
        "| p95 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, run in (("concurrency 1", c1), ("concurrency 4", c4)):
        o = run["overhead_ms"]
        lines.append(
            f"| {name} | {run['attempts']} | {run['passed']}/{run['scored']} | "
            f"{fmt(run['wall_s'], 2)} | {fmt(run['generation_s'], 2)} | "
            f"{fmt(run['validation_s'], 2)} | {fmt(o['median'])} | {fmt(o['p95'])} | "
            f"{fmt(o['max'])} |"
        )
    lines += [
        f"| both | {overhead['n']} | | | | | {fmt(overhead['median'])} | {fmt(overhead['p95'])} "
        f"| {fmt(overhead['max'])} |",
        "",
        f"Server time per request: median {fmt(c1['server_ms']['median'], 2)} ms "
        f"(concurrency 1), {fmt(c4['server_ms']['median'], 2)} ms (concurrency 4). "
        "generation s and validation s are sums over attempts (at concurrency 4 they overlap, so "
        "they exceed the wall time). Raw numbers, per attempt: `results.json`.",
        "",
        "## Reading the numbers",
        "",
        f"- The overhead grows with the reply's length: at the median it is "
        f"{fmt(c1['overhead_us_per_chunk_median'], 1)} µs per streamed chunk at concurrency 1 "
        "(one chunk per token, as llama-server streams; gpumod decodes each chunk's JSON). A "
        "short reply costs proportionally less, a long one more. What the decoding alone costs "
        "per chunk, old path against new: `results-chunk-decode.md` (`chunk_decode`).",
        f"- Validation took {fmt(c1['validation_s_per_attempt'], 2)} s per attempt at "
        f"concurrency 1 and is CPU-bound (pytest in a fresh interpreter); with the machine's "
        "cores fewer than the concurrency, validations queue for CPU, which bounds the speedup "
        "whatever the requests do.",
        "- The load average above includes other work on the machine; both runs shared it.",
        "",
    ]
    lines += render_compared(data)
    lines += [
        "Rerun: `bench/harness-overhead/run` (see its `--help`).",
        "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--c1", required=True)
    parser.add_argument("--c1-log", required=True)
    parser.add_argument("--c4", required=True)
    parser.add_argument("--c4-log", required=True)
    parser.add_argument("--latency-ms", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--machine", required=True)
    parser.add_argument("--build", required=True)
    parser.add_argument("--note", default="", help="a sentence about the setup")
    parser.add_argument("--compare", action="append", default=[], metavar="LABEL=RESULTS.json",
                        help="an earlier results.json to keep beside this run (repeatable)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    earlier = load_compared(args.compare)

    c1 = analyze_run(args.c1, args.c1_log)
    c4 = analyze_run(args.c4, args.c4_log)
    both = c1["overhead_ms_per_attempt"] + c4["overhead_ms_per_attempt"]
    data = {
        "schema": "gpumod.bench.harness-overhead/1",
        "latency_ms": args.latency_ms,
        "threads": args.threads,
        "machine": args.machine,
        "build": args.build,
        "note": args.note,
        "targets": {"overhead_median_ms_below": MEDIAN_TARGET_MS, "speedup_at_least": SPEEDUP_TARGET},
        "overhead_ms_all": describe(both),
        "speedup": c1["wall_s"] / c4["wall_s"] if c4["wall_s"] else None,
        "concurrency_1": c1,
        "concurrency_4": c4,
        "earlier": earlier,
    }
    out = Path(args.out)
    (out / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    (out / "results.md").write_text(render_md(data))
    print(
        f"overhead median {fmt(data['overhead_ms_all']['median'])} ms, "
        f"p95 {fmt(data['overhead_ms_all']['p95'])} ms; speedup {fmt(data['speedup'], 2)}x"
    )


if __name__ == "__main__":
    main()
