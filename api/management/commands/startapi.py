"""`python manage.py startapi <name>`: scaffold a new API feature like api/apis/example/.

It writes api/apis/<name>/ (urls, views, serializers, services, selectors), a model stub in
api/models.py, its admin registration, the URL include and tests that pass. Then run
`makemigrations` and `migrate`, and grow the feature from there.
"""

import ast
import builtins
import hashlib
import importlib
import keyword
import re
import tomllib
from pathlib import Path
from string import Template
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import Resolver404, resolve

from api.models import User

TEMPLATES = Path(__file__).parent / "startapi_templates"
FEATURE_FILES = ("urls", "views", "serializers", "services", "selectors")
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*[a-z0-9]")
# The templates keep every line within ruff's 100 characters for names up to this long.
NAME_MAX = 32
URLS_MARKER = "    # startapi: new features above this line"
# On one line, or wrapped by ruff format in parentheses, one name a line.
ADMIN_IMPORT = re.compile(
    r"^from api\.models import (?:\((?P<wrapped>[^()]*)\)|(?P<line>[^()\n]+))$", re.MULTILINE
)
IMPORTED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
INDEX_NAME_MAX = 30  # Django's limit for index names (models.E034)


# Plurals the rules below get wrong ("movies" is not "movy"); --model covers the rest.
IRREGULAR_PLURALS = {
    **{f"{noun}s": noun for noun in ("movie", "cookie", "zombie", "calorie", "pie", "tie", "lie")},
    **{f"{noun}s": noun for noun in ("rookie", "selfie", "hoodie", "smoothie", "brownie")},
    **{f"{noun}s": noun for noun in ("cache", "niche", "avalanche", "headache", "moustache")},
    **{f"{noun}es": noun for noun in ("status", "bus", "campus", "virus", "bonus", "alias")},
    "quizzes": "quiz",
    **{noun: noun for noun in ("series", "species", "news", "data", "media")},
    "people": "person",
    "children": "child",
    "analyses": "analysis",
    "indices": "index",
}


def singular(word: str) -> str:
    """A good-enough singular of an English plural; --model overrides it."""
    if word in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[word]
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


# Where a CamelCase name's words meet: "APIKey" is api_key, "OAuthToken" o_auth_token.
WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def model_names(name: str, model: str | None) -> tuple[str, str]:
    """The model's class and its snake_case name, for the variables and functions: from the
    feature's words (p2p_transfers: P2pTransfer, p2p_transfer), or from --model."""
    if model:
        return model, WORD_BOUNDARY.sub("_", model).lower()
    *leading, last = name.split("_")
    words = [*leading, singular(last)]
    return "".join(word[:1].upper() + word[1:] for word in words), "_".join(words)


def taken_names() -> set[str]:
    """Names the new model class would shadow: those bound in api/models.py and api/admin.py
    (their imports included), those the generated files import, keywords and builtins."""
    names = {
        *vars(importlib.import_module("api.models")),
        *vars(importlib.import_module("api.admin")),
    }
    for template in TEMPLATES.glob("*-tpl"):
        for imported in re.findall(r"^(?:from \S+ )?import (.+)$", template.read_text(), re.M):
            names.update(name.strip() for name in imported.split(","))
    return names | set(keyword.kwlist) | set(dir(builtins))


def routed(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def index_name(model_var: str) -> str:
    """`<model>_owner_idx`, or when that passes Django's 30 characters, the model cut short and
    a digest of the whole name, so that it stays unique."""
    name = f"{model_var}_owner_idx"
    if len(name) <= INDEX_NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    prefix = model_var[: INDEX_NAME_MAX - len(f"_{digest}_owner_idx")].rstrip("_")
    return f"{prefix}_{digest}_owner_idx"


def import_order(name: str) -> tuple[int, list[str | int]]:
    """The order of ruff's isort among the names of one import: CONSTANTS, then Classes, then
    the rest; case-insensitive, numbers in natural order (Item2 before Item10)."""
    kind = 0 if len(name) > 1 and name.isupper() else 1 if name[0].isupper() else 2
    parts = re.split(r"([0-9]+)", name.lower())
    return kind, [int(part) if part.isdigit() else part for part in parts]


def imported_names(match: re.Match[str]) -> list[str] | None:
    """The names of a matched `from api.models import ...`; None if it has more than names
    (a comment, an alias), which startapi would not know how to keep."""
    names = [n.strip() for n in (match["wrapped"] or match["line"]).split(",")]
    names = [n for n in names if n]
    return names if names and all(IMPORTED_NAME.fullmatch(n) for n in names) else None


def models_import(names: set[str], line_length: int) -> str:
    """The import of `names` as ruff format keeps it: one line if it fits, else wrapped."""
    ordered = sorted(names, key=import_order)
    line = f"from api.models import {', '.join(ordered)}"
    if len(line) <= line_length:
        return line
    return "from api.models import (\n" + "".join(f"    {n},\n" for n in ordered) + ")"


def with_counts_import(source: str) -> str:
    """api/models.py's source with `from api import counts`, which generated models use. A
    project that deleted the example may have none left (`make format` drops it unused): it
    goes before the first `from api...` import, or after the last import, in its own section."""
    imports = [
        node for node in ast.parse(source).body if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    ours = [
        node
        for node in imports
        if isinstance(node, ast.ImportFrom)
        and node.level == 0
        and (node.module == "api" or (node.module or "").startswith("api."))
    ]
    if any(
        node.module == "api"
        and any(alias.name == "counts" and not alias.asname for alias in node.names)
        for node in ours
    ):
        return source
    lines = source.splitlines(keepends=True)
    if ours:
        at, text = ours[0].lineno - 1, "from api import counts\n"
    else:  # api/models.py imports at least django.db.models, for User
        at, text = imports[-1].end_lineno or len(lines), "\nfrom api import counts\n"
    return "".join([*lines[:at], text, *lines[at:]])


def ruff_line_length(root: Path) -> int:
    """The project's `[tool.ruff] line-length`; ruff's default without one."""
    try:
        config = tomllib.loads((root / "pyproject.toml").read_text())
    except FileNotFoundError:
        return 88
    return int(config.get("tool", {}).get("ruff", {}).get("line-length", 88))


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
        model_class, model_var = model_names(name, options["model"])
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", model_class):
            raise CommandError(f"{model_class!r} is not a CamelCase model class name.")
        for long_name in (name, model_var):
            if len(long_name) > NAME_MAX:
                raise CommandError(
                    f"{long_name!r} is longer than {NAME_MAX} characters: the generated code "
                    "would not fit the line length. Choose a shorter name or --model."
                )

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
        # The reverse accessor User.<name> must not shadow a field or attribute of User.
        if name in {field.name for field in User._meta.get_fields()} or hasattr(User, name):
            raise CommandError(
                f"User already has a field or attribute {name!r}, which the new model's "
                f"related_name={name!r} would clash with: choose another name."
            )
        if model_class in taken_names():
            raise CommandError(
                f"{model_class!r} is already a name in api/models.py, api/admin.py or the "
                "generated code (an import, a keyword, a builtin): choose another with --model."
            )
        url = name.replace("_", "-")
        if routed(f"/api/v1/{url}/"):
            raise CommandError(f"/api/v1/{url}/ is already a route: choose another name.")
        admin_source, urls_source = admin_path.read_text(), urls_path.read_text()
        admin_import = ADMIN_IMPORT.search(admin_source)
        imported = imported_names(admin_import) if admin_import else None
        if not imported or URLS_MARKER not in urls_source:
            raise CommandError(
                "api/admin.py or api/urls.py no longer has the lines startapi edits."
            )

        values = {
            "name": name,
            "url": url,
            "Model": model_class,
            "model": model_var,
            "related_name": name,
            "index_name": index_name(model_var),
            "plural_words": name.replace("_", " "),
            "model_words": model_var.replace("_", " "),
        }

        def render(template: str) -> str:
            return Template((TEMPLATES / template).read_text()).substitute(values)

        # Every file's new text first, then the writes: a failure (a models.py that does not
        # parse) leaves nothing half-written.
        routes = f'    *feature("{name}"),\n'
        new_import = models_import({*imported, model_class}, ruff_line_length(root))
        test_path = tests_dir / f"test_{name}.py"
        files = {
            **{
                feature_dir / f"{module}.py": render(f"{module}.py-tpl") for module in FEATURE_FILES
            },
            test_path: render("test_feature.py-tpl"),
            models_path: with_counts_import(models_source).rstrip("\n")
            + "\n"
            + render("model.py-tpl"),
            admin_path: ADMIN_IMPORT.sub(lambda _: new_import, admin_source, 1).rstrip("\n")
            + "\n"
            + render("admin.py-tpl"),
            urls_path: urls_source.replace(URLS_MARKER, routes + URLS_MARKER, 1),
        }
        if test_path.exists():
            raise CommandError(f"{test_path.relative_to(root)} already exists.")
        feature_dir.mkdir(parents=True)
        (feature_dir / "__init__.py").write_text("")
        tests_dir.mkdir(parents=True, exist_ok=True)
        (tests_dir / "__init__.py").touch()
        for path, text in files.items():
            path.write_text(text)
        written = list(files)

        for path in written:
            self.stdout.write(f"  wrote {path.relative_to(root)}")
        self.stdout.write(
            self.style.SUCCESS(f"Feature {name!r} with model {model_class} is in api/apis/{name}/.")
        )
        self.stdout.write(
            f"Next: give {model_class} its fields, then .venv/bin/python manage.py "
            f"makemigrations api --name {name} && .venv/bin/python manage.py migrate, then "
            f"make test. Its URLs: /api/v1/{values['url']}/."
        )
