"""Writing the ``[audit]`` section back to the dataset file.

The Audit page edits the checks and saves them here. Only the ``[audit]``
section is replaced: tomlkit keeps every other section, comment and blank
line of the file as the user wrote them. Comments inside the old
``[audit]`` section are not kept, because the section is rebuilt from the
edited spec.

The new text is validated as a whole dataset file before it replaces the old
one. The replacement is one rename, so a reader (the dashboard, a CI run of
``python -m analysis audit``) reads either the old file or the new one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError

from analysis.audit_spec import RATIO_TO_REFERENCE, AuditCheck, AuditSpec
from analysis.config import parse_config_text
from analysis.errors import InputError
from analysis.file_writes import replace_file
from analysis.i18n import _


def file_digest(path: Path) -> str:
    """Return the SHA-256 of the file's bytes, to notice a change made by someone else before saving over it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_table(check: AuditCheck) -> dict[str, object]:
    """Return one check as the keys of its ``[[audit.checks]]`` table, in the order the README documents them."""
    table: dict[str, object] = {"name": check.name, "metric": check.metric}
    optional = {"class": check.class_name, "attribute": check.attribute, "slice": check.slice}
    table.update({key: value for key, value in optional.items() if value is not None})
    if check.rule == RATIO_TO_REFERENCE:
        low, high = check.threshold
        table[check.rule] = [low, high]
    else:
        table[check.rule] = check.threshold
    if check.reference is not None:
        table["reference"] = check.reference
    table["severity"] = check.severity
    return table


def audit_table(spec: AuditSpec) -> tomlkit.items.Table:
    """Return ``spec`` as the ``[audit]`` table, leaving out keys that hold their default."""
    table = tomlkit.table()
    if spec.keep:
        table["keep"] = list(spec.keep)
    if spec.exclude:
        table["exclude"] = list(spec.exclude)
    if spec.min_support is not None:
        table["min_support"] = spec.min_support
    checks = tomlkit.aot()
    for check in spec.checks:
        checks.append(tomlkit.item(check_table(check)))
    if spec.checks:
        table["checks"] = checks
    return table


def audit_section_text(spec: AuditSpec) -> str:
    """Return the ``[audit]`` section alone as TOML text, for a user to copy into a dataset file."""
    document = tomlkit.document()
    document["audit"] = audit_table(spec)
    return tomlkit.dumps(document)


def save_audit_section(path: Path, spec: AuditSpec, expected_digest: str) -> None:
    """Replace the ``[audit]`` section of the dataset file at ``path`` with ``spec``, keeping the rest of the file.

    ``expected_digest`` is :func:`file_digest` of the file the spec was edited
    from. Raises :class:`~analysis.InputError` when the file changed since then
    (another edit would be lost) or when it cannot be read, parsed or written,
    and :class:`~analysis.ConfigError` when the new file would not load.
    """
    try:
        content = path.read_bytes()
    except OSError as error:
        raise InputError(
            _("The dataset file {file} could not be read: {reason}.", file=path, reason=error.strerror or error),
            _("Check that the file exists and that you may read it."),
        ) from error
    if hashlib.sha256(content).hexdigest() != expected_digest:
        raise InputError(
            _("The dataset file {file} changed after this page read it, so the edited checks were not saved over it.", file=path),
            _("Copy the edited [audit] section from the page, reload the page to read the new file, and apply your edits again."),
        )
    try:
        document = tomlkit.parse(content.decode("utf-8-sig"))
    except (TOMLKitError, UnicodeDecodeError) as error:
        raise InputError(
            _("The dataset file {file} is not valid UTF-8 TOML: {reason}.", file=path, reason=error),
            _("Fix the file by hand, then save the checks again."),
        ) from error

    if spec.checks or spec.keep or spec.exclude or spec.min_support is not None:
        document["audit"] = audit_table(spec)
    elif "audit" in document:
        del document["audit"]
    new_text = tomlkit.dumps(document)

    # Checked as the file it replaces, so relative file paths resolve as they will after the rename.
    parse_config_text(new_text, path)

    try:
        replace_file(path, lambda temporary: temporary.write_text(new_text, encoding="utf-8"))
    except OSError as error:
        raise InputError(
            _("The dataset file {file} could not be written: {reason}.", file=path, reason=error.strerror or error),
            _("Check that you may write to its folder, or copy the edited [audit] section from the page into the file by hand."),
        ) from error
