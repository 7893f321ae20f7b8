-- Does a department's satisfaction with internal services go with its later turnover?
-- Each row is one lag (months between satisfaction and turnover) from the most recent analysis
-- run. These are associations, not causation: a significant finding says the two move
-- together, not that one causes the other.
SELECT
    lag_periods,
    group_key,
    n_pairs,
    pearson_r,
    pearson_r_ci_low,
    pearson_r_ci_high,
    bh_q,
    finding
FROM ice.v_correlations
WHERE analysis = 'consumer_satisfaction_vs_turnover'
    AND period = (
        SELECT MAX(period) FROM ice.v_correlations
        WHERE analysis = 'consumer_satisfaction_vs_turnover'
    )
ORDER BY group_key, lag_periods;
