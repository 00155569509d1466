"""Two runs of the test suite compared on the tests both have: the sum of each test's setup,
call and teardown times, from pytest's `--durations=0` report.

    pytest -n 2 --dist loadfile -m "not slow" --durations=0 > old.log   (at the old commit)
    pytest -n 2 --dist loadfile -m "not slow" --durations=0 > new.log   (at the new one)
    python -m benchmarks.suite_times old.log new.log
"""

from __future__ import annotations

import collections
import re
import sys

LINE = re.compile(r"\s*([\d.]+)s (setup|call|teardown)\s+(\S+)")


def times(path: str) -> dict[str, float]:
    out: dict[str, float] = collections.defaultdict(float)
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if m := LINE.match(line):
                out[m.group(3)] += float(m.group(1))
    return out


def main(argv=None) -> int:
    old_log, new_log = (sys.argv[1:] if argv is None else argv)[:2]
    old, new = times(old_log), times(new_log)
    common = set(old) & set(new)
    so, sn = sum(old[t] for t in common), sum(new[t] for t in common)
    print(f"tests in both: {len(common)}; old {so:.0f} s, new {sn:.0f} s, "
          f"ratio {sn / max(so, 1e-9):.2f}")
    print(f"only in the new run: {len(set(new) - common)} tests, "
          f"{sum(new[t] for t in set(new) - common):.0f} s")
    files: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
    for t in common:
        f = files[t.split("::")[0]]
        f[0] += old[t]
        f[1] += new[t]
    for name, (o, n) in sorted(files.items(), key=lambda kv: kv[1][0] - kv[1][1])[:8]:
        print(f"  {name}: {o:.1f} s -> {n:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
