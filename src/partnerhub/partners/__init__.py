"""Partners: organisations, the partner card, programs, enrolments and statuses."""
