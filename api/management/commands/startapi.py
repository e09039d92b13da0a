"""`python manage.py startapi <name>`: scaffold a new API feature like api/apis/example/.

It writes api/apis/<name>/ (urls, views, serializers, services, selectors), a model stub in
api/models.py, its admin registration, the URL include and tests that pass. Then run
`makemigrations` and `migrate`, and grow the feature from there.
"""

import keyword
import re
from pathlib import Path
from string import Template
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

TEMPLATES = Path(__file__).parent / "startapi_templates"
FEATURE_FILES = ("urls", "views", "serializers", "services", "selectors")
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*[a-z0-9]")
URLS_MARKER = "    # startapi: new features above this line"
ADMIN_IMPORT = re.compile(r"^from api\.models import (?P<names>.+)$", re.MULTILINE)


def singular(word: str) -> str:
    """A good-enough singular of an English plural; --model overrides it."""
    for plural, single in (
        ("ies", "y"),
        ("sses", "ss"),
        ("ches", "ch"),
        ("shes", "sh"),
        ("xes", "x"),
    ):
        if word.endswith(plural):
            return word[: -len(plural)] + single
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


class Command(BaseCommand):
    help = "Scaffold a new API feature under api/apis/<name>/ (see README: Adding a Feature)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "name", help="Feature name in snake_case, plural: notes, saved_searches"
        )
        parser.add_argument("--model", help="Model class name (default: from the name: Note)")

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"]
        if not NAME_PATTERN.fullmatch(name) or keyword.iskeyword(name) or "__" in name:
            raise CommandError(
                f"{name!r} is not a snake_case name such as notes or saved_searches."
            )
        words = name.split("_")
        model_class = options["model"] or "".join(
            w.title() for w in [*words[:-1], singular(words[-1])]
        )
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", model_class):
            raise CommandError(f"{model_class!r} is not a CamelCase model class name.")
        model_var = re.sub(r"(?<!^)(?=[A-Z])", "_", model_class).lower()

        root = Path(settings.BASE_DIR)
        feature_dir = root / "api" / "apis" / name
        tests_dir = root / "tests" / "apis" / name
        models_path, admin_path, urls_path = (
            root / "api" / f for f in ("models.py", "admin.py", "urls.py")
        )
        if feature_dir.exists():
            raise CommandError(f"{feature_dir.relative_to(root)} already exists.")
        models_source = models_path.read_text()
        if re.search(rf"^class {model_class}\(", models_source, re.MULTILINE):
            raise CommandError(f"api/models.py already has a model {model_class}.")
        admin_source, urls_source = admin_path.read_text(), urls_path.read_text()
        admin_import = ADMIN_IMPORT.search(admin_source)
        if admin_import is None or URLS_MARKER not in urls_source:
            raise CommandError(
                "api/admin.py or api/urls.py no longer has the lines startapi edits."
            )

        values = {
            "name": name,
            "url": name.replace("_", "-"),
            "Model": model_class,
            "model": model_var,
            "related_name": name,
            "plural_words": " ".join(words),
            "model_words": model_var.replace("_", " "),
        }

        def render(template: str) -> str:
            return Template((TEMPLATES / template).read_text()).substitute(values)

        written = []
        feature_dir.mkdir(parents=True)
        (feature_dir / "__init__.py").write_text("")
        for module in FEATURE_FILES:
            (feature_dir / f"{module}.py").write_text(render(f"{module}.py-tpl"))
            written.append(feature_dir / f"{module}.py")
        tests_dir.mkdir(parents=True, exist_ok=True)
        (tests_dir / "__init__.py").touch()
        (tests_dir / f"test_{name}.py").write_text(render("test_feature.py-tpl"))
        written.append(tests_dir / f"test_{name}.py")

        models_path.write_text(models_source.rstrip("\n") + "\n" + render("model.py-tpl"))
        imported = sorted({*admin_import["names"].split(", "), model_class})
        admin_source = ADMIN_IMPORT.sub(
            f"from api.models import {', '.join(imported)}", admin_source, 1
        )
        admin_path.write_text(admin_source.rstrip("\n") + "\n" + render("admin.py-tpl"))
        routes = f'    *feature("{name}"),\n'
        urls_path.write_text(urls_source.replace(URLS_MARKER, routes + URLS_MARKER, 1))
        written += [models_path, admin_path, urls_path]

        for path in written:
            self.stdout.write(f"  wrote {path.relative_to(root)}")
        self.stdout.write(
            self.style.SUCCESS(f"Feature {name!r} with model {model_class} is in api/apis/{name}/.")
        )
        self.stdout.write(
            "Next: .venv/bin/python manage.py makemigrations api && "
            ".venv/bin/python manage.py migrate, then "
            f"make test. Its URLs: /api/v1/{values['url']}/."
        )
