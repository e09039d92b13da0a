"""A topic and its posts: the shape of a feature's models (an owner, a foreign key, text, a
price, a published flag, timestamps), with their list counts tracked (api/counts.py). And the
other ways a project's code can save rows of a table: a proxy and a child model of Post, proxies
of User and Device (api.utils.tables_of)."""

from django.core.validators import MinValueValidator
from django.db import models

from api import counts
from api.models import Device, User


@counts.tracked
class Topic(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


@counts.tracked
class Post(models.Model):
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="posts")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    is_published = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class DraftPost(Post):
    """A proxy: its rows are Post's, and so are its lists' counts."""

    class Meta:
        proxy = True


class PinnedPost(Post):
    """A child (multi-table inheritance): each of its rows is a row of Post's table too."""

    pinned_at = models.DateTimeField(auto_now_add=True)


class StaffUser(User):
    """A proxy of the project's user, as an admin of staff alone would declare it."""

    class Meta:
        proxy = True


class KioskDevice(Device):
    """A proxy of the project's device."""

    class Meta:
        proxy = True
