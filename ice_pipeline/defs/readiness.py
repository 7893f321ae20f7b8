"""Whether runs can start at all: the settings every run needs, checked before a tick asks for one.

Belongs here: ``settings_problem``, used by the landing sensor and the nightly schedule so that a
missing salt or a wrong config value is answered with one ``SkipReason`` naming the setting,
instead of launching runs that must all fail on it (issue 15: opening the UI without
``ICE_PSEUDONYM_SALT`` used to start a run per period, each failing). The CLI runner checks the
same things in its preflight (``runner._preflight``).
"""

import os
from collections.abc import Mapping

from ice_pipeline.errors import IceError


def settings_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """None when runs can start; else ``no runs started: <SETTING>: <problem>. Fix: <fix>``."""
    from ice_pipeline.config import config_path, load_config
    from ice_pipeline.config_validation import validate_config
    from ice_pipeline.settings import load_settings, pseudonym_salt

    env = dict(os.environ if environ is None else environ)
    try:
        settings = load_settings(env)
        pseudonym_salt(settings, env)
        validate_config(load_config(config_path(settings, env)), env)
    except IceError as err:
        return f"no runs started: {err}"
    return None
