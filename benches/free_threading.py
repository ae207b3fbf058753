"""Thread scaling of HS256 decode, and decode_batch against decode loops.

    python benches/free_threading.py [--tokens 10000] [--rounds 5] [--json out.json]

Runs on any interpreter; on a free-threaded build (python3.13t) the threads of the first
measurement decode in parallel, on a GIL build they take turns. The verified-token cache is
off throughout, so every decode does the base64, JSON and HMAC work (a first sight).

1. HS256 decode on 1 thread, then on 2 threads at once, each decoding its own list of
   ``--tokens`` distinct tokens: the speed-up is the 2-thread throughput over the 1-thread.
   The threads live for the whole run, as a server's workers do.
2. ``turbojwt.decode_batch`` of ``--tokens`` HS256 tokens against a ``turbojwt.decode``
   loop and a PyJWT ``jwt.decode`` loop over the same tokens.

The variants of each measurement alternate round by round, and each figure is the best
(shortest) of ``--rounds`` rounds: on a shared machine other work only ever adds time, so
the minimum is the figure least disturbed by it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import sysconfig
import threading
import time
from typing import Any, Callable

import turbojwt

SECRET = "free-threading-bench-secret-0123456789-0123456789"
OPTIONS = {"algorithms": ["HS256"]}
# Threads in a run -> the least process CPU time of such a run (all threads' CPU added up).
CPU_SECONDS: dict[int, float] = {}


def make_tokens(count: int, tag: str) -> list[str]:
    exp = int(time.time()) + 3600
    return [
        turbojwt.encode({"sub": f"{tag}-{i}", "i": i, "exp": exp}, SECRET, algorithm="HS256")
        for i in range(count)
    ]


def decode_all(tokens: list[str]) -> None:
    # The call as PyJWT documents it, a new list each time. One list shared by every
    # thread (``**OPTIONS``) costs 3.13t an atomic count on it per call from each thread,
    # in the interpreter's own argument handling: 1.34x scaling here instead of 1.48x.
    decode = turbojwt.decode
    for token in tokens:
        decode(token, SECRET, algorithms=["HS256"])


class Workers:
    """Long-lived decoding threads, as a server's are: each round hands some of them a list
    of tokens. Threads started per round would measure their own start-up instead: a new
    thread's allocator heap, faulted in page by page, and the per-thread caches filled from
    empty, in a round of a few milliseconds.

    Each worker reads the clocks itself: the main thread, one more runnable thread on a
    2-core machine, may be scheduled late and must not shorten a round."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.jobs: list[list[str] | None] = [None] * count
        #: Per worker, the last round's (start, end, thread CPU seconds), or None if idle.
        self.spans: list[tuple[float, float, float] | None] = [None] * count
        self.start = threading.Barrier(count + 1)
        self.done = threading.Barrier(count + 1)
        for index in range(count):
            threading.Thread(target=self._serve, args=(index,), daemon=True).start()

    def _serve(self, index: int) -> None:
        while True:
            self.start.wait()
            job, span = self.jobs[index], None
            if job is not None:
                began, cpu = time.perf_counter(), time.thread_time()
                decode_all(job)
                span = (began, time.perf_counter(), time.thread_time() - cpu)
            self.spans[index] = span
            self.done.wait()

    def run(self, lists: list[list[str]]) -> float:
        """Wall time for the first ``len(lists)`` threads to decode one list each, at once:
        from the first worker's start to the last one's end."""
        self.jobs = [*lists, *[None] * (self.count - len(lists))]
        self.start.wait()
        self.done.wait()
        spans = [span for span in self.spans if span is not None]
        wall = max(end for _, end, _ in spans) - min(began for began, _, _ in spans)
        cpu = sum(seconds for _, _, seconds in spans)
        CPU_SECONDS[len(lists)] = min(CPU_SECONDS.get(len(lists), 1e9), cpu)
        return wall


def best_times(rounds: int, calls: dict[str, Callable[[], Any]]) -> dict[str, float]:
    """The shortest time of each call over ``rounds`` rounds, the calls alternating."""
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()

    saved = turbojwt.token_cache_info()
    turbojwt.set_token_cache(max_entries=0)  # every decode is a first sight
    try:
        results = run(args.tokens, args.rounds)
    finally:
        turbojwt.set_token_cache(max_entries=saved["max_entries"])

    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    results["python"] = platform.python_version() + ("t" if free_threaded else "")
    results["gil_enabled"] = gil
    results["cpus"] = os.cpu_count()
    results["load_average"] = os.getloadavg()
    print(
        f"Python {results['python']} (GIL {'enabled' if gil else 'disabled'}), "
        f"{results['cpus']} CPUs, load average {results['load_average'][0]:.2f}"
    )
    n = args.tokens
    print(f"HS256 decode, 1 thread:  {results['one_thread_s'] * 1e6 / n:.2f} µs/token")
    print(
        f"HS256 decode, 2 threads: {results['two_threads_s'] * 1e6 / (2 * n):.2f} µs/token "
        f"(wall), scaling {results['thread_scaling']:.2f}x; CPU per token on 2 threads "
        f"{results['cpu_per_token_2_vs_1']:.2f}x that on 1"
    )
    print(
        f"decode_batch of {n}:     {results['batch_s'] * 1e3:.1f} ms "
        f"({results['batch_s'] * 1e6 / n:.2f} µs/token)"
    )
    print(
        f"turbojwt.decode loop:   {results['turbojwt_loop_s'] * 1e3:.1f} ms "
        f"-> batch is {results['batch_vs_turbojwt_loop']:.2f}x the loop's time"
    )
    print(
        f"PyJWT jwt.decode loop:  {results['pyjwt_loop_s'] * 1e3:.1f} ms "
        f"-> batch is {results['batch_vs_pyjwt_speedup']:.1f}x faster"
    )
    if args.json_path:
        with open(args.json_path, "w") as file:
            json.dump(results, file, indent=2)


def run(n: int, rounds: int) -> dict[str, Any]:
    import jwt  # PyJWT, the reference

    first, second = make_tokens(n, "a"), make_tokens(n, "b")
    decode_all(first)  # warm-up: the key cache, the allocator
    workers = Workers(2)
    workers.run([first, second])  # the workers' own caches and heaps
    threads = best_times(
        rounds,
        {"one": lambda: workers.run([first]), "two": lambda: workers.run([first, second])},
    )
    one, two = threads["one"], threads["two"]

    expected = turbojwt.decode(first[0], SECRET, **OPTIONS)
    assert turbojwt.decode_batch(first[:1], SECRET, **OPTIONS) == [expected]
    assert jwt.decode(first[0], SECRET, algorithms=["HS256"]) == expected
    pyjwt_decode = jwt.decode
    loops = best_times(
        rounds,
        {
            "batch": lambda: turbojwt.decode_batch(first, SECRET, **OPTIONS),
            "loop": lambda: decode_all(first),
        },
    )
    batch, loop = loops["batch"], loops["loop"]
    pyjwt_loop = best_times(
        max(1, rounds // 3),
        {"pyjwt": lambda: [pyjwt_decode(token, SECRET, algorithms=["HS256"]) for token in first]},
    )["pyjwt"]
    return {
        "tokens": n,
        "rounds": rounds,
        "one_thread_s": one,
        "two_threads_s": two,
        "thread_scaling": 2 * one / two,
        # CPU per token on 2 threads over CPU per token on 1: 1.0 means no contention
        # between the threads (no shared lock or cache line costs extra work); unlike the
        # wall-clock scaling, other load on the machine barely moves it.
        "cpu_per_token_2_vs_1": (CPU_SECONDS[2] / 2) / CPU_SECONDS[1],
        "batch_s": batch,
        "turbojwt_loop_s": loop,
        "pyjwt_loop_s": pyjwt_loop,
        "batch_vs_turbojwt_loop": batch / loop,
        "batch_vs_pyjwt_speedup": pyjwt_loop / batch,
    }


if __name__ == "__main__":
    main()
