import unittest

from shop.config import Config, ConfigError


class ConfigTest(unittest.TestCase):
    def test_defaults(self):
        c = Config.from_env({})
        self.assertEqual(c.port, 8000)
        self.assertEqual(c.database_url, "")  # libpq then reads the PG* variables
        self.assertEqual(c.workers, 2)
        self.assertEqual(c.log_level, "INFO")

    def test_reads(self):
        c = Config.from_env(
            {
                "DATABASE_URL": "postgresql://shop:pw@db:5432/shop",
                "PORT": "9000",
                "WEB_CONCURRENCY": "4",
                "LOG_LEVEL": "debug",
            }
        )
        self.assertEqual(c.database_url, "postgresql://shop:pw@db:5432/shop")
        self.assertEqual(c.port, 9000)
        self.assertEqual(c.workers, 4)
        self.assertEqual(c.log_level, "DEBUG")
        self.assertEqual(c.log_level_number, 10)

    def test_rejects(self):
        cases = [
            ({"PORT": "http"}, 'PORT: "http" is not valid; use a whole number from 1 to 65535'),
            ({"PORT": "0"}, 'PORT: "0" is not valid; use a whole number from 1 to 65535'),
            ({"PORT": "70000"}, 'PORT: "70000" is not valid; use a whole number from 1 to 65535'),
            ({"WEB_CONCURRENCY": "-1"}, 'WEB_CONCURRENCY: "-1" is not valid; use a whole number from 1 to 64'),
            ({"LOG_LEVEL": "loud"}, 'LOG_LEVEL: "loud" is not a log level; use DEBUG, INFO, WARNING or ERROR'),
        ]
        for env, want in cases:
            with self.subTest(env=env):
                with self.assertRaises(ConfigError) as ctx:
                    Config.from_env(env)
                self.assertEqual(str(ctx.exception), want)


if __name__ == "__main__":
    unittest.main()
