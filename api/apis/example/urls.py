"""The example's routes, mounted under /api/v1/ by `*feature("example")` in api/urls.py."""

from django.urls import path

from api.apis.example import views

urlpatterns = [
    path("categories/", views.CategoryListView.as_view(), name="category-list"),
    path(
        "categories/<id:category_id>/", views.CategoryDetailView.as_view(), name="category-detail"
    ),
    path("items/", views.ItemListView.as_view(), name="item-list"),
    path("items/search/", views.ItemSearchView.as_view(), name="item-search"),
    path("items/<id:item_id>/", views.ItemDetailView.as_view(), name="item-detail"),
]
