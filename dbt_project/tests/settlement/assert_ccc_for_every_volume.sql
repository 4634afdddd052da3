-- A combination of market segment, quantity, actual/estimated and component missing from the CCC table.
{{ config(store_failures = true) }}
select distinct market_segment, measurement_quantity, actual_estimated, component
from {{ ref('int_supplier_period_volumes') }}
where ccc_id is null
