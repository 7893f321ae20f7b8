-- Which reports were produced, and which version of each is the current one?
-- Fetch a report's HTML with: ice-pipeline report show PERIOD --kind KIND
SELECT
    period,
    kind,
    audience,
    version,
    generated_at,
    content_sha256
FROM ice.v_report_archive
WHERE is_latest
ORDER BY period DESC, kind, audience;
