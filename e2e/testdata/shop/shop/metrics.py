"""Prometheus metrics: requests and their latency by route, method and status, and orders.

Under gunicorn each worker is a process; with PROMETHEUS_MULTIPROC_DIR set (`serve` sets
it) the workers write their samples there and /metrics adds them up, whichever worker
answers the scrape.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess

# Web latencies: 5 ms to 10 s.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None, multiproc_dir: str = ""):
        self.registry = registry if registry is not None else CollectorRegistry()
        self.multiproc_dir = multiproc_dir
        labels = ("route", "method", "status")
        self.requests = Counter(
            "shop_http_requests", "HTTP requests answered.", labels, registry=self.registry
        )
        self.latency = Histogram(
            "shop_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            labels,
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.orders = Counter("shop_orders", "Orders placed.", registry=self.registry)
        self.order_value = Counter(
            "shop_order_value_cents", "Value of the orders placed, in cents.", registry=self.registry
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method, str(status)).observe(seconds)

    def exposition(self) -> bytes:
        if not self.multiproc_dir:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.multiproc_dir)
        return generate_latest(registry)
