-- ice.v_report_archive: the index of the current version of every archived report (what was
-- sent, when, and its fingerprint). Not the HTML itself, nothing about recipients, and no server
-- paths (file_name is the archived file's name without its directory): read reports with
-- `ice-pipeline report show`. Superseded versions are not listed: set side by side, two versions
-- of one period could be subtracted (docs/methodology.md, "Versions of a period").
-- is_latest is kept for compatibility and is always true.
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
    regexp_replace(a.file_path, '^.*[/\\]', '') AS file_name,
    a.is_latest
FROM (
    -- Named columns, not r.*: PostgreSQL binds r.* at creation, and the view would then hold
    -- on to every column of the archive (the PDF too) and block its migrations.
    SELECT
        r.period,
        r.kind,
        r.audience,
        r.version,
        r.content_sha256,
        r.generated_at,
        r.run_id,
        r.file_path,
        r.version = MAX(r.version) OVER (PARTITION BY r.period, r.kind, r.audience) AS is_latest
    FROM ice_ops.report_archive AS r
) AS a
WHERE a.is_latest;
