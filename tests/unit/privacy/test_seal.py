"""Sealing answers for the cache: a placeholder comes back only from the current request's prompt,
and only where it stands for the same thing there."""

from __future__ import annotations

import dataclasses

from tests.unit.gateway.conftest import task

from magray_lsp.privacy.outbound import seal_answer, unresolved_placeholders, unseal_answer
from magray_lsp.privacy.redact import Redaction
from magray_lsp.task import Task

ADMIN = "admin@corp.example.com"
BOB = "bob@corp.example.com"
ANSWER = f'def notify():\n    send("{ADMIN}")\n'


def code_task(code: str) -> Task:
    return dataclasses.replace(task(), prompt=f"Refactor:\n```python\n{code}```")


def notify(address: str = ADMIN, *, above: str = "", spaces: str = " ") -> str:
    return f'{above}def notify():\n    send({spaces}"{address}"{spaces})\n'


def test_the_same_prompt_gets_its_values_back_and_the_cache_never_holds_them() -> None:
    asked = code_task(notify())
    sealed = seal_answer(asked, ANSWER)
    assert ADMIN not in sealed and "<EMAIL_1#" in sealed
    assert unseal_answer(asked, sealed) == (ANSWER, ())


def test_a_prompt_without_the_value_makes_the_answer_unusable() -> None:
    sealed = seal_answer(code_task(notify()), ANSWER)
    text, missing = unseal_answer(code_task("def notify():\n    send(ADDRESS)\n"), sealed)
    assert missing == ("<EMAIL_1>",)
    assert ADMIN not in text  # nothing to restore it from: the caller must not use the text


def test_a_placeholder_renumbered_by_a_new_value_is_not_restored_to_the_wrong_one() -> None:
    # A comment with another address now comes first: it is <EMAIL_1> in the new prompt, and
    # the answer's <EMAIL_1> (admin) must not silently become bob.
    sealed = seal_answer(code_task(notify()), ANSWER)
    moved = code_task(notify(above=f"# questions: {BOB}\n"))
    text, missing = unseal_answer(moved, sealed)
    assert missing == ("<EMAIL_1>",) and BOB not in text


def test_a_reformat_elsewhere_keeps_the_placeholder_a_changed_value_on_its_line_follows() -> None:
    sealed = seal_answer(code_task(notify()), ANSWER)
    reformatted = code_task("import smtp\n\n\n" + notify(spaces="  "))
    assert unseal_answer(reformatted, sealed) == (ANSWER, ())
    # the same line with another address: the placeholder means "the address sent there"
    renamed = code_task(notify(BOB))
    assert unseal_answer(renamed, sealed) == (ANSWER.replace(ADMIN, BOB), ())


def test_a_placeholder_the_model_invented_is_reported_unless_the_user_wrote_it() -> None:
    asked = code_task(notify())
    assert unresolved_placeholders(asked, 'send("<EMAIL_9>")') == ["<EMAIL_9>"]
    assert unseal_answer(asked, 'send("<EMAIL_9>")').missing == ("<EMAIL_9>",)
    template = code_task('GREETING = "Dear <NAME_1>,"\n' + notify())
    assert unresolved_placeholders(template, 'GREETING = "Dear <NAME_1>,"') == []
    assert unseal_answer(template, 'print("Dear <NAME_1>,")') == ('print("Dear <NAME_1>,")', ())


def test_an_answer_without_placeholders_is_left_alone() -> None:
    plain = "def notify():\n    send(ADDRESS)  # <b>bold</b> a < b\n"
    asked = code_task(notify())
    assert seal_answer(asked, plain) == plain
    assert unseal_answer(asked, plain) == (plain, ())
    assert unresolved_placeholders(asked, plain) == []


def test_redaction_reports_what_it_cannot_restore() -> None:
    redaction = Redaction()
    redaction.redact(f"literal <EMAIL_1> stays; real: {BOB}")
    answer = "<EMAIL_2> and <EMAIL_1> and <EMAIL_3> and <API_KEY_1> and <EMAIL_3>"
    assert redaction.unresolved(answer) == ["<EMAIL_3>", "<API_KEY_1>"]
    assert redaction.unresolved("no placeholder <b>") == []
