-- ice.v_departments: the department dimension. One row per department named in the published
-- tables, with its short_name ('IT') and department_group (the roll-up, e.g. 'Sales' for
-- 'Sales North' and 'Sales South'; the department itself when in no group) from the departments:
-- config section, the roles it plays (provides internal services, rates them as a consumer, has
-- turnover figures) and the first and last period it appears in. Join it on
-- provider_department, consumer_department or department: "IT for Sales" is
-- p.short_name = 'IT' AND c.department_group = 'Sales'.
-- period values are months written YYYY-MM; *_period_start is the first day of that month.
CREATE OR REPLACE VIEW ice.v_departments AS
WITH named AS (
    SELECT provider_department AS department, period, 1 AS provider, 0 AS consumer, 0 AS hr
    FROM ice.ice_scores
    UNION ALL
    SELECT consumer_department, period, 0, 1, 0
    FROM ice.consumer_satisfaction
    UNION ALL
    SELECT department, period, 0, 0, 1
    FROM ice.turnover
)
SELECT
    n.department,
    MAX(g.short_name) AS short_name,
    COALESCE(MAX(g.department_group), n.department) AS department_group,
    MAX(provider) = 1 AS is_provider,
    MAX(consumer) = 1 AS is_consumer,
    MAX(hr) = 1 AS in_hr_roster,
    MIN(n.period) AS first_period,
    CASE WHEN SUBSTR(MIN(n.period), 6, 1) <> 'Q' THEN CAST(MIN(n.period) || '-01' AS DATE) END
        AS first_period_start,
    MAX(n.period) AS last_period,
    CASE WHEN SUBSTR(MAX(n.period), 6, 1) <> 'Q' THEN CAST(MAX(n.period) || '-01' AS DATE) END
        AS last_period_start
FROM named AS n
LEFT JOIN ice.department_groups AS g
    ON g.department = n.department
WHERE n.department IS NOT NULL
GROUP BY n.department;
