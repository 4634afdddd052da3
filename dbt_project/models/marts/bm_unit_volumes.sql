-- BM Unit volumes per period for imbalance settlement (CONTRACT.md, bm_unit_volumes): the corrected volumes of
-- supplier_volumes, losses included, summed over the CCCs of each BM Unit. Volumes stay unsigned per direction
-- (import from the AI CCCs, export from the AE ones); net = import - export, so the net volumes of a GSP Group's
-- BM Units add up to its GSP Group Take as the corrected volumes do (stopping check
-- assert_bm_unit_volumes_add_up_to_gsp_group_take). Sums of decimal(18, 6) values are exact: no rounding here.
select
    run_id,
    run_type,
    settlement_date,
    settlement_period,
    gsp_group_id,
    supplier_id,
    bm_unit_id,
    coalesce(sum(corrected_kwh) filter (where measurement_quantity = 'AI'), 0)::decimal(18, 6) as import_kwh,
    coalesce(sum(corrected_kwh) filter (where measurement_quantity = 'AE'), 0)::decimal(18, 6) as export_kwh,
    (import_kwh - export_kwh)::decimal(18, 6) as net_kwh
from {{ ref('supplier_volumes') }}
group by run_id, run_type, settlement_date, settlement_period, gsp_group_id, supplier_id, bm_unit_id
