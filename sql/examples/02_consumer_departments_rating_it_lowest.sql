-- Which consumer departments rate IT lowest in the most recent period?
-- Cells suppressed for anonymity (suppressed = TRUE) carry no score and are left out;
-- change 'Information Technology' to look at another provider (ice.v_departments lists them).
SELECT
    consumer_department,
    score,
    score_ci_low,
    score_ci_high,
    n_respondents
FROM ice.v_provider_consumer_matrix
WHERE provider_department = 'Information Technology'
    AND period = (SELECT MAX(period) FROM ice.v_provider_consumer_matrix)
    AND NOT suppressed
ORDER BY score ASC, consumer_department;
