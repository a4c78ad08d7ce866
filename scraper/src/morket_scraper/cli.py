"""`morket-scraper` (and `morket scraper`): run the scraper service."""

from __future__ import annotations

import logging

import typer
import uvicorn

from morket_scraper.app import create_app
from morket_scraper.config import get_settings

app = typer.Typer(add_completion=False, help="Morket's scraper service.")


@app.command()
def serve(
    port: int = typer.Option(None, help="Port (default SCRAPER_PORT, 8001)"),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on"),
) -> None:
    """Start the scraper service."""
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The asyncio loop, not uvloop: Playwright drives its driver process through asyncio subprocesses.
    uvicorn.run(create_app(settings), host=host, port=port or settings.port, log_level="warning", loop="asyncio")


if __name__ == "__main__":
    app()
