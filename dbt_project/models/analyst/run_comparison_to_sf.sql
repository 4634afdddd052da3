-- Each later run type's current version against the day's current SF run, per settlement period, GSP Group
-- and supplier, counted as run_comparison counts: a supplier, group or period in only one of the two runs
-- counts 0 kWh in the other.
WITH pairs AS (
    SELECT later.settlement_date, sf.run_id AS sf_run_id, later.run_id, later.run_type
    FROM latest_settlement_runs AS later
    JOIN latest_settlement_runs AS sf
        ON sf.run_type = 'SF' AND later.run_type <> 'SF' AND sf.settlement_date = later.settlement_date
),

keys AS (
    SELECT pairs.*, totals.settlement_period, totals.gsp_group_id, totals.supplier_id
    FROM pairs JOIN run_net_totals AS totals ON totals.run_id = pairs.run_id
    UNION
    SELECT pairs.*, totals.settlement_period, totals.gsp_group_id, totals.supplier_id
    FROM pairs JOIN run_net_totals AS totals ON totals.run_id = pairs.sf_run_id
)

SELECT
    keys.settlement_date,
    keys.settlement_period,
    keys.gsp_group_id,
    keys.supplier_id,
    keys.sf_run_id,
    keys.run_id,
    keys.run_type,
    coalesce(sf.net_kwh, 0) AS sf_net_kwh,
    coalesce(later.net_kwh, 0) AS net_kwh,
    coalesce(later.net_kwh, 0) - coalesce(sf.net_kwh, 0) AS change_kwh
FROM keys
LEFT JOIN run_net_totals AS later
    ON later.run_id = keys.run_id
    AND later.settlement_period = keys.settlement_period
    AND later.gsp_group_id = keys.gsp_group_id
    AND later.supplier_id = keys.supplier_id
LEFT JOIN run_net_totals AS sf
    ON sf.run_id = keys.sf_run_id
    AND sf.settlement_period = keys.settlement_period
    AND sf.gsp_group_id = keys.gsp_group_id
    AND sf.supplier_id = keys.supplier_id
ORDER BY keys.settlement_date, keys.run_id, keys.settlement_period, keys.gsp_group_id, keys.supplier_id
