from morket_scraper.cli import app

app()
