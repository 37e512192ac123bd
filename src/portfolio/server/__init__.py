"""The HTTP service (``portfolio serve``) and its page.

FastAPI and uvicorn are imported only by :mod:`portfolio.server.app` and the ``serve`` command,
so ``import portfolio`` works without them (``pip install 'portfolio[serve]'``)::

    from portfolio.server.app import create_app
    from portfolio.server.settings import ServerSettings

    app = create_app(ServerSettings(max_time_limit=120))   # any ASGI server can run it
"""
