-- Net corrected kWh of every succeeded run per settlement period, GSP Group and supplier: import positive,
-- export negative. What run_comparison and run_comparison_to_sf compare.
SELECT
    run_id,
    settlement_date,
    settlement_period,
    gsp_group_id,
    supplier_id,
    sum(CASE measurement_quantity WHEN 'AI' THEN 1 ELSE -1 END * corrected_kwh) AS net_kwh
FROM supplier_volumes
GROUP BY ALL
