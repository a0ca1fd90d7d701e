"""One rule for names that become folders: avatar ids and generated results share it."""

import pytest

from rodin_pipelines.avatars.importer import avatar_id_for
from rodin_pipelines.folder_names import checked_folder_name, folder_name_from

ESCAPES = ["../../x", "/abs/path", "..", ".hidden", "a/b", "a\\b", "", "x\0y"]


@pytest.mark.parametrize("name", ["avatar", "My_Scan_v2", "run-1.5"])
def test_plain_names_pass_unchanged(name: str) -> None:
    assert checked_folder_name(name) == name


@pytest.mark.parametrize("name", ESCAPES)
def test_names_that_leave_the_folder_are_refused_naming_the_option(name: str) -> None:
    with pytest.raises(ValueError, match=r"--name .*plain folder name"):
        checked_folder_name(name, "--name")


@pytest.mark.parametrize("name", ESCAPES)
def test_the_importer_uses_the_same_rule(name: str) -> None:
    with pytest.raises(ValueError) as the_rule:
        checked_folder_name(name, "avatar_id")
    with pytest.raises(ValueError) as refused:
        avatar_id_for("/data/scan", name)
    # A validator of the importer's own would word its refusal (and draw its line) differently.
    assert str(refused.value) == str(the_rule.value)


def test_a_source_folder_name_is_made_plain() -> None:
    assert folder_name_from("..my scan!") == "my_scan"
    assert folder_name_from("...") == "avatar"
