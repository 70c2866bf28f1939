"""The partner's own CRM: REST client, sync of deals both ways, inbound webhook (issue 7,
part 6)."""
