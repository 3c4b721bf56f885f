import json
import unittest

from prometheus_client.parser import text_string_to_metric_families

from shop.app import create_app
from shop.metrics import Metrics
from shop.store import MemoryStore, Product, Unavailable

CATALOGUE = (
    Product(1, "MUG-001", "Coffee mug", 1290, 10),
    Product(2, "TEE-001", "T-shirt, black", 2490, 1),
)


def sample(text, name, labels):
    """The value of one sample in a Prometheus exposition, or None."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return None


class APITest(unittest.TestCase):
    def setUp(self):
        self.store = MemoryStore(CATALOGUE)
        self.metrics = Metrics()
        self.client = create_app(self.store, self.metrics).test_client()

    def order(self, body):
        return self.client.post("/api/orders", data=json.dumps(body), content_type="application/json")

    def test_probes(self):
        self.assertEqual(self.client.get("/healthz").json, {"status": "ok"})
        self.assertEqual(self.client.get("/readyz").status_code, 200)

    def test_not_ready_without_database_but_alive(self):
        self.store.down = Unavailable("database: connection refused")
        resp = self.client.get("/readyz")
        self.assertEqual(resp.status_code, 503)
        self.assertEqual(resp.json["status"], "unavailable")
        self.assertIn("connection refused", resp.json["error"])
        self.assertEqual(self.client.get("/healthz").status_code, 200)

    def test_database_down_is_503_with_retry_after(self):
        self.store.down = Unavailable("database: connection refused")
        resp = self.client.get("/api/products")
        self.assertEqual(resp.status_code, 503)
        self.assertEqual(resp.headers["Retry-After"], "5")

    def test_products(self):
        resp = self.client.get("/api/products")
        self.assertEqual(resp.status_code, 200)
        self.assertEqual([p["sku"] for p in resp.json["products"]], ["MUG-001", "TEE-001"])
        self.assertEqual(self.client.get("/api/products/2").json["name"], "T-shirt, black")
        missing = self.client.get("/api/products/99")
        self.assertEqual(missing.status_code, 404)
        self.assertIn("product 99 does not exist", missing.json["error"])

    def test_order_round_trip(self):
        resp = self.order(
            {
                "email": "ana@example.com",
                "items": [{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 1}, {"product_id": 1}],
            }
        )
        self.assertEqual(resp.status_code, 201, resp.json)
        order = resp.json
        self.assertEqual(order["total_cents"], 3 * 1290 + 2490)
        self.assertEqual(
            order["items"],
            [
                {"product_id": 1, "quantity": 3, "unit_price_cents": 1290},
                {"product_id": 2, "quantity": 1, "unit_price_cents": 2490},
            ],
        )
        self.assertEqual(resp.headers["Location"], f"/api/orders/{order['id']}")
        self.assertEqual(self.client.get(resp.headers["Location"]).json, order)
        self.assertEqual(self.client.get("/api/products/1").json["stock"], 7)
        self.assertEqual(self.client.get("/api/products/2").json["stock"], 0)

    def test_order_rejected(self):
        cases = [
            ("not an object", [1, 2], 400, "body: expected a JSON object"),
            ("no items", {"email": "a@b.c"}, 400, "items: expected a list of 1 to 50 items"),
            ("empty items", {"items": []}, 400, "items: expected a list of 1 to 50 items"),
            ("bad email", {"email": "nobody", "items": [{"product_id": 1}]}, 400, "email: expected an e-mail"),
            ("item not object", {"items": [3]}, 400, "items[0]: expected an object"),
            ("string id", {"items": [{"product_id": "1"}]}, 400, "items[0].product_id: '1' is not a product id"),
            ("bool id", {"items": [{"product_id": True}]}, 400, "items[0].product_id: True is not a product id"),
            ("zero quantity", {"items": [{"product_id": 1, "quantity": 0}]}, 400, "items[0].quantity: 0 is not valid"),
            ("huge quantity", {"items": [{"product_id": 1, "quantity": 101}]}, 400, "use a whole number from 1 to 100"),
            ("unknown product", {"items": [{"product_id": 42}]}, 422, "product 42 does not exist"),
            ("out of stock", {"items": [{"product_id": 2, "quantity": 2}]}, 409, "has 1 in stock, 2 wanted"),
        ]
        for name, body, status, message in cases:
            with self.subTest(name):
                resp = self.order(body)
                self.assertEqual(resp.status_code, status, resp.json)
                self.assertIn(message, resp.json["error"])
        # Nothing was sold by the rejected orders.
        self.assertEqual([p.stock for p in self.store.list_products()], [10, 1])

    def test_not_json(self):
        resp = self.client.post("/api/orders", data="items=1", content_type="application/x-www-form-urlencoded")
        self.assertEqual(resp.status_code, 400)

    def test_unknown_route_is_json(self):
        resp = self.client.get("/nope")
        self.assertEqual(resp.status_code, 404)
        self.assertIn("error", resp.json)

    def test_metrics_by_route_template_and_status(self):
        self.client.get("/api/products/1")
        self.client.get("/api/products/2")
        self.client.get("/api/products/99")
        self.order({"items": [{"product_id": 1, "quantity": 2}]})
        self.client.get("/no/such/page")
        text = self.client.get("/metrics").get_data(as_text=True)
        products = "/api/products/<int:product_id>"
        for name, labels, want in (
            ("shop_http_requests_total", {"route": products, "method": "GET", "status": "200"}, 2),
            ("shop_http_requests_total", {"route": products, "method": "GET", "status": "404"}, 1),
            ("shop_http_requests_total", {"route": "/api/orders", "method": "POST", "status": "201"}, 1),
            ("shop_http_requests_total", {"route": "unmatched", "method": "GET", "status": "404"}, 1),
            ("shop_http_request_duration_seconds_count", {"route": "/api/orders", "method": "POST", "status": "201"}, 1),
            (
                "shop_http_request_duration_seconds_bucket",
                {"route": "/api/orders", "method": "POST", "status": "201", "le": "+Inf"},
                1,
            ),
            ("shop_orders_total", {}, 1),
            ("shop_order_value_cents_total", {}, 2580),
        ):
            with self.subTest(name=name, labels=labels):
                self.assertEqual(sample(text, name, labels), want)
        self.assertTrue(self.client.get("/metrics").content_type.startswith("text/plain"))


if __name__ == "__main__":
    unittest.main()
