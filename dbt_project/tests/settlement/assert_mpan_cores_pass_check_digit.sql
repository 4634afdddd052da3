-- An MPAN core with a wrong check digit reached settlement.
{{ config(store_failures = true) }}
select mpan_core from {{ ref('int_mpan_check_digit_failures') }}
