"""The data-quality gate: a Great Expectations checkpoint over a settlement run, before anything is published.

The suites are code (expectations/suites/, generated from the data catalogue): the column rules of every
dataset the run publishes or used, plus the settlement rules over the whole run. Each suite is validated
against the run's staged Parquet files through views in `<run_dir>/gate.duckdb`; GX computes every metric
inside DuckDB (pipelines.quality.gx_duckdb), so a national settlement day is never loaded into pandas.

Run results and the auditors' Data Docs live under the data directory: DATA_DIR/gx/ (GX's project: run
results) and DATA_DIR/data_docs/ (the Data Docs site, rebuilt for the run's pages on every run). The GX project
names the site relative to itself (`../data_docs`), and each rule's page is kept relative to the site, so a data
directory that is moved or copied keeps working Data Docs and links (the report copies the run's pages beside
itself: pipelines.quality.data_docs).
"""

import json
import logging
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from pipelines.core.errors import InternalError
from pipelines.core.locks import gate_lock
from pipelines.core.paths import PROJECT_ROOT
from pipelines.core.resources import duckdb_config
from pipelines.quality import gx_duckdb
from pipelines.quality.data_docs import DATA_DOCS_DIR, install_offline_styles, page_in_site

SUITES_DIR = PROJECT_ROOT / "expectations" / "suites"
DATA_DOCS_SITE = "auditors"
# The site's folder as GX stores it: relative to GX's project folder (GX joins it to the context root), never
# an absolute path, so a data directory moved or copied still writes its Data Docs into itself.
DATA_DOCS_BASE_DIRECTORY = f"../{DATA_DOCS_DIR}"
# The relation each suite validates in the gate database, and the staged file behind it (relative to the run
# directory). Settlement rules join in the other relations by name.
GATE_RELATIONS = {
    "supplier_volumes": "staged/supplier_volumes.parquet",
    "gsp_group_correction": "staged/gsp_group_correction.parquet",
    "bm_unit_volumes": "staged/bm_unit_volumes.parquet",
    "settlement_runs": "staged/settlement_runs.parquet",
    "registrations_in_force": "basis/registrations_in_force.parquet",
    "consumption_after_estimation": "basis/consumption_after_estimation.parquet",
    "settlement_periods": "basis/settlement_periods.parquet",
    "gsp_groups": "standing/gsp_groups.parquet",
    "llf": "standing/llf.parquet",
    "gsp_group_take": "standing/gsp_group_take.parquet",
    "ccc": "standing/ccc.parquet",
    "load_shape_default": "standing/load_shape_default.parquet",
    "load_shape_season": "standing/load_shape_season.parquet",
    "load_shapes": "standing/load_shapes.parquet",
    # the Load Shaping Service's publication: exactly the columns of load_shapes.csv (CONTRACT.md), so the
    # catalogue's load_shapes rules check it
    "published_load_shapes": "staged/load_shapes.parquet",
}
# Catalogue suites checked against a relation of another name.
SUITE_OF_RELATION = {"registrations_in_force": "registrations", "published_load_shapes": "load_shapes"}
_SHOWN_ROWS = 5


@dataclass(frozen=True)
class RuleResult:
    relation: str
    rule: str
    severity: str
    success: bool
    description: str
    unexpected_count: int | None
    observed: str
    data_docs_page: str | None  # the rule's validation page, relative to the Data Docs site (DATA_DIR/data_docs/)

    @property
    def name(self) -> str:
        return f"{self.relation}: {self.rule}"

    @property
    def status(self) -> str:
        """passed, warning (a non-critical rule that did not pass: never stops a run) or failed (critical)."""
        if self.success:
            return "passed"
        return "failed" if self.severity == "critical" else "warning"


@dataclass(frozen=True)
class GateResult:
    rules: list[RuleResult]

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.rules if not r.success and r.severity == "critical"]

    @property
    def warnings(self) -> list[RuleResult]:
        return [r for r in self.rules if not r.success and r.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.failed


def suite_expectations(relation: str) -> list[dict]:
    """The catalogue's column rules of the relation's dataset, then the settlement rules that read it."""
    expectations = []
    column_suite = SUITES_DIR / f"{SUITE_OF_RELATION.get(relation, relation)}.json"
    if column_suite.exists():
        expectations += json.loads(column_suite.read_text())["expectations"]
    settlement = json.loads((SUITES_DIR / "settlement.json").read_text())["expectations"]
    expectations += [e for e in settlement if e["meta"]["dataset"] == relation]
    return expectations


def create_gate_database(run_dir: Path) -> Path:
    database = run_dir / "gate.duckdb"
    database.unlink(missing_ok=True)
    with duckdb.connect(str(database)) as con:
        for relation, relative in GATE_RELATIONS.items():
            con.execute(f"CREATE VIEW {relation} AS SELECT * FROM read_parquet('{run_dir / relative}')")
    return database


def _context(data_dir: Path):
    import great_expectations as gx

    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=str(data_dir))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": DATA_DOCS_BASE_DIRECTORY},
    }
    if DATA_DOCS_SITE not in context.get_site_names():
        context.add_data_docs_site(DATA_DOCS_SITE, site)
    elif _site_config(context) != site:
        # a project written before the site was relative (an absolute path into wherever the data directory was)
        context.update_data_docs_site(DATA_DOCS_SITE, site)
    # GX inlines <context root>/plugins/custom_data_docs/styles/data_docs_custom_styles.css into every page:
    # the styles that make the pages readable offline (their Bootstrap comes from a CDN).
    install_offline_styles(Path(context.root_directory))
    return context


def _site_config(context) -> dict:
    config = context.variables.data_docs_sites[DATA_DOCS_SITE]
    return json.loads(json.dumps(config, default=str))


def _observed(result) -> str:
    details = result.result or {}
    rows = details.get("details", {}).get("unexpected_rows") or details.get("partial_unexpected_list")
    if rows is None:
        return ""
    return json.dumps(rows[:_SHOWN_ROWS], default=str)


def run_gate(data_dir: Path, run_dir: Path, run_id: str) -> GateResult:
    """Validate the run's staged outputs, basis and standing data; build its Data Docs pages."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    database = create_gate_database(run_dir)
    with gate_lock(data_dir):
        context = _context(data_dir)
        source = context.data_sources.add_or_update_sql(
            name="settlement_run",
            connection_string=gx_duckdb.connection_string(database),
            kwargs={"connect_args": {"read_only": True, "config": duckdb_config(run_dir / "spill")}},
        )
        validations = []
        for relation in GATE_RELATIONS:
            expectations = suite_expectations(relation)
            if not expectations:
                continue
            suite = context.suites.add_or_update(gx.ExpectationSuite(name=relation, expectations=expectations))
            batch = source.add_table_asset(name=relation, table_name=relation).add_batch_definition_whole_table("run")
            validations.append(context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=relation, data=batch, suite=suite)))
        checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
            name="settlement_gate",
            validation_definitions=validations,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": _SHOWN_ROWS},
        ))
        outcome = checkpoint.run(run_id=RunIdentifier(run_name=run_id))
        # One site build for all the run's pages: GX's UpdateDataDocsAction rebuilds the site once per
        # relation, compiling its page templates again each time (docs/benchmarks.md, "Data-quality gate").
        context.build_data_docs(site_names=[DATA_DOCS_SITE], resource_identifiers=list(outcome.run_results))
        rules = []
        for identifier, validation in outcome.run_results.items():
            urls = context.get_docs_sites_urls(resource_identifier=identifier, site_names=[DATA_DOCS_SITE])
            page = page_in_site(data_dir, urls[0]["site_url"]) if urls else None
            relation = validation.suite_name
            for result in validation.results:
                config = result.expectation_config
                rules.append(RuleResult(
                    relation=relation,
                    rule=config.meta.get("catalogue_rule", config.type),
                    severity=str(getattr(config.severity, "value", config.severity) or "critical"),
                    success=bool(result.success),
                    description=config.meta.get("description") or config.type.replace("_", " "),
                    unexpected_count=(result.result or {}).get("unexpected_count",
                                                                (result.result or {}).get("observed_value")),
                    observed="" if result.success else _observed(result),
                    data_docs_page=page,
                ))
        # DuckDB connections left open at interpreter exit make its bindings print leak warnings
        source.get_execution_engine().engine.dispose()
        source.get_engine().dispose()
    return GateResult(rules=rules)



class GateProcess:
    """The gate in a child process, started with the run so that Great Expectations (seconds to import) is
    loaded while dbt builds; the child also keeps GX's and DuckDB's shutdown noise out of the command's
    output (it goes to <run_dir>/gate_output.txt)."""

    def __init__(self, data_dir: Path, run_dir: Path, run_id: str):
        self._output = open(run_dir / "gate_output.txt", "w")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "pipelines.quality.gate", str(data_dir), str(run_dir), run_id],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._output, text=True,
        )

    def result(self) -> GateResult:
        stdout, _ = self._process.communicate("go\n")
        self._output.close()
        if self._process.returncode != 0:
            raise InternalError(f"the data-quality gate could not run; see {self._output.name}")
        return GateResult(rules=[RuleResult(**rule) for rule in json.loads(stdout)])

    def cancel(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._output.close()


def _main(data_dir: str, run_dir: str, run_id: str) -> None:
    import great_expectations  # noqa: F401  (imported while the parent's dbt build runs)

    if sys.stdin.readline().strip() != "go":
        return
    result = run_gate(Path(data_dir), Path(run_dir), run_id)
    json.dump([asdict(rule) for rule in result.rules], sys.stdout, default=str)


if __name__ == "__main__":
    _main(*sys.argv[1:4])
