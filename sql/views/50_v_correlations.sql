-- ice.v_correlations: associations between internal service, retention and external metrics.
-- These are associations, not causation. finding puts each row in words:
--   'insufficient data'                                 too few pairs to estimate anything
--   'association (not causation): positive|negative'    significant after the Benjamini-Hochberg
--                                                       correction across all tests of the run
--   'no significant association'                        otherwise
-- period is the ANALYSIS month (as-of): each row was computed from the 24 months of history
-- ending there, not from that month alone; period_start is its first day.
CREATE OR REPLACE VIEW ice.v_correlations AS
SELECT
    r.period,
    CASE WHEN SUBSTR(r.period, 6, 1) <> 'Q' THEN CAST(r.period || '-01' AS DATE) END AS period_start,
    r.analysis,
    r.x_metric,
    r.y_metric,
    r.lag_periods,
    r.group_key,
    r.n_pairs,
    r.status,
    r.pearson_r,
    r.pearson_r_ci_low,
    r.pearson_r_ci_high,
    r.pearson_p,
    r.spearman_rho,
    r.spearman_p,
    r.bh_q,
    r.significant,
    CASE
        WHEN r.status <> 'ok' OR r.pearson_r IS NULL THEN 'insufficient data'
        WHEN r.significant AND r.pearson_r > 0 THEN 'association (not causation): positive'
        WHEN r.significant AND r.pearson_r < 0 THEN 'association (not causation): negative'
        ELSE 'no significant association'
    END AS finding
FROM ice.correlations AS r;
