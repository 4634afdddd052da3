-- Every committed MPAN-day submission of the settlement date: one row per MPAN, quantity, data service
-- and received_at, with the period values as columns kwh_01..kwh_50.
select s.*
from read_parquet({{ lake('consumption', 'settlement_date=' ~ var('settlement_date')) }}) as s
where {{ committed('s') }}
