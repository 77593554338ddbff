"""Shared pytest configuration."""


def pytest_configure(config):
    # Tests that load the language model (a few seconds each, more on the
    # first run while the model is unpacked).  Skip them with -m "not lm".
    config.addinivalue_line("markers", "lm: needs the language model (slow); deselect with -m 'not lm'")
    config.addinivalue_line("markers", "ray: needs Ray (starts a local 2-CPU Ray); skipped if Ray is not installed")
