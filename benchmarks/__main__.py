"""Run simlab's benchmarks: ``python -m benchmarks [NAME ...]`` (names: :data:`ALL`)."""

from __future__ import annotations

import importlib
import sys

from benchmarks.common import CheckFailed

ALL = ["pki", "merkle", "engine", "exhaustive", "scale", "compare"]


def main(argv: list[str]) -> int:
    names = argv or ALL
    unknown = sorted(set(names) - set(ALL))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {ALL}", file=sys.stderr)
        return 2
    for name in names:
        try:
            importlib.import_module(f"benchmarks.bench_{name}").main()
        except CheckFailed as failure:
            # A wrong result voids the figures: say which check failed, not a traceback.
            print(f"benchmark {name!r} stopped, a result check failed: {failure}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
