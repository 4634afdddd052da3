"""Rows with the same key told apart: exact repeats after the first are DUPLICATE_ROW, a key with differing
values is CONFLICTING_DUPLICATE (every copy). Used on a consumption file's suspects (reread.py) and on the
repeated keys of a registration snapshot or register read file (registrations.py); a registration update's
update_id is told apart by updates.py instead."""

from pipelines import catalogue

# Columns whose values must agree for two rows with the same key to be plain duplicates: those outside the
# key. The consumption key holds the data service: values from two services never conflict at ingestion,
# which does not know appointments; settlement refuses a service not appointed (DATA_SERVICE_NOT_APPOINTED).
VALUE_COLUMNS = {
    name: [c for c in catalogue.dataset_columns(name) if c not in catalogue.dataset(name).key]
    for name in ("consumption", "registrations", "register_reads")
}
DUPLICATE_ROWS = "duplicate_rows"


def find_duplicates(con, candidates: str, dataset: catalogue.Dataset) -> str:
    """Table duplicate_rows(row_number, reason_code) among accepted candidate rows (typed columns t_<name>)
    sharing the dataset's key. Returns its name."""
    key = ", ".join(f"t_{c}" for c in dataset.key)
    values = ", ".join(f"t_{c}" for c in VALUE_COLUMNS[dataset.name])
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {DUPLICATE_ROWS} AS SELECT row_number, "
        "CASE WHEN variants > 1 THEN 'CONFLICTING_DUPLICATE' ELSE 'DUPLICATE_ROW' END AS reason_code FROM ("
        f"SELECT row_number, count(DISTINCT ({values})) OVER (PARTITION BY {key}) AS variants, "
        f"min(row_number) OVER (PARTITION BY {key}) AS first_row, count(*) OVER (PARTITION BY {key}) AS copies "
        f"FROM ({candidates})) WHERE copies > 1 AND (variants > 1 OR row_number <> first_row)"
    )
    return DUPLICATE_ROWS

