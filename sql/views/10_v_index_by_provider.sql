-- ice.v_index_by_provider: the Internal Customer Index of each provider department per period,
-- with its interval, respondent count and the period's service KPIs from tickets.
-- Suppressed rows (fewer respondents than the anonymity threshold) stay visible with
-- suppressed = TRUE, but every survey-derived number on them is NULL.
-- period: the month the ratings were given and the tickets opened (YYYY-MM); period_start is
-- its first day, a DATE for ranges such as the last 6 months.
CREATE OR REPLACE VIEW ice.v_index_by_provider AS
SELECT
    s.period,
    CASE WHEN SUBSTR(s.period, 6, 1) <> 'Q' THEN CAST(s.period || '-01' AS DATE) END AS period_start,
    s.provider_department,
    s.suppressed,
    CASE WHEN s.suppressed THEN NULL ELSE s.n_respondents END AS n_respondents,
    CASE WHEN s.suppressed THEN NULL ELSE s.ice END AS ice,
    CASE WHEN s.suppressed THEN NULL ELSE s.rank END AS rank,
    CASE WHEN s.suppressed THEN NULL ELSE s.ice_p END AS ice_p,
    CASE WHEN s.suppressed THEN NULL ELSE s.ice_p_ci_low END AS ice_p_ci_low,
    CASE WHEN s.suppressed THEN NULL ELSE s.ice_p_ci_high END AS ice_p_ci_high,
    CASE WHEN s.suppressed THEN NULL ELSE s.favourable_pct END AS favourable_pct,
    CASE WHEN s.suppressed THEN NULL ELSE s.favourable_pct_ci_low END AS favourable_pct_ci_low,
    CASE WHEN s.suppressed THEN NULL ELSE s.favourable_pct_ci_high END AS favourable_pct_ci_high,
    s.ice_k,
    s.no_tickets,
    k.tickets_n,
    k.sla_met_pct,
    k.reopen_pct,
    k.median_resolution_hours,
    k.first_assignee_pct
FROM ice.ice_scores AS s
LEFT JOIN ice.service_kpis AS k
    ON k.period = s.period
    AND k.provider_department = s.provider_department;
