-- After estimation every energised, registered MPAN and quantity has a value for every period of the day.
{{ config(store_failures = true) }}
select e.mpan_core, e.measurement_quantity, p.settlement_period
from {{ ref('int_consumption_estimated') }} as e
cross join {{ ref('int_settlement_periods') }} as p
where [{% for p in period_numbers() %}e.kwh_{{ '%02d' % p }}{% if not loop.last %}, {% endif %}{% endfor %}][p.settlement_period] is null
