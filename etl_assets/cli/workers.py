"""`etl-assets workers`: Celery workers on this machine, for a local trial of
ETL_EXECUTOR=celery (`make workers`).

    etl-assets workers [--count 2] [--concurrency 1] [--prefix worker]

Starts `--count` workers with the documented command (`executors.worker_command`), each in
its own process group, listening on ETL_CELERY_QUEUE of the broker ETL_CELERY_BROKER_URL;
waits until each answers a ping through the broker, then stays in the foreground. Ctrl-C
(or SIGTERM) stops them all: a warm shutdown first (a worker finishes its current step),
then SIGKILL to whatever is left. If one worker dies, the others are stopped too and the
command exits with status 1. docs/scale-out.md has the whole trial.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time


def register(commands) -> None:
    parser = commands.add_parser(
        "workers",
        help="Celery workers on this machine for ETL_EXECUTOR=celery, until Ctrl-C",
        description=__doc__,
    )
    parser.add_argument("--count", type=int, default=2, help="workers to start (default 2)")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="steps at once per worker (default 1)"
    )
    parser.add_argument("--prefix", default="worker", help="worker names: PREFIX1, PREFIX2, ...")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for a ping")
    parser.set_defaults(handler=lambda args: _workers(args, parser))


def _workers(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.count < 1 or args.concurrency < 1:
        parser.error("--count and --concurrency must be at least 1")
    from etl_assets.automation.executors import DEFAULT_CELERY_BROKER
    from etl_assets.automation.workers import WorkerError, make_pool
    from etl_assets.settings import CELERY_BROKER_VARIABLE, load_settings

    environ = {**os.environ, "ETL_EXECUTOR": "celery"}
    settings = load_settings(environ)
    pool = make_pool(settings, environ)

    def _terminate(signum, _frame):
        raise KeyboardInterrupt  # SIGTERM (and SIGINT, even when started in the background)

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    broker = environ.get(CELERY_BROKER_VARIABLE) or DEFAULT_CELERY_BROKER
    print(
        f"starting {args.count} worker(s) on queue {settings.celery_queue!r} "
        f"(broker from {CELERY_BROKER_VARIABLE}: {broker.split('@')[-1]}), "
        f"lake {settings.lake_url}",
        flush=True,
    )
    status = 0
    try:
        for number in range(1, args.count + 1):
            pool.start(f"{args.prefix}{number}", concurrency=args.concurrency)
        pool.wait_ready(timeout=args.timeout)
        for worker in pool.workers:
            print(f"{worker.node} ready (pid {worker.pid})", flush=True)
        print("Ctrl-C stops them.", flush=True)
        while True:
            dead = [worker for worker in pool.workers if not worker.alive()]
            if dead:
                names = ", ".join(w.name for w in dead)
                print(f"worker(s) {names} exited: stopping the others", file=sys.stderr)
                status = 1
                break
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    except WorkerError as error:
        print(f"workers: {error}", file=sys.stderr)
        status = 1
    finally:
        print("stopping the workers (each finishes its current step)...", flush=True)
        pool.stop()
    return status
