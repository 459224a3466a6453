"""The README examples runner (tests/tools/readme_runner.py) without a mesh: how it reads a README,
how it compares outputs, that it carries shell state and names the failing line; and that the real
README and the fixtures' READMEs parse and point at files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.tools.readme_runner import README, REPO, ReadmeError, Runner, matches, parse

SAMPLE = """# title

## First

```sh
A=$(echo one \\
  two)
echo "$A"
# -> one two
# A comment between commands.
printf '%s\\n' '{"b": 2,
  "a": 1}'
```

```text
{"a": 1, ...}
```

```sh norun
make run <anything, not even shell>
```

## Second

```sh
echo "$A again"
# -> one two again
```
"""


def test_sections_blocks_commands_and_shown_outputs_are_read() -> None:
    first, second = [s for s in parse(SAMPLE) if s.blocks]
    assert (first.title, second.title) == ("First", "Second")
    run, norun = first.blocks
    assert norun.norun and not norun.commands
    assert [c.line for c in run.commands] == [6, 8, 11]
    assert run.commands[1].expected == ["one two"] and run.commands[1].expected_line == 9
    assert run.commands[2].expected == ['{"a": 1, ...}'] and run.commands[2].block_output
    assert run.commands[0].expected is None


@pytest.mark.parametrize("text, error", [
    ("## S\n```sh no-run\necho\n```\n", "README.md:2: unknown flag no-run"),
    ("## S\n```sh\n# -> x\necho\n```\n", "README.md:3: `# ->` before any command"),
    ("## S\n```sh\necho 'open\n```\n", "README.md:3: the command is not complete"),
    ("## S\n```sh\necho\n", "README.md:2: a code block is not closed"),
    ("## S\n```sh\necho\n```\n## S\n```sh\necho\n```\n", "README.md:1: a second section 'S'"),
])
def test_a_malformed_readme_names_its_line(text: str, error: str) -> None:
    with pytest.raises(ReadmeError, match=re.escape(error)):
        parse(text)


@pytest.mark.parametrize("shown, printed, holds", [
    ('{"a":1,"b":"x"}', '{"b":"x","a":1}', True),  # a map's order is not fixed
    ('{"a":1,...}', '{"b":"x","a":1}', True),
    ('{"a":1}', '{"b":"x","a":1}', False),  # without `...`, no other keys
    ('{"a":2,...}', '{"a":1}', False),
    ('{"c":1,...}', '{"a":1}', False),
    ('{"name":"users/..."}', '{"name":"users/01a24d59-620a-70ea-8699-783b4b0549aa"}', True),
    ('{"name":"users/01a24d59-0000-70ea-8699-783b4b0549aa"}', '{"name":"users/01a24d59-620a-70ea-8699-783b4b0549aa"}', True),
    ('{"t":"2026-12-06T21:53:53.1Z"}', '{"t":"2027-01-01T00:00:00Z"}', True),  # a timestamp of the run
    ('{"v":69.853...}', '{"v":69.853224980000007}', True),
    ('{"v":69.9...}', '{"v":69.853224980000007}', False),
    ('{"xs":[{"k":2},...]}', '{"xs":[{"k":1},{"k":2},{"k":3}]}', True),
    ('{"xs":[{"k":3},{"k":1},...]}', '{"xs":[{"k":1},{"k":2},{"k":3}]}', False),  # shown items keep their order
    ('{"xs":[]}', '{"xs":[{"k":1}]}', False),
    ('{"s":"hm_abcdefgh123"}', '{"s":"hm_Zyxwvuts987"}', True),  # an API key secret
    ('{"ok":true}', '{"ok":1}', False),
    ('line one\n...\nlast', 'line one\nmiddle\n  more\nlast\n', True),
    ('a  b', 'a b', True),
    ('a b', 'ab', False),
    ('HTTP/1.1 200 OK\n...', 'HTTP/1.1 404 Not Found\r\nserver: envoy\r\n', False),
])
def test_shown_outputs_are_compared_loosely_but_meaningfully(shown: str, printed: str, holds: bool) -> None:
    assert matches(shown, printed) is holds


def test_a_timestamp_the_commands_wrote_is_compared_literally() -> None:
    keep = "curl -d '{\"startTime\": \"2026-03-01T07:00:00Z\"}'"
    assert matches('{"t":"2026-03-01T07:00:00Z"}', '{"t":"2026-03-01T07:00:00Z"}', keep)
    assert not matches('{"t":"2026-03-01T07:00:00Z"}', '{"t":"2026-03-01T08:00:00Z"}', keep)


def test_sections_run_in_order_with_the_state_of_the_ones_before(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    text = SAMPLE + "\n## Third\n\n```sh\necho fine\n# -> fine\nfalse\necho never\n```\n"
    readme.write_text(text)
    runner = Runner("http://127.0.0.1:9", tmp_path / "work", readme=readme)
    assert runner.check("Second") == []  # runs First first: A comes from there
    problems = runner.check("Third")
    line = text.splitlines().index("false") + 1
    assert len(problems) == 1 and problems[0].startswith(f"README.md:{line}: `false` exited with 1"), problems


def test_a_wrong_output_names_the_command_and_the_shown_line(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("## S\n\n```sh\necho '{\"a\": 1}'\n# -> {\"a\": 2}\n```\n")
    problems = Runner("http://127.0.0.1:9", tmp_path / "work", readme=readme).check("S")
    assert problems == ["README.md:4: `echo '{\"a\": 1}'` printed\n{\"a\": 1}\nbut README.md:5 shows\n{\"a\": 2}"]


def test_the_readme_parses_and_runs_something_in_each_of_its_example_sections() -> None:
    sections = parse(README.read_text())
    assert "Try it" in [s.title for s in sections if s.runnable]
    quick = next(s for s in sections if s.title == "Quick start")
    assert all(b.norun for b in quick.blocks)  # make run, make test


@pytest.mark.parametrize("path", [README, *sorted((REPO / "tests" / "fixtures").glob("*/README.md"))],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_the_paths_a_readme_names_exist(path: Path) -> None:
    """Markdown links, and paths in backquotes that start with `../` or one of the repository's
    directories (tests/tools/..., a fixture), resolve from the README's directory or the root."""
    text = path.read_text()
    named = re.findall(r"\]\(([^)#\s]+)\)", text)
    named += [p for p in re.findall(r"`([\w./-]+\.(?:py|json|zip|txt|ts|md|yaml|proto))(?: [^`]*)?`", text)
              if "/" in p and "*" not in p and "<" not in p
              and (p.startswith("../") or (REPO / p.split("/")[0]).is_dir() and not p.startswith("."))]
    missing = [p for p in named if not p.startswith(("http://", "https://"))
               and not (path.parent / p).exists() and not (REPO / p).exists()]
    assert not missing, f"{path.relative_to(REPO)} names paths that do not exist: {missing}"
