"""`manage.py startapi`: what it writes, and what it refuses. (.ci/startapi-check also migrates
generated features, one with a long name, in a copy of the repository and runs their tests, and
this file's: they pass in a project that has features of its own.)"""

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import models

from api.management.commands.startapi import (
    NAME_MAX,
    import_order,
    index_name,
    model_names,
    singular,
)
from tests.processes import ROOT

RUFF = Path(sys.executable).parent / "ruff"
LINE_LENGTH = 100  # pyproject.toml's [tool.ruff] line-length
# The template's own models: those that stay once its example is deleted (README: Deleting the
# example). The tests name no other, so that they hold with or without the example.
TEMPLATE_MODELS = ["Device", "User", "UserProfile"]
# `from api.models import ...` in api/admin.py: on one line, or wrapped in parentheses.
MODELS_IMPORT = re.compile(r"^from api\.models import (\([^()]*\)|[^(\n]+)$", re.MULTILINE)


@pytest.fixture
def project(tmp_path: Path, settings) -> Path:
    """The files startapi edits and the ruff configuration, copied into a scratch project root.

    They are the project's as they are now, with the features its user has added (README:
    Adding a Feature): the features these tests generate have names a project does not use
    (scratch_notes, not notes), so that they meet neither its models nor User's accessors.
    """
    for relative in ("api/models.py", "api/admin.py", "api/urls.py", "pyproject.toml"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, tmp_path / relative)
    (tmp_path / "api" / "apis").mkdir()
    settings.BASE_DIR = tmp_path
    return tmp_path


def admin_models(project: Path) -> list[str]:
    """The names api/admin.py imports from api.models, in its order: the template's models and
    the user's own."""
    match = MODELS_IMPORT.search((project / "api" / "admin.py").read_text())
    assert match, "api/admin.py has no `from api.models import ...`"
    return re.findall(r"\w+", match[1])


def with_models(before: list[str], *added: str) -> list[str]:
    """`before` and `added` in the order of ruff's isort, which
    test_the_admin_import_is_sorted_as_ruffs_isort_sorts_it checks `import_order` keeps."""
    return sorted([*before, *added], key=import_order)


def wrapped_import(names: list[str], comma: str = ",") -> str:
    """`from api.models import (...)` as ruff format wraps it: one name a line."""
    lines = ",\n".join(f"    {name}" for name in names)
    return f"from api.models import (\n{lines}{comma}\n)"


def import_as_ruff_formats(names: list[str]) -> str:
    """The import of `names` as ruff format keeps it: on one line if it fits, else wrapped."""
    line = f"from api.models import {', '.join(names)}"
    return line if len(line) <= LINE_LENGTH else wrapped_import(names)


def test_it_writes_a_feature_model_admin_url_and_tests(project: Path):
    before = admin_models(project)
    call_command("startapi", "scratch_notes")
    feature = project / "api" / "apis" / "scratch_notes"
    for module in ("__init__", "urls", "views", "serializers", "services", "selectors"):
        source = (feature / f"{module}.py").read_text()
        compile(source, module, "exec")
    assert "class ScratchNoteListView(APIView)" in (feature / "views.py").read_text()
    urls_source = (feature / "urls.py").read_text()
    assert '"scratch-notes/",\n        views.ScratchNoteListView.as_view(),' in urls_source
    assert "class ScratchNote(models.Model)" in (project / "api" / "models.py").read_text()
    admin = (project / "api" / "admin.py").read_text()
    bases = "\n    LookupErrorsAreBadRequests,\n    admin.ModelAdmin[ScratchNote],\n"
    assert f"class ScratchNoteAdmin({bases})" in admin
    # Every model it imported before, and the new one.
    assert f"{import_as_ruff_formats(with_models(before, 'ScratchNote'))}\n" in admin
    urls = (project / "api" / "urls.py").read_text()
    assert urls.index('*feature("scratch_notes")') < urls.index("# startapi: new features")
    tests = (project / "tests" / "apis" / "scratch_notes" / "test_scratch_notes.py").read_text()
    compile(tests, "test_scratch_notes", "exec")


def test_it_ends_with_the_next_steps_as_the_readme_gives_them(project: Path):
    out = io.StringIO()
    call_command("startapi", "scratch_notes", stdout=out)
    assert "makemigrations api --name scratch_notes && " in out.getvalue()
    assert "Its URLs: /api/v1/scratch-notes/." in out.getvalue()


def test_model_name_can_be_given(project: Path):
    call_command("startapi", "scratch_people", "--model", "ScratchPerson")
    assert "class ScratchPerson(models.Model)" in (project / "api" / "models.py").read_text()


@pytest.mark.parametrize("name", ["Notes", "1notes", "no-tes", "class", "notes_", "a"])
def test_bad_names_are_refused(project: Path, name: str):
    # Refused for the name itself, not by a later check (the model class derived from it).
    with pytest.raises(CommandError, match="is not a snake_case name"):
        call_command("startapi", name, "--model", "Note")


def test_an_existing_feature_is_refused(project: Path):
    call_command("startapi", "scratch_notes")
    with pytest.raises(CommandError, match="already exists"):
        call_command("startapi", "scratch_notes")


def test_a_test_file_left_from_before_is_refused_and_nothing_is_written(project: Path):
    leftover = project / "tests" / "apis" / "scratch_notes" / "test_scratch_notes.py"
    leftover.parent.mkdir(parents=True)
    leftover.write_text("# the team's own tests\n")
    before = {path: path.read_text() for path in project.glob("api/*.py")}
    with pytest.raises(CommandError, match=r"test_scratch_notes\.py already exists"):
        call_command("startapi", "scratch_notes")
    assert leftover.read_text() == "# the team's own tests\n"
    assert {path: path.read_text() for path in project.glob("api/*.py")} == before
    assert not (project / "api" / "apis" / "scratch_notes").exists()


def test_an_existing_model_is_refused(project: Path):
    with pytest.raises(CommandError, match="already has a model UserProfile"):
        call_command("startapi", "user_profiles")


def ruff(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The scratch project lacks the modules the generated code imports, by which ruff's isort
    # would tell first-party imports: name them.
    first_party = "lint.isort.known-first-party = ['api', 'tests']"
    return subprocess.run(
        [str(RUFF), *args, "--no-cache", "--config", first_party, "."],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )


def assert_ruff_accepts(project: Path) -> None:
    """What CI runs: `ruff check` and `ruff format --check`, with the project's pyproject.toml."""
    for args in (("check",), ("format", "--check")):
        result = ruff(project, *args)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("comma", [",", ""])
def test_an_admin_import_wrapped_by_ruff_format_gets_the_model(project: Path, comma: str):
    admin_path = project / "api" / "admin.py"
    before = admin_models(project)
    source = admin_path.read_text()
    admin_path.write_text(MODELS_IMPORT.sub(wrapped_import(before, comma), source, count=1))
    call_command("startapi", "scratch_notes")
    admin = admin_path.read_text()
    compile(admin, "admin", "exec")
    # Back on one line when it fits in the line length (the template's models and one more do).
    assert f"{import_as_ruff_formats(with_models(before, 'ScratchNote'))}\n" in admin


def test_an_admin_import_past_the_line_length_is_wrapped_as_ruff_formats_it(project: Path):
    before = admin_models(project)
    names = [
        "scratch_notes",
        "scratch_saved_searches",
        "scratch_notification_preferences",
        "scratch_push_subscriptions",
    ]
    for name in names:
        call_command("startapi", name)
    admin = (project / "api" / "admin.py").read_text()
    compile(admin, "admin", "exec")
    added = [
        "ScratchNote",
        "ScratchNotificationPreference",
        "ScratchPushSubscription",
        "ScratchSavedSearch",
    ]
    assert f"{wrapped_import(with_models(before, *added))}\n" in admin
    assert_ruff_accepts(project)


def test_the_admin_import_is_sorted_as_ruffs_isort_sorts_it(project: Path):
    before = admin_models(project)
    for name in ("userbadges", "device10s", "device2s"):
        call_command("startapi", name)
    added = ["Device2", "Device10", "Userbadge"]
    imported = admin_models(project)
    # Case-insensitive, numbers in natural order (among the template's models: the user's own
    # are sorted in as well).
    known = [name for name in imported if name in TEMPLATE_MODELS or name in added]
    assert ", ".join(known) == "Device, Device2, Device10, User, Userbadge, UserProfile"
    assert imported == with_models(before, *added)
    admin = (project / "api" / "admin.py").read_text()
    assert f"{import_as_ruff_formats(imported)}\n" in admin
    assert_ruff_accepts(project)


@pytest.mark.parametrize(
    "name",
    [
        "quxes",
        "scratch_saved_searches",
        "scratch_notification_preferences",
        "categories_of_long_named_things",
        "a" * (NAME_MAX - 1) + "s",
        "a_b_c_d_e_f_g_h_i_j_k_l_m_n_o_ps",
    ],
)
def test_the_generated_code_passes_ruff_for_short_and_long_names(project: Path, name: str):
    call_command("startapi", name)
    assert_ruff_accepts(project)


# api/models.py with no `from api import counts`, as a project that deleted the example has it
# (`make format` drops the import once nothing uses it): with no import of the project's, and
# with one.
MODELS_WITHOUT_COUNTS = [
    """\"\"\"Accounts.\"\"\"

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    pass
""",
    """\"\"\"Accounts.\"\"\"

from django.contrib.auth.models import AbstractUser
from django.db import models

from api.validators import validate_timezone


class User(AbstractUser):
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
""",
]


@pytest.mark.parametrize("models_source", MODELS_WITHOUT_COUNTS)
def test_a_models_file_without_the_counts_import_gets_it(project: Path, models_source: str):
    models_path = project / "api" / "models.py"
    models_path.write_text(models_source)

    call_command("startapi", "scratch_notes")

    written = models_path.read_text()
    assert written.count("from api import counts\n") == 1
    assert "@counts.tracked" in written
    assert_ruff_accepts(project)


def test_a_long_model_gets_an_index_name_within_djangos_limit(project: Path):
    call_command("startapi", "scratch_notification_preferences")
    call_command("startapi", "scratch_notification_settings")
    call_command("startapi", "scratch_notes")
    models_source = (project / "api" / "models.py").read_text()
    names = re.findall(r'name="(\w+_owner_idx)"', models_source)
    assert names[-3:] == [
        index_name("scratch_notification_preference"),
        index_name("scratch_notification_setting"),
        "scratch_note_owner_idx",  # a name that fits is kept as it was: no migration changes
    ]
    assert len(set(names)) == len(names)
    assert all(len(name) <= models.Index.max_name_length for name in names)
    assert index_name("notification_preference").startswith("notification_")


@pytest.mark.parametrize(
    "args",
    [
        ["groups"],
        ["user_permissions"],
        ["profile"],
        ["objects"],
        ["devices", "--model", "ScratchGadget"],
    ],
)
def test_a_name_that_user_already_has_is_refused_and_nothing_is_written(
    project: Path, args: list[str]
):
    # The model's related_name is the feature's name: User.<name> would clash (fields.E302).
    before = {path: path.read_text() for path in project.glob("api/*.py")}
    with pytest.raises(CommandError, match=f"User already has a field or attribute '{args[0]}'"):
        call_command("startapi", *args)
    assert {path: path.read_text() for path in project.glob("api/*.py")} == before
    assert not (project / "api" / "apis" / args[0]).exists()
    assert not (project / "tests").exists()


@pytest.mark.parametrize(
    ("args", "model"),
    [
        (["responses"], "Response"),  # imported by the generated views
        (["query_sets"], "QuerySet"),  # imported by api/models.py
        (["teams", "--model", "Group"], "Group"),  # imported by api/admin.py
        (["nones"], "None"),  # a keyword
        (["exceptions"], "Exception"),  # a builtin
    ],
)
def test_a_model_name_the_code_already_uses_is_refused_and_nothing_is_written(
    project: Path, args: list[str], model: str
):
    # Shadowed, the import breaks the generated views (a `Response(...)` that builds a model),
    # or api/models.py or api/admin.py themselves.
    before = {path: path.read_text() for path in project.glob("api/*.py")}
    with pytest.raises(CommandError, match=f"'{model}' is already a name in api/models.py"):
        call_command("startapi", *args)
    assert {path: path.read_text() for path in project.glob("api/*.py")} == before
    assert not (project / "api" / "apis" / args[0]).exists()


def test_a_url_that_is_already_routed_is_refused(project: Path):
    # The older route would answer first, and the feature's requests reach another view.
    with pytest.raises(CommandError, match="/api/v1/me/ is already a route"):
        call_command("startapi", "me", "--model", "ScratchMe")
    assert not (project / "api" / "apis" / "me").exists()


@pytest.mark.parametrize(
    ("args", "too_long"),
    [
        (["a" * NAME_MAX + "s"], "a" * NAME_MAX + "s"),
        (
            ["things", "--model", "ThingWithAVeryLongNameForAModel"],
            "thing_with_a_very_long_name_for_a_model",
        ),
    ],
)
def test_a_name_too_long_for_the_line_length_is_refused(
    project: Path, args: list[str], too_long: str
):
    with pytest.raises(CommandError, match=f"'{too_long}' is longer than {NAME_MAX} characters"):
        call_command("startapi", *args)
    assert not (project / "api" / "apis" / args[0]).exists()


@pytest.mark.parametrize(
    ("plural", "single"),
    [
        ("notes", "note"),
        ("categories", "category"),
        ("searches", "search"),
        ("boxes", "box"),
        ("addresses", "address"),
        ("news", "news"),
        ("glass", "glass"),
        ("movies", "movie"),
        ("cookies", "cookie"),
        ("statuses", "status"),
        ("series", "series"),
        ("people", "person"),
        ("quizzes", "quiz"),
        ("caches", "cache"),
        ("aliases", "alias"),
    ],
)
def test_singular(plural: str, single: str):
    assert singular(plural) == single


@pytest.mark.parametrize(
    ("name", "model", "names"),
    [
        ("saved_searches", None, ("SavedSearch", "saved_search")),
        # Words keep their digits' neighbours as they are: not P2PTransfer and p2_p_transfer.
        ("p2p_transfers", None, ("P2pTransfer", "p2p_transfer")),
        ("i18n_strings", None, ("I18nString", "i18n_string")),
        # An acronym is one word: not a_p_i_key.
        ("api_keys", "APIKey", ("APIKey", "api_key")),
        ("tokens", "OAuthToken", ("OAuthToken", "o_auth_token")),
        ("people", "ScratchPerson", ("ScratchPerson", "scratch_person")),
    ],
)
def test_model_names_come_from_the_words(name: str, model: str | None, names: tuple[str, str]):
    assert model_names(name, model) == names
