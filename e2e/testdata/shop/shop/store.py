"""The shop's data: products, orders, the errors a store raises, and an in-memory store.

PostgresStore (shop.postgres) is the real one; MemoryStore keeps the same contract
for unit tests of the HTTP layer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Protocol, Sequence

MAX_LINES = 50
MAX_QUANTITY = 100


@dataclass(frozen=True)
class Product:
    id: int
    sku: str
    name: str
    price_cents: int
    stock: int

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "sku": self.sku,
            "name": self.name,
            "price_cents": self.price_cents,
            "stock": self.stock,
        }


@dataclass(frozen=True)
class Line:
    product_id: int
    quantity: int
    unit_price_cents: int = 0


@dataclass(frozen=True)
class Order:
    id: int
    email: str
    lines: tuple[Line, ...]
    total_cents: int
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "email": self.email,
            "items": [
                {"product_id": l.product_id, "quantity": l.quantity, "unit_price_cents": l.unit_price_cents}
                for l in self.lines
            ],
            "total_cents": self.total_cents,
            "created_at": self.created_at.isoformat(),
        }


class StoreError(Exception):
    """Base of the errors a store raises about a request (not about its database)."""


class Unavailable(Exception):
    """The database cannot be reached or did not answer in time; the request may be retried."""


class UnknownProduct(StoreError):
    def __init__(self, product_id: int):
        super().__init__(f"product {product_id} does not exist")
        self.product_id = product_id


class OutOfStock(StoreError):
    def __init__(self, product: Product, wanted: int):
        super().__init__(f"product {product.id} ({product.name}) has {product.stock} in stock, {wanted} wanted")
        self.product = product
        self.wanted = wanted


class Store(Protocol):
    def ping(self) -> None: ...
    def list_products(self) -> list[Product]: ...
    def get_product(self, product_id: int) -> Product | None: ...
    def create_order(self, email: str, lines: Sequence[Line]) -> Order: ...
    def get_order(self, order_id: int) -> Order | None: ...


def merge_lines(lines: Sequence[Line]) -> list[Line]:
    """Adds up lines for the same product and sorts them by product id.

    Sorting also fixes the order in which rows are locked, so two orders never deadlock.
    """
    total: dict[int, int] = {}
    for line in lines:
        total[line.product_id] = total.get(line.product_id, 0) + line.quantity
    return [Line(pid, qty) for pid, qty in sorted(total.items())]


class MemoryStore:
    """A Store in memory, safe for concurrent use."""

    def __init__(self, products: Sequence[Product] = ()):
        self._lock = threading.Lock()
        self._products = {p.id: p for p in products}
        self._orders: dict[int, Order] = {}
        self.down: Exception | None = None  # set to make every call fail like a lost database

    def _check(self) -> None:
        if self.down is not None:
            raise self.down

    def ping(self) -> None:
        self._check()

    def list_products(self) -> list[Product]:
        self._check()
        with self._lock:
            return sorted(self._products.values(), key=lambda p: p.id)

    def get_product(self, product_id: int) -> Product | None:
        self._check()
        with self._lock:
            return self._products.get(product_id)

    def create_order(self, email: str, lines: Sequence[Line]) -> Order:
        self._check()
        lines = merge_lines(lines)
        with self._lock:
            priced = []
            for line in lines:
                product = self._products.get(line.product_id)
                if product is None:
                    raise UnknownProduct(line.product_id)
                if product.stock < line.quantity:
                    raise OutOfStock(product, line.quantity)
                priced.append(Line(line.product_id, line.quantity, product.price_cents))
            for line in priced:
                p = self._products[line.product_id]
                self._products[p.id] = replace(p, stock=p.stock - line.quantity)
            order = Order(
                id=len(self._orders) + 1,
                email=email,
                lines=tuple(priced),
                total_cents=sum(l.quantity * l.unit_price_cents for l in priced),
            )
            self._orders[order.id] = order
            return order

    def get_order(self, order_id: int) -> Order | None:
        self._check()
        with self._lock:
            return self._orders.get(order_id)
