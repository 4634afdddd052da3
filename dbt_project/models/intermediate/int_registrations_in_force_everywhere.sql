-- The registration rows in force on the settlement date, in every GSP Group (CONTRACT.md): the rows of the
-- current registration history (int_registrations_current: the newest snapshot holding the MPAN, with the
-- updates sent after it applied) whose inclusive effective dates hold the date. A view: a partition keeps its
-- own groups' rows (int_registrations_in_force) and looks here only to find the MPANs registered in no group
-- at all.
select
    mpan_core,
    measurement_quantity,
    -- the network the meter is on (DNO or IDNO): its line loss factors are the distributor's own
    left(mpan_core, 2) as distributor_id,
    supplier_id,
    data_service_id,
    gsp_group_id,
    llfc_id,
    market_segment,
    energisation_status,
    domestic_premises,
    consent_granularity,
    annual_consumption_kwh,
    -- an empty BM Unit is the supplier's base BM Unit in the GSP Group
    coalesce(bm_unit_id, '2__' || substr(gsp_group_id, 2) || supplier_id || '000') as bm_unit_id,
    snapshot_date,
    effective_from_date,
    effective_to_date,
    file_sha256
from {{ ref('int_registrations_current') }}
where effective_from_date <= date '{{ run_parameter("settlement_date") }}'
  and (effective_to_date is null or effective_to_date >= date '{{ run_parameter("settlement_date") }}')
