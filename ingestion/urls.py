"""The corpus and document pages."""

from django.urls import path

from . import views

app_name = "ingestion"

urlpatterns = [
    path("", views.home, name="home"),
    path("corpora/new/", views.create_corpus, name="create_corpus"),
    path("corpora/<slug:slug>/", views.corpus_detail, name="corpus"),
    path("corpora/<slug:slug>/upload/", views.upload, name="upload"),
    path("corpora/<slug:slug>/status/", views.corpus_status, name="corpus_status"),
    path("corpora/<slug:slug>/members/", views.members, name="members"),
    path("corpora/<slug:slug>/members/set/", views.set_member, name="set_member"),
    path("corpora/<slug:slug>/members/<int:pk>/remove/", views.remove_member, name="remove_member"),
    path("corpora/<slug:slug>/settings/", views.corpus_settings, name="corpus_settings"),
    path("documents/<int:pk>/", views.document_detail, name="document"),
    path("documents/<int:pk>/file/", views.document_file, name="document_file"),
    path("documents/<int:pk>/details/", views.edit_details, name="edit_details"),
    path("documents/<int:pk>/password/", views.unlock, name="unlock"),
    path("documents/<int:pk>/retry/", views.retry, name="retry"),
    path("documents/<int:pk>/delete/", views.delete, name="delete"),
]
