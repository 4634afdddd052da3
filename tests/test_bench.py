"""The benchmark harness records every stage and renders its results; no speed is asserted here (benchmarks
are run with `make bench`, never as timed tests)."""

import json
import shutil

import pytest

from pipelines.bench.runner import (BENCH_START, RESULTS_DIR, TABLE_END, TABLE_START, load_results, render_results,
                                    results_table, run_bench, scale_plot)
from pipelines.catalogue.dip_schema import outbound_flows
from pipelines.ingest.landing import LANDING_FORMATS
from pipelines.settle.publish import PUBLISHED_TABLES
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit


@pytest.mark.integration
def test_a_small_benchmark_records_each_stage_its_steps_memory_and_disk(tmp_path):
    # with a few dozen MPANs per GSP Group the synthetic GSP Group Take is so far from the volumes that
    # correction turns some negative, and the gate rightly stops the run: 400 MPANs settle cleanly
    result = run_bench(mpans=400, days=1, file_format="parquet", work_dir=tmp_path / "work", name="tiny")
    manifest = json.loads((tmp_path / "work" / "landing" / "generation_manifest.json").read_text())
    assert result["values"] == manifest["consumption_rows"] > 0
    assert set(result["stages"]) == {"ingest", "settle", "gate", "aggregation", "load_shaping", "register_reads",
                                     "participants"}
    assert 0 < result["stages"]["aggregation"]["wall_seconds"] < result["stages"]["settle"]["steps"]["dbt_build"]
    assert len(result["stages"]["settle"]["slowest_models"]) == 5
    for stage in ("ingest", "settle"):
        assert result["stages"][stage]["wall_seconds"] > 0 and result["stages"][stage]["peak_memory_gib"] > 0
    assert set(result["stages"]["settle"]["steps"]) == {"dbt_build", "stage", "participants", "gate", "publish"}
    # the Load Shaping Service and the register reads inside the dbt build, the participants' flows inside settle,
    # each a share of it
    for stage, inside in (("load_shaping", result["stages"]["settle"]["steps"]["dbt_build"]),
                          ("register_reads", result["stages"]["settle"]["steps"]["dbt_build"]),
                          ("participants", result["stages"]["settle"]["wall_seconds"])):
        assert 0 < result["stages"][stage]["wall_seconds"] < inside
        assert result["stages"][stage]["share_of_settle"] == round(
            result["stages"][stage]["wall_seconds"] / result["stages"]["settle"]["wall_seconds"], 4)
    assert result["stages"]["gate"]["wall_seconds"] == result["stages"]["settle"]["steps"]["gate"]
    assert result["end_to_end_seconds"] == round(
        result["stages"]["ingest"]["wall_seconds"] + result["stages"]["settle"]["wall_seconds"], 2)
    assert all(result["disk_bytes"][part] > 0 for part in ("lake", "runs", "warehouse"))
    # what each interface carries for the day, from the files themselves, and what each kind of participant
    # received, from the published manifests: the suppliers' files together are the run's supplier_volumes
    landing = tmp_path / "work" / "landing"
    published = tmp_path / "work" / "data" / "outbound" / "SF" / BENCH_START.isoformat()
    sizes = result["sizes"]
    assert sizes["landing"]["consumption"]["rows"] == manifest["consumption_rows"]
    assert set(sizes["landing"]) == set(LANDING_FORMATS)
    with (landing / "standing" / "llfc.csv").open() as llfc:
        assert sizes["standing"]["llfc"]["rows"] == sum(1 for _ in llfc) - 1
    assert set(sizes["published"]) == {*PUBLISHED_TABLES, "settlement_runs"}
    with (published / "supplier_volumes.csv").open() as volumes:
        supplier_volumes_rows = sum(1 for _ in volumes) - 1
    assert sizes["published"]["supplier_volumes"]["rows"] == supplier_volumes_rows
    assert sizes["published"]["supplier_volumes"]["csv_bytes"] == (published / "supplier_volumes.csv").stat().st_size
    participants = sizes["participants"]
    assert set(participants) == {flow.recipient for flow in outbound_flows()}
    assert participants["supplier"]["rows"]["total"] == supplier_volumes_rows
    for size in participants.values():
        assert size["recipients"] >= 1
        for measure in ("rows", "csv_bytes", "json_bytes"):
            spread = size[measure]
            assert spread["min"] <= spread["median"] <= spread["max"] <= spread["total"]
    # the floor measured in the same run on the same files, and each stage as a ratio to it
    floor = result["floor"]
    assert floor["seconds"] > 0
    assert floor["end_to_end_ratio"] == round(result["end_to_end_seconds"] / floor["seconds"], 2)
    assert floor["ingest_ratio"] == round(result["stages"]["ingest"]["wall_seconds"] / floor["seconds"], 2)


def test_the_committed_results_render_as_a_table_row_and_plotted_points_each():
    results = load_results(RESULTS_DIR)
    assert results
    table = results_table(results).splitlines()
    assert len(table) == 2 + len(results)
    for row, result in zip(table[2:], results):
        assert row.startswith(f"| {result['mpans']:,} | {result['days']} | {result['format']} |")
    plot = scale_plot(results)
    assert plot.count("<polyline") == 4 and plot.count("<circle") == 4 * len(results)


def test_rendering_rewrites_only_the_generated_table_of_the_page(tmp_path):
    doc, plot = tmp_path / "benchmarks.md", tmp_path / "bench_scale.svg"
    shutil.copy(PROJECT_ROOT / "docs" / "benchmarks.md", doc)
    before, _, after = doc.read_text().partition(TABLE_START)
    after = after.partition(TABLE_END)[2]
    render_results(RESULTS_DIR, doc, plot)
    text = doc.read_text()
    assert text.startswith(before) and text.endswith(after)
    assert results_table(load_results(RESULTS_DIR)) in text
    assert plot.read_text().startswith("<svg")
