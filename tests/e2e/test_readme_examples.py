"""README.md's shell examples, run against the e2e mesh and checked against the outputs it shows, so
the README cannot drift from the code. One test per `## ` section with examples to run, in README
order; a section starts with the shell variables the ones before it left (TOKEN from "Try it").
How blocks are marked (```sh norun, `# -> ` outputs, ```text blocks): tests/tools/readme_runner.py.
A failure names the README line of the command and, for an output, of what the README shows.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import MeshProcess
from tests.tools.readme_runner import README, Runner, parse

pytestmark = pytest.mark.e2e

SECTIONS = [s.title for s in parse(README.read_text()) if s.runnable]


@pytest.fixture(scope="module")
def readme(mesh: MeshProcess, tmp_path_factory) -> Runner:
    return Runner(mesh.http, tmp_path_factory.mktemp("readme"))


@pytest.mark.parametrize("title", SECTIONS)
def test_readme_examples_print_what_the_readme_shows(readme: Runner, title: str) -> None:
    problems = readme.check(title)
    assert not problems, "\n\n".join(problems)
