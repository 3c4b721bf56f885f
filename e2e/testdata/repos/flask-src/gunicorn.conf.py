"""gunicorn's settings: gunicorn --config gunicorn.conf.py"""

import os

wsgi_app = "inventory.wsgi:app"
pythonpath = "src"
bind = "0.0.0.0:" + os.environ.get("PORT", "8080")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
accesslog = "-"
