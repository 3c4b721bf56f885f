import pytest

from worker import handle


def test_echo():
    assert handle({"kind": "echo", "text": "hi"}) == "hi"


def test_unknown_kind():
    with pytest.raises(ValueError):
        handle({"kind": "rm"})
