"""`make generate`: every file derived from orchestration/spec.py, in order (the diagram reads the
ASL file the first step writes). Run it in a new process after editing the specification."""

from __future__ import annotations

import sys

from orchestration import asl, diagram, openapi, wiring


def main() -> int:
    for generator in (asl, wiring, diagram, openapi):
        generator.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
