-- Every committed registration row, with the snapshot it came in.
select r.*
from read_parquet({{ lake('registrations') }}, hive_partitioning = false) as r
where {{ committed('r') }}
