-- The current registration history of every MPAN (CONTRACT.md, registration snapshots and updates): the rows of
-- the newest snapshot that holds the MPAN, with the registration updates sent after that snapshot (UTC date of
-- updated_at after the snapshot date) applied in updated_at order, each replacing the MPAN and quantity's values
-- from its effective_from_date to its effective_to_date (or onward) and keeping what held before and after.
-- Applying the updates is the macro registration_updates_applied, generated from
-- pipelines/reference/registration_history.py (which explains it step by step), so the warehouse view
-- registrations_current applies the very same rules.
with newest_snapshot as (
    select * exclude (newest_snapshot_date)
    from (
        select *, {{ registrations_newest_snapshot_date() }} as newest_snapshot_date
        from {{ ref('stg_lake__registrations') }}
    )
    where snapshot_date = newest_snapshot_date
)

select *
from (
{{ registration_updates_applied('newest_snapshot', ref('stg_lake__registration_updates')) }}
)
