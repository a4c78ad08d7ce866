"""The search contract: the same behaviour from every engine (PostgreSQL always, OpenSearch when set).

A fixed corpus (conftest.CORPUS) is written through the rows API and indexed from the outbox.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import add_member, create_workspace, register
from tests.search.conftest import CORPUS, Corpus, Sync, load_corpus


async def _search(client: httpx.AsyncClient, corpus: Corpus, **params: Any) -> dict[str, Any]:
    response = await client.get(corpus.url("/search"), params=params, headers=corpus.owner.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _names(data: dict[str, Any]) -> list[str]:
    return [h["name"] for h in data["hits"]]


async def test_exact_beats_fuzzy_and_name_beats_notes(search_client: httpx.AsyncClient, corpus: Corpus) -> None:
    names = _names(await _search(search_client, corpus, q="jonathan"))
    # Exact in the name, then the one-letter typo in a name (Jonathon), then the notes' mention.
    assert names == ["Jonathan Smith", "Jonathon Miller", "Maria Garcia"]


async def test_two_words_across_fields(search_client: httpx.AsyncClient, corpus: Corpus) -> None:
    data = await _search(search_client, corpus, q="stripe cfo")
    assert _names(data) == ["Jonathan Smith"]
    hit = data["hits"][0]
    assert hit["table_id"] == corpus.table_id and hit["row_id"] == corpus.row_of("Jonathan Smith")
    assert hit["table_name"] == "Leads" and hit["company"] == "Stripe" and hit["title"] == "CFO"


async def test_one_and_two_letter_typos_are_found(search_client: httpx.AsyncClient, corpus: Corpus) -> None:
    assert "Jonathan Smith" in _names(await _search(search_client, corpus, q="jonatan"))  # one letter missing
    assert "Jonathan Smith" in _names(await _search(search_client, corpus, q="jonathna"))  # two letters swapped
    assert set(_names(await _search(search_client, corpus, q="strpe"))) == {"Jonathan Smith", "Wei Chen"}
    assert _names(await _search(search_client, corpus, q="garcai"))[0] == "Maria Garcia"
    # Exact matches come first (a three-letter word may or may not reach "cto": engines differ).
    names = _names(await _search(search_client, corpus, q="cfo"))
    assert set(names[:2]) == {"Jonathan Smith", "Olu Adeyemi"} and set(names[2:]) <= {"Maria Garcia"}
    # One- and two-letter words get none.
    assert _names(await _search(search_client, corpus, q="wei")) == ["Wei Chen"]


async def test_phrase_and_prefix(search_client: httpx.AsyncClient, corpus: Corpus) -> None:
    assert _names(await _search(search_client, corpus, q='"san francisco"')) == ["Jonathan Smith"]
    # The words of the phrase in another order are not the phrase.
    assert _names(await _search(search_client, corpus, q='"francisco san"')) == []
    assert set(_names(await _search(search_client, corpus, q="engin"))) == {"Priya Patel", "Wei Chen"}
    assert _names(await _search(search_client, corpus, q="pri*")) == ["Priya Patel"]


async def test_facet_counts_equal_a_direct_count(search_client: httpx.AsyncClient, corpus: Corpus) -> None:
    data = await _search(search_client, corpus, q="fintech")
    matching = [c for c in CORPUS if c[5] == "Fintech"]
    assert data["total"] == len(matching)
    for facet, index in (("company", 2), ("title", 3), ("location", 4), ("industry", 5)):
        expected: dict[str, int] = {}
        for row in matching:
            if row[index]:
                expected[str(row[index])] = expected.get(str(row[index]), 0) + 1
        assert {f["value"]: f["count"] for f in data["facets"][facet]} == expected, facet
    assert data["facets"]["table"] == [{"value": corpus.table_id, "label": "Leads", "count": len(matching)}]

    everything = await _search(search_client, corpus)
    assert everything["total"] == len(CORPUS)
    companies = {f["value"]: f["count"] for f in everything["facets"]["company"]}
    assert companies == {"Stripe": 2, "Acme": 2, "Globex": 1, "Initech": 1}


async def test_filters(search_client: httpx.AsyncClient, corpus: Corpus) -> None:
    assert set(_names(await _search(search_client, corpus, company="Acme"))) == {"Jonathon Miller", "Priya Patel"}
    assert _names(await _search(search_client, corpus, has_email="false")) == ["Priya Patel"]
    assert len(_names(await _search(search_client, corpus, has_email="true"))) == len(CORPUS) - 1
    column = f"{corpus.columns['Location']}:london"
    assert _names(await _search(search_client, corpus, column=column)) == ["Priya Patel"]
    assert len((await _search(search_client, corpus, table_id=corpus.table_id))["hits"]) == len(CORPUS)
    assert _names(await _search(search_client, corpus, date_from="2000-01-01", date_to="2000-12-31")) == []
    assert len(_names(await _search(search_client, corpus, date_from="2000-01-01"))) == len(CORPUS)
    assert len(_names(await _search(search_client, corpus, date_to="9999-12-31"))) == len(CORPUS)


async def test_sort_by_field_and_pagination(search_client: httpx.AsyncClient, corpus: Corpus) -> None:
    everyone = sorted(str(c[0]) for c in CORPUS)
    first = await _search(search_client, corpus, sort="name", order="asc", limit=4, page=1)
    second = await _search(search_client, corpus, sort="name", order="asc", limit=4, page=2)
    assert _names(first) + _names(second) == everyone
    assert first["total"] == len(CORPUS)
    down = await _search(search_client, corpus, sort="name", order="desc", limit=100)
    assert _names(down) == everyone[::-1]


async def test_highlights_are_marked_and_escaped(search_client: httpx.AsyncClient, corpus: Corpus) -> None:
    hit = (await _search(search_client, corpus, q="jonathan"))["hits"][0]
    assert hit["highlights"]["name"] == "<mark>Jonathan</mark> Smith"
    bold = (await _search(search_client, corpus, q="brave"))["hits"][0]
    assert bold["name"] == "Wei Chen"
    snippet = bold["highlights"]["other"]
    # The cell's markup never comes back as markup (PostgreSQL's parser drops tags, OpenSearch escapes them).
    assert "<b>" not in snippet and "Bold" in snippet and snippet.endswith("&amp; <mark>brave</mark>")


async def test_suggest_prefix_and_typo(search_client: httpx.AsyncClient, corpus: Corpus) -> None:
    url = corpus.url("/search/suggest")
    h = corpus.owner.headers
    found = (await search_client.get(url, params={"q": "jon"}, headers=h)).json()["data"]
    assert [s["label"] for s in found] == ["Jonathan Smith", "Jonathon Miller"]
    assert found[0]["row_id"] == corpus.row_of("Jonathan Smith") and found[0]["table_id"] == corpus.table_id
    assert found[0]["detail"] == "CFO @ Stripe"
    by_company = (await search_client.get(url, params={"q": "strip"}, headers=h)).json()["data"]
    assert {s["label"] for s in by_company} == {"Jonathan Smith", "Wei Chen"}
    typo = (await search_client.get(url, params={"q": "garsia"}, headers=h)).json()["data"]
    assert [s["label"] for s in typo] == ["Maria Garcia"]
    assert len((await search_client.get(url, params={"q": "a", "limit": 10}, headers=h)).json()["data"]) <= 10


async def test_workspaces_are_isolated_in_one_index(
    search_client: httpx.AsyncClient, corpus: Corpus, sync: Sync
) -> None:
    other = await load_corpus(search_client, table_name="Other leads")
    await sync()
    mine = await _search(search_client, corpus, q="jonathan")
    assert {h["table_id"] for h in mine["hits"]} == {corpus.table_id}
    theirs = await _search(search_client, other, q="jonathan")
    assert {h["table_id"] for h in theirs["hits"]} == {other.table_id}
    suggestions = (
        await search_client.get(corpus.url("/search/suggest"), params={"q": "jon"}, headers=corpus.owner.headers)
    ).json()["data"]
    assert {s["table_id"] for s in suggestions} == {corpus.table_id}
    # A member of one workspace asking for the other's search: 404, as for any other resource.
    for path in ("/search", "/search/suggest?q=jon", "/search/settings"):
        response = await search_client.get(other.url(path), headers=corpus.owner.headers)
        assert response.status_code == 404, path


async def test_deletion_removes_from_results(search_client: httpx.AsyncClient, corpus: Corpus, sync: Sync) -> None:
    rows = corpus.url(f"/tables/{corpus.table_id}/rows")
    gone = await search_client.post(
        f"{rows}/delete", json={"ids": [corpus.row_of("Wei Chen")]}, headers=corpus.owner.headers
    )
    assert gone.status_code == 200, gone.text
    await sync()
    assert _names(await _search(search_client, corpus, q="stripe")) == ["Jonathan Smith"]
    deleted = await search_client.delete(corpus.url(f"/tables/{corpus.table_id}"), headers=corpus.owner.headers)
    assert deleted.status_code in (200, 204), deleted.text
    await sync()
    assert (await _search(search_client, corpus))["total"] == 0


async def test_edits_and_renames_are_indexed(search_client: httpx.AsyncClient, corpus: Corpus, sync: Sync) -> None:
    row = corpus.row_of("Priya Patel")
    cell = corpus.url(f"/tables/{corpus.table_id}/rows/{row}/cells/{corpus.columns['Company']}")
    edited = await search_client.put(cell, json={"value": "Hooli", "version": 1}, headers=corpus.owner.headers)
    assert edited.status_code == 200, edited.text
    renamed = await search_client.patch(
        corpus.url(f"/tables/{corpus.table_id}"), json={"name": "Prospects"}, headers=corpus.owner.headers
    )
    assert renamed.status_code == 200, renamed.text
    await sync()
    data = await _search(search_client, corpus, q="hooli")
    assert _names(data) == ["Priya Patel"] and data["hits"][0]["table_name"] == "Prospects"
    assert "Priya Patel" not in _names(await _search(search_client, corpus, company="Acme"))


async def test_viewer_searches_outsider_gets_404_only_admins_set_boosts(
    search_client: httpx.AsyncClient, corpus: Corpus
) -> None:
    viewer = await register(search_client)
    await add_member(search_client, corpus.owner, str(corpus.workspace_id), viewer, "viewer")
    seen = await search_client.get(corpus.url("/search"), params={"q": "stripe"}, headers=viewer.headers)
    assert seen.status_code == 200 and seen.json()["data"]["total"] == 2
    assert (await search_client.get(corpus.url("/search/suggest?q=wei"), headers=viewer.headers)).status_code == 200
    body = {"boosts": {"primary": 1, "secondary": 1, "other": 5}}
    denied = await search_client.put(corpus.url("/search/settings"), json=body, headers=viewer.headers)
    assert denied.status_code == 403

    outsider = await register(search_client)
    await create_workspace(search_client, outsider)
    assert (await search_client.get(corpus.url("/search"), headers=outsider.headers)).status_code == 404


async def test_boosts_change_the_order(search_client: httpx.AsyncClient, corpus: Corpus) -> None:
    assert _names(await _search(search_client, corpus, q="francisco")) == ["Jonathan Smith", "Olu Adeyemi"]
    body = {"boosts": {"primary": 0.1, "secondary": 0.1, "other": 5}}
    saved = await search_client.put(corpus.url("/search/settings"), json=body, headers=corpus.owner.headers)
    assert saved.status_code == 200, saved.text
    stored = (await search_client.get(corpus.url("/search/settings"), headers=corpus.owner.headers)).json()["data"]
    assert stored["boosts"] == {"primary": 0.1, "secondary": 0.1, "other": 5.0}
    # The notes now weigh most: the row that has the word in its notes comes first.
    assert _names(await _search(search_client, corpus, q="francisco")) == ["Olu Adeyemi", "Jonathan Smith"]


async def test_bad_input_is_422(search_client: httpx.AsyncClient, corpus: Corpus) -> None:
    h = corpus.owner.headers
    bad: list[dict[str, Any]] = [
        {"date_from": "2026-02-01", "date_to": "2026-01-01"},
        {"page": 0},
        {"limit": 1000},
        {"q": "x" * 500},
        {"column": "not-a-column:value"},
        {"column": f"{corpus.columns['Name']}:"},
        {"sort": "shoe_size"},
        {"date_from": "yesterday"},
        {"table_id": "nope"},
        {"q": "a\x00b"},
    ]
    for params in bad:
        response = await search_client.get(corpus.url("/search"), params=params, headers=h)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["success"] is False
    assert (await search_client.get(corpus.url("/search/suggest"), headers=h)).status_code == 422
    assert (await search_client.get(corpus.url("/search/suggest?q=" + "x" * 101), headers=h)).status_code == 422
    for boosts in ({"primary": -1}, {"primary": 0, "secondary": 0, "other": 0}, {"primary": 11}):
        response = await search_client.put(corpus.url("/search/settings"), json={"boosts": boosts}, headers=h)
        assert response.status_code == 422, boosts
