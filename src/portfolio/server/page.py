"""The page at ``/``: server-rendered HTML, with a small script and stylesheet served by the
package from ``portfolio/server/static`` (no CDN: the page works offline).

An analyst uploads an instance file or workbook, chooses the objective, the backend and the time
limit, and solves; the page shows the report (``POST /v1/report``) and offers the result as JSON,
XLSX (``POST /v1/workbook``) or HTML.
"""

from __future__ import annotations

from html import escape

from portfolio.server.settings import ServerSettings

DEFAULT_PAGE_TIME_LIMIT = 30.0
"""Seconds offered by the page's time limit field (or the server's cap, if lower)."""

OBJECTIVES = (
    ("", "as in the file"),
    ("maximise_outcome", "maximise weighted outcome"),
    ("minimise_cost", "minimise cost (annual + transition + setup)"),
)


def render_page(settings: ServerSettings) -> str:
    """The page's HTML."""
    from portfolio import __version__
    from portfolio.server.schemas import backend_rows

    backends = [row for row in backend_rows() if row["installed"]]
    backend_options = "\n".join(
        f'<option value="{escape(row["name"])}"{" selected" if row["default"] else ""}>'
        f'{escape(row["name"])}{" (default)" if row["default"] else ""}</option>'
        for row in backends
    )
    objective_options = "\n".join(
        f'<option value="{escape(value)}">{escape(label)}</option>' for value, label in OBJECTIVES
    )
    cap = settings.max_time_limit
    default_limit = min(DEFAULT_PAGE_TIME_LIMIT, cap)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>portfolio: choose how each council service is delivered</title>
<link rel="stylesheet" href="/static/page.css">
</head>
<body>
<header>
<h1>portfolio</h1>
<p>Choose how each council service is delivered: upload your instance file or workbook, solve,
and read the plan against today's services.</p>
</header>
<main>
<form id="solve-form" class="panel" enctype="multipart/form-data" novalidate>
<div class="field">
<label for="file">Instance file or workbook</label>
<input type="file" id="file" name="file" accept=".yaml,.yml,.json,.toml,.xlsx" required>
<small>.yaml, .yml, .json, .toml or .xlsx
(the workbook from <code>portfolio template</code>)</small>
</div>
<div class="field">
<label for="objective">Objective</label>
<select id="objective" name="objective">
{objective_options}
</select>
</div>
<div class="field">
<label for="backend">Solver</label>
<select id="backend" name="backend">
{backend_options}
</select>
</div>
<div class="field">
<label for="time_limit">Time limit (seconds)</label>
<input type="number" id="time_limit" name="time_limit" min="1" max="{cap:g}" step="any"
 value="{default_limit:g}">
<small>at most {cap:g} s on this server</small>
</div>
<div class="actions"><button type="submit" id="solve">Solve</button></div>
</form>
<section id="status" role="status" aria-live="polite"></section>
<section id="problem" class="panel problem" hidden>
<h2 id="problem-title"></h2>
<p id="problem-detail"></p>
<ul id="problem-errors"></ul>
</section>
<section id="result" hidden>
<div class="panel summary">
<p id="headline"></p>
<div class="downloads">
<span>Download the result:</span>
<button type="button" id="download-json">JSON</button>
<button type="button" id="download-xlsx">XLSX</button>
<button type="button" id="download-html">HTML report</button>
</div>
<p id="download-note" class="note" hidden></p>
</div>
<iframe id="report" title="Report" hidden></iframe>
<div id="fallback" hidden></div>
</section>
</main>
<noscript><p class="panel">This page needs JavaScript. The service itself does not: see
<a href="/openapi.json">/openapi.json</a>.</p></noscript>
<footer>portfolio {escape(__version__)} · API: <a href="/openapi.json">/openapi.json</a>
· time limit capped at {cap:g} s</footer>
<script src="/static/page.js"></script>
</body>
</html>
"""
