-- How does Sales rate IT, month by month? "IT" and "Sales" are one filter each: the short name
-- and the roll-up group of ice.v_departments (departments: in ICE_CONFIG), whatever the mapping
-- calls the departments ('Information Technology'; 'Sales North' and 'Sales South').
-- Suppressed cells (too few respondents) are listed with suppressed = TRUE and no score: a group
-- total is never rebuilt from them.
SELECT
    m.period_start,
    m.consumer_department,
    m.suppressed,
    m.score,
    m.score_ci_low,
    m.score_ci_high,
    m.n_respondents
FROM ice.v_provider_consumer_matrix AS m
JOIN ice.v_departments AS p
    ON p.department = m.provider_department
JOIN ice.v_departments AS c
    ON c.department = m.consumer_department
WHERE p.short_name = 'IT'
    AND c.department_group = 'Sales'
ORDER BY m.period_start, m.consumer_department;
