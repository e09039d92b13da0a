"""`manage.py startapi`: what it writes, and what it refuses. (.ci/startapi-check also migrates a
generated feature in a copy of the repository and runs its generated tests.)"""

import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from api.management.commands.startapi import singular
from tests.processes import ROOT


@pytest.fixture
def project(tmp_path: Path, settings) -> Path:
    """The files startapi edits, copied into a scratch project root."""
    for relative in ("api/models.py", "api/admin.py", "api/urls.py"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, tmp_path / relative)
    (tmp_path / "api" / "apis").mkdir()
    settings.BASE_DIR = tmp_path
    return tmp_path


def test_it_writes_a_feature_model_admin_url_and_tests(project: Path):
    call_command("startapi", "notes")
    feature = project / "api" / "apis" / "notes"
    for module in ("__init__", "urls", "views", "serializers", "services", "selectors"):
        source = (feature / f"{module}.py").read_text()
        compile(source, module, "exec")
    assert "class NoteListView(APIView)" in (feature / "views.py").read_text()
    assert 'path("notes/", ListView.as_view()' in (feature / "urls.py").read_text()
    assert "class Note(models.Model)" in (project / "api" / "models.py").read_text()
    admin = (project / "api" / "admin.py").read_text()
    assert "class NoteAdmin(admin.ModelAdmin[Note])" in admin
    assert "from api.models import Category, Device, Item, Note, User, UserProfile" in admin
    urls = (project / "api" / "urls.py").read_text()
    assert urls.index('*feature("notes")') < urls.index("# startapi: new features")
    tests = (project / "tests" / "apis" / "notes" / "test_notes.py").read_text()
    compile(tests, "test_notes", "exec")


def test_model_name_can_be_given(project: Path):
    call_command("startapi", "people", "--model", "Person")
    assert "class Person(models.Model)" in (project / "api" / "models.py").read_text()


@pytest.mark.parametrize("name", ["Notes", "1notes", "no-tes", "class", "notes_", "a"])
def test_bad_names_are_refused(project: Path, name: str):
    # Refused for the name itself, not by a later check (the model class derived from it).
    with pytest.raises(CommandError, match="is not a snake_case name"):
        call_command("startapi", name, "--model", "Note")


def test_an_existing_feature_is_refused(project: Path):
    call_command("startapi", "notes")
    with pytest.raises(CommandError, match="already exists"):
        call_command("startapi", "notes")


def test_an_existing_model_is_refused(project: Path):
    with pytest.raises(CommandError, match="already has a model Item"):
        call_command("startapi", "items")


@pytest.mark.parametrize(
    ("plural", "single"),
    [
        ("notes", "note"),
        ("categories", "category"),
        ("searches", "search"),
        ("boxes", "box"),
        ("addresses", "address"),
        ("news", "new"),
        ("glass", "glass"),
    ],
)
def test_singular(plural: str, single: str):
    assert singular(plural) == single
