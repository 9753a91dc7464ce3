"""simlab: a teaching laboratory for web PKI trust in the HPKP era.

The public surface is small: ``simlab.run`` for one scenario under one defence, the
mechanism modules (``simlab.pki``, ``simlab.hpkp``, ``simlab.static_pins``, ``simlab.ct``)
for working with real artefacts, and the ``simlab`` command line.
"""

from __future__ import annotations

from simlab.errors import SimlabError

__version__ = "0.1.0"
__all__ = ["SimlabError", "__version__"]
