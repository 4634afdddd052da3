"""The package's layers, lowest first. A module imports only from its own layer's packages or lower ones, so
every import runs one way (tests/test_layers.py checks it, and that no import cycle exists).

    core        plumbing with no domain knowledge: errors, paths, locks, resources, periods, MPAN check digit
    catalogue   the data catalogue (catalogue.yml) and what is derived from it at run time: SQL rules, pandera
                schemas, the DIP message schema
    reference   the lake's layout and its views, the ingestion log, standing data and the settlement calendar
    stages      ingest (landing files into the lake) and settle (a settlement run: its record, dbt build of
                its partitions, staging and publication); neither imports the other
    quality     the data-quality gate (Great Expectations) and the auditor's report
    outputs     the analysts' warehouse: its views and `mhhs sql`
    jobs        whole commands composed from the stages: ingestion and settlement runs, the demo, what the DAGs
                need from their environment
    interface   the `mhhs` command line

Beside them, tools that are not stages of the pipeline. Each reads layers up to a cap and is imported only from
above it: synthetic (the data generator, up to reference; the demo uses it), bench (times the commands, which it
runs as processes) and architecture (generates the docs from the code), both up to jobs.
"""

LAYERS: list[tuple[str, list[str]]] = [
    ("core", ["pipelines.core"]),
    ("catalogue", ["pipelines.catalogue"]),
    ("reference", ["pipelines.reference"]),
    ("stages", ["pipelines.ingest", "pipelines.settle"]),
    ("quality", ["pipelines.quality"]),
    ("outputs", ["pipelines.outputs"]),
    ("jobs", ["pipelines.jobs"]),
    ("interface", ["pipelines.cli"]),
]
# Tools beside the layers, and the highest layer each may import from.
TOOLS: dict[str, str] = {
    "pipelines.synthetic": "reference",
    "pipelines.bench": "jobs",
    "pipelines.architecture": "jobs",
}
# Packages of one layer that must not import each other.
PEERS_APART = [("pipelines.ingest", "pipelines.settle")]
