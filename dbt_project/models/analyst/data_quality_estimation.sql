-- Actual and estimated values of every succeeded run per supplier and GSP Group, and how they were estimated.
-- Each MPAN-day row has one kWh column per period slot (kwh_01, kwh_02, ...) and a bit per period in each
-- mask (bit p set: period p was estimated, or estimated that way); the row is turned into one row per period.
WITH mpan_days AS (
    SELECT
        run_id,
        supplier_id,
        gsp_group_id,
        estimated_mask,
        interpolation_mask,
        like_day_mask,
        annual_consumption_mask,
        [*COLUMNS('^kwh_[0-9]+$')] AS period_kwh
    FROM run_consumption_after_estimation
),

period_values AS (
    SELECT
        * EXCLUDE (period_kwh),
        generate_subscripts(period_kwh, 1)::UBIGINT AS settlement_period,
        unnest(period_kwh) AS kwh
    FROM mpan_days
),

flagged AS (
    SELECT
        run_id,
        supplier_id,
        gsp_group_id,
        kwh,
        (estimated_mask >> settlement_period) & 1 = 1 AS is_estimated,
        (interpolation_mask >> settlement_period) & 1 = 1 AS is_interpolated,
        (like_day_mask >> settlement_period) & 1 = 1 AS is_like_day,
        (annual_consumption_mask >> settlement_period) & 1 = 1 AS is_annual_consumption
    FROM period_values
    WHERE kwh IS NOT NULL
)

SELECT
    flagged.run_id,
    runs.run_type,
    runs.settlement_date,
    flagged.supplier_id,
    flagged.gsp_group_id,
    count(*) FILTER (WHERE NOT is_estimated) AS actual_values,
    count(*) FILTER (WHERE is_estimated) AS estimated_values,
    count(*) FILTER (WHERE is_interpolated) AS interpolated_values,
    count(*) FILTER (WHERE is_like_day) AS like_day_values,
    count(*) FILTER (WHERE is_annual_consumption) AS annual_consumption_values,
    coalesce(sum(kwh) FILTER (WHERE NOT is_estimated), 0) AS actual_kwh,
    coalesce(sum(kwh) FILTER (WHERE is_estimated), 0) AS estimated_kwh,
    round(count(*) FILTER (WHERE is_estimated) / count(*), 4) AS estimated_share
FROM flagged
JOIN settlement_runs AS runs USING (run_id)
WHERE runs.status = 'succeeded'
GROUP BY ALL
