"""The schema, as numbered migrations applied once each, in order, by `python3 -m shop migrate`.

Run as a Kubernetes Job before the new release: several runs at once are safe (an
advisory lock serialises them) and a second run applies nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

import psycopg2

log = logging.getLogger("shop.migrate")

# Any constant shared by every process that migrates this schema.
LOCK_ID = 0x73686F70  # "shop"

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "products and orders",
        """
        CREATE TABLE products (
            id          bigserial PRIMARY KEY,
            sku         text    NOT NULL UNIQUE,
            name        text    NOT NULL,
            price_cents integer NOT NULL CHECK (price_cents >= 0),
            stock       integer NOT NULL CHECK (stock >= 0)
        );
        CREATE TABLE orders (
            id          bigserial   PRIMARY KEY,
            email       text        NOT NULL DEFAULT '',
            total_cents bigint      NOT NULL CHECK (total_cents >= 0),
            created_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE order_items (
            order_id         bigint  NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
            product_id       bigint  NOT NULL REFERENCES products (id),
            quantity         integer NOT NULL CHECK (quantity > 0),
            unit_price_cents integer NOT NULL CHECK (unit_price_cents >= 0),
            PRIMARY KEY (order_id, product_id)
        );
        """,
    ),
    (
        2,
        "catalogue",
        """
        INSERT INTO products (sku, name, price_cents, stock) VALUES
            ('MUG-001',  'Coffee mug',        1290, 100),
            ('TEE-001',  'T-shirt, black',    2490,  50),
            ('CAP-001',  'Baseball cap',      1990,  25),
            ('BAG-001',  'Canvas tote bag',    990, 200),
            ('STK-001',  'Sticker pack',       450, 500)
        ON CONFLICT (sku) DO NOTHING;
        """,
    ),
)


class MigrationError(RuntimeError):
    pass


def connect_with_retry(
    connect: Callable[[], "psycopg2.extensions.connection"],
    wait: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
):
    """Connects, retrying for up to `wait` seconds while the server is not up yet."""
    deadline = clock() + wait
    delay = 0.25
    while True:
        try:
            return connect()
        except psycopg2.OperationalError as err:
            if clock() + delay > deadline:
                raise MigrationError(
                    f"cannot reach PostgreSQL after {wait:g}s: {str(err).strip()}; "
                    "check DATABASE_URL (or PGHOST, PGUSER, PGPASSWORD, PGDATABASE) and that the server is up"
                ) from err
            log.info("waiting for PostgreSQL", extra={"error": str(err).strip()})
            sleep(delay)
            delay = min(delay * 2, 2.0)


def migrate(conn) -> list[int]:
    """Applies the migrations `conn`'s database lacks; returns the versions applied."""
    conn.autocommit = False
    applied: list[int] = []
    with conn.cursor() as cur:
        # A session lock: it outlives the commits below and ends with the connection.
        cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.commit()
        cur.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in cur.fetchall()}
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            try:
                cur.execute(sql)
                cur.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
                conn.commit()
            except psycopg2.Error as err:
                conn.rollback()
                raise MigrationError(f"migration {version} ({name}) failed: {str(err).strip()}") from err
            log.info("applied migration", extra={"version": version, "migration": name})
            applied.append(version)
        cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK_ID,))
        conn.commit()
    return applied
