"""Step 5 for registration updates: an update_id names one update for good (CONTRACT.md, "Registration
updates"). Among the accepted rows of a file, each update_id is held against the update the lake already has
under it (committed: its landing file has an ingestion log entry), else against the first row of the file that
holds it:

    the same content (every column but update_id, compared as typed values)   a repeat that changes nothing:
        UPDATE_REPEATED when the lake has it, DUPLICATE_ROW when it came earlier in this file
    other content                                                              UPDATE_ID_REUSED

so the lake never holds two updates under one update_id, and re-sending an update changes nothing."""

from pipelines import catalogue
from pipelines.ingest.sql import literal
from pipelines.reference.lake import Lake

REUSED_UPDATE_IDS = "reused_update_ids"


def committed_updates(lake: Lake, content: str) -> str:
    """SQL of the lake's committed updates: update_id and `content` (SQL over the lake's columns)."""
    if not lake.has_files("registration_updates") or not lake.has_files("ingestion_log"):
        return "SELECT NULL::VARCHAR AS update_id, NULL AS content WHERE false"
    return (
        f"SELECT update_id, {content} AS content "
        f"FROM read_parquet({literal(lake.glob('registration_updates'))}, hive_partitioning = false) "
        f"WHERE file_sha256 IN (SELECT file_sha256 FROM read_parquet({literal(lake.glob('ingestion_log'))}))"
    )


def find_reused_update_ids(con, accepted: str, dataset: catalogue.Dataset, lake: Lake) -> str:
    """Table reused_update_ids(row_number, reason_code) of the rows of `accepted` (typed columns t_<name>) that
    are not applied: repeats and reused ids, as above. Returns its name."""
    content_columns = [c for c in dataset.column_names if c != "update_id"]
    content = "struct_pack(" + ", ".join(f"{c} := t_{c}" for c in content_columns) + ")"
    held_content = "struct_pack(" + ", ".join(f"{c} := {c}" for c in content_columns) + ")"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {REUSED_UPDATE_IDS} AS "
        "WITH rows AS (SELECT *, first_value(content) OVER (PARTITION BY update_id ORDER BY row_number) AS first_content, "
        "row_number = min(row_number) OVER (PARTITION BY update_id) AS first_in_file "
        f"FROM (SELECT row_number, t_update_id AS update_id, {content} AS content FROM {accepted})), "
        # one update per id in the lake (this check made it so); kept to one row here all the same, so that a
        # row of the file is never counted twice
        f"held AS (SELECT * FROM ({committed_updates(lake, held_content)}) SEMI JOIN {accepted} ON update_id = t_update_id "
        "QUALIFY row_number() OVER (PARTITION BY update_id) = 1) "
        "SELECT row_number, CASE "
        "WHEN held.update_id IS NOT NULL THEN CASE WHEN rows.content IS NOT DISTINCT FROM held.content "
        "THEN 'UPDATE_REPEATED' ELSE 'UPDATE_ID_REUSED' END "
        "WHEN NOT first_in_file THEN CASE WHEN rows.content IS NOT DISTINCT FROM first_content "
        "THEN 'DUPLICATE_ROW' ELSE 'UPDATE_ID_REUSED' END END AS reason_code "
        "FROM rows LEFT JOIN held USING (update_id) "
        "WHERE held.update_id IS NOT NULL OR NOT first_in_file"
    )
    return REUSED_UPDATE_IDS
