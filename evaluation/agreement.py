"""The agreement API at the path ``../shared/design.md`` names: re-exported from :mod:`matrixcoder.stats.agreement`.

The statistics live in the lowest layer so that training can score folds with them without
importing evaluation; this module keeps ``matrixcoder.evaluation.agreement`` working.
"""

from matrixcoder.stats.agreement import *  # noqa: F403
from matrixcoder.stats.agreement import __all__  # noqa: F401
