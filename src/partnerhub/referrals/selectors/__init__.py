"""Read queries of the referral program, one module a concern."""
