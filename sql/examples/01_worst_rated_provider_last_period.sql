-- Which provider department had the lowest ICE in the most recent period?
-- Providers suppressed for having too few respondents have no ICE and are left out; read the
-- interval before calling a provider "worst": overlapping intervals mean the gap may be noise.
SELECT
    period,
    provider_department,
    ice,
    ice_p,
    ice_p_ci_low,
    ice_p_ci_high,
    n_respondents,
    rank
FROM ice.v_index_by_provider
WHERE period = (SELECT MAX(period) FROM ice.v_index_by_provider)
    AND ice IS NOT NULL
ORDER BY ice ASC, provider_department
LIMIT 1;
