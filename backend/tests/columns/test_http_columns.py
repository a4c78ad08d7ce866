"""HTTP API columns on the real stack: a JSON API on a real socket (tests/columns/api_server.py),
the Temporal dev server and an in-process worker, PostgreSQL. Cells get values, states and
provenance; the rate limit holds at the server; secrets come from the vault and never come back;
SSRF rules refuse private destinations; nothing is charged; roles and tenants."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
from morket_sandbox.server import SandboxServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.columns.api_server import COMPANIES, ApiServer
from tests.factories import TestUser, add_member, create_workspace, register

SECRET = "sk-live-0123456789abcdef"
FINAL = {"completed", "cancelled", "failed"}


class Sheet:
    def __init__(self, client: httpx.AsyncClient, user: TestUser, ws: str, table: dict[str, Any]) -> None:
        self.client = client
        self.user = user
        self.ws = ws
        self.table = table
        self.col = {c["name"]: c["id"] for c in table["columns"]}

    def url(self, path: str = "") -> str:
        return f"/api/v1/workspaces/{self.ws}/tables/{self.table['id']}{path}"

    async def add_http(self, name: str = "Employees", column_type: str = "number", **config: Any) -> httpx.Response:
        response = await self.client.post(
            self.url("/columns"),
            json={"name": name, "type": column_type, "kind": "http", "config": config},
            headers=self.user.headers,
        )
        if response.status_code == 201:
            self.col[name] = response.json()["data"]["id"]
        return response

    async def rows(self) -> list[dict[str, Any]]:
        response = await self.client.get(self.url("/rows"), params={"limit": 1000}, headers=self.user.headers)
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()["data"]
        return rows

    async def start(
        self, column: str, body: dict[str, Any] | None = None, user: TestUser | None = None
    ) -> httpx.Response:
        return await self.client.post(
            self.url(f"/columns/{self.col[column]}/http-runs"), json=body or {}, headers=(user or self.user).headers
        )

    async def run(self, run_id: str, user: TestUser | None = None) -> httpx.Response:
        return await self.client.get(
            f"/api/v1/workspaces/{self.ws}/http-runs/{run_id}", headers=(user or self.user).headers
        )

    async def wait(self, run_id: str, until: Any = None, timeout: float = 60.0) -> dict[str, Any]:
        """The run once `until(run)` holds (default: a final status), polled with a deadline."""
        check = until or (lambda r: r["status"] in FINAL)
        deadline = time.monotonic() + timeout
        while True:
            response = await self.run(run_id)
            assert response.status_code == 200, response.text
            run: dict[str, Any] = response.json()["data"]
            if check(run):
                return run
            assert time.monotonic() < deadline, f"the run did not get there in {timeout}s: {run}"
            await asyncio.sleep(0.1)


async def _sheet(client: httpx.AsyncClient, domains: list[str | None], secret: bool = True) -> Sheet:
    user = await register(client)
    ws = (await create_workspace(client, user))["id"]
    columns = [{"name": "Domain", "type": "text"}, {"name": "Seats", "type": "number"}]
    response = await client.post(
        f"/api/v1/workspaces/{ws}/tables", json={"name": "Leads", "columns": columns}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    sheet = Sheet(client, user, ws, response.json()["data"])
    if domains:
        rows = [{sheet.col["Domain"]: d, sheet.col["Seats"]: i + 1} for i, d in enumerate(domains)]
        added = await client.post(sheet.url("/rows"), json={"rows": rows}, headers=user.headers)
        assert added.status_code == 201, added.text
    if secret:
        stored = await client.post(
            f"/api/v1/workspaces/{ws}/credentials",
            json={"provider": "http", "name": "example-key", "api_key": SECRET},
            headers=user.headers,
        )
        assert stored.status_code == 201, stored.text
    return sheet


def _company_config(server: ApiServer, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "url": f"{server.url}/companies/{{{{Domain}}}}",
        "headers": {"Authorization": "Bearer {{secret:example-key}}", "Accept": "application/json"},
        "extract": "$.data.employees",
        "rate_limit_per_second": 50,
        "timeout_s": 1,
    }
    config.update(extra)
    return config


async def _ledger_rows(sessions: async_sessionmaker[AsyncSession], ws: str) -> int:
    async with sessions() as session:
        result = await session.execute(
            text("SELECT count(*) FROM credit_transactions WHERE workspace_id = :w"), {"w": ws}
        )
        return int(result.scalar_one())


async def test_run_fills_cells_with_states_provenance_and_history(
    api: httpx.AsyncClient, worker: None, api_server: ApiServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    domains: list[str | None] = ["acme.com", "nobody.org", "fail.me", "slow.me", "text.me", "initech.io", None]
    sheet = await _sheet(api, domains)
    ledger_before = await _ledger_rows(sessions, sheet.ws)
    created = await sheet.add_http(**_company_config(api_server))
    assert created.status_code == 201, created.text
    stored = created.json()["data"]["config"]
    assert stored["refs"] == {"Domain": sheet.col["Domain"]}
    assert stored["headers"]["Authorization"] == "Bearer {{secret:example-key}}"  # the reference, never the secret

    started = await sheet.start("Employees")
    assert started.status_code == 201, started.text
    run = started.json()["data"]
    assert run["row_count"] == 6 and run["rows_missing_inputs"] == 1 and run["status"] == "queued"
    queued = [r for r in await sheet.rows() if sheet.col["Employees"] in r["meta"]]
    assert {r["meta"][sheet.col["Employees"]]["state"] for r in queued} <= {
        "queued",
        "running",
        "done",
        "no_data",
        "error",
    }
    done = await sheet.wait(run["id"])
    assert done["status"] == "completed", done
    assert (done["done_count"], done["no_data_count"], done["error_count"]) == (2, 1, 3)

    employees = sheet.col["Employees"]
    by_domain = {r["cells"][sheet.col["Domain"]]: r for r in await sheet.rows()}
    for domain in ("acme.com", "initech.io"):
        row = by_domain[domain]
        assert row["cells"][employees] == COMPANIES[domain]
        meta = row["meta"][employees]
        assert meta["state"] == "done" and meta["host"] == "127.0.0.1" and meta["status"] == 200
        assert meta["run_id"] == run["id"] and meta["at"]
    assert by_domain["nobody.org"]["meta"][employees]["state"] == "no_data"
    assert by_domain["nobody.org"]["meta"][employees]["reason"] == "the extract path found nothing"
    assert by_domain["fail.me"]["meta"][employees] | {"at": None} == {
        "state": "error",
        "reason": "HTTP 500",
        "status": 500,
        "host": "127.0.0.1",
        "run_id": run["id"],
        "at": None,
    }
    assert by_domain["slow.me"]["meta"][employees]["reason"] == "timeout after 1 s"
    assert by_domain["text.me"]["meta"][employees]["reason"] == "the response is not JSON"
    assert employees not in by_domain[None]["meta"]  # no domain: never asked
    for domain in ("nobody.org", "fail.me", "slow.me", "text.me"):
        assert by_domain[domain]["cells"][employees] is None

    # The server got the secret from the vault; the API never shows it.
    calls = [s for s in api_server.seen if s.path.startswith("/companies/") and s.path.endswith("acme.com")]
    assert calls and calls[-1].headers["authorization"] == f"Bearer {SECRET}"
    for response in (
        await api.get(sheet.url(), headers=sheet.user.headers),
        await sheet.run(run["id"]),
        await api.get(sheet.url("/rows"), headers=sheet.user.headers),
        await api.get(f"/api/v1/workspaces/{sheet.ws}/credentials", headers=sheet.user.headers),
    ):
        assert response.status_code == 200 and SECRET not in response.text

    # History keeps the earlier (empty) value, written by `http`; nothing was charged.
    history = await api.get(
        sheet.url(f"/rows/{by_domain['acme.com']['id']}/history"),
        params={"column_id": employees},
        headers=sheet.user.headers,
    )
    (entry,) = history.json()["data"]
    assert entry["source"] == "http" and entry["old_value"] is None and entry["new_value"] == 100
    assert await _ledger_rows(sessions, sheet.ws) == ledger_before

    # fill_empty (the default): a second run only asks for the rows still empty.
    before = len(api_server.seen)
    again = await sheet.start("Employees")
    assert again.json()["data"]["row_count"] == 4
    await sheet.wait(again.json()["data"]["id"])
    assert len(api_server.seen) - before == 4


async def test_post_body_renders_cells_with_their_json_types(
    api: httpx.AsyncClient, worker: None, api_server: ApiServer
) -> None:
    sheet = await _sheet(api, ["acme.com"])
    created = await sheet.add_http(
        "Echo",
        "text",
        method="POST",
        url=f"{api_server.url}/echo",
        headers={"X-Api-Key": "{{secret:example-key}}"},
        body={"domain": "{{Domain}}", "seats": "{{Seats}}", "note": "for {{ Domain }} ({{Seats}})", "fixed": [1, True]},
        extract="$.received",
        write_policy="overwrite",
    )
    assert created.status_code == 201, created.text
    run = (await sheet.start("Echo")).json()["data"]
    assert (await sheet.wait(run["id"]))["done_count"] == 1
    sent = next(s for s in reversed(api_server.seen) if s.path == "/echo")
    assert sent.body == {"domain": "acme.com", "seats": 1, "note": "for acme.com (1)", "fixed": [1, True]}
    assert sent.headers["x-api-key"] == SECRET and sent.headers["content-type"] == "application/json"
    (row,) = await sheet.rows()
    # A text column gets the extracted object as JSON text (key order is the stored config's).
    assert json.loads(row["cells"][sheet.col["Echo"]]) == sent.body


async def test_rate_limit_holds_across_the_run(api: httpx.AsyncClient, worker: None, api_server: ApiServer) -> None:
    rate, n = 4, 30  # chunks of rate x 5 = 20 rows: the limit must hold across the chunk boundary too
    sheet = await _sheet(api, [f"r{i}.example" for i in range(n)])
    assert (await sheet.add_http(**_company_config(api_server, rate_limit_per_second=rate))).status_code == 201
    before = len(api_server.seen)
    run = (await sheet.start("Employees")).json()["data"]
    done = await sheet.wait(run["id"], timeout=90)
    assert done["status"] == "completed" and done["no_data_count"] == n
    times = sorted(s.at for s in api_server.seen[before:])
    assert len(times) == n
    # Requests per second as the server saw them: in any one-second window, at most `rate`.
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= rate, busiest
    assert times[-1] - times[0] >= (n - 1) / rate * 0.9


async def test_cancel_stops_the_requests(api: httpx.AsyncClient, worker: None, api_server: ApiServer) -> None:
    sheet = await _sheet(api, [f"c{i}.example" for i in range(40)])
    assert (await sheet.add_http(**_company_config(api_server, rate_limit_per_second=2))).status_code == 201
    before = len(api_server.seen)
    run = (await sheet.start("Employees")).json()["data"]
    await sheet.wait(run["id"], until=lambda r: r["no_data_count"] >= 1 or len(api_server.seen) - before >= 3)
    cancel = await api.post(f"/api/v1/workspaces/{sheet.ws}/http-runs/{run['id']}/cancel", headers=sheet.user.headers)
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["data"]["cancel_requested_at"]
    done = await sheet.wait(run["id"])
    assert done["status"] == "cancelled"
    asked = len(api_server.seen) - before
    assert asked < 40
    states = [r["meta"][sheet.col["Employees"]]["state"] for r in await sheet.rows()]
    assert states.count("cancelled") == 40 - asked and states.count("no_data") == asked
    again = await api.post(f"/api/v1/workspaces/{sheet.ws}/http-runs/{run['id']}/cancel", headers=sheet.user.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "run_finished"


async def test_ssrf_rules_apply(
    api: httpx.AsyncClient, worker: None, api_server: ApiServer, sandbox: SandboxServer
) -> None:
    sheet = await _sheet(api, ["10.0.0.7", f"127.0.0.1:{sandbox.url.rsplit(':', 1)[1]}", "169.254.169.254"])
    # A literal private or metadata address is refused when the column is saved.
    for url in ("http://169.254.169.254/latest/meta-data", "http://10.1.2.3/x", "http://[fd00::1]/x"):
        response = await sheet.add_http(url=url)
        assert response.status_code == 422 and [d["field"] for d in response.json()["error"]["details"]] == [
            "config.url"
        ], response.text
    # A fixed loopback port that is not allowed: refused when the run starts, before anything.
    closed = await sheet.add_http("Closed", url="http://127.0.0.1:1/companies/{{Domain}}")
    assert closed.status_code == 201, closed.text
    refused = await sheet.start("Closed")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "destination_refused"
    assert all(sheet.col["Closed"] not in r["meta"] for r in await sheet.rows())
    # A host that comes from the cells is checked before each request: every cell refused.
    assert (await sheet.add_http("Hosts", url="http://{{Domain}}/latest")).status_code == 201
    before = len(api_server.seen)
    run = (await sheet.start("Hosts")).json()["data"]
    done = await sheet.wait(run["id"])
    assert done["error_count"] == 3 and len(api_server.seen) == before
    for row in await sheet.rows():
        assert row["meta"][sheet.col["Hosts"]]["reason"].startswith("refused: ")
    # Schemes and credentials in the URL.
    for url in ("ftp://example.com/x", "http://user:pw@example.com/x", "example.com/x"):
        assert (await sheet.add_http(url=url)).status_code == 422


def _fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return sorted(d["field"] for d in response.json()["error"]["details"])


async def test_config_is_validated(api: httpx.AsyncClient, api_server: ApiServer) -> None:
    sheet = await _sheet(api, [])
    base = _company_config(api_server)
    assert _fields(await sheet.add_http(**{**base, "url": f"{api_server.url}/{{{{Nope}}}}"})) == ["config"]
    assert _fields(await sheet.add_http(**{**base, "url": f"{api_server.url}/{{{{secret:example-key}}}}"})) == [
        "config.url"
    ]
    assert _fields(await sheet.add_http(**{**base, "headers": {"Authorization": "Bearer sk-in-clear"}})) == [
        "config.headers.Authorization"
    ]
    assert _fields(await sheet.add_http(**{**base, "headers": {"Authorization": "Bearer {{secret:other}}"}})) == [
        "config.headers.Authorization"
    ]
    assert _fields(await sheet.add_http(**{**base, "headers": {"Host": "evil"}})) == ["config.headers.Host"]
    assert _fields(await sheet.add_http(**{**base, "headers": {"X-A": "a\r\nX-B: b"}})) == ["config.headers.X-A"]
    bad_path = await sheet.add_http(**{**base, "extract": "$.data..x"})
    assert _fields(bad_path) == ["config.extract"] and bad_path.json()["error"]["details"][0]["offset"] == 6
    assert _fields(await sheet.add_http(**{**base, "body": {"a": 1}})) == ["config.body"]  # GET
    assert _fields(await sheet.add_http(**{**base, "method": "POST", "body": {"k": "{{secret:example-key}}"}})) == [
        "config.body"
    ]
    assert _fields(await sheet.add_http(**{**base, "rate_limit_per_second": 0})) == ["config.rate_limit_per_second"]
    assert _fields(await sheet.add_http(**{**base, "rate_limit_per_second": 51})) == ["config.rate_limit_per_second"]
    assert _fields(await sheet.add_http(**{**base, "timeout_s": 0})) == ["config.timeout_s"]
    assert _fields(await sheet.add_http(**{**base, "method": "TRACE"})) == ["config.method"]
    assert _fields(await sheet.add_http(**{**base, "write_policy": "sometimes"})) == ["config.write_policy"]
    only_if = {"conditions": [{"column_id": str(uuid.uuid4()), "operator": "is_empty"}]}
    assert _fields(await sheet.add_http(**{**base, "only_if": only_if})) == ["config.only_if.conditions.0"]
    ok = await sheet.add_http(**{**base, "extract": "$['data'].items[-1][*].email"})
    assert ok.status_code == 201, ok.text
    body = {"{{Domain}}": "{{ Domain }}", "seats": "{{Seats}}", "tags": ["at {{Domain}}", "{Domain} stays"]}
    posted = await sheet.add_http("Posted", **{**base, "method": "POST", "body": body})
    assert posted.status_code == 201, posted.text
    # A name a template cannot hold: the rename is refused, nothing changes.
    refused = await api.patch(
        sheet.url(f"/columns/{sheet.col['Domain']}"), json={"name": "Dom {x}"}, headers=sheet.user.headers
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "column_name_in_template", refused.text
    # Renaming a referenced column rewrites the templates with the new name (stored by id).
    renamed = await api.patch(
        sheet.url(f"/columns/{sheet.col['Domain']}"), json={"name": "Website"}, headers=sheet.user.headers
    )
    assert renamed.status_code == 200, renamed.text
    table = (await api.get(sheet.url(), headers=sheet.user.headers)).json()["data"]
    stored = {c["name"]: c["config"] for c in table["columns"]}
    assert stored["Employees"]["url"] == f"{api_server.url}/companies/{{{{Website}}}}"
    assert stored["Employees"]["refs"] == {"Website": sheet.col["Domain"]}
    assert stored["Employees"]["headers"]["Authorization"] == "Bearer {{secret:example-key}}"
    assert stored["Posted"]["body"] == {
        "{{Website}}": "{{Website}}",
        "seats": "{{Seats}}",
        "tags": ["at {{Website}}", "{Domain} stays"],
    }
    assert stored["Posted"]["refs"] == {"Website": sheet.col["Domain"], "Seats": sheet.col["Seats"]}
    # What was read can be saved back as it is.
    saved = await api.patch(
        sheet.url(f"/columns/{sheet.col['Employees']}"),
        json={"config": stored["Employees"]},
        headers=sheet.user.headers,
    )
    assert saved.status_code == 200, saved.text
    patched = await api.patch(
        sheet.url(f"/columns/{sheet.col['Employees']}"),
        json={"config": {**base, "timeout_s": 5}},
        headers=sheet.user.headers,
    )
    assert patched.status_code == 422  # the new config names {{Domain}}, which no longer exists


async def test_roles_tenants_and_bad_input(api: httpx.AsyncClient, worker: None, api_server: ApiServer) -> None:
    sheet = await _sheet(api, ["acme.com"])
    assert (await sheet.add_http(**_company_config(api_server))).status_code == 201
    viewer = await register(api)
    await add_member(api, sheet.user, sheet.ws, viewer, "viewer")
    as_viewer = Sheet(api, viewer, sheet.ws, sheet.table)
    as_viewer.col = sheet.col
    assert (await as_viewer.add_http("V", **_company_config(api_server))).status_code == 403
    assert (await as_viewer.start("Employees")).status_code == 403
    run = (await sheet.start("Employees")).json()["data"]
    assert (await sheet.run(run["id"], viewer)).status_code == 200  # viewers read
    cancel_url = f"/api/v1/workspaces/{sheet.ws}/http-runs/{run['id']}/cancel"
    assert (await api.post(cancel_url, headers=viewer.headers)).status_code == 403
    await sheet.wait(run["id"])
    # Another workspace's member: 404 on every route, through either workspace id.
    outsider = await register(api)
    other_ws = (await create_workspace(api, outsider))["id"]
    for ws in (sheet.ws, other_ws):
        assert (
            await api.get(f"/api/v1/workspaces/{ws}/http-runs/{run['id']}", headers=outsider.headers)
        ).status_code == 404
        cancel = await api.post(f"/api/v1/workspaces/{ws}/http-runs/{run['id']}/cancel", headers=outsider.headers)
        assert cancel.status_code == 404
        start = await api.post(
            f"/api/v1/workspaces/{ws}/tables/{sheet.table['id']}/columns/{sheet.col['Employees']}/http-runs",
            json={},
            headers=outsider.headers,
        )
        assert start.status_code == 404
    # Bad input: every answer is a clear 4xx, never a 500.
    assert (await sheet.start("Employees", {"row_ids": [0]})).status_code == 422
    assert (await sheet.start("Employees", {"row_ids": []})).status_code == 422
    assert (await sheet.start("Employees", {"surprise": 1})).status_code == 422
    bad_filter = {"filter": {"conditions": [{"column_id": sheet.col["Seats"], "operator": "contains", "value": []}]}}
    assert (await sheet.start("Employees", bad_filter)).status_code == 422
    not_http = await sheet.start("Domain")
    assert not_http.status_code == 422 and not_http.json()["error"]["code"] == "invalid_run"
    assert (await sheet.run(str(uuid.uuid4()))).status_code == 404
    assert (
        await api.get(f"/api/v1/workspaces/{sheet.ws}/http-runs/nope", headers=sheet.user.headers)
    ).status_code == 422
    missing = await api.post(sheet.url(f"/columns/{uuid.uuid4()}/http-runs"), json={}, headers=sheet.user.headers)
    assert missing.status_code == 404
    # No row qualifies (fill-empty, all done): no run is started, the answer says so.
    nothing = await sheet.start("Employees")
    assert nothing.status_code == 201 and nothing.json()["data"]["row_count"] == 0
    assert nothing.json()["data"]["status"] == "completed"
