"""Custom action definitions: `[actions.NAME]` in any layer and `.magray/actions/NAME.md`
prompt files. A broken definition is a located problem (file:line, key) that drops only that
action; the rest of the configuration and the other actions load."""

from __future__ import annotations

from pathlib import Path

import pytest

from magray_lsp.actions.definitions import action_set
from magray_lsp.catalog import Catalog
from magray_lsp.config.loader import load_config
from magray_lsp.config.templates import fill, stable_head, unknown_variables

GOOD = """
[actions.simplify]
title = "Simplify {unit}"
prompt = "Simplify this {language} {kind}:\\n{code}"
output = "replace"
"""


def load(root: Path, toml: str = "", files: dict[str, str] | None = None, **kw: object):  # type: ignore[no-untyped-def]
    (root / ".magray.toml").write_text(toml)
    for name, text in (files or {}).items():
        (root / ".magray" / "actions").mkdir(parents=True, exist_ok=True)
        (root / ".magray" / "actions" / name).write_text(text)
    return load_config(workspace=root, include_user=False, env={}, **kw)  # type: ignore[arg-type]


def test_a_table_and_a_prompt_file_both_define_actions(tmp_path: Path) -> None:
    md = (
        '+++\ntitle = "Tests for {unit}"\noutput = "new_file"\npath = "tests/test_{module}.py"\n'
        "+++\n\nWrite pytest tests:\n{code}\n"
    )
    loaded = load(tmp_path, GOOD, {"pytests.md": md})
    assert loaded.problems == []
    assert set(loaded.config.actions) == {"simplify", "pytests"}
    pytests = loaded.config.actions["pytests"]
    assert pytests.prompt == "Write pytest tests:\n{code}"
    assert pytests.output == "new_file" and pytests.routed_as == "refactor"
    assert loaded.config.actions["simplify"].routed_as == "refactor"


def test_the_workspace_file_overrides_a_prompt_file_key_by_key(tmp_path: Path) -> None:
    md = '+++\ntitle = "Review"\n+++\nReview {code}\n'
    loaded = load(tmp_path, "[actions.review]\nmax_tokens = 300\n", {"review.md": md})
    review = loaded.config.actions["review"]
    assert (review.title, review.max_tokens, review.prompt) == ("Review", 300, "Review {code}")


def test_each_broken_action_is_one_located_problem_and_the_rest_loads(tmp_path: Path) -> None:
    toml = (
        GOOD
        + """
[actions.typo]
prompt = \"\"\"
Simplify this:
{cod}
\"\"\"

[actions.wrongout]
prompt = "x {code}"
output = "replce"

[actions.empty]
title = "No prompt"

[actions.fix]
prompt = "mine {code}"

[actions.pathless]
prompt = "x"
output = "new_file"

[actions.titled]
prompt = "x"
title = "About {code}"

[actions.extra]
prompt = "x"
temperature = 0.2

[routing]
default = "local"
"""
    )
    loaded = load(tmp_path, toml)
    assert list(loaded.config.actions) == ["simplify"]
    assert loaded.config.routing.default == "local"  # the rest of the file still counts
    lines = toml.splitlines()
    where = {p.split(": ", 2)[1]: int(p.split(":")[1]) for p in loaded.problems}
    assert where == {
        "actions.typo.prompt": lines.index("{cod}") + 1,
        "actions.wrongout.output": lines.index('output = "replce"') + 1,
        "actions.empty.prompt": lines.index("[actions.empty]") + 1,
        "actions.fix": lines.index("[actions.fix]") + 1,
        "actions.pathless.output": lines.index('output = "new_file"') + 1,
        "actions.titled.title": lines.index('title = "About {code}"') + 1,
        "actions.extra.temperature": lines.index("temperature = 0.2") + 1,
    }
    text = "\n".join(loaded.problems)
    assert "unknown variable {cod}" in text and "write {{cod}} for the literal text" in text
    assert "must be 'show', 'replace', 'insert_above', 'insert_below' or 'new_file'" in text
    assert "`fix` is a built-in action" in text
    assert "{code} is not known when the menu is listed" in text


def test_prompt_file_errors_point_into_the_file(tmp_path: Path) -> None:
    files = {
        "bad-var.md": '+++\noutput = "show"\n+++\nExplain\n\nthe {thing}\n',
        "bad-toml.md": "+++\noutput = show\n+++\nx\n",
        "open.md": '+++\noutput = "show"\nExplain {code}\n',
        "twice.md": '+++\nprompt = "a"\n+++\nb\n',
        "nobody.md": '+++\noutput = "show"\n+++\n\n',
        "1bad.md": "x",
        "fine.md": "Explain {code} like a pirate.",
    }
    loaded = load(tmp_path, files=files)
    assert list(loaded.config.actions) == ["fine"]
    located = {Path(p.split(":")[0]).name: int(p.split(":")[1]) for p in loaded.problems}
    assert located == {
        "bad-var.md": 6,
        "bad-toml.md": 2,
        "open.md": 1,
        "twice.md": 4,
        "nobody.md": 1,
        "1bad.md": 1,
    }


def test_prompts_are_not_interpolated_from_the_environment(tmp_path: Path) -> None:
    toml = (
        '[actions.js]\nprompt = "Use `${name}` template literals in {code}; '
        'key ${OPENAI_API_KEY}"\n'
    )
    (tmp_path / ".magray.toml").write_text(toml)
    loaded = load_config(
        workspace=tmp_path, include_user=False, env={"OPENAI_API_KEY": "sk-secret", "name": "x"}
    )
    assert loaded.config.actions["js"].prompt == (
        "Use `${name}` template literals in {code}; key ${OPENAI_API_KEY}"
    )


def test_editor_settings_define_actions_too(tmp_path: Path) -> None:
    settings = {"actions": {"quick": {"prompt": "Review {code}", "output": "show"}}}
    loaded = load(tmp_path, settings=settings)
    assert list(loaded.config.actions) == ["quick"]
    broken = load(tmp_path, settings={"actions": {"quick": {"prompt": "{nope}"}}})
    assert broken.problems and broken.problems[0].startswith("editor settings: actions.quick")


def test_a_model_that_does_not_exist_drops_the_action_with_its_line(tmp_path: Path) -> None:
    toml = GOOD + '\n[actions.ghost]\nprompt = "x {code}"\nmodel = "openai.nope"\n'
    toml += '\n[actions.lang]\nprompt = "x"\nlanguages = ["cobol"]\n'
    toml += '\n[llm.openai]\napi_key = "sk-x"\n[llm.openai.models]\ncode = "gpt-4o"\n'
    loaded = load(tmp_path, toml)
    assert set(loaded.config.actions) == {"simplify", "ghost", "lang"}  # the loader cannot know
    found = action_set(Catalog(loaded))
    assert set(found.actions) == {"fix", "tests", "simplify"}
    lines = toml.splitlines()
    config = tmp_path / ".magray.toml"
    model_line = lines.index('model = "openai.nope"') + 1
    lang_line = lines.index('languages = ["cobol"]') + 1
    assert sorted(found.problems) == sorted(
        [
            f"{config}:{model_line}: actions.ghost.model: openai.nope: no model alias 'nope' "
            "(aliases: code)",
            f"{config}:{lang_line}: actions.lang.languages: unknown language 'cobol' (known: c, "
            "cpp, go, java, javascript, lua, python, ruby, rust, tsx, typescript, text)",
        ]
    )
    assert found.get("simplify") is not None and found.get("simplify").origin.endswith(":2")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        ("Simplify {code}", {"code": "x = 1"}, "Simplify x = 1"),
        ('fn f() {} and {"a": 1}', {}, 'fn f() {} and {"a": 1}'),
        ("literal {{code}} and {code}", {"code": "y"}, "literal {code} and y"),
        ("{code}", {"code": "{input}"}, "{input}"),  # a value is never read as a template
        ("`${name}` and ${code}", {"code": "x"}, "`${name}` and ${code}"),  # JS, shell
    ],
)
def test_templates_fill_only_identifiers_in_braces(
    template: str, values: dict[str, str], expected: str
) -> None:
    assert fill(template, values) == expected


def test_unknown_variables_have_their_line() -> None:
    assert unknown_variables("a\nb {x}\n{{y}} {code}", ("code",)) == [("x", 1)]


@pytest.mark.parametrize(
    ("template", "head"),
    [
        ("From {file}:\n{context}\n\nReview {unit}:\n{code}", "From {file}:\n{context}\n\n"),
        ("{code} in {context}", ""),  # the request first: nothing repeats
        ("{{code}} {language} {context}", "{{code}} {language} {context}"),  # all stable
        ("${code} {context} and {input}", "${code} {context}"),  # `${code}` is no variable
        ("Given {context}\nand {file}, fix\n {code}", "Given {context}\nand {file}, fix\n"),
    ],
)
def test_the_stable_head_ends_at_the_first_per_request_variable(template: str, head: str) -> None:
    assert stable_head(template) == head
