-- Rows refused by ingestion or settlement, by file and reason code.
SELECT
    source_file,
    reason_code,
    any_value(reason) AS reason,
    count(*) AS rows
FROM quarantine
GROUP BY ALL
