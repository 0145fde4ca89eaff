"""The root URL map: admin, sign-in, account, the API, and the app's pages."""

from django.contrib import admin
from django.urls import include, path

from api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("account/", include("api.urls")),
    path("api/v1/", api.urls),
    path("", include("qa.urls")),
    path("", include("ingestion.urls")),
]
