"""The ``simlab`` command line. ``main(argv)`` is what the console script and the tests call.

Every verb prints a readable result on stdout; every error a user can cause is one line on
stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simlab import __version__
from simlab.errors import SimlabError
from simlab.files import check_output_dir, output_dir

if TYPE_CHECKING:
    from simlab.live import Scene

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


def _parse_value(text: str) -> object:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _params(pairs: list[str] | None) -> dict[str, object]:
    out: dict[str, object] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SimlabError(f"--param expects key=value, got {pair!r}")
        out[key.strip()] = _parse_value(value.strip())
    return out


def _fmt(metric: str, value: object) -> str:
    if value is None:
        return "never"
    if metric.endswith("_rate") and isinstance(value, float):
        return f"{value:.1%}"
    if metric in ("detection_time", "exposure_window", "lockout_duration") and isinstance(
        value, float
    ):
        return f"{value / 86400:.2f} d" if value >= 86400 else f"{value / 3600:.1f} h"
    return str(value)


def _print_metrics(results: list[tuple[str, dict[str, object]]]) -> None:
    from simlab.runner import METRICS

    width = max(len(name) for name, _ in results) + 2
    print("metric".ljust(22) + "".join(name.rjust(width) for name, _ in results))
    for metric in METRICS:
        print(metric.ljust(22) + "".join(_fmt(metric, m[metric]).rjust(width) for _, m in results))


def _cmd_list(args: argparse.Namespace) -> int:
    from simlab.replays import REPLAYS
    from simlab.runner import DEFENCES
    from simlab.scenario_file import builtin_scenarios

    print("scenarios:")
    for spec in builtin_scenarios().values():
        print(f"  {spec.name:<18} {spec.title}")
    print("defences:")
    for name, settings in DEFENCES.items():
        print(f"  {name:<18} {', '.join(settings) or 'no pinning, no CT'}")
    print("replays:")
    for replay in REPLAYS.values():
        print(f"  {replay.name:<24} {replay.title}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    import dataclasses

    from simlab.runner import resolve_scenario
    from simlab.scenario_file import settable, type_name
    from simlab.world import SETTING_LIMITS, Settings

    spec = resolve_scenario(args.scenario)
    if args.toml:
        print(spec.to_toml(), end="")
        return 0
    print(f"{spec.name}: {spec.title}\n")
    print(spec.description.strip() + "\n")
    for src in spec.sources:
        print(f"source: {src}")
    print("\nparameters (scenario values marked *):")
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    for key, kind in settable().items():
        value = spec.params.get(key, defaults[key])
        shown = f"{value!r}{' *' if key in spec.params else ''}"
        valid = SETTING_LIMITS[key][1] if key in SETTING_LIMITS else type_name(kind)
        print(f"  {key:<24} {shown:<16} {valid}")
    return 0


def _run_script(path: Path) -> int:
    import runpy

    try:
        runpy.run_path(str(path), run_name="__main__")
    except FileNotFoundError:
        raise SimlabError(f"cannot read scenario script {path}") from None
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from simlab.runner import DEFENCES, run, settings_for

    if str(args.scenario).endswith(".py"):
        if args.defences or args.defence or args.param or args.out:
            raise SimlabError(
                f"{args.scenario} is a script: it chooses its own defences and parameters "
                "(DEFENCE, --defence, --param and --out apply to scenarios and .toml files)"
            )
        return _run_script(Path(args.scenario))
    params = _params(args.param)
    defences = [*args.defences, *(args.defence or [])] or list(DEFENCES)
    for defence in defences:  # every argument is checked before the first run
        settings_for(args.scenario, defence, params)
    out = check_output_dir(args.out) if args.out else None
    results = [run(args.scenario, defence, seed=args.seed, **params) for defence in defences]
    if out is not None:  # written only once every run has succeeded
        for result in results:
            name = f"{result.scenario}-{result.defence}-seed{args.seed}.csv"
            result.table.to_csv(output_dir(out) / name, index=False)
    print(f"scenario {args.scenario} (seed {args.seed})")
    _print_metrics([(result.defence, result.metrics) for result in results])
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from simlab import charts
    from simlab.runner import run
    from simlab.sweep import compare

    out = check_output_dir(args.out)
    metrics, daily = compare(
        seeds=args.seeds, workers=args.workers, progress=None if not args.quiet else False
    )
    output_dir(out)
    metrics.to_csv(out / "compare-metrics.csv", index=False)
    daily.to_csv(out / "compare-daily.csv", index=False)
    written = []
    for metric in (
        "interception_rate",
        "legit_failure_rate",
        "detection_time",
        "exposure_window",
        "lockout_duration",
        "clients_affected",
    ):
        written += charts.save(charts.heatmap(metrics, metric), out, f"heatmap-{metric}")
    for scenario in dict.fromkeys(metrics["scenario"]):
        written += charts.save(charts.timeline(daily, scenario), out, f"timeline-{scenario}")
    example = run("ca-compromise", "ct", seed=0, rogue_logged=True)
    written += charts.save(charts.network_graph(example.world, example.table), out, "network-graph")
    written += charts.save(charts.trust_graph(example.world), out, "trust-graph")
    title = "CT: a logged rogue certificate works until the monitor alerts and it is revoked"
    written += charts.save(
        charts.ct_timeline(
            example.events,
            title,
            start=example.world.attack_start,
            params=example.params,
            seed=0,
        ),
        out,
        "ct-detection-timeline",
    )
    if not args.quiet:
        print(f"{len(metrics)} runs; wrote {len(written)} figures and 2 tables to {out}/")
        table = metrics.groupby(["scenario", "defence"], sort=False)["interception_rate"].mean()
        print("\nmean interception rate (scenario x defence):")
        print(table.unstack().round(2).to_string())
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from simlab import charts
    from simlab.runner import METRICS
    from simlab.sweep import parameter_sweep

    if args.metric not in METRICS or args.metric == "detected_by":
        raise SimlabError(
            f"--metric {args.metric!r} is not a numeric metric; valid: "
            f"{', '.join(m for m in METRICS if m != 'detected_by')}"
        )
    values = [_parse_value(v.strip()) for v in args.values.split(",") if v.strip()]
    if not values:
        raise SimlabError(f"no values to sweep in {args.values!r}; give them comma-separated")
    out = check_output_dir(args.out)
    metrics = parameter_sweep(
        args.scenario,
        args.param,
        values,
        defences=args.defence,
        seeds=args.seeds,
        params=_params(args.set),
        workers=args.workers,
        progress=None if not args.quiet else False,
    )
    name = f"sweep-{Path(args.scenario).stem}-{args.param}-{args.metric}"
    metrics.to_csv(output_dir(out) / f"{name}.csv", index=False)
    charts.save(charts.parameter_chart(metrics, args.param, args.metric), out, name)
    table = metrics.groupby([args.param, "defence"], sort=False)[args.metric].mean().unstack()
    unit = {86400.0: "days", 3600.0: "hours"}.get(charts.SCALE.get(args.metric, 1.0), "")
    print(f"{args.metric}{f' ({unit})' if unit else ''}, mean over {args.seeds} seed(s):")
    print((table / charts.SCALE.get(args.metric, 1.0)).round(3).to_string())
    print(f"wrote {out / name}.csv, .png and .svg")
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from simlab.replays import REPLAYS
    from simlab.runner import DEFENCES, run

    replay = REPLAYS.get(args.incident)
    if replay is None:
        raise SimlabError(f"unknown incident {args.incident!r}; valid: {', '.join(REPLAYS)}")
    print(f"{replay.title} ({replay.scenario})\n{replay.story}\n")
    for src in replay.sources:
        print(f"source: {src}")
    results = [
        (
            d + (" (historical)" if d in replay.historical else ""),
            run(replay.scenario, d, seed=args.seed, **replay.params).metrics,
        )
        for d in DEFENCES
    ]
    print()
    _print_metrics(results)
    return 0


def _print_live(live: Scene, args: argparse.Namespace, out: Path | None) -> None:
    host = live.world.host
    print(
        f"{args.scenario} under '{args.defence}' at simulated day {live.at / 86400:.2f}, "
        "mapped to the wall clock's now"
    )
    for name, server in live.servers.items():
        print(f"  {name:<9} https://{host}:{server.port}/  (127.0.0.1)")
    for name, url in live.log_urls().items():
        print(f"  CT log    {url}  ({name}; RFC 6962 API: {url}ct/v1/get-sth ...)")
    for path in live.write(out) if out is not None else ():
        print(f"  wrote {path}")
    print("\nJudge each server as a victim's app would (curl), or look (openssl):")
    for command in live.commands():
        print("  " + command.line)
        if command.argv[0] == "curl":
            print(f"      simlab's verdict for {command.client}: {command.verdict}")
        else:
            scts = "" if command.valid_scts is None else f"; SCTs valid: {command.valid_scts}"
            print(f"      simlab: the chain {command.verdict}{scts}")
    print(
        "\nServing until interrupted (Ctrl-C)."
        if args.seconds is None
        else f"\nServing for {args.seconds:g} s.",
        flush=True,
    )


def _cmd_live(args: argparse.Namespace) -> int:
    import contextlib
    import signal
    import threading

    from simlab.live import scene

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM cleans up exactly like Ctrl-C

    params: dict[str, Any] = _params(args.param)
    out = check_output_dir(args.out) if args.out else None
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, stop) if main_thread else None
    try:
        with (
            scene(
                args.scenario, args.defence, seed=args.seed, at_day=args.at_day, **params
            ) as live,
            contextlib.suppress(KeyboardInterrupt),
        ):
            _print_live(live, args, out)
            threading.Event().wait(args.seconds)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    print("stopped; servers closed")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from simlab.export import export

    paths = export(args.scenario, Path(args.out), seed=args.seed, defence=args.defence)
    for path in paths:
        print(path)
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

    p = sub.add_parser("list", help="list scenarios, defences and historical replays")
    p.set_defaults(handler=_cmd_list)

    p = sub.add_parser("show", help="show a scenario's story, parameters and defaults")
    p.add_argument("scenario", metavar="SCENARIO|FILE.toml")
    p.add_argument("--toml", action="store_true", help="print it as a scenario file")
    p.set_defaults(handler=_cmd_show)

    p = sub.add_parser("run", help="run a scenario (built-in, .toml or .py) and print its metrics")
    p.add_argument("scenario", metavar="SCENARIO|FILE.toml|FILE.py")
    p.add_argument("defences", nargs="*", metavar="DEFENCE", help="defences (default: all)")
    p.add_argument("--defence", action="append", help="a defence (repeatable; same as DEFENCE)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="override a parameter")
    p.add_argument("--out", metavar="DIR", help="also write each run's table as CSV")
    p.set_defaults(handler=_cmd_run)

    p = sub.add_parser("compare", help="every scenario x every defence x N seeds, with charts")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--out", default="figures", metavar="DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    p.set_defaults(handler=_cmd_compare)

    p = sub.add_parser("sweep", help="sweep one parameter of a scenario and chart one metric")
    p.add_argument("scenario", metavar="SCENARIO|FILE.toml")
    p.add_argument("param", help="the parameter to vary, e.g. max_age_days")
    p.add_argument("values", help="comma-separated values, e.g. 1,7,30,60")
    p.add_argument("--metric", default="interception_rate")
    p.add_argument("--defence", action="append", help="a defence (repeatable; default: all)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="fix another parameter")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--out", default="figures", metavar="DIR")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=_cmd_sweep)

    p = sub.add_parser("replay", help="replay a historical incident under every defence")
    p.add_argument("incident")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_cmd_replay)

    p = sub.add_parser(
        "live", help="serve a scenario's servers over real TLS and its CT logs, locally"
    )
    p.add_argument("scenario", metavar="SCENARIO|FILE.toml")
    p.add_argument("--defence", default="static")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--at-day",
        type=float,
        default=None,
        help="the simulated moment to serve (default: one hour into the attack)",
    )
    p.add_argument("--seconds", type=float, default=None, help="stop after this long")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="override a parameter")
    p.add_argument(
        "--out", metavar="DIR", help="write servers.json, loglist.json, ctlogs.cnf and the CA file"
    )
    p.set_defaults(handler=_cmd_live)

    p = sub.add_parser(
        "export", help="write a scenario's PEM chains, headers, SCTs, STHs and log list"
    )
    p.add_argument("scenario", metavar="SCENARIO|FILE.toml")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--defence", default="hpkp+ct")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_cmd_export)
    return parser


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
    except BrokenPipeError:
        # The reader went away (``simlab show key-loss | head``): stop quietly, as cat does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
