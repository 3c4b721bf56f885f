import pytest

from inventory import create_app, db


@pytest.fixture()
def client():
    # The tests run against the PostgreSQL that DB_HOST, DB_USER, ... name.
    app = create_app({"TESTING": True})
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app.test_client()
        db.session.remove()
        db.drop_all()
