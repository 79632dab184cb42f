"""arledger/_shapes.py is what the models say: derived again, it is the same.

The loader reads every record by columns with `_shapes.py`, generated from
the models (`python -m arledger.shapes --regenerate`); a model changed without
regenerating it fails here, not in a user's ledger.
"""

from __future__ import annotations

import subprocess
import sys

from arledger import _shapes, rows, shapes


def test_the_generated_shapes_are_the_models():
    assert shapes.current() == shapes.derive(), (
        "arledger/_shapes.py is stale: run `python -m arledger.shapes --regenerate`"
    )


def test_the_generated_file_is_what_regenerating_writes():
    with open(shapes.GENERATED, encoding="utf-8") as file:
        assert file.read() == shapes.render(shapes.derive())


def test_check_says_so_with_its_exit_code():
    done = subprocess.run(
        [sys.executable, "-m", "arledger.shapes", "--check"], capture_output=True
    )
    assert done.returncode == 0, done.stderr


def test_default_rows_are_the_models_defaults():
    from arledger.model import Settings

    assert rows.defaults("Settings") == rows.row_of(Settings())
    for name in _shapes.KINDS.values():
        assert rows.FIELDS[name] == tuple(
            n
            for n in getattr(__import__("arledger.model").model, name).model_fields
            if n != "source"
        )


def test_a_validator_of_a_model_s_own_is_refused():
    """A rule written as a pydantic validator would be one the columns skip."""
    import pytest
    from pydantic import model_validator

    from arledger.model import Record

    class Odd(Record):
        x: str

        @model_validator(mode="after")
        def _own(self) -> Odd:
            return self

    with pytest.raises(ValueError, match="validator _own"):
        shapes._only_rules_validate(Odd)


def test_a_mark_the_columns_cannot_apply_leaves_the_field_to_the_model():
    from typing import Annotated

    from pydantic import Field

    from arledger.model import Text

    spec = shapes._spec(Annotated[Text, Field(max_length=3)], [], lambda cls: "")
    assert spec[0] == "other"
