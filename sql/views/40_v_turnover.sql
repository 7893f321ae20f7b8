-- ice.v_turnover: monthly turnover per department from the HR roster, beside that department's
-- satisfaction with the internal services it receives (NULL when suppressed), so analysts can
-- look at whether falling satisfaction comes before rising turnover. Turnover figures are NULL
-- where withheld (turnover_suppressed: a department under k; a NULL split: fewer than k leavers).
-- period: the month of the turnover and of the ratings (YYYY-MM); period_start its first day.
CREATE OR REPLACE VIEW ice.v_turnover AS
SELECT
    t.period,
    CASE WHEN SUBSTR(t.period, 6, 1) <> 'Q' THEN CAST(t.period || '-01' AS DATE) END AS period_start,
    t.department,
    t.headcount_start,
    t.headcount_end,
    t.headcount_avg,
    t.leavers,
    t.voluntary_leavers,
    t.involuntary_leavers,
    t.turnover_pct,
    t.voluntary_turnover_pct,
    t.involuntary_turnover_pct,
    t.rolling_12m_turnover_pct,
    t.retention_pct,
    c.suppressed AS satisfaction_suppressed,
    CASE WHEN c.suppressed THEN NULL ELSE c.n_respondents END AS satisfaction_n_respondents,
    CASE WHEN c.suppressed THEN NULL ELSE c.score END AS satisfaction_score,
    CASE WHEN c.suppressed THEN NULL ELSE c.score_ci_low END AS satisfaction_score_ci_low,
    CASE WHEN c.suppressed THEN NULL ELSE c.score_ci_high END AS satisfaction_score_ci_high,
    t.suppressed AS turnover_suppressed
FROM ice.turnover AS t
LEFT JOIN ice.consumer_satisfaction AS c
    ON c.period = t.period
    AND c.consumer_department = t.department;
