-- GSP Group Correction (DOMAIN.md section 6, step 4) per GSP Group and period, import positive and
-- export negative:  U = sum of signed volumes, W = sum of signed volume x scaling weight,
-- CF = 1 + (GSPGT - U) / W. With W = 0 the run cannot be corrected unless GSPGT = U (then CF = 1);
-- the test assert_gsp_group_correction_possible stops such a run.
with signed as (
    select
        gsp_group_id,
        settlement_period,
        case measurement_quantity when 'AI' then 1 else -1 end * volume_kwh as signed_kwh,
        case measurement_quantity when 'AI' then 1 else -1 end * volume_kwh * scaling_weight as weighted_kwh
    from {{ ref('int_supplier_period_volumes') }}
),

totals as (
    select
        gsp_group_id,
        settlement_period,
        sum(signed_kwh) as uncorrected_kwh,
        sum(weighted_kwh) as weighted_kwh
    from signed
    group by gsp_group_id, settlement_period
),

take as (
    select gsp_group_id, settlement_period, gsp_group_take_kwh
    from {{ ref('stg_standing__gsp_group_take') }}
    where settlement_date = date '{{ run_parameter("settlement_date") }}'
      and {{ in_partition('gsp_group_id') }}
)

-- A group with a take but no volume is kept (U = W = 0), so a take that cannot be allocated stops the run.
select
    coalesce(t.gsp_group_id, take.gsp_group_id) as gsp_group_id,
    coalesce(t.settlement_period, take.settlement_period) as settlement_period,
    take.gsp_group_take_kwh,
    coalesce(t.uncorrected_kwh, 0) as uncorrected_kwh,
    coalesce(t.weighted_kwh, 0) as weighted_kwh,
    case
        when abs(coalesce(t.weighted_kwh, 0)) > 1e-9
            then 1 + (take.gsp_group_take_kwh - coalesce(t.uncorrected_kwh, 0)) / t.weighted_kwh
        when abs(take.gsp_group_take_kwh - coalesce(t.uncorrected_kwh, 0)) < 0.0005 then 1
    end as correction_factor
from totals as t
full outer join take
    on take.gsp_group_id = t.gsp_group_id and take.settlement_period = t.settlement_period
