"""Analysis: I-V curves, firing-regime classification, f-I curves and regime maps.

* :func:`iv_curves` (:mod:`.iv`): instantaneous/fast/slow/ultraslow or steady-state I-V
  curves with their regions of negative slope conductance.
* :func:`classify`, :func:`classify_many`, :func:`burst_stats` (:mod:`.regimes`): firing
  regime and bursts of spike trains, with documented, tunable criteria.
* :func:`fi_curve`, :func:`rheobase` (:mod:`.fi`): rate against constant current, one run.
* :func:`regime_map` (:mod:`.maps`): regimes over a 2-D parameter grid, one run.
"""

from .fi import fi_curve, rheobase
from .iv import IVCurves, iv_curves
from .maps import RegimeMap, regime_map
from .regimes import REGIMES, BurstStats, Criteria, burst_stats, classify, classify_many

__all__ = ["REGIMES", "BurstStats", "Criteria", "IVCurves", "RegimeMap", "burst_stats",
           "classify", "classify_many", "fi_curve", "iv_curves", "regime_map", "rheobase"]
