"""Inbound webhook tables: a table receives JSON rows at its secret URL; the token is hashed,
rotatable and revocable; dedupe on a key; size and rate limits; accepted means stored."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from morket.app import create_app
from morket.core.config import Settings
from tests.conftest import make_settings
from tests.factories import TestUser, add_member, create_workspace, register

pytestmark = pytest.mark.usefixtures("clean_db")

COLUMNS = [
    {"name": "Email", "type": "email"},
    {"name": "Company", "type": "text"},
    {"name": "Employees", "type": "number"},
]


async def contacts(client: httpx.AsyncClient, user: TestUser, ws: str) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/workspaces/{ws}/tables", json={"name": "Inbound", "columns": COLUMNS}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    table: dict[str, Any] = response.json()["data"]
    table["col"] = {c["name"]: c["id"] for c in table["columns"]}
    table["url"] = f"/api/v1/workspaces/{ws}/tables/{table['id']}"
    return table


async def open_inbound(client: httpx.AsyncClient, user: TestUser, table: dict[str, Any], **body: Any) -> str:
    response = await client.post(f"{table['url']}/inbound", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["path"] == "/api/v1/inbound/" + data["token"]
    path: str = data["path"]
    return path


async def all_rows(client: httpx.AsyncClient, user: TestUser, table: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.get(f"{table['url']}/rows", params={"limit": 1000}, headers=user.headers)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


async def test_an_object_and_an_array_become_rows_by_column_name(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    ws = (await create_workspace(client, owner))["id"]
    table = await contacts(client, owner, ws)
    path = await open_inbound(client, owner, table)

    one = await client.post(path, json={"Email": "ada@acme.com", "company": "Acme", "utm": "x"})
    assert one.status_code == 201, one.text
    assert one.json()["data"]["inserted"] == 1 and one.json()["data"]["ignored_fields"] == ["utm"]
    many = await client.post(path, json=[{"Email": f"p{i}@acme.com", "Employees": i} for i in range(3)])
    assert many.status_code == 201 and many.json()["data"]["inserted"] == 3
    rows = await all_rows(client, owner, table)
    col = table["col"]
    assert [r["cells"][col["Email"]] for r in rows] == ["ada@acme.com", "p0@acme.com", "p1@acme.com", "p2@acme.com"]
    assert rows[0]["cells"][col["Company"]] == "Acme" and rows[3]["cells"][col["Employees"]] == 2
    history = await client.get(f"{table['url']}/rows/{rows[0]['id']}/history", headers=owner.headers)
    assert history.status_code == 200


async def test_a_configured_mapping_and_dedupe_on_a_key(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    ws = (await create_workspace(client, owner))["id"]
    table = await contacts(client, owner, ws)
    col = table["col"]
    path = await open_inbound(
        client, owner, table, mapping={"email": col["Email"], "org": col["Company"]}, key_column_id=col["Email"]
    )
    first = await client.post(path, json=[{"email": "a@x.com", "org": "X"}, {"email": "b@x.com", "org": "B"}])
    assert first.status_code == 201 and first.json()["data"]["inserted"] == 2
    again = await client.post(path, json={"email": "a@x.com", "org": "X Corp", "Company": "ignored"})
    assert again.status_code == 201, again.text
    assert again.json()["data"] == {"inserted": 0, "updated": 1, "row_ids": [], "ignored_fields": ["Company"]}
    rows = await all_rows(client, owner, table)
    assert {r["cells"][col["Email"]]: r["cells"][col["Company"]] for r in rows} == {"a@x.com": "X Corp", "b@x.com": "B"}

    # A mapping naming a column of another table is refused.
    bad = await client.patch(f"{table['url']}/inbound", json={"mapping": {"e": ws}}, headers=owner.headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_column"
    cleared = await client.patch(f"{table['url']}/inbound", json={"key_column_id": None}, headers=owner.headers)
    assert cleared.status_code == 200 and cleared.json()["data"]["key_column_id"] is None
    assert cleared.json()["data"]["mapping"] is not None  # untouched


async def test_a_burst_of_concurrent_posts_loses_nothing_and_dedupes(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    ws = (await create_workspace(client, owner))["id"]
    table = await contacts(client, owner, ws)
    col = table["col"]
    path = await open_inbound(client, owner, table, key_column_id=col["Email"])
    # 60 posts at once: 50 distinct emails, 10 repeats of one of them.
    bodies = [{"Email": f"u{i}@burst.io", "Employees": i} for i in range(50)]
    bodies += [{"Email": "u7@burst.io", "Employees": 700 + i} for i in range(10)]
    answers = await asyncio.gather(*(client.post(path, json=b) for b in bodies))
    assert [a.status_code for a in answers] == [201] * 60
    rows = await all_rows(client, owner, table)
    emails = sorted(r["cells"][col["Email"]] for r in rows)
    assert emails == sorted(f"u{i}@burst.io" for i in range(50))  # every row, none twice
    assert sum(a.json()["data"]["inserted"] for a in answers) == 50
    assert sum(a.json()["data"]["updated"] for a in answers) == 10


async def test_rotate_and_revoke_end_the_old_token_at_once(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    owner, member, viewer = await register(client), await register(client), await register(client)
    ws = (await create_workspace(client, owner))["id"]
    await add_member(client, owner, ws, member, "member")
    await add_member(client, owner, ws, viewer, "viewer")
    table = await contacts(client, owner, ws)
    assert (await client.post(f"{table['url']}/inbound", json={}, headers=viewer.headers)).status_code == 403
    path = await open_inbound(client, member, table)
    token = path.rsplit("/", 1)[1]
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT token_hash, token_prefix FROM inbound_endpoints"))).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and token.startswith(stored.token_prefix)
    again = await client.post(f"{table['url']}/inbound", json={}, headers=member.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "inbound_exists"
    seen = await client.get(f"{table['url']}/inbound", headers=viewer.headers)
    assert seen.status_code == 200 and token not in seen.text

    rotated = await client.post(f"{table['url']}/inbound/rotate", headers=member.headers)
    assert rotated.status_code == 200
    new_path = rotated.json()["data"]["path"]
    old = await client.post(path, json={"Email": "a@b.co"})
    assert old.status_code == 404
    assert (await client.post(new_path, json={"Email": "a@b.co"})).status_code == 201

    revoked = await client.delete(f"{table['url']}/inbound", headers=member.headers)
    assert revoked.status_code == 200 and revoked.json()["data"]["revoked_at"] is not None
    gone = await client.post(new_path, json={"Email": "c@b.co"})
    assert gone.status_code == 404 and gone.json()["success"] is False
    assert len(await all_rows(client, owner, table)) == 1
    # After a revocation a new URL can be made.
    assert (await client.post(f"{table['url']}/inbound", json={}, headers=member.headers)).status_code == 201


async def test_bad_json_bad_values_and_oversized_bodies_store_nothing(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    ws = (await create_workspace(client, owner))["id"]
    table = await contacts(client, owner, ws)
    path = await open_inbound(client, owner, table)
    headers = {"Content-Type": "application/json"}
    cases = {
        b'{"Email": "a@b.co"': "invalid_json",
        b"NaN": "invalid_json",
        b'"just a string"': "invalid_payload",
        b"[]": "invalid_payload",
        b'[{"Email": "a@b.co"}, 3]': "invalid_rows",
        b'{"Company": "nul \\u0000"}': "invalid_rows",
        b'[{"Email": "ok@b.co"}, {"Employees": "many"}]': "invalid_rows",
        b"\xff\xfe": "invalid_json",
    }
    for body, code in cases.items():
        answer = await client.post(path, content=body, headers=headers)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error"]["code"] == code, (body, answer.text)
    too_many = await client.post(path, json=[{"Email": "x@y.z"}] * 1001)
    assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "too_many_rows"
    huge = await client.post(path, content=b'{"Company": "' + b"x" * (1 << 20) + b'"}', headers=headers)
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "payload_too_large"
    assert await all_rows(client, owner, table) == []
    unknown = await client.post("/api/v1/inbound/minb_not-a-real-token", json={"Email": "a@b.co"})
    assert unknown.status_code == 404


async def test_above_the_tables_rate_429_with_retry_after(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    ws = (await create_workspace(client, owner))["id"]
    table = await contacts(client, owner, ws)
    other = await contacts(client, owner, ws)
    path = await open_inbound(client, owner, table, rate_limit_per_minute=5)
    other_path = await open_inbound(client, owner, other, rate_limit_per_minute=5)
    for i in range(5):
        assert (await client.post(path, json={"Email": f"r{i}@rate.io"})).status_code == 201
    limited = await client.post(path, json={"Email": "over@rate.io"})
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "inbound_rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    assert (await client.post(other_path, json={"Email": "a@rate.io"})).status_code == 201  # per table
    assert len(await all_rows(client, owner, table)) == 5


async def test_inbound_ignores_the_per_ip_limit_and_keeps_the_token_out_of_logs(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(database_url, rate_limit_general_per_minute=4, access_log=True))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        owner = await register(client)
        ws = (await create_workspace(client, owner))["id"]
        table = await contacts(client, owner, ws)
        path = await open_inbound(client, owner, table)
        token = path.rsplit("/", 1)[1]
        caplog.clear()
        with caplog.at_level("INFO", logger="morket.access"):
            for i in range(8):  # twice the per-IP budget, which setting up used up
                assert (await client.post(path, json={"Email": f"n{i}@ip.io"})).status_code == 201
        paths = [getattr(r, "path", "") for r in caplog.records if r.name == "morket.access"]
        assert paths == ["/api/v1/inbound/<token>"] * 8 and not any(token in p for p in paths)
    await app.state.engine.dispose()


def test_settings_defaults(settings: Settings) -> None:
    assert settings.inbound_max_rows == 1000 and settings.inbound_rate_limit_per_minute == 6000


async def test_concurrent_posts_share_a_transaction_and_keep_their_own_outcome(database_url: str) -> None:
    """The batcher groups concurrent POSTs; a payload with a bad cell is refused alone (422) while
    the others in its group are stored, and each 201 carries its own row."""
    app = create_app(make_settings(database_url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        owner = await register(client)
        ws = (await create_workspace(client, owner))["id"]
        table = await contacts(client, owner, ws)
        col = table["col"]
        path = await open_inbound(client, owner, table)
        assert (await client.post(path, json={"Email": "warm@group.io"})).status_code == 201  # token now known
        batcher = app.state.inbound_batcher
        before = batcher.groups
        bodies: list[dict[str, Any]] = [{"Email": f"g{i}@group.io", "Employees": i} for i in range(30)]
        bodies[17] = {"Email": "bad@group.io", "Employees": "many"}
        answers = await asyncio.gather(*(client.post(path, json=b) for b in bodies))
        assert batcher.groups - before < 30  # grouped: fewer transactions than posts
        codes = [a.status_code for a in answers]
        assert codes == [201] * 17 + [422] + [201] * 12, codes
        assert answers[17].json()["error"]["code"] == "invalid_rows"
        by_id = {r["id"]: r["cells"] for r in await all_rows(client, owner, table)}
        assert len(by_id) == 30  # the warm-up row and 29 of the group; nothing of the bad one
        for i, answer in enumerate(answers):
            if i == 17:
                continue
            data = answer.json()["data"]
            assert data["inserted"] == 1 and len(data["row_ids"]) == 1
            assert by_id[data["row_ids"][0]][col["Email"]] == f"g{i}@group.io"
    await app.state.engine.dispose()


async def test_a_failed_commit_answers_an_error_to_every_sender_and_stores_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    owner = await register(client)
    ws = (await create_workspace(client, owner))["id"]
    table = await contacts(client, owner, ws)
    path = await open_inbound(client, owner, table)
    physical = f'tabledata."t_{table["id"].replace("-", "")}"'
    async with engine.begin() as conn:  # a deferred check: the rows are written, the COMMIT fails
        await conn.execute(
            text(
                "CREATE FUNCTION inbound_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$"
            )
        )
        await conn.execute(
            text(
                f"CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON {physical} DEFERRABLE INITIALLY DEFERRED "
                "FOR EACH ROW EXECUTE FUNCTION inbound_refuse()"
            )
        )
    try:
        answers = await asyncio.gather(*(client.post(path, json={"Email": f"c{i}@commit.io"}) for i in range(12)))
        assert [a.status_code for a in answers] == [503] * 12
        assert {a.json()["error"]["code"] for a in answers} == {"inbound_unavailable"}
        assert await all_rows(client, owner, table) == []
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TRIGGER refuse ON {physical}"))
            await conn.execute(text("DROP FUNCTION inbound_refuse()"))
    assert (await client.post(path, json={"Email": "after@commit.io"})).status_code == 201


async def test_concurrent_senders_sharing_a_key_each_hear_their_own_outcome(database_url: str) -> None:
    """A group with a dedupe key is one upsert: payloads that share a key apply in arrival order
    (the last value wins, cells a later payload leaves out are kept), the first to bring a new key
    is told it inserted the row, every later one that it updated it, keyless rows are inserted."""
    app = create_app(make_settings(database_url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        owner = await register(client)
        ws = (await create_workspace(client, owner))["id"]
        table = await contacts(client, owner, ws)
        col = table["col"]
        path = await open_inbound(client, owner, table, key_column_id=col["Email"])
        warm = await client.post(path, json={"Email": "old@key.io", "Employees": 1})
        assert warm.status_code == 201 and warm.json()["data"]["inserted"] == 1
        old_id = warm.json()["data"]["row_ids"][0]
        batcher = app.state.inbound_batcher
        async with AsyncSession(app.state.engine) as session:
            target = await batcher.target(session, path.rsplit("/", 1)[1])
        payloads: list[list[dict[str, Any]]] = [
            [{"Email": "new@key.io", "Employees": 10}],
            [{"Email": "old@key.io", "Employees": 20}],
            [{"Email": "new@key.io", "Employees": 30}],
            [{"Employees": 40}],  # no key: always a new row
            [{"Email": "new@key.io", "Company": "Acme"}, {"Email": "two@key.io", "Employees": 50}],
            [{"Email": "two@key.io", "Employees": 55}, {"Email": "two@key.io", "Employees": 56}],
            [{"Email": "new@key.io", "Employees": 60}],
        ]
        before = batcher.groups
        # Every submit queues its payload before the flusher runs: one group, in this order.
        answers = await asyncio.gather(*(batcher.submit(target, rows) for rows in payloads))
        assert batcher.groups - before == 1
        outcomes = [(a.inserted, a.updated, len(a.row_ids)) for a in answers]
        assert outcomes == [(1, 0, 1), (0, 1, 0), (0, 1, 0), (1, 0, 1), (1, 1, 1), (0, 1, 0), (0, 1, 0)]
        rows = {r["id"]: r["cells"] for r in await all_rows(client, owner, table)}
        assert len(rows) == 4  # old, new, two and the keyless row: no key stored twice
        assert rows[old_id][col["Employees"]] == 20
        new = rows[answers[0].row_ids[0]]
        assert (new[col["Email"]], new[col["Employees"]], new[col["Company"]]) == ("new@key.io", 60, "Acme")
        assert rows[answers[3].row_ids[0]][col["Employees"]] == 40
        assert rows[answers[4].row_ids[0]][col["Email"]] == "two@key.io"
        assert rows[answers[4].row_ids[0]][col["Employees"]] == 56
    await app.state.engine.dispose()
