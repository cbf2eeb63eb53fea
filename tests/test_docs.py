"""README.md and docs/ stay true: links resolve, documented commands exist, the cheap ones run, the README's shape.

Every command in a fenced bash/sh/console block is checked against the code without running it: `asr` and
`dvc` command lines against their own argument parsers, Hydra overrides (of a stage or of `dvc exp run -S`)
by composing conf/, modules by finding them, pip extras in pyproject.toml, pytest markers and test names in
their files. Commands on an explicit allow-list of cheap, read-only prefixes (help texts, `--cfg job`
compositions, `dvc status`) are also run for real, each in its own process with a timeout, and must exit 0.
"""

import contextlib
import fnmatch
import functools
import importlib.util
import io
import os
import re
import shlex
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent  # the virtualenv's bin/: asr, dvc, lint-imports
README_MAX_LINES = 220
README_SECTIONS = ["Two commands", "What you get", "Everyday commands", "Where to go next"]

# Commands that are cheap and change nothing: run for real. A token may be a glob (`stages.*`).
RUN_FOR_REAL = (
    ("asr", "--help"),
    ("asr", "*", "--help"),
    ("python", "-m", "stages.*", "--help"),
    ("python", "-m", "stages.*", "--cfg", "job"),  # prints the composed config; trains nothing
    ("python", "-m", "bench", "--help"),
    ("dvc", "status"),
    ("dvc", "metrics", "show"),
    ("dvc", "params", "diff"),
    ("dvc", "dag"),
)
RUN_TIMEOUT_SECONDS = 120
# Programs checked only for being what they are (system tools in the set-up command and examples).
PLAIN_PROGRAMS = {"head"}
# Sweeper and launcher options and the plugin each needs (pip install -e ".[sweep]").
HYDRA_PLUGINS = {
    "hydra/launcher=asr_joblib": "hydra_plugins.hydra_joblib_launcher",
    "hydra/launcher=asr_slurm": "hydra_plugins.hydra_submitit_launcher",
    "hydra/launcher=asr_submitit_local": "hydra_plugins.hydra_submitit_launcher",
    "hydra/sweeper=asr_optuna": "hydra_plugins.hydra_optuna_sweeper",
}


# --- Markdown -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    lines: tuple[str, ...]


def split_markdown(text: str) -> tuple[list[tuple[int, str]], list[tuple[int, str, list[str]]]]:
    """(prose lines as (number, line), fenced blocks as (number of the fence, language, lines))."""
    prose, blocks, block = [], [], None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            if block is None:
                block = (number, line[3:].strip(), [])
            else:
                blocks.append(block)
                block = None
        elif block is not None:
            block[2].append(line)
        else:
            prose.append((number, line))
    assert block is None, f"a fenced block opened at line {block[0]} is never closed"
    return prose, blocks


def headings(text: str) -> list[tuple[int, str]]:
    """(level, title) of each ATX heading outside fenced blocks."""
    found = []
    for _, line in split_markdown(text)[0]:
        match = re.match(r"(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if match:
            found.append((len(match[1]), match[2]))
    return found


def github_slug(title: str) -> str:
    """The anchor GitHub gives a heading: rendered text, lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)  # a link renders as its text
    text = text.replace("`", "").replace("*", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, title in headings(page.read_text(encoding="utf-8")):
        slug = github_slug(title)
        found.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return found


LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def links(page: Path) -> list[tuple[int, str]]:
    """(line, target) of every inline link or image outside code."""
    found = []
    for number, line in split_markdown(page.read_text(encoding="utf-8"))[0]:
        line = re.sub(r"`[^`]*`", "", line)  # code spans hold no links
        found += [(number, target) for target in LINK.findall(line)]
    return found


def section(text: str, title: str) -> str:
    """The text under a `## title` heading, up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert match, f"no '## {title}' section"
    return match[1]


# --- Commands -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    where: str  # page:line
    argv: tuple[str, ...]

    def __str__(self):
        return shlex.join(self.argv)


SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
OPERATORS = {"&&", "||", ";", "|", "&"}
REDIRECTIONS = {">", ">>", "<", "2>", "&>"}


def logical_lines(lang: str, lines) -> list[tuple[int, str]]:
    """(offset in the block, command line): continuation lines joined; in console blocks only `$ ` lines."""
    found, pending, start = [], "", 0
    for offset, line in enumerate(lines, 1):
        if not pending:
            if lang == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            start = offset
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        found.append((start, pending + line))
        pending = ""
    return found


def simple_commands(line: str) -> list[list[str]]:
    """The simple commands of a shell line: split at && || ; |, redirections and env assignments dropped."""
    line = re.sub(r"<([A-Za-z][\w ]*)>", lambda m: m[1].upper().replace(" ", "_"), line)  # <name> placeholders
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands, current, tokens = [], [], iter(lexer)
    for token in tokens:
        if token in OPERATORS:
            commands.append(current)
            current = []
        elif token in REDIRECTIONS:
            next(tokens, None)
        elif not current and re.match(r"[A-Za-z_]\w*=", token):
            continue  # VAR=value before a command
        else:
            current.append(token)
    commands.append(current)
    return [c for c in commands if c and c[0] not in (".", "source")]  # activating the venv: nothing to check


def commands_in_text(text: str) -> list[list[str]]:
    """Every simple command of the shell blocks of a Markdown text."""
    return [argv for _, lang, lines in split_markdown(text)[1] if lang in SHELL_LANGUAGES
            for _, line in logical_lines(lang, lines) for argv in simple_commands(line)]


def documented_commands(pages=PAGES) -> list[Command]:
    found = []
    for page in pages:
        for fence, lang, lines in split_markdown(page.read_text(encoding="utf-8"))[1]:
            if lang not in SHELL_LANGUAGES:
                continue
            for offset, line in logical_lines(lang, lines):
                where = f"{page.relative_to(REPO)}:{fence + offset}"
                found += [Command(where, tuple(argv)) for argv in simple_commands(line)]
    return found


def runs_for_real(argv) -> bool:
    return any(len(argv) >= len(prefix) and all(fnmatch.fnmatchcase(a, p) for a, p in zip(argv, prefix))
               for prefix in RUN_FOR_REAL)


# --- Checking a command against the code, without running it -------------------------------------------------


@contextlib.contextmanager
def quiet():
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        yield err


def check_asr(args) -> str | None:
    from asr.app.cli import build_parser

    with quiet() as err:
        try:
            build_parser().parse_args(args)
        except SystemExit as exc:
            if exc.code:
                return f"asr refuses it: {err.getvalue().strip().splitlines()[-1]}"
    return None


@functools.cache
def dvc_parser():
    from dvc.cli.parser import get_main_parser

    return get_main_parser()


def check_dvc(args) -> str | None:
    with quiet() as err:
        try:
            parsed = dvc_parser().parse_args(args)
        except (Exception, SystemExit) as exc:
            lines = err.getvalue().strip().splitlines()
            return f"dvc refuses it: {lines[-1] if lines else exc}"
    if args[:2] in (["exp", "run"], ["experiments", "run"]) and parsed.set_param:
        return check_overrides(list(parsed.set_param))
    return None


def first_job(overrides) -> list[str]:
    """The first job of a sweep (`model.units=32,64` -> `model.units=32`); plain overrides as they are."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    first = []
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        if override.is_sweep_override():
            first.append(f"{override.get_key_element()}={next(iter(override.sweep_string_iterator()))}")
        else:
            first.append(override.input_line)
    return first


def check_overrides(overrides) -> str | None:
    """None if conf/ composes with these overrides (each sweep's first job), else Hydra's reason."""
    for option, plugin in HYDRA_PLUGINS.items():
        if option in overrides and importlib.util.find_spec(plugin) is None:
            pytest.skip(f'{option} needs pip install -e ".[sweep]"')
    try:
        return composition_problem(tuple(first_job(overrides)))
    except Exception as exc:  # a sweep Hydra cannot parse
        return f"Hydra cannot parse {list(overrides)}: {str(exc).splitlines()[0]}"


@functools.cache
def composition_problem(overrides: tuple[str, ...]) -> str | None:
    from hydra import compose, initialize_config_dir

    from stages.entry import CONF_DIR

    try:
        with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
            compose(config_name="config", overrides=list(overrides), return_hydra_config=True)
    except Exception as exc:
        return f"conf/ does not compose with {list(overrides)}: {str(exc).splitlines()[0]}"
    return None


def check_stage(args) -> str | None:
    if "--help" in args or "-h" in args:
        return None
    if args[:1] == ["--params"]:
        return None if len(args) == 2 and (REPO / args[1]).is_file() else f"--params needs an existing file: {args}"
    args = list(args)
    if args[:2] == ["--cfg", "job"]:
        args = args[2:]
    return check_overrides([a for a in args if a not in ("-m", "--multirun")])


def check_python(args) -> str | None:
    if args[:2] == ["-m", "venv"]:
        return None
    if args[:1] != ["-m"] or len(args) < 2:
        return f"only `python -m MODULE` is documented here, not {args}"
    module, rest = args[1], args[2:]
    if importlib.util.find_spec(module) is None:
        return f"no module {module}"
    if module.startswith("stages."):
        return check_stage(rest)
    if module in ("bench", "bench.onnx"):
        from bench.__main__ import parse_args

        with quiet() as err:
            try:
                parse_args(rest)
            except SystemExit as exc:
                if exc.code:
                    return f"python -m {module} refuses it: {err.getvalue().strip().splitlines()[-1]}"
    if module == "asr.corpus.engines.kokoro":
        from asr.corpus.engines import kokoro

        if len(rest) != 1 or Path(rest[0]).name != kokoro.VOICES_SDIST:
            return f"the voices installer takes the path of {kokoro.VOICES_SDIST}, got {rest}"
    return None


def check_pip(args) -> str | None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    if args[:2] == ["install", "-e"]:
        match = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", args[2] if len(args) > 2 else "")
        if not match:
            return f"pip install -e of something other than this project: {args}"
        unknown = set((match[1] or "").split(",")) - {""} - set(project["optional-dependencies"])
        return f"no such extra in pyproject.toml: {sorted(unknown)}" if unknown else None
    if args[:1] == ["download"]:
        from asr.corpus.engines import kokoro

        pins = [a for a in args if a.startswith("kokoro==")]
        if [f"kokoro-{pin.split('==')[1]}.tar.gz" for pin in pins] != [kokoro.VOICES_SDIST]:
            return f"the kokoro sdist to download is {kokoro.VOICES_SDIST}, got {pins}"
        return None
    return f"no check for pip {args[:1]}"


def check_pytest(args) -> str | None:
    markers = [m.split(":")[0] for m in tomllib.loads((REPO / "pyproject.toml").read_text())
               ["tool"]["pytest"]["ini_options"]["markers"]]
    args = iter(args)
    for arg in args:
        if arg == "-m":
            unknown = set(re.findall(r"\w+", next(args, ""))) - {"and", "or", "not"} - set(markers)
            if unknown:
                return f"no such pytest marker: {sorted(unknown)}"
        elif arg in ("-k", "-p"):
            next(args, None)
        elif not arg.startswith("-"):
            path, *names = arg.split("::")
            if not (REPO / path).exists():
                return f"no such test file {path}"
            source = (REPO / path).read_text() if names else ""
            missing = [n for n in names
                       if not re.search(rf"^\s*(def|class) {re.escape(n.split('[')[0])}\b", source, re.M)]
            if missing:
                return f"no test {missing} in {path}"
    return None


def check_apt_get(args) -> str | None:
    if args[:1] == ["update"]:
        return None
    packages = {a for a in args[1:] if not a.startswith("-")}
    ci = re.search(r'^DEBIAN_PACKAGES="([^"]*)"', (REPO / ".ci" / "run").read_text(), re.M)
    missing = set(ci[1].split()) - packages if ci else set()
    return f"the corpus's Debian engines need {sorted(missing)} too (.ci/run)" if missing else None


CHECKS = {
    "asr": check_asr, "dvc": check_dvc, "python": check_python, "python3": check_python, "pip": check_pip,
    "pytest": check_pytest, "apt-get": check_apt_get,
    "lint-imports": lambda args: None if (BIN / "lint-imports").exists() else "lint-imports is not installed",
}


def check_command(argv) -> str | None:
    """None if the command is one the code still has, else what is wrong with it."""
    program, args = argv[0], list(argv[1:])
    if program in PLAIN_PROGRAMS:
        return None
    if program not in CHECKS:
        return f"no check for the program {program!r}: add one to tests/test_docs.py"
    return CHECKS[program](args)


def run(argv) -> subprocess.CompletedProcess:
    program = sys.executable if argv[0] == "python" else str(BIN / argv[0]) if (BIN / argv[0]).exists() else argv[0]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        return subprocess.run([program, *argv[1:]], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", f"timed out after {RUN_TIMEOUT_SECONDS} s")


COMMANDS = documented_commands()
TO_RUN = sorted({c.argv: c for c in COMMANDS if runs_for_real(c.argv)}.values(), key=lambda c: c.where)


# --- Tests ----------------------------------------------------------------------------------------------------


def broken_links(page: Path) -> list[str]:
    broken = []
    for line, target in links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"line {line}: {target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"line {line}: {target}: no heading with that anchor in {file.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page):
    broken = broken_links(page)
    assert not broken, "\n".join(broken)


def test_a_broken_link_or_anchor_is_found(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## Several GPUs (tf.distribute)\n\n## Notes\n\n## Notes\n")
    page = tmp_path / "page.md"
    page.write_text("# Page\n[ok](other.md#several-gpus-tfdistribute) [dup](other.md#notes-1) [self](#page)\n"
                    "[gone](missing.md) [no anchor](other.md#several-gpus) `[code](missing.md)`\n"
                    "[web](https://example.com/x.md)\n```\n[fenced](missing.md)\n```\n")
    assert broken_links(page) == ["line 3: missing.md: no such file",
                                  "line 3: other.md#several-gpus: no heading with that anchor in other.md"]


def test_pages_link_each_other():
    assert len(links(README)) >= len(PAGES) - 1
    linked = {(README.parent / t.partition("#")[0]).resolve() for _, t in links(README)}
    assert set(PAGES[1:]) <= linked, "every docs/ page is reachable from the README"


def test_github_slugs():
    assert github_slug("Several GPUs or machines (tf.distribute)") == "several-gpus-or-machines-tfdistribute"
    assert github_slug("Using a trained model: `asr transcribe`") == "using-a-trained-model-asr-transcribe"
    assert github_slug("Export: ONNX and LiteRT, and transcription without TensorFlow") == \
        "export-onnx-and-litert-and-transcription-without-tensorflow"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: f"{c.where} {c}"[:120])
def test_documented_command_exists_in_the_code(command):
    problem = check_command(command.argv)
    assert problem is None, f"{command.where}: `{command}`: {problem}"


@pytest.fixture(scope="module")
def ran():
    """The result of each command in TO_RUN, run side by side, as many at once as there are cores."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip((c.argv for c in TO_RUN), pool.map(lambda c: run(c.argv), TO_RUN)))


@pytest.mark.parametrize("command", TO_RUN, ids=lambda c: str(c))
def test_cheap_documented_command_runs(command, ran):
    result = ran[command.argv]
    if result.returncode and command.argv[0] == "dvc" and "lock" in result.stderr.lower():
        pytest.skip(f"another DVC process holds the repository lock: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, f"{command.where}: `{command}` exited {result.returncode}:\n{result.stderr[-2000:]}"


def test_the_docs_show_cheap_commands_of_each_kind():
    ran = {str(c) for c in TO_RUN}
    for expected in ("asr --help", "asr transcribe --help", "python -m stages.train --help", "python -m bench --help",
                     "dvc status"):
        assert expected in ran
    assert any(c.startswith("python -m stages.train --cfg job ") for c in ran)


def test_a_command_that_no_longer_exists_fails_when_run():
    assert run(["asr", "no-such-command", "--help"]).returncode != 0
    unknown_key = run(["python", "-m", "stages.train", "--cfg", "job", "model.unitz=3"])
    assert unknown_key.returncode != 0 and "unitz" in unknown_key.stderr


@pytest.mark.parametrize("line", [
    "asr transcribe --no-such-flag talk.wav",
    "asr transcribe --format doc talk.wav",
    "asr transcribe --raw-rate 1 phone.raw",
    "asr evaluate",
    "dvc exp shoe",
    "dvc queue start --no-such-flag",
    "dvc exp run -S model.unitz=64",
    "dvc exp run -S model=nope",
    "python -m stages.nope --help",
    "python -m stages.train -m model.unitz=32,64",
    "python -m bench --no-such-flag",
    "pip install -e '.[no-such-extra]'",
    "pip download --no-deps --no-binary :all: kokoro==0.9.3 -d /tmp/kokoro",
    "pytest -m 'not sloow'",
    "pytest tests/test_docs.py::test_that_does_not_exist",
    "apt-get install -y flite python3-venv",
    "make all",
])
def test_the_check_catches_what_the_code_no_longer_has(line):
    (argv,) = simple_commands(line)
    assert check_command(argv) is not None


def test_commands_are_read_from_shell_blocks_as_a_shell_would_split_them():
    text = "```bash\nA=1 asr transcribe x.wav > out.txt && dvc exp apply <name> # a comment\n" \
           "python -m stages.train \\\n  model.units=64\n```\n```console\n$ asr --help\nusage: asr\n```\n"
    argvs = commands_in_text(text)
    assert argvs == [["asr", "transcribe", "x.wav"], ["dvc", "exp", "apply", "NAME"],
                     ["python", "-m", "stages.train", "model.units=64"], ["asr", "--help"]]
    assert not runs_for_real(argvs[0]) and runs_for_real(argvs[3])
    assert not runs_for_real(["dvc", "repro"]) and not runs_for_real(["python", "-m", "stages.train", "model.units=8"])


def test_readme_is_short_and_its_sections_come_in_order():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES
    assert [title for level, title in headings(text) if level == 2] == README_SECTIONS
    intro = text.split("\n## ", 1)[0]
    assert intro.startswith("# ") and "pipeline" in intro
    assert any("prepare" in "\n".join(lines) and "evaluate" in "\n".join(lines)
               for _, lang, lines in split_markdown(intro)[1]), "the pipeline picture is in the introduction"


def test_readme_has_two_commands_the_first_for_the_default_pipeline_only():
    blocks = split_markdown(section(README.read_text(encoding="utf-8"), "Two commands"))[1]
    lines = [line for _, lang, block in blocks if lang in SHELL_LANGUAGES
             for _, line in logical_lines(lang, block) if not line.lstrip().startswith("#") and line.strip()]
    assert len(lines) == 2
    setup, tests = lines
    assert setup.endswith("dvc repro") and "kokoro" not in setup.lower()
    assert ["pip", "install", "-e", "."] in simple_commands(setup), "the pipeline needs no extras"
    assert simple_commands(tests)[-1][0] == "pytest"


def test_readme_shows_the_results_and_the_everyday_commands():
    text = README.read_text(encoding="utf-8")
    results = section(text, "What you get")
    table = [line for line in results.splitlines() if line.startswith("|")]
    assert any("Piper" in row for row in table[2:]), "a result row for the held-out engine"
    for caveat in ("Piper is held out", "test sets are small", "synthetic"):
        assert caveat in results
    everyday = {shlex.join(argv) for argv in commands_in_text(section(text, "Everyday commands"))}
    for prefix in ("dvc exp run -S", "dvc exp show", "dvc exp run --queue", "python -m stages.train -m",
                   "asr transcribe", "asr evaluate", "asr export"):
        assert any(c.startswith(prefix) for c in everyday), prefix
