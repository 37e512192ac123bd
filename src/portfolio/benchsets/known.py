"""Known values of the public GAP and MMKP instances (from ``shared/benchmarks/SOURCES.md``).

Each entry says what the value is:

* ``optimal``: a proven optimum. gap1-12 in both senses (maximisation: OR-Library gapinfo.txt;
  minimisation: fontanf/generalizedassignmentsolver data.csv), gapa-c and Yagiura type E (data.csv,
  proven again with HiGHS), MMKP I01-I06 (the files' "Exact Solution", DIP's mmkp.opt, HiGHS).
* ``best_known``: the best plan value published, not proven here. gapd (data.csv lists d05100 to
  d20100 as optimal, but HiGHS did not close them in 240 s; d20200 is open: 12241).
* ``upper_bound``: only a bound is citable. MMKP I07-I13: the LP upper bound printed in each file.

``lower`` and ``upper`` carry extra reference figures where SOURCES.md gives them: for gapd the
bracket HiGHS proved in 240 s (lower: dual bound, upper: its best plan); for I07-I13 the best plan
(``lower``) and the bound (``upper``) of a 180 s HiGHS run. A plan must never beat a proven optimum
or an upper bound, and a proven bound must never cut off a known plan value.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

KnownKind = Literal["optimal", "best_known", "upper_bound"]
Sense = Literal["maximise", "minimise"]


@dataclass(frozen=True)
class KnownValue:
    """A published value for one instance in one objective sense.

    Attributes:
        instance: instance name (``gap1-1``, ``a05100``, ``e05100``, ``I07``).
        sense: ``maximise`` or ``minimise``.
        value: the value.
        kind: ``optimal``, ``best_known`` (a plan value, not proven) or ``upper_bound``.
        lower: a further reference lower bound on the optimum, if any.
        upper: a further reference upper bound on the optimum, if any.
        source: where the value comes from.
    """

    instance: str
    sense: Sense
    value: float
    kind: KnownKind
    lower: float | None = None
    upper: float | None = None
    source: str = ""

    @property
    def is_plan_value(self) -> bool:
        """True when some plan attains ``value`` (optimal and best_known, not upper_bound)."""
        return self.kind != "upper_bound"


# ---------------------------------------------------------------------- gap1-12
#: gap1..gap12: (m, n) and the five maximisation optima (OR-Library gapinfo.txt).
GAP_MAX: dict[int, tuple[tuple[int, int], tuple[int, ...]]] = {
    1: ((5, 15), (336, 327, 339, 341, 326)),
    2: ((5, 20), (434, 436, 420, 419, 428)),
    3: ((5, 25), (580, 564, 573, 570, 564)),
    4: ((5, 30), (656, 644, 673, 647, 664)),
    5: ((8, 24), (563, 558, 564, 568, 559)),
    6: ((8, 32), (761, 759, 758, 752, 747)),
    7: ((8, 40), (942, 949, 968, 945, 951)),
    8: ((8, 48), (1133, 1134, 1141, 1117, 1127)),
    9: ((10, 30), (709, 717, 712, 723, 706)),
    10: ((10, 40), (958, 963, 960, 947, 947)),
    11: ((10, 50), (1139, 1178, 1195, 1171, 1171)),
    12: ((10, 60), (1451, 1449, 1433, 1447, 1446)),
}

#: gap1..gap12: the five minimisation optima (fontanf data.csv, cattrysse1994/gapK-0..4).
GAP_MIN: dict[int, tuple[int, ...]] = {
    1: (261, 269, 256, 274, 251),
    2: (277, 269, 260, 269, 267),
    3: (438, 415, 446, 430, 411),
    4: (423, 424, 426, 395, 406),
    5: (403, 389, 383, 384, 396),
    6: (525, 527, 519, 516, 521),
    7: (646, 662, 662, 645, 649),
    8: (797, 783, 800, 789, 792),
    9: (482, 476, 496, 497, 488),
    10: (638, 638, 654, 635, 639),
    11: (573, 583, 589, 578, 581),
    12: (974, 956, 941, 954, 945),
}

# ---------------------------------------------------------------------- gapa-d, type E
#: Chu & Beasley A-C (minimisation), proven optimal (fontanf data.csv, N, HiGHS).
GAP_ABC: dict[str, int] = {
    "a05100": 1698, "a05200": 3235, "a10100": 1360, "a10200": 2623, "a20100": 1158, "a20200": 2339,
    "b05100": 1843, "b05200": 3552, "b10100": 1407, "b10200": 2827, "b20100": 1166, "b20200": 2339,
    "c05100": 1931, "c05200": 3456, "c10100": 1402, "c10200": 2806, "c20100": 1243, "c20200": 2391,
}  # fmt: skip

#: Chu & Beasley D (minimisation): best known value and the HiGHS 240 s bracket (lower, upper).
GAP_D: dict[str, tuple[int, tuple[int, int]]] = {
    "d05100": (6353, (6350, 6356)),
    "d05200": (12742, (12739, 12746)),
    "d10100": (6347, (6335, 6362)),
    "d10200": (12430, (12424, 12448)),
    "d20100": (6185, (6167, 6229)),
    "d20200": (12241, (12226, 12281)),
}

#: Yagiura type E (minimisation), proven optimal (fontanf data.csv, HiGHS).
GAP_E: dict[str, int] = {
    "e05100": 12681, "e05200": 24930, "e10100": 11577,
    "e10200": 23307, "e20100": 8436, "e20200": 22379,
}  # fmt: skip

# ---------------------------------------------------------------------- MMKP
#: Khan MMKP (maximisation): I01-I06 optimal; the LP upper bound stated in every file.
MMKP_OPTIMAL: dict[str, float] = {
    "I01": 173, "I02": 364, "I03": 1602, "I04": 3597, "I05": 3905.7, "I06": 4799.3,
}  # fmt: skip
MMKP_FILE_UPPER_BOUND: dict[str, float] = {
    "I01": 182.71, "I02": 365.58, "I03": 1626.59, "I04": 3631.36, "I05": 3905.90,
    "I06": 4812.82, "I07": 24607.95, "I08": 36904.41, "I09": 49193.87, "I10": 61486.30,
    "I11": 73797.74, "I12": 86100.45, "I13": 98448.64,
}  # fmt: skip
#: I07-I13: best plan (LB) and bound (UB) of a 180 s HiGHS run (SOURCES.md section 5).
MMKP_HIGHS_BRACKET: dict[str, tuple[int, int]] = {
    "I07": (24584, 24607), "I08": (36852, 36903), "I09": (49160, 49193), "I10": (61447, 61486),
    "I11": (73752, 73797), "I12": (86049, 86100), "I13": (98410, 98448),
}  # fmt: skip

_FONTAN = "fontanf/generalizedassignmentsolver data/data.csv"


def _build() -> dict[tuple[str, Sense], KnownValue]:
    table: dict[tuple[str, Sense], KnownValue] = {}

    def add(entry: KnownValue) -> None:
        table[(entry.instance, entry.sense)] = entry

    for k, (_, maxima) in GAP_MAX.items():
        for i, (best_max, best_min) in enumerate(zip(maxima, GAP_MIN[k], strict=True), start=1):
            name = f"gap{k}-{i}"
            add(KnownValue(name, "maximise", best_max, "optimal", source="OR-Library gapinfo.txt"))
            source = f"{_FONTAN} (cattrysse1994/gap{k}-{i - 1})"
            add(KnownValue(name, "minimise", best_min, "optimal", source=source))
    for name, value in GAP_ABC.items():
        add(KnownValue(name, "minimise", value, "optimal", source=f"{_FONTAN}; HiGHS proved"))
    for name, (value, (lower, upper)) in GAP_D.items():
        note = "open; N = 12241, R ub = 12241" if name == "d20200" else "optimal per data.csv"
        source = f"{_FONTAN} ({note}); lower/upper: HiGHS 240 s"
        add(KnownValue(name, "minimise", value, "best_known", lower, upper, source=source))
    for name, value in GAP_E.items():
        add(KnownValue(name, "minimise", value, "optimal", source=f"{_FONTAN}; HiGHS proved"))
    for name, file_ub in MMKP_FILE_UPPER_BOUND.items():
        if name in MMKP_OPTIMAL:
            source = "Exact Solution in the file; DIP mmkp.opt; HiGHS proved"
            optimum = MMKP_OPTIMAL[name]
            add(KnownValue(name, "maximise", optimum, "optimal", upper=file_ub, source=source))
        else:
            lower, upper = MMKP_HIGHS_BRACKET[name]
            source = "LP upper bound in the file; lower/upper: HiGHS 180 s"
            add(KnownValue(name, "maximise", file_ub, "upper_bound", lower, upper, source=source))
    return table


#: (instance name, sense) -> known value.
KNOWN: MappingProxyType[tuple[str, Sense], KnownValue] = MappingProxyType(_build())


def known_value(instance: str, sense: Sense) -> KnownValue | None:
    """The known value of an instance in one sense, or None when none is recorded."""
    return KNOWN.get((instance, sense))
