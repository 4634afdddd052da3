-- The registration in force on the settlement date per MPAN and quantity, in the run's partition of GSP
-- Groups (macros/partition.sql holds the rules of CONTRACT.md).
select *
from ({{ registrations_in_force_everywhere() }})
where {{ in_partition('gsp_group_id') }}
