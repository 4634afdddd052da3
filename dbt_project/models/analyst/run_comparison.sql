-- What changed between each succeeded run and the succeeded run of the same day before it (any run type), per
-- settlement period, GSP Group and supplier. A supplier, group or period in only one of the two runs counts
-- 0 kWh in the other; the first run of a day has no previous run, so its previous and change are NULL.
WITH runs AS (
    SELECT
        run_id,
        run_type,
        version,
        settlement_date,
        lag(run_id) OVER (PARTITION BY settlement_date ORDER BY started_at, run_id) AS previous_run_id
    FROM settlement_runs
    WHERE status = 'succeeded'
),

keys AS (
    SELECT runs.*, totals.settlement_period, totals.gsp_group_id, totals.supplier_id
    FROM runs JOIN run_net_totals AS totals ON totals.run_id = runs.run_id
    UNION
    SELECT runs.*, totals.settlement_period, totals.gsp_group_id, totals.supplier_id
    FROM runs JOIN run_net_totals AS totals ON totals.run_id = runs.previous_run_id
)

SELECT
    keys.settlement_date,
    keys.settlement_period,
    keys.gsp_group_id,
    keys.supplier_id,
    keys.previous_run_id,
    keys.run_id,
    keys.run_type,
    keys.version,
    CASE WHEN keys.previous_run_id IS NOT NULL THEN coalesce(previous.net_kwh, 0) END AS previous_net_kwh,
    coalesce(current.net_kwh, 0) AS net_kwh,
    CASE WHEN keys.previous_run_id IS NOT NULL THEN coalesce(current.net_kwh, 0) - coalesce(previous.net_kwh, 0) END
        AS change_kwh
FROM keys
LEFT JOIN run_net_totals AS current
    ON current.run_id = keys.run_id
    AND current.settlement_period = keys.settlement_period
    AND current.gsp_group_id = keys.gsp_group_id
    AND current.supplier_id = keys.supplier_id
LEFT JOIN run_net_totals AS previous
    ON previous.run_id = keys.previous_run_id
    AND previous.settlement_period = keys.settlement_period
    AND previous.gsp_group_id = keys.gsp_group_id
    AND previous.supplier_id = keys.supplier_id
ORDER BY keys.settlement_date, keys.run_id, keys.settlement_period, keys.gsp_group_id, keys.supplier_id
