"""The mock AGWS gateway: the suite's embedded default target and a standalone sandbox.

``create_app(target, faults=...)`` builds the ASGI app, ``MockServer`` runs it on loopback,
``FAULTS`` lists the deviations it can inject, ``VARIATIONS`` the legitimate differences it can
take on, ``embedded_target()`` gives the bundled data set
with fresh credentials.
"""

from agws_conformance.mock.app import create_app
from agws_conformance.mock.data import embedded_target, mock_target_path
from agws_conformance.mock.faults import FAULTS, Fault, UnknownFaultError
from agws_conformance.mock.server import MockServer
from agws_conformance.mock.variations import VARIATIONS, UnknownVariationError, Variation

__all__ = [
    "FAULTS",
    "Fault",
    "MockServer",
    "UnknownFaultError",
    "UnknownVariationError",
    "VARIATIONS",
    "Variation",
    "create_app",
    "embedded_target",
    "mock_target_path",
]
