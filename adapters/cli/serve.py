"""The `serve` command: the web app on this machine, under gunicorn (or Flask's development
server with --dev)."""

from __future__ import annotations

import dataclasses
import signal
from typing import Any

import click

from adapters import collector, secret_key
from adapters.bootstrap import bootstrap
from adapters.cli.common import BoundedNumber, Context, UsageProblem, cli, command, redacted
from adapters.settings import MAX_WEB_THREADS, MAX_WEB_TIMEOUT, MAX_WEB_WORKERS, Settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=BoundedNumber(1, 65535))
@click.option("--workers", type=BoundedNumber(1, MAX_WEB_WORKERS), default=None,
              help="Worker processes [$PATHWAYS_WEB_WORKERS; default: 1 on SQLite, one per "
                   "core on PostgreSQL].")
@click.option("--threads", type=BoundedNumber(1, MAX_WEB_THREADS), default=None,
              help="Threads per worker [$PATHWAYS_WEB_THREADS; default 4].")
@click.option("--timeout", type=BoundedNumber(1, MAX_WEB_TIMEOUT), default=None,
              help="Seconds a request may take before its worker is restarted "
                   "[$PATHWAYS_WEB_TIMEOUT; default 60].")
@click.option("--dev", is_flag=True,
              help="Flask's development server instead (one process; not for production).")
@command
def serve(ctx: Context, host: str, port: int, workers: int | None, threads: int | None,
          timeout: int | None, dev: bool) -> None:
    """Serve the web app: pages, /api/v1 and /health. Stops gracefully on SIGTERM or Ctrl-C."""
    if dev and (workers, threads, timeout) != (None, None, None):
        raise UsageProblem("--workers, --threads and --timeout are the production server's: "
                           "drop them or --dev", details={"fields": {"dev": [
                               "not with --workers, --threads or --timeout"]}})
    settings = _settings(ctx, workers, threads, timeout)
    from web import load_definitions

    load_definitions(ctx.app)  # parsed once here: the workers forked from this process share
    ctx.app.close()  # the schema is brought up to date here, once, before any worker starts
    # Plain HTTP on this machine only: no browser would keep a Secure cookie from some of
    # them, and nothing leaves the machine. Anywhere else cookies stay Secure (use HTTPS).
    config: dict[str, Any] | None = {"SESSION_COOKIE_SECURE": False} if host in LOOPBACK \
        else None
    where = f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
    if dev:
        click.echo(f"Pathways (development server) on {where} (database "
                   f"{redacted(settings.database_url)})", err=True)
        app = long_lived_app(settings, config)
        signal.signal(signal.SIGTERM, _interrupt)  # stop as on Ctrl-C: exit 0
        app.run(host=host, port=port, threaded=True)
        return
    _serve_production(settings, config, host, port, where)


def _interrupt(_signal: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # werkzeug's server stops on it and closes its socket


def _settings(ctx: Context, workers: int | None, threads: int | None,
              timeout: int | None) -> Settings:
    """The settings with the command line's choices and the secret key every process uses
    (made and kept now if none is configured: adapters.secret_key)."""
    settings = ctx.app.settings
    web = dataclasses.replace(
        settings.web, workers=workers if workers is not None else settings.web.workers,
        threads=threads or settings.web.threads, timeout=timeout or settings.web.timeout)
    return dataclasses.replace(settings, web=web, secret_key=secret_key.secret_key(settings))


def serving_app(settings: Settings, config: dict[str, Any] | None) -> Any:
    """The app as a server runs it: warmed up before its first request (web.warm_up)."""
    from web import create_app, warm_up

    app = create_app(bootstrap(settings), test_config=config)
    warm_up(app)
    return app


def long_lived_app(settings: Settings, config: dict[str, Any] | None) -> Any:
    """serving_app, in a process that will serve it for hours: the garbage collector then
    leaves what it loaded out of its collections (adapters.collector)."""
    app = serving_app(settings, config)
    collector.settle_for_serving()
    return app


def _serve_production(settings: Settings, config: dict[str, Any] | None, host: str,
                      port: int, where: str) -> None:
    from adapters.web_server import ServerOptions, serve
    from engine.outcomes.estimates import load_libraries

    load_libraries()  # imported once here, shared by the workers forked from this process
    import web  # noqa: F401  (likewise: every worker builds its app from these modules)

    options = ServerOptions(host=host, port=port,
                            workers=settings.web.workers_for(settings.database_url),
                            threads=settings.web.threads, timeout=settings.web.timeout)
    click.echo(f"Pathways on {where} ({options.workers} worker(s) x {options.threads} "
               f"thread(s); database {redacted(settings.database_url)})", err=True)
    serve(lambda: long_lived_app(settings, config), options)
