"""The domain's vocabulary, defined once: who is in the alliance, the chain's stages, plant statuses.

Every other module imports these names; none repeats them.
"""

from __future__ import annotations
