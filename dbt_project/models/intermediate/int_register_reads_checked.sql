-- Every register read whose interval holds the settlement date (stg_lake__register_reads), checked against the
-- registration in force on the date (CONTRACT.md, "Register reads"; docs/settlement.md, "Register reads"). A read is
-- refused (reason_code, into the run's quarantine: int_register_reads_refused) when
--   NOT_REGISTERED              no registration in force for the MPAN and quantity on the date
--   DATA_SERVICE_NOT_APPOINTED  its data service is not the one appointed on the date
--   READ_HALF_HOURLY_CONSENT    the MPAN has half-hourly consent: its half-hourly values are settled, not a read
--   READ_OVERLAPS_ANOTHER_READ  another read of the MPAN and quantity that passed the checks above covers the date
--                               with a different interval: which energy belongs to the date is unknown, so
--                               neither is used (every read here holds the date, so two intervals that differ overlap)
-- Of the accepted reads of one interval (the same read resent), the latest received_at is current (ties: the
-- landing file's hash, so reruns agree); the older are kept as history (current = false), not refused.
{%- set registrations_everywhere = ref('int_registrations_in_force_everywhere') %}
with reads as (
    select
        r.*,
        g.mpan_core is not null as registered,
        g.data_service_id as appointed_data_service_id,
        g.consent_granularity,
        g.gsp_group_id,
        g.market_segment,
        g.domestic_premises
    from {{ ref('stg_lake__register_reads') }} as r
    left join {{ ref('int_registrations_in_force') }} as g
        on g.mpan_core = r.mpan_core and g.measurement_quantity = r.measurement_quantity
    {%- if partitioned() %}
    -- in a partitioned run, a read of an MPAN in force in another partition's GSP Group is checked there; one
    -- partition checks those registered nowhere (as int_consumption_checked)
    where g.mpan_core is not null
    {%- if run_parameter('checks_unregistered') %}
       or not exists (
           select 1
           from {{ registrations_everywhere }} as everywhere
           where everywhere.mpan_core = r.mpan_core and everywhere.measurement_quantity = r.measurement_quantity
       )
    {%- endif %}
    {%- endif %}
),

registration_checked as (
    select
        *,
        case
            when not registered then 'NOT_REGISTERED'
            when appointed_data_service_id <> data_service_id then 'DATA_SERVICE_NOT_APPOINTED'
            when consent_granularity = 'HH' then 'READ_HALF_HOURLY_CONSENT'
        end as registration_reason_code
    from reads
),

intervals as (
    select mpan_core, measurement_quantity, count(distinct (read_start_date, read_end_date)) as intervals
    from registration_checked
    where registration_reason_code is null
    group by mpan_core, measurement_quantity
),

checked as (
    select
        c.* exclude (registration_reason_code),
        coalesce(
            c.registration_reason_code,
            case when i.intervals > 1 then 'READ_OVERLAPS_ANOTHER_READ' end
        ) as reason_code
    from registration_checked as c
    left join intervals as i
        on i.mpan_core = c.mpan_core and i.measurement_quantity = c.measurement_quantity
)

select
    *,
    reason_code is null
        and row_number() over (
            partition by mpan_core, measurement_quantity, reason_code is null
            order by received_at desc, file_sha256 desc
        ) = 1 as current
from checked
