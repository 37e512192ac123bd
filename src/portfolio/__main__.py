"""``python -m portfolio``: the same as the ``portfolio`` command."""

from portfolio.cli import main

raise SystemExit(main())
