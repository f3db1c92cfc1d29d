"""Django is configured once per process for every interop module; each Django test
points ``ROOT_URLCONF`` at its own module with ``override_settings``."""

from __future__ import annotations

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="interop-only",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=None,
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()
