"""A run's budget inside one chunk (issue 10): a record starts only when the budget left covers
its worst case, so what the run is charged can never pass the budget.

A budgeted run has one chunk at a time (`JobControl.workflow_input`), and each chunk
starts from what the database says was spent (records are written with their debits), so the
gate is exact across chunks, retries and crashes: a record of a killed attempt was never written
and never charged, and is run again by the retry under the same gate.
"""

from __future__ import annotations

import asyncio


class BudgetGate:
    def __init__(self, left: int) -> None:
        self.left = left  # budget not spent and not held by a record in flight
        self.in_flight = 0
        self.exhausted = False
        self._changed = asyncio.Condition()

    async def admit(self, worst: int) -> bool:
        """Hold `worst` credits for one record; False when they can never be had (nothing in flight
        will give any back), which stops the run."""
        async with self._changed:
            while True:
                if self.exhausted:
                    return False
                if worst <= self.left:
                    self.left -= worst
                    self.in_flight += 1
                    return True
                if self.in_flight == 0:
                    self.exhausted = True
                    self._changed.notify_all()
                    return False
                await self._changed.wait()

    async def settle(self, worst: int, spent: int) -> None:
        """A record finished (or gave up) having spent `spent` of the `worst` it held."""
        async with self._changed:
            self.left += worst - spent
            self.in_flight -= 1
            self._changed.notify_all()
