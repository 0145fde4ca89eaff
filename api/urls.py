"""The account pages for API tokens: list, make, revoke."""

from django.urls import path

from . import views

app_name = "account"

urlpatterns = [
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/new/", views.create_token, name="create_token"),
    path("tokens/<int:pk>/revoke/", views.revoke_token, name="revoke_token"),
]
