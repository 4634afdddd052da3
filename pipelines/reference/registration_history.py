"""The current registration history of every MPAN: the rows of the newest snapshot that holds it, with the
registration updates sent after that snapshot applied in `updated_at` order (CONTRACT.md, "Registration
snapshots" and "Registration updates"). The newest snapshot is the catalogue's `newest` rule of registrations
(pipelines.catalogue.sql_rules.newest_version, in dbt the macro registrations_newest_snapshot_date); applying
the updates over its rows is written once here, as SQL over two relations, and used by both readers: the
warehouse view registrations_current (lake_views.py) and, through the dbt macro registration_updates_applied
that `make catalogue` generates from it (dbt_project/macros/catalogue/catalogue_rules.sql), the dbt model
int_registrations_current that settlement reads.

The rules (docs/interfaces/registration_updates.md):

* An update applies after the newest snapshot holding its MPAN when the UTC date of its `updated_at` is after
  the snapshot's date (updated_at >= snapshot_date + 1 day, 00:00 UTC): a snapshot is taken to hold every
  change made up to the end of the day it was produced, so an update of that day or earlier is replaced by it.
  An update for an MPAN that no snapshot holds applies as it is: it is the MPAN's history.
* Updates apply one after another in `updated_at` order (`update_id` decides between equal times). Each states
  the MPAN and quantity's values from its effective_from_date to its effective_to_date (open: onward): on those
  days it replaces what held before; the days before its effective_from_date, and after a closed
  effective_to_date, keep what held there (a row spanning either end is cut at it).

So on every day, the values in force are those of the last update (in that order) covering the day, else the
snapshot's. The SQL finds exactly that: every MPAN and quantity with an update gets its dates cut into segments
at each row's first day and the day after its last; each segment takes the rows of the highest layer covering it
(the snapshot is layer 0, its updates 1, 2, ... in order); consecutive segments of the same row join up again.
An MPAN and quantity without an update keeps its snapshot rows as they are, unread by any of this.
"""

from pipelines import catalogue

# An open effective_to_date stands for this day while dates are cut into segments.
OPEN_END = "DATE '9999-12-31'"


def updates_applied_sql(newest_snapshot: str, updates: str) -> str:
    """SQL of the current registration history, from the relations `newest_snapshot` (for each MPAN, the rows of
    the newest snapshot that holds it, with snapshot_date, row_number, file_sha256, source_file) and `updates`
    (the registration updates with update_id, updated_at, row_number, file_sha256, source_file). Its rows have
    the columns of the snapshot rows then update_id and updated_at: a row from an update has its update's dates
    (cut as above), the date of the snapshot it applied after (empty when none holds the MPAN) and the landing
    file it came in; a snapshot row has no update_id."""
    registrations = catalogue.dataset("registrations")
    values = [c for c in registrations.column_names
              if c not in ("snapshot_date", "mpan_core", "measurement_quantity", "effective_from_date", "effective_to_date")]
    carried = ", ".join(values + ["row_number", "file_sha256", "source_file", "update_id", "updated_at"])
    columns = ("snapshot_date, mpan_core, measurement_quantity, effective_from_date, effective_to_date, "
               f"{carried}")
    pair = "mpan_core, measurement_quantity"
    return f"""with newest as (
    select *, null::varchar as update_id, null::timestamptz as updated_at
    from {newest_snapshot}
),

newest_snapshot_of_mpan as (
    select mpan_core, max(snapshot_date) as snapshot_date
    from newest
    group by mpan_core
),

-- the updates that apply: those whose updated_at has a UTC date after that snapshot's date, numbered per MPAN
-- and quantity in the order they apply (layers 1, 2, ...; the snapshot's rows are layer 0)
applied_updates as (
    select
        s.snapshot_date,
        u.*,
        row_number() over (partition by u.mpan_core, u.measurement_quantity order by u.updated_at, u.update_id) as layer
    from {updates} as u
    left join newest_snapshot_of_mpan as s on s.mpan_core = u.mpan_core
    where s.snapshot_date is null or timezone('UTC', u.updated_at)::date > s.snapshot_date
),

updated_pairs as (
    select distinct {pair} from applied_updates
),

layers as (
    select {columns}, 0 as layer
    from newest
    semi join updated_pairs using ({pair})
    union all
    select {columns}, layer
    from applied_updates
),

-- the days where what holds may change: each row's first day and the day after its last
boundaries as (
    select distinct {pair}, effective_from_date as segment_start from layers
    union
    select distinct {pair}, coalesce(effective_to_date, {OPEN_END}) + 1 from layers
),

segments as (
    select
        {pair},
        segment_start,
        lead(segment_start) over (partition by {pair} order by segment_start) - 1 as segment_end,
        row_number() over (partition by {pair} order by segment_start) as segment
    from boundaries
),

-- each segment's rows of the highest layer covering it (layer 0 may hold more than one row: overlapping
-- snapshot rows are kept for the settlement run's check, assert_one_registration_in_force)
covered as (
    select l.*, s.segment_start, s.segment_end, s.segment
    from segments as s
    join layers as l
        on l.mpan_core = s.mpan_core
        and l.measurement_quantity = s.measurement_quantity
        and l.effective_from_date <= s.segment_start
        and coalesce(l.effective_to_date, {OPEN_END}) >= s.segment_end
    where s.segment_end is not null
    qualify l.layer = max(l.layer) over (partition by s.mpan_core, s.measurement_quantity, s.segment)
),

-- consecutive segments of one row join up again (gaps and islands: an island's segments count up with the
-- row's own count)
pieces as (
    select
        *,
        segment - row_number() over (partition by {pair}, layer, file_sha256, row_number order by segment) as island
    from covered
)

select
    snapshot_date,
    {pair},
    min(segment_start) as effective_from_date,
    nullif(max(segment_end), {OPEN_END}) as effective_to_date,
    {carried}
from pieces
group by snapshot_date, {pair}, {carried}, layer, island

union all

select {columns}
from newest
anti join updated_pairs using ({pair})"""
