-- A volume whose distributor, LLFC and period has no line loss factor: the run stops naming them.
{{ config(store_failures = true) }}
select distinct e.distributor_id, e.llfc_id, p.settlement_period
from {{ ref('int_consumption_estimated') }} as e
cross join {{ ref('int_settlement_periods') }} as p
left join {{ ref('stg_standing__llf') }} as l
    on l.distributor_id = e.distributor_id and l.llfc_id = e.llfc_id
   and l.settlement_date = date '{{ run_parameter("settlement_date") }}' and l.settlement_period = p.settlement_period
where l.llf is null
order by 1, 2, 3
