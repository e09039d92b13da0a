#!/usr/bin/env python
"""The peer's manage.py: `python bench/peer/manage.py migrate` (bench/run.py does it)."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
