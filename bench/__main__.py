"""Run the workloads in bench/workloads/, each on its own clone of a migrated template.

python -m bench [--smoke] [WORKLOAD ...]   (default: all, in file-name order)

The real migrations build one template database; every workload then gets a fresh
``CREATE DATABASE ... TEMPLATE`` copy of it, dropped when the workload is done, so the
workloads' rows never meet. ``--smoke`` runs every workload at a small fraction of its size:
a quick check (CI) that everything runs, whose figures are not meaningful.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import cast

from bench.harness import BENCH_DIR, BenchContext, Result, format_result
from plainsql import load_settings
from plainsql.errors import PlainSQLError
from plainsql.testing import (
    TestServer,
    build_template,
    cloned_database,
    drop_template,
    open_test_server,
)

Workload = Callable[[BenchContext], list[Result]]


def available_workloads() -> list[str]:
    return sorted(p.stem for p in (BENCH_DIR / "workloads").glob("[a-z]*.py"))


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    available = available_workloads()
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks: plainsql against raw psycopg, each workload on its own "
        "clone of the migrated template database.",
    )
    parser.add_argument(
        "workloads",
        nargs="*",
        metavar="WORKLOAD",
        help=f"workloads to run (default: all): {', '.join(available)}",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="quick run at a small fraction of the sizes (CI): checks that every workload "
        "runs; the figures are not meaningful",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.workloads if name not in available]
    if unknown:
        parser.error(
            f"unknown workload(s): {', '.join(unknown)} (choose from {', '.join(available)})"
        )
    if not args.workloads:
        args.workloads = available
    return args


def load_workload(name: str) -> Workload:
    module: ModuleType = importlib.import_module(f"bench.workloads.{name}")
    return cast(Workload, module.run)


def context_for(server: TestServer, template: str, database: str, *, smoke: bool) -> BenchContext:
    """A workload's context on ``database``, able to clone ``template`` again."""

    @contextmanager
    def clone() -> Iterator[BenchContext]:
        with cloned_database(server, template) as other:
            yield context_for(server, template, other, smoke=smoke)

    return BenchContext(
        server.settings_for(database), server.conninfo(database), smoke=smoke, clone=clone
    )


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    names: list[str] = args.workloads
    smoke: bool = args.smoke
    workloads = {name: load_workload(name) for name in names}  # fail on imports before the server
    if smoke:
        print("smoke run: every workload at a small fraction of its size; figures not meaningful")
    settings = load_settings()
    try:
        with open_test_server(settings) as server:
            template = build_template(server)
            try:
                print(f"server: {server.kind}; template {template}, one clone per workload\n")
                for run in workloads.values():
                    with cloned_database(server, template) as database:
                        context = context_for(server, template, database, smoke=smoke)
                        for result in run(context):
                            print(format_result(result), flush=True)
                            print()
            finally:
                drop_template(server, template)
    except PlainSQLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
