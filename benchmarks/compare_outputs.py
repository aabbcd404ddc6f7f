"""Two output folders of one study, from two versions of the code: every summary.json value
(exactly; wall times, versions and the ``results`` list left out), the ``files`` lists, and every
variable of every NetCDF file (exactly). Prints each difference and "OK NAME" when there is none;
exit code 1 on a difference.

    lowdim lecture ring --scale test --out A     # with the old code
    lowdim lecture ring --scale test --out B     # with the new code
    python3 benchmarks/compare_outputs.py A B
"""

import json
import re
import sys
from pathlib import Path

import numpy as np
import xarray as xr

TIMING = re.compile(r"(wall|seconds|_s$|timings|time_s|elapsed|created|git|version|session)")


def flat(o, p=""):
    """(dotted key, leaf) pairs of a nested summary (lists of records indexed as key[i])."""
    if isinstance(o, dict):
        for k, v in o.items():
            yield from flat(v, f"{p}.{k}" if p else str(k))
    elif isinstance(o, list) and o and isinstance(o[0], (dict, list)):
        for i, v in enumerate(o):
            yield from flat(v, f"{p}[{i}]")
    else:
        yield p, o


def main(a, b) -> int:
    """Print the differences between output folders ``a`` (before) and ``b`` (after); their count."""
    a, b = Path(a), Path(b)
    sa = json.loads((a / "summary.json").read_text())
    sb = json.loads((b / "summary.json").read_text())
    fa = {k: v for k, v in flat(sa) if not TIMING.search(k) and not k.startswith("results")}
    fb = {k: v for k, v in flat(sb) if not TIMING.search(k) and not k.startswith("results")}
    bad = 0
    for k in sorted(set(fa) | set(fb)):
        if k not in fb:
            print("MISSING in new:", k)
            bad += 1
        elif k not in fa:
            print("NEW key:", k, "=", str(fb[k])[:80])
        elif fa[k] != fb[k] and k != "files":
            print("DIFF", k, str(fa[k])[:80], "->", str(fb[k])[:80])
            bad += 1
    if sa.get("files") != sb.get("files"):
        print("files differ:", sorted(set(sa.get("files", [])) ^ set(sb.get("files", []))))
    for nc in sorted(a.glob("**/*.nc")):
        rel = nc.relative_to(a)
        other = b / rel
        if not other.exists():
            print("MISSING file", rel)
            bad += 1
            continue
        da, db = xr.open_dataset(nc), xr.open_dataset(other)
        for v in da.data_vars:
            if v not in db or not np.array_equal(da[v].values, db[v].values, equal_nan=True):
                print("DATA DIFF", rel, v)
                bad += 1
    print("OK" if not bad else f"{bad} differences", a.name)
    return bad


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: python3 benchmarks/compare_outputs.py BEFORE_DIR AFTER_DIR", file=sys.stderr)
        sys.exit(2)
    for folder in sys.argv[1:3]:
        if not (Path(folder) / "summary.json").is_file():
            print(
                f"error: {folder!r} is not an output folder of a study (no summary.json)",
                file=sys.stderr,
            )
            sys.exit(2)
    sys.exit(1 if main(*sys.argv[1:3]) else 0)
