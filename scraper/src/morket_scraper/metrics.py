"""Prometheus metrics, in a registry per service instance (tests run several in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.queue_depth = Gauge("scraper_queue_depth", "Tasks waiting in the queue", registry=self.registry)
        self.running = Gauge("scraper_tasks_running", "Tasks being worked on (all instances)", registry=self.registry)
        self.active_workers = Gauge(
            "scraper_active_workers", "Workers of this instance busy with a task", registry=self.registry
        )
        self.browser_active = Gauge(
            "scraper_browser_contexts_active", "Browser contexts in use", registry=self.registry
        )
        self.pages = Counter("scraper_pages_total", "Pages fetched", ["mode"], registry=self.registry)
        self.errors = Counter("scraper_errors_total", "Failed fetches by error code", ["code"], registry=self.registry)
        self.tasks = Counter("scraper_tasks_total", "Finished tasks by outcome", ["outcome"], registry=self.registry)
        self.latency = Histogram(
            "scraper_task_seconds",
            "Time to run one task",
            ["mode"],
            registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
