-- ice.v_report_archive: the index of every archived report version (what was sent, when, and
-- its fingerprint). Not the HTML itself, nothing about recipients, and no server paths (file_name
-- is the archived file's name without its directory): read reports with `ice-pipeline report
-- show`. is_latest marks the newest version of each report.
CREATE OR REPLACE VIEW ice.v_report_archive AS
SELECT
    a.period,
    a.kind,
    a.audience,
    a.version,
    a.content_sha256,
    a.generated_at,
    a.run_id,
    regexp_replace(a.file_path, '^.*[/\\]', '') AS file_name,
    a.version = MAX(a.version) OVER (PARTITION BY a.period, a.kind, a.audience) AS is_latest
FROM ice_ops.report_archive AS a;
