"""agws-conformance: the conformance test suite for the AGWS showcase-gateway API."""

__version__ = "0.1.0"
