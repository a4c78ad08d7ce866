"""Test helpers for enrichment: a funded workspace, records the sandbox knows, waiting for a job."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import TestUser, create_workspace, register

FINAL = {"completed", "partially_completed", "failed", "cancelled"}


def people(n: int, offset: int = 0, tag: str = "t") -> list[dict[str, Any]]:
    """Distinct people at distinct companies (the sandbox answers deterministically from these)."""
    firsts = ["ada", "grace", "alan", "edsger", "barbara", "donald", "frances", "john", "radia", "ken"]
    lasts = ["lovelace", "hopper", "turing", "dijkstra", "liskov", "knuth", "allen", "backus", "perlman", "thompson"]
    return [
        {
            "first_name": firsts[i % 10].title(),
            "last_name": f"{lasts[(i // 10) % 10].title()}{i}",
            "domain": f"{tag}co{i}.com",
        }
        for i in range(offset, offset + n)
    ]


async def funded_workspace(client: httpx.AsyncClient, credits: int = 1_000_000) -> tuple[TestUser, str]:
    user = await register(client)
    workspace = await create_workspace(client, user)
    ws = workspace["id"]
    if credits:
        response = await client.post(
            f"/api/v1/workspaces/{ws}/billing/credits",
            json={"amount": credits, "description": "test credits"},
            headers=user.headers,
        )
        assert response.status_code == 201, response.text
    return user, ws


async def balance(client: httpx.AsyncClient, user: TestUser, ws: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/workspaces/{ws}/billing", headers=user.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def create_job(client: httpx.AsyncClient, user: TestUser, ws: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/api/v1/workspaces/{ws}/enrichment-jobs", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def wait_for_job(
    client: httpx.AsyncClient, user: TestUser, ws: str, job_id: str, timeout: float = 120.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(f"/api/v1/workspaces/{ws}/enrichment-jobs/{job_id}", headers=user.headers)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()["data"]
        if job["status"] in FINAL:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job did not finish in {timeout}s: {job}")
        await asyncio.sleep(0.2)


async def wait_for_progress(
    client: httpx.AsyncClient, user: TestUser, ws: str, job_id: str, at_least: float, timeout: float = 120.0
) -> dict[str, Any]:
    """Wait until the job has done `at_least` (0..1) of its records, failing at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(f"/api/v1/workspaces/{ws}/enrichment-jobs/{job_id}", headers=user.headers)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()["data"]
        if job["progress"] >= at_least:
            return job
        assert job["status"] in ("queued", "running"), job
        if time.monotonic() > deadline:
            raise AssertionError(f"job did not reach {at_least:.0%} in {timeout}s: {job}")
        await asyncio.sleep(0.05)


async def all_records(client: httpx.AsyncClient, user: TestUser, ws: str, job_id: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    page = 1
    while True:
        response = await client.get(
            f"/api/v1/workspaces/{ws}/enrichment-jobs/{job_id}/records",
            params={"page": page, "limit": 500},
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        batch = response.json()["data"]
        records.extend(batch)
        if len(batch) < 500:
            return records
        page += 1


DEBITS_OF_JOB = text(
    "SELECT count(*), coalesce(sum(-amount), 0) FROM credit_transactions WHERE job_id = :j AND type = 'debit'"
)


async def ledger(sessions: async_sessionmaker[AsyncSession], job_id: str) -> tuple[int, int]:
    """(number of debits, credits debited) of a job, from the ledger itself."""
    async with sessions() as session:
        row = (await session.execute(DEBITS_OF_JOB, {"j": job_id})).one()
    return int(row[0]), int(row[1])
