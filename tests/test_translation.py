"""Every user-facing string passes through the translation functions.

A pseudo-translation wraps each message in ⟦ ⟧. Any line of CLI output that
is neither wrapped nor pure table data was written without ``_()``.
"""

from __future__ import annotations

import ast
import gettext
import json
import re
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.i18n import _, ngettext, using

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = REPO_ROOT / "analysis"
SAMPLE_DATA = REPO_ROOT / "sample_data"

OPEN, CLOSE = "⟦", "⟧"
SEPARATOR_LINE = re.compile(r"^[- ]+$")


class Bracketed(gettext.NullTranslations):
    """Pseudo-translation that marks each translated message."""

    def gettext(self, message: str) -> str:
        return f"{OPEN}{message}{CLOSE}"

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return f"{OPEN}{singular if n == 1 else plural}{CLOSE}"


def run_bracketed(capsys, argv: list[str]) -> tuple[int, str, str]:
    with using(Bracketed()):
        code = main(["summary", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def untranslated_lines(text: str) -> list[str]:
    """Return the lines that are neither wrapped messages nor rows of a table.

    A table is a wrapped header line and a line of dashes, followed by data
    rows up to the next blank line. Data rows need not contain a message.
    """
    offending = []
    in_table = False
    for line in text.splitlines():
        if not line.strip():
            in_table = False
        elif SEPARATOR_LINE.match(line):
            in_table = True
        elif OPEN not in line and not in_table:
            offending.append(line)
    return offending


def test_pseudo_translation_installed():
    with using(Bracketed()):
        assert _("Overall") == "⟦Overall⟧"
        assert ngettext("{count} error", "{count} errors", 2) == "⟦2 errors⟧"
    assert _("Overall") == "Overall"


@pytest.mark.parametrize("folder", ["speech_commands", "digits", "screening", "diabetes_regression"])
def test_text_output_translated(capsys, folder):
    code, out, err = run_bracketed(capsys, ["--config", str(SAMPLE_DATA / folder)])

    assert code == 0, err
    assert out.count(OPEN) > 10
    assert untranslated_lines(out) == []


def test_text_warnings_translated(tmp_path, capsys):
    (tmp_path / "p.csv").write_text("id,label,prediction\n1,a,a\n2,b,a\n3,a,b\n4,,b\n5,a,a\n", encoding="utf-8")
    (tmp_path / "m.csv").write_text("id,group\n1,x\n2,y\n4,x\n5,y\n9,z\n", encoding="utf-8")

    code, out, err = run_bracketed(capsys, ["--predictions", str(tmp_path / "p.csv"), "--metadata", str(tmp_path / "m.csv")])

    assert code == 0, err
    warnings = [line for line in out.splitlines() if "warning: " in line]
    assert len(warnings) >= 3
    for line in warnings:
        assert line.startswith("⟦  warning: ⟦"), line
    assert untranslated_lines(out) == []


def test_json_messages_translated(tmp_path, capsys):
    (tmp_path / "p.csv").write_text("id,label,prediction\n1,a,a\n2,a,b\n3,a,a\n4,,a\n", encoding="utf-8")

    code, out, err = run_bracketed(capsys, ["--predictions", str(tmp_path / "p.csv"), "--format", "json"])

    assert code == 0, err
    summary = json.loads(out)
    messages = [warning["message"] for warning in summary["load_warnings"]]
    messages += [warning["message"] for warning in summary["imbalance"]["warnings"]]
    messages += list(summary["notes"].values())
    assert len(messages) >= 3
    for message in messages:
        assert message.startswith(OPEN), message
        assert message.endswith(CLOSE), message


ERROR_LINE = re.compile(r"^⟦error: ⟦.+⟧ ⟦.+⟧⟧$")


@pytest.mark.parametrize(
    ("files", "argv"),
    [
        ({}, ["--predictions", "{dir}/nowhere.csv"]),
        ({"p.csv": "id,label,prediction\n1,a,a\n1,b,b\n"}, ["--predictions", "{dir}/p.csv"]),
        ({"p.csv": "key,label,prediction\n1,a,a\n"}, ["--predictions", "{dir}/p.csv"]),
        ({"p.csv": "id,label,prediction\n"}, ["--predictions", "{dir}/p.csv"]),
        ({"p.parquet": "not parquet"}, ["--predictions", "{dir}/p.parquet"]),
        ({"p.csv": "id,label,prediction\n1,a,a\n", "m.csv": "id,g\n2,x\n"}, ["--predictions", "{dir}/p.csv", "--metadata", "{dir}/m.csv"]),
        ({"dataset.toml": "schema = 2\n"}, ["--config", "{dir}"]),
        ({"dataset.toml": 'schema = 1\n[files]\npredictions = 3\n'}, ["--config", "{dir}"]),
        ({}, []),
    ],
    ids=["missing_file", "duplicate_ids", "missing_column", "header_only", "unreadable", "no_match", "schema", "type", "no_input"],
)
def test_error_message_translated(tmp_path, capsys, files, argv):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    arguments = [argument.replace("{dir}", str(tmp_path)) for argument in argv]

    code, out, err = run_bracketed(capsys, arguments)

    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert ERROR_LINE.match(lines[0]), lines[0]


def test_lang_option_keeps_caller_catalog(tmp_path, capsys):
    (tmp_path / "p.csv").write_text("id,label,prediction\n1,a,a\n2,b,a\n", encoding="utf-8")

    with using(Bracketed()):
        code = main(["summary", "--predictions", str(tmp_path / "p.csv"), "--lang", "en"])
        after = _("Overall")
    captured = capsys.readouterr()

    assert code == 0
    assert OPEN not in captured.out
    assert after == "⟦Overall⟧"


# Source scan: messages of user-facing errors must be translated.

ERROR_TYPES = {"AnalysisError", "InputError", "ConfigError"}
TRANSLATORS = {"_", "ngettext"}


def called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def is_plain_text(node: ast.AST) -> bool:
    """True for a string literal, an f-string, or text built with + or % or .format()."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return is_plain_text(node.left) or is_plain_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return is_plain_text(node.func.value)
    return False


def is_built_text(node: ast.AST) -> bool:
    """True for text assembled at run time rather than written as one literal."""
    return is_plain_text(node) and not isinstance(node, ast.Constant)


def message_arguments(call: ast.Call) -> list[ast.AST]:
    """Return the message and hint arguments of an error constructor call."""
    arguments = list(call.args[:2])
    arguments += [keyword.value for keyword in call.keywords if keyword.arg in ("message", "hint")]
    return arguments


def untranslated_errors(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        name = called_name(node)
        if name in ERROR_TYPES:
            for argument in message_arguments(node):
                if is_plain_text(argument):
                    found.append(f"{filename}:{argument.lineno}: {name} message not wrapped in _()")
        elif name == "Notice" and len(node.args) >= 2 and is_plain_text(node.args[1]):
            found.append(f"{filename}:{node.lineno}: Notice message not wrapped in _()")
        elif name in TRANSLATORS and node.args and is_built_text(node.args[0]):
            # A message id built at run time never matches a catalog entry.
            found.append(f"{filename}:{node.lineno}: {name}() called with a computed message id")
    return found


def test_scan_finds_plain_messages():
    source = "\n".join(
        [
            "raise InputError('plain text')",
            "raise ConfigError(f'file {path}', _('hint'))",
            "raise errors.InputError(_('fine'), 'plain hint')",
            "raise InputError(_('fine'), hint='x' + name)",
            "x = _(f'built {value}')",
            "ok = InputError(_('fine {x}', x=1), _('fine'))",
            "ok = _(SOME_CONSTANT_MARKED_WITH_N_)",
        ]
    )

    found = untranslated_errors(source, "example.py")

    assert [line.split(":")[1] for line in found] == ["1", "2", "3", "4", "5"]


def test_analysis_errors_are_translated():
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        found += untranslated_errors(path.read_text(encoding="utf-8"), path.name)

    assert found == []
