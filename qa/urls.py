from django.urls import path

from . import views

app_name = "qa"

urlpatterns = [
    path("ask/", views.ask_page, name="ask"),
    path("ask/answer/", views.ask_json, name="ask_json"),
    path("ask/stream/", views.ask_stream, name="ask_stream"),
    path("answers/<int:pk>/", views.answer_detail, name="answer"),
    path("answers/<int:pk>/rating/", views.rate, name="rate"),
    path("history/", views.history, name="history"),
    path("healthz", views.healthz, name="healthz"),
]
