"""Funding scenarios (issue 9, models/scenarios.md): a multi-year plan that holds in every funding
future, deciding each year only on what is known by then, and what uncertainty and flexibility
are worth (:func:`portfolio.scenarios.appraise.appraise`)."""
