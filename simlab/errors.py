"""The one exception family simlab raises on bad input.

Every error a user can provoke (a bad host name, a malformed header, a broken scenario
file, an unknown CLI argument) is a :class:`SimlabError` whose message names the bad value,
so the CLI can print it on one line and exit non-zero without a traceback.
"""

from __future__ import annotations


class SimlabError(Exception):
    """Base class of every error simlab raises on purpose."""


class PKIError(SimlabError):
    """A certificate operation was refused: bad name, bad window, unusable CA, bad PEM."""


class ValidationRefused(PKIError):
    """Domain validation failed: the requester does not control a name it asked for."""


class ScenarioError(SimlabError):
    """A scenario, defence, parameter or scenario file is invalid."""


class OutputError(SimlabError):
    """An output cannot be written: the folder is not one, permission is denied, or a file
    there would be replaced without ``--force``."""
