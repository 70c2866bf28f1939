"""URLs of the vendor back office."""

from django.urls import path

from partnerhub.backoffice import views

app_name = "backoffice"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("partners/", views.partners, name="partners"),
    path("partners/<int:pk>/", views.partner_detail, name="partner_detail"),
    path("enrolments/<int:pk>/decide/", views.enrolment_decide, name="enrolment_decide"),
]
