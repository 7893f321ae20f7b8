-- ice.v_report_archive: the index of every archived report version (what was sent, when, and
-- its fingerprint). Not the HTML itself, and nothing about recipients: read reports with
-- `ice-pipeline report show`. is_latest marks the newest version of each report.
-- period: the month the report is about (YYYY-MM); period_start its first day.
CREATE OR REPLACE VIEW ice.v_report_archive AS
SELECT
    a.period,
    CASE WHEN SUBSTR(a.period, 6, 1) <> 'Q' THEN CAST(a.period || '-01' AS DATE) END AS period_start,
    a.kind,
    a.audience,
    a.version,
    a.content_sha256,
    a.generated_at,
    a.run_id,
    a.file_path,
    a.version = MAX(a.version) OVER (PARTITION BY a.period, a.kind, a.audience) AS is_latest
FROM ice_ops.report_archive AS a;
