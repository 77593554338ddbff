"""The web front door: ``unspin serve``.

* :mod:`unspin.web.app` — :func:`~unspin.web.app.create_app`, the FastAPI
  application: the HTTP API (``/v1/detect``, ``/v1/restore``, ``/v1/trace``)
  and the page at ``/`` (``static/``: plain HTML, CSS and JavaScript, no
  build step, nothing fetched from the internet).
* :mod:`unspin.web.cli` — the ``serve`` subcommand.

FastAPI and uvicorn are an extra (``pip install 'unspin[web]'``); nothing
here is imported by ``import unspin``.
"""
