-- The expected-periods spine (every energised, registered MPAN and quantity x every period of the day)
-- with the current values: missing_mask holds bit p for each period left without a value. A de-energised
-- MPAN is expected to consume nothing: it is here only when its data service sent values anyway (they are
-- settled and flagged for review), and its periods without a value are not missing (never estimated).
with day as (
    select bit_or(1::ubigint << settlement_period) as day_mask from {{ ref('int_settlement_periods') }}
)

select
    r.*,
    c.* exclude (mpan_core, measurement_quantity),
    case
        when r.energisation_status = 'E' then day.day_mask & ~coalesce(c.present_mask, 0::ubigint)
        else 0::ubigint
    end as missing_mask
from {{ ref('int_registrations_in_force') }} as r
cross join day
left join {{ ref('int_consumption_current') }} as c
    on r.mpan_core = c.mpan_core and r.measurement_quantity = c.measurement_quantity
where r.energisation_status = 'E' or c.present_mask <> 0
