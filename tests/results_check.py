"""A check the study tests share: each structured result names where its numbers are in
``summary.json`` (``key``, ``theory_key``: dotted paths, list positions as numbers)."""

from __future__ import annotations

import math

from lowdim.results import lookup as at


def assert_results_match_summary(summary: dict) -> None:
    """Every result's value (and theory) equals the summary's number at its key (theory_key);
    NaN and None (strict JSON's null) count as equal."""
    results = summary["results"]
    assert results, "no results"
    for r in results:
        for field, key in (("value", r["key"]), ("theory", r["theory_key"])):
            if not key:
                continue
            want, got = at(summary, key), r[field]
            if want is None or (isinstance(want, float) and math.isnan(want)):
                assert got is None or math.isnan(got), (r["quantity"], key)
            else:
                assert got == want, (r["quantity"], key, got, want)
