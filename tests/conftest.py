"""Shared pytest configuration."""
import pytest


def pytest_configure(config):
    # Tests that load the language model (a few seconds each, more on the
    # first run while the model is unpacked).  Skip them with -m "not lm".
    config.addinivalue_line("markers", "lm: needs the language model (slow); deselect with -m 'not lm'")
    config.addinivalue_line("markers", "ray: needs Ray (starts a local 2-CPU Ray); skipped if Ray is not installed")


@pytest.fixture
def flaky_engine(monkeypatch):
    """The restorer, made to raise RuntimeError("engine exploded") for any
    batch (or single text) that contains "BOOM"."""
    import unspin.restore

    real_many = unspin.restore.restore_many

    def flaky_many(texts, config):
        texts = list(texts)
        if any("BOOM" in t for t in texts):
            raise RuntimeError("engine exploded")
        return real_many(texts, config)

    monkeypatch.setattr(unspin.restore, "restore_many", flaky_many)
    monkeypatch.setattr(unspin.restore, "restore_and_explain", lambda text, config: next(flaky_many([text], config)))
