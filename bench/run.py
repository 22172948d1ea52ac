"""``newsrelay run`` as a newsroom would use it: time from ``newsrelay articles add`` to the
article's three posts being live in the sandbox, and the whole service's memory (RSS of the
process tree) while it delivers articles again and again.

    .venv/bin/python -m bench.run [--articles 20]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

from bench.common import ROOT, Processes, bench_env, free_port, percentile, wait_for

FIXTURE = ROOT / "examples" / "articles" / "dar-istanbul-gaza-talks.json"


class RssSampler(threading.Thread):
    """Samples the RSS of a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.samples: list[int] = []
        self.stop = threading.Event()

    def total(self) -> int:
        procs = [self.root, *self.root.children(recursive=True)]
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append(self.total())
            self.stop.wait(0.2)


def live_count(sandbox: str, tag: str) -> int:
    posts = httpx.get(f"{sandbox}/_sandbox/posts", timeout=5).json()["posts"]
    return sum(1 for p in posts if tag in (p.get("text") or ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=20)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nr-run-"))
    api_port, sandbox_port = free_port(), free_port()
    env = bench_env(data_dir=str(tmp / "data"), sandbox_port=str(sandbox_port), log_level="WARNING")
    procs = Processes(env, tmp)
    run = procs.start("run", "-m", "scheduler.cli.app", "run", "--port", str(api_port))
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{api_port}/healthz", timeout=1).is_success
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=60)
        health = [sys.executable, "-m", "scheduler.cli.app", "health", "--component", "workers"]
        wait_for(
            lambda: (
                subprocess.run(
                    health, env=env, cwd=ROOT, capture_output=True, check=False
                ).returncode
                == 0
            ),
            timeout=60,
            interval=0.5,
        )
        sampler = RssSampler(run.pid)
        sampler.start()
        base = json.loads(FIXTURE.read_text(encoding="utf-8"))
        from_invoke: list[float] = []
        from_return: list[float] = []
        for i in range(args.articles):
            tag = f"run-bench-{i:03d}"
            article = {
                **base,
                "external_id": f"{base['external_id']}-{tag}",
                "title": f"{base['title']} {tag}",
                "summary": f"{base['summary']} {tag}",
            }
            path = tmp / f"{tag}.json"
            path.write_text(json.dumps(article), encoding="utf-8")
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "scheduler.cli.app", "articles", "add", str(path)],
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            t1 = time.perf_counter()
            wait_for(lambda tag=tag: live_count(sandbox, tag) >= 3, timeout=60, interval=0.02)
            t2 = time.perf_counter()
            from_invoke.append(t2 - t0)
            from_return.append(t2 - t1)
        sampler.stop.set()
        sampler.join()
        mib = [s / 2**20 for s in sampler.samples]
        print(
            f"machine: {psutil.cpu_count()} cores; newsrelay run on the embedded defaults "
            f"(SQLite + SQLite broker, threads worker, sandbox)"
        )
        print(
            f"three posts live after `newsrelay articles add` ({args.articles} articles): "
            f"from invocation p50 {percentile(from_invoke, 50):.2f} s, "
            f"p90 {percentile(from_invoke, 90):.2f} s, max {max(from_invoke):.2f} s; "
            f"from the command's return p50 {percentile(from_return, 50):.2f} s, "
            f"max {max(from_return):.2f} s"
        )
        print(
            f"service RSS (all processes) while delivering: peak {max(mib):.0f} MiB, "
            f"median {percentile(mib, 50):.0f} MiB, {len(mib)} samples"
        )
    finally:
        procs.stop_all()


if __name__ == "__main__":
    main()
