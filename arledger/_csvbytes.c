/* A CSV file's bytes, and its cells of amounts, looked over in one pass
 * without the GIL.
 *
 * `survey(data, start)` says what the loader asks of a big CSV file's bytes
 * before it lets pyarrow cut them (loader.py: `_plain_text`, `_row_lines`,
 * `_plain_quotes`), in one pass at memory speed, where those questions were
 * five passes of Python's bytes methods and a regular expression, each
 * holding the GIL (at a million invoices, 0.3 s of the main thread's time,
 * during which the threads cutting the files could not take the GIL back).
 * It returns a tuple:
 *
 *   plain         every byte of `data` is printable ASCII, tab, LF or CR;
 *   longest       the bytes of its longest line (a line feed not counted);
 *   lines         the line feeds from `start`;
 *   lone_returns  the carriage returns from `start` no line feed follows;
 *   quotes        the quote characters from `start`;
 *   plain_quotes  whether every quote from `start` opens or closes a plain
 *                 quoted cell: a quote at a line's start or after a comma,
 *                 then no quote, CR or LF, then a quote followed by a comma,
 *                 a line's end (LF, CR LF, or CR at the end of `data`) or
 *                 the end of `data`. Taken left to right as a reader takes
 *                 them, a quote that does not so open a cell, or a cell not
 *                 so closed, makes it false.
 *
 * `plain_amounts(validity, offsets, data, offset, length, most)` reads a
 * column of amount cells (an arrow string array's buffers, as pyarrow cut and
 * trimmed them) for `arrow_rules`: where a cell is surely an amount the rule
 * accepts, its digits as a whole number and its scale, and where not. Surely
 * accepted: ASCII digits with at most one point, not first, no longer than
 * `most` bytes, at most 18 digits (they fit in 64 bits) and not all zero.
 * It returns (digits, scales, sure, count): the digits as int64 and the
 * scales as int8, 0 where not sure; `sure`, a bitmap in arrow's order of the
 * cells surely accepted; and how many are. A cell not given (its validity
 * bit clear) is not sure, and not asked about. At a million invoices this
 * was ten passes of pyarrow's kernels over each column of amounts, 0.25 s.
 *
 * `untrimmed(offsets, data, offset, length)` says whether some cell of a
 * column (an arrow string array's buffers) may have white space at either
 * end: whether it begins or ends with an ASCII space character (as
 * `str.isspace` has them) or with any byte beyond ASCII (where a character
 * `str.strip` strips may begin or end). A column of which it says no is
 * what trimming would give, so it need not be trimmed (at a million
 * invoices, trimming every column cost the threads cutting files 0.2 s).
 *
 * `rows_named(ids, names)` finds where each name is among the ids: both
 * are lists of string columns, each given as (validity, offsets, data,
 * offset, length), an arrow string array's buffers. Per name, in the order
 * of the names' columns one after the other: the row (among the ids'
 * columns one after the other) of the first id given whose bytes equal the
 * name's, or none, for a name not given or that no id has. It returns
 * (rows, found, count): the rows as int32, -1 where none; `found`, a bitmap
 * in arrow's order of the names with a row; and how many have one. This is
 * `pyarrow.compute.index_in(names, value_set=ids, skip_nulls=True)` (a test
 * holds the two equal), with one hash table of the ids and no copy of a
 * string: pyarrow's dictionary encoding of a million ids and a million
 * names took 0.3 s, during which the checks and the kernel's columns wait.
 *
 * None decides anything: the loader reads the survey's answers by the
 * rules it states, and every cell of an amount not surely accepted is judged
 * by the rule itself (tests/test_csvbytes.py holds both to their plain
 * definitions in Python, `untrimmed` to `str.strip`).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#ifndef SOURCE_SHA256
#define SOURCE_SHA256 ""
#endif

typedef struct {
    int plain;
    Py_ssize_t longest;
    Py_ssize_t lines;
    Py_ssize_t lone_returns;
    Py_ssize_t quotes;
    int plain_quotes;
} Survey;

/* Eight bytes at a time: a word holds a byte to look at (below 0x20, above
 * 0x7E, or a quote) or it does not; most words of a CSV file do not. */
#define ONES ((uint64_t)0x0101010101010101ULL)
#define HIGHS ((uint64_t)0x8080808080808080ULL)

static inline int
notable(uint64_t word)
{
    uint64_t below = (word - ONES * 0x20) & ~word;   /* a byte < 0x20 */
    uint64_t above = (word + ONES * (127 - 0x7E)) | word; /* a byte > 0x7E */
    uint64_t quote = word ^ (ONES * '"');
    quote = (quote - ONES) & ~quote;                 /* a byte == '"' */
    return ((below | above | quote) & HIGHS) != 0;
}

/* Whether the quote at `at` closes a plain quoted cell: a comma, LF, CR LF,
 * or CR at the end, or the end follows it. */
static inline int
closes(const unsigned char *data, Py_ssize_t at, Py_ssize_t size)
{
    Py_ssize_t next = at + 1;
    if (next == size || data[next] == ',' || data[next] == '\n')
        return 1;
    return data[next] == '\r' && (next + 1 == size || data[next + 1] == '\n');
}

static void
scan(const unsigned char *data, Py_ssize_t size, Py_ssize_t start, Survey *s)
{
    Py_ssize_t line_start = 0, i = 0;
    int in_cell = 0; /* between a plain quoted cell's quotes */

    s->plain = 1;
    s->plain_quotes = 1;
    while (i < size) {
        if (i + 8 <= size) {
            uint64_t word;
            memcpy(&word, data + i, 8);
            if (!notable(word)) {
                i += 8;
                continue;
            }
        }
        unsigned char c = data[i];
        if (c == '\n') {
            if (i - line_start > s->longest)
                s->longest = i - line_start;
            line_start = i + 1;
            if (i >= start) {
                s->lines++;
                if (in_cell) { /* a line feed inside the cell */
                    s->plain_quotes = 0;
                    in_cell = 0;
                }
            }
        }
        else if (c == '\r') {
            if (i >= start) {
                if (i + 1 == size || data[i + 1] != '\n')
                    s->lone_returns++;
                if (in_cell) {
                    s->plain_quotes = 0;
                    in_cell = 0;
                }
            }
        }
        else if (c == '"') {
            if (i >= start) {
                s->quotes++;
                if (in_cell) {
                    in_cell = 0;
                    if (!closes(data, i, size))
                        s->plain_quotes = 0;
                }
                else if (s->plain_quotes) {
                    if (i == 0 || data[i - 1] == '\n' || data[i - 1] == ',')
                        in_cell = 1;
                    else
                        s->plain_quotes = 0;
                }
            }
        }
        else if (c != '\t' && (c < 0x20 || c > 0x7E))
            s->plain = 0;
        i++;
    }
    if (size - line_start > s->longest)
        s->longest = size - line_start;
    if (in_cell) /* a cell not closed by the end */
        s->plain_quotes = 0;
}

static PyObject *
survey(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "survey(data, start=0)");
        return NULL;
    }
    Py_ssize_t start = 0;
    if (nargs == 2) {
        start = PyLong_AsSsize_t(args[1]);
        if (start == -1 && PyErr_Occurred())
            return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (start < 0 || start > view.len) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "survey: start is outside the data");
        return NULL;
    }
    Survey s = {0};
    Py_BEGIN_ALLOW_THREADS
    scan((const unsigned char *)view.buf, view.len, start, &s);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return Py_BuildValue("(NnnnnN)", PyBool_FromLong(s.plain), s.longest, s.lines,
                         s.lone_returns, s.quotes, PyBool_FromLong(s.plain_quotes));
}

/* One amount cell: whether it is surely accepted, with its digits and
 * scale. */
static inline int
plain_amount(const unsigned char *text, Py_ssize_t size, Py_ssize_t most,
             int64_t *digits, int8_t *scale)
{
    if (size == 0 || size > most || text[0] == '.')
        return 0;
    int64_t whole = 0;
    Py_ssize_t point = -1, count = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        unsigned char c = text[i];
        if (c >= '0' && c <= '9') {
            if (++count > 18)
                return 0; /* more than 64 bits surely hold: the rule's */
            whole = whole * 10 + (c - '0');
        }
        else if (c == '.' && point < 0)
            point = i;
        else
            return 0;
    }
    if (count == 0 || whole == 0)
        return 0;
    *digits = whole;
    *scale = (int8_t)(point < 0 ? 0 : size - point - 1);
    return 1;
}

static int
get_buffer(PyObject *object, Py_buffer *view, const char *what)
{
    if (PyObject_GetBuffer(object, view, PyBUF_SIMPLE) < 0) {
        PyErr_Format(PyExc_TypeError, "%s is not a buffer", what);
        return -1;
    }
    return 0;
}

static PyObject *
plain_amounts(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError,
                        "plain_amounts(validity, offsets, data, offset, length, most)");
        return NULL;
    }
    Py_ssize_t offset = PyLong_AsSsize_t(args[3]);
    Py_ssize_t length = PyLong_AsSsize_t(args[4]);
    Py_ssize_t most = PyLong_AsSsize_t(args[5]);
    if (PyErr_Occurred())
        return NULL;
    Py_buffer validity = {0}, offsets = {0}, data = {0};
    int has_validity = args[0] != Py_None;
    PyObject *digits = NULL, *scales = NULL, *sure = NULL;
    if (has_validity && get_buffer(args[0], &validity, "plain_amounts: validity") < 0)
        return NULL;
    if (get_buffer(args[1], &offsets, "plain_amounts: offsets") < 0)
        goto done;
    if (get_buffer(args[2], &data, "plain_amounts: data") < 0)
        goto done;
    if (offset < 0 || length < 0 || offset > PY_SSIZE_T_MAX / 8 - length - 1 ||
        offsets.len / 4 < offset + length + 1 ||
        (has_validity && validity.len * 8 < offset + length)) {
        PyErr_SetString(PyExc_ValueError, "plain_amounts: buffers shorter than the cells");
        goto done;
    }
    const int32_t *at = (const int32_t *)offsets.buf + offset;
    for (Py_ssize_t i = 0; i <= length; i += length ? length : 1)
        if (at[i] < 0 || at[i] > data.len) {
            PyErr_SetString(PyExc_ValueError, "plain_amounts: offsets beyond the data");
            goto done;
        }
    digits = PyBytes_FromStringAndSize(NULL, length * 8);
    scales = PyBytes_FromStringAndSize(NULL, length);
    sure = PyBytes_FromStringAndSize(NULL, (length + 7) / 8);
    if (digits == NULL || scales == NULL || sure == NULL)
        goto done;
    int64_t *digit = (int64_t *)PyBytes_AS_STRING(digits);
    int8_t *scale = (int8_t *)PyBytes_AS_STRING(scales);
    uint8_t *bits = (uint8_t *)PyBytes_AS_STRING(sure);
    const uint8_t *given = has_validity ? (const uint8_t *)validity.buf : NULL;
    const unsigned char *text = (const unsigned char *)data.buf;
    Py_ssize_t count = 0;
    int ok = 1;
    Py_BEGIN_ALLOW_THREADS
    memset(bits, 0, (size_t)(length + 7) / 8);
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_ssize_t bit = offset + i;
        int64_t whole = 0;
        int8_t places = 0;
        Py_ssize_t begin = at[i], end = at[i + 1];
        if (end < begin || end > data.len) { /* offsets must not fall */
            ok = 0;
            break;
        }
        if ((given == NULL || given[bit >> 3] >> (bit & 7) & 1) &&
            plain_amount(text + begin, end - begin, most, &whole, &places)) {
            bits[i >> 3] |= (uint8_t)(1u << (i & 7));
            count++;
        }
        digit[i] = whole;
        scale[i] = places;
    }
    Py_END_ALLOW_THREADS
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "plain_amounts: offsets beyond the data");
        goto done;
    }
    PyObject *result = Py_BuildValue("(OOOn)", digits, scales, sure, count);
    Py_CLEAR(digits);
    Py_CLEAR(scales);
    Py_CLEAR(sure);
    if (has_validity)
        PyBuffer_Release(&validity);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    return result;
done:
    Py_XDECREF(digits);
    Py_XDECREF(scales);
    Py_XDECREF(sure);
    if (has_validity && validity.obj != NULL)
        PyBuffer_Release(&validity);
    if (offsets.obj != NULL)
        PyBuffer_Release(&offsets);
    if (data.obj != NULL)
        PyBuffer_Release(&data);
    return NULL;
}

/* Whether a byte at a cell's end may belong to white space `str.strip`
 * strips: an ASCII one (tab to carriage return, the four separators, the
 * space), or any byte beyond ASCII. */
static inline int
may_strip(unsigned char c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c >= 0x80;
}

static PyObject *
untrimmed(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "untrimmed(offsets, data, offset, length)");
        return NULL;
    }
    Py_ssize_t offset = PyLong_AsSsize_t(args[2]);
    Py_ssize_t length = PyLong_AsSsize_t(args[3]);
    if (PyErr_Occurred())
        return NULL;
    Py_buffer offsets = {0}, data = {0};
    if (PyObject_GetBuffer(args[0], &offsets, PyBUF_SIMPLE) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[1], &data, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&offsets);
        return NULL;
    }
    int found = 0, bad = 0;
    if (offset < 0 || length < 0 || offset > PY_SSIZE_T_MAX / 8 - length - 1 ||
        offsets.len / 4 < offset + length + 1)
        bad = 1;
    else {
        const int32_t *at = (const int32_t *)offsets.buf + offset;
        const unsigned char *text = (const unsigned char *)data.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < length && !found; i++) {
            int32_t begin = at[i], end = at[i + 1];
            if (begin < 0 || end < begin || end > data.len) {
                bad = 1;
                break;
            }
            if (end > begin && (may_strip(text[begin]) || may_strip(text[end - 1])))
                found = 1;
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "untrimmed: offsets beyond the data");
        return NULL;
    }
    return PyBool_FromLong(found);
}

/* ------------------------------------------------------------ rows_named */

/* A column of strings, as rows_named is given it. */
typedef struct {
    Py_buffer validity, offsets, data;
    int has_validity;
    Py_ssize_t offset, length;
    Py_ssize_t first; /* its first row among the columns given with it */
} Strings;

static void
strings_release(Strings *s)
{
    if (s->has_validity && s->validity.obj != NULL)
        PyBuffer_Release(&s->validity);
    if (s->offsets.obj != NULL)
        PyBuffer_Release(&s->offsets);
    if (s->data.obj != NULL)
        PyBuffer_Release(&s->data);
}

/* The column `item` ((validity, offsets, data, offset, length)) into `s`,
 * its buffers checked to hold its cells. */
static int
strings_of(PyObject *item, Strings *s)
{
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 5) {
        PyErr_SetString(PyExc_TypeError,
                        "rows_named: a column is (validity, offsets, data, offset, length)");
        return -1;
    }
    s->offset = PyLong_AsSsize_t(PyTuple_GET_ITEM(item, 3));
    s->length = PyLong_AsSsize_t(PyTuple_GET_ITEM(item, 4));
    if (PyErr_Occurred())
        return -1;
    s->has_validity = PyTuple_GET_ITEM(item, 0) != Py_None;
    if (s->has_validity && get_buffer(PyTuple_GET_ITEM(item, 0), &s->validity, "rows_named: validity") < 0)
        return -1;
    if (get_buffer(PyTuple_GET_ITEM(item, 1), &s->offsets, "rows_named: offsets") < 0 ||
        get_buffer(PyTuple_GET_ITEM(item, 2), &s->data, "rows_named: data") < 0)
        return -1;
    if (s->offset < 0 || s->length < 0 || s->offset > PY_SSIZE_T_MAX / 8 - s->length - 1 ||
        s->offsets.len / 4 < s->offset + s->length + 1 ||
        (s->has_validity && s->validity.len * 8 < s->offset + s->length)) {
        PyErr_SetString(PyExc_ValueError, "rows_named: buffers shorter than the cells");
        return -1;
    }
    const int32_t *at = (const int32_t *)s->offsets.buf + s->offset;
    for (Py_ssize_t i = 0; i < s->length; i++)
        if (at[i] < 0 || at[i + 1] < at[i] || at[i + 1] > s->data.len) {
            PyErr_SetString(PyExc_ValueError, "rows_named: offsets beyond the data");
            return -1;
        }
    if (s->length == 0 && (at[0] < 0 || at[0] > s->data.len)) {
        PyErr_SetString(PyExc_ValueError, "rows_named: offsets beyond the data");
        return -1;
    }
    return 0;
}

static inline int
string_given(const Strings *s, Py_ssize_t i)
{
    if (!s->has_validity)
        return 1;
    Py_ssize_t bit = s->offset + i;
    return ((const uint8_t *)s->validity.buf)[bit >> 3] >> (bit & 7) & 1;
}

static inline const unsigned char *
string_at(const Strings *s, Py_ssize_t i, Py_ssize_t *size)
{
    const int32_t *at = (const int32_t *)s->offsets.buf + s->offset + i;
    *size = at[1] - at[0];
    return (const unsigned char *)s->data.buf + at[0];
}

/* A hash of `size` bytes, eight at a time, seeded per table. */
static inline uint64_t
hash_bytes(const unsigned char *p, Py_ssize_t size, uint64_t seed)
{
    uint64_t h = seed ^ ((uint64_t)size * 0x9E3779B97F4A7C15ULL);
    while (size >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        h = (h ^ word) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
        p += 8;
        size -= 8;
    }
    uint64_t tail = 0;
    memcpy(&tail, p, (size_t)size);
    h = (h ^ tail) * 0xC4CEB9FE1A85EC53ULL;
    return h ^ (h >> 29);
}

/* Strings hashed ahead of the one looked up (rows_named). */
#define AHEAD 8

/* A slot of the table: an id's row + 1 (0: empty) and the top of its hash. */
typedef struct {
    uint32_t row;
    uint32_t tag;
} Slot;

/* The column of the ids that holds row `row`, and its place in it. */
static const Strings *
id_column(const Strings *ids, Py_ssize_t n_ids, Py_ssize_t row, Py_ssize_t *i)
{
    Py_ssize_t k = n_ids - 1;
    while (k > 0 && ids[k].first > row)
        k--;
    *i = row - ids[k].first;
    return &ids[k];
}

static PyObject *
rows_named(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyList_Check(args[0]) || !PyList_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "rows_named(ids, names): two lists of columns");
        return NULL;
    }
    Py_ssize_t n_ids = PyList_GET_SIZE(args[0]), n_names = PyList_GET_SIZE(args[1]);
    Strings *cols = PyMem_Calloc((size_t)(n_ids + n_names + 1), sizeof(Strings));
    if (cols == NULL)
        return PyErr_NoMemory();
    Strings *ids = cols, *names = cols + n_ids;
    PyObject *rows = NULL, *found = NULL, *result = NULL;
    Slot *table = NULL;
    Py_ssize_t total_ids = 0, total_names = 0, made = 0;
    for (; made < n_ids + n_names; made++) {
        int is_id = made < n_ids;
        Strings *s = &cols[made];
        if (strings_of(PyList_GET_ITEM(args[is_id ? 0 : 1], is_id ? made : made - n_ids), s) < 0) {
            made++; /* its buffers, if any, are released below */
            goto done;
        }
        s->first = is_id ? total_ids : total_names;
        *(is_id ? &total_ids : &total_names) += s->length;
    }
    if (total_ids >= (Py_ssize_t)UINT32_MAX / 2 || total_names > PY_SSIZE_T_MAX / 8) {
        PyErr_SetString(PyExc_ValueError, "rows_named: too many ids");
        goto done;
    }
    size_t size = 16;
    while (size < (size_t)total_ids * 2)
        size *= 2;
    table = PyMem_RawCalloc(size, sizeof(Slot));
    rows = PyBytes_FromStringAndSize(NULL, total_names * 4);
    found = PyBytes_FromStringAndSize(NULL, (total_names + 7) / 8);
    if (table == NULL || rows == NULL || found == NULL) {
        if (table == NULL)
            PyErr_NoMemory();
        goto done;
    }
    int32_t *row_of = (int32_t *)PyBytes_AS_STRING(rows);
    uint8_t *bits = (uint8_t *)PyBytes_AS_STRING(found);
    uint64_t seed = (uint64_t)(uintptr_t)table * 0x9E3779B97F4A7C15ULL;
    size_t mask = size - 1;
    Py_ssize_t count = 0;
    Py_BEGIN_ALLOW_THREADS
    /* Every id given, once: the first of equal ones keeps its row. Then each
     * name given, looked up. A table this size lies mostly outside the
     * caches: the slots of the next strings are fetched ahead (AHEAD at a
     * time), each while the one before is looked at. */
    for (int pass = 0; pass < 2; pass++) {
        const Strings *columns = pass == 0 ? ids : names;
        Py_ssize_t n_columns = pass == 0 ? n_ids : n_names;
        if (pass == 1)
            memset(bits, 0, (size_t)(total_names + 7) / 8);
        for (Py_ssize_t k = 0; k < n_columns; k++) {
            const Strings *s = &columns[k];
            uint64_t hashes[AHEAD];
            for (Py_ssize_t i = 0; i < s->length; i++) {
                if (i % AHEAD == 0) /* the next ones' hashes, their slots fetched */
                    for (Py_ssize_t a = 0; a < AHEAD && i + a < s->length; a++) {
                        Py_ssize_t len;
                        const unsigned char *p = string_at(s, i + a, &len);
                        hashes[a] = hash_bytes(p, len, seed);
                        __builtin_prefetch(&table[(size_t)hashes[a] & mask]);
                    }
                Py_ssize_t n = s->first + i;
                if (pass == 1)
                    row_of[n] = -1;
                if (!string_given(s, i))
                    continue;
                Py_ssize_t len;
                const unsigned char *p = string_at(s, i, &len);
                uint64_t h = hashes[i % AHEAD];
                uint32_t tag = (uint32_t)(h >> 32);
                for (size_t at = (size_t)h & mask;; at = (at + 1) & mask) {
                    Slot *slot = &table[at];
                    if (slot->row == 0) {
                        if (pass == 0) {
                            slot->row = (uint32_t)(n + 1);
                            slot->tag = tag;
                        }
                        break;
                    }
                    if (slot->tag != tag)
                        continue;
                    Py_ssize_t j, other_len;
                    const Strings *o = id_column(ids, n_ids, (Py_ssize_t)slot->row - 1, &j);
                    const unsigned char *q = string_at(o, j, &other_len);
                    if (other_len != len || memcmp(p, q, (size_t)len) != 0)
                        continue;
                    if (pass == 1) { /* (an id met before, in the first pass) */
                        row_of[n] = (int32_t)(slot->row - 1);
                        bits[n >> 3] |= (uint8_t)(1u << (n & 7));
                        count++;
                    }
                    break;
                }
            }
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("(OOn)", rows, found, count);
done:
    PyMem_RawFree(table);
    Py_XDECREF(rows);
    Py_XDECREF(found);
    for (Py_ssize_t k = 0; k < made; k++)
        strings_release(&cols[k]);
    PyMem_Free(cols);
    return result;
}

static PyMethodDef methods[] = {
    {"survey", (PyCFunction)(void (*)(void))survey, METH_FASTCALL,
     "survey(data, start=0, /) -> (plain, longest, lines, lone_returns, quotes, "
     "plain_quotes): a CSV file's bytes looked over in one pass."},
    {"plain_amounts", (PyCFunction)(void (*)(void))plain_amounts, METH_FASTCALL,
     "plain_amounts(validity, offsets, data, offset, length, most, /) -> (digits, "
     "scales, sure, count): the amounts of a column of cells surely accepted."},
    {"untrimmed", (PyCFunction)(void (*)(void))untrimmed, METH_FASTCALL,
     "untrimmed(offsets, data, offset, length, /) -> bool: whether a cell of a "
     "column may have white space at either end."},
    {"rows_named", (PyCFunction)(void (*)(void))rows_named, METH_FASTCALL,
     "rows_named(ids, names, /) -> (rows, found, count): where each name is among "
     "the ids (columns of strings as (validity, offsets, data, offset, length))."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "arledger._csvbytes",
    "A CSV file's bytes, and its cells of amounts, looked over in one pass.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__csvbytes(void)
{
    PyObject *module = PyModule_Create(&module_def);
    if (module != NULL && PyModule_AddStringConstant(module, "SOURCE_SHA256", SOURCE_SHA256) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
