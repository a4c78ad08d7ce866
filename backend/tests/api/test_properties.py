"""Property-based tests: role hierarchy, slug uniqueness, refresh-token rotation against a model."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from morket.models import Role
from morket.workspaces.slug import slugify, with_suffix
from tests.factories import register

ROLES = list(Role)
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_DB_SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@given(st.sampled_from(ROLES), st.sampled_from(ROLES), st.sampled_from(ROLES))
def test_role_hierarchy_is_a_total_order(a: Role, b: Role, c: Role) -> None:
    assert a.at_least(a)
    assert a.at_least(b) or b.at_least(a)
    if a.at_least(b) and b.at_least(a):
        assert a == b
    if a.at_least(b) and b.at_least(c):
        assert a.at_least(c)
    assert Role.OWNER.at_least(a) and a.at_least(Role.VIEWER)


@given(st.text(max_size=300))
def test_slugs_are_url_safe_and_bounded(name: str) -> None:
    slug = slugify(name)
    assert _SLUG.match(slug), slug
    assert len(slug) <= 60
    suffixed = with_suffix(slug)
    assert _SLUG.match(suffixed) and len(suffixed) <= 80


@_DB_SETTINGS
@given(
    names=st.lists(st.sampled_from(["Acme", "acme", "ACME!", "Acme  ", "Ácme", "Globex", "--"]), min_size=1, max_size=8)
)
async def test_workspace_slugs_stay_unique(client: httpx.AsyncClient, names: list[str]) -> None:
    user = await register(client)
    slugs = []
    for name in names:
        response = await client.post("/api/v1/workspaces", json={"name": name}, headers=user.headers)
        assert response.status_code == 201, response.text
        slugs.append(response.json()["data"]["slug"])
    listed = await client.get("/api/v1/workspaces", headers=user.headers)
    assert len({w["slug"] for w in listed.json()["data"]}) == len(listed.json()["data"]) >= len(names)
    assert all(_SLUG.match(s) for s in slugs)


@dataclass
class _Token:
    value: str
    used: bool = False


_OPS = st.lists(
    st.one_of(
        st.just(("refresh", -1)),
        st.tuples(st.just("refresh"), st.integers(0, 6)),
        st.tuples(st.just("logout"), st.integers(-1, 6)),
    ),
    min_size=1,
    max_size=10,
)


@_DB_SETTINGS
@given(ops=_OPS)
async def test_refresh_rotation_matches_model(client: httpx.AsyncClient, ops: list[tuple[str, int]]) -> None:
    """Model: a login is a family; logout or reuse revokes it; within the grace (every op here runs well
    inside it) the latest used token may be presented again and yields a sibling pair."""
    user = await register(client)
    tokens = [_Token(user.refresh_token)]
    latest_used: _Token | None = None
    family_revoked = False
    for op, index in ops:
        token = tokens[index % len(tokens)] if index >= 0 else tokens[-1]
        if op == "logout":
            response = await client.post("/api/v1/auth/logout", json={"refresh_token": token.value})
            assert response.status_code == 200
            family_revoked = True
            continue
        response = await client.post("/api/v1/auth/refresh", json={"refresh_token": token.value})
        if token.used and token is latest_used and not family_revoked:
            assert response.status_code == 200, response.text
            tokens.append(_Token(response.json()["data"]["refresh_token"]))
        elif token.used:
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "refresh_token_reused"
            family_revoked = True
        elif family_revoked:
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "refresh_token_revoked"
        else:
            assert response.status_code == 200, response.text
            token.used = True
            latest_used = token
            tokens.append(_Token(response.json()["data"]["refresh_token"]))
    # Exactly the tokens the model says are live still work, and the access token follows the family.
    me = await client.get("/api/v1/auth/me", headers=user.headers)
    assert me.status_code == (401 if family_revoked else 200)
    for t in tokens:
        if family_revoked or not t.used:
            response = await client.post("/api/v1/auth/refresh", json={"refresh_token": t.value})
            assert response.status_code == (401 if family_revoked else 200), response.text
            t.used = True
