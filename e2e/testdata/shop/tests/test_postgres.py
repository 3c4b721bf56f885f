"""The shop's SQL against a real PostgreSQL, named by DATABASE_URL (a CI service).

Skipped when DATABASE_URL is unset, so that the image's test stage (no database) still runs
the rest; a CI job that provides the service runs these too.
"""

import os
import unittest

import psycopg2

from shop.migrations import migrate
from shop.postgres import PostgresStore
from shop.store import Line, OutOfStock

DATABASE_URL = os.environ.get("DATABASE_URL", "")


@unittest.skipUnless(DATABASE_URL, "DATABASE_URL is not set: no PostgreSQL to test against")
class PostgresStoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        conn = psycopg2.connect(DATABASE_URL)
        try:
            migrate(conn)
            # Idempotent: a second run applies nothing.
            assert migrate(conn) == []
        finally:
            conn.close()
        cls.store = PostgresStore(DATABASE_URL)

    @classmethod
    def tearDownClass(cls):
        cls.store.close()

    def test_ping(self):
        self.store.ping()

    def test_catalogue_is_seeded(self):
        products = self.store.list_products()
        self.assertTrue(products)
        self.assertEqual(self.store.get_product(products[0].id), products[0])

    def test_order_takes_stock_in_one_transaction(self):
        product = max(self.store.list_products(), key=lambda p: p.stock)
        order = self.store.create_order("ana@example.com", [Line(product.id, 1)])
        self.assertEqual(order.total_cents, product.price_cents)
        self.assertEqual(self.store.get_product(product.id).stock, product.stock - 1)
        self.assertEqual(self.store.get_order(order.id).email, "ana@example.com")
        with self.assertRaises(OutOfStock):
            self.store.create_order("ana@example.com", [Line(product.id, product.stock + 1)])
        self.assertEqual(self.store.get_product(product.id).stock, product.stock - 1)


if __name__ == "__main__":
    unittest.main()
