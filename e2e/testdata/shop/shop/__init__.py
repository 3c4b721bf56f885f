"""A small web shop on PostgreSQL: the kind of application deploy-action ships.

Run ``python3 -m shop serve`` (gunicorn) or ``python3 -m shop migrate`` (schema).
"""
