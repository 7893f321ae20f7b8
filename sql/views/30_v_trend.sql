-- ice.v_trend: change of ICE-P from the previous period, per provider department and for the
-- whole company (scope = 'company', provider_department NULL), with its interval and whether the
-- change is statistically significant. trend says it in words: 'improved', 'declined',
-- 'no significant change', or NULL when there is no previous period or the row is suppressed.
-- period: the month compared with the month before it (YYYY-MM); period_start its first day.
CREATE OR REPLACE VIEW ice.v_trend AS
SELECT
    s.period,
    CASE WHEN SUBSTR(s.period, 6, 1) <> 'Q' THEN CAST(s.period || '-01' AS DATE) END AS period_start,
    'provider' AS scope,
    s.provider_department,
    s.suppressed,
    CASE WHEN s.suppressed THEN NULL ELSE s.n_respondents END AS n_respondents,
    CASE WHEN s.suppressed THEN NULL ELSE s.ice_p END AS ice_p,
    CASE WHEN s.suppressed THEN NULL ELSE s.ice_p_change END AS ice_p_change,
    CASE WHEN s.suppressed THEN NULL ELSE s.ice_p_change_ci_low END AS ice_p_change_ci_low,
    CASE WHEN s.suppressed THEN NULL ELSE s.ice_p_change_ci_high END AS ice_p_change_ci_high,
    CASE WHEN s.suppressed THEN NULL ELSE s.change_significant END AS change_significant,
    CASE
        WHEN s.suppressed OR s.ice_p_change IS NULL OR s.change_significant IS NULL THEN NULL
        WHEN NOT s.change_significant THEN 'no significant change'
        WHEN s.ice_p_change > 0 THEN 'improved'
        ELSE 'declined'
    END AS trend
FROM ice.ice_scores AS s
UNION ALL
SELECT
    c.period,
    CASE WHEN SUBSTR(c.period, 6, 1) <> 'Q' THEN CAST(c.period || '-01' AS DATE) END AS period_start,
    'company' AS scope,
    CAST(NULL AS TEXT) AS provider_department,
    FALSE AS suppressed,
    c.n_respondents,
    c.ice_p,
    c.ice_p_change,
    c.ice_p_change_ci_low,
    c.ice_p_change_ci_high,
    c.change_significant,
    CASE
        WHEN c.ice_p_change IS NULL OR c.change_significant IS NULL THEN NULL
        WHEN NOT c.change_significant THEN 'no significant change'
        WHEN c.ice_p_change > 0 THEN 'improved'
        ELSE 'declined'
    END AS trend
FROM ice.company_scores AS c;
