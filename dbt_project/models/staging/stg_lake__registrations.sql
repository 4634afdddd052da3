-- Every committed registration row, with the snapshot it came in.
select r.*
from {{ source('lake', 'registrations') }} as r
where {{ committed('r') }}
