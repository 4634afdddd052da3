-- GSP Group Correction of the latest run of each day, flagged outside the review band (the catalogue's
-- warning bounds of correction_factor, in the view correction_factor_review_band).
SELECT
    correction.*,
    correction.correction_factor NOT BETWEEN band.warn_min AND band.warn_max AS outside_band
FROM gsp_group_correction AS correction
CROSS JOIN correction_factor_review_band AS band
WHERE correction.run_id IN (SELECT run_id FROM latest_run_by_day)
