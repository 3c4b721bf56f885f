"""PostgresStore: the shop's data in PostgreSQL, through psycopg2."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator, Sequence

import psycopg2
import psycopg2.extras
import psycopg2.pool

from .store import Line, Order, OutOfStock, Product, Unavailable, UnknownProduct, merge_lines


def connect_args(dsn: str, connect_timeout: int) -> dict:
    """Arguments for psycopg2.connect; an empty dsn means libpq's PG* variables."""
    return {
        "dsn": dsn,
        "connect_timeout": connect_timeout,
        "application_name": "shop",
        # A stuck query must not hold a worker past gunicorn's timeout.
        "options": "-c statement_timeout=10000",
    }


class PostgresStore:
    def __init__(self, dsn: str = "", connect_timeout: int = 3, max_connections: int = 4):
        self._args = connect_args(dsn, connect_timeout)
        self._max = max_connections
        self._lock = threading.Lock()
        self._pool: psycopg2.pool.ThreadedConnectionPool | None = None
        self._pid = 0

    def _connections(self) -> psycopg2.pool.ThreadedConnectionPool:
        # The pool is made on first use in each process: one made before gunicorn forks
        # its workers would share sockets between them.
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                self._pool = psycopg2.pool.ThreadedConnectionPool(0, self._max, **self._args)
                self._pid = os.getpid()
            return self._pool

    @contextmanager
    def _transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        try:
            pool = self._connections()
            conn = pool.getconn()
        except (psycopg2.OperationalError, psycopg2.pool.PoolError) as err:
            raise Unavailable(f"database: {str(err).strip()}") from err
        try:
            with conn, conn.cursor() as cur:  # commits, or rolls back on an exception
                yield cur
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as err:
            raise Unavailable(f"database: {str(err).strip()}") from err
        finally:
            # A connection the server dropped is closed, not handed to the next request.
            pool.putconn(conn, close=bool(conn.closed))

    def close(self) -> None:
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.closeall()
            self._pool = None

    def ping(self) -> None:
        with self._transaction() as cur:
            cur.execute("SELECT 1")

    def list_products(self) -> list[Product]:
        with self._transaction() as cur:
            cur.execute("SELECT id, sku, name, price_cents, stock FROM products ORDER BY id")
            return [Product(*row) for row in cur.fetchall()]

    def get_product(self, product_id: int) -> Product | None:
        with self._transaction() as cur:
            cur.execute("SELECT id, sku, name, price_cents, stock FROM products WHERE id = %s", (product_id,))
            row = cur.fetchone()
            return Product(*row) if row else None

    def create_order(self, email: str, lines: Sequence[Line]) -> Order:
        lines = merge_lines(lines)
        with self._transaction() as cur:
            # FOR UPDATE holds the rows until commit, so two orders cannot sell the same unit;
            # rows are locked in id order (merge_lines sorts), so they cannot deadlock either.
            cur.execute(
                "SELECT id, sku, name, price_cents, stock FROM products WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                ([l.product_id for l in lines],),
            )
            products = {row[0]: Product(*row) for row in cur.fetchall()}
            priced = []
            for line in lines:
                product = products.get(line.product_id)
                if product is None:
                    raise UnknownProduct(line.product_id)
                if product.stock < line.quantity:
                    raise OutOfStock(product, line.quantity)
                priced.append(Line(line.product_id, line.quantity, product.price_cents))
            cur.executemany(
                "UPDATE products SET stock = stock - %s WHERE id = %s",
                [(l.quantity, l.product_id) for l in priced],
            )
            total = sum(l.quantity * l.unit_price_cents for l in priced)
            cur.execute(
                "INSERT INTO orders (email, total_cents) VALUES (%s, %s) RETURNING id, created_at",
                (email, total),
            )
            order_id, created_at = cur.fetchone()
            psycopg2.extras.execute_values(
                cur,
                "INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES %s",
                [(order_id, l.product_id, l.quantity, l.unit_price_cents) for l in priced],
            )
            return Order(order_id, email, tuple(priced), total, created_at)

    def get_order(self, order_id: int) -> Order | None:
        with self._transaction() as cur:
            cur.execute("SELECT id, email, total_cents, created_at FROM orders WHERE id = %s", (order_id,))
            row = cur.fetchone()
            if row is None:
                return None
            cur.execute(
                "SELECT product_id, quantity, unit_price_cents FROM order_items WHERE order_id = %s ORDER BY product_id",
                (order_id,),
            )
            lines = tuple(Line(*r) for r in cur.fetchall())
            return Order(row[0], row[1], lines, row[2], row[3])
