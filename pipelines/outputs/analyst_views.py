"""Warehouse views for analysts and auditors (docs/analysts.md), on top of the views of pipelines.outputs.warehouse.

Their names and columns are a stable interface: queries in docs/analysts.md are run by the test suite.
"""

from pipelines.reference.lake import Lake, period_columns

# A run's basis file path -> its run id (<run type>-<date>-v<version>, as pipelines.settle.run names runs).
_RUN_ID_FROM_PATH = r"regexp_replace(filename, '^.*/runs/([^/]+)/([^/]+)/(v[0-9]+)/basis/[^/]+$', '\1-\2-\3')"
_SIGNED = "CASE measurement_quantity WHEN 'AI' THEN 1 ELSE -1 END"
# Net corrected kWh (import positive, export negative) of every succeeded run per settlement period, GSP
# Group and supplier: what run_comparison and run_comparison_to_sf compare (a CTE named `totals`).
NET_TOTALS = (
    "totals AS (SELECT run_id, settlement_date, settlement_period, gsp_group_id, supplier_id, "
    f"sum({_SIGNED} * corrected_kwh) AS net_kwh FROM supplier_volumes GROUP BY ALL)"
)


def compared_keys(pairs: str, other_run: str) -> str:
    """A CTE `keys`: each row of `pairs` (a run_id and the run it is compared with, column `other_run`) with
    every settlement period, GSP Group and supplier found in either run, so a supplier, group or period
    present in only one of them is compared with 0 kWh in the other."""
    return (
        "keys AS (SELECT p.*, t.settlement_period, t.gsp_group_id, t.supplier_id "
        f"FROM {pairs} p JOIN totals t ON t.run_id = p.run_id "
        "UNION SELECT p.*, t.settlement_period, t.gsp_group_id, t.supplier_id "
        f"FROM {pairs} p JOIN totals t ON t.run_id = p.{other_run})"
    )


def _basis(lake: Lake, name: str, columns: str, empty: str) -> str:
    """Rows of one basis file of every settlement run, with the run's id."""
    pattern = lake.data_dir / "runs" / "*" / "*" / "v*" / "basis" / f"{name}.parquet"
    if not any(lake.data_dir.glob(str(pattern.relative_to(lake.data_dir)))):
        return empty
    return f"SELECT {_RUN_ID_FROM_PATH} AS run_id, {columns} FROM read_parquet('{pattern}', filename = true)"


def analyst_view_definitions(lake: Lake) -> dict[str, str]:
    views = {}
    # Supplier positions: per period, GSP Group, supplier and BM Unit, corrected import, export and net
    # (import - export) of the latest run of each day.
    views["supplier_positions"] = (
        "SELECT settlement_date, settlement_period, gsp_group_id, supplier_id, bm_unit_id, run_id, run_type, "
        "sum(CASE measurement_quantity WHEN 'AI' THEN corrected_kwh ELSE 0 END) AS import_kwh, "
        "sum(CASE measurement_quantity WHEN 'AE' THEN corrected_kwh ELSE 0 END) AS export_kwh, "
        f"sum({_SIGNED} * corrected_kwh) AS net_kwh "
        "FROM supplier_volumes WHERE run_id IN (SELECT run_id FROM latest_run_by_day) GROUP BY ALL"
    )
    # GSP Group Correction of the latest run of each day, with Elexon's 0.9..1.1 review band.
    views["latest_gsp_group_correction"] = (
        "SELECT *, correction_factor NOT BETWEEN 0.9 AND 1.1 AS outside_band FROM gsp_group_correction "
        "WHERE run_id IN (SELECT run_id FROM latest_run_by_day)"
    )
    # Each later run type's current version against the day's current SF run, per settlement period, GSP
    # Group and supplier: net corrected kWh (import positive, export negative), as run_comparison; a
    # supplier, group or period in only one of the two runs counts 0 kWh in the other.
    views["run_comparison_to_sf"] = (
        "WITH pairs AS (SELECT later.settlement_date, sf.run_id AS sf_run_id, later.run_id, later.run_type "
        "FROM latest_settlement_runs later JOIN latest_settlement_runs sf ON sf.run_type = 'SF' "
        "AND later.run_type <> 'SF' AND sf.settlement_date = later.settlement_date), "
        f"{NET_TOTALS}, {compared_keys('pairs', 'sf_run_id')} "
        "SELECT k.settlement_date, k.settlement_period, k.gsp_group_id, k.supplier_id, k.sf_run_id, k.run_id, "
        "k.run_type, coalesce(s.net_kwh, 0) AS sf_net_kwh, coalesce(c.net_kwh, 0) AS net_kwh, "
        "coalesce(c.net_kwh, 0) - coalesce(s.net_kwh, 0) AS change_kwh "
        "FROM keys k LEFT JOIN totals c USING (run_id, settlement_period, gsp_group_id, supplier_id) "
        "LEFT JOIN totals s ON s.run_id = k.sf_run_id AND s.settlement_period = k.settlement_period "
        "AND s.gsp_group_id = k.gsp_group_id AND s.supplier_id = k.supplier_id "
        "ORDER BY k.settlement_date, k.run_id, k.settlement_period, k.gsp_group_id, k.supplier_id"
    )
    # Data quality: refused rows by file and reason; actual and estimated values per run and supplier.
    views["data_quality_rejections"] = (
        "SELECT source_file, reason_code, any_value(reason) AS reason, count(*) AS rows FROM quarantine GROUP BY ALL"
    )
    kwh = ", ".join(period_columns("kwh"))
    estimated = _basis(
        lake, "consumption_after_estimation",
        f"supplier_id, gsp_group_id, estimated_mask, interpolation_mask, like_day_mask, annual_consumption_mask, {kwh}",
        "SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS supplier_id, NULL::VARCHAR AS gsp_group_id, "
        "NULL::UBIGINT AS estimated_mask, NULL::UBIGINT AS interpolation_mask, NULL::UBIGINT AS like_day_mask, "
        "NULL::UBIGINT AS annual_consumption_mask, " + ", ".join(f"NULL::DECIMAL(18,3) AS {c}" for c in period_columns("kwh"))
        + " WHERE false",
    )

    def bit(mask: str) -> str:
        return f"(({mask}::UBIGINT >> p::UBIGINT) & 1 = 1)"

    views["data_quality_estimation"] = (
        "SELECT run_id, r.run_type, r.settlement_date, supplier_id, gsp_group_id, "
        f"count(*) FILTER (WHERE NOT {bit('estimated_mask')}) AS actual_values, "
        f"count(*) FILTER (WHERE {bit('estimated_mask')}) AS estimated_values, "
        f"count(*) FILTER (WHERE {bit('interpolation_mask')}) AS interpolated_values, "
        f"count(*) FILTER (WHERE {bit('like_day_mask')}) AS like_day_values, "
        f"count(*) FILTER (WHERE {bit('annual_consumption_mask')}) AS annual_consumption_values, "
        f"coalesce(sum(kwh) FILTER (WHERE NOT {bit('estimated_mask')}), 0) AS actual_kwh, "
        f"coalesce(sum(kwh) FILTER (WHERE {bit('estimated_mask')}), 0) AS estimated_kwh, "
        f"round(count(*) FILTER (WHERE {bit('estimated_mask')}) / count(*), 4) AS estimated_share "
        f"FROM (SELECT * EXCLUDE ({kwh}), unnest(generate_series(1, 50)) AS p, unnest([{kwh}]) AS kwh FROM ({estimated})) "
        "JOIN settlement_runs r USING (run_id) WHERE kwh IS NOT NULL AND r.status = 'succeeded' GROUP BY ALL"
    )
    # Lineage: the landing files each run was given, and the registrations it used (with their file hash).
    views["run_landing_files"] = _basis(
        lake, "landing_files", "* EXCLUDE (filename)",
        "SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS file_sha256, NULL::VARCHAR AS file_id, NULL::VARCHAR AS dataset, "
        "NULL::VARCHAR AS source_file, NULL::VARCHAR AS status, NULL::BIGINT AS rows_accepted, "
        "NULL::TIMESTAMPTZ AS ingested_at WHERE false",
    )
    views["run_registrations"] = _basis(
        lake, "registrations_in_force",
        "mpan_core, measurement_quantity, supplier_id, gsp_group_id, bm_unit_id, snapshot_date, file_sha256",
        "SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS mpan_core, NULL::VARCHAR AS measurement_quantity, "
        "NULL::VARCHAR AS supplier_id, NULL::VARCHAR AS gsp_group_id, NULL::VARCHAR AS bm_unit_id, "
        "NULL::DATE AS snapshot_date, NULL::VARCHAR AS file_sha256 WHERE false",
    )
    return views
