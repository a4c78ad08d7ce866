"""Webhook delivery as a workflow: one attempt per activity, explicit timers between attempts.

Explicit timers (instead of an activity retry policy) make every attempt its own activity with its
own attempt number, so each one is logged, and the 5/10/20 s schedule is visible in the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

DELIVER_WEBHOOK = "webhooks.deliver"


@dataclass
class DeliveryInput:
    delivery_id: str
    retry_delays: list[float] = field(default_factory=lambda: [5.0, 10.0, 20.0])
    timeout_seconds: float = 10.0


@dataclass
class AttemptInput:
    delivery_id: str
    attempt_no: int
    final: bool
    timeout_seconds: float


@dataclass
class AttemptResult:
    # "succeeded", "retry" (try again after the next delay) or "failed" (stop: refused or last attempt)
    outcome: str
    status_code: int | None = None


@workflow.defn(name="WebhookDeliveryWorkflow")
class WebhookDeliveryWorkflow:
    @workflow.run
    async def run(self, inp: DeliveryInput) -> str:
        attempts = len(inp.retry_delays) + 1
        for attempt_no in range(1, attempts + 1):
            result: AttemptResult = await workflow.execute_activity(
                DELIVER_WEBHOOK,
                AttemptInput(inp.delivery_id, attempt_no, attempt_no == attempts, inp.timeout_seconds),
                result_type=AttemptResult,
                start_to_close_timeout=timedelta(seconds=inp.timeout_seconds + 30),
                # Retries here cover our own trouble (database, worker crash), not the receiver's answer.
                retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1)),
            )
            if result.outcome != "retry":
                outcome: str = result.outcome
                return outcome
            await workflow.sleep(timedelta(seconds=inp.retry_delays[attempt_no - 1]))
        return "failed"
