"""Inventory: a small stock-keeping service on PostgreSQL."""

import os

from flask import Flask, abort, jsonify, request
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

db = SQLAlchemy()
migrate = Migrate()


def database_url() -> str:
    host = os.environ.get("DB_HOST", "localhost")
    port = os.environ.get("DB_PORT", "5432")
    user = os.environ["DB_USER"]
    password = os.environ["DB_PASSWORD"]
    name = os.getenv("DB_NAME", "inventory")
    return f"postgresql+psycopg://{user}:{password}@{host}:{port}/{name}"


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url()
    app.config.update(config or {})
    db.init_app(app)
    # The migrations live next to src/, where `flask db init` made them.
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "..", "migrations"))

    from .models import Item

    @app.get("/healthz")
    def healthz():
        db.session.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.get("/items")
    def list_items():
        items = db.session.execute(db.select(Item).order_by(Item.sku)).scalars()
        return jsonify([item.to_dict() for item in items])

    @app.post("/items")
    def add_item():
        body = request.get_json(silent=True) or {}
        sku, quantity = body.get("sku"), body.get("quantity", 0)
        if not isinstance(sku, str) or not sku or not isinstance(quantity, int) or quantity < 0:
            abort(400, 'expected {"sku": "ABC-1", "quantity": 3}')
        item = Item(sku=sku, quantity=quantity)
        db.session.add(item)
        db.session.commit()
        return item.to_dict(), 201

    return app
