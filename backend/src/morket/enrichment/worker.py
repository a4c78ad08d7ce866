"""Moved: the worker is `morket.worker` (one module for every domain), the reconciler is
`morket.enrichment.reconciler`. These names stay importable for code written against them."""

from morket.enrichment.reconciler import reconcile_jobs
from morket.runs.reconciler import UNSETTLED_AFTER
from morket.worker import SWEEP_EVERY, connect, main, run_worker, worker_pool_size
from morket.worker import build_worker as enrichment_worker

__all__ = [
    "SWEEP_EVERY",
    "UNSETTLED_AFTER",
    "connect",
    "enrichment_worker",
    "main",
    "reconcile_jobs",
    "run_worker",
    "worker_pool_size",
]
