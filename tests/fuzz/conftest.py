"""Hypothesis profiles for the fuzz suite, chosen by HYPOTHESIS_PROFILE: "ci" (the default) runs a
few derandomized examples per RPC, so a failure reproduces on every run and the suite adds at most
3 minutes to `make test` (about 1 now); "nightly" runs many more, from a random seed (about 15
minutes)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]

settings.register_profile("ci", max_examples=80, deadline=None, derandomize=True, database=None,
                          suppress_health_check=_SLOW_IS_FINE, print_blob=True)
settings.register_profile("nightly", max_examples=2000, deadline=None, suppress_health_check=_SLOW_IS_FINE,
                          print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

from tests.integration.conftest import migrated_dsn  # noqa: E402,F401 (a fixture: the migrated session database)
