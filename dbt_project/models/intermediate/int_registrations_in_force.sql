-- The registration in force on the settlement date per MPAN and quantity, in the run's partition of GSP
-- Groups (the rules of CONTRACT.md are int_registrations_in_force_everywhere's).
select *
from {{ ref('int_registrations_in_force_everywhere') }}
where {{ in_partition('gsp_group_id') }}
