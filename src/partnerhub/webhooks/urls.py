"""URLs of the webhook pages of the partner cabinet (mounted under ``/cabinet/webhooks/``)."""

from django.urls import path

from partnerhub.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.endpoints, name="endpoints"),
    path("new/", views.endpoint_create, name="endpoint_create"),
    path("<int:pk>/", views.endpoint_detail, name="endpoint_detail"),
    path("<int:pk>/deactivate/", views.endpoint_deactivate, name="endpoint_deactivate"),
    path("<int:pk>/activate/", views.endpoint_activate, name="endpoint_activate"),
    path("<int:pk>/delete/", views.endpoint_delete, name="endpoint_delete"),
]
