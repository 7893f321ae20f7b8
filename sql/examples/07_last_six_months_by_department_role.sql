-- How did each provider department's ICE move over the last six months of data?
-- period_start is a DATE, so a range of months is plain date arithmetic; v_departments tells
-- which departments provide services. Suppressed rows carry no ICE and are left out.
SELECT
    i.period_start,
    i.provider_department,
    i.ice,
    i.n_respondents
FROM ice.v_index_by_provider AS i
JOIN ice.v_departments AS d
    ON d.department = i.provider_department
WHERE d.is_provider
    AND i.ice IS NOT NULL
    AND i.period_start > (SELECT MAX(period_start) FROM ice.v_index_by_provider)
        - INTERVAL '6' MONTH
ORDER BY i.provider_department, i.period_start;
