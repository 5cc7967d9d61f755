"""Root conftest: load the agws-conformance plugin for ``pytest suites`` even with plugin autoloading off.

The plugin is also registered as a pytest11 entry point under the same name, so it loads once.
"""

pytest_plugins = ["agws_conformance.plugin"]
