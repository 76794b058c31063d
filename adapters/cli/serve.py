"""The `serve` command: the web app on this machine."""

from __future__ import annotations

import click

from adapters.cli.common import BoundedNumber, Context, cli, command, redacted


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=BoundedNumber(1, 65535))
@command
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve the web app."""
    from web import create_app

    loopback = host in ("127.0.0.1", "localhost", "::1")
    # Plain HTTP on this machine only: no browser would keep a Secure cookie from some of
    # them, and nothing leaves the machine. Anywhere else cookies stay Secure (use HTTPS).
    app = create_app(ctx.app, test_config={"SESSION_COOKIE_SECURE": False} if loopback
                     else None)
    click.echo(f"Pathways on http://{host}:{port}/ (database "
               f"{redacted(ctx.app.settings.database_url)})", err=True)
    app.run(host=host, port=port, threaded=True)
