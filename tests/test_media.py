"""Media columns (analysis.media): detection from sample values and the check that keeps reads inside the dataset folder."""

from __future__ import annotations

import base64
import os

import pandas as pd
import pytest

from analysis import InputError, load_config, load_dataset
from analysis.media import (
    AUDIO,
    IMAGE,
    TEXT,
    THUMBNAIL_MAX_BYTES,
    classify_values,
    dataset_folder,
    detect_media,
    resolve_media_path,
    thumbnail_url,
)

HINT = "Media paths must be relative to the folder of the dataset file and stay inside it."
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABc3UBGAAAAABJRU5ErkJggg==")


@pytest.fixture
def folder(tmp_path):
    """A dataset folder with one image, a sub-folder, and a secret file beside the folder."""
    dataset = tmp_path / "dataset"
    (dataset / "images").mkdir(parents=True)
    (dataset / "images" / "one.png").write_bytes(PNG)
    (tmp_path / "secret.png").write_bytes(PNG)
    return dataset.resolve()


def test_relative_path_inside_is_resolved(folder):
    assert resolve_media_path(folder, "images/one.png") == folder / "images" / "one.png"
    # A ".." that stays inside the folder is fine.
    assert resolve_media_path(folder, "images/../images/one.png") == folder / "images" / "one.png"
    assert resolve_media_path(folder, " images/one.png ") == folder / "images" / "one.png"


REJECTED = [
    ("/etc/passwd", "The media path '/etc/passwd' is absolute, so it may point outside the dataset folder."),
    ("C:\\images\\one.png", "The media path 'C:\\images\\one.png' is absolute, so it may point outside the dataset folder."),
    ("\\\\server\\share\\one.png", "The media path '\\\\server\\share\\one.png' is absolute, so it may point outside the dataset folder."),
    ("~/one.png", "The media path '~/one.png' is absolute, so it may point outside the dataset folder."),
    ("../secret.png", "The media path '../secret.png' leaves the dataset folder through '..'."),
    ("images/../../secret.png", "The media path 'images/../../secret.png' leaves the dataset folder through '..'."),
    ("https://example.org/one.png", "The media path 'https://example.org/one.png' is a URL, which the dashboard does not fetch."),
    ("file:///etc/passwd", "The media path 'file:///etc/passwd' is a URL, which the dashboard does not fetch."),
    ("data:image/png;base64,AAAA", "The media path 'data:image/png;base64,AAAA' is a URL, which the dashboard does not fetch."),
    ("images/two.png", "The media file 'images/two.png' was not found in the dataset folder."),
    ("images", "The media path 'images' is not a file."),
    ("", "The media path '' is empty or invalid."),
    ("images/one.png\x00.txt", "The media path 'images/one.png\x00.txt' is empty or invalid."),
]


@pytest.mark.parametrize(("value", "message"), REJECTED)
def test_rejected_path_message(folder, value, message):
    with pytest.raises(InputError) as raised:
        resolve_media_path(folder, value)

    assert raised.value.message == message
    assert raised.value.hint == HINT


def test_symlink_outside_rejected(folder):
    (folder / "images" / "link.png").symlink_to(folder.parent / "secret.png")

    with pytest.raises(InputError) as raised:
        resolve_media_path(folder, "images/link.png")

    assert raised.value.message == "The media path 'images/link.png' is a symbolic link to a file outside the dataset folder."


def test_symlinked_folder_outside_rejected(folder):
    outside = folder.parent / "elsewhere"
    outside.mkdir()
    (outside / "one.png").write_bytes(PNG)
    (folder / "linked").symlink_to(outside, target_is_directory=True)

    with pytest.raises(InputError) as raised:
        resolve_media_path(folder, "linked/one.png")

    assert raised.value.message == "The media path 'linked/one.png' is a symbolic link to a file outside the dataset folder."


def test_symlink_inside_accepted(folder):
    (folder / "images" / "alias.png").symlink_to(folder / "images" / "one.png")

    assert resolve_media_path(folder, "images/alias.png") == folder / "images" / "one.png"


def test_thumbnail_embeds_image(folder):
    url = thumbnail_url(folder, "images/one.png")

    assert url == "data:image/png;base64," + base64.b64encode(PNG).decode("ascii")


def test_thumbnail_skips_rejected_and_large(folder):
    (folder / "images" / "large.png").write_bytes(b"\x89PNG" + bytes(THUMBNAIL_MAX_BYTES))

    assert thumbnail_url(folder, "../secret.png") is None
    assert thumbnail_url(folder, "images/large.png") is None
    assert thumbnail_url(folder, None) is None


CLASSIFIED = [
    (["a/1.png", "a/2.JPG", "b/3.webp", "c.gif", "d.bmp"], IMAGE),
    (["a/1.wav", "a/2.mp3", "b.flac", "c.ogg", "d.m4a"], AUDIO),
    (["x" * 120, "y" * 90], TEXT),
    (["short", "line one\nline two"], TEXT),
    (["north", "south"], None),
    # One image path in five is not enough for an image column.
    (["a.png", "b", "c", "d", "e"], None),
]


@pytest.mark.parametrize(("values", "kind"), CLASSIFIED)
def test_classify_values(values, kind):
    assert classify_values(pd.Series(values)) == kind


def test_digits_image_column_detected(dataset_config):
    dataset = load_dataset(dataset_config("digits"))

    assert detect_media(dataset) == {"image": IMAGE}
    assert dataset_folder(dataset) == dataset.config.source.parent.resolve()


def test_detects_audio_and_text(tmp_path):
    folder = tmp_path / "audio_set"
    folder.mkdir()
    pd.DataFrame({"id": [1, 2], "label": ["a", "b"], "prediction": ["a", "a"]}).to_csv(folder / "predictions.csv", index=False)
    pd.DataFrame({"id": [1, 2], "clip": ["clips/1.wav", "clips/2.wav"], "transcript": ["word " * 30, "word " * 40], "region": ["n", "s"]}).to_csv(
        folder / "metadata.csv", index=False
    )
    (folder / "dataset.toml").write_text('schema = 1\n[files]\npredictions = "predictions.csv"\nmetadata = "metadata.csv"\n', encoding="utf-8")

    dataset = load_dataset(load_config(folder))

    assert detect_media(dataset) == {"clip": AUDIO, "transcript": TEXT}
    assert os.path.samefile(dataset_folder(dataset), folder)
