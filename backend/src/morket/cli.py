"""The `morket` command line."""

from __future__ import annotations

import asyncio
import os
import sys

import typer

from morket.core.config import SettingsError, load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Morket: a self-hostable GTM data engine.")
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
app.add_typer(db_app, name="db")


def _settings_or_exit() -> None:
    try:
        load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@app.command()
def api(host: str = "127.0.0.1", port: int = typer.Option(None, help="default: $PORT or 8000")) -> None:
    """Serve the HTTP API (and the built web UI)."""
    import uvicorn

    from morket.core.logging import configure_logging

    _settings_or_exit()
    settings = load_settings()
    configure_logging(settings.log_level)
    uvicorn.run(
        "morket.app:create_app",
        factory=True,
        host=host,
        port=port or settings.port,
        log_config=None,
        proxy_headers=False,
        access_log=False,
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from morket.devstack import database

    url = os.environ.get("DATABASE_URL")
    if not url:
        typer.echo("DATABASE_URL is not set", err=True)
        raise typer.Exit(2)
    database.ensure_database(url)
    database.upgrade(url, revision)
    typer.echo(f"database at {revision}")


@app.command("seed-demo")
def seed_demo() -> None:
    """Create the demo user and workspace used by `make run` (idempotent)."""
    from morket.devstack.seed import seed_demo as run_seed

    _settings_or_exit()
    asyncio.run(run_seed(load_settings()))


@app.command()
def dev(port: int = typer.Option(8000, envvar="PORT")) -> None:
    """Run the whole product locally (what `make run` calls)."""
    from morket.devstack.local import LocalStack

    sys.exit(LocalStack(port=port).run())


if __name__ == "__main__":
    app()
