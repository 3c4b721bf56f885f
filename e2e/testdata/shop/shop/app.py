"""The HTTP application: catalogue, orders, probes and metrics."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from .metrics import CONTENT_TYPE, Metrics
from .store import MAX_LINES, MAX_QUANTITY, Line, OutOfStock, Store, Unavailable, UnknownProduct

log = logging.getLogger("shop.http")

# Probes and scrapes arrive every few seconds; they are logged only at DEBUG level.
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
EXAMPLE = '{"email": "ana@example.com", "items": [{"product_id": 1, "quantity": 2}]}'


class InvalidOrder(ValueError):
    pass


def parse_order(body: Any) -> tuple[str, list[Line]]:
    """Checks an order's JSON body; the error names the field, what is wrong and the fix."""
    if not isinstance(body, dict):
        raise InvalidOrder(f"body: expected a JSON object like {EXAMPLE}")
    email = body.get("email", "")
    if not isinstance(email, str) or len(email) > 254 or (email and "@" not in email):
        raise InvalidOrder('email: expected an e-mail address like "ana@example.com", or no email field')
    items = body.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_LINES:
        raise InvalidOrder(f"items: expected a list of 1 to {MAX_LINES} items, like {EXAMPLE}")
    lines = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidOrder(f'items[{i}]: expected an object like {{"product_id": 1, "quantity": 2}}')
        pid = item.get("product_id")
        qty = item.get("quantity", 1)
        if not _whole(pid) or pid < 1:
            raise InvalidOrder(f"items[{i}].product_id: {pid!r} is not a product id; use an id from /api/products")
        if not _whole(qty) or not 1 <= qty <= MAX_QUANTITY:
            raise InvalidOrder(f"items[{i}].quantity: {qty!r} is not valid; use a whole number from 1 to {MAX_QUANTITY}")
        lines.append(Line(pid, qty))
    return email, lines


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


def create_app(store: Store, metrics: Metrics | None = None) -> Flask:
    app = Flask("shop")
    metrics = metrics if metrics is not None else Metrics()
    app.extensions["shop"] = {"store": store, "metrics": metrics}

    @app.before_request
    def start_timer() -> None:
        g.start = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        seconds = time.perf_counter() - g.get("start", time.perf_counter())
        # The route template, not the path: /api/products/<int:product_id> is one series.
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        method = request.method if request.method in METHODS else "other"
        metrics.observe(route, method, response.status_code, seconds)
        level = logging.DEBUG if route in QUIET_ROUTES and response.status_code < 500 else logging.INFO
        log.log(
            level,
            "request",
            extra={
                "method": method,
                "route": route,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2),
            },
        )
        return response

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        return error(err.code or 500, err.description or err.name)

    @app.errorhandler(Unavailable)
    def unavailable(err: Unavailable):
        log.warning("database unavailable", extra={"error": str(err)})
        resp, status = error(503, "the shop's database is unavailable; try again shortly")
        resp.headers["Retry-After"] = "5"
        return resp, status

    @app.errorhandler(Exception)
    def internal(err: Exception):
        log.exception("unhandled error")
        return error(500, "internal error")

    @app.get("/")
    def index():
        return jsonify(
            name="shop",
            links={"products": "/api/products", "orders": "/api/orders", "health": "/healthz", "metrics": "/metrics"},
        )

    @app.get("/healthz")
    def healthz():
        # Liveness: the process answers. It never looks at the database, so an outage
        # there does not make Kubernetes restart every replica.
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz():
        try:
            store.ping()
        except Exception as err:  # any failure means: send no traffic here
            return jsonify(status="unavailable", error=str(err)), 503
        return jsonify(status="ready")

    @app.get("/metrics")
    def metrics_endpoint():
        return Response(metrics.exposition(), content_type=CONTENT_TYPE)

    @app.get("/api/products")
    def products():
        return jsonify(products=[p.to_json() for p in store.list_products()])

    @app.get("/api/products/<int:product_id>")
    def product(product_id: int):
        p = store.get_product(product_id)
        if p is None:
            return error(404, f"product {product_id} does not exist; see /api/products")
        return jsonify(p.to_json())

    @app.post("/api/orders")
    def create_order():
        try:
            email, lines = parse_order(request.get_json(silent=True))
            order = store.create_order(email, lines)
        except InvalidOrder as err:
            return error(400, str(err))
        except UnknownProduct as err:
            return error(422, f"{err}; see /api/products")
        except OutOfStock as err:
            return error(409, str(err))
        metrics.orders.inc()
        metrics.order_value.inc(order.total_cents)
        log.info("order placed", extra={"order_id": order.id, "total_cents": order.total_cents})
        resp = jsonify(order.to_json())
        resp.headers["Location"] = f"/api/orders/{order.id}"
        return resp, 201

    @app.get("/api/orders/<int:order_id>")
    def get_order(order_id: int):
        order = store.get_order(order_id)
        if order is None:
            return error(404, f"order {order_id} does not exist")
        return jsonify(order.to_json())

    return app
