"""Races reproduced against the database: another request's write, just before the request's own.

`just_before(signal, Model, write)` runs `write` once, the first time `signal` (`pre_save`,
`pre_delete`) is sent for `Model`: after the request has validated its body, just before its
own INSERT, UPDATE or DELETE reaches the database, which then refuses it itself (unique key,
foreign key). No mock: the row is really there, or really gone.

`write` runs on the request's connection, inside its transaction, so the request's rollback
takes it back too: assert the answer, not what the racer left. Races on a foreign key need
`@pytest.mark.django_db(transaction=True)`: SQLite checks foreign keys at commit, which a test
inside a transaction never reaches (MariaDB checks them at once).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import Model
from django.dispatch import Signal


@contextmanager
def just_before(signal: Signal, model: type[Model], write: Callable[[], object]) -> Iterator[None]:
    """Run `write` once, when `signal` is first sent for `model`; fail if it never was."""
    fired: list[Model] = []

    def racer(**kwargs: Any) -> None:
        if not fired:  # once: `write` may itself save or delete a `model`
            fired.append(kwargs["instance"])
            write()

    signal.connect(racer, sender=model, weak=False)
    try:
        yield
    finally:
        signal.disconnect(racer, sender=model)
    assert fired, f"the race never ran: no {model.__name__} was saved or deleted"
