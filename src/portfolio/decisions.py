"""A plan's decisions as the verifiers take them: one entry per service, and the investments.

The per-service decisions are a list (option positions for a single period, service paths over
a horizon); a plan that makes investments (``instance.investments``) carries them alongside, as
:class:`Decisions`, a list with an ``investments`` mapping (investment id -> 0-based horizon year
it is made in; 0 for a single period). Code that only reads the per-service part keeps working
on it as a list; :func:`investments_of` reads the investments of either form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

T = TypeVar("T")


class Decisions(list[T]):
    """Per-service decisions (a list) and the investments the plan makes.

    Attributes:
        investments: investment id -> 0-based horizon year it is made in.
    """

    def __init__(self, items: Iterable[T] = (), investments: Mapping[str, int] | None = None):
        super().__init__(items)
        self.investments: dict[str, int] = dict(investments or {})


def investments_of(decisions: object) -> dict[str, int]:
    """The investments a plan's decisions make (none for a plain list)."""
    return dict(getattr(decisions, "investments", None) or {})
