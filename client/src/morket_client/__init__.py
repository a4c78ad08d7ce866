"""A typed Python client for the Morket API: `Morket` (sync) and `AsyncMorket`, over httpx.

from morket_client import Morket
with Morket(api_key="mk_...", base_url="http://127.0.0.1:8000") as m:
    table = m.create_table("Leads", [{"name": "email", "type": "email"}])
    m.add_rows(table["id"], [{"email": "ada@acme.com"}])
    for row in m.iter_rows(table["id"]):
        ...
"""

from morket_client.client import AsyncMorket, Morket, MorketError

__all__ = ["AsyncMorket", "Morket", "MorketError"]
