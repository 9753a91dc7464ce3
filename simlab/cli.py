"""The ``simlab`` command line. ``main(argv)`` is what the console script and the tests call.

Every verb prints a readable result on stdout; every error a user can cause is one line on
stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simlab import __version__
from simlab.errors import SimlabError, printable, shown
from simlab.files import plan, read_input, write_all
from simlab.limits import MAX_SEEDS, MAX_WORKERS, SEED_MAX, check_runs

if TYPE_CHECKING:
    from cryptography import x509

    from simlab.live import Scene

Handler = Callable[[argparse.Namespace], int]


# Bounds of the CLI's own numbers (a run's parameters are bounded by simlab.world).
LIVE_SECONDS_MAX = 30 * 86400  # without --seconds, live serves until interrupted
PIN_FILE_MAX = 1 << 20  # a chain is a few KiB: 1 MiB holds hundreds of certificates


def _whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``low`` to ``high``, so a bad count fails
    as ``argument --seeds: must be ...`` before anything runs."""

    def parse(text: str) -> int:
        value: int | None = None
        if text.isascii() and text.isdigit():  # int() also reads '١٢', '1_0' and ' 12 '
            try:
                value = int(text)
            except ValueError:  # too many digits to convert
                value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low:,} to {high:,}, got {shown(text)}"
            )
        return value

    return parse


def _number(low: float, high: float, unit: str) -> Callable[[str], float]:
    """An argparse ``type``: a finite number of ``unit`` from ``low`` to ``high``
    (``nan``, ``inf`` and overflowing values such as ``1e999`` are refused)."""
    span = f", {low:g} or more" if math.isinf(high) else f" from {low:g} to {high:,.0f}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"must be a number of {unit}{span}, got {shown(text)}")
        return value + 0.0  # -0 is 0

    return parse


def _folder(text: str) -> str:
    """An argparse ``type``: a folder name (an empty one would mean "nowhere")."""
    if not text:
        raise argparse.ArgumentTypeError("must name a folder, got ''")
    return text


def _cmd_pin(args: argparse.Namespace) -> int:
    from simlab.errors import PKIError
    from simlab.pki import load_chain, spki_pin

    chains = []  # every file is read and parsed before the first pin is printed
    for name in args.files:
        data = read_input(name, PIN_FILE_MAX, "certificate file", PKIError)
        chains.append(load_chain(data, source=name))
    lines = [
        f'pin-sha256="{spki_pin(cert)}"  {_subject(cert)}'
        for chain in chains
        for cert in chain.certificates
    ]
    print("\n".join(lines))
    return 0


def _subject(cert: x509.Certificate) -> str:
    """The certificate's subject as one printable line: a subject is whatever its issuer
    wrote, and a newline or a terminal escape in it must not forge a second pin line or
    recolour the terminal."""
    try:
        return printable(cert.subject.rfc4514_string())
    except ValueError:  # a string attribute whose bytes do not decode as its type says
        return "(a subject whose text does not decode)"


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _parse_value(text: str) -> object:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if not text.isascii():  # int() reads '١٠٠' and '１００' too
        return text
    try:
        return int(text)
    except ValueError:
        pass
    if _INTEGER.fullmatch(text):  # past int()'s 4,300 digits (float() would give inf)
        raise SimlabError(
            f"{text[:12]}... is a whole number of {len(text.lstrip('+-')):,} digits: too large for "
            "any parameter"
        )
    try:
        return float(text)
    except ValueError:
        return text


def _params(pairs: list[str] | None) -> dict[str, object]:
    out: dict[str, object] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SimlabError(f"--param expects key=value, got {shown(pair)}")
        try:
            out[key.strip()] = _parse_value(value.strip())
        except SimlabError as exc:
            raise SimlabError(f"--param {shown(key.strip())}: {exc}") from None
    return out


def _columns(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> list[str]:
    """Lines of a text table, each column as wide as its longest cell and two spaces from
    the next, so no two cells ever touch. ``align`` has one letter per column, ``l`` or
    ``r``; by default the first column is left-aligned and the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    align = align or "l" + "r" * (len(header) - 1)
    return [
        "  ".join(
            cell.ljust(w) if a == "l" else cell.rjust(w)
            for cell, w, a in zip(row, widths, align, strict=True)
        ).rstrip()
        for row in [header, *rows]
    ]


def _print_metrics(results: Sequence[tuple[str, Any]]) -> None:
    """One column per run (``(label, Result)``), one row per metric, with units."""
    from simlab.runner import METRICS
    from simlab.units import ATTACK_METRICS, attacker_answered, format_metric

    applies = [attacker_answered(result) for _, result in results]
    rows = [
        [metric]
        + [
            format_metric(
                metric, result.metrics[metric], applies=ok or metric not in ATTACK_METRICS
            )
            for (_, result), ok in zip(results, applies, strict=True)
        ]
        for metric in METRICS
    ]
    print("\n".join(_columns(["metric", *(label for label, _ in results)], rows)))


def _cmd_list(args: argparse.Namespace) -> int:
    from simlab import clients
    from simlab.replays import REPLAYS
    from simlab.runner import DEFENCE_TEXT
    from simlab.scenario_file import builtin_scenarios
    from simlab.world import Settings

    print("scenarios:")
    for spec in builtin_scenarios().values():
        print(f"  {spec.name:<18} {spec.title}")
    print("defences (what the site deploys; what clients do comes from the era):")
    for name, text in DEFENCE_TEXT.items():
        print(f"  {name:<18} {text}")
    era = Settings().era
    print(f"clients: the web of {era} by default (--param era=YYYY-MM):")
    for kind, mix in clients.population(era).items():
        print(f"  {kind:<18} " + ", ".join(f"{r.name} {share:.0%}" for r, share in mix))
    print("replays:")
    for replay in REPLAYS.values():
        print(f"  {replay.name:<24} {replay.title}")
    return 0


def _show_value(value: object) -> str:
    """A value as a user would type it after ``--param key=``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


_KIND_RANGE = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


def _cmd_show(args: argparse.Namespace) -> int:
    import dataclasses

    from simlab.parameter_help import meaning
    from simlab.runner import resolve_scenario
    from simlab.scenario_file import settable, type_name
    from simlab.world import RUN_SIZE, SETTING_LIMITS, Settings

    spec = resolve_scenario(args.scenario)
    if args.toml:
        print(spec.to_toml(), end="")
        return 0
    print(f"{spec.name}: {printable(spec.title)}\n")  # a file's text, escaped for the terminal
    print(printable(spec.description.strip(), lines=True) + "\n")
    for src in spec.sources:
        print(f"source: {printable(src)}")
    print("\nparameters (change one with --param NAME=VALUE; * = set by this scenario):\n")
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    keys = list(settable().items())
    rows = [
        [
            key,
            _show_value(spec.params.get(key, defaults[key])) + (" *" if key in spec.params else ""),
            _show_value(defaults[key]),
            SETTING_LIMITS[key][1]
            if key in SETTING_LIMITS
            else _KIND_RANGE.get(kind) or type_name(kind),
        ]
        for key, kind in keys
    ]
    header, *lines = _columns(["parameter", "value", "default", "range"], rows, "lrrl")
    print("  " + header)
    for (key, _), line in zip(keys, lines, strict=True):
        print("  " + line)
        print("      " + meaning(key))
    print("\nrun size (settings that multiply; checked before anything runs):\n")
    for size in RUN_SIZE:
        print(f"  - {size.formula} <= {size.cap:,.0f}")
        print(f"      {size.why}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from simlab.runner import DEFENCES, run, settings_for
    from simlab.units import for_csv

    if str(args.scenario).endswith(".py"):
        if args.defences or args.defence or args.params or args.out or args.seed is not None:
            raise SimlabError(
                f"{args.scenario} is a script: it chooses its own defences, seeds and "
                "parameters (DEFENCE, --defence, --seed, --param and --out apply to "
                "scenarios and .toml files)"
            )
        from simlab.scripts import run_script

        return run_script(args.scenario)
    params = _params(args.params)
    seed = 0 if args.seed is None else args.seed
    defences = [*args.defences, *(args.defence or [])] or list(DEFENCES)
    # Every argument and every output file is checked before the first run.
    names = [
        f"{settings_for(args.scenario, defence, params)[0].name}-{defence}-seed{seed}.csv"
        for defence in defences
    ]
    paths = plan(args.out, names, force=args.force) if args.out is not None else None
    results = [run(args.scenario, defence, seed=seed, **params) for defence in defences]
    if paths is not None:  # written only once every run has succeeded
        plan(args.out, names, force=args.force)  # again: none written if one appeared
        tables = [for_csv(result.table).to_csv(index=False) for result in results]
        write_all(dict(zip(paths, tables, strict=True)), replace=args.force)
    era = results[0].params["era"]
    print(f"scenario {args.scenario} (seed {seed}; clients: the web of {era})")
    _print_metrics([(result.defence, result) for result in results])
    return 0


HEATMAP_METRICS = (
    "interception_rate",
    "legit_failure_rate",
    "detection_time",
    "exposure_window",
    "lockout_duration",
    "clients_affected",
)


HEATMAP_FIGURE = "heatmap-{}"  # of a metric
TIMELINE_FIGURE = "timeline-{}"  # of a scenario
EXAMPLE_FIGURES = ("network-graph", "trust-graph", "ct-detection-timeline")
COMPARE_TABLES = ("compare-metrics.csv", "compare-daily.csv")


def _compare_figures(scenarios: Sequence[str]) -> list[str]:
    """The names of the figures ``compare`` draws, known before any run."""
    return [
        *map(HEATMAP_FIGURE.format, HEATMAP_METRICS),
        *map(TIMELINE_FIGURE.format, scenarios),
        *EXAMPLE_FIGURES,
    ]


def _cmd_compare(args: argparse.Namespace) -> int:
    from concurrent.futures import Future, ProcessPoolExecutor

    import pandas as pd

    from simlab import charts  # before the pool: its workers start with matplotlib imported
    from simlab.runner import DEFENCES, settings_for
    from simlab.scenario_file import builtin_scenarios
    from simlab.sweep import compare
    from simlab.units import for_csv

    def say(text: str) -> None:
        if not args.quiet:
            print(text, flush=True)

    params = _params(args.params)
    specs = builtin_scenarios()
    names = list(specs)
    for spec in specs.values():  # every argument and every output file is checked first
        for defence in DEFENCES:
            settings_for(spec, defence, params)
    planned = [name for figure in _compare_figures(names) for name in charts.figure_files(figure)]
    out = Path(args.out)
    total = len(names) * len(DEFENCES) * args.seeds
    check_runs(total)  # the groups below each see less
    outputs = [*COMPARE_TABLES, *planned]
    plan(out, outputs, force=args.force)
    workers = args.workers or os.cpu_count() or 1
    say(
        f"compare: {len(names)} scenarios x {len(DEFENCES)} defences x {args.seeds} seed(s) "
        f"= {total} runs on {workers} process(es)"
    )
    # On a terminal, one progress bar; in a log or a pipe, one line per scenario instead.
    bar = sys.stdout.isatty() and sys.stderr.isatty() and not args.quiet
    groups = [names] if bar else [[name] for name in names]
    # One pool runs and draws. Its workers draw figures into bytes; only this process writes
    # files, once every run has succeeded. The example run, which needs none of the others,
    # goes first; each scenario's timeline is queued as soon as its runs are in, to be drawn
    # while the next scenario runs; the heatmaps once all runs are in.
    with ProcessPoolExecutor(max_workers=workers) as pool:
        figures: list[Future[dict[str, bytes]]] = [pool.submit(_draw_example)]
        parts = []
        done = 0
        try:
            for group in groups:
                parts.append(
                    compare(
                        scenarios=group,
                        seeds=args.seeds,
                        params=params,
                        executor=pool,
                        progress=bar,
                    )
                )
                figures += [pool.submit(_draw_timeline, parts[-1][1], name) for name in group]
                done += len(group) * len(DEFENCES) * args.seeds
                say(f"  runs: {', '.join(group)} done ({done}/{total}, {done / total:.0%})")
        except BaseException:  # a run failed, or Ctrl-C: drop what is queued
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        metrics = pd.concat([m for m, _ in parts], ignore_index=True)
        daily = pd.concat([d for _, d in parts], ignore_index=True)
        figures += [pool.submit(_draw_heatmap, metrics, metric) for metric in HEATMAP_METRICS]
        say("charts: heatmaps, timelines, network graph, trust graph, CT detection timeline")
        tables = {
            name: for_csv(table).to_csv(index=False).encode()
            for name, table in zip(COMPARE_TABLES, (metrics, daily), strict=True)
        }
        drawn = [task.result() for task in figures]
    plan(out, outputs, force=args.force)  # again: none written if one appeared meanwhile
    figure_files = {name: data for files in drawn for name, data in files.items()}
    charts.write({**figure_files, **tables}, out, replace=args.force)
    say(f"wrote {len(figure_files)} figures and 2 tables ({', '.join(COMPARE_TABLES)})")
    say(f"  to {out.resolve()}/")
    if not args.quiet:
        cells = metrics.groupby(["scenario", "defence"], sort=False)
        wide = cells["interception_rate"].mean().unstack()
        attacked = cells["attacker_connections"].sum().unstack() > 0
        rows = [
            [str(s)]
            + [
                f"{v:.0%}" if a else "n/a"
                for v, a in zip(wide.loc[s], attacked.loc[s], strict=True)
            ]
            for s in wide.index
        ]
        print(f"\nmean interception rate over {args.seeds} seed(s) (n/a: no attacker):")
        print("\n".join(_columns(["scenario", *map(str, wide.columns)], rows)))
    return 0


def _draw_heatmap(metrics: Any, metric: str) -> dict[str, bytes]:
    from simlab import charts

    return charts.render(charts.heatmap(metrics, metric), HEATMAP_FIGURE.format(metric))


def _draw_timeline(daily: Any, scenario: str) -> dict[str, bytes]:
    from simlab import charts

    return charts.render(charts.timeline(daily, scenario), TIMELINE_FIGURE.format(scenario))


def _draw_example() -> dict[str, bytes]:
    """The graphs and CT timeline of one example run (:data:`EXAMPLE_FIGURES`): a CA
    compromise, logged rogue certificate, against a site that deploys CT."""
    from simlab import charts
    from simlab.runner import run

    example = run("ca-compromise", "ct", seed=0, rogue_logged=True)
    title = "CT: a logged rogue certificate, from issuance to the monitor's alert and revocation"
    network, trust, timeline = EXAMPLE_FIGURES
    return {
        **charts.render(charts.network_graph(example.world, example.table), network),
        **charts.render(charts.trust_graph(example.world), trust),
        **charts.render(
            charts.ct_timeline(
                example.events,
                title,
                start=example.world.attack_start,
                params=example.params,
                seed=0,
            ),
            timeline,
        ),
    }


def _sweep_cell(metric: str, values: Any) -> str:
    """A sweep table cell: the mean over seeds with its unit; for detection time, the mean
    over the runs that detected and how many did (a missing detection is not averaged in)."""
    from simlab.units import format_metric

    values = list(values)
    found = [v for v in values if v == v]  # NaN (never detected, or no connections) != NaN
    if not found:
        return format_metric(metric, None)
    cell = format_metric(metric, sum(found) / len(found))
    if len(found) < len(values):
        counted = {
            "detection_time": "detected",
            "interception_rate": "with attacker connections",
        }.get(metric, "with connections")
        cell += f" ({len(found)}/{len(values)} {counted})"
    return cell


def _cmd_sweep(args: argparse.Namespace) -> int:
    from simlab import charts
    from simlab.runner import DEFENCES, METRICS, resolve_scenario, settings_for
    from simlab.sweep import parameter_sweep
    from simlab.units import for_csv

    if args.metric not in METRICS or args.metric == "detected_by":
        raise SimlabError(
            f"--metric {shown(args.metric)} is not a numeric metric; valid: "
            f"{', '.join(m for m in METRICS if m != 'detected_by')}"
        )
    try:
        values = [_parse_value(v.strip()) for v in args.values.split(",") if v.strip()]
    except SimlabError as exc:
        raise SimlabError(f"a value of {shown(args.swept)}: {exc}") from None
    if not values:
        raise SimlabError(f"no values to sweep in {args.values!r}; give them comma-separated")
    params = _params(args.params)
    defences = args.defence or list(DEFENCES)
    # Every argument and every output file is checked before any run: first what costs
    # nothing (the run count, the scenario, the files), then each value (about 1 ms each).
    check_runs(len(values) * len(defences) * args.seeds)
    spec = resolve_scenario(args.scenario)  # a file is read once, not once per value
    name = f"sweep-{Path(args.scenario).stem}-{args.swept}-{args.metric}"
    out = Path(args.out)
    outputs = [f"{name}.csv", *charts.figure_files(name)]
    plan(out, outputs, force=args.force)
    for value in values:
        for defence in defences:
            settings_for(spec, defence, {**params, args.swept: value})
    metrics = parameter_sweep(
        args.scenario,
        args.swept,
        values,
        defences=args.defence,
        seeds=args.seeds,
        params=params,
        workers=args.workers,
        progress=None if not args.quiet else False,
    )
    # The chart and the summary are made before anything is written: if making them
    # fails, nothing is on disk.
    files = charts.render(charts.parameter_chart(metrics, args.swept, args.metric), name)
    table = for_csv(metrics).to_csv(index=False).encode()
    cells = metrics.groupby([args.swept, "defence"], sort=False)[args.metric].apply(
        lambda s: _sweep_cell(args.metric, s)
    )
    wide = cells.unstack()
    # By position: values such as true, false and none make an object index that .loc
    # would read as a boolean mask.
    rows = [
        [_show_value(value), *map(str, row)]
        for value, row in zip(wide.index, wide.to_numpy(), strict=True)
    ]
    plan(out, outputs, force=args.force)  # again: none written if one appeared meanwhile
    charts.write({f"{name}.csv": table, **files}, out, replace=args.force)
    print(f"{args.metric}, mean over {args.seeds} seed(s):")
    print("\n".join(_columns([args.swept, *map(str, wide.columns)], rows)))
    print(f"wrote {out / name}.csv, .png and .svg")
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from simlab.replays import REPLAYS
    from simlab.runner import DEFENCES, run, settings_for

    replay = REPLAYS.get(args.incident)
    if replay is None:
        raise SimlabError(f"unknown incident {shown(args.incident)}; valid: {', '.join(REPLAYS)}")
    given = _params(args.params)
    params = {**replay.params, **given}  # e.g. n_clients=300000: real size
    # An error names the replay and what the user set, not the replay's own settings.
    where = f"replay {replay.name!r}" + (
        " with " + ", ".join(f"{k}={shown(v)}" for k, v in given.items()) if given else ""
    )
    for defence in DEFENCES:  # every argument is checked before the first run
        settings_for(replay.scenario, defence, params, where=where)
    print(f"{replay.title} ({replay.scenario})\n{replay.story}\n")
    for src in replay.sources:
        print(f"source: {src}")
    results = [
        (
            d + (" (historical)" if d in replay.historical else ""),
            run(replay.scenario, d, seed=args.seed, **params),
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
    for path in live.write(out, force=args.force) if out is not None else ():
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

    from simlab.live import FILES, scene

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM cleans up exactly like Ctrl-C

    params: dict[str, Any] = _params(args.params)
    out = Path(args.out) if args.out is not None else None
    if out is not None:  # checked before the scene starts; written once it serves
        plan(out, FILES, force=args.force)
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

    paths = export(
        args.scenario, Path(args.out), seed=args.seed, defence=args.defence, force=args.force
    )
    for path in paths:
        print(path)
    return 0


def add_param_option(p: argparse.ArgumentParser, *aliases: str) -> None:
    """``--param KEY=VALUE``, the one spelling every verb uses to set a run parameter
    (``simlab show SCENARIO`` lists them); repeatable, anywhere on the line."""
    p.add_argument(
        "--param",
        *aliases,
        action="append",
        dest="params",
        metavar="KEY=VALUE",
        help="set a parameter (repeatable; `simlab show SCENARIO` lists them)",
    )


def _add_seed(p: argparse.ArgumentParser, default: int | None = 0) -> None:
    p.add_argument(
        "--seed",
        type=_whole(0, SEED_MAX),
        default=default,
        help=f"the run's random seed, 0 to {SEED_MAX:,} (default: 0): the same seed, the same run",
    )


def _add_workers(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workers",
        type=_whole(1, MAX_WORKERS),
        default=None,
        help="processes (default: all cores)",
    )


def _add_output_options(p: argparse.ArgumentParser, text: str, **kwargs: Any) -> None:
    """``--out DIR`` and ``--force``: every verb that writes files refuses, before it runs,
    to replace a file already there unless ``--force`` is given."""
    p.add_argument("--out", type=_folder, metavar="DIR", help=text, **kwargs)
    p.add_argument("--force", action="store_true", help="replace files of the same names in DIR")


def _build() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="simlab",
        description="A teaching laboratory for web PKI trust: pinning, HPKP and CT.",
        epilog="exit status: 0 done; 1 simlab refused an input or could not finish (one line "
        "on stderr); 2 the command line does not parse; 130 interrupted; 141 the reader "
        "closed the pipe",
    )
    parser.add_argument("--version", action="version", version=f"simlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "pin", help="print the RFC 7469 pin of each certificate in PEM (or DER) files"
    )
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
    p.add_argument(
        "defences", nargs="*", default=[], metavar="DEFENCE", help="defences (default: all)"
    )
    p.add_argument("--defence", action="append", help="a defence (repeatable; same as DEFENCE)")
    _add_seed(p, default=None)  # None: not given (a script takes no seed)
    add_param_option(p)
    _add_output_options(p, "also write each run's table as CSV")
    p.set_defaults(handler=_cmd_run)

    p = sub.add_parser("compare", help="every scenario x every defence x N seeds, with charts")
    p.add_argument(
        "--seeds", type=_whole(1, MAX_SEEDS), default=3, help="seeds per cell (default: 3)"
    )
    _add_workers(p)
    _add_output_options(p, "where the tables and figures go (default: figures)", default="figures")
    add_param_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress, no summary")
    p.set_defaults(handler=_cmd_compare)

    p = sub.add_parser("sweep", help="sweep one parameter of a scenario and chart one metric")
    p.add_argument("scenario", metavar="SCENARIO|FILE.toml")
    p.add_argument("swept", metavar="PARAM", help="the parameter to vary, e.g. max_age_days")
    p.add_argument("values", help="comma-separated values, e.g. 1,7,30,60")
    p.add_argument(
        "--metric",
        default="interception_rate",
        help="the numeric metric to chart (default: interception_rate; a wrong name lists them)",
    )
    p.add_argument("--defence", action="append", help="a defence (repeatable; default: all)")
    p.add_argument(
        "--seeds", type=_whole(1, MAX_SEEDS), default=3, help="seeds per value (default: 3)"
    )
    add_param_option(p, "--set")  # --set: the spelling sweep used before --param
    _add_workers(p)
    _add_output_options(p, "where the table and chart go (default: figures)", default="figures")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_cmd_sweep)

    p = sub.add_parser("replay", help="replay a historical incident under every defence")
    p.add_argument("incident", help="a replay's name (`simlab list` names them)")
    _add_seed(p)
    add_param_option(p)
    p.set_defaults(handler=_cmd_replay)

    p = sub.add_parser(
        "live", help="serve a scenario's servers over real TLS and its CT logs, locally"
    )
    p.add_argument("scenario", metavar="SCENARIO|FILE.toml")
    p.add_argument("--defence", default="static", help="what the site deploys (default: static)")
    _add_seed(p)
    p.add_argument(
        "--at-day",
        type=_number(0, math.inf, "days"),
        default=None,
        help="the simulated moment to serve (default: one hour into the attack)",
    )
    p.add_argument(
        "--seconds",
        type=_number(0, LIVE_SECONDS_MAX, "seconds"),
        default=None,
        help="stop after this long (0: set up, print, stop)",
    )
    add_param_option(p)
    _add_output_options(p, "write servers.json, loglist.json, ctlogs.cnf and the CA file")
    p.set_defaults(handler=_cmd_live)

    p = sub.add_parser(
        "export", help="write a scenario's PEM chains, headers, SCTs, STHs and log list"
    )
    p.add_argument("scenario", metavar="SCENARIO|FILE.toml")
    _add_output_options(p, "where the files go", required=True)
    p.add_argument("--defence", default="hpkp+ct", help="what the site deploys (default: hpkp+ct)")
    _add_seed(p)
    p.set_defaults(handler=_cmd_export)
    return parser, dict(sub.choices)


def build_parser() -> argparse.ArgumentParser:
    """The ``simlab`` argument parser (its verbs are parsed by :func:`parse`)."""
    return _build()[0]


def parse(argv: Sequence[str]) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """Parse a command line. A verb's options may come anywhere after it, between or after
    its positional words (``simlab run cafe.toml --param click_through=0.9 none``)."""
    parser, verbs = _build()
    words = list(argv)
    if any("\0" in word for word in words):  # no shell can pass one; Python code can
        parser.error("an argument contains a NUL character")
    at = next((i for i, word in enumerate(words) if not word.startswith("-")), None)
    if at is None or words[at] not in verbs:
        return parser, parser.parse_args(words)  # --version, --help, or an unknown verb
    parser.parse_args(words[:at])  # options before the verb (--version, --help)
    verb = verbs[words[at]]
    args = verb.parse_intermixed_args(words[at + 1 :])
    args.command = words[at]
    return verb, args


def _print_names_as_given() -> None:
    """A file name that is not valid UTF-8 reaches Python as surrogate escapes (PEP 383);
    printed back (``simlab export ... --out``), it becomes the same bytes again, as Python
    itself does under the C locale, instead of crashing a UTF-8 stdout whose errors are
    "strict"."""
    stdout = sys.stdout
    if isinstance(stdout, io.TextIOWrapper) and stdout.errors == "strict":
        stdout.reconfigure(errors="surrogateescape")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit status."""
    _print_names_as_given()
    parser, args = parse(sys.argv[1:] if argv is None else argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except SimlabError as exc:
        # Escaped: a message may quote a file name, a file's text or a certificate's.
        print(f"simlab: error: {printable(str(exc))}", file=sys.stderr)
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
