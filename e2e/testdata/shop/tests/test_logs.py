import io
import json
import logging
import unittest

from shop.logs import JSONFormatter


class JSONFormatterTest(unittest.TestCase):
    def setUp(self):
        self.out = io.StringIO()
        handler = logging.StreamHandler(self.out)
        handler.setFormatter(JSONFormatter())
        self.log = logging.getLogger(f"test.{self.id()}")
        self.log.handlers[:] = [handler]
        self.log.propagate = False
        self.log.setLevel(logging.DEBUG)

    def lines(self):
        return [json.loads(line) for line in self.out.getvalue().splitlines()]

    def test_one_object_per_line_with_extras(self):
        self.log.info("order placed", extra={"order_id": 7, "total_cents": 2580})
        self.log.warning('quote " and\nnewline')
        first, second = self.lines()
        self.assertEqual(first["message"], "order placed")
        self.assertEqual(first["level"], "info")
        self.assertEqual(first["order_id"], 7)
        self.assertEqual(first["total_cents"], 2580)
        self.assertTrue(first["time"].endswith("+00:00"), first["time"])
        self.assertEqual(second["message"], 'quote " and\nnewline')
        self.assertNotIn("args", first)

    def test_exception(self):
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            self.log.exception("failed")
        (entry,) = self.lines()
        self.assertIn("RuntimeError: boom", entry["error"])


if __name__ == "__main__":
    unittest.main()
