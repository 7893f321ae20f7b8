"""Disclosure control across everything published: the record of versions and the auditor.

``records`` keeps what each period published (ice_ops / ice_private tables of schema.py);
``artefacts`` reads figures back out of rendered reports and e-mails; ``audit`` checks the
tables, views, archived reports and e-mails of a period together. The arithmetic lives in
``ice_pipeline.index`` (suppression, versions).
"""
