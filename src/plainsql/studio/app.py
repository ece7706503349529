"""The studio's Starlette application: tables, named queries and migrations as HTML pages.

Pages are rendered on the server from the Jinja templates shipped in this package (no script,
nothing fetched from elsewhere). Every database read runs on the studio's pool as the login
role in ``BEGIN READ ONLY`` and is rolled back; a secret column is masked wherever a value
would show (rows, row views, query results, error details).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode
from uuid import UUID

import jinja2
import psycopg
from markupsafe import Markup, escape
from psycopg.conninfo import conninfo_to_dict
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from plainsql import Pool, open_pool
from plainsql.config import Settings, describe_target, mask_url
from plainsql.errors import PlainSQLError, scrub_secrets
from plainsql.studio import catalog, named, plans, rows, staging
from plainsql.studio.catalog import Secrets
from plainsql.studio.security import Gate, allowed_hosts
from plainsql.studio.units import AsUser, acting_user_of

log = logging.getLogger("plainsql.studio")
HERE = Path(__file__).parent
MASK = "••••••"
CELL_CHARS = 200
LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1")


@dataclass(slots=True)
class Studio:
    """What the pages share: settings, the database, and how the studio was started."""

    settings: Settings
    conninfo: str
    write: bool = False
    pool: Pool | None = None
    staged: staging.Staging = field(default_factory=staging.Staging)

    @contextmanager
    def connection(self) -> Any:
        assert self.pool is not None, "the studio's pool opens with the application"
        with self.pool.connection() as conn:
            yield conn

    def secrets(self, conn: psycopg.Connection[Any]) -> Secrets:
        return catalog.load_secrets(conn, self.settings.studio_secret_columns)

    def as_user(self, acting_user: str | None) -> AsUser | None:
        return None if acting_user is None else AsUser(self.settings, acting_user)


def is_local(conninfo: str) -> bool:
    """Whether the database is on this machine: a unix socket or a loopback address."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.Error:
        return False
    hosts = str(params.get("host") or params.get("hostaddr") or "").split(",")
    return all(h.startswith("/") or h.strip().lower() in LOCAL_HOSTS for h in hosts)


# -- rendering -------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = cell
    env.filters["full"] = lambda value, secret=False: cell(value, secret, limit=None)
    env.globals["url"] = url
    env.globals["row_link"] = row_link
    env.globals["cursor"] = lambda values: json.dumps(list(values))
    env.globals["MASK"] = MASK
    return env


def url(path: str, params: Mapping[str, Any] | None = None) -> str:
    query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
    return f"{path}?{query}" if query else path


def row_link(table: str, key: Mapping[str, Any], acting_user: str | None = None) -> str:
    """The row view of the row whose primary key has these values (read as ``acting_user``)."""
    return url(f"/tables/{table}/row", {**{f"k.{k}": v for k, v in key.items()}, "as": acting_user})


def text_of(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | UUID | dt.date | dt.time | dt.timedelta | int | float):
        return str(value)
    return str(value)


def cell(value: Any, secret: bool = False, limit: int | None = CELL_CHARS) -> Markup:
    """One value as HTML: NULL and secrets marked, long values cut in the grid."""
    if value is None:
        return Markup('<span class="null">NULL</span>')
    if secret:
        return Markup(f'<span class="secret" title="secret column">{MASK}</span>')
    text = text_of(value)
    if limit is not None and len(text) > limit:
        return escape(text[:limit]) + Markup('<span class="cut">…</span>')
    return escape(text)


def error_text(exc: BaseException, secrets: Secrets | None) -> str:
    """A database error for the page: its message, and its detail unless it may hold a secret."""
    if not isinstance(exc, psycopg.Error):
        return scrub_secrets(str(exc))
    diag = exc.diag
    lines = str(exc).splitlines()
    text = (diag.message_primary or (lines[0] if lines else type(exc).__name__)).strip()
    detail = diag.message_detail
    if detail:
        table = f"{diag.schema_name}.{diag.table_name}." if diag.table_name else None
        risky = secrets is None or any(name in detail for name in secrets.names)
        if secrets is not None and table and "Failing row contains" in detail:
            risky = risky or any(q.startswith(table) for q in secrets.qualified)
        text += "\n" + (
            "(detail hidden: it may show the value of a secret column)" if risky else detail
        )
    if diag.message_hint:
        text += "\nhint: " + diag.message_hint
    return scrub_secrets(text)


def foreign_links(
    table: catalog.Table, row: Mapping[str, Any]
) -> tuple[list[tuple[str, str, str | None]], list[tuple[str, str, str | None]]]:
    """Links from a row: to the rows it references, and to the rows that reference it (the
    referencing table filtered on its key columns). A secret column is never put in a link."""
    secret = {c.name for c in table.columns if c.secret}
    out: list[tuple[str, str, str | None]] = []
    for fk in table.outgoing:
        values = [row[c] for c in fk.columns]
        if any(v is None for v in values):
            out.append((fk.name, "NULL", None))
            continue
        if secret & set(fk.columns):
            out.append((fk.name, f"{fk.ref_table} (through a secret column)", None))
            continue
        pairs = dict(zip(fk.ref_columns, map(text_of, values), strict=True))
        label = f"{fk.ref_table} ({', '.join(fk.ref_columns)} = {', '.join(pairs.values())})"
        href = (
            row_link(fk.ref_table, pairs)
            if fk.ref_is_primary_key
            else url(f"/tables/{fk.ref_table}", {f"f.{k}": v for k, v in pairs.items()})
        )
        out.append((fk.name, label, href))
    into: list[tuple[str, str, str | None]] = []
    for fk in table.incoming:
        values = [row[c] for c in fk.ref_columns]
        if any(v is None for v in values) or secret & set(fk.ref_columns):
            continue
        pairs = dict(zip(fk.columns, map(text_of, values), strict=True))
        label = f"{fk.table} where {', '.join(f'{k} = {v}' for k, v in pairs.items())}"
        into.append(
            (fk.name, label, url(f"/tables/{fk.table}", {f"f.{k}": v for k, v in pairs.items()}))
        )
    return out, into


def _with_as(href: str | None, acting_user: str) -> str | None:
    if href is None:
        return None
    return href + ("&" if "?" in href else "?") + urlencode({"as": acting_user})


class Pages:
    """The request handlers (each runs in Starlette's thread pool: psycopg is sync here)."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self.env = _environment()

    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> Response:
        context.setdefault("studio", self.studio)
        context.setdefault("target", describe_target(self.studio.conninfo))
        context.setdefault("local", is_local(self.studio.conninfo))
        context["path"] = request.url.path
        html = self.env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status)

    def failed(self, request: Request, status: int, message: str) -> Response:
        return self.render(request, "error.html", status, message=message)

    # -- the landing page and tables ----------------------------------------------------------

    def home(self, request: Request) -> Response:
        with self.studio.connection() as conn:
            tables = catalog.list_tables(conn)
        notes: list[str] = []
        try:
            count = len(named.sources(self.studio.settings.sql_dir))
        except PlainSQLError as exc:
            count = 0
            notes.append(scrub_secrets(str(exc)))
        return self.render(
            request,
            "home.html",
            tables=tables,
            query_count=count,
            url_shown=mask_url(self.studio.conninfo),
            notes=notes,
        )

    def tables(self, request: Request) -> Response:
        with self.studio.connection() as conn:
            found = catalog.list_tables(conn)
        return self.render(request, "tables.html", tables=found)

    def _table(
        self, conn: psycopg.Connection[Any], name: str
    ) -> tuple[catalog.Table | None, Secrets]:
        schema, _, table = name.partition(".")
        if not table:
            schema, table = "public", schema
        secrets = self.studio.secrets(conn)
        return catalog.load_table(conn, schema, table, secrets), secrets

    def table(self, request: Request) -> Response:
        name = request.path_params["name"]
        with self.studio.connection() as conn:
            table, secrets = self._table(conn, name)
            if table is None:
                return self.failed(request, 404, f"no table {name}")
            try:
                page_request = rows.parse_request(table, dict(request.query_params))
                page = rows.fetch_page(
                    conn, table, page_request, self.studio.as_user(page_request.acting_user)
                )
            except rows.StudioInputError as exc:
                return self.render(
                    request,
                    "table.html",
                    400,
                    table=table,
                    error=str(exc),
                    page=None,
                    request_state=None,
                )
            except psycopg.Error as exc:
                page_request = rows.parse_request(table, dict(request.query_params))
                return self.render(
                    request,
                    "table.html",
                    400,
                    table=table,
                    error=error_text(exc, secrets),
                    page=None,
                    request_state=page_request,
                )
        return self.render(
            request, "table.html", table=table, page=page, request_state=page_request, error=None
        )

    def row(self, request: Request) -> Response:
        name = request.path_params["name"]
        key = {k[2:]: v for k, v in request.query_params.items() if k.startswith("k.")}
        acting_user = acting_user_of(request.query_params.get("as"))
        texts = None
        with self.studio.connection() as conn:
            table, secrets = self._table(conn, name)
            if table is None:
                return self.failed(request, 404, f"no table {name}")
            try:
                found = rows.fetch_row(conn, table, key, self.studio.as_user(acting_user))
                if found is not None and self.studio.write and acting_user is None:
                    texts = staging.row_text(conn, table, key)
            except rows.StudioInputError as exc:
                return self.failed(request, 400, str(exc))
            except psycopg.Error as exc:
                return self.failed(request, 400, error_text(exc, secrets))
        if found is None:
            return self.failed(request, 404, f"no row of {table.qualified} with that key")
        links_out, links_in = foreign_links(table, found)
        if acting_user is not None:  # a link from here reads as the same user
            links_out = [(n, label, _with_as(h, acting_user)) for n, label, h in links_out]
            links_in = [(n, label, _with_as(h, acting_user)) for n, label, h in links_in]
        return self.render(
            request,
            "row.html",
            table=table,
            row=found,
            key=key,
            links_out=links_out,
            links_in=links_in,
            acting_user=acting_user,
            texts=texts,
        )

    # -- named queries -------------------------------------------------------------------------

    def queries(self, request: Request) -> Response:
        try:
            found = named.sources(self.studio.settings.sql_dir)
        except PlainSQLError as exc:
            return self.failed(request, 500, scrub_secrets(str(exc)))
        groups: dict[str, list[Any]] = {}
        for source in found.values():
            groups.setdefault(source.name.rpartition(".")[0] or "(top level)", []).append(source)
        return self.render(
            request,
            "queries.html",
            groups=groups,
            operations=named.OPERATIONS,
            where=lambda s: s.where(self.studio.settings.project_dir),
        )

    def query(self, request: Request) -> Response:
        return self._query(request, None)

    async def run(self, request: Request) -> Response:
        # The studio's forms are urlencoded: parsed here, no multipart library needed.
        body = (await request.body()).decode("utf-8", errors="replace")
        values = dict(parse_qsl(body, keep_blank_values=True))
        return await run_in_threadpool(self._query, request, values)

    def _query(self, request: Request, values: dict[str, str] | None) -> Response:
        name = request.path_params["name"]
        try:
            found = named.sources(self.studio.settings.sql_dir)
        except PlainSQLError as exc:
            return self.failed(request, 500, scrub_secrets(str(exc)))
        source = found.get(name)
        if source is None:
            return self.failed(
                request, 404, f"no query named {name} in {self.studio.settings.sql_path}/"
            )
        result = None
        error = None
        status = 200
        form = values or {}
        acting_user = acting_user_of(form.get("studio.as", request.query_params.get("as")))
        action = form.get("studio.action", "run")
        analyze = form.get("studio.analyze") == "1"
        plan = generic = None
        with self.studio.connection() as conn:
            secrets = self.studio.secrets(conn)
            try:
                fields = named.describe_params(conn, source)
            except psycopg.Error as exc:
                fields = [named.ParamField(p, "?", "text") for p in source.params]
                error = "the server cannot prepare this query: " + error_text(exc, secrets)
                status = 400
            stats = named.query_stats(conn, source)
            if values is not None and error is None:
                typed = {f.name: named.form_value(f, values.get(f.name)) for f in fields}
                try:
                    if action == "explain":
                        plan = plans.custom_plan(
                            conn,
                            self.studio.settings,
                            source,
                            typed,
                            acting_user=acting_user,
                            analyze=analyze,
                            write=self.studio.write,
                        )
                        generic = plans.generic_plan(
                            conn, self.studio.settings, source, acting_user=acting_user
                        )
                    else:
                        result = named.run_query(
                            conn,
                            self.studio.settings,
                            source,
                            typed,
                            secrets,
                            write=self.studio.write,
                            acting_user=acting_user,
                        )
                except rows.StudioInputError as exc:
                    error = str(exc)
                    status = 403 if isinstance(exc, rows.NeedsWrite) else 400
                except psycopg.Error as exc:
                    error = error_text(exc, secrets)
                    status = 400
        return self.render(
            request,
            "query.html",
            status,
            source=source,
            fields=fields,
            values=form,
            result=result,
            error=error,
            stats=stats,
            operation=named.OPERATIONS.get(source.operation, ""),
            where=source.where(self.studio.settings.project_dir),
            written=named.as_written(source),
            acting_user=acting_user,
            analyze=analyze,
            plan=plan,
            generic=generic,
            same_shape=generic is not None
            and plan is not None
            and generic.root.shape == plan.root.shape,
            writes=plans.writes(source),
        )

    # -- staged edits (--write) ----------------------------------------------------------------

    NO_WRITE = (
        "staged edits need `plainsql studio --write`: this studio was started read-only, "
        "nothing is staged or written"
    )

    async def _form(self, request: Request) -> dict[str, str]:
        body = (await request.body()).decode("utf-8", errors="replace")
        return dict(parse_qsl(body, keep_blank_values=True))

    def staged(
        self,
        request: Request,
        status: int = 200,
        *,
        notice: str | None = None,
        error: str | None = None,
        failed: int | None = None,
    ) -> Response:
        edits, version = self.studio.staged.edits()
        with self.studio.connection() as conn:
            shown = [(edit, *edit.shown(conn)) for edit in edits]
        return self.render(
            request,
            "staged.html",
            status,
            shown=shown,
            version=version,
            notice=notice,
            error=error,
            failed=failed,
        )

    async def stage(self, request: Request) -> Response:
        return await run_in_threadpool(self._stage, request, await self._form(request))

    def _stage(self, request: Request, form: dict[str, str]) -> Response:
        if not self.studio.write:
            return self.failed(request, 403, self.NO_WRITE)
        name = form.get("table", "")
        with self.studio.connection() as conn:
            table, secrets = self._table(conn, name)
            if table is None:
                return self.failed(request, 404, f"no table {name}")
            try:
                kind, key, values = staging.edit_from_form(conn, table, form)
            except rows.StudioInputError as exc:
                return self.failed(request, 400, str(exc))
            except psycopg.Error as exc:
                return self.failed(request, 400, error_text(exc, secrets))
        edit = self.studio.staged.add(kind, table, key, values)
        log.info("staged edit %d: %s on %s", edit.number, kind, table.qualified)
        return RedirectResponse("/staged", status_code=303)

    async def commit(self, request: Request) -> Response:
        return await run_in_threadpool(self._commit, request, await self._form(request))

    def _commit(self, request: Request, form: dict[str, str]) -> Response:
        if not self.studio.write:
            return self.failed(request, 403, self.NO_WRITE)
        try:
            version = int(form.get("version", ""))
        except ValueError:
            return self.failed(request, 400, "a commit names the version of the staged edits")
        with self.studio.connection() as conn:
            secrets = self.studio.secrets(conn)
            try:
                count = self.studio.staged.commit(conn, self.studio.settings, version)
            except staging.StagedEditFailed as exc:
                cause = exc.__cause__
                detail = error_text(cause, secrets) if cause is not None else ""
                number = exc.edit.number if exc.edit is not None else None
                log.info("staged edits refused at edit %s: nothing written", number or "COMMIT")
                message = f"{exc}\n{detail}".strip()
                return self.staged(request, 409, error=message, failed=number)
            except rows.StudioInputError as exc:
                return self.staged(request, 409, error=str(exc))
        log.info("%d staged edits committed", count)
        return self.staged(
            request, notice=f"{count} edit{'s' if count != 1 else ''} committed in one transaction"
        )

    async def discard(self, request: Request) -> Response:
        form = await self._form(request)
        if not self.studio.write:
            return self.failed(request, 403, self.NO_WRITE)
        which = form.get("edit", "all")
        self.studio.staged.discard(
            None if which == "all" else int(which) if which.isdigit() else -1
        )
        return RedirectResponse("/staged", status_code=303)

    # -- migrations ----------------------------------------------------------------------------

    def migrations(self, request: Request) -> Response:
        from plainsql.migrate.runner import Migrator

        with Migrator(self.studio.settings, self.studio.conninfo) as migrator:
            states = migrator.status()
            missing = migrator.missing_files()
            invalid = migrator.ledger.invalid_indexes()
            files = {m.id: m for m in migrator.files}
        return self.render(
            request,
            "migrations.html",
            states=states,
            missing=missing,
            invalid=invalid,
            files=files,
            shown=self.studio.settings.shown,
        )

    def drift(self, request: Request) -> Response:
        from plainsql.migrate.drift import find_drift

        try:
            report = find_drift(self.studio.settings, self.studio.conninfo)
        except PlainSQLError as exc:
            return self.failed(request, 500, scrub_secrets(str(exc)))
        return self.render(request, "drift.html", report=report)


def create_app(studio: Studio, *, token: str, port: int, extra_hosts: tuple[str, ...] = ()) -> Gate:
    """The studio as an ASGI application, behind its gate (token, Host allowlist, same-site)."""
    pages = Pages(studio)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with open_pool(studio.settings, studio.conninfo, name="plainsql-studio") as pool:
            studio.pool = pool
            try:
                yield
            finally:
                studio.pool = None

    routes = [
        Route("/", pages.home),
        Route("/tables", pages.tables),
        Route("/tables/{name}", pages.table),
        Route("/tables/{name}/row", pages.row),
        Route("/queries", pages.queries),
        Route("/queries/{name}", pages.query, methods=["GET"]),
        Route("/queries/{name}", pages.run, methods=["POST"]),
        Route("/staged", pages.staged, methods=["GET"]),
        Route("/staged", pages.stage, methods=["POST"]),
        Route("/staged/commit", pages.commit, methods=["POST"]),
        Route("/staged/discard", pages.discard, methods=["POST"]),
        Route("/migrations", pages.migrations),
        Route("/migrations/drift", pages.drift),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    return Gate(app, token=token, port=port, hosts=allowed_hosts(port, extra_hosts))
