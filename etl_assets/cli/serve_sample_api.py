"""`etl-assets serve-sample-api`: serve the sample product catalogue as a paged JSON API,
in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(commands) -> None:
    serve = commands.add_parser(
        "serve-sample-api", help="serve the sample product catalogue as a paged JSON API"
    )
    serve.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind")
    serve.add_argument(
        "--data-dir", help="data directory holding landing/ (default: $ETL_DATA_DIR)"
    )
    serve.set_defaults(handler=_serve_sample_api)


def _serve_sample_api(args: argparse.Namespace) -> int:
    from etl_assets.sample.api import SampleApiError, load_catalogue, make_server, url_of
    from etl_assets.settings import get_settings

    landing = Path(args.data_dir) / "landing" if args.data_dir else get_settings().landing_dir
    try:
        records = load_catalogue(landing)
    except SampleApiError as exc:
        print(f"etl-assets serve-sample-api: {exc}", file=sys.stderr)
        return 2
    try:
        server = make_server(records, host=args.host, port=args.port)
    except OSError as exc:
        print(
            f"etl-assets serve-sample-api: cannot listen on {args.host}:{args.port}: {exc}",
            file=sys.stderr,
        )
        return 2
    url = url_of(server)
    print(f"serving {len(records):,} products at {url}?page=1&page_size=100 (Ctrl-C stops)")
    print(f"read the catalogue from it with:  export ETL_CATALOGUE_URL={url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
