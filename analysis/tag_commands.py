"""Command-line access to the dashboard's workspace: tag edits and the tags export.

``tag`` edits tags in the workspace exactly as the dashboard does (one
transaction per edit, with history and undo), so a script or a second
terminal can tag examples while the dashboard runs. ``export-tags`` writes
the current tags in the long (id, tag) form. :func:`open_with_workspace`
gives the other commands the dataset and HLP values as the dashboard shows
them with ``--workspace``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from analysis.config import DatasetConfig
from analysis.dataset import load_dataset
from analysis.engine import ENGINE_DUCKDB
from analysis.errors import AnalysisError, ConfigError, InputError
from analysis.i18n import _, ngettext
from analysis.model import Dataset
from analysis.tag_export import export_tags
from analysis.tag_overlay import apply_tag_edits, known_example_ids
from analysis.workspace import DEFAULT_WORKSPACE_NAME, WORKSPACE_VARIABLE, Edit, Workspace

EXIT_OK = 0
EXIT_BAD_INPUT = 2

# Ids shown in a message about ids that are not examples of the dataset.
_SHOWN_IDS = 5


def add_commands(commands, add_input_options: Callable, add_output_options: Callable) -> None:
    """Add the ``tag`` and ``export-tags`` commands to the command parsers ``commands``."""
    tag = commands.add_parser("tag", help=_("add, remove, rename or delete tags in the dashboard's workspace"))
    add_input_options(tag)
    action = tag.add_argument_group(_("edit (exactly one)")).add_mutually_exclusive_group(required=True)
    action.add_argument("--add", metavar="TAG", help=_("add TAG to the examples given by --ids or --ids-file; a new name creates the tag"))
    action.add_argument("--remove", metavar="TAG", help=_("remove TAG from the examples given by --ids or --ids-file"))
    action.add_argument("--rename", nargs=2, metavar=("OLD", "NEW"), help=_("show the tag OLD as NEW (a file tag keeps its file)"))
    action.add_argument("--delete", metavar="TAG", help=_("delete TAG here (a file tag is hidden, its file kept)"))
    action.add_argument("--undo", action="store_true", help=_("undo the newest edit of this dataset"))
    action.add_argument("--history", action="store_true", help=_("list the last edits of this dataset"))
    tag.add_argument("--ids", nargs="+", default=[], metavar="ID", help=_("example ids to tag"))
    tag.add_argument("--ids-file", type=Path, help=_("text file with one example id per line"))
    tag.add_argument("--user", help=_("name recorded as the author of the edit (default: the OS user)"))
    _add_workspace_option(tag)
    add_output_options(tag)

    export = commands.add_parser("export-tags", help=_("write the current tags, one (id, tag) row per tag, as CSV or Parquet"))
    add_input_options(export)
    export.add_argument("--out", type=Path, required=True, help=_("output file ending in .csv or .parquet"))
    _add_workspace_option(export)
    add_output_options(export)


def _add_workspace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        type=Path,
        help=_("workspace folder of the dashboard (default: ERROR_ANALYSIS_WORKSPACE if set, else .workspace beside the dataset folder, as the dashboard uses)"),
    )


def default_workspace_folder(config: DatasetConfig, environment: Mapping[str, str] | None = None) -> Path:
    """Return the workspace folder when --workspace is not given.

    That is the folder named by ``ERROR_ANALYSIS_WORKSPACE``, as for the
    dashboard, else ``.workspace`` in the dataset folder's parent: the
    dashboard's folder when its data root is that parent.
    """
    dataset_key(config, "--workspace")
    environment = os.environ if environment is None else environment
    if environment.get(WORKSPACE_VARIABLE):
        return Path(environment[WORKSPACE_VARIABLE])
    return config.source.parent.parent / DEFAULT_WORKSPACE_NAME


def dataset_key(config: DatasetConfig, option: str) -> str:
    """Return the name the workspace stores a dataset's edits under: the name of the folder of its dataset file."""
    if config.source is None:
        raise ConfigError(
            _("{option} needs --config: workspace edits are stored per dataset folder.", option=option),
            _("Pass --config with the dataset folder the dashboard shows."),
        )
    return config.source.parent.name


def open_with_workspace(config: DatasetConfig, folder: Path | None) -> tuple[Dataset, dict[str, float] | None]:
    """Open the dataset with the workspace's tag edits and typed HLP values, as the dashboard shows it.

    Without a workspace folder, return the dataset of the files and None.
    Workspace edits are laid over the data on DuckDB only.
    """
    if folder is not None and config.engine.kind != ENGINE_DUCKDB:
        raise ConfigError(
            _("--workspace works with the DuckDB engine only, and this command runs on {engine}.", engine=config.engine.description),
            _("Leave out --workspace to analyse the files as they are on Spark, or use --engine duckdb."),
        )
    dataset = load_dataset(config)
    if folder is None:
        return dataset, None
    key = dataset_key(config, "--workspace")
    if not folder.is_dir():
        raise ConfigError(
            _("The workspace folder {folder} does not exist.", folder=folder),
            _("Pass the folder the dashboard uses: by default .workspace under its data root."),
        )
    workspace = Workspace(folder, read_only=True)
    try:
        typed = workspace.hlp_values(key)
        edits = workspace.tag_edits(key)
    except sqlite3.Error as error:
        raise ConfigError(
            _("The workspace in {folder} could not be read: {reason}.", folder=folder, reason=error),
            _("Check that the folder holds the dashboard's workspace.sqlite and that it is not damaged."),
        ) from error
    dataset = apply_tag_edits(dataset, edits)
    return dataset, {**dataset.hlp, **{tag: value.value for tag, value in typed.items()}}


def run_tag(arguments: argparse.Namespace, config_from_arguments: Callable) -> int:
    """Carry out one ``tag`` edit (or list the history) and print what changed."""
    try:
        config = config_from_arguments(arguments)
        key = dataset_key(config, "tag")
        folder = arguments.workspace or default_workspace_folder(config)
        if arguments.history:
            edits = Workspace(folder, read_only=True).history(key)
            return _print(arguments.format, {"workspace": str(folder), "dataset": key, "history": [_edit_dict(e) for e in edits]}, _history_text)
        workspace = Workspace(folder, user=arguments.user)
        if arguments.undo:
            edit = workspace.undo(key)
            report = {"workspace": str(folder), "dataset": key, "undone": None if edit is None else _edit_dict(edit)}
            return _print(arguments.format, report, _undo_text)
        dataset = load_dataset(config)
        file_tags = dataset.file_tag_names
        if arguments.add is not None or arguments.remove is not None:
            ids = _read_ids(arguments)
            unknown = sorted(set(ids) - known_example_ids(dataset, ids))
            if unknown:
                raise InputError(
                    ngettext(
                        "{count} id is not an example of {dataset}: {ids}. Nothing was changed.",
                        "{count} ids are not examples of {dataset}: {ids}. Nothing was changed.",
                        len(unknown),
                        dataset=key,
                        ids=", ".join(unknown[:_SHOWN_IDS]) + (" …" if len(unknown) > _SHOWN_IDS else ""),
                    ),
                    _("Give ids as they appear in the id column of the predictions file."),
                )
            adding = arguments.add is not None
            edit = workspace.set_tag(key, arguments.add if adding else arguments.remove, ids, adding, file_tags)
        elif arguments.rename is not None:
            edit = workspace.rename_tag(key, arguments.rename[0], arguments.rename[1], file_tags)
        else:
            edit = workspace.delete_tag(key, arguments.delete, file_tags)
    except (AnalysisError, sqlite3.Error) as error:
        print(_("error: {message}", message=str(error)), file=sys.stderr)
        return EXIT_BAD_INPUT
    report = {"workspace": str(folder), "dataset": key, "edit": None if edit is None else _edit_dict(edit)}
    return _print(arguments.format, report, _edit_text)


def run_export(arguments: argparse.Namespace, config_from_arguments: Callable) -> int:
    """Write the tags as every page counts them (files plus workspace edits) to ``--out``."""
    try:
        config = config_from_arguments(arguments)
        folder = arguments.workspace
        if folder is None and config.source is not None:
            candidate = default_workspace_folder(config)
            folder = candidate if candidate.is_dir() else None
        dataset, _hlp = open_with_workspace(config, folder)
        rows = export_tags(dataset, arguments.out)
    except AnalysisError as error:
        print(_("error: {message}", message=str(error)), file=sys.stderr)
        return EXIT_BAD_INPUT
    report = {"file": str(arguments.out), "rows": rows, "tags": [tag.name for tag in dataset.tags], "workspace": None if folder is None else str(folder)}
    return _print(arguments.format, report, _export_text)


def _read_ids(arguments: argparse.Namespace) -> list[str]:
    ids = [str(value).strip() for value in arguments.ids]
    if arguments.ids_file is not None:
        try:
            text = arguments.ids_file.read_text(encoding="utf-8-sig")
        except OSError as error:
            raise InputError(
                _("The ids file {file} could not be read: {reason}.", file=arguments.ids_file, reason=error.strerror or error),
                _("Give a text file with one example id per line."),
            ) from error
        ids += [line.strip() for line in text.splitlines()]
    ids = [value for value in ids if value]
    if not ids:
        raise InputError(
            _("No example ids given."),
            _("Pass --ids ID [ID ...] or --ids-file FILE with one id per line."),
        )
    return list(dict.fromkeys(ids))


def _edit_dict(edit: Edit) -> dict:
    return {
        "id": edit.id,
        "kind": edit.kind,
        "description": edit.description,
        "changed_by": edit.changed_by,
        "changed_at": edit.changed_at,
        "changes": edit.change_count,
        "undone_by": edit.undone_by,
        "undone_at": edit.undone_at,
    }


def _edit_text(report: dict) -> str:
    edit = report["edit"]
    if edit is None:
        return _("Nothing changed: the workspace {workspace} already holds this.", workspace=report["workspace"]) + "\n"
    return _("Saved edit {id} in {workspace}: {description} (by {who}).", id=edit["id"], workspace=report["workspace"], description=edit["description"], who=edit["changed_by"]) + "\n"


def _undo_text(report: dict) -> str:
    edit = report["undone"]
    if edit is None:
        return _("Nothing to undo for {dataset}.", dataset=report["dataset"]) + "\n"
    return _("Undid edit {id}: {description}.", id=edit["id"], description=edit["description"]) + "\n"


def _history_text(report: dict) -> str:
    if not report["history"]:
        return _("No edits of {dataset} in {workspace}.", dataset=report["dataset"], workspace=report["workspace"]) + "\n"
    lines = []
    for edit in report["history"]:
        line = f"{edit['id']:>5}  {edit['changed_at']}  {edit['changed_by']}  {edit['description']}"
        if edit["undone_at"]:
            line += "  " + _("(undone by {who} at {when})", who=edit["undone_by"], when=edit["undone_at"])
        lines.append(line)
    return "\n".join(lines) + "\n"


def _export_text(report: dict) -> str:
    return _("Wrote {rows} (id, tag) rows of {count} tags to {file}.", rows=report["rows"], count=len(report["tags"]), file=report["file"]) + "\n"


def _print(output_format: str, report: dict, render: Callable[[dict], str]) -> int:
    if output_format == "json":
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render(report))
    return EXIT_OK
