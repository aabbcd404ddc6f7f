"""Hypothesis profiles: "ci" (derandomized, so a CI failure reproduces; chosen when the
environment variable CI is set, as CI runs with CI=true) and "dev" (random examples, for local
runs). Both print the failing example and the blob that reproduces it (@reproduce_failure).
Choose one explicitly with ``pytest --hypothesis-profile=dev``."""

from __future__ import annotations

import os

from hypothesis import settings

# (Hypothesis ≥ 6.1xx loads a built-in "ci" profile when it detects CI; both are set explicitly
# here, from Hypothesis's "default" profile, so that neither inherits from the other)
base = settings.get_profile("default")
settings.register_profile("ci", base, derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", base, derandomize=False, deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
