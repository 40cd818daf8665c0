"""The ``fracsim`` command."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fracsim", description="fracsim command line")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the demo: firing patterns and an E/I network")
    demo.add_argument("--out", default="fracsim_demo_output",
                      help="output folder (default: ./fracsim_demo_output)")
    demo.add_argument("--quiet", action="store_true", help="print nothing")
    sub.add_parser("cache-dir", help="print where generated loops are cached")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

        run_demo(args.out, quiet=args.quiet)
    elif args.command == "cache-dir":
        from .engine.codegen import cache_dir

        print(cache_dir())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
