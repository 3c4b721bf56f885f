"""The WSGI entry point: gunicorn inventory.wsgi:app"""

from . import create_app

app = create_app()
