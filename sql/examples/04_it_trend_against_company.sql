-- How has IT's ICE-P moved over time, next to the company-wide ICE-P of the same period?
-- Periods where IT was suppressed show NULL for IT and still show the company figure.
-- IT is the department named 'Information Technology' (ice.v_departments lists the names).
SELECT
    c.period,
    p.ice_p AS it_ice_p,
    p.ice_p_change AS it_ice_p_change,
    p.trend AS it_trend,
    c.ice_p AS company_ice_p,
    p.ice_p - c.ice_p AS it_minus_company
FROM ice.v_trend AS c
LEFT JOIN ice.v_trend AS p
    ON p.period = c.period
    AND p.scope = 'provider'
    AND p.provider_department = 'Information Technology'
WHERE c.scope = 'company'
ORDER BY c.period;
