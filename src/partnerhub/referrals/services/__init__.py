"""Write use cases of the referral program, one module a concern."""
