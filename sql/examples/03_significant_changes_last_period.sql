-- Which providers changed significantly since the previous period, and in which direction?
-- A change counts only when its confidence interval excludes zero (change_significant); the
-- company-wide row (scope = 'company') is included for comparison.
SELECT
    scope,
    provider_department,
    ice_p,
    ice_p_change,
    ice_p_change_ci_low,
    ice_p_change_ci_high,
    trend
FROM ice.v_trend
WHERE period = (SELECT MAX(period) FROM ice.v_trend)
    AND change_significant
ORDER BY ice_p_change ASC, provider_department NULLS FIRST;
