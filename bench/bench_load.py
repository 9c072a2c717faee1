"""Code location load time: importing etl_assets.definitions (imports + Definitions built),
each in a fresh interpreter, as the webserver and every run worker do.

    .venv/bin/python -m bench.bench_load --repeat 5

Reports every repeat and the median, measured inside the child process from just before
the import to just after (interpreter start and exit are not the code location's).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

_CHILD = (
    "import time, warnings; warnings.simplefilter('ignore'); started = time.perf_counter(); "
    "import etl_assets.definitions; print(time.perf_counter() - started)"
)


def load_seconds(repeat: int) -> list[float]:
    return [
        float(
            subprocess.run(
                [sys.executable, "-c", _CHILD], check=True, capture_output=True, text=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        for _ in range(repeat)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    seconds = load_seconds(args.repeat)
    print(
        json.dumps(
            {
                "seconds": [round(s, 2) for s in seconds],
                "median": round(statistics.median(seconds), 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
