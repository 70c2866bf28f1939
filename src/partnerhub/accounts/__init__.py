"""Identity: users (email login), roles, API tokens, employee invitations, login throttling."""
