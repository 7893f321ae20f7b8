-- ice.v_provider_consumer_matrix: how each consumer department rates each provider department.
-- Cells under the anonymity threshold, and cells suppressed so they cannot be worked out from
-- the totals ('complementary'), show suppressed = TRUE and no numbers.
-- period: the month the ratings were given (YYYY-MM); period_start is its first day.
CREATE OR REPLACE VIEW ice.v_provider_consumer_matrix AS
SELECT
    m.period,
    CASE WHEN SUBSTR(m.period, 6, 1) <> 'Q' THEN CAST(m.period || '-01' AS DATE) END AS period_start,
    m.provider_department,
    m.consumer_department,
    m.suppressed,
    m.suppression_reason,
    CASE WHEN m.suppressed THEN NULL ELSE m.n_respondents END AS n_respondents,
    CASE WHEN m.suppressed THEN NULL ELSE m.score END AS score,
    CASE WHEN m.suppressed THEN NULL ELSE m.score_ci_low END AS score_ci_low,
    CASE WHEN m.suppressed THEN NULL ELSE m.score_ci_high END AS score_ci_high,
    CASE WHEN m.suppressed THEN NULL ELSE m.favourable_pct END AS favourable_pct,
    CASE WHEN m.suppressed THEN NULL ELSE m.favourable_pct_ci_low END AS favourable_pct_ci_low,
    CASE WHEN m.suppressed THEN NULL ELSE m.favourable_pct_ci_high END AS favourable_pct_ci_high
FROM ice.matrix_scores AS m;
