"""``python -m portfolio.cli``: the ``portfolio`` command."""

from portfolio.cli import main

raise SystemExit(main())
