-- Per settlement period, GSP Group, supplier and BM Unit: corrected import, export and net (import - export)
-- of the latest run of each day.
SELECT
    settlement_date,
    settlement_period,
    gsp_group_id,
    supplier_id,
    bm_unit_id,
    run_id,
    run_type,
    sum(CASE measurement_quantity WHEN 'AI' THEN corrected_kwh ELSE 0 END) AS import_kwh,
    sum(CASE measurement_quantity WHEN 'AE' THEN corrected_kwh ELSE 0 END) AS export_kwh,
    sum(CASE measurement_quantity WHEN 'AI' THEN 1 ELSE -1 END * corrected_kwh) AS net_kwh
FROM supplier_volumes
WHERE run_id IN (SELECT run_id FROM latest_run_by_day)
GROUP BY ALL
