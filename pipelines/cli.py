"""The `mhhs` command line (CONTRACT.md; docs/cli.md is its reference). Failures print a message and exit with
the status of their kind (pipelines.core.errors.ExitCode), never a stack trace."""

import argparse
import json
import os
import shutil
import sys
from datetime import date
from pathlib import Path

import pipelines
from pipelines.core import validation
from pipelines.core.atomic import group_readable
from pipelines.core.errors import BadInputData, ExitCode, MhhsError
from pipelines.core.progress import Progress

# Files the commands create (lake, warehouse, published outputs, logs) are readable by their owner only,
# whatever the caller's umask: registration and consumption data are personal data when linked. Published
# outputs alone may be shared with the group: MHHS_GROUP_READABLE=1 (pipelines/core/atomic.py, checked first).
PRIVATE_UMASK = 0o077


def _date(text: str) -> date:
    try:
        return validation.settlement_date(text)
    except MhhsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _run_type(text: str) -> str:
    try:
        return validation.run_type(text)
    except MhhsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _fault_rate(text: str) -> tuple[str, float]:
    name, _, rate = text.partition("=")
    try:
        value = float(rate)
    except ValueError:
        value = -1.0
    if not name or not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=RATE with RATE between 0 and 1")
    return name, value


DATA_DIR_HELP = "holds the Parquet lake, the DuckDB warehouse and published outputs (env MHHS_DATA_DIR, default ./data)"


def build_parser() -> argparse.ArgumentParser:
    """`--data-dir` goes before or after the command's name: the main parser has it with its default, and every
    command's parser has it too without a default (SUPPRESS), so it replaces the main one's only when given."""
    parser = argparse.ArgumentParser(prog="mhhs", description="GB Market-wide Half-Hourly Settlement data flows",
                                     epilog="Exit codes, progress and output: docs/cli.md")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MHHS_DATA_DIR", "data")), metavar="DIR",
                        help=DATA_DIR_HELP)
    parser.add_argument("--version", action="version", version=f"mhhs {pipelines.__version__}")
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, metavar="DIR", help=DATA_DIR_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser("generate", parents=[data_dir],
                                   help="write synthetic landing files and standing data")
    generate.add_argument("--mpans", type=_positive_int, required=True, help="number of MPANs to generate")
    generate.add_argument("--days", type=_positive_int, required=True, help="number of settlement days")
    generate.add_argument("--start", type=_date, required=True, help="first settlement date, YYYY-MM-DD")
    generate.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives identical files")
    generate.add_argument("--out", type=Path, required=True, help="landing directory to write")
    generate.add_argument("--format", choices=("csv", "parquet"), default="csv", help="consumption file format")
    generate.add_argument(
        "--fault-rate",
        type=_fault_rate,
        action="append",
        default=[],
        metavar="NAME=RATE",
        help="override one injected fault rate (repeatable); --fault-rate all=0 gives clean data",
    )

    ingest = commands.add_parser("ingest", parents=[data_dir],
                                 help="ingest landing files into the lake; refused rows go to quarantine")
    ingest.add_argument("landing_dir", type=Path, metavar="DIR", help="holds consumption/ and registrations/")
    ingest.add_argument("--json", action="store_true", help="print one JSON object instead of a table, and no progress")

    settle = commands.add_parser("settle", parents=[data_dir],
                                 help="run validation, estimation, aggregation and GSP Group Correction for a date")
    settle.add_argument("--date", type=_date, required=True, help="settlement date, YYYY-MM-DD")
    settle.add_argument("--run-type", type=_run_type, required=True, help="run type from the settlement calendar, e.g. SF")
    settle.add_argument("--standing-data", type=Path, default=None,
                        help="standing data directory; must hold llf.csv, gsp_group_take.csv and ccc.csv (bundled "
                             "defaults for its other files). Without it: the bundled synthetic set, never for real settlement")
    settle.add_argument("--out", type=Path, default=None, help="where outputs are published (default DATA_DIR/outbound)")
    settle.add_argument("--dispute", metavar="REF", default=None,
                        help="reference of the upheld trading dispute a DF (Dispute Final) run settles; required for DF, "
                             "refused for any other run type")
    settle.add_argument("--json", action="store_true", help="print one JSON object summing up the run, and no progress")

    sql = commands.add_parser("sql", parents=[data_dir],
                              help="run one read-only SELECT query on the warehouse and print the result")
    sql.add_argument("query", metavar="QUERY", help='one SELECT statement, e.g. "SELECT * FROM latest_run_by_day"')
    sql.add_argument("--csv", type=Path, default=None, metavar="FILE", help="also write the whole result as CSV")
    sql.add_argument("--parquet", type=Path, default=None, metavar="FILE", help="also write the whole result as Parquet")
    sql.add_argument("--max-rows", type=_positive_int, default=40,
                     help="rows to print (default 40, at most 10000); --csv and --parquet write every row")

    catalogue = commands.add_parser("catalogue", parents=[data_dir],
                                    help="regenerate the artefacts derived from the data catalogue")
    catalogue.add_argument("--check", action="store_true", help="only report artefacts that differ (drift)")

    docs = commands.add_parser("docs", parents=[data_dir],
                               help="regenerate the architecture artefacts under docs/ (dbt manifest, DAGs, catalogue)")
    docs.add_argument("--check", action="store_true", help="only report artefacts that differ (drift)")
    docs.add_argument("--site", type=Path, default=None, metavar="DIR",
                      help="also build the dbt docs site (DIR/dbt/static_index.html) and every diagram rendered (DIR/diagrams.html)")

    commands.add_parser("demo", parents=[data_dir], help="the main job on sample data, start to finish")

    bench = commands.add_parser("bench", parents=[data_dir],
                                help="time ingest, settle and the gate on generated data (docs/benchmarks.md)")
    bench.add_argument("--mpans", type=_positive_int, required=True, help="number of MPANs to generate")
    bench.add_argument("--days", type=_positive_int, default=1, help="number of settlement days (default 1)")
    bench.add_argument("--format", choices=("csv", "parquet"), default="parquet", help="consumption landing format")
    bench.add_argument("--name", default=None, help="result name (default <mpans>_<days>d_<format>)")
    bench.add_argument("--keep", action="store_true", help="keep the generated data under DATA_DIR/bench/")
    return parser


def _print_json(value) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, default=str))


def _settle_summary(run) -> dict:
    """What `mhhs settle` says of a run that succeeded (`--json`: this object): where its outputs and report
    are, and the gate's warnings (its non-critical rules that failed)."""
    from pipelines.jobs.settlement import gate_outcome
    from pipelines.quality.report import REPORT_NAME

    outputs = run.out_dir / run.run_type / run.settlement_date.isoformat()
    gate = gate_outcome(run) or {"rules": 0, "warnings": []}
    return {
        "run_id": run.run_id,
        "run_type": run.run_type,
        "settlement_date": run.settlement_date.isoformat(),
        "version": run.version,
        "status": "succeeded",
        "dispute_reference": run.dispute_reference,
        "synthetic_standing_data": run.synthetic_standing_data,
        "outputs": str(outputs),
        "report": str(outputs / REPORT_NAME),
        "gate": {"rules": gate["rules"], "warnings": gate["warnings"]},
    }


def _check_usage(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Combinations of options argparse cannot express: a usage error (exit 2) before anything runs."""
    if args.command == "settle" and args.dispute is not None:
        if args.run_type != "DF":
            parser.error(f"--dispute is only for a DF (Dispute Final) run, not {args.run_type}")
        try:
            args.dispute = validation.dispute_reference(args.dispute)
        except MhhsError as error:
            parser.error(f"--dispute: {error}")


def run(args: argparse.Namespace) -> int:
    if args.command == "generate":
        from pipelines.synthetic.generate import generate

        summary = generate(
            out_dir=args.out,
            mpans=args.mpans,
            days=args.days,
            start=args.start,
            seed=args.seed,
            file_format=args.format,
            fault_rates=dict(args.fault_rate),
        )
        _print_json(summary)
        return 0
    if args.command == "ingest":
        from pipelines.jobs.ingestion import ingest
        from pipelines.ingest import render_summary

        summary = ingest(args.landing_dir, args.data_dir, Progress.for_command(args.json))
        if args.json:
            _print_json(summary.as_json())
        else:
            print(render_summary(summary))
        if summary.refused:
            names = "; ".join(f"{f.source_file} ({f.reason_code}: {f.reason})" for f in summary.refused)
            print(f"mhhs ingest: refused whole files, kept under {args.data_dir}/refused_files/: {names}", file=sys.stderr)
            return ExitCode.BAD_INPUT
        return ExitCode.OK
    if args.command == "settle":
        from pipelines.jobs.settlement import settle
        from pipelines.reference.standing_data import SYNTHETIC_WARNING

        run = settle(args.data_dir, args.date, args.run_type, args.standing_data, args.out, args.dispute,
                     Progress.for_command(args.json))
        if run.synthetic_standing_data:
            print(f"WARNING: {SYNTHETIC_WARNING} (no --standing-data given)", file=sys.stderr)
        summary = _settle_summary(run)
        if args.json:
            _print_json(summary)
            return ExitCode.OK
        warnings = summary["gate"]["warnings"]
        print(f"settlement run {run.run_id} succeeded; outputs in {summary['outputs']}"
              + (f" (dispute {run.dispute_reference})" if run.dispute_reference else "")
              + (f"; WARNING: {SYNTHETIC_WARNING}" if run.synthetic_standing_data else ""))
        print(f"data-quality gate passed: {summary['gate']['rules']} rules, {len(warnings)} "
              f"{'warning' if len(warnings) == 1 else 'warnings'}; report: {summary['report']}")
        for warning in warnings:
            print(f"  warning: {warning['rule']} ({warning['unexpected_count']} unexpected; "
                  f"observed {warning['observed']})")
        return ExitCode.OK
    if args.command == "sql":
        from pipelines.outputs.sql import query

        print(query(args.data_dir, args.query, args.csv, args.parquet, args.max_rows))
        return 0
    if args.command == "catalogue":
        from pipelines.architecture.catalogue_artefacts import write_artefacts

        changed = write_artefacts(check_only=args.check)
        for path in changed:
            print(("differs: " if args.check else "wrote: ") + str(path))
        if args.check and changed:
            raise BadInputData("generated artefacts differ from the data catalogue; run `make catalogue`")
        return 0
    if args.command == "docs":
        from pipelines import architecture
        from pipelines.architecture.dbt_lineage import build_docs_site, parse_manifest
        from pipelines.architecture.sequence import load_dags

        manifest = build_docs_site(args.site / "dbt") if args.site else parse_manifest()
        sources = architecture.Sources(manifest, load_dags())
        changed = architecture.write_docs(sources, check_only=args.check)
        for path in changed:
            done = "wrote: " if (architecture.PROJECT_ROOT / path).exists() else "removed: "
            print(("differs: " if args.check else done) + str(path))
        if args.check and changed:
            raise BadInputData("generated docs differ from the code; run `make docs`")
        if args.site:
            page = args.site / "diagrams.html"
            page.write_text(architecture.diagrams_html(architecture.mermaid_diagrams()))
            print(f"dbt docs site: {args.site / 'dbt' / 'static_index.html'}\ndiagrams: {page}")
        return 0
    if args.command == "bench":
        from pipelines.bench.runner import render_results, run_bench, write_result

        work_dir = args.data_dir / "bench" / (args.name or f"{args.mpans}_{args.days}d_{args.format}")
        result = run_bench(args.mpans, args.days, args.format, work_dir, args.name)
        path = write_result(result)
        render_results()
        if not args.keep:
            shutil.rmtree(work_dir, ignore_errors=True)
        _print_json({key: result[key] for key in ("name", "values", "stages", "end_to_end_seconds", "disk_bytes")})
        print(f"result: {path}; table and plot: docs/benchmarks.md, docs/bench_scale.svg")
        return 0
    if args.command == "demo":
        from pipelines.jobs.demo import demo

        return demo(args.data_dir)
    raise MhhsError(f"unknown command {args.command}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_usage(parser, args)
    caller_umask = os.umask(PRIVATE_UMASK)
    os.umask(caller_umask | PRIVATE_UMASK)
    try:
        group_readable()  # a wrong MHHS_GROUP_READABLE is refused before any work, not at publication
        return int(run(args))
    except MhhsError as error:
        print(f"mhhs {args.command}: {error}", file=sys.stderr)
        return int(error.exit_code)
    except KeyboardInterrupt:
        print("mhhs: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception as error:  # a defect, not a user error: say so without a stack trace unless asked
        if os.environ.get("MHHS_DEBUG"):
            raise
        if type(error).__name__ == "OutOfMemoryException":  # DuckDB could not spill enough under the limit
            from pipelines.core.resources import memory_limit

            print(f"mhhs {args.command}: DuckDB ran out of memory within MHHS_MEMORY_LIMIT={memory_limit()} "
                  f"({str(error).splitlines()[0]}); nothing was published. Raise MHHS_MEMORY_LIMIT and rerun.",
                  file=sys.stderr)
            return int(ExitCode.OUT_OF_MEMORY)
        print(
            f"mhhs {args.command}: internal error ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
            "nothing was published. Rerun with MHHS_DEBUG=1 for the stack trace and report it.",
            file=sys.stderr,
        )
        return int(ExitCode.INTERNAL)
    finally:
        os.umask(caller_umask)


if __name__ == "__main__":
    sys.exit(main())
