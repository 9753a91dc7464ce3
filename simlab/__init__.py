"""simlab: a teaching laboratory for web PKI trust in the HPKP era.

The public surface is small: ``simlab.run`` for one scenario under one defence, the
mechanism modules (``simlab.pki``, ``simlab.hpkp``, ``simlab.static_pins``, ``simlab.ct``)
for working with real artefacts, and the ``simlab`` command line.
"""

from __future__ import annotations

from simlab.errors import SimlabError

__version__ = "0.1.0"
__all__ = ["Result", "SimlabError", "__version__", "run"]


def __getattr__(name: str) -> object:
    # Lazy, so that ``import simlab`` stays cheap (no pandas, no world model).
    if name in ("run", "Result"):
        from simlab import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'simlab' has no attribute {name!r}")
