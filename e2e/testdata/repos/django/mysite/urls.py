from django.urls import path

from polls import views

urlpatterns = [
    path("healthz", views.healthz),
    path("polls/", views.index),
    path("polls/<int:question_id>/", views.detail),
]
