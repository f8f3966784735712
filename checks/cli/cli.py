"""The ``sgd-conformance`` command line (also ``python -m sgd_conformance``).

    sgd-conformance report RESULTS_JSON [--html PATH]
    sgd-conformance calibrate [--claims GLOB ... | --stale] [--seeds 200] [--seed-base 1] [--mutant-seeds 20]
                              [-n/--workers N | --scheduler tcp://HOST:PORT] [--skip-false-alarm] [--skip-power]
                              [--skip-third-party | --third-party NAME ...] [--out calibration.json]

``report`` renders the self-contained HTML report from a results JSON (``--sgdc-report-json``). ``calibrate``
measures every check's false-alarm rate on the reference (each stage and the two-stage procedure), the suite-level rate
on the reference and on correct third-party implementations, and each check's power on the mutants its record names
(:mod:`sgd_conformance.checks.harness.calibration`); it merges the figures into the record, prints a summary and exits
1 if a claim is flagged or a suite-level rate exceeds 1%. Finished tasks are journaled beside the record
(``OUT.journal``), so an interrupted calibration resumes; the journal is removed once the record is written.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from sgd_conformance.checks.harness import calibration, engine
from sgd_conformance.reports.model import read_calibration


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="sgd-conformance", description="sgd-conformance tools.")
    commands = main.add_subparsers(dest="command", required=True)
    cal = commands.add_parser("calibrate", help="measure false-alarm rates and power; write the calibration record.",
                              description=calibration.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    rep = commands.add_parser("report", help="render the HTML report of a results JSON.")
    rep.add_argument("results", help="a results JSON written by --sgdc-report-json (schema 1).")
    rep.add_argument("--html", default=None, help="where to write the page (default: index.html beside the JSON).")
    defaults = calibration.Settings()
    cal.add_argument("--claims", action="append", default=[], metavar="GLOB",
                     help="calibrate only the claims whose id matches GLOB (fnmatch); may be given several times.")
    cal.add_argument("--stale", action="store_true",
                     help="calibrate only the claims whose record entry is missing or was measured on other code "
                          "(their code fingerprint changed), and the suite-level rates.")
    cal.add_argument("--seeds", type=_positive, default=defaults.seeds,
                     help=f"false-alarm runs per check and stage, at seeds BASE, BASE+1, ... (default: "
                          f"{defaults.seeds}).")
    cal.add_argument("--seed-base", type=_non_negative, default=defaults.seed_base, metavar="BASE",
                     help=f"first seed of both runs (default: {defaults.seed_base}).")
    cal.add_argument("--mutant-seeds", type=_positive, default=defaults.mutant_seeds, metavar="M",
                     help=f"runs of the power tests, at seeds BASE, ..., BASE+M-1 (default: {defaults.mutant_seeds}).")
    cal.add_argument("-n", "--workers", type=_non_negative, default=0,
                     help="worker processes of the local Dask cluster (default: 0, one per core; 1 runs everything "
                          "in this process).")
    cal.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                     help="run the tasks on the workers of this running Dask scheduler instead of a local cluster.")
    cal.add_argument("--skip-false-alarm", action="store_true", help="do not measure false alarms.")
    cal.add_argument("--skip-power", action="store_true", help="do not measure power.")
    cal.add_argument("--skip-third-party", action="store_true",
                     help="do not measure the suite-level rate of the correct third-party implementations.")
    cal.add_argument("--third-party", action="append", default=[], metavar="NAME",
                     choices=list(calibration.THIRD_PARTY),
                     help="measure only this third-party implementation's suite-level rate (repeatable; default: "
                          "all of " + ", ".join(repr(n) for n in calibration.THIRD_PARTY) + ").")
    cal.add_argument("--out", default="calibration.json",
                     help="the record, merged if it exists (default: calibration.json in the current directory; the "
                          "report reads the package's own, reports/calibration.json of the checkout).")
    return main


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command of ``argv``; the exit status: 0, 1 if a calibrated claim is flagged, 2 on a usage error."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    if args.command == "report":
        return _report(args.results, args.html)
    if args.skip_false_alarm and args.skip_power and args.skip_third_party:
        parser().error("--skip-false-alarm, --skip-power and --skip-third-party leave nothing to measure")
    if args.stale and args.claims:
        parser().error("--stale selects the claims itself: give it without --claims")
    old = read_calibration(args.out)
    claims = tuple(args.claims)
    third_party = not args.skip_third_party
    if args.stale:
        stale = calibration.stale_claims(old)
        suites = calibration.stale_third_party(old)
        for name, reason in [*stale.items(), *((suite, "suite-level rate") for suite in suites)]:
            print(f"stale: {name} ({reason})")
        third_party = third_party and bool(suites)
        if not stale and not third_party:
            print(f"calibrate: {args.out} describes this code; nothing to do")
            return 0
        claims = tuple(stale)
    journal = Path(f"{args.out}.journal")
    settings = calibration.Settings(
        claims=claims, seeds=args.seeds, seed_base=args.seed_base, mutant_seeds=args.mutant_seeds,
        false_alarm=not args.skip_false_alarm and bool(claims or not args.stale),
        power=not args.skip_power and bool(claims or not args.stale), third_party=third_party,
        third_party_names=tuple(args.third_party),
        engine=engine.Engine(scheduler=args.scheduler, workers=args.workers, journal=journal))
    try:
        record = calibration.calibrate(settings, "sgd-conformance " + shlex.join(argv), old)
    except calibration.CalibrationError as exc:
        print(f"calibrate: {exc}", file=sys.stderr)
        return 2
    calibration.write_record(record, args.out)
    journal.unlink(missing_ok=True)
    measured = settings.false_alarm or settings.power
    shown = [c for c in record["claims"] if measured and calibration.matches(c, claims)]
    print(calibration.summary(record, shown))
    print(f"record: {args.out}")
    suite = record["suite"]
    exceeded = [p for p in [suite.get("reference"), *suite.get("third_party", {}).values()]
                if p and p.get("exceeds_target")]
    return 1 if exceeded or any(record["claims"][c]["flags"] for c in shown) else 0


def _report(results: str, html: str | None) -> int:
    from sgd_conformance.reports.model import read_json
    from sgd_conformance.reports.render import write_html

    try:
        report = read_json(results)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"report: cannot read {results}: {exc}", file=sys.stderr)
        return 2
    out = Path(html) if html else Path(results).with_name("index.html")
    write_html(report, out)
    print(f"report: {out}")
    return 0
