-- After estimation every energised, registered MPAN and quantity has a value for every period of the day
-- (a de-energised MPAN's metered values are settled as they are; nothing is expected of it).
-- Each MPAN-day's periods without a value are found as a bit mask from its period columns, and only the
-- MPAN-days with one are expanded to periods (a list and a cross join over every MPAN-day cost five times
-- as much).
{{ config(store_failures = true) }}
with periods as (
    select * from {{ ref('int_settlement_periods') }}
),

missing as (
    select mpan_core, measurement_quantity, missing_mask
    from (
        select
            e.mpan_core,
            e.measurement_quantity,
            (select bit_or(1::ubigint << settlement_period) from periods)
                & ~{{ period_mask('e.kwh_{p:02d} is not null') }} as missing_mask
        from {{ ref('int_consumption_estimated') }} as e
        where e.energisation_status = 'E'
    )
    where missing_mask <> 0
)

select m.mpan_core, m.measurement_quantity, p.settlement_period
from missing as m
join periods as p on (m.missing_mask >> p.settlement_period) & 1 = 1
