import unittest

import psycopg2

from shop.migrations import MIGRATIONS, MigrationError, connect_with_retry


class MigrationsTest(unittest.TestCase):
    def test_versions_increase_from_one(self):
        versions = [v for v, _, _ in MIGRATIONS]
        self.assertEqual(versions, list(range(1, len(versions) + 1)))
        names = [n for _, n, _ in MIGRATIONS]
        self.assertEqual(len(set(names)), len(names))


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class ConnectWithRetryTest(unittest.TestCase):
    def test_retries_until_the_server_is_up(self):
        clock = FakeClock()
        attempts = []

        def connect():
            attempts.append(clock.now)
            if len(attempts) < 4:
                raise psycopg2.OperationalError("connection refused")
            return "conn"

        self.assertEqual(connect_with_retry(connect, 10, clock.sleep, clock), "conn")
        self.assertEqual(attempts, [0.0, 0.25, 0.75, 1.75])

    def test_gives_up_with_the_cause_and_the_fix(self):
        clock = FakeClock()

        def connect():
            raise psycopg2.OperationalError('could not translate host name "db"\n')

        with self.assertRaises(MigrationError) as ctx:
            connect_with_retry(connect, 5, clock.sleep, clock)
        msg = str(ctx.exception)
        self.assertIn("after 5s", msg)
        self.assertIn('could not translate host name "db"', msg)
        self.assertIn("check DATABASE_URL", msg)
        self.assertLessEqual(clock.now, 5)


if __name__ == "__main__":
    unittest.main()
