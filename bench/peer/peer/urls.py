from django.urls import path

from peer import views

urlpatterns = [
    path("api/token/", views.TokenObtainView.as_view()),
    path("api/token/refresh/", views.TokenRefreshScopedView.as_view()),
    path("api/me/", views.MeView.as_view()),
    path("api/items/", views.ItemListView.as_view()),
    path("ceiling/", views.ceiling),
]
