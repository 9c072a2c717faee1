"""Time reading a landing CSV: read_landing_csv against pd.read_csv(dtype=str).

    .venv/bin/python -m bench.bench_landing_read [--rows 1000000] [--repeat 3]

Writes two files in the shape of "Online Retail" (8 columns, ~80 bytes a line, 5% quoted
descriptions with a comma, 1% lines with a valid UTF-8 accent): `clean`, and `latin1`
where 0.2% of the lines are written in latin-1 instead. Each read runs in a fresh
process so its peak RSS is its own; the time includes reading the file's bytes. Prints
one JSON line: per file and reader, the best and median seconds, and in MB the peak RSS,
the RSS before reading (interpreter and imports) and after it (the file's bytes are still
held, as a caller holds them), and the frame's own size (memory_usage(deep=True)).
Linux only (ru_maxrss in KiB, /proc/self/statm).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
WORDS = "WHITE HANGING HEART T-LIGHT HOLDER CREAM CUPID COAT HANGER KNITTED UNION FLAG".split()
COUNTRIES = ["United Kingdom", "France", "Germany", "EIRE", "Spain", "Netherlands"]
READERS = ("read_landing_csv", "pandas_read_csv")


def write_landing_file(path: Path, rows: int, latin1_share: float, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("wb") as out:
        out.write(HEADER.encode() + b"\n")
        for i in range(rows):
            description = " ".join(rng.choices(WORDS, k=rng.randint(2, 5)))
            latin1 = rng.random() < latin1_share
            if latin1 or rng.random() < 0.01:
                description += " CAFÉ"
            if rng.random() < 0.05:
                description = f'"{description}, SET OF 3"'
            line = (
                f"{536365 + i // 7},{rng.randint(10000, 99999)}{rng.choice(['', 'A', 'B'])},"
                f"{description},{rng.randint(1, 48)},"
                f"12/{rng.randint(1, 28)}/2010 {rng.randint(8, 19)}:{rng.randint(10, 59)},"
                f"{rng.randint(1, 2000) / 100:.2f},{rng.randint(12346, 18287)},"
                f"{rng.choice(COUNTRIES)}\n"
            )
            out.write(line.encode("latin-1" if latin1 else "utf-8"))


def measure(reader: str, path: Path) -> dict:
    """One read in this process: seconds, rows, peak RSS (MB) and RSS before it (MB)."""
    import pandas as pd

    from etl_assets.transforms.csv_reader import read_landing_csv

    before = _peak_rss_mb()
    start = time.perf_counter()
    if reader == "read_landing_csv":
        read = read_landing_csv(
            path.read_bytes(), source_file=path.name, expected_columns=HEADER.split(",")
        )
        frame, flagged = read.frame, read.invalid_encoding_rows
    else:
        # pandas has no per-line fallback: latin-1 is the only encoding that cannot fail.
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=_pandas_encoding(path))
        flagged = None
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows": len(frame),
        "invalid_encoding_rows": flagged,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_mb": before,
        "rss_after_mb": _current_rss_mb(),
        "frame_mb": round(frame.memory_usage(deep=True).sum() / 2**20, 1),
    }


def _pandas_encoding(path: Path) -> str:
    return "latin-1" if "latin1" in path.name else "utf-8"


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def _current_rss_mb() -> float:
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    return round(resident_pages * resource.getpagesize() / 2**20, 1)


def run_isolated(reader: str, path: Path) -> dict:
    command = [sys.executable, "-m", "bench.bench_landing_read", "--measure", reader, str(path)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def summarise(runs: list[dict]) -> dict:
    seconds = [run["seconds"] for run in runs]
    last = runs[-1]
    return {
        "best_seconds": round(min(seconds), 3),
        "median_seconds": round(statistics.median(seconds), 3),
        "peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
        "rss_before_mb": last["rss_before_mb"],
        "rss_after_mb": last["rss_after_mb"],
        "frame_mb": last["frame_mb"],
        "rows": last["rows"],
        "invalid_encoding_rows": last["invalid_encoding_rows"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--measure", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        reader, path = args.measure
        print(json.dumps(measure(reader, Path(path))))
        return
    figures: dict = {"rows": args.rows, "repeat": args.repeat}
    with tempfile.TemporaryDirectory() as tmp:
        for name, latin1_share in (("clean", 0.0), ("latin1", 0.002)):
            path = Path(tmp) / f"orders_{name}.csv"
            write_landing_file(path, args.rows, latin1_share)
            figures[name] = {"size_mb": round(path.stat().st_size / 2**20, 1)}
            for reader in READERS:
                runs = [run_isolated(reader, path) for _ in range(args.repeat)]
                figures[name][reader] = summarise(runs)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
