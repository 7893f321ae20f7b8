"""Demo data: a fictional organisation whose exports look exactly like real tools' exports.

``generate_demo(out, ...)`` (in ``generator.py``) writes into a landing directory::

    surveys/   one pulse-survey wave per month (Qualtrics CSV by default; SurveyMonkey, LimeSurvey
               or Google Forms layouts on request) + mapping.yaml
    tickets/   helpdesk tickets opened per month (ServiceNow list export; Jira, English or German
               headers, or Zendesk on request) + mapping.yaml
    hr/        one HRIS roster (everyone employed in the window, leavers included) + mapping.yaml
    external/  raw external NPS (0-10) and CSAT (1-5) answers per month and business unit,
               mapping.yaml for NPS and a per-file NAME.mapping.yaml for each CSAT file
    ground_truth.json   the planted effects, their parameters, what a correct analysis should
               find, and the values realised in these files

About 30 departments, 10 of which provide internal services (and also consume each other's);
unequal sizes with some departments under 20 people at 2,000 employees, so suppression happens.
Planted: two improving and two declining providers; one consumer department ("Customer
Support") whose satisfaction falls and whose voluntary turnover rises two months later; a
business unit whose NPS/CSAT are pure noise; provider turnover independent of provider ICE; and
external CSAT/NPS following the company-wide satisfaction one month later.

The same seed gives byte-identical files. Everything is vectorised with numpy/pandas (loops run
over months, providers or business units, never over rows), so 100,000 employees rating 5
providers on 5 dimensions (``generate_enterprise_month``, the issue-7 benchmark dataset) takes
seconds. Modules: ``organisation`` (catalogue, effects, roster simulation), ``surveys``,
``tickets``, ``hr``, ``external`` (one feed each: simulation, layouts and mappings), ``generator``
(entry points, landing layout, ground truth).
"""
