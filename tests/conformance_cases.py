"""Hand-derived answers for the small instances in ``instances/small/``.

Each case names the constraint family (or objective feature) the instance exercises. The instance
is built so that this family binds: without it (``relax``: the key to delete) the optimum differs.
Every answer below was derived by hand (arithmetic in the comment next to it, and in the comment at
the top of the instance file), then confirmed by the brute-force oracle (``tests/oracle.py``), which
also confirms that each claimed optimal plan is the unique optimum.

``options`` are 0-based indices into each service's option list as written in the file;
``assignment`` is the same plan as {service id: mode id} (the result file's ``assignment``).
Objectives are in the user's sense: an outcome score for maximise objectives, a cost for
minimise_cost.

The solver conformance suite reuses :data:`CASES`: every backend must reproduce ``status`` and
``objective`` (within its gap), and ``options`` where given (the optimum is unique).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SMALL_DIR = Path(__file__).resolve().parent.parent / "instances" / "small"


@dataclass(frozen=True)
class Case:
    """One small instance and its hand-derived answer."""

    file: str
    """File name inside ``instances/small/``."""
    status: str
    """``optimal`` or ``infeasible``."""
    objective: float | None
    """Optimal objective in the user's sense; None when infeasible."""
    options: dict[str, int] | None
    """The unique optimal plan as option indices; None when infeasible."""
    assignment: dict[str, str] | None
    """The same plan as mode ids; None when infeasible."""
    family: str
    """The constraint family or feature the instance exercises."""
    relax: tuple[str, ...] | None = None
    """Key path whose removal changes the answer: ("constraints", key[, ...]) or
    ("modes" | "services", id, field) or ("objective",)."""

    @property
    def path(self) -> Path:
        """Absolute path of the instance file."""
        return SMALL_DIR / self.file


CASES: list[Case] = [
    # budget 140. Plans: (ih, ih) 150 > 140; (ih, vol) 140 -> 70 + 58 = 128;
    # (priv, ih) 140 -> 66 + 60 = 126; (priv, vol) 130 -> 124.  Optimum 128.
    Case(
        "budget_binds.yaml",
        "optimal",
        128,
        {"waste": 0, "libraries": 1},
        {"waste": "in_house", "libraries": "voluntary"},
        "budget",
        ("constraints", "budget"),
    ),
    # transition budget 50 (transition on change + setup once per mode used).
    # shared+shared 20+10+30 = 60 > 50; shared+ih 50 -> 120; ih+shared 40 -> 122;
    # priv+priv 25+15 = 40 -> 65+58 = 123; shared+priv / priv+shared 65 > 50;
    # priv+ih 115; ih+priv 118.  Optimum 123.
    Case(
        "transition_budget_setup_binds.yaml",
        "optimal",
        123,
        {"revenues_benefits": 2, "it": 2},
        {"revenues_benefits": "private", "it": "private"},
        "transition_budget",
        ("constraints", "transition_budget"),
    ),
    # row sum c*(f - 0.5): (priv, priv) -43; (priv, ih) -27 + 15 = -12;
    # (ih, priv) 40 - 16 = 24 -> 70 + 64 = 134; (ih, ih) 40 + 15 = 55 -> 130.  Optimum 134.
    Case(
        "min_flexibility_binds.yaml",
        "optimal",
        134,
        {"waste": 0, "leisure": 1},
        {"waste": "in_house", "leisure": "private"},
        "min_flexibility",
        ("constraints", "min_flexibility"),
    ),
    # min weighted outcome 175, minimise cost: (priv, comm) 225 but 2*60 + 40 = 160;
    # (priv, ih) 250, 180 ok; (ih, comm) 250 + 25 = 275, 180; (ih, ih) 300.  Optimum 250.
    Case(
        "min_outcome_binds.yaml",
        "optimal",
        250,
        {"home_care": 0, "libraries": 0},
        {"home_care": "private", "libraries": "in_house"},
        "min_outcome",
        ("constraints", "min_outcome"),
    ),
    # max 1 change; gains +10 (highways), +8 (youth), +5 (payroll): 60 + 50 + 50 = 160.
    Case(
        "max_changes_binds.yaml",
        "optimal",
        160,
        {"highways": 1, "youth_services": 0, "payroll": 0},
        {"highways": "private", "youth_services": "in_house", "payroll": "in_house"},
        "max_changes",
        ("constraints", "max_changes"),
    ),
    # private share <= 0.5: (priv, priv) 1.0; (priv, ih) 90/150 = 0.6; (ih, priv) 50/150 = 0.33
    # -> 70 + 65 = 135; (ih, ih) 130.  Optimum 135.
    Case(
        "sector_share_max_binds.yaml",
        "optimal",
        135,
        {"waste": 0, "street_cleansing": 1},
        {"waste": "in_house", "street_cleansing": "private"},
        "sector_share_max",
        ("constraints", "sector_share"),
    ),
    # voluntary share >= 0.3: libraries only 45/145 = 0.31 -> 58 + 55 + 60 = 173; youth only
    # 30/140 = 0.21 no; parks only 55/145 = 0.38 -> 169; two or more voluntary <= 168.
    Case(
        "sector_share_min_binds.yaml",
        "optimal",
        173,
        {"libraries": 1, "youth_services": 0, "parks": 0},
        {"libraries": "voluntary", "youth_services": "in_house", "parks": "in_house"},
        "sector_share_min",
        ("constraints", "sector_share"),
    ),
    # bundle: both in house 70 + 60 = 130; both private 78 + 55 = 133 (waste has no voluntary).
    Case(
        "same_mode_bundle.yaml",
        "optimal",
        133,
        {"waste": 1, "street_cleansing": 1},
        {"waste": "private", "street_cleansing": "private"},
        "same_mode",
        ("constraints", "same_mode"),
    ),
    # adult_assessment fixed in house (60); IT shared 56 > 50.  60 + 56 = 116.
    Case(
        "fixed_red_line.yaml",
        "optimal",
        116,
        {"adult_assessment": 0, "it": 1},
        {"adult_assessment": "in_house", "it": "shared"},
        "fixed",
        ("constraints", "fixed"),
    ),
    # minimise cost: libraries (statutory) ih 50, community 30 + 5 = 35, cease barred;
    # arts ih 20, cease 0 + 4 = 4.  35 + 4 = 39.
    Case(
        "statutory_never_ceases.yaml",
        "optimal",
        39,
        {"libraries": 1, "arts_development": 1},
        {"libraries": "community", "arts_development": "cease"},
        "statutory",
        ("services", "libraries", "statutory"),
    ),
    # private-sector FTE <= 100: priv+priv 130 no (141); shared+priv: shared is public, FTE 50
    # -> 74 + 66 = 140; jv+priv 110 no (139).  Optimum 140.
    Case(
        "limit_max_by_sector.yaml",
        "optimal",
        140,
        {"waste": 3, "highways": 1},
        {"waste": "shared", "highways": "private"},
        "limits_max_sector",
        ("constraints", "limits"),
    ),
    # in-house apprentices >= 12: parks + cleansing in house (14) -> 60 + 55 + 54 = 169;
    # parks + grounds (13) -> 168; cleansing + grounds 11 no; all in house 165.
    Case(
        "limit_min_by_mode.yaml",
        "optimal",
        169,
        {"parks": 0, "street_cleansing": 0, "grounds_maintenance": 1},
        {"parks": "in_house", "street_cleansing": "in_house", "grounds_maintenance": "private"},
        "limits_min_mode",
        ("constraints", "limits"),
    ),
    # voluntary max 1 service: best single gain youth +8: 60 + 58 + 40 = 158.
    Case(
        "mode_max_services.yaml",
        "optimal",
        158,
        {"libraries": 0, "youth_services": 1, "museums": 0},
        {"libraries": "in_house", "youth_services": "voluntary", "museums": "in_house"},
        "mode_max_services",
        ("modes", "voluntary", "max_services"),
    ),
    # voluntary spend <= 50: youth + museums (30 + 20 = 50, +9) beats libraries (45, +6):
    # 60 + 55 + 44 = 159.
    Case(
        "mode_max_spend.yaml",
        "optimal",
        159,
        {"libraries": 0, "youth_services": 1, "museums": 1},
        {"libraries": "in_house", "youth_services": "voluntary", "museums": "voluntary"},
        "mode_max_spend",
        ("modes", "voluntary", "max_spend"),
    ),
    # community used by 0 or >= 2: libraries + halls 65 + 60 + 49 = 174 (libraries + parks 173,
    # all 172, none 170; libraries alone 175 is barred).
    Case(
        "mode_min_services.yaml",
        "optimal",
        174,
        {"libraries": 1, "parks": 0, "community_halls": 1},
        {"libraries": "community", "parks": "in_house", "community_halls": "community"},
        "mode_min_services",
        ("modes", "community", "min_services"),
    ),
    # minimise cost, LATC setup 18 once: both LATC 85 + 45 + 18 = 148; none 150;
    # leisure only 153; culture only 163.  Without setup: 130 (same plan, lower cost).
    Case(
        "setup_cost_minimise_cost.yaml",
        "optimal",
        148,
        {"leisure_centres": 1, "culture": 1},
        {"leisure_centres": "latc", "culture": "latc"},
        "setup_cost",
        ("modes", "latc", "setup_cost"),
    ),
    # maximise outcome*weight + 0.5*social_value: care ih 120 + 5 = 125 vs vol 116 + 8 = 124;
    # parks ih 50 + 2 = 52 vs community 46 + 7 = 53.  125 + 53 = 178.
    Case(
        "weighted_objective.yaml",
        "optimal",
        178,
        {"care_at_home": 0, "parks": 1},
        {"care_at_home": "in_house", "parks": "community"},
        "weighted_objective",
        ("objective",),
    ),
    # minimise cost: waste private 100 (its listed 8 is not paid: no change) vs ih 97 + 6 = 103;
    # it ih 60 vs private 50 + 7 = 57.  100 + 57 = 157.
    Case(
        "minimise_cost_transition.yaml",
        "optimal",
        157,
        {"waste": 0, "it": 1},
        {"waste": "private", "it": "private"},
        "minimise_cost",
        None,
    ),
    # minimise cost, flexibility row >= 0: 8-year 93 (row -26.4 + 0 < 0) barred; 3-year 99
    # (row 9.4) beats in house 105.  99 + 30 = 129.
    Case(
        "contract_length_tradeoff.yaml",
        "optimal",
        129,
        {"waste": 2, "customer_services": 0},
        {"waste": "private", "customer_services": "in_house"},
        "options_same_mode",
        ("constraints", "min_flexibility"),
    ),
    # budget 130, weights 3 and 1: (priv, ih) 3*55 + 60 = 225; (ih, comm) 3*60 + 50 = 230;
    # (priv, comm) 215; (ih, ih) 140 > 130.  Optimum 230.
    Case(
        "weights_change_answer.yaml",
        "optimal",
        230,
        {"home_care": 0, "parks": 1},
        {"home_care": "in_house", "parks": "community"},
        "weights",
        ("services", "home_care", "weight"),
    ),
    # transition_cost limit 10, counting changes only: (ih, shared) 8 + 6 = 14 no (125);
    # (priv, shared) 0 + 6 = 6 -> 66 + 55 = 121; (ih, ih) 8 -> 120; (priv, ih) 116.
    Case(
        "limit_transition_cost_on_change.yaml",
        "optimal",
        121,
        {"waste": 0, "it": 1},
        {"waste": "private", "it": "shared"},
        "limits_transition_cost",
        ("constraints", "limits"),
    ),
    # cheapest plan 90 + 40 = 130 > 120.
    Case(
        "infeasible_budget.yaml",
        "infeasible",
        None,
        None,
        None,
        "budget",
        ("constraints", "budget"),
    ),
    # waste {in_house, private} and cleansing {shared, voluntary} share no mode.
    Case(
        "infeasible_bundle_no_common_mode.yaml",
        "infeasible",
        None,
        None,
        None,
        "same_mode",
        ("constraints", "same_mode"),
    ),
    # fixed it: shared is a change; max_changes 0 forbids it.
    Case(
        "infeasible_fixed_needs_change.yaml",
        "infeasible",
        None,
        None,
        None,
        "max_changes",
        ("constraints", "max_changes"),
    ),
    # voluntary share at most 45 / 105 = 0.43 < 0.6.
    Case(
        "infeasible_sector_min.yaml",
        "infeasible",
        None,
        None,
        None,
        "sector_share_min",
        ("constraints", "sector_share"),
    ),
]
