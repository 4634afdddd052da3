"""Warehouse views for analysts and auditors (docs/analysts.md), over the lake views (pipelines.reference.lake_views)
and the settlement views (pipelines.outputs.warehouse).

Each analyst view is a dbt model of dbt_project/models/analyst/: a plain SQL file (no Jinja, so the warehouse
creates it as written) beside its properties YAML, which documents it in the dbt docs. A settlement run never
builds them. Their names and columns are a stable interface: the queries of docs/analysts.md are run by the tests.
The views here in Python are the ones that depend on which files exist: the runs' basis files, named relative to
the data directory like every warehouse view's files (pipelines.outputs.warehouse).
"""

from pipelines import catalogue
from pipelines.core.paths import DBT_PROJECT
from pipelines.reference.lake import Lake, period_columns

ANALYST_MODELS = DBT_PROJECT / "models" / "analyst"
# In creation order: a view is created after the views it reads.
ANALYST_VIEWS = ("run_net_totals", "supplier_positions", "latest_gsp_group_correction", "run_comparison",
                 "run_comparison_to_sf", "data_quality_rejections", "data_quality_estimation")
# A run's basis file path -> its run id (<run type>-<date>-v<version>, as pipelines.settle.run names runs). The
# path is relative (runs/...) or absolute (/.../runs/...) depending on how the connection resolved it.
_RUN_ID_FROM_PATH = r"regexp_replace(filename, '^(.*/)?runs/([^/]+)/([^/]+)/(v[0-9]+)/basis/[^/]+$', '\2-\3-\4')"


def _basis(lake: Lake, name: str, columns: str, empty: str) -> str:
    """Rows of one basis file of every settlement run, with the run's id."""
    pattern = f"runs/*/*/v*/basis/{name}.parquet"  # relative to the data directory
    if not any(lake.data_dir.glob(pattern)):
        return empty
    return f"SELECT {_RUN_ID_FROM_PATH} AS run_id, {columns} FROM read_parquet('{pattern}', filename = true)"


def basis_view_definitions(lake: Lake) -> dict[str, str]:
    """Views over the runs' basis files, and the review band the analyst views flag correction factors against."""
    band = catalogue.load().items["correction_factor"]
    kwh = ", ".join(period_columns("kwh"))
    return {
        "correction_factor_review_band": f"SELECT {band.warn_min} AS warn_min, {band.warn_max} AS warn_max",
        # Lineage: the landing files each run was given, and the registrations it used (with their file hash).
        "run_landing_files": _basis(
            lake, "landing_files", "* EXCLUDE (filename)",
            "SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS file_sha256, NULL::VARCHAR AS file_id, "
            "NULL::VARCHAR AS dataset, NULL::VARCHAR AS source_file, NULL::VARCHAR AS status, "
            "NULL::BIGINT AS rows_accepted, NULL::TIMESTAMPTZ AS ingested_at WHERE false",
        ),
        "run_registrations": _basis(
            lake, "registrations_in_force",
            "mpan_core, measurement_quantity, supplier_id, gsp_group_id, bm_unit_id, snapshot_date, file_sha256",
            "SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS mpan_core, NULL::VARCHAR AS measurement_quantity, "
            "NULL::VARCHAR AS supplier_id, NULL::VARCHAR AS gsp_group_id, NULL::VARCHAR AS bm_unit_id, "
            "NULL::DATE AS snapshot_date, NULL::VARCHAR AS file_sha256 WHERE false",
        ),
        # Every run's values after estimation, with the masks saying which periods were estimated and how.
        "run_consumption_after_estimation": _basis(
            lake, "consumption_after_estimation",
            f"supplier_id, gsp_group_id, estimated_mask, interpolation_mask, like_day_mask, annual_consumption_mask, {kwh}",
            "SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS supplier_id, NULL::VARCHAR AS gsp_group_id, "
            "NULL::UBIGINT AS estimated_mask, NULL::UBIGINT AS interpolation_mask, NULL::UBIGINT AS like_day_mask, "
            "NULL::UBIGINT AS annual_consumption_mask, "
            + ", ".join(f"NULL::DECIMAL(18,3) AS {c}" for c in period_columns("kwh")) + " WHERE false",
        ),
    }


def analyst_view_definitions(lake: Lake) -> dict[str, str]:
    """The basis views, then every analyst model's SQL, in creation order."""
    views = basis_view_definitions(lake)
    for name in ANALYST_VIEWS:
        views[name] = (ANALYST_MODELS / f"{name}.sql").read_text()
    return views
