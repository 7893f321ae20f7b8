-- ice.v_departments: the department dimension. One row per department named in the published
-- tables, with the roles it plays (provides internal services, rates them as a consumer, has
-- turnover figures) and the first and last period it appears in. Join it on
-- provider_department, consumer_department or department to filter by role or by time.
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
    department,
    MAX(provider) = 1 AS is_provider,
    MAX(consumer) = 1 AS is_consumer,
    MAX(hr) = 1 AS in_hr_roster,
    MIN(period) AS first_period,
    CASE WHEN SUBSTR(MIN(period), 6, 1) <> 'Q' THEN CAST(MIN(period) || '-01' AS DATE) END
        AS first_period_start,
    MAX(period) AS last_period,
    CASE WHEN SUBSTR(MAX(period), 6, 1) <> 'Q' THEN CAST(MAX(period) || '-01' AS DATE) END
        AS last_period_start
FROM named
WHERE department IS NOT NULL
GROUP BY department;
