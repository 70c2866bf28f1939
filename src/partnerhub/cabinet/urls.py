"""URLs of the partner cabinet."""

from django.urls import path

from partnerhub.cabinet import (
    contract_urls,
    crm_urls,
    document_urls,
    lead_urls,
    partner_urls,
    payout_urls,
    referral_link_views,
    referral_views,
    views,
)

app_name = "cabinet"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("card/", views.card, name="card"),
    path("card/edit/", views.card_edit, name="card_edit"),
    path("card/history/", views.card_history, name="card_history"),
    path("employees/", views.employees, name="employees"),
    path("employees/invite/", views.employee_invite, name="employee_invite"),
    path(
        "employees/invitations/<int:pk>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("programs/", views.programs, name="programs"),
    path("programs/<int:pk>/apply/", views.program_apply, name="program_apply"),
    path("referrals/", referral_views.dashboard, name="referrals"),
    path("referrals/bonuses/", referral_views.bonuses, name="referral_bonuses"),
    path("referrals/clients/", referral_views.clients, name="referral_clients"),
    path("referrals/link/", referral_link_views.referral_link, name="referral_link"),
    path("referrals/promo-codes/", referral_link_views.promo_codes, name="promo_codes"),
    path(
        "referrals/promo-codes/<int:pk>/deactivate/",
        referral_link_views.promo_code_deactivate,
        name="promo_code_deactivate",
    ),
]

# issue 6: each area keeps its patterns in a module of its own
urlpatterns += [
    *contract_urls.urlpatterns,
    *document_urls.urlpatterns,
    *partner_urls.urlpatterns,
    *payout_urls.urlpatterns,
]

# issue 7: the lead marketplace and the partner's CRM
urlpatterns += [*lead_urls.urlpatterns, *crm_urls.urlpatterns]
