"""Subcommands of ``agws-conformance``; each module has ``register(subparsers)`` and ``run(args)``."""
