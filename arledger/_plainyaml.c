/* A reader of plain YAML record files, straight into columns.
 *
 * `columns(text)` reads a record file written in the plainest shape of YAML,
 * the one arledger and its generator write: a list of records at the left
 * margin (`- key: value`), each field on a line of its own indented two
 * spaces, a value that is a scalar on that line (plain, or quoted without an
 * escape), a flow mapping or list of scalars on that line (`{due: 2026-03-01,
 * amount: 10}`, `[A, B]`), or a block below its key of scalars, of `key:
 * value` pairs or of `- ` items (each a scalar or a flow mapping or list on
 * its line). It returns (columns, lines, texts): for each key any record gives,
 * the value of every record (None where a record does not give it), in the
 * order the keys first come; the line of each record's `- `; and for each
 * column whose values given are all text with no space around it (as a plain
 * scalar always is), how many records do not give it.
 *
 * Every value is the text written, exactly as PyYAML's composer gives it and
 * the loader keeps it (`_node_value`): a plain scalar trimmed, a quoted one
 * between its quotes; a plain empty value, `~`, `null`, `Null` and `NULL` are
 * None, and a mapping's key whose value is None is not given.
 *
 * It decides nothing about a file: for anything else (a tab, a carriage return,
 * a character not ASCII, an escape, a value going on over lines, an anchor, a
 * tag, a key given twice, a document marker, and anything it does not
 * recognise) it returns None, and the file is read as before (readers.py),
 * where any problem is found and reported at its line.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#ifndef SOURCE_SHA256
#define SOURCE_SHA256 ""
#endif

#define MOST_KEYS 64 /* record keys one file may use: beyond, declined */

typedef struct {
    const char *p;   /* where reading is */
    const char *end; /* the end of the text */
    Py_ssize_t line; /* the line `p` is on (1-based) */
} Cursor;

/* A status: read, declined (the file is not plain), or a Python error. */
enum { OK = 0, DECLINE = 1, ERROR = -1 };

static PyObject *
text_of(const char *start, Py_ssize_t size)
{
    PyObject *text = PyUnicode_New(size, 127);
    if (text != NULL)
        memcpy(PyUnicode_DATA(text), start, (size_t)size);
    return text;
}

/* The texts of a column's values that repeat (a customer, a currency, a
 * date), each kept as one object: fewer to make, to hash and to hold. A value
 * is looked for by a hash of its characters; a column whose values seldom
 * repeat stops looking. */
#define CACHE_SLOTS 4096
#define CACHE_LONGEST 32
#define CACHE_TRIAL 4096

typedef struct {
    PyObject *slot[CACHE_SLOTS];
    Py_ssize_t tries, hits;
} Cache;

static PyObject *
cached_text(Cache *cache, const char *s, Py_ssize_t n)
{
    if (cache == NULL || n > CACHE_LONGEST ||
        (cache->tries >= CACHE_TRIAL && cache->hits * 4 < cache->tries))
        return text_of(s, n);
    unsigned int h = 2166136261u;
    for (Py_ssize_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    PyObject **slot = &cache->slot[h & (CACHE_SLOTS - 1)];
    cache->tries++;
    if (*slot != NULL && PyUnicode_GET_LENGTH(*slot) == n &&
        memcmp(PyUnicode_DATA(*slot), s, (size_t)n) == 0) {
        cache->hits++;
        return Py_NewRef(*slot);
    }
    PyObject *text = text_of(s, n);
    if (text != NULL)
        Py_XSETREF(*slot, Py_NewRef(text));
    return text;
}

static void
cache_free(Cache *cache)
{
    if (cache == NULL)
        return;
    for (int i = 0; i < CACHE_SLOTS; i++)
        Py_XDECREF(cache->slot[i]);
    PyMem_Free(cache);
}

static int
is_null(const char *s, Py_ssize_t n)
{
    return (n == 1 && s[0] == '~') ||
           (n == 4 && (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 ||
                       memcmp(s, "NULL", 4) == 0));
}

static int
is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

/* The end of a key at `p` ([A-Za-z0-9_] then those, `-` and `.`), followed by
 * `:` and a space or the end of its line; NULL if there is none. */
static const char *
key_end(const char *p, const char *eol)
{
    const char *q = p;
    if (q >= eol || !is_word(*q))
        return NULL;
    while (q < eol && (is_word(*q) || *q == '-' || *q == '.'))
        q++;
    if (q >= eol || *q != ':')
        return NULL;
    if (q + 1 < eol && q[1] != ' ')
        return NULL;
    return q;
}

/* After a quoted or flow value on a block line: only spaces, then a comment
 * after at least one space, or the end of the line. */
static int
rest_is_empty(const char *p, const char *eol)
{
    const char *q = p;
    while (q < eol && *q == ' ')
        q++;
    if (q == eol)
        return 1;
    return *q == '#' && q > p;
}

/* A quoted scalar at `*pp` (at its quote) ending on this line, with no escape:
 * its text; *pp moved past the closing quote. NULL and *status DECLINE if not. */
static PyObject *
quoted(const char **pp, const char *eol, int *status)
{
    const char *p = *pp;
    char quote = *p;
    const char *q = p + 1;
    while (q < eol && *q != quote) {
        if (*q == '\\' && quote == '"') {
            *status = DECLINE;
            return NULL;
        }
        if ((unsigned char)*q < 0x20 || *q == 0x7f) {
            *status = DECLINE;
            return NULL;
        }
        q++;
    }
    if (q >= eol || (q + 1 < eol && q[1] == quote)) { /* unclosed, or '' */
        *status = DECLINE;
        return NULL;
    }
    *pp = q + 1;
    PyObject *text = text_of(p + 1, q - p - 1);
    if (text == NULL)
        *status = ERROR;
    return text;
}

/* A scalar inside `{...}` or `[...]`: quoted, or plain of the safest kind
 * (no `:`, `#`, quote or bracket in it); None for a plain null. *pp moved past
 * it and any spaces after. */
static PyObject *
flow_scalar(const char **pp, const char *eol, int *status)
{
    const char *p = *pp;
    PyObject *value;
    if (p < eol && (*p == '"' || *p == '\'')) {
        value = quoted(&p, eol, status);
        if (value == NULL)
            return NULL;
    }
    else {
        if (p >= eol || !(is_word(*p) || *p == '.' || *p == '+' || *p == '/' ||
                          (*p == '-' && p + 1 < eol && (is_word(p[1]) || p[1] == '.')))) {
            *status = DECLINE;
            return NULL;
        }
        const char *q = p, *last = p;
        while (q < eol && *q != ',' && *q != '}' && *q != ']') {
            char c = *q;
            if (c < 0x20 || c > 0x7e || c == ':' || c == '#' || c == '"' || c == '\'' ||
                c == '{' || c == '[') {
                *status = DECLINE;
                return NULL;
            }
            if (c != ' ')
                last = q + 1;
            q++;
        }
        if (is_null(p, last - p)) {
            value = Py_NewRef(Py_None);
        }
        else {
            value = text_of(p, last - p);
            if (value == NULL) {
                *status = ERROR;
                return NULL;
            }
        }
        p = q;
    }
    while (p < eol && *p == ' ')
        p++;
    *pp = p;
    return value;
}

/* A nested mapping's key at *pp, up to its `:` (`key_end`), as a new
 * reference in *key, with *pp moved past the `:` and the spaces after it.
 * DECLINE where there is no key, or `found` has it already (a key given
 * twice, whatever its value: `found` keeps None values until
 * `drop_nulls`); ERROR with a Python error. */
static int
mapping_key(const char **pp, const char *eol, PyObject *found, PyObject **key)
{
    const char *p = *pp;
    const char *k = key_end(p, eol);
    if (k == NULL)
        return DECLINE;
    PyObject *made = text_of(p, k - p);
    if (made == NULL)
        return ERROR;
    int twice = PyDict_Contains(found, made);
    if (twice != 0) {
        Py_DECREF(made);
        return twice > 0 ? DECLINE : ERROR;
    }
    p = k + 1;
    while (p < eol && *p == ' ')
        p++;
    *pp = p;
    *key = made;
    return OK;
}

/* A mapping read, its keys whose value is None taken out (such a key is not
 * given); -1 with a Python error. */
static int
drop_nulls(PyObject *found)
{
    PyObject *key, *value, *nulls = PyList_New(0);
    Py_ssize_t pos = 0;
    if (nulls == NULL)
        return -1;
    while (PyDict_Next(found, &pos, &key, &value))
        if (value == Py_None && PyList_Append(nulls, key) < 0) {
            Py_DECREF(nulls);
            return -1;
        }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(nulls); i++)
        if (PyDict_DelItem(found, PyList_GET_ITEM(nulls, i)) < 0) {
            Py_DECREF(nulls);
            return -1;
        }
    Py_DECREF(nulls);
    return 0;
}

/* `{key: value, ...}` at *pp: a dict (a key whose value is None left out);
 * `[value, ...]`: a list. *pp moved past the closing bracket. */
static PyObject *
flow(const char **pp, const char *eol, int *status)
{
    const char *p = *pp;
    int mapping = *p == '{';
    char close = mapping ? '}' : ']';
    PyObject *found = mapping ? PyDict_New() : PyList_New(0);
    if (found == NULL)
        goto error;
    p++;
    while (p < eol && *p == ' ')
        p++;
    if (p < eol && *p == close) {
        *pp = p + 1;
        return found;
    }
    for (;;) {
        PyObject *key = NULL;
        if (mapping) {
            int read = mapping_key(&p, eol, found, &key);
            if (read == DECLINE || (read == OK && p >= eol)) { /* no closing */
                Py_XDECREF(key);
                goto decline;
            }
            if (read == ERROR)
                goto error;
        }
        PyObject *value = flow_scalar(&p, eol, status);
        if (value == NULL) {
            Py_XDECREF(key);
            if (*status == DECLINE)
                goto decline;
            goto error;
        }
        int failed;
        if (mapping) {
            failed = PyDict_SetItem(found, key, value) < 0; /* None: below */
            Py_DECREF(key);
        }
        else {
            failed = PyList_Append(found, value) < 0;
        }
        Py_DECREF(value);
        if (failed)
            goto error;
        if (p < eol && *p == ',') {
            p++;
            while (p < eol && *p == ' ')
                p++;
            if (p < eol && *p == close) /* a trailing comma */
                goto decline;
            continue;
        }
        if (p < eol && *p == close)
            break;
        goto decline;
    }
    if (mapping && drop_nulls(found) < 0)
        goto error;
    *pp = p + 1;
    return found;
decline:
    *status = DECLINE;
    Py_XDECREF(found);
    return NULL;
error:
    *status = ERROR;
    Py_XDECREF(found);
    return NULL;
}

/* The value on a block line from `p` (not a space, not `#`, before `eol`):
 * a quoted or plain scalar (None for a null), or a flow mapping or list. */
static PyObject *
line_value(const char *p, const char *eol, int *status, Cache *cache)
{
    char c = *p;
    PyObject *value;
    if (c == '"' || c == '\'' || c == '{' || c == '[') {
        value = (c == '{' || c == '[') ? flow(&p, eol, status) : quoted(&p, eol, status);
        if (value == NULL)
            return NULL;
        if (!rest_is_empty(p, eol)) {
            Py_DECREF(value);
            *status = DECLINE;
            return NULL;
        }
        return value;
    }
    if (c == '-' ? (p + 1 >= eol || p[1] == ' ') : strchr("?:,]}#&*!|>%@`", c) != NULL) {
        *status = DECLINE; /* an indicator, not a plain scalar's start */
        return NULL;
    }
    const char *q = p, *last = p;
    for (; q < eol; q++) {
        char ch = *q;
        if (ch < 0x20 || ch > 0x7e) {
            *status = DECLINE;
            return NULL;
        }
        if (ch == ':' && (q + 1 == eol || q[1] == ' ')) {
            *status = DECLINE; /* a mapping in a plain value: an error */
            return NULL;
        }
        if (ch == ' ') {
            if (q + 1 < eol && q[1] == '#')
                break; /* a comment */
            continue;
        }
        last = q + 1;
    }
    if (is_null(p, last - p))
        return Py_NewRef(Py_None);
    value = cached_text(cache, p, last - p);
    if (value == NULL)
        *status = ERROR;
    return value;
}

/* The end of the line at `p`. */
static const char *
line_end(const char *p, const char *end)
{
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    return eol == NULL ? end : eol;
}

/* Past blank lines and lines holding only a comment; the indent of the line
 * reached (-1 at the end of the text). */
static Py_ssize_t
next_content(Cursor *at)
{
    while (at->p < at->end) {
        const char *eol = line_end(at->p, at->end);
        const char *q = at->p;
        while (q < eol && *q == ' ')
            q++;
        if (q < eol && *q != '#')
            return q - at->p;
        at->p = eol < at->end ? eol + 1 : eol;
        at->line++;
    }
    return -1;
}

/* What a field's key with nothing after it on its line holds: a block below
 * it, indented more than 2 (its items or pairs, each a value on its line), or
 * None when the next line is no deeper. The cursor is at the line after the
 * key's; it is left at the line after the block. */
static PyObject *
block(Cursor *at, int *status)
{
    Cursor look = *at;
    Py_ssize_t indent = next_content(&look);
    if (indent <= 2)
        return Py_NewRef(Py_None);
    *at = look;
    const char *start = at->p + indent;
    const char *eol = line_end(at->p, at->end);
    int items = start[0] == '-' && start + 1 < eol && start[1] == ' ';
    PyObject *found = items ? PyList_New(0) : PyDict_New();
    if (found == NULL)
        goto error;
    for (;;) {
        const char *p = at->p + indent;
        eol = line_end(at->p, at->end);
        PyObject *key = NULL;
        if (items) {
            if (!(p[0] == '-' && p + 1 < eol && p[1] == ' '))
                goto decline;
            p += 2;
            while (p < eol && *p == ' ')
                p++;
        }
        else {
            int read = mapping_key(&p, eol, found, &key);
            if (read == DECLINE)
                goto decline;
            if (read == ERROR)
                goto error;
        }
        if (p >= eol || *p == '#') { /* nothing on the line: more below? */
            Py_XDECREF(key);
            goto decline;
        }
        PyObject *value = line_value(p, eol, status, NULL);
        if (value == NULL) {
            Py_XDECREF(key);
            if (*status == DECLINE)
                goto decline;
            goto error;
        }
        int failed;
        if (items) {
            failed = PyList_Append(found, value) < 0;
        }
        else {
            /* A None value is kept until the block ends: a key given twice is
             * seen whatever its value. */
            failed = PyDict_SetItem(found, key, value) < 0;
            Py_DECREF(key);
        }
        Py_DECREF(value);
        if (failed)
            goto error;
        at->p = eol < at->end ? eol + 1 : eol;
        at->line++;
        look = *at;
        Py_ssize_t next = next_content(&look);
        if (next <= 2)
            break; /* the block ends (the caller reads those lines again) */
        if (next != indent)
            goto decline;
        *at = look;
    }
    if (!items && drop_nulls(found) < 0)
        goto error;
    return found;
decline:
    *status = DECLINE;
    Py_XDECREF(found);
    return NULL;
error:
    *status = ERROR;
    Py_XDECREF(found);
    return NULL;
}

typedef struct {
    const char *name;
    Py_ssize_t size;
    PyObject *values; /* a list: one value per record up to the last giving it */
    Py_ssize_t given; /* how many records give it */
    int texts;        /* every value given is text with no space around it */
    Cache *cache;     /* its plain values made so far, some of them */
} Column;

/* A value that is text with no space at either end (none other is white
 * space in the printable ASCII these files hold). */
static int
is_trimmed_text(PyObject *value)
{
    if (!PyUnicode_CheckExact(value))
        return 0;
    Py_ssize_t size = PyUnicode_GET_LENGTH(value);
    const char *text = (const char *)PyUnicode_DATA(value);
    return size == 0 || (text[0] != ' ' && text[size - 1] != ' ');
}

/* Pad a column with None to `count` values. */
static int
pad(PyObject *values, Py_ssize_t count)
{
    while (PyList_GET_SIZE(values) < count)
        if (PyList_Append(values, Py_None) < 0)
            return -1;
    return 0;
}

static PyObject *
columns(PyObject *module, PyObject *arg)
{
    (void)module;
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "columns() takes the text of a file");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(arg))
        Py_RETURN_NONE;
    const char *text = (const char *)PyUnicode_DATA(arg);
    Cursor at = {text, text + PyUnicode_GET_LENGTH(arg), 1};
    Column cols[MOST_KEYS];
    int ncols = 0;
    Py_ssize_t count = 0;
    unsigned long long seen = 0;
    int status = OK;
    PyObject *lines = PyList_New(0), *result = NULL, *texts = NULL;
    if (lines == NULL)
        return NULL;
    /* Nothing but printable ASCII, spaces and newlines: a tab, a carriage
     * return or a control character declines the file. */
    for (const char *c = at.p; c < at.end; c++)
        if ((*c < 0x20 && *c != '\n') || *c == 0x7f) {
            status = DECLINE;
            goto done;
        }
    for (;;) {
        Py_ssize_t indent = next_content(&at);
        if (indent < 0)
            break;
        const char *eol = line_end(at.p, at.end);
        const char *p = at.p + indent;
        if (indent == 0 && p[0] == '-' && p + 1 < eol && p[1] == ' ') {
            PyObject *line = PyLong_FromSsize_t(at.line);
            if (line == NULL || PyList_Append(lines, line) < 0) {
                Py_XDECREF(line);
                status = ERROR;
                goto done;
            }
            Py_DECREF(line);
            count++;
            seen = 0;
            p += 2;
        }
        else if (indent != 2 || count == 0) {
            status = DECLINE;
            goto done;
        }
        const char *k = key_end(p, eol);
        if (k == NULL) {
            status = DECLINE;
            goto done;
        }
        int c = 0;
        while (c < ncols && !(cols[c].size == k - p && memcmp(cols[c].name, p, k - p) == 0))
            c++;
        if (c == ncols) {
            if (ncols == MOST_KEYS) {
                status = DECLINE;
                goto done;
            }
            cols[c].name = p;
            cols[c].size = k - p;
            cols[c].given = 0;
            cols[c].texts = 1;
            if ((cols[c].values = PyList_New(0)) == NULL) {
                status = ERROR;
                goto done;
            }
            if ((cols[c].cache = PyMem_Calloc(1, sizeof(Cache))) == NULL) {
                Py_DECREF(cols[c].values);
                PyErr_NoMemory();
                status = ERROR;
                goto done;
            }
            ncols++;
        }
        if (seen & (1ULL << c)) { /* a key given twice: PyYAML's path says so */
            status = DECLINE;
            goto done;
        }
        seen |= 1ULL << c;
        p = k + 1;
        while (p < eol && *p == ' ')
            p++;
        PyObject *value;
        if (p >= eol || *p == '#') {
            at.p = eol < at.end ? eol + 1 : eol;
            at.line++;
            value = block(&at, &status);
        }
        else {
            value = line_value(p, eol, &status, cols[c].cache);
            at.p = eol < at.end ? eol + 1 : eol;
            at.line++;
        }
        if (value == NULL)
            goto done;
        if (value != Py_None) {
            cols[c].given++;
            cols[c].texts = cols[c].texts && is_trimmed_text(value);
            if (pad(cols[c].values, count - 1) < 0 ||
                PyList_Append(cols[c].values, value) < 0) {
                Py_DECREF(value);
                status = ERROR;
                goto done;
            }
        }
        Py_DECREF(value);
    }
    if (count == 0) {
        status = DECLINE;
        goto done;
    }
    PyObject *found = PyDict_New();
    texts = PyDict_New();
    if (found == NULL || texts == NULL) {
        Py_XDECREF(found);
        status = ERROR;
        goto done;
    }
    for (int c = 0; c < ncols; c++) {
        PyObject *name = text_of(cols[c].name, cols[c].size), *missing = NULL;
        if (name == NULL || pad(cols[c].values, count) < 0 ||
            PyDict_SetItem(found, name, cols[c].values) < 0 ||
            (cols[c].texts &&
             ((missing = PyLong_FromSsize_t(count - cols[c].given)) == NULL ||
              PyDict_SetItem(texts, name, missing) < 0))) {
            Py_XDECREF(name);
            Py_XDECREF(missing);
            Py_DECREF(found);
            status = ERROR;
            goto done;
        }
        Py_DECREF(name);
        Py_XDECREF(missing);
    }
    result = Py_BuildValue("(NOO)", found, lines, texts);
    if (result == NULL)
        status = ERROR;
done:
    for (int c = 0; c < ncols; c++) {
        Py_DECREF(cols[c].values);
        cache_free(cols[c].cache);
    }
    Py_DECREF(lines);
    Py_XDECREF(texts);
    if (status == ERROR)
        return NULL;
    if (status == DECLINE) {
        Py_XDECREF(result);
        Py_RETURN_NONE;
    }
    return result;
}

static PyMethodDef methods[] = {
    {"columns", columns, METH_O,
     "columns(text) -> (columns, lines, texts) of a plain YAML record file, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "arledger._plainyaml",
    "Plain YAML record files read straight into columns.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__plainyaml(void)
{
    PyObject *module = PyModule_Create(&module_def);
    if (module != NULL && PyModule_AddStringConstant(module, "SOURCE_SHA256", SOURCE_SHA256) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
