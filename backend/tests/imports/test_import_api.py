"""Import end to end: upload, preview, commit, the workflow on a real Temporal server, the rows and
rejects that come out, against messy files the tests write."""

from __future__ import annotations

import csv
import io
import os
import uuid

import httpx
import pytest
from openpyxl import Workbook

from tests.imports.conftest import Tenant, all_rows, upload, wait_done

pytestmark = pytest.mark.usefixtures("worker")

# Windows-1252, semicolons, a quoted field with a newline, CRLF/LF/CR mixed, a duplicate and a blank
# header, a short row, a long row, a malformed quote, a blank line.
MESSY = (
    "Name;Email;Email;;City\r\n"
    "José;jose@acme.com;j2@acme.com;x;Zürich\r\n"
    '"Ann\nMarie";ann@beta.io;;;"Málaga"\n'
    "Short;s@x.io\r"
    "Long;l@x.io;;;Paris;EXTRA\r\n"
    '"bad"quote;b@x.io;;;Rome\r\n'
    "\r\n"
    "Zoë;zoe@x.io;;y;Köln\r\n"
).encode("cp1252")


async def _commit(api: httpx.AsyncClient, tenant: Tenant, import_id: str, body: dict[str, object]) -> dict[str, object]:
    response = await api.post(f"{tenant.base}/imports/{import_id}/commit", json=body, headers=tenant.user.headers)
    assert response.status_code == 202, response.text
    data: dict[str, object] = response.json()["data"]
    return data


async def test_messy_csv_preview_commit_rows_and_rejects(api: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await upload(api, tenant, "leads.csv", MESSY)
    assert response.status_code == 201, response.text
    item = response.json()["data"]
    preview = item["preview"]
    assert item["status"] == "uploaded"
    assert (preview["format"], preview["encoding"], preview["delimiter"]) == ("csv", "cp1252", ";")
    assert preview["has_header"] is True
    assert [c["name"] for c in preview["columns"]] == ["Name", "Email", "Email (2)", "Column 4", "City"]
    assert [c["type"] for c in preview["columns"]][:2] == ["long_text", "email"]  # "Ann\\nMarie" spans lines
    assert preview["sample_rows"][0] == ["José", "jose@acme.com", "j2@acme.com", "x", "Zürich"]
    codes = {(p["code"], p["line"]) for p in preview["problems"]}
    # Lines count physical lines: "Ann / Marie" spans lines 3 and 4.
    assert ("rejected_row", 6) in codes and ("rejected_row", 7) in codes
    assert any(p["code"] == "short_rows" and "(lines 5)" in p["message"] for p in preview["problems"])
    assert sum(p["code"] == "header_renamed" for p in preview["problems"]) == 2

    committed = await _commit(api, tenant, item["id"], {"mode": "new_table", "table_name": "Leads"})
    assert committed["status"] in ("queued", "running", "completed")
    done = await wait_done(api, tenant, item["id"])
    assert done["status"] == "completed", done
    progress = done["progress"]
    assert (progress["rows_inserted"], progress["rows_rejected"], progress["rows_read"]) == (4, 2, 6)
    rows = await all_rows(api, tenant, done["table_id"])
    assert [list(r.values()) for r in rows] == [
        ["José", "jose@acme.com", "j2@acme.com", "x", "Zürich"],
        ["Ann\nMarie", "ann@beta.io", "", "", "Málaga"],
        ["Short", "s@x.io", "", "", ""],
        ["Zoë", "zoe@x.io", "", "y", "Köln"],
    ]
    rejects = (await api.get(f"{tenant.base}/imports/{item['id']}/rejects", headers=tenant.user.headers)).json()
    assert rejects["meta"]["total"] == 2
    assert [(r["line"], r["reason"]) for r in rejects["data"]] == [(6, "too_many_values"), (7, "malformed")]
    assert rejects["data"][0]["raw"].startswith("Long;l@x.io")
    download = await api.get(f"{tenant.base}/imports/{item['id']}/rejects.csv", headers=tenant.user.headers)
    assert download.status_code == 200
    lines = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"), newline="")))
    assert lines[0] == ["line", "reason", "message", "raw"]
    assert [row[:2] for row in lines[1:]] == [["6", "too_many_values"], ["7", "malformed"]]


async def test_bad_values_are_rejected_with_column_and_line(api: httpx.AsyncClient, tenant: Tenant) -> None:
    data = b"name,age\nAda,36\nBob,n/a\nCy,41\n"
    item = (await upload(api, tenant, "people.csv", data)).json()["data"]
    assert [c["type"] for c in item["preview"]["columns"]] == ["text", "text"]
    await _commit(
        api,
        tenant,
        item["id"],
        {"mode": "new_table", "mapping": [{"source": 0}, {"source": 1, "name": "Age", "type": "number"}]},
    )
    done = await wait_done(api, tenant, item["id"])
    assert done["status"] == "completed"
    rows = await all_rows(api, tenant, done["table_id"])
    assert rows == [{"name": "Ada", "Age": "36"}, {"name": "Cy", "Age": "41"}]
    rejects = (await api.get(f"{tenant.base}/imports/{item['id']}/rejects", headers=tenant.user.headers)).json()
    assert [(r["line"], r["reason"]) for r in rejects["data"]] == [(3, "invalid_value")]
    assert rejects["data"][0]["message"] == "column 'Age': not a number"


async def test_xlsx_import_with_types(api: httpx.AsyncClient, tenant: Tenant) -> None:
    from datetime import date

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Companies"
    sheet.append(["Company", "Domain", "Employees", "Founded", "Public"])
    sheet.append(["Acme", "acme.com", 120, date(1999, 5, 1), True])
    sheet.append(["Beta", "https://beta.io", 7.0, date(2015, 1, 2), False])
    sheet.append([None, None, None, None, None])
    sheet.append(["Gamma", "gamma.co.uk", 3, date(2020, 2, 29), False])
    buffer = io.BytesIO()
    book.save(buffer)
    response = await upload(api, tenant, "companies.xlsx", buffer.getvalue())
    assert response.status_code == 201, response.text
    item = response.json()["data"]
    preview = item["preview"]
    assert (preview["format"], preview["sheet"], preview["sheets"]) == ("xlsx", "Companies", ["Companies"])
    assert [c["type"] for c in preview["columns"]] == ["text", "url", "number", "date", "checkbox"]
    await _commit(api, tenant, item["id"], {"mode": "new_table"})
    done = await wait_done(api, tenant, item["id"])
    assert done["status"] == "completed", done
    assert done["progress"]["rows_inserted"] == 3
    rows = await all_rows(api, tenant, done["table_id"])
    assert [list(r.values()) for r in rows] == [
        ["Acme", "acme.com", "120", "1999-05-01", "true"],
        ["Beta", "https://beta.io", "7", "2015-01-02", "false"],
        ["Gamma", "gamma.co.uk", "3", "2020-02-29", "false"],
    ]


async def test_append_with_upsert_and_dedupe_on_import(api: httpx.AsyncClient, tenant: Tenant) -> None:
    first = (await upload(api, tenant, "a.csv", b"email,name,phone\nada@x.io,Ada,\nbob@x.io,Bob,555\n")).json()["data"]
    await _commit(api, tenant, first["id"], {"mode": "new_table", "table_name": "People"})
    done = await wait_done(api, tenant, first["id"])
    table_id = done["table_id"]
    described = await api.get(f"{tenant.base}/imports/{first['id']}", headers=tenant.user.headers)
    columns = {m["source"]: m["column_id"] for m in described.json()["data"]["plan"]["columns"]}

    # Upsert on email: Ada's phone is filled, Cy is added (twice in the file: the later cells win).
    second = (
        await upload(api, tenant, "b.csv", b"email,name,phone\nada@x.io,Ada L.,111\ncy@x.io,Cy,222\ncy@x.io,Cy,333\n")
    ).json()["data"]
    body = {
        "mode": "existing_table",
        "table_id": table_id,
        "mapping": [{"source": i, "column_id": columns[i]} for i in range(3)],
        "key_column": 0,
    }
    await _commit(api, tenant, second["id"], body)
    done2 = await wait_done(api, tenant, second["id"])
    assert done2["status"] == "completed", done2
    assert (done2["progress"]["rows_inserted"], done2["progress"]["rows_updated"]) == (1, 1)
    rows = await all_rows(api, tenant, table_id)
    assert [list(r.values()) for r in rows] == [
        ["ada@x.io", "Ada L.", "111"],
        ["bob@x.io", "Bob", "555"],
        ["cy@x.io", "Cy", "333"],
    ]

    # Dedupe on import: the same person with another case and spacing of the email merges into Bob.
    third = (await upload(api, tenant, "c.csv", b"email,name,phone\n BOB@X.IO ,Robert,\n")).json()["data"]
    body = {
        "mode": "existing_table",
        "table_id": table_id,
        "mapping": [{"source": 1, "column_id": columns[1]}, {"source": 0, "column_id": columns[0]}],
        "dedupe": {"key_columns": [0]},
    }
    await _commit(api, tenant, third["id"], body)
    done3 = await wait_done(api, tenant, third["id"])
    assert done3["status"] == "completed", done3
    assert done3["progress"]["rows_merged"] == 1
    rows = await all_rows(api, tenant, table_id)
    assert [list(r.values()) for r in rows] == [
        ["ada@x.io", "Ada L.", "111"],
        ["bob@x.io", "Bob", "555"],
        ["cy@x.io", "Cy", "333"],
    ]


async def test_too_many_rejects_fails_and_says_what_was_written(api: httpx.AsyncClient, tenant: Tenant) -> None:
    lines = ["a,b", "1,2"] + ['"x"y,1'] * 60
    item = (await upload(api, tenant, "junk.csv", "\n".join(lines).encode())).json()["data"]
    await _commit(api, tenant, item["id"], {"mode": "new_table"})
    done = await wait_done(api, tenant, item["id"])
    assert done["status"] == "failed"
    assert "more than 50 rows were rejected" in done["error"]
    assert "1 rows were added" in done["error"]
    rows = await all_rows(api, tenant, done["table_id"])
    assert [list(r.values()) for r in rows] == [["1", "2"]]


async def test_upload_limits_and_unreadable_files(api: httpx.AsyncClient, tenant: Tenant) -> None:
    too_big = await upload(api, tenant, "big.csv", b"a\n" + b"x\n" * 150_000)
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> object:
        for _ in range(30):
            yield b"y\n" * 5_000

    streamed = await api.post(
        f"{tenant.base}/imports",
        params={"filename": "s.csv"},
        content=chunks(),  # type: ignore[arg-type]
        headers=tenant.user.headers,
    )
    assert streamed.status_code == 413
    empty = await upload(api, tenant, "e.csv", b"")
    assert (empty.status_code, empty.json()["error"]["code"]) == (422, "empty_file")
    broken = await upload(api, tenant, "x.xlsx", b"PK\x03\x04" + os.urandom(500))
    assert (broken.status_code, broken.json()["error"]["code"]) == (422, "unreadable_file")
    listed = (await api.get(f"{tenant.base}/imports", headers=tenant.user.headers)).json()
    assert listed["meta"]["total"] == 0  # nothing half-stored


async def test_preview_overrides_and_bom(api: httpx.AsyncClient, tenant: Tenant) -> None:
    item = (await upload(api, tenant, "b.csv", "\ufeff1|2\n3|4\n".encode())).json()["data"]
    preview = item["preview"]
    assert (preview["encoding"], preview["delimiter"], preview["has_header"]) == ("utf-8-sig", "|", False)
    assert preview["sample_rows"] == [["1", "2"], ["3", "4"]]
    again = await api.post(
        f"{tenant.base}/imports/{item['id']}/preview", json={"has_header": True}, headers=tenant.user.headers
    )
    assert again.status_code == 200
    assert [c["name"] for c in again.json()["data"]["preview"]["columns"]] == ["1", "2"]
    bad = await api.post(
        f"{tenant.base}/imports/{item['id']}/preview", json={"encoding": "no-such-codec"}, headers=tenant.user.headers
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "unreadable_file")


async def test_commit_checks_and_tenancy(api: httpx.AsyncClient, tenant: Tenant) -> None:
    item = (await upload(api, tenant, "t.csv", b"a,b\n1,2\n")).json()["data"]
    url = f"{tenant.base}/imports/{item['id']}/commit"
    wrong = await api.post(url, json={"mode": "new_table", "mapping": [{"source": 5}]}, headers=tenant.user.headers)
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (422, "invalid_mapping")
    missing = await api.post(
        url, json={"mode": "existing_table", "table_id": str(uuid.uuid4())}, headers=tenant.user.headers
    )
    assert missing.status_code == 404
    still = (await api.get(f"{tenant.base}/imports/{item['id']}", headers=tenant.user.headers)).json()["data"]
    assert still["status"] == "uploaded"
    from tests.factories import create_workspace, register

    other = await register(api)
    other_ws = await create_workspace(api, other)
    foreign = await api.get(f"/api/v1/workspaces/{other_ws['id']}/imports/{item['id']}", headers=other.headers)
    assert foreign.status_code == 404
    ok = await api.post(url, json={"mode": "new_table"}, headers=tenant.user.headers)
    assert ok.status_code == 202
    again = await api.post(url, json={"mode": "new_table"}, headers=tenant.user.headers)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "import_committed")
    assert (await wait_done(api, tenant, item["id"]))["status"] == "completed"
