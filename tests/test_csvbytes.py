"""arledger/_csvbytes.c: a CSV file's bytes looked over in one pass.

`survey` answers, at memory speed and without the GIL, what the loader asks
of a big CSV file before pyarrow cuts it. Each of its answers is held here to
its plain definition in Python: the bytes methods and the pattern the loader
used before, kept as the reference."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arledger import loader
from arledger._csvbytes import survey

PLAIN = bytes(range(0x20, 0x7F)) + b"\t\n\r"
# A quoted cell no two CSV readers can read differently: the whole cell in
# quotes, no quote or line end inside, at a line's start or after a comma,
# followed by a comma or the line's end.
PLAIN_CELL = re.compile(rb'"(?:(?<=^")|(?<=[,\n]"))[^"\r\n]*"(?=,|\r?$)', re.MULTILINE)


def reference(data: bytes, start: int) -> tuple[bool, int, int, int, int, bool]:
    quotes = data.count(b'"', start)
    return (
        not data.translate(None, PLAIN),
        max(map(len, data.split(b"\n"))),
        data.count(b"\n", start),
        data.count(b"\r", start) - data.count(b"\r\n", start),
        quotes,
        2 * len(PLAIN_CELL.findall(data, start)) == quotes,
    )


# Every byte class the survey tells apart, and the bounds of each: the words
# of eight bytes it skips must hold none of them.
NOTABLE = [0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x22, 0x2C, 0x7F, 0x80, 0xC3, 0xFF]
ORDINARY = [0x20, 0x41, 0x7E, 0x21, 0x23]
BYTES = st.lists(
    st.one_of(st.sampled_from(ORDINARY), st.sampled_from(NOTABLE)), max_size=120
).map(bytes)
# CSV-like: cells, quoted cells, commas and line ends.
PIECES = st.sampled_from(
    [
        b"abc",
        b"12.50",
        b",",
        b"\n",
        b"\r\n",
        b"\r",
        b'"',
        b'"x y"',
        b'""',
        b"\xc3\xa9",
        b"\x00",
        b"\t",
        b" ",
        b"a" * 9,
        b'"a,b"',
        b'"' + b"z" * 17 + b'"',
    ]  # fmt: skip
)
CSV = st.lists(PIECES, max_size=60).map(b"".join)


@given(st.one_of(BYTES, CSV), st.data())
def test_each_answer_is_its_plain_definition(data, draw):
    start = draw.draw(st.integers(0, len(data)))
    assert survey(data, start) == reference(data, start)


@given(CSV)
def test_from_the_first_line_feed_as_the_loader_asks(data):
    start = data.find(b"\n") + 1
    assert survey(data, start) == reference(data, start)


def test_the_start_defaults_to_the_first_byte():
    data = b'id,amount\n"A",1\r\n'
    assert survey(data) == survey(data, 0) == reference(data, 0)


def test_every_buffer_is_read_a_word_at_a_time_to_its_end():
    """Each offset of a notable byte in and after the words of eight."""
    for size in range(0, 40):
        for at in range(size):
            for byte in NOTABLE:
                data = bytearray(b"a" * size)
                data[at] = byte
                assert survey(bytes(data)) == reference(bytes(data), 0), (
                    size,
                    at,
                    byte,
                )
                assert survey(memoryview(data)) == reference(bytes(data), 0)


def test_a_start_outside_the_data_is_refused():
    with pytest.raises(ValueError, match="start is outside"):
        survey(b"ab", 3)
    with pytest.raises(ValueError, match="start is outside"):
        survey(b"ab", -1)
    with pytest.raises(TypeError):
        survey("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        survey()  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "text",
    [
        "a,b\nc,d\n",
        "a,b\nc,d",
        "a,b\r\nc,d\r\n",
        "a,b\nc\rd\n",
        "a,b\n",
        "a,b",
        "",
        'h\n"x",é\n',
        'h\r\n"x",y\r\n"p"q,r\n',
    ],  # fmt: skip
)
def test_row_lines_of_text_and_of_its_bytes_agree(text):
    """The loader asks of a file's text or of its UTF-8 bytes: the same rows,
    `start` in characters or in bytes."""
    of_text, of_bytes = loader._row_lines(text), loader._row_lines(text.encode())
    if of_text is None:
        assert of_bytes is None
        return
    assert of_bytes is not None
    assert of_text._replace(start=0) == of_bytes._replace(start=0)
    assert text[: of_text.start].encode() == text.encode()[: of_bytes.start]


# ------------------------------------------------------------- plain_amounts

pa = pytest.importorskip("pyarrow")
from arledger._csvbytes import plain_amounts  # noqa: E402
from arledger.money import MAX_DIGITS  # noqa: E402


def surely(text: str | None, most: int = MAX_DIGITS) -> tuple[int, int] | None:
    """Plainly: the digits and scale of an amount surely accepted, else None."""
    if text is None or not 0 < len(text) <= most or text.startswith("."):
        return None
    whole, point, rest = text.partition(".")
    if not (whole + rest).isdigit() or not (whole + rest).isascii():
        return None
    if len(whole + rest) > 18 or int(whole + rest) == 0:
        return None
    return int(whole + rest), len(rest) if point else 0


def read(cells: pa.Array, most: int = MAX_DIGITS) -> list[tuple[int, int] | None]:
    validity, offsets, data = cells.buffers()
    digits, scales, sure, count = plain_amounts(
        validity, offsets, data if data is not None else b"", cells.offset,
        len(cells), most,
    )  # fmt: skip
    size = len(cells)
    assert len(digits) == 8 * size and len(scales) == size
    mask = pa.Array.from_buffers(pa.bool_(), size, [None, pa.py_buffer(sure)])
    whole = pa.Array.from_buffers(pa.int64(), size, [None, pa.py_buffer(digits)])
    places = pa.Array.from_buffers(pa.int8(), size, [None, pa.py_buffer(scales)])
    found = [
        (w, s) if m else None
        for m, w, s in zip(
            mask.to_pylist(), whole.to_pylist(), places.to_pylist(), strict=True
        )
    ]
    assert count == sum(one is not None for one in found)
    return found


AMOUNT_TEXTS = st.one_of(
    st.none(),
    st.text(alphabet="0123456789.+-e, ١", max_size=24),
    st.from_regex(r"[0-9]{1,20}(\.[0-9]{0,12})?", fullmatch=True),
)


@given(st.lists(AMOUNT_TEXTS, max_size=40), st.data())
def test_amounts_surely_accepted_are_their_plain_definition(texts, draw):
    cells = pa.array(texts, pa.string())
    start = draw.draw(st.integers(0, len(texts)))
    stop = draw.draw(st.integers(start, len(texts)))
    most = draw.draw(st.sampled_from([MAX_DIGITS, 5]))
    part = cells.slice(start, stop - start)  # an offset into the buffers
    assert read(part, most) == [surely(t, most) for t in texts[start:stop]]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("12.30", (1230, 2)),
        ("5.", (5, 0)),
        ("7", (7, 0)),
        ("0.01", (1, 2)),
        ("0", None),
        ("0.00", None),
        (".5", None),
        ("1.2.3", None),
        ("-1", None),
        ("+1", None),
        ("1e3", None),
        ("1 000", None),
        ("", None),
        (None, None),
        ("9" * 18, (10**18 - 1, 0)),
        ("9" * 19, None),
        ("1" * 10 + "." + "1" * 8, (111111111111111111, 8)),
    ],  # fmt: skip
)
def test_amounts_by_hand(text, found):
    assert read(pa.array([text], pa.string())) == [found]


def test_buffers_that_do_not_hold_the_cells_are_refused():
    cells = pa.array(["1", "22"], pa.string())
    validity, offsets, data = cells.buffers()
    with pytest.raises(ValueError, match="shorter than the cells"):
        plain_amounts(None, offsets, data, 0, 3, MAX_DIGITS)
    with pytest.raises(ValueError, match="shorter than the cells"):
        plain_amounts(None, offsets, data, -1, 1, MAX_DIGITS)
    with pytest.raises(ValueError, match="beyond the data"):
        plain_amounts(None, offsets, b"1", 0, 2, MAX_DIGITS)
    falling = pa.array([0, 2, 1], pa.int32()).buffers()[1]
    with pytest.raises(ValueError, match="beyond the data"):
        plain_amounts(None, falling, b"123", 0, 2, MAX_DIGITS)
    with pytest.raises(TypeError, match="not a buffer"):
        plain_amounts(None, "offsets", data, 0, 2, MAX_DIGITS)
    with pytest.raises(TypeError):
        plain_amounts(None, offsets, data, 0, 2)


# ---------------------------------------------------------------- untrimmed

from arledger._csvbytes import untrimmed  # noqa: E402
from arledger.loader import _untrimmed, _white_space  # noqa: E402

SPACES = _white_space()


@given(
    st.lists(
        st.text(alphabet=SPACES[:12] + "ab é中\u3000\u00a0,", max_size=8), max_size=30
    ),
    st.data(),
)
def test_a_column_said_trimmed_is_what_trimming_gives(texts, draw):
    """Where `untrimmed` says no cell may have white space at either end,
    `str.strip` changes no cell; and it says so of every such column of
    ASCII cells (it is not a column's every cell that it declines)."""
    cells = pa.array(texts, pa.string())
    start = draw.draw(st.integers(0, len(texts)))
    part = cells.slice(start)
    _, offsets, data = part.buffers()
    said = untrimmed(offsets, data if data is not None else b"", part.offset, len(part))
    mine = texts[start:]
    if not said:
        assert all(t == t.strip(SPACES) == t.strip() for t in mine)
    if all(t.isascii() for t in mine):
        assert said == any(t != t.strip() for t in mine)
    assert _untrimmed(pa.chunked_array([part], pa.string())) is said


def test_untrimmed_refuses_offsets_beyond_the_data():
    offsets = pa.array([0, 5], pa.int32()).buffers()[1]
    with pytest.raises(ValueError, match="beyond the data"):
        untrimmed(offsets, b"ab", 0, 1)
    with pytest.raises(ValueError, match="beyond the data"):
        untrimmed(offsets, b"abcdef", 0, 2)


# ---------------------------------------------------------------- rows_named

import pyarrow.compute as pc  # noqa: E402

from arledger._csvbytes import rows_named  # noqa: E402
from arledger.arrow_columns import _named_at, _string_buffers  # noqa: E402


def rows_of(ids: list[pa.Array], names: list[pa.Array]) -> list[int | None]:
    rows, found, count = rows_named(
        [_string_buffers(a) for a in ids], [_string_buffers(a) for a in names]
    )
    size = sum(map(len, names))
    assert len(rows) == 4 * size and count <= size
    at = pa.Array.from_buffers(
        pa.int32(), size, [pa.py_buffer(found), pa.py_buffer(rows)], size - count
    )
    return at.to_pylist()


def first_row(ids: list[str | None], name: str | None) -> int | None:
    """Plainly: the row of the first id given equal to the name given."""
    if name is None:
        return None
    return next((row for row, one in enumerate(ids) if one == name), None)


# Ids alike enough to share hashes' parts and lengths: short, long (past the
# eight bytes hashed at a time), empty, repeated, not given, beyond ASCII.
ID_TEXTS = st.one_of(
    st.none(),
    st.sampled_from(["", "I1", "I10", "INV-2026-000001", "INV-2026-000010", "发票1"]),
    st.text(alphabet="I1-é", max_size=20),
)


def columns_of(draw, texts: list[str | None]) -> list[pa.Array]:
    """`texts` cut into columns, each a slice of an array (an offset into
    its buffers), as the files of a kind are."""
    columns, start = [], 0
    while start < len(texts):
        stop = draw.draw(st.integers(start + 1, len(texts)))
        before = draw.draw(st.lists(ID_TEXTS, max_size=2))
        whole = pa.array([*before, *texts[start:stop]], pa.string())
        columns.append(whole.slice(len(before)))
        start = stop
    return columns or [pa.array([], pa.string())]


@given(st.lists(ID_TEXTS, max_size=40), st.lists(ID_TEXTS, max_size=40), st.data())
def test_rows_named_are_the_first_ids_equal_to_the_names(ids, names, draw):
    """The row of the first id given equal to each name given: as found by
    hand, and as pyarrow's `index_in` finds it (nulls skipped)."""
    id_columns, name_columns = columns_of(draw, ids), columns_of(draw, names)
    found = rows_of(id_columns, name_columns)
    assert found == [first_row(ids, name) for name in names]
    every_id = pa.concat_arrays(id_columns)
    looked_up = pc.index_in(
        pa.concat_arrays(name_columns), value_set=every_id, skip_nulls=True
    )
    assert found == looked_up.to_pylist()


def test_named_at_splits_the_rows_by_kind():
    ids = [pa.array(["A", "B"]), pa.array(["C", None, "A"])]
    names = {
        "payments": [pa.array(["C", "X"]), pa.array([None, "A"])],
        "adjustments": [pa.array([], pa.string())],
        "allocations": [pa.array(["B", "C", ""], pa.large_string())],
    }
    found = {kind: rows.to_pylist() for kind, rows in _named_at(ids, names).items()}
    assert found == {
        "payments": [2, None, None, 0],
        "adjustments": [],
        "allocations": [1, 2, None],
    }


def test_rows_named_refuses_columns_that_do_not_hold_their_cells():
    cells = pa.array(["1", "22"], pa.string())
    validity, offsets, data = cells.buffers()
    with pytest.raises(ValueError, match="shorter than the cells"):
        rows_named([(None, offsets, data, 0, 3)], [])
    with pytest.raises(ValueError, match="beyond the data"):
        rows_named([], [(None, offsets, b"1", 0, 2)])
    falling = pa.array([0, 2, 1], pa.int32()).buffers()[1]
    with pytest.raises(ValueError, match="beyond the data"):
        rows_named([(None, falling, b"123", 0, 2)], [])
    with pytest.raises(TypeError, match="rows_named: offsets is not a buffer"):
        rows_named([(None, "offsets", data, 0, 2)], [])
    with pytest.raises(TypeError, match="a column is"):
        rows_named([(None, offsets, data, 0)], [])
    with pytest.raises(TypeError, match="two lists"):
        rows_named((), [])
