"""The logs page on a large store, in headless Chromium: how long until the logs view's first page and
the 24-hour dashboard are on screen. Not run by CI.

Seeds N synthetic entries (bench/bench_queries.py's generator) unless `--db` names a store already
seeded, starts `llmlog serve` on it, and opens each view `--runs` times in a fresh navigation. The
figure is the page's own `performance.mark` for the view (`llmlog:logs-shown`,
`llmlog:dashboard-shown`), in ms since the navigation began: HTML, modules, API calls and rendering.
Needs Debian chromium and chromium-driver, and selenium (in the `test` extra).

    python -m bench.bench_page                                   # 1,000,000 entries over 7 days
    python -m bench.bench_queries --db /tmp/big.db --days 7 --seed-only
    python -m bench.bench_page --db /tmp/big.db --runs 9
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request

from bench.bench_queries import seed
from bench.common import free_port
from bench.procs import Server

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# each view: its address and the mark the page sets once it is on screen
VIEWS = {
    "logs, first page": ("/ui/", "llmlog:logs-shown"),
    "logs, one model, by cost": ("/ui/?model=gpt-4o-mini&sort_by=cost", "llmlog:logs-shown"),
    "logs, rare word searched": ("/ui/?q=zanzibarquokka", "llmlog:logs-shown"),
    "logs, common word searched": ("/ui/?q=invoice", "llmlog:logs-shown"),
    "dashboard, 24 h by hour": ("/ui/?view=summary&summary_start=-24h&bucket=hour", "llmlog:dashboard-shown"),
    "dashboard, 7 days by hour": ("/ui/?view=summary&summary_start=-7d&bucket=hour", "llmlog:dashboard-shown"),
}


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--window-size=1280,860",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='llmlog-bench-chrome-')}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def shown_ms(driver, url: str, mark: str, timeout_s: float = 60) -> float:
    """Opens `url` afresh and returns when the page marked the view as shown, in ms since navigation."""
    driver.get("about:blank")
    driver.get(url)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        at = driver.execute_script(f"const m = performance.getEntriesByName({json.dumps(mark)}); "
                                   "return m.length ? m[0].startTime : null")
        if at is not None:
            return float(at)
        time.sleep(0.02)
    raise RuntimeError(f"{url}: not shown within {timeout_s:.0f} s")


def entries_in(url: str) -> int:
    with urllib.request.urlopen(url + "/v1/logs?start_date=-3650d&limit=1", timeout=60) as resp:
        return int(json.load(resp)["total"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a store already seeded (SQLite file or postgresql:// URL)")
    parser.add_argument("--n", type=int, default=1_000_000, help="entries to seed without --db (default 1,000,000)")
    parser.add_argument("--days", type=int, default=7, help="spread them over this many days (default 7)")
    parser.add_argument("--runs", type=int, default=7, help="fresh page loads per view (default 7)")
    parser.add_argument("--only", default="", help="the views whose name starts with this (`logs`, `dashboard`)")
    parser.add_argument("--readers", default="2", help="reader threads to compare, e.g. `1,2`: each view is "
                        "timed on a server with each, their loads interleaved (default 2, as llmlog runs)")
    args = parser.parse_args()
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        sys.exit("needs Debian chromium and chromium-driver: apt-get install chromium chromium-driver")
    tmp = tempfile.mkdtemp(prefix="llmlog-bench-page-")
    db = args.db
    if db is None:
        db = os.path.join(tmp, "page.db")
        print(f"seeding {args.n:,} entries over {args.days} days into {db}", file=sys.stderr)
        seed(db, args.n, int(time.time() * 1000), args.days)
    counts = [int(n) for n in args.readers.split(",")]
    servers = {}
    for n in counts:
        port = free_port()
        # no upstream is called: the page only reads the logs API
        servers[n] = Server(f"llmlog-{n}-readers", ["-m", "bench.serve_shim", "serve", "--db", db, "--upstream",
                            "http://127.0.0.1:9", "--port", str(port)], port, 0, "/healthz",
                            env={"LLMLOG_BENCH_READERS": str(n)}, log_dir=tmp)
    driver = browser()
    try:
        total = entries_in(servers[counts[0]].url)
        print(f"{total:,} entries in {db}; {args.runs} fresh loads per view and server, interleaved; "
              "ms from navigation to shown")
        for name, (path, mark) in VIEWS.items():
            if not name.startswith(args.only):
                continue
            times: dict[int, list[float]] = {n: [] for n in counts}
            for _ in range(args.runs):
                for n in counts:
                    times[n].append(shown_ms(driver, servers[n].url + path, mark))
            for n in counts:
                print(f"  {name:28} {n} reader{'s' if n > 1 else ' '}  p50 {statistics.median(times[n]):7.0f}   "
                      f"max {max(times[n]):7.0f}   all {' '.join(f'{t:.0f}' for t in times[n])}")
    finally:
        driver.quit()
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    main()
