"""Runs README.md's shell examples against a mesh and checks what they print, so the README cannot
drift from the code (tests/e2e/test_readme_examples.py runs it against the e2e mesh).

How a README writer marks examples:

- A ```sh (or ```bash) block runs, in README order. All the blocks of one `## ` section run in one
  bash with `set -e -o pipefail`, so a variable set in one block (TOKEN) is there in the next; each
  section starts with the variables the sections before it left, as a reader's terminal would.
- ```sh norun: shown, never run. For what a test cannot do (make run, make test, make gen, benches,
  docker, a stream that only Ctrl-C ends) or needs what the test mesh lacks (an Oura account, a
  terminal). Mark it explicitly: the runner runs everything else and never guesses.
- What a command prints, where the README shows it: `# -> ` comment lines right after the command
  (one line of output each), or a ```text (or ```console) block right after the sh block, which is
  what the whole block prints. Compared like doctest with ELLIPSIS and NORMALIZE_WHITESPACE: `...`
  matches anything (so a trimmed output keeps a `...` where it was cut), whitespace next to JSON
  punctuation does not count, other runs of whitespace count as one space; uuids, JWTs, API key
  secrets and timestamps the section's commands do not write themselves are normalised on both
  sides, so a real output can be pasted as it is.
- A command must succeed (exit 0, and for curl an HTTP status below 400), unless the README shows
  what it prints: then an HTTP error is what it shows, and the shown output is the check. (curl
  is a shell function here that adds its own `-o` and `-w`: an example cannot use those.)

Running: cwd is the repository root (so tests/fixtures/... and .venv/bin/... resolve);
`localhost:8080` and `127.0.0.1:8080` become the mesh's Envoy; HEALTHMESH_URL points the CLI at it;
HOME and XDG_CONFIG_HOME are a temporary dir (the CLI's saved login goes there).

By hand, to see what each command prints (for pasting a real output into the README):
    .venv/bin/python -m tests.tools.readme_runner --url http://127.0.0.1:8080 [--section "Try it"]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
RUNNABLE = {"sh", "bash", "shell"}
OUTPUT = {"text", "console"}
FLAGS = {"norun"}
EXPECT = "# ->"
DEFAULT_ADDRESSES = ("localhost:8080", "127.0.0.1:8080")
MARK = "\x1e"  # ASCII record separator: starts and ends a step marker in the output streams


@dataclasses.dataclass
class Command:
    line: int  # README line of its first line
    text: str
    expected: list[str] | None = None  # `# -> ` lines, or the block's ```text output for its last command
    expected_line: int = 0
    block_output: bool = False  # expected is the whole block's output, this being its last command

    @property
    def first_line(self) -> str:
        return self.text.strip().splitlines()[0]


@dataclasses.dataclass
class Block:
    line: int  # README line of the opening fence
    info: str
    body: list[tuple[int, str]]
    norun: bool
    commands: list[Command] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Section:
    title: str
    line: int
    blocks: list[Block] = dataclasses.field(default_factory=list)

    @property
    def runnable(self) -> list[Block]:
        return [b for b in self.blocks if not b.norun]


class ReadmeError(Exception):
    """A README example that is malformed, fails, or prints something else than shown."""


def parse(text: str, path: str = "README.md") -> list[Section]:
    sections = [Section("(top)", 1)]
    lines = text.splitlines()
    i = 0
    last_shell: Block | None = None
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            sections.append(Section(line[3:].strip(), i + 1))
            last_shell = None
        elif line.startswith("```"):
            info = line[3:].strip()
            start = i
            i += 1
            body = []
            while i < len(lines) and not lines[i].startswith("```"):
                body.append((i + 1, lines[i]))
                i += 1
            if i == len(lines):
                raise ReadmeError(f"{path}:{start + 1}: a code block is not closed")
            words = info.split()
            lang = words[0] if words else ""
            if lang in RUNNABLE:
                unknown = set(words[1:]) - FLAGS
                if unknown:
                    raise ReadmeError(f"{path}:{start + 1}: unknown flag {' '.join(sorted(unknown))} "
                                      f"(known: {', '.join(sorted(FLAGS))})")
                block = Block(start + 1, info, body, "norun" in words)
                if not block.norun:  # shown only: it need not even be valid shell (`<device id>`)
                    block.commands = split_commands(body, path)
                sections[-1].blocks.append(block)
                last_shell = block
            elif lang in OUTPUT and last_shell is not None and _only_blank_between(lines, last_shell, start):
                if last_shell.norun:
                    pass  # shown for the reader only
                elif not last_shell.commands:
                    raise ReadmeError(f"{path}:{start + 1}: an output block after a block without commands")
                else:
                    last = last_shell.commands[-1]
                    if last.expected is not None:
                        raise ReadmeError(f"{path}:{start + 1}: the block's last command already shows "
                                          "its output with `# ->`")
                    last.expected, last.expected_line, last.block_output = [t for _, t in body], start + 1, True
                last_shell = None
            else:
                last_shell = None
        i += 1
    titles = [s.title for s in sections if s.runnable]
    for s in sections:
        if s.runnable and titles.count(s.title) > 1:  # a section is run and named by its title
            raise ReadmeError(f"{path}:{s.line}: a second section '{s.title}' with examples to run")
    return sections


def _only_blank_between(lines: list[str], block: Block, start: int) -> bool:
    close = block.body[-1][0] + 1 if block.body else block.line + 1  # README line of the closing fence
    return all(not lines[j].strip() for j in range(close, start))


def split_commands(body: list[tuple[int, str]], path: str) -> list[Command]:
    """A block's lines as whole shell commands (a command may span lines: a backslash, an open quote,
    a `$(`), each with the `# -> ` lines after it."""
    commands: list[Command] = []
    pending: list[tuple[int, str]] = []
    for number, line in body:
        stripped = line.strip()
        if stripped.startswith(EXPECT) and not pending:
            if not commands:
                raise ReadmeError(f"{path}:{number}: `# ->` before any command")
            command = commands[-1]
            if command.expected is None:
                command.expected, command.expected_line = [], number
            command.expected.append(stripped[len(EXPECT):].removeprefix(" "))
            continue
        if not pending and (not stripped or stripped.startswith("#")):
            continue  # a comment or blank line between commands
        pending.append((number, line))
        text = "\n".join(t for _, t in pending)
        if not line.endswith("\\") and _complete(text):
            commands.append(Command(pending[0][0], text))
            pending = []
    if pending:
        raise ReadmeError(f"{path}:{pending[0][0]}: the command is not complete at the end of its block")
    return commands


def _complete(text: str) -> bool:
    """Whether bash reads the text as whole commands; a syntax error other than an early end is
    bash's to report when the block runs."""
    checked = subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True)
    return checked.returncode == 0 or not re.search(r"unexpected (end of file|EOF)", checked.stderr)


# Comparing.

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_JWT = re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+")
_TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
_SECRET = re.compile(r"\b(hm|rt)_[\w-]{6,}")  # an API key's secret (or its shown prefix), a refresh token
_SPACE = re.compile(r"\s+")
_PUNCT_SPACE = re.compile(r"\s*([{}\[\]:,])\s*")


def normalise(text: str, keep: str = "") -> str:
    """Volatile values as placeholders; timestamps that `keep` (the commands that ran) holds stay."""
    text = _SECRET.sub(r"\1_<secret>", text)
    text = _JWT.sub("<jwt>", text)
    text = _UUID.sub("<uuid>", text)
    text = _TIME.sub(lambda m: m.group(0) if m.group(0) in keep else "<time>", text)
    text = _SPACE.sub(" ", text.strip())
    return _PUNCT_SPACE.sub(r"\1", text)


def matches(expected: str, actual: str, keep: str = "") -> bool:
    """JSON shown (balanced, with `...` where trimmed) is compared as JSON, keys in any order: a map's
    order is not fixed. Anything else as text."""
    try:
        shown = _Shown(normalise(expected, keep)).document()
        got = json.loads(actual)
    except (ValueError, IndexError):
        pass
    else:
        return _match_json(shown, got, keep)
    return _match_text(normalise(expected, keep), normalise(actual, keep))


def _match_text(expected: str, actual: str) -> bool:
    pattern = ".*?".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual, re.DOTALL) is not None


class _Any:
    """`...` in place of a value, an object's other members or an array's other items."""


ANY = _Any()


class _Shown:
    """JSON as a README shows it: `...` may stand for a value, for members or items left out, and
    inside a string for any text."""

    def __init__(self, text: str) -> None:
        self.text, self.i = text, 0

    def document(self):
        value = self.value()
        if self.i != len(self.text):
            raise ValueError("text after the JSON")
        return value

    def _peek(self, token: str) -> bool:
        if self.text.startswith(token, self.i):
            self.i += len(token)
            return True
        return False

    def value(self):
        if self._peek("..."):
            return ANY
        if self._peek("{"):
            members, rest = {}, False
            while not self._peek("}"):
                if self._peek("..."):
                    rest = True
                else:
                    key = self.string()
                    if not self._peek(":"):
                        raise ValueError("no colon")
                    members[key] = self.value()
                if not self._peek(","):
                    if not self._peek("}"):
                        raise ValueError("no comma")
                    break
            return ("object", members, rest)
        if self._peek("["):
            items = []
            while not self._peek("]"):
                items.append(self.value())
                if not self._peek(","):
                    if not self._peek("]"):
                        raise ValueError("no comma")
                    break
            return ("array", items)
        if self.text.startswith('"', self.i):
            return ("string", self.string())
        cut = re.compile(r"-?\d+(\.\d*)?(?=\.\.\.)").match(self.text, self.i)  # 69.85...: a number's first digits
        if cut:
            self.i = cut.end() + 3
            return ("digits", cut.group(0))
        found = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null").match(self.text, self.i)
        if not found:
            raise ValueError("not a value")
        self.i = found.end()
        return ("literal", json.loads(found.group(0)))

    def string(self) -> str:
        found = re.compile(r'"(?:[^"\\]|\\.)*"').match(self.text, self.i)
        if not found:
            raise ValueError("not a string")
        self.i = found.end()
        return json.loads(found.group(0))


def _match_json(shown, got, keep: str) -> bool:
    if shown is ANY:
        return True
    kind = shown[0]
    if kind == "object":
        _, members, rest = shown
        if not isinstance(got, dict) or (not rest and set(got) != set(members)):
            return False
        return all(k in got and _match_json(v, got[k], keep) for k, v in members.items())
    if kind == "array":
        items = shown[1]
        if not isinstance(got, list):
            return False
        if ANY not in items:
            return len(items) == len(got) and all(_match_json(s, g, keep) for s, g in zip(items, got))
        position = 0  # the items shown, in their order, with any others around them
        for item in (s for s in items if s is not ANY):
            while position < len(got) and not _match_json(item, got[position], keep):
                position += 1
            if position == len(got):
                return False
            position += 1
        return True
    if kind == "digits":
        return isinstance(got, (int, float)) and not isinstance(got, bool) and repr(got).startswith(shown[1])
    if kind == "string":
        return isinstance(got, str) and _match_text(shown[1], normalise(got, keep))
    value = shown[1]
    if isinstance(value, bool) or value is None or isinstance(got, bool) or got is None:
        return value is got
    return isinstance(got, (int, float)) and not isinstance(got, bool) and float(got) == float(value)


# Running.

_PRELUDE = r"""
__readme_step() { printf '\n\036STEP %s\036\n' "$1"; printf '\n\036STEP %s\036\n' "$1" >&2; __readme_expect=$2; }
# curl fails on an HTTP error unless the README shows what the command prints.
curl() {
  local __readme_body __readme_code __readme_rc=0
  __readme_body=$(mktemp)
  __readme_code=$(command curl "$@" -o "$__readme_body" -w '%{http_code}') || __readme_rc=$?
  cat "$__readme_body"; rm -f "$__readme_body"
  [ "$__readme_rc" -eq 0 ] || return "$__readme_rc"
  if [ "${__readme_code:-0}" -ge 400 ] && [ "$__readme_expect" != 1 ]; then
    echo "curl: HTTP $__readme_code" >&2; return 22
  fi
}
__readme_save() {
  local __readme_v
  for __readme_v in $(compgen -v); do
    case "$__readme_vars0" in *" $__readme_v "*) continue;; esac
    [[ $__readme_v =~ ^(__readme|BASH|FUNCNAME$|PIPESTATUS$|_$) ]] && continue
    declare -p "$__readme_v"
  done > "$README_STATE_OUT"
}
__readme_vars0=" $(compgen -v | tr '\n' ' ') "
trap __readme_save EXIT
[ -f "$README_STATE_IN" ] && source "$README_STATE_IN"
set -e -o pipefail
"""


@dataclasses.dataclass
class StepResult:
    command: Command
    stdout: str
    stderr: str


class Runner:
    """Runs the README's sections in order against one mesh; each section once, on demand."""

    def __init__(self, http_url: str, workdir: Path, readme: Path = README, timeout: float = 300) -> None:
        self.address = http_url.removeprefix("http://").rstrip("/")
        self.http_url = http_url
        self.workdir = workdir
        self.readme = readme
        self.timeout = timeout
        self.sections = parse(readme.read_text(), readme.name)
        self._state = workdir / "state-0.sh"
        self._ran: dict[str, tuple[list[StepResult], str | None]] = {}
        (workdir / "home").mkdir(parents=True, exist_ok=True)

    def run_upto(self, title: str) -> tuple[list[StepResult], str | None]:
        """Runs every section up to this one (those not run yet); returns its steps and its failure."""
        for s in self.sections:
            if s.runnable and s.title not in self._ran:
                self._ran[s.title] = self._run(s)
            if s.title == title:
                return self._ran.get(title, ([], None))
        raise KeyError(title)

    def _substitute(self, text: str) -> str:
        for default in DEFAULT_ADDRESSES:
            text = text.replace(default, self.address)
        return text

    def _run(self, section: Section) -> tuple[list[StepResult], str | None]:
        commands = [c for b in section.runnable for c in b.commands]
        script = [_PRELUDE]
        for index, command in enumerate(commands):
            script.append(f"__readme_step {index} {1 if command.expected is not None else 0}")
            script.append(self._substitute(command.text))
        script.append(f"__readme_step {len(commands)} 0")
        n = len(self._ran) + 1
        path = self.workdir / f"section-{n}.sh"
        path.write_text("\n".join(script) + "\n")
        state_out = self.workdir / f"state-{n}.sh"
        home = self.workdir / "home"
        env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "HEALTHMESH_URL": self.http_url, "README_STATE_IN": str(self._state),
               "README_STATE_OUT": str(state_out)}
        env.pop("HEALTHMESH_TOKEN", None)
        try:
            done = subprocess.run(["bash", str(path)], cwd=REPO, env=env, capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=self.timeout)
            stdout, stderr, rc = done.stdout, done.stderr, done.returncode
        except subprocess.TimeoutExpired as exc:  # what it printed so far names the step it hung in
            stdout, stderr, rc = _text(exc.stdout), _text(exc.stderr), None
        if state_out.exists():  # what the section left, with what it started with, for the next one
            self._state = state_out
        outs, errs = _steps(stdout), _steps(stderr)
        results = [StepResult(c, outs.get(str(i), ""), errs.get(str(i), "")) for i, c in enumerate(commands)]
        reached = max((int(k) for k in outs if k.isdigit()), default=-1)
        failure = None
        if rc != 0 and commands:
            failed = results[min(reached, len(commands) - 1)] if reached >= 0 else results[0]
            why = "timed out" if rc is None else f"exited with {rc}"
            failure = (f"{self.readme.name}:{failed.command.line}: `{failed.command.first_line}` {why}\n"
                       f"stdout:\n{failed.stdout[-3000:]}\nstderr:\n{failed.stderr[-3000:]}"
                       + (f"\nbash:\n{errs.get('', '')[-2000:]}" if errs.get("") else ""))
        return results, failure

    def check(self, title: str) -> list[str]:
        """The problems of a section's examples, each naming its README line; empty when they hold."""
        results, failure = self.run_upto(title)
        problems = [failure] if failure else []
        keep = "\n".join(r.command.text for r in results)
        for r in results:
            c = r.command
            if c.expected is None or (failure and failure.startswith(f"{self.readme.name}:{c.line}:")):
                continue
            if not r.stdout and not r.stderr and failure:
                continue  # not reached
            expected = "\n".join(c.expected)
            if not matches(self._substitute(expected), r.stdout, keep):
                problems.append(
                    f"{self.readme.name}:{c.line}: `{c.first_line}` printed\n{r.stdout.strip()[:3000]}\n"
                    f"but {self.readme.name}:{c.expected_line} shows\n{expected}")
        return problems


def _text(output: bytes | str | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def _steps(stream: str) -> dict[str, str]:
    """The output of each step, by the markers the script writes before each command."""
    parts = re.split(rf"\n?{MARK}STEP (\S+){MARK}\n", stream)
    found = {"": parts[0]}
    for key, text in zip(parts[1::2], parts[2::2]):
        found[key] = text
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run README.md's examples against a running mesh")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="Envoy's address (make run's)")
    parser.add_argument("--section", help="only up to this section's title, and show only it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(args.url, Path(tmp))
        titles = [args.section] if args.section else [s.title for s in runner.sections if s.runnable]
        status = 0
        for title in titles:
            results, _ = runner.run_upto(title)
            print(f"## {title}")
            for r in results:
                print(f"$ {r.command.text}\n{r.stdout.rstrip()}\n")
            problems = runner.check(title)
            for p in problems:
                print(f"FAILED {p}\n", file=sys.stderr)
                status = 1
        return status


if __name__ == "__main__":
    sys.exit(main())
