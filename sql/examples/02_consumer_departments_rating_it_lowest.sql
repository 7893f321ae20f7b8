-- Which consumer departments rate IT lowest in the most recent period?
-- Cells suppressed for anonymity (suppressed = TRUE) carry no score and are left out;
-- change 'IT' to look at another provider department.
SELECT
    consumer_department,
    score,
    score_ci_low,
    score_ci_high,
    n_respondents
FROM ice.v_provider_consumer_matrix
WHERE provider_department = 'IT'
    AND period = (SELECT MAX(period) FROM ice.v_provider_consumer_matrix)
    AND NOT suppressed
ORDER BY score ASC, consumer_department;
