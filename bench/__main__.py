"""Run every workload in bench/workloads/ on one scratch database and print the figures.

python -m bench [WORKLOAD ...]   (default: all, in file-name order)
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import replace

from bench.harness import BENCH_DIR, BenchContext, format_result
from plainsql.config import DatabaseSource, load_settings
from plainsql.errors import PlainSQLError
from plainsql.testing import build_template, drop_template, open_test_server


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in (BENCH_DIR / "workloads").glob("[a-z]*.py"))
    settings = load_settings()
    try:
        with open_test_server(settings) as server:
            database = build_template(server)
            try:
                conninfo = server.conninfo(database)
                bench_settings = replace(
                    settings, database_url=conninfo, source=DatabaseSource.ENVIRONMENT
                )
                context = BenchContext(bench_settings, conninfo)
                print(f"server: {server.kind}; scratch database {database}\n")
                for name in names:
                    module = importlib.import_module(f"bench.workloads.{name}")
                    for result in module.run(context):
                        print(format_result(result), flush=True)
                        print()
            finally:
                drop_template(server, database)
    except PlainSQLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
