"""The ``partnerhub`` console script: Django's manage.py for the installed package."""

import os
import sys


def main() -> None:
    """Run a Django management command (``partnerhub migrate``, ``partnerhub runserver``...).

    ``partnerhub referrals replay`` runs the pure engine directly, without starting Django: it
    reads no database and must start fast (issue "Referral program", benchmark).
    """
    if sys.argv[1:3] == ["referrals", "replay"]:
        from partnerhub.referrals.engine.replay import main as replay

        sys.exit(replay(sys.argv[3:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
