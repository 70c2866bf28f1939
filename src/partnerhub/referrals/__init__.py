"""The referral program (spec: referrals.md): partner codes, links, promo codes, the rule engine,
event intake, live standing, bonuses in the ledger."""
