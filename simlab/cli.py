"""The ``simlab`` command line. ``main(argv)`` is what the console script and the tests call.

Every verb prints a readable result on stdout; every error a user can cause is one line on
stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from simlab import __version__
from simlab.errors import SimlabError

Handler = Callable[[argparse.Namespace], int]


def _cmd_pin(args: argparse.Namespace) -> int:
    from simlab.pki import load_pem_chain, spki_pin

    for name in args.files:
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SimlabError(f"cannot read {name}: {exc.strerror}") from None
        chain = load_pem_chain(data, source=name)
        for cert in chain.certificates:
            print(f'pin-sha256="{spki_pin(cert)}"  {cert.subject.rfc4514_string()}')
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simlab",
        description="A teaching laboratory for web PKI trust: pinning, HPKP and CT.",
    )
    parser.add_argument("--version", action="version", version=f"simlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("pin", help="print the RFC 7469 pin of each certificate in PEM files")
    p.add_argument("files", nargs="+", metavar="FILE.pem")
    p.set_defaults(handler=_cmd_pin)

    for extend in _EXTENSIONS:
        extend(sub)
    return parser


_EXTENSIONS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except SimlabError as exc:
        print(f"simlab: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("simlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
