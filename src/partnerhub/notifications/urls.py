"""URLs of the notification pages (mounted under ``/cabinet/notifications/``)."""

from django.urls import path

from partnerhub.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("<int:pk>/read/", views.notification_read, name="read"),
    path("read-all/", views.notification_read_all, name="read_all"),
    path("settings/", views.email_settings, name="settings"),
]
