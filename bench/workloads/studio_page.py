"""plainsql studio: one page of a 100,000-row table rendered server-side, in process.

The studio's ASGI application is driven by Starlette's TestClient (no socket): each request
passes the token gate, reads the catalog (structure, secret columns), fetches a keyset page of
50 rows from the middle of the table in a read-only transaction and renders the HTML. The
baseline is the page's query alone through raw psycopg (what the database part costs). The
goal is a page under 50 ms; the figure per page is the round's time over its pages.
A smoke run fills 5,000 rows and renders a few pages.
"""

from __future__ import annotations

import json

import psycopg

from bench.harness import BenchContext, Result, interleaved, measure
from plainsql.studio.app import Studio, create_app

ROWS = 100_000
SMOKE_ROWS = 5_000
PAGES = 20
REPEATS = 7
PORT = 4983
TOKEN = "bench-token"


def run(ctx: BenchContext) -> list[Result]:
    from starlette.testclient import TestClient

    rows_wanted = ctx.size(ROWS, SMOKE_ROWS)
    pages = ctx.size(PAGES, 3)
    middle = rows_wanted // 2
    with psycopg.connect(ctx.conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bench_studio (id integer PRIMARY KEY, label text NOT NULL,"
            " value float8, created_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(
            "INSERT INTO bench_studio (id, label, value) SELECT g, 'point ' || g, g * 0.5"
            " FROM generate_series(1, %s) g",
            (rows_wanted,),
        )
        conn.execute("ANALYZE bench_studio")
        app = create_app(Studio(ctx.settings, ctx.conninfo), token=TOKEN, port=PORT)
        path = "/tables/public.bench_studio?" + f"after={json.dumps([str(middle)])}"
        with TestClient(app, base_url=f"http://127.0.0.1:{PORT}") as client:
            client.get(f"/?token={TOKEN}")

            def through_studio() -> None:
                for _ in range(pages):
                    page = client.get(path)
                    assert page.status_code == 200, page.text[-500:]
                    assert f"<td>{middle + 50}</td>" in page.text

            def through_psycopg() -> None:
                for _ in range(pages):
                    with conn.transaction():
                        rows = conn.execute(
                            "SELECT id, label, value, created_at FROM bench_studio"
                            " WHERE id > %s ORDER BY id LIMIT 51",
                            (middle,),
                        ).fetchall()
                    assert len(rows) == 51

            through_studio()
            studio, raw = interleaved(
                ctx.size(REPEATS, 2),
                lambda: measure(
                    "studio page (gate, catalog, keyset page, HTML)", pages, through_studio
                ),
                lambda: measure("raw psycopg: the page's query alone", pages, through_psycopg),
            )
        conn.execute("DROP TABLE bench_studio")
    per_page_ms = studio.seconds / pages * 1000
    print(
        f"studio: a page of {rows_wanted:,} rows in {per_page_ms:.1f} ms (median round, "
        f"±{studio.spread * 50:.1f}%); goal under 50 ms"
    )
    return [Result(f"studio page of a {rows_wanted:,}-row table", "pages", studio, raw)]
