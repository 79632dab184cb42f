/* The settlement engine (SPEC §2, §9): payments and adjustments applied to
 * invoices, in integer minor units.
 *
 * This is arledger's only engine; `arledger/settle.py` prepares its input and
 * documents its contract, and `tests/reference_settle.py` is the readable
 * Python version that property tests hold it to (STYLE.md §12). Every rule
 * below cites the function of the reference it follows, so that the two read
 * side by side.
 *
 * It has two entry points (docs/columnar-kernel.md). `read`, the only code
 * here that reads a record, turns the sorted records into columns of codes,
 * day ordinals and minor units, every value resolved by the Ledger's rules;
 * tests/reference_columns.py is its readable version. `run` replays columns
 * (any buffers: read's arrays, or what a ledger without rows will make),
 * with the early-payment offers settle.py adds, checking each column first:
 * amounts are exact integers of the account currency's minor unit (int64 in
 * the columns, or two words each when one does not fit; an __int128 inside:
 * a 28-digit amount in minor units fits, and no sum adds across records),
 * back to Decimals only for what the settlement returns, the records' own
 * where it passes them on. Dates are proleptic Gregorian ordinals.
 *
 * The replay's state is plain arrays: works (an invoice, or one instalment of
 * it), chunks (what is left of a payment or adjustment, kept only while it
 * waits or sits as credit), invoices and accounts (a customer in one
 * currency), each account with a binary heap of its open works, oldest due
 * first.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <pthread.h>
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif
#endif
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef SOURCE_SHA256
#define SOURCE_SHA256 "unknown"
#endif

/* 8-byte aligned: a work or an invoice takes 48 bytes, not 64 or 80 */
typedef __int128 money __attribute__((aligned(8)));

#define HEAP_LIMIT 1024 /* reference: _HEAP_LIMIT */


typedef struct {
    int32_t *data;
    Py_ssize_t n, cap;
} Vec;

typedef struct {
    uint32_t hash;   /* the id's hash, its low bits: most other ids differ */
    int32_t invoice; /* -1: empty */
} IdSlot;

static PyObject *S_payment, *S_discount, *S_fromordinal, *S_fields,
    *S_date_type;

/* The fields the engine reads of a record. A record is a row (a named tuple
 * of arledger.rows), read by position, or a model (tests build them by hand),
 * read by name. */
enum {
    F_ID, F_CUSTOMER, F_DATE, F_DUE, F_AMOUNT, F_CURRENCY, F_OWNER, F_DISPUTED,
    F_SCHEDULE, F_DISCOUNT, F_INVOICE, F_ALLOCATIONS, F_KIND, N_FIELDS
};
static const char *field_texts[N_FIELDS] = {
    "id", "customer", "date", "due", "amount", "currency", "owner", "disputed",
    "schedule", "discount", "invoice", "allocations", "kind",
};
static PyObject *field_names[N_FIELDS];

typedef struct {
    PyTypeObject *type; /* the row type, or NULL */
    Py_ssize_t at[N_FIELDS]; /* each field's position in it, or -1 */
} Layout;

/* ------------------------------------------------------------- helpers */

/* The replay of a settlement without its history makes no Python object: it
 * runs without the GIL (`replay`), so that a thread of Python may run beside
 * it. Its memory is the system's (PyMem_Raw*, which need no GIL), and running
 * out of it is said once the GIL is taken back. */
static _Thread_local int without_gil = 0;
static _Thread_local int out_of_memory = 0;

static void no_memory(void) {
    if (without_gil)
        out_of_memory = 1;
    else
        PyErr_NoMemory();
}

/* Room for one more of `n` items of `size` bytes at `*data`, doubling `*cap`
 * (`first` to start with) when full. */
static int room(void *data, Py_ssize_t n, Py_ssize_t *cap, size_t size, Py_ssize_t first) {
    if (n < *cap) return 0;
    Py_ssize_t more = *cap ? 2 * *cap : first;
    void *grown = PyMem_RawRealloc(*(void **)data, (size_t)more * size);
    if (grown == NULL) {
        no_memory();
        return -1;
    }
    *(void **)data = grown;
    *cap = more;
    return 0;
}

static int vec_push(Vec *v, int32_t x) {
    if (room(&v->data, v->n, &v->cap, sizeof(int32_t), 8) < 0) return -1;
    v->data[v->n++] = x;
    return 0;
}

static void vec_free(Vec *v) {
    PyMem_RawFree(v->data);
    v->data = NULL;
    v->n = v->cap = 0;
}

static int32_t ordinal_of(PyObject *day) {
    static const int before[13] = {0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int y = PyDateTime_GET_YEAR(day), m = PyDateTime_GET_MONTH(day);
    int d = PyDateTime_GET_DAY(day);
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int prior = y - 1;
    return prior * 365 + prior / 4 - prior / 100 + prior / 400 + before[m] +
           (m > 2 && leap) + d;
}


static const money MONEY_MAX = (money)(((unsigned __int128)1 << 127) - 1);

/* A Decimal in minor units of `mu` decimal places, exact or an error, and
 * the exponent it is written with (Decimal.as_tuple().exponent: 0 for 30, -2
 * for 30.00), which must fit an int8. */
static int amount_of(PyObject *amount, int mu, money *out, int8_t *exp) {
    PyObject *text = PyObject_Str(amount);
    if (text == NULL) return -1;
    const char *p = PyUnicode_AsUTF8(text);
    if (p == NULL) {
        Py_DECREF(text);
        return -1;
    }
    const char *start = p;
    int negative = 0, point = 0;
    long decimals = 0, exponent = 0, digits = 0;
    money coefficient = 0;
    if (*p == '-' || *p == '+') negative = *p++ == '-';
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (coefficient > (MONEY_MAX - 9) / 10) goto bad;
            coefficient = coefficient * 10 + (*p - '0');
            digits++;
            decimals += point;
        } else if (*p == '.' && !point) {
            point = 1;
        } else if ((*p == 'E' || *p == 'e') && digits) {
            char *end;
            exponent = strtol(p + 1, &end, 10);
            if (end == p + 1 || *end) goto bad;
            break;
        } else {
            goto bad;
        }
    }
    if (!digits) goto bad;
    long written = exponent - decimals;
    if (written < INT8_MIN || written > INT8_MAX) goto bad;
    *exp = (int8_t)written;
    long scale = exponent - decimals + mu;
    for (; scale > 0; scale--) {
        if (coefficient > MONEY_MAX / 10) goto bad;
        coefficient *= 10;
    }
    for (; scale < 0; scale++) {
        if (coefficient % 10) {
            PyErr_Format(PyExc_ValueError,
                         "amount %s has more decimal places than its currency's %d",
                         start, mu);
            Py_DECREF(text);
            return -1;
        }
        coefficient /= 10;
    }
    *out = negative ? -coefficient : coefficient;
    Py_DECREF(text);
    return 0;
bad:
    PyErr_Format(PyExc_ValueError, "cannot settle the amount %s", start);
    Py_DECREF(text);
    return -1;
}

static PyObject *new_tuple(PyObject *type, Py_ssize_t n) {
    return ((PyTypeObject *)type)->tp_alloc((PyTypeObject *)type, n);
}

static PyObject *instalment_of(int32_t inst) {
    if (inst == 0) Py_RETURN_NONE;
    return PyLong_FromLong(inst);
}

/* A record's field, or NULL with an error set. New reference. */
static PyObject *get(const Layout *layout, PyObject *record, int f) {
    if (Py_TYPE(record) == layout->type && layout->at[f] >= 0)
        return Py_NewRef(PyTuple_GET_ITEM(record, layout->at[f]));
    return PyObject_GetAttr(record, field_names[f]);
}

/* The layout of a row type: where each field is in its `_fields`. */
static int layout_of(PyObject *type, Layout *layout) {
    PyObject *fields = PyObject_GetAttr(type, S_fields);
    if (fields == NULL) return -1;
    if (!PyType_Check(type) || !PyTuple_Check(fields)) {
        Py_DECREF(fields);
        PyErr_SetString(PyExc_TypeError, "a row type is a named tuple");
        return -1;
    }
    layout->type = (PyTypeObject *)type;
    for (int f = 0; f < N_FIELDS; f++) {
        layout->at[f] = -1;
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(fields); k++) {
            int same = PyObject_RichCompareBool(PyTuple_GET_ITEM(fields, k), field_names[f], Py_EQ);
            if (same < 0) {
                Py_DECREF(fields);
                return -1;
            }
            if (same) layout->at[f] = k;
        }
    }
    Py_DECREF(fields);
    return 0;
}

/* The layouts of `rows`: the row types of invoices, payments, adjustments. */
static int layouts_of(PyObject *rows, Layout *invoice, Layout *payment, Layout *adjustment) {
    if (!PyTuple_Check(rows) || PyTuple_GET_SIZE(rows) != 3) {
        PyErr_SetString(PyExc_TypeError, "rows: (invoice, payment, adjustment) row types");
        return -1;
    }
    if (layout_of(PyTuple_GET_ITEM(rows, 0), invoice) < 0 ||
        layout_of(PyTuple_GET_ITEM(rows, 1), payment) < 0 ||
        layout_of(PyTuple_GET_ITEM(rows, 2), adjustment) < 0)
        return -1;
    return 0;
}

/* The ordinal of a record's date field `f` (a date, else a TypeError saying
 * `what`), or -1 with an error set. */
static int day_at(const Layout *layout, PyObject *record, int f, const char *what,
                  int32_t *out) {
    PyObject *day = get(layout, record, f);
    if (day == NULL) return -1;
    int is_date = PyDate_Check(day);
    if (is_date) *out = ordinal_of(day);
    else PyErr_SetString(PyExc_TypeError, what);
    Py_DECREF(day);
    return is_date ? 0 : -1;
}

/* An id table: `slots` (a power of two, at most half full) of indexes into
 * ids kept elsewhere, the id of index k at `keys + k * stride` (the list
 * `ids` of `read`). Empty slots are -1. */
static int id_table_new(IdSlot **slots, size_t *mask, Py_ssize_t n) {
    size_t size = 16;
    while (size < 2 * (size_t)n) size *= 2;
    *slots = PyMem_RawMalloc(size * sizeof(IdSlot));
    if (*slots == NULL) {
        no_memory();
        return -1;
    }
    memset(*slots, 0xff, size * sizeof(IdSlot));
    *mask = size - 1;
    return 0;
}

/* The index of the id `id`, or -1; -2 with an error set. With `add`, `index`
 * is entered under `id` and returned, or, when an equal id was there, the
 * index it replaces (the last of equal ids wins, as in a dict). */
static int32_t id_find(IdSlot *slots, size_t mask, const char *keys, size_t stride,
                       PyObject *id, int add, int32_t index) {
    Py_hash_t hash = PyObject_Hash(id);
    if (hash == -1) return -2;
    uint32_t tag = (uint32_t)hash;
    for (size_t at = (size_t)hash & mask;; at = (at + 1) & mask) {
        IdSlot *found = &slots[at];
        int32_t slot = found->invoice;
        if (slot < 0) {
            if (!add) return -1;
            found->invoice = index;
            found->hash = tag;
            return index;
        }
        if (found->hash != tag) continue;
        PyObject *other = *(PyObject *const *)(keys + (size_t)slot * stride);
        int same = other == id ? 1 : PyObject_RichCompareBool(other, id, Py_EQ);
        if (same < 0) return -2;
        if (same) {
            if (add) found->invoice = index;
            return slot;
        }
    }
}


/* ------------------------------------------------------------- read */

/* `read`: sorted records to the columns of docs/columnar-kernel.md §1, every
 * value resolved by the Ledger's rules, as tests/reference_settle.py resolves
 * them record by record (its reference: tests/reference_columns.py, which
 * asks the Ledger). Nothing is replayed here, and nothing below reads a
 * record: `run` replays the columns. */

/* The columns, in the order they are returned. An amount (`size` 16) is held
 * as money while reading, then written as int64, or as two int64 words (low,
 * high) when some amount does not fit in one (§1.6). */
enum {
    C_INV_DATE, C_INV_CUSTOMER, C_INV_CURRENCY, C_INV_MINOR, C_INV_EXP, C_INV_FLAGS,
    C_INV_DUE, C_INV_OWNER,
    C_INS_INVOICE, C_INS_DUE, C_INS_MINOR, C_INS_EXP,
    C_PAY_DATE, C_PAY_CUSTOMER, C_PAY_CURRENCY, C_PAY_MINOR, C_PAY_EXP, C_PAY_INVOICE,
    C_ADJ_KIND, C_ADJ_DATE, C_ADJ_CUSTOMER, C_ADJ_CURRENCY, C_ADJ_MINOR, C_ADJ_EXP,
    C_ADJ_INVOICE,
    C_ALLOC_PAYMENT, C_ALLOC_INVOICE, C_ALLOC_MINOR, C_ALLOC_EXP,
    C_MINOR_UNITS,
    N_COLUMNS
};
static const struct {
    const char *name;
    const char *code; /* the array's type code */
    size_t size;      /* bytes an item while reading */
} columns[N_COLUMNS] = {
    {"inv_date", "i", 4}, {"inv_customer", "i", 4}, {"inv_currency", "h", 2},
    {"inv_minor", "q", 16}, {"inv_exp", "b", 1}, {"inv_flags", "B", 1},
    {"inv_due", "i", 4}, {"inv_owner", "i", 4},
    {"ins_invoice", "i", 4}, {"ins_due", "i", 4}, {"ins_minor", "q", 16},
    {"ins_exp", "b", 1},
    {"pay_date", "i", 4}, {"pay_customer", "i", 4}, {"pay_currency", "h", 2},
    {"pay_minor", "q", 16}, {"pay_exp", "b", 1}, {"pay_invoice", "i", 4},
    {"adj_kind", "B", 1}, {"adj_date", "i", 4}, {"adj_customer", "i", 4},
    {"adj_currency", "h", 2}, {"adj_minor", "q", 16}, {"adj_exp", "b", 1},
    {"adj_invoice", "i", 4},
    {"alloc_payment", "i", 4}, {"alloc_invoice", "i", 4}, {"alloc_minor", "q", 16},
    {"alloc_exp", "b", 1},
    {"minor_units", "b", 1},
};

/* The lists returned beside them: ids (the view's invoices, then the names
 * not in it), the refs of payments and adjustments, the records' own amounts
 * (§4.3), and the (invoice index, Discount) pairs. */
enum {
    L_IDS, L_REFS, L_ADJ_IDS, L_INV_AMOUNTS, L_INS_AMOUNTS, L_PAY_AMOUNTS,
    L_ADJ_AMOUNTS, L_ALLOC_AMOUNTS, L_DISCOUNTED, N_LISTS
};
static const char *list_names[N_LISTS] = {
    "ids", "refs", "adj_ids", "inv_amounts", "ins_amounts", "pay_amounts",
    "adj_amounts", "alloc_amounts", "discounted",
};

/* An adjustment's kind is its index here (adj_kind). */
static const char *adjustment_kinds[3] = {"credit_note", "write_off", "discount"};
static PyObject *S_adjustment_kinds[3];

typedef struct {
    char *data;
    Py_ssize_t n, cap;
} Column;

/* A table by objects themselves (their addresses), over a dict by value:
 * the loader shares one string per customer, currency and invoice id, so most
 * lookups find the object here without hashing and comparing it. An object
 * is held while in the table (`owned`), or by a list that outlives it, so
 * another object is never met at the same address. */
typedef struct {
    PyObject *key; /* NULL: empty */
    int32_t value;
} PtrSlot;

typedef struct {
    PtrSlot *slots;
    size_t mask;
    Py_ssize_t n;
    int owned;
} PtrTable;

static inline size_t ptr_hash(const PyObject *key) {
    return (size_t)((uint64_t)(uintptr_t)key * 0x9E3779B97F4A7C15ull >> 20);
}

/* The value of `key`, or -1. */
static inline int32_t ptr_get(const PtrTable *t, const PyObject *key) {
    if (t->slots == NULL) return -1;
    for (size_t at = ptr_hash(key) & t->mask; t->slots[at].key; at = (at + 1) & t->mask)
        if (t->slots[at].key == key) return t->slots[at].value;
    return -1;
}

/* Enter `key` -> `value` (a key there already takes it), doubling the table
 * past half full. */
static int ptr_put(PtrTable *t, PyObject *key, int32_t value) {
    if (t->slots == NULL || (size_t)(t->n + 1) * 2 > t->mask + 1) {
        size_t size = t->slots ? 2 * (t->mask + 1) : 64;
        PtrSlot *grown = PyMem_RawCalloc(size, sizeof(PtrSlot));
        if (grown == NULL) {
            no_memory();
            return -1;
        }
        for (size_t k = 0; t->slots != NULL && k <= t->mask; k++) {
            if (t->slots[k].key == NULL) continue;
            size_t at = ptr_hash(t->slots[k].key) & (size - 1);
            while (grown[at].key != NULL) at = (at + 1) & (size - 1);
            grown[at] = t->slots[k];
        }
        PyMem_RawFree(t->slots);
        t->slots = grown;
        t->mask = size - 1;
    }
    size_t at = ptr_hash(key) & t->mask;
    while (t->slots[at].key != NULL && t->slots[at].key != key) at = (at + 1) & t->mask;
    if (t->slots[at].key == NULL) {
        t->slots[at].key = t->owned ? Py_NewRef(key) : key;
        t->n++;
    }
    t->slots[at].value = value;
    return 0;
}

static void ptr_free(PtrTable *t) {
    for (size_t k = 0; t->owned && t->slots != NULL && k <= t->mask; k++)
        Py_XDECREF(t->slots[k].key);
    PyMem_RawFree(t->slots);
    t->slots = NULL;
    t->n = 0;
}

/* What `read` is given besides the records (docs/columnar-kernel.md §4.1). */
enum {
    T_CUSTOMERS, T_CURRENCIES, T_OWNERS, T_CUSTOMER_CURRENCY, T_TERMS,
    T_CUSTOMER_DISCOUNT, T_BASE, T_DEFAULT_TERMS, T_CURRENCY_OF, T_MINOR_UNITS, T_ROWS,
    N_TABLES
};
static const char *table_names[N_TABLES] = {
    "customers", "currencies", "owners", "customer_currency", "terms",
    "customer_discount", "base", "default_terms", "currency_of", "minor_units", "rows",
};

typedef struct {
    Layout invoice, payment, adjustment;
    Column cols[N_COLUMNS];
    PyObject *lists[N_LISTS]; /* owned */
    PyObject *tables[N_TABLES]; /* owned; the fields below are among them */
    /* the codes, extended as new values are met (the caller's dicts) */
    PyObject *customers, *currencies, *owners;
    /* per customer code, for the customers of the ledger: currency codes,
     * terms, discounts (None or a Discount); the others: base, default */
    Py_buffer customer_currency, terms; /* held while `held` */
    int held;
    PyObject *customer_discount;
    PyObject *base, *currency_of, *minor_units;
    long default_terms;
    long base_code; /* -1 until met */
    /* the id table over `ids` */
    IdSlot *slots;
    size_t mask;
    /* the view's invoices by their id objects (held by `ids`): the loader
     * gives a record naming an invoice that invoice's own id, so most names
     * are found without reading the id's hash or `ids`. Not used once two
     * of the view's invoices have equal ids (by value, the last wins). */
    PtrTable invoices_by_id;
    int equal_ids;
    /* the codes of customers and currencies by their objects (held) */
    PtrTable customers_by_object, currencies_by_object;
} Reader;

/* Room in each column from `first` to `last` for `n` items: one allocation
 * each, where doubling would copy and touch its pages again. */
static int columns_reserve(Column *cols, int first, int last, Py_ssize_t n) {
    for (int k = first; k <= last; k++) {
        Column *c = &cols[k];
        if (n <= c->cap) continue;
        void *grown = PyMem_RawRealloc(c->data, (size_t)n * columns[k].size);
        if (grown == NULL) {
            no_memory();
            return -1;
        }
        c->data = grown;
        c->cap = n;
    }
    return 0;
}

static int column_push(Column *c, const void *x, size_t size) {
    if (room(&c->data, c->n, &c->cap, size, 256) < 0) return -1;
    memcpy(c->data + (size_t)c->n * size, x, size);
    c->n++;
    return 0;
}

static int push_i32(Reader *R, int column, long x) {
    int32_t v = (int32_t)x;
    return column_push(&R->cols[column], &v, sizeof v);
}

static int push_i16(Reader *R, int column, long x) {
    int16_t v = (int16_t)x;
    return column_push(&R->cols[column], &v, sizeof v);
}

static int push_i8(Reader *R, int column, int x) {
    int8_t v = (int8_t)x;
    return column_push(&R->cols[column], &v, sizeof v);
}

static void reader_free(Reader *R) {
    for (int k = 0; k < N_COLUMNS; k++) PyMem_RawFree(R->cols[k].data);
    for (int k = 0; k < N_LISTS; k++) Py_XDECREF(R->lists[k]);
    if (R->held) {
        PyBuffer_Release(&R->customer_currency);
        PyBuffer_Release(&R->terms);
    }
    PyMem_RawFree(R->slots);
    ptr_free(&R->invoices_by_id);
    ptr_free(&R->customers_by_object);
    ptr_free(&R->currencies_by_object);
    for (int k = 0; k < N_TABLES; k++) Py_XDECREF(R->tables[k]);
}

/* A held view of `value`, a buffer of items of type `code` (array('h') and
 * the like), else a TypeError naming it. */
static int buffer_of(PyObject *value, char code, Py_ssize_t size, const char *name,
                     Py_buffer *view) {
    if (PyObject_GetBuffer(value, view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) return -1;
    const char *format = view->format != NULL ? view->format : "B";
    size_t length = strlen(format);
    if (view->itemsize != size || length == 0 || format[length - 1] != code) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_TypeError, "%s: a buffer of '%c' items", name, code);
        return -1;
    }
    return 0;
}

/* The code of `key` in `codes` (dict: value -> its position), entered as
 * the next one when new; below `limit`. -1 with an error set. */
static long code_in(PyObject *codes, PyObject *key, long limit, const char *what) {
    PyObject *found = PyDict_GetItemWithError(codes, key);
    if (found != NULL) {
        long code = PyLong_AsLong(found);
        if (code == -1 && PyErr_Occurred()) return -1;
        return code;
    }
    if (PyErr_Occurred()) return -1;
    Py_ssize_t n = PyDict_GET_SIZE(codes);
    if (n >= limit) {
        PyErr_Format(PyExc_ValueError, "more %s than the columns' codes hold", what);
        return -1;
    }
    PyObject *number = PyLong_FromSsize_t(n);
    if (number == NULL) return -1;
    int failed = PyDict_SetItem(codes, key, number);
    Py_DECREF(number);
    return failed ? -1 : (long)n;
}

/* The code of `key` as code_in gives it, found first by the object itself:
 * at most 65,536 objects a table are kept (where strings are not shared,
 * the rest go by value). */
static long code_of(PtrTable *t, PyObject *codes, PyObject *key, long limit,
                    const char *what) {
    int32_t found = ptr_get(t, key);
    if (found >= 0) return found;
    long code = code_in(codes, key, limit, what);
    if (code >= 0 && t->n < 65536 && ptr_put(t, key, (int32_t)code) < 0) return -1;
    return code;
}

/* Each code of `codes` is its position (the order of the dict), as
 * `code_in` enters them, so that the dict's keys list them by code. */
static int codes_in_order(PyObject *codes, const char *name) {
    if (!PyDict_Check(codes)) {
        PyErr_Format(PyExc_TypeError, "%s: a dict of codes", name);
        return -1;
    }
    PyObject *key, *value;
    Py_ssize_t pos = 0, k = 0;
    while (PyDict_Next(codes, &pos, &key, &value)) {
        if (!PyLong_CheckExact(value) || PyLong_AsSsize_t(value) != k++) {
            PyErr_Format(PyExc_ValueError, "%s: each code is its position", name);
            return -1;
        }
    }
    return 0;
}

/* reference: _Engine.account's currency, its minor units asked once. The code of
 * `currency`, its minor units in C_MINOR_UNITS. */
static long currency_code(Reader *R, PyObject *currency) {
    long code = code_of(&R->currencies_by_object, R->currencies, currency,
                        INT16_MAX + 1L, "currencies");
    if (code < 0) return -1;
    Column *mu = &R->cols[C_MINOR_UNITS];
    if (code < mu->n) return code;
    PyObject *places = PyObject_CallOneArg(R->minor_units, currency);
    if (places == NULL) return -1;
    long n = PyLong_AsLong(places);
    Py_DECREF(places);
    if (n == -1 && PyErr_Occurred()) return -1;
    if (n < 0 || n > 36) {
        PyErr_Format(PyExc_ValueError, "minor units of %R: %ld", currency, n);
        return -1;
    }
    return push_i8(R, C_MINOR_UNITS, (int)n) < 0 ? -1 : code;
}

static int mu_of(Reader *R, long currency) {
    return ((int8_t *)R->cols[C_MINOR_UNITS].data)[currency];
}

/* reference: _Engine.run's Ledger.currency_of for an invoice without one: its
 * customer's (`customer_currency`), else `base`. */
static long customers_currency(Reader *R, long customer) {
    Py_ssize_t n = R->customer_currency.len / 2;
    if (customer < n) return ((int16_t *)R->customer_currency.buf)[customer];
    if (R->base_code < 0) R->base_code = currency_code(R, R->base);
    return R->base_code;
}

/* A record's currency: its own (true), else `theirs` (borrowed) when given,
 * else `currency_of(record)`. -1 with an error set. */
static long currency_at(Reader *R, PyObject *currency, PyObject *record) {
    int given = PyObject_IsTrue(currency);
    if (given < 0) return -1;
    if (given) return currency_code(R, currency);
    PyObject *found = PyObject_CallOneArg(R->currency_of, record);
    if (found == NULL) return -1;
    long code = currency_code(R, found);
    Py_DECREF(found);
    return code;
}

/* `amount` in minor units of `mu` places, and its exponent, into the
 * columns from `column` (minor, then exp); the object into `list`. */
static int push_amount(Reader *R, int column, int list, PyObject *amount, int mu) {
    money minor;
    int8_t exp;
    if (amount_of(amount, mu, &minor, &exp) < 0) return -1;
    if (column_push(&R->cols[column], &minor, sizeof minor) < 0 ||
        column_push(&R->cols[column + 1], &exp, sizeof exp) < 0)
        return -1;
    return PyList_Append(R->lists[list], amount);
}

/* Room in the id table for `count` ids, doubling it past half full. A slot's
 * place is its hash's low bits, which its tag keeps: no id is hashed again. */
static int id_room(Reader *R, Py_ssize_t count) {
    size_t size = R->mask + 1;
    if ((size_t)count * 2 <= size) return 0;
    size_t bigger = 2 * size;
    IdSlot *grown = PyMem_RawMalloc(bigger * sizeof(IdSlot));
    if (grown == NULL) {
        no_memory();
        return -1;
    }
    memset(grown, 0xff, bigger * sizeof(IdSlot));
    for (size_t k = 0; k < size; k++) {
        if (R->slots[k].invoice < 0) continue;
        size_t at = R->slots[k].hash & (bigger - 1);
        while (grown[at].invoice >= 0) at = (at + 1) & (bigger - 1);
        grown[at] = R->slots[k];
    }
    PyMem_RawFree(R->slots);
    R->slots = grown;
    R->mask = bigger - 1;
    return 0;
}

/* reference: _Engine.receive_for's invoice_id. The index in `ids` of an invoice a
 * record names; a name not in the view is added after the view's invoices. */
static int32_t named(Reader *R, PyObject *id) {
    if (!R->equal_ids) {
        int32_t found = ptr_get(&R->invoices_by_id, id);
        if (found >= 0) return found;
    }
    PyObject *ids = R->lists[L_IDS];
    const char *keys = (const char *)PySequence_Fast_ITEMS(ids);
    int32_t found = id_find(R->slots, R->mask, keys, sizeof(PyObject *), id, 0, 0);
    if (found != -1) return found < 0 ? -1 : found;
    Py_ssize_t n = PyList_GET_SIZE(ids);
    if (n >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "more invoice ids than the columns' codes hold");
        return -1;
    }
    if (id_room(R, n + 1) < 0 || PyList_Append(ids, id) < 0) return -1;
    keys = (const char *)PySequence_Fast_ITEMS(ids);
    found = id_find(R->slots, R->mask, keys, sizeof(PyObject *), id, 1, (int32_t)n);
    return found < 0 ? -1 : found;
}

/* The index a record's `invoice` field names, or -1 (none); -2 with an
 * error set. Steals `invoice`. */
static int32_t named_invoice(Reader *R, PyObject *invoice) {
    int given = PyObject_IsTrue(invoice);
    int32_t found = given < 0 ? -2 : !given ? -1 : named(R, invoice);
    if (given > 0 && found == -1) found = -2;
    Py_DECREF(invoice);
    return found;
}

/* reference: _Engine.issue: invoice `i` and its instalments. */
static int read_invoice(Reader *R, PyObject *record, Py_ssize_t i) {
    int status = -1;
    const Layout *L = &R->invoice;
    PyObject *id = NULL, *customer = NULL, *currency = NULL, *amount = NULL,
             *disputed = NULL, *schedule = NULL, *parts = NULL, *due = NULL, *owner = NULL,
             *offer = NULL;
    int32_t date;
    if ((id = get(L, record, F_ID)) == NULL || PyList_Append(R->lists[L_IDS], id) < 0 ||
        id_room(R, PyList_GET_SIZE(R->lists[L_IDS])) < 0)
        goto done;
    const char *keys = (const char *)PySequence_Fast_ITEMS(R->lists[L_IDS]);
    int32_t replaced = id_find(R->slots, R->mask, keys, sizeof(PyObject *), id, 1, (int32_t)i);
    if (replaced == -2) goto done;
    if (replaced != i) R->equal_ids = 1; /* names are found by value alone */
    else if (!R->equal_ids && ptr_put(&R->invoices_by_id, id, (int32_t)i) < 0) goto done;
    if (day_at(L, record, F_DATE, "an invoice's date is a date", &date) < 0 ||
        push_i32(R, C_INV_DATE, date) < 0)
        goto done;
    if ((customer = get(L, record, F_CUSTOMER)) == NULL) goto done;
    long c = code_of(&R->customers_by_object, R->customers, customer, INT32_MAX,
                     "customers");
    if (c < 0 || push_i32(R, C_INV_CUSTOMER, c) < 0) goto done;
    /* reference: _Engine.run's Ledger.currency_of for an invoice */
    if ((currency = get(L, record, F_CURRENCY)) == NULL) goto done;
    int given = PyObject_IsTrue(currency);
    if (given < 0) goto done;
    long k = given ? currency_code(R, currency) : customers_currency(R, c);
    if (k < 0 || push_i16(R, C_INV_CURRENCY, k) < 0) goto done;
    int mu = mu_of(R, k);
    if ((amount = get(L, record, F_AMOUNT)) == NULL ||
        push_amount(R, C_INV_MINOR, L_INV_AMOUNTS, amount, mu) < 0)
        goto done;
    if ((disputed = get(L, record, F_DISPUTED)) == NULL) goto done;
    int is_disputed = PyObject_IsTrue(disputed);
    if (is_disputed < 0 || push_i8(R, C_INV_FLAGS, is_disputed) < 0) goto done;
    /* the instalments, read by name as issue reads them, in the order written */
    if ((schedule = get(L, record, F_SCHEDULE)) == NULL) goto done;
    int scheduled = PyObject_IsTrue(schedule);
    if (scheduled < 0) goto done;
    int32_t last_due = INT32_MIN;
    if (scheduled) {
        if ((parts = PySequence_Fast(schedule, "a schedule is a sequence")) == NULL) goto done;
        for (Py_ssize_t n = 0; n < PySequence_Fast_GET_SIZE(parts); n++) {
            PyObject *part = PySequence_Fast_GET_ITEM(parts, n);
            PyObject *part_due = PyObject_GetAttr(part, field_names[F_DUE]);
            if (part_due == NULL) goto done;
            int is_date = PyDate_Check(part_due);
            int32_t day = is_date ? ordinal_of(part_due) : 0;
            Py_DECREF(part_due);
            if (!is_date) {
                PyErr_SetString(PyExc_TypeError, "an instalment's due date is a date");
                goto done;
            }
            if (day > last_due) last_due = day;
            PyObject *part_amount = PyObject_GetAttr(part, field_names[F_AMOUNT]);
            if (part_amount == NULL) goto done;
            int failed = push_i32(R, C_INS_INVOICE, (long)i) < 0 ||
                         push_i32(R, C_INS_DUE, day) < 0 ||
                         push_amount(R, C_INS_MINOR, L_INS_AMOUNTS, part_amount, mu) < 0;
            Py_DECREF(part_amount);
            if (failed) goto done;
        }
    }
    /* reference: Ledger.due_of: given, else the last instalment's, else the
     * date plus the customer's terms (issue's terms, else default_terms) */
    if ((due = get(L, record, F_DUE)) == NULL) goto done;
    int32_t due_day;
    if (due != Py_None) {
        if (!PyDate_Check(due)) {
            PyErr_SetString(PyExc_TypeError, "an invoice's due date is a date");
            goto done;
        }
        due_day = ordinal_of(due);
    } else if (scheduled && last_due != INT32_MIN) {
        due_day = last_due;
    } else {
        Py_ssize_t n = R->terms.len / 4;
        long days = c < n ? ((int32_t *)R->terms.buf)[c] : R->default_terms;
        due_day = date + (int32_t)days;
    }
    if (push_i32(R, C_INV_DUE, due_day) < 0) goto done;
    /* reference: reference_settle's item_owner: a falsy owner is none (the
     * customer's then) */
    if ((owner = get(L, record, F_OWNER)) == NULL) goto done;
    int has_owner = PyObject_IsTrue(owner);
    if (has_owner < 0) goto done;
    long o = has_owner ? code_in(R->owners, owner, INT32_MAX, "owners") : -1;
    if ((has_owner && o < 0) || push_i32(R, C_INV_OWNER, o) < 0) goto done;
    /* reference: _Engine.issue's discount_of: SPEC §9, the invoice's discount,
     * else its customer's */
    if ((offer = get(L, record, F_DISCOUNT)) == NULL) goto done;
    int own = PyObject_IsTrue(offer);
    if (own < 0) goto done;
    if (!own) {
        Py_SETREF(offer, c < PyList_GET_SIZE(R->customer_discount)
                             ? Py_NewRef(PyList_GET_ITEM(R->customer_discount, c))
                             : Py_NewRef(Py_None));
        own = offer != Py_None;
    }
    if (own) {
        PyObject *pair = Py_BuildValue("nO", i, offer);
        if (pair == NULL) goto done;
        int failed = PyList_Append(R->lists[L_DISCOUNTED], pair);
        Py_DECREF(pair);
        if (failed) goto done;
    }
    status = 0;
done:
    Py_XDECREF(id);
    Py_XDECREF(customer);
    Py_XDECREF(currency);
    Py_XDECREF(amount);
    Py_XDECREF(disputed);
    Py_XDECREF(schedule);
    Py_XDECREF(parts);
    Py_XDECREF(due);
    Py_XDECREF(owner);
    Py_XDECREF(offer);
    return status;
}

/* reference: _Engine.receive: the fields a payment (`p`, with its ref) or an
 * adjustment has in common. The currency's minor units, or -1. */
static int read_received(Reader *R, const Layout *L, PyObject *record, int column) {
    /* columns from `column`: date, customer, currency, minor, exp */
    PyObject *customer = NULL, *currency = NULL, *amount = NULL;
    int mu = -1;
    int32_t date;
    if (day_at(L, record, F_DATE, "a record's date is a date", &date) < 0 ||
        push_i32(R, column, date) < 0)
        goto done;
    if ((customer = get(L, record, F_CUSTOMER)) == NULL) goto done;
    long c = code_of(&R->customers_by_object, R->customers, customer, INT32_MAX,
                     "customers");
    if (c < 0 || push_i32(R, column + 1, c) < 0) goto done;
    if ((currency = get(L, record, F_CURRENCY)) == NULL) goto done;
    long k = currency_at(R, currency, record);
    if (k < 0 || push_i16(R, column + 2, k) < 0) goto done;
    int list = column == C_PAY_DATE ? L_PAY_AMOUNTS : L_ADJ_AMOUNTS;
    if ((amount = get(L, record, F_AMOUNT)) == NULL ||
        push_amount(R, column + 3, list, amount, mu_of(R, k)) < 0)
        goto done;
    mu = mu_of(R, k);
done:
    Py_XDECREF(customer);
    Py_XDECREF(currency);
    Py_XDECREF(amount);
    return mu;
}

/* reference: _Engine.receive and _named: payment `p`, its ref, its allocations
 * (in the order of `dict(allocations)`, as Payment.targets gives them). */
static int read_payment(Reader *R, PyObject *record, Py_ssize_t p, PyObject *refs) {
    const Layout *L = &R->payment;
    PyObject *ref = refs != Py_None ? NULL : get(L, record, F_ID);
    if (refs == Py_None && (ref == NULL || PyList_Append(R->lists[L_REFS], ref) < 0)) {
        Py_XDECREF(ref);
        return -1;
    }
    Py_XDECREF(ref);
    int mu = read_received(R, L, record, C_PAY_DATE);
    if (mu < 0) return -1;
    PyObject *allocations = get(L, record, F_ALLOCATIONS);
    if (allocations == NULL) return -1;
    int any = PyObject_IsTrue(allocations);
    if (any <= 0) {
        Py_DECREF(allocations);
        if (any < 0) return -1;
        PyObject *invoice = get(L, record, F_INVOICE);
        int32_t i = invoice != NULL ? named_invoice(R, invoice) : -2;
        return i == -2 ? -1 : push_i32(R, C_PAY_INVOICE, i);
    }
    /* allocations replace the invoice named (receive: goto left_over) */
    PyObject *targets = PyDict_CheckExact(allocations)
                            ? Py_NewRef(allocations)
                            : PyObject_CallOneArg((PyObject *)&PyDict_Type, allocations);
    Py_DECREF(allocations);
    if (targets == NULL) return -1;
    int status = push_i32(R, C_PAY_INVOICE, -1);
    PyObject *id, *limit;
    Py_ssize_t pos = 0;
    while (status == 0 && PyDict_Next(targets, &pos, &id, &limit)) {
        if (limit == Py_None) {
            PyErr_SetString(PyExc_ValueError, "an allocation has an amount");
            status = -1;
            break;
        }
        int32_t i = named(R, id);
        status = i < 0 || push_i32(R, C_ALLOC_PAYMENT, (long)p) < 0 ||
                 push_i32(R, C_ALLOC_INVOICE, i) < 0 ||
                 push_amount(R, C_ALLOC_MINOR, L_ALLOC_AMOUNTS, limit, mu) < 0
                     ? -1
                     : 0;
    }
    Py_DECREF(targets);
    return status;
}

/* reference: _Engine.run: an adjustment, its id (its ref) and its kind. */
static int read_adjustment(Reader *R, PyObject *record) {
    const Layout *L = &R->adjustment;
    PyObject *id = get(L, record, F_ID);
    if (id == NULL) return -1;
    int failed = PyList_Append(R->lists[L_ADJ_IDS], id);
    Py_DECREF(id);
    if (failed) return -1;
    PyObject *kind = get(L, record, F_KIND);
    if (kind == NULL) return -1;
    int code = -1;
    for (int k = 0; k < 3 && code < 0; k++) {
        int same = PyObject_RichCompareBool(kind, S_adjustment_kinds[k], Py_EQ);
        if (same < 0) {
            Py_DECREF(kind);
            return -1;
        }
        if (same) code = k;
    }
    if (code < 0) PyErr_Format(PyExc_ValueError, "an adjustment of kind %R", kind);
    Py_DECREF(kind);
    if (code < 0 || push_i8(R, C_ADJ_KIND, code) < 0) return -1;
    if (read_received(R, L, record, C_ADJ_DATE) < 0) return -1;
    PyObject *invoice = get(L, record, F_INVOICE);
    int32_t i = invoice != NULL ? named_invoice(R, invoice) : -2;
    return i == -2 ? -1 : push_i32(R, C_ADJ_INVOICE, i);
}

/* An array.array of type `code` holding `bytes` bytes at `data`. */
static PyObject *array_of(PyObject *array_type, const char *code, const void *data,
                          Py_ssize_t bytes) {
    PyObject *made = PyObject_CallFunction(array_type, "s", code);
    if (made == NULL || bytes == 0) return made;
    PyObject *view = PyMemoryView_FromMemory((char *)data, bytes, PyBUF_READ);
    PyObject *done = view ? PyObject_CallMethod(made, "frombytes", "O", view) : NULL;
    Py_XDECREF(view);
    if (done == NULL) Py_CLEAR(made);
    Py_XDECREF(done);
    return made;
}

/* An amount column as int64, or (`wide`) as two int64 words each, low then
 * high: arrow decimal128's layout (§1.6), which is money's own in memory.
 * Narrowed in place (item k's 8 bytes go where item k/2 was, already read):
 * no second buffer beside the column. */
static PyObject *amounts_array(PyObject *array_type, Column *c, int wide) {
    if (!wide) {
        const money *values = (const money *)c->data;
        int64_t *out = (int64_t *)c->data;
        for (Py_ssize_t k = 0; k < c->n; k++) out[k] = (int64_t)values[k];
    }
    Py_ssize_t words = wide ? 2 * c->n : c->n;
    return array_of(array_type, "q", c->data, words * (Py_ssize_t)sizeof(int64_t));
}

/* Whether an amount of the columns does not fit in an int64. */
static int any_wide(const Reader *R) {
    for (int k = 0; k < N_COLUMNS; k++) {
        if (columns[k].size != sizeof(money)) continue;
        const money *values = (const money *)R->cols[k].data;
        for (Py_ssize_t j = 0; j < R->cols[k].n; j++)
            if (values[j] > INT64_MAX || values[j] < INT64_MIN) return 1;
    }
    return 0;
}

/* The result of `read`: each column, list and code table under its name. */
static PyObject *columns_of(Reader *R, PyObject *refs) {
    PyObject *array_module = PyImport_ImportModule("array");
    if (array_module == NULL) return NULL;
    PyObject *array_type = PyObject_GetAttrString(array_module, "array");
    Py_DECREF(array_module);
    if (array_type == NULL) return NULL;
    int wide = any_wide(R);
    PyObject *result = PyDict_New();
    for (int k = 0; result != NULL && k < N_COLUMNS; k++) {
        Column *c = &R->cols[k];
        PyObject *made = columns[k].size == sizeof(money)
                             ? amounts_array(array_type, c, wide)
                             : array_of(array_type, columns[k].code, c->data,
                                        c->n * (Py_ssize_t)columns[k].size);
        if (made == NULL || PyDict_SetItemString(result, columns[k].name, made) < 0)
            Py_CLEAR(result);
        Py_XDECREF(made);
        /* copied: let go now, not with the reader, so that the columns are
         * never all held twice */
        PyMem_RawFree(c->data);
        c->data = NULL;
        c->n = c->cap = 0;
    }
    Py_DECREF(array_type);
    for (int k = 0; result != NULL && k < N_LISTS; k++) {
        PyObject *list = k == L_REFS && refs != Py_None ? refs : R->lists[k];
        if (PyDict_SetItemString(result, list_names[k], list) < 0) Py_CLEAR(result);
    }
    const char *names[3] = {"customers", "currencies", "owners"};
    PyObject *codes[3] = {R->customers, R->currencies, R->owners};
    for (int k = 0; result != NULL && k < 3; k++) {
        PyObject *keys = PyDict_Keys(codes[k]);
        if (keys == NULL || PyDict_SetItemString(result, names[k], keys) < 0)
            Py_CLEAR(result);
        Py_XDECREF(keys);
    }
    if (result != NULL && PyDict_SetItemString(result, "wide", wide ? Py_True : Py_False) < 0)
        Py_CLEAR(result);
    return result;
}

PyDoc_STRVAR(read_doc,
"read(invoices, adjustments, payments, refs, tables, /) -> dict\n\n"
"The columns of records already in SPEC \xc2\xa7" "2 order (each list by date, then\n"
"id; refs: the payments' refs, or None to read their ids), which `run`\n"
"replays: docs/columnar-kernel.md \xc2\xa7" "1 and \xc2\xa7" "4.1. `tables` gives the codes\n"
"(customers, currencies, owners: dicts extended here), per customer code\n"
"customer_currency (array 'h'), terms (array 'i') and customer_discount\n"
"(list), and minor_units, base, default_terms, currency_of (for a payment\n"
"or adjustment without a currency) and rows (the row types).");

/* Ready `R` for reading: `tables` (docs/columnar-kernel.md §4.1) taken and
 * checked, the lists made, the currencies given coded with their minor units,
 * an id table for `n_invoices`. reader_free lets go of it on every path. */
static int reader_open(Reader *R, PyObject *tables, Py_ssize_t n_invoices) {
    memset(R, 0, sizeof *R);
    R->base_code = -1;
    R->customers_by_object.owned = R->currencies_by_object.owned = 1;
    /* held to the end: the callbacks may run any code */
    for (int k = 0; k < N_TABLES; k++) {
        PyObject *value = PyDict_GetItemString(tables, table_names[k]);
        if (value == NULL) {
            PyErr_Format(PyExc_KeyError, "read's tables lack %s", table_names[k]);
            return -1;
        }
        R->tables[k] = Py_NewRef(value);
    }
    R->customers = R->tables[T_CUSTOMERS];
    R->currencies = R->tables[T_CURRENCIES];
    R->owners = R->tables[T_OWNERS];
    R->customer_discount = R->tables[T_CUSTOMER_DISCOUNT];
    R->base = R->tables[T_BASE];
    R->currency_of = R->tables[T_CURRENCY_OF];
    R->minor_units = R->tables[T_MINOR_UNITS];
    R->default_terms = PyLong_AsLong(R->tables[T_DEFAULT_TERMS]);
    if (R->default_terms == -1 && PyErr_Occurred()) return -1;
    if (codes_in_order(R->customers, "customers") < 0 ||
        codes_in_order(R->currencies, "currencies") < 0 ||
        codes_in_order(R->owners, "owners") < 0)
        return -1;
    if (!PyList_Check(R->customer_discount)) {
        PyErr_SetString(PyExc_TypeError, "customer_discount: a list");
        return -1;
    }
    if (layouts_of(R->tables[T_ROWS], &R->invoice, &R->payment, &R->adjustment) < 0)
        return -1;
    if (buffer_of(R->tables[T_CUSTOMER_CURRENCY], 'h', 2, "customer_currency",
                  &R->customer_currency) < 0)
        return -1;
    if (buffer_of(R->tables[T_TERMS], 'i', 4, "terms", &R->terms) < 0) {
        PyBuffer_Release(&R->customer_currency);
        return -1;
    }
    R->held = 1;
    for (int k = 0; k < N_LISTS; k++)
        if ((R->lists[k] = PyList_New(0)) == NULL) return -1;
    /* the minor units of the currencies given, then of each met */
    PyObject *currency, *code;
    Py_ssize_t pos = 0;
    while (PyDict_Next(R->currencies, &pos, &currency, &code)) {
        Py_INCREF(currency);
        long made = currency_code(R, currency);
        Py_DECREF(currency);
        if (made < 0) return -1;
    }
    Py_ssize_t n = R->customer_currency.len / 2;
    for (Py_ssize_t c = 0; c < n; c++) {
        int16_t k = ((int16_t *)R->customer_currency.buf)[c];
        if (k < 0 || k >= R->cols[C_MINOR_UNITS].n) {
            PyErr_SetString(PyExc_ValueError, "customer_currency: a currency's code");
            return -1;
        }
    }
    if (n_invoices >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "more invoices than the columns' codes hold");
        return -1;
    }
    if (id_table_new(&R->slots, &R->mask, n_invoices) < 0) return -1;
    /* the view's invoices by their ids: at most half full, never grown */
    R->invoices_by_id.mask = R->mask;
    R->invoices_by_id.slots = PyMem_RawCalloc(R->mask + 1, sizeof(PtrSlot));
    if (R->invoices_by_id.slots == NULL) {
        no_memory();
        return -1;
    }
    return 0;
}

/* Every record into the columns: each held while read (a callback may change
 * the lists); the invoices first, so that names find them, then as the
 * signature lists them. */
static int reader_fill(Reader *R, PyObject *invoices, PyObject *adjustments,
                       PyObject *payments, PyObject *refs) {
    PyObject *lists[3] = {invoices, adjustments, payments};
    if (columns_reserve(R->cols, C_INV_DATE, C_INV_OWNER, PyList_GET_SIZE(invoices)) < 0 ||
        columns_reserve(R->cols, C_PAY_DATE, C_PAY_INVOICE, PyList_GET_SIZE(payments)) < 0 ||
        columns_reserve(R->cols, C_ADJ_KIND, C_ADJ_INVOICE, PyList_GET_SIZE(adjustments)) < 0)
        return -1;
    for (int kind = 0; kind < 3; kind++) {
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(lists[kind]); k++) {
            PyObject *record = Py_NewRef(PyList_GET_ITEM(lists[kind], k));
            int failed = kind == 0   ? read_invoice(R, record, k)
                         : kind == 1 ? read_adjustment(R, record)
                                     : read_payment(R, record, k, refs);
            Py_DECREF(record);
            if (failed) return -1;
        }
    }
    return 0;
}

static PyObject *read_records(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *invoices, *adjustments, *payments, *refs, *tables;
    if (!PyArg_ParseTuple(args, "O!O!O!OO!:read", &PyList_Type, &invoices, &PyList_Type,
                          &adjustments, &PyList_Type, &payments, &refs, &PyDict_Type,
                          &tables))
        return NULL;
    if (refs != Py_None &&
        (!PyList_Check(refs) || PyList_GET_SIZE(refs) != PyList_GET_SIZE(payments))) {
        PyErr_SetString(PyExc_TypeError, "refs: a list beside the payments, or None");
        return NULL;
    }
    Reader reader, *R = &reader;
    PyObject *result = NULL;
    if (reader_open(R, tables, PyList_GET_SIZE(invoices)) == 0 &&
        reader_fill(R, invoices, adjustments, payments, refs) == 0)
        result = columns_of(R, refs);
    reader_free(R);
    return result;
}

/* ------------------------------------------------------------- the replay */

/* The replay reads the columns `read` made (docs/columnar-kernel.md §2): no
 * record is looked at again and no reference is taken per record (works and
 * invoices keep borrowed pointers into the lists below, which hold them).
 * The Python objects of the results come from the lists beside the columns
 * (ids, refs, the codes' values and, by default, the records' own amounts)
 * and a per-day cache of dates. */

/* A work's `amount` is its record's own Decimal, borrowed from the amount
 * lists (taken in order as the invoices are issued: an item or application
 * then finds it beside `open`, not at a random place of a list of a million);
 * or, without the lists, one rebuilt from its minor units and exponent when
 * first shown (owned). */
typedef struct {
    money open;
    int32_t due;      /* ordinal */
    int32_t inst;     /* instalment number; 0: none */
    int32_t inv;      /* index in the invoices, in SPEC §2 order */
    uint8_t touched;  /* anything applied: else `open` is the amount */
    PyObject *amount; /* borrowed, or owned when rebuilt; NULL: not made yet */
} Work;

/* What is left of a payment or an adjustment, kept only while it waits or
 * sits as credit; its amount is one of the records' own when `own_kind` says
 * so (K_OWN_RECORD: the record's, `own` its index; K_OWN_ALLOCATION: the
 * allocation `own`'s). */
typedef struct {
    money amount, left;
    int32_t date;
    int32_t source;  /* the payment's or adjustment's index */
    int32_t waiting; /* the invoice (index in ids) it waits for, or -1 */
    int32_t next;    /* the next chunk waiting for it in its account, or -1 */
    int32_t own;
    uint8_t kind;    /* K_PAYMENT, or 1 + the adjustment's kind */
    uint8_t own_kind;
} Chunk;

enum { K_PAYMENT, N_KINDS = 4 };
enum { K_OWN_NONE, K_OWN_RECORD, K_OWN_ALLOCATION };

/* An invoice: where its works are, laid out before the replay
 * (order_events), then what its issue reads of its columns. */
typedef struct {
    int32_t account;    /* its account */
    int32_t first_work, n_works;
    int32_t first_ins;  /* its first instalment in the ins_ columns, or -1: none */
    int32_t date, owner; /* inv_date, inv_owner: beside the rest when met again */
    int32_t offer;      /* its early-payment discount's, or -1 */
    uint8_t disputed;
    uint8_t issued;     /* the replay has met it */
} Invoice;

/* An invoice's early-payment discount while it can still be earned (SPEC §9). */
typedef struct {
    money total, threshold; /* the invoice's amount; what must be applied */
    int32_t invoice;
    int32_t last_day;
    uint8_t open;           /* 0: earned or lapsed */
} Offer;

/* The chunks of one account waiting for one invoice (reference: the lists of
 * _Engine.waiting), chained through Chunk.next; `head` -1 once the invoice is
 * issued in the account. Entries of one invoice are chained through `next`
 * from `Engine.first_wait`. */
typedef struct {
    int32_t account, invoice, head, tail, next;
} Wait;

typedef struct {
    int32_t customer, currency; /* codes */
    Vec heap, pending, credits, items;
    Vec shown;                  /* the works its items show (lane_shown) */
    Vec waits;                  /* its Wait entries, in the order first made */
    Py_ssize_t credits_head, heap_limit, pending_limit, n_waiting;
    int mu;                     /* minor units of the currency */
    int lane;                   /* the lane that replays it (assign_lanes) */
    int listed;                 /* it has an item of the owner (lane_shown) */
    Py_ssize_t n_events;        /* its records */
} Account;

/* A record in replay order (order_events): its kind, its place among its
 * kind's records, its account and the account's lane. */
enum { EV_INVOICE, EV_PAYMENT, EV_ADJUSTMENT };

typedef struct {
    int32_t at, account;
    uint8_t kind, lane;
} Event;

/* The replay is split by account into lanes, each with the records of its
 * accounts, in replay order, and what they leave: chunks and the entries of
 * chunks waiting for an invoice. No account's record reads or changes
 * another's state, but for an invoice it names, and that only once the
 * invoice is found to be its own account's (receive_for): so the lanes run
 * at once, on threads of their own, when no Python object is made
 * (docs/columnar-kernel.md §4.4). */
#define MAX_LANES 2

typedef struct {
    Chunk *chunks;
    Py_ssize_t n_chunks, cap_chunks;
    Wait *waits;
    Py_ssize_t n_waits, cap_waits;
    int32_t *first_wait;  /* per id: its first Wait entry, or -1 */
    Py_ssize_t alloc_at;  /* the allocations' cursor, walking with the payments */
    int lane;             /* its number */
} Lane;

/* The amount lists of `read`, in this order. */
enum { A_INV, A_INS, A_PAY, A_ADJ, A_ALLOC, N_AMOUNTS };

/* The buffers run reads: read's columns (amounts as int64 words),
 * then the customers' owners and the offers (docs/columnar-kernel.md §1.3). */
enum { V_CUSTOMER_OWNER = N_COLUMNS, V_OFFER_INVOICE, V_OFFER_LAST_DAY,
       V_OFFER_THRESHOLD, N_VIEWS };

typedef struct {
    int64_t key;     /* customer code * currencies + currency code; -1: empty */
    int32_t account;
} AccountKey;

/* A list of strings run is given (ids, refs, adj_ids): a list, or the texts
 * of a column of arrow strings (its int32 offsets and its UTF-8 bytes) and a
 * list after them (docs/columnar-kernel.md §4.2). A text is made a str when
 * first shown, and kept: at a million invoices, `aging` shows 95,000 ids,
 * where a list made a million strings of them and a million of the refs. */
typedef struct {
    PyObject *list;          /* the list, or the one after the texts (owned) */
    int texts;               /* the offsets and bytes are held */
    Py_buffer offsets, data;
    Py_ssize_t n_texts;      /* the texts: offsets holds one more */
    PyObject **made;         /* per text, its str once made (owned), else NULL */
} Strings;

/* What makes the Python objects of the results: Decimal, the dates by
 * ordinal (each made once), the zeros by minor units. The engine's while it
 * runs; the items it leaves to be made later take them (ItemsObject). */
typedef struct {
    PyObject *decimal;      /* owned */
    PyObject **days;        /* ordinal - first_day -> date (owned) */
    int32_t first_day;
    Py_ssize_t n_days;
    PyObject *zeros[64];    /* minor units -> Decimal zero (owned) */
} Makers;

static void makers_free(Makers *m) {
    for (Py_ssize_t k = 0; m->days != NULL && k < m->n_days; k++) Py_XDECREF(m->days[k]);
    PyMem_RawFree(m->days);
    for (int k = 0; k < 64; k++) Py_XDECREF(m->zeros[k]);
    Py_XDECREF(m->decimal);
    memset(m, 0, sizeof *m);
}

typedef struct {
    const int32_t *inv_date, *inv_customer, *inv_due, *inv_owner, *ins_invoice, *ins_due,
        *pay_date, *pay_customer, *pay_invoice, *adj_date, *adj_customer, *adj_invoice,
        *alloc_payment, *alloc_invoice;
    const int16_t *inv_currency, *pay_currency, *adj_currency;
    /* amounts as int64 words: one each, or (`wide`) two, low then high
     * (docs/columnar-kernel.md §1.6); read through minor_at */
    const int64_t *minor[N_AMOUNTS];
    int wide;
    const int8_t *exp[N_AMOUNTS];
    const int8_t *minor_units;
    const uint8_t *inv_flags, *adj_kind;
    Py_ssize_t n_ins, n_pay, n_adj, n_alloc;
    Strings ids, refs, adj_ids;
    PyObject *amounts[N_AMOUNTS];    /* borrowed; NULL: rebuilt from the columns */
    /* the buffers read (held while `views_held`), the lists
     * above (owned here too), and the caller's dict, whose columns are let
     * go once the replay is done with them when `release` */
    Py_buffer views[N_VIEWS];
    uint8_t views_held[N_VIEWS];
    PyObject *lists_held[N_AMOUNTS];
    PyObject *given;
    int release;
    PyObject *customers, *currencies, *owners; /* the codes' values (lists, owned) */
    PyObject *kinds[N_KINDS];        /* borrowed */
    int32_t *customer_owner;         /* per customer code: an owner code, or -1 */
    Py_ssize_t n_customer_owner;
    int32_t owner;                   /* the filter: -1 none, -2 an owner no record has */
    Work *works;
    Py_ssize_t n_works, cap_works;
    Invoice *invs;
    Py_ssize_t n_invs;
    Offer *offers;
    Py_ssize_t n_offers;
    Event *events;
    Py_ssize_t n_events;
    Lane lanes[MAX_LANES];
    int n_lanes;
    Account *accounts;
    Py_ssize_t n_accounts, cap_accounts;
    /* (customer, currency) codes -> account: a dense table, or a hash when
     * that would be too big */
    int32_t *account_table;
    AccountKey *account_keys;
    size_t keys_mask;
    Py_ssize_t n_currencies;
    Makers mk;                       /* dates, zeros, Decimal */
    PyObject *applications, *discounts; /* lists */
    int history;
    int paid; /* items paid in full are returned (history and `paid`) */
    int later; /* the items are returned as an ItemsObject, to be made later */
    /* from the context */
    PyObject *item_type, *application_type, *credit_type, *early_payment;
} Engine;

static Py_ssize_t strings_len(const Strings *s) {
    return s->n_texts + (s->list ? PyList_GET_SIZE(s->list) : 0);
}

/* String `k` of `s` (below strings_len), borrowed; NULL with an error set. */
static PyObject *string_at(Strings *s, Py_ssize_t k) {
    if (k >= s->n_texts) return PyList_GET_ITEM(s->list, k - s->n_texts);
    if (s->made == NULL) {
        s->made = PyMem_RawCalloc((size_t)s->n_texts, sizeof(PyObject *));
        if (s->made == NULL) {
            no_memory();
            return NULL;
        }
    }
    if (s->made[k] == NULL) {
        const int32_t *at = s->offsets.buf;
        s->made[k] = PyUnicode_DecodeUTF8((const char *)s->data.buf + at[k], at[k + 1] - at[k],
                                          "strict");
    }
    return s->made[k];
}

static void strings_free(Strings *s) {
    for (Py_ssize_t k = 0; s->made != NULL && k < s->n_texts; k++) Py_XDECREF(s->made[k]);
    PyMem_RawFree(s->made);
    if (s->texts) {
        PyBuffer_Release(&s->offsets);
        PyBuffer_Release(&s->data);
    }
    Py_XDECREF(s->list);
    memset(s, 0, sizeof *s);
}

/* Amount `k` of a column of int64 words (`wide`: two each, low then high). */
static inline money word_at(const int64_t *words, int wide, Py_ssize_t k) {
    if (!wide) return words[k];
    return (money)(((unsigned __int128)(uint64_t)words[2 * k + 1] << 64) |
                   (uint64_t)words[2 * k]);
}

static inline money minor_at(const Engine *E, int which, Py_ssize_t k) {
    return word_at(E->minor[which], E->wide, k);
}

/* The date of an ordinal, made once per ordinal. Borrowed. */
static PyObject *date_of(Makers *m, int32_t ordinal) {
    PyObject **slot = &m->days[ordinal - m->first_day];
    if (*slot == NULL) {
        PyObject *key = PyLong_FromLong(ordinal);
        if (key == NULL) return NULL;
        *slot = PyObject_CallMethodOneArg(S_date_type, S_fromordinal, key);
        Py_DECREF(key);
    }
    return *slot;
}

/* A new Decimal of the text `p`: Decimal(str) called without a format to
 * parse (a million amounts a settlement with its history). */
static PyObject *decimal_of(Makers *m, const char *p) {
    PyObject *text = PyUnicode_FromString(p);
    if (text == NULL) return NULL;
    PyObject *made = PyObject_CallOneArg(m->decimal, text);
    Py_DECREF(text);
    return made;
}

/* A new Decimal of `value` minor units of `mu` places: a zero is shared. */
static PyObject *decimal_made(Makers *m, money value, int mu) {
    if (value == 0) {
        PyObject **zero = &m->zeros[mu];
        if (*zero == NULL) {
            char text[16];
            snprintf(text, sizeof text, "0E-%d", mu);
            *zero = PyObject_CallFunction(m->decimal, "s", text);
        }
        return Py_XNewRef(*zero);
    }
    char buffer[64];
    char *end = buffer + sizeof buffer - 1, *p = end;
    *p = '\0';
    int negative = value < 0;
    unsigned __int128 rest = negative ? -(unsigned __int128)value : (unsigned __int128)value;
    int placed = 0;
    while (rest || placed <= mu) {
        if (placed == mu && mu > 0) *--p = '.';
        *--p = (char)('0' + (int)(rest % 10));
        rest /= 10;
        placed++;
    }
    if (negative) *--p = '-';
    return decimal_of(m, p);
}

/* The record's own Decimal: amount `k` of the list `which`, or, without the
 * lists, the Decimal its minor units of `mu` places and its exponent make
 * (docs/columnar-kernel.md §1.6: "3000E-2" is 30.00). New reference. */
/* The Decimal that `minor` units of `mu` places make, written with the
 * exponent `exp` (docs/columnar-kernel.md §1.6: "3000E-2" is 30.00). New
 * reference. */
static PyObject *decimal_written(Makers *m, money minor, int exp, int mu) {
    int negative = minor < 0;
    unsigned __int128 coefficient =
        negative ? -(unsigned __int128)minor : (unsigned __int128)minor;
    for (int shift = -mu - exp; shift > 0; shift--) coefficient *= 10;
    for (int shift = exp + mu; shift > 0; shift--) coefficient /= 10; /* exact (read) */
    char buffer[64];
    char *p = buffer + sizeof buffer - 1;
    *p = '\0';
    char written[8];
    snprintf(written, sizeof written, "E%d", exp);
    for (size_t n = strlen(written); n > 0; n--) *--p = written[n - 1];
    do {
        *--p = (char)('0' + (int)(coefficient % 10));
        coefficient /= 10;
    } while (coefficient);
    if (negative) *--p = '-';
    return decimal_of(m, p);
}

/* The record's own Decimal: amount `k` of the list `which`, or, without the
 * lists, the one its minor units and exponent make (decimal_written). New
 * reference. */
static PyObject *own_amount(Engine *E, int which, Py_ssize_t k, int mu) {
    if (E->amounts[which] != NULL) return Py_NewRef(PyList_GET_ITEM(E->amounts[which], k));
    return decimal_written(&E->mk, minor_at(E, which, k), E->exp[which][k], mu);
}

/* A work's own amount (its invoice's, or its instalment's). New reference. */
static PyObject *work_amount(Engine *E, int32_t wi, int mu) {
    Work *w = &E->works[wi];
    if (w->amount == NULL) {
        Py_ssize_t k = w->inst ? E->invs[w->inv].first_ins + w->inst - 1 : w->inv;
        w->amount = own_amount(E, w->inst ? A_INS : A_INV, k, mu);
    }
    return Py_XNewRef(w->amount);
}

/* A chunk's `value`: its own amount's Decimal when equal to it, else a new
 * one. New reference. */
static PyObject *chunk_decimal(Engine *E, const Chunk *c, money value, int mu) {
    if (c->own_kind == K_OWN_NONE || value != c->amount) return decimal_made(&E->mk, value, mu);
    int which = c->own_kind == K_OWN_ALLOCATION ? A_ALLOC
                : c->kind == K_PAYMENT          ? A_PAY
                                                : A_ADJ;
    return own_amount(E, which, c->own, mu);
}

/* What a chunk is: its kind and ref (borrowed). */
static PyObject *chunk_ref(Engine *E, const Chunk *c) {
    return string_at(c->kind == K_PAYMENT ? &E->refs : &E->adj_ids, c->source);
}

/* ------------------------------------------------------------- accounts */

/* reference: _Engine.account: the account of (customer, currency) codes,
 * made when first met. */
static int32_t account_of(Engine *E, int32_t customer, int32_t currency) {
    int64_t key = (int64_t)customer * E->n_currencies + currency;
    int32_t *slot;
    if (E->account_table != NULL) {
        slot = &E->account_table[key];
    } else {
        for (size_t at = ((uint64_t)key * 0x9E3779B97F4A7C15ull >> 20) & E->keys_mask;;
             at = (at + 1) & E->keys_mask) {
            if (E->account_keys[at].key == key) return E->account_keys[at].account;
            if (E->account_keys[at].key < 0) {
                slot = &E->account_keys[at].account;
                break;
            }
        }
    }
    if (*slot >= 0) return *slot;
    if (room(&E->accounts, E->n_accounts, &E->cap_accounts, sizeof(Account), 64) < 0)
        return -1;
    int32_t index = (int32_t)E->n_accounts;
    if (E->account_table == NULL) {
        /* the slot found above is this key's; then the table grows past half full */
        AccountKey *entry = (AccountKey *)((char *)slot - offsetof(AccountKey, account));
        entry->key = key;
        entry->account = index;
        if ((size_t)(index + 1) * 2 > E->keys_mask + 1) {
            size_t size = 2 * (E->keys_mask + 1);
            AccountKey *grown = PyMem_RawMalloc(size * sizeof(AccountKey));
            if (grown == NULL) {
                no_memory();
                return -1;
            }
            memset(grown, 0xff, size * sizeof(AccountKey));
            for (size_t k = 0; k <= E->keys_mask; k++) {
                AccountKey *old = &E->account_keys[k];
                if (old->key < 0) continue;
                size_t at = ((uint64_t)old->key * 0x9E3779B97F4A7C15ull >> 20) & (size - 1);
                while (grown[at].key >= 0) at = (at + 1) & (size - 1);
                grown[at] = *old;
            }
            PyMem_RawFree(E->account_keys);
            E->account_keys = grown;
            E->keys_mask = size - 1;
        }
    } else {
        *slot = index;
    }
    Account *a = &E->accounts[E->n_accounts++];
    memset(a, 0, sizeof *a);
    a->customer = customer;
    a->currency = currency;
    a->heap_limit = a->pending_limit = HEAP_LIMIT;
    a->mu = E->minor_units[currency];
    return index;
}

/* ------------------------------------------------------------- the heap */

/* reference: _Engine.heap, the order of its entries: due date, issue date,
 * id, instalment. Invoices are numbered in (date, id) order, so the number
 * stands for the two. */
static inline int older(const Work *works, int32_t a, int32_t b) {
    const Work *x = &works[a], *y = &works[b];
    if (x->due != y->due) return x->due < y->due;
    if (x->inv != y->inv) return x->inv < y->inv;
    return x->inst < y->inst;
}

static int heap_push(Engine *E, Vec *h, int32_t w) {
    if (vec_push(h, w) < 0) return -1;
    Py_ssize_t i = h->n - 1;
    while (i > 0) {
        Py_ssize_t parent = (i - 1) / 2;
        if (!older(E->works, h->data[i], h->data[parent])) break;
        int32_t t = h->data[i];
        h->data[i] = h->data[parent];
        h->data[parent] = t;
        i = parent;
    }
    return 0;
}

static void sift_down(Engine *E, Vec *h, Py_ssize_t i) {
    for (;;) {
        Py_ssize_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && older(E->works, h->data[l], h->data[m])) m = l;
        if (r < h->n && older(E->works, h->data[r], h->data[m])) m = r;
        if (m == i) return;
        int32_t t = h->data[i];
        h->data[i] = h->data[m];
        h->data[m] = t;
        i = m;
    }
}

static void heap_pop(Engine *E, Vec *h) {
    h->data[0] = h->data[--h->n];
    if (h->n) sift_down(E, h, 0);
}

/* reference: _compact. Paid works left in the heap are dropped. */
static void compact(Engine *E, Account *a) {
    Vec *h = &a->heap;
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < h->n; i++)
        if (E->works[h->data[i]].open > 0) h->data[kept++] = h->data[i];
    h->n = kept;
    for (Py_ssize_t i = kept / 2 - 1; i >= 0; i--) sift_down(E, h, i);
    a->heap_limit = kept * 2 > HEAP_LIMIT ? kept * 2 : HEAP_LIMIT;
}

/* reference: _Engine.heap: the account's open works, pending ones put in. */
static int flush(Engine *E, Account *a) {
    if (a->pending.n == 0) return 0;
    for (Py_ssize_t i = 0; i < a->pending.n; i++) {
        int32_t w = a->pending.data[i];
        if (E->works[w].open > 0 && heap_push(E, &a->heap, w) < 0) return -1;
    }
    a->pending.n = 0;
    if (a->heap.n > a->heap_limit) compact(E, a);
    return 0;
}

/* reference: _Engine.push and _trim */
static int push_pending(Engine *E, Account *a, int32_t w) {
    if (vec_push(&a->pending, w) < 0) return -1;
    if (a->pending.n > a->pending_limit) {
        Py_ssize_t kept = 0;
        for (Py_ssize_t i = 0; i < a->pending.n; i++)
            if (E->works[a->pending.data[i]].open > 0)
                a->pending.data[kept++] = a->pending.data[i];
        a->pending.n = kept;
        a->pending_limit = kept * 2 > HEAP_LIMIT ? kept * 2 : HEAP_LIMIT;
    }
    return 0;
}


/* ------------------------------------------------------------- applying */

static int add_application(Engine *E, Account *a, int32_t wi, PyObject *kind,
                           PyObject *ref, int32_t day, PyObject *amount,
                           int also_discount) {
    const Work *w = &E->works[wi];
    PyObject *due = amount ? date_of(&E->mk, w->due) : NULL;
    const Invoice *inv = &E->invs[w->inv];
    PyObject *issued = due ? date_of(&E->mk, inv->date) : NULL;
    PyObject *on = issued ? date_of(&E->mk, day) : NULL;
    PyObject *id = on && ref ? string_at(&E->ids, w->inv) : NULL;
    PyObject *t = id ? new_tuple(E->application_type, 10) : NULL;
    if (t == NULL) {
        Py_XDECREF(amount);
        return -1;
    }
    PyObject *inst = instalment_of(w->inst);
    PyObject *fields[10] = {id, inst,
                            PyList_GET_ITEM(E->customers, a->customer),
                            PyList_GET_ITEM(E->currencies, a->currency), kind, ref, on,
                            amount, due, issued};
    for (int f = 0; f < 10; f++) {
        if (f != 1 && f != 7) Py_INCREF(fields[f]);
        PyTuple_SET_ITEM(t, f, fields[f]);
    }
    if (inst == NULL) {
        Py_DECREF(t);
        return -1;
    }
    int failed = PyList_Append(E->applications, t);
    if (!failed && also_discount) failed = PyList_Append(E->discounts, t);
    Py_DECREF(t);
    return failed ? -1 : 0;
}

/* reference: _Engine.discount. After an application to invoice `i` on `day`:
 * its early-payment discount, when earned, closes the rest (SPEC §9). */
static int discount(Engine *E, Account *a, int32_t i, int32_t day) {
    Invoice *inv = &E->invs[i];
    if (inv->offer < 0 || !E->offers[inv->offer].open) return 0;
    Offer *offer = &E->offers[inv->offer];
    if (day > offer->last_day) {
        offer->open = 0; /* lapsed: applications only come later still */
        return 0;
    }
    money still = 0;
    for (int32_t k = 0; k < inv->n_works; k++) still += E->works[inv->first_work + k].open;
    if (offer->total - still < offer->threshold) return 0;
    offer->open = 0;
    for (int32_t k = 0; k < inv->n_works; k++) {
        int32_t wi = inv->first_work + k;
        Work *w = &E->works[wi];
        money rest = w->open;
        if (rest <= 0) continue;
        int whole = !w->touched;
        w->open = 0;
        w->touched = 1;
        if (E->history) {
            PyObject *amount = whole ? work_amount(E, wi, a->mu) : decimal_made(&E->mk, rest, a->mu);
            if (add_application(E, a, wi, S_discount, E->early_payment, day, amount, 1) < 0)
                return -1;
        }
    }
    return 0;
}

/* reference: _Engine.apply and apply_and_discount */
static int apply(Engine *E, Account *a, int32_t wi, Chunk *c, money amount, int32_t day) {
    Work *w = &E->works[wi];
    int whole = !w->touched && amount == w->open; /* the work's whole amount */
    w->open -= amount;
    w->touched = 1;
    c->left -= amount;
    if (E->history) {
        PyObject *value = whole ? work_amount(E, wi, a->mu) : chunk_decimal(E, c, amount, a->mu);
        if (add_application(E, a, wi, E->kinds[c->kind], chunk_ref(E, c), day, value, 0) < 0)
            return -1;
    }
    return discount(E, a, w->inv, day);
}

/* reference: _Engine.apply_to_invoice. Up to `limit` (has_limit 0: all) of a
 * chunk to one invoice's works, instalments in due order. */
static int apply_to_invoice(Engine *E, Account *a, int32_t i, Chunk *c,
                            int has_limit, money limit, int32_t day) {
    money budget = has_limit && limit < c->left ? limit : c->left;
    Invoice *inv = &E->invs[i];
    for (int32_t k = 0; k < inv->n_works; k++) {
        if (budget <= 0) break;
        int32_t wi = inv->first_work + k;
        money open = E->works[wi].open;
        if (open > 0) {
            money amount = budget < open ? budget : open;
            if (apply(E, a, wi, c, amount, day) < 0) return -1;
            budget -= amount;
        }
    }
    return 0;
}

/* reference: _Engine.apply_oldest_first */
static int apply_oldest_first(Engine *E, Account *a, Chunk *c, int32_t day) {
    if (flush(E, a) < 0) return -1;
    while (c->left > 0 && a->heap.n) {
        int32_t wi = a->heap.data[0];
        money open = E->works[wi].open;
        if (open > 0 && apply(E, a, wi, c, c->left < open ? c->left : open, day) < 0)
            return -1;
        if (E->works[wi].open <= 0) heap_pop(E, &a->heap);
    }
    return 0;
}

/* reference: _Engine.apply_credits: unapplied chunks, oldest first, meet the
 * account's open works. */
static int apply_credits(Engine *E, Lane *L, Account *a, int32_t day) {
    while (a->credits.n > a->credits_head) {
        if (flush(E, a) < 0) return -1;
        if (a->heap.n == 0) break;
        Chunk *c = &L->chunks[a->credits.data[a->credits_head]];
        if (apply_oldest_first(E, a, c, day) < 0) return -1;
        if (c->left > 0) break;
        a->credits_head++;
    }
    return 0;
}

/* A chunk kept: it waits for an invoice or sits as credit. */
static int32_t keep_chunk(Lane *L, const Chunk *c) {
    if (room(&L->chunks, L->n_chunks, &L->cap_chunks, sizeof(Chunk), 64) < 0) return -1;
    L->chunks[L->n_chunks] = *c;
    return (int32_t)L->n_chunks++;
}

/* The Wait entry of account `ai` (of lane `L`) for invoice `i`, or -1. */
static int32_t wait_of(const Lane *L, int32_t ai, int32_t i) {
    for (int32_t e = L->first_wait[i]; e >= 0; e = L->waits[e].next)
        if (L->waits[e].account == ai) return e;
    return -1;
}

/* reference: _Engine.issue, from account.items on: record an invoice's
 * works, then let waiting allocations and credits meet them (SPEC §2). */
static int issued(Engine *E, Lane *L, int32_t ai, int32_t i) {
    Account *a = &E->accounts[ai];
    Invoice *inv = &E->invs[i];
    int32_t day = inv->date;
    inv->issued = 1;
    if (vec_push(&a->items, i) < 0) return -1;
    if (!inv->disputed) {
        /* Decision (README, "Disputed invoices"): cash meets a disputed
         * invoice only when a payment names it, never oldest first. */
        for (int32_t k = 0; k < inv->n_works; k++)
            if (push_pending(E, a, inv->first_work + k) < 0) return -1;
    }
    if (a->n_waiting) {
        int32_t e = wait_of(L, ai, i);
        if (e >= 0 && L->waits[e].head >= 0) {
            int32_t ci = L->waits[e].head;
            L->waits[e].head = -1; /* the key goes: it is never made again */
            a->n_waiting--;
            for (; ci >= 0; ci = L->chunks[ci].next) {
                Chunk *c = &L->chunks[ci];
                if (apply_to_invoice(E, a, i, c, 0, 0, day) < 0) return -1;
                if (c->left > 0) {
                    /* what exceeds the invoice is unallocated credit */
                    c->waiting = -1;
                    if (vec_push(&a->credits, ci) < 0) return -1;
                }
            }
        }
    }
    if (a->credits.n > a->credits_head) return apply_credits(E, L, a, day);
    return 0;
}

/* reference: _Engine.receive_for: what a record names for one invoice `i`
 * (an index in ids), or set aside until the invoice is issued (SPEC §2).
 * `alloc`: the allocation whose amount `limit` is, or -1. */
static int receive_for(Engine *E, Lane *L, int32_t ai, Chunk *c, int32_t i,
                       int has_limit, money limit, int32_t alloc) {
    /* An invoice of another account may be another lane's: its account, set
     * before the lanes start, is read first, and nothing else of it. */
    if (i < E->n_invs && E->invs[i].account == ai && E->invs[i].issued)
        return apply_to_invoice(E, &E->accounts[ai], i, c, has_limit, limit, c->date);
    money share = has_limit && limit < c->left ? limit : c->left;
    if (share <= 0) return 0;
    c->left -= share;
    Chunk waiting = *c;
    waiting.amount = share;
    waiting.left = share;
    if (has_limit && share == limit) {
        waiting.own_kind = K_OWN_ALLOCATION;
        waiting.own = alloc;
    } else if (share != c->amount) {
        waiting.own_kind = K_OWN_NONE;
    }
    waiting.waiting = i;
    waiting.next = -1;
    int32_t ci = keep_chunk(L, &waiting);
    if (ci < 0) return -1;
    if (L->first_wait == NULL) {
        Py_ssize_t n = strings_len(&E->ids);
        L->first_wait = PyMem_RawMalloc((size_t)(n ? n : 1) * sizeof(int32_t));
        if (L->first_wait == NULL) {
            no_memory();
            return -1;
        }
        memset(L->first_wait, 0xff, (size_t)(n ? n : 1) * sizeof(int32_t));
    }
    int32_t e = wait_of(L, ai, i);
    if (e >= 0) {
        /* never issued in this account (else applied above): still waiting */
        L->chunks[L->waits[e].tail].next = ci;
        L->waits[e].tail = ci;
        return 0;
    }
    if (room(&L->waits, L->n_waits, &L->cap_waits, sizeof(Wait), 16) < 0) return -1;
    e = (int32_t)L->n_waits++;
    L->waits[e] = (Wait){ai, i, ci, ci, L->first_wait[i]};
    L->first_wait[i] = e;
    Account *a = &E->accounts[ai];
    a->n_waiting++;
    return vec_push(&a->waits, e);
}

/* reference: _Engine.receive: payment or adjustment `k` of account `ai` (its
 * allocations from the alloc_ columns, whose cursor walks with the lane's
 * payments, past the other lanes'). */
static int receive(Engine *E, Lane *L, Py_ssize_t k, int is_payment, int32_t ai) {
    Chunk c;
    c.amount = c.left = minor_at(E, is_payment ? A_PAY : A_ADJ, k);
    c.date = is_payment ? E->pay_date[k] : E->adj_date[k];
    c.source = (int32_t)k;
    c.waiting = c.next = -1;
    c.own = (int32_t)k;
    c.kind = is_payment ? K_PAYMENT : (uint8_t)(1 + E->adj_kind[k]);
    c.own_kind = K_OWN_RECORD;
    /* allocations replace the invoice named (read writes -1 for it) */
    int32_t named = is_payment ? E->pay_invoice[k] : E->adj_invoice[k];
    if (is_payment) {
        while (L->alloc_at < E->n_alloc && E->alloc_payment[L->alloc_at] < k) L->alloc_at++;
        for (; L->alloc_at < E->n_alloc && E->alloc_payment[L->alloc_at] == k; L->alloc_at++) {
            Py_ssize_t n = L->alloc_at;
            if (receive_for(E, L, ai, &c, E->alloc_invoice[n], 1, minor_at(E, A_ALLOC, n),
                            (int32_t)n) < 0)
                return -1;
        }
    }
    if (named >= 0 && receive_for(E, L, ai, &c, named, 0, 0, -1) < 0) return -1;
    if (c.left > 0) {
        if (apply_oldest_first(E, &E->accounts[ai], &c, c.date) < 0) return -1;
        if (c.left > 0) {
            int32_t ci = keep_chunk(L, &c);
            if (ci < 0 || vec_push(&E->accounts[ai].credits, ci) < 0) return -1;
        }
    }
    return 0;
}

static int by_due(const void *x, const void *y) {
    const Work *a = x, *b = y;
    if (a->due != b->due) return a->due < b->due ? -1 : 1;
    return a->inst < b->inst ? -1 : a->inst > b->inst;
}

/* reference: _Engine.issue: invoice `i` and its works (its instalments
 * from the ins_ columns, where order_events found them). */
static int issue(Engine *E, Lane *L, int32_t i) {
    Invoice *inv = &E->invs[i];
    inv->disputed = E->inv_flags[i] & 1;
    inv->date = E->inv_date[i];
    inv->owner = E->inv_owner[i];
    Work *w = &E->works[inv->first_work];
    if (inv->first_ins >= 0) {
        for (int32_t k = 0; k < inv->n_works; k++) {
            Py_ssize_t at = inv->first_ins + k;
            w[k] = (Work){minor_at(E, A_INS, at), E->ins_due[at], k + 1, i, 0,
                          E->amounts[A_INS] ? PyList_GET_ITEM(E->amounts[A_INS], at) : NULL};
        }
        /* instalments in due order, then by number */
        qsort(w, (size_t)inv->n_works, sizeof(Work), by_due);
    } else {
        w[0] = (Work){minor_at(E, A_INV, i), E->inv_due[i], 0, i, 0,
                      E->amounts[A_INV] ? PyList_GET_ITEM(E->amounts[A_INV], i) : NULL};
    }
    return issued(E, L, inv->account, i);
}

/* ------------------------------------------------------------- memory ahead */

/* The replay's biggest arrays, faulted in on a thread of their own while
 * this one walks the records (arledger/_memory.c says why a fault costs so
 * much here): the events and invoices the walk writes, then the works the
 * lanes make. MADV_POPULATE_WRITE maps each page without writing to it, so
 * it races with nothing; where the system lacks it, nothing is done. */
typedef struct {
    void *start[3];
    size_t size[3];
    pthread_t thread;
    int started;
} Faulting;

static void *fault_in(void *arg) {
#if defined(__linux__)
    Faulting *a = arg;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (int k = 0; k < 3; k++) {
        uintptr_t from = ((uintptr_t)a->start[k] + page - 1) & ~(page - 1);
        uintptr_t to = ((uintptr_t)a->start[k] + a->size[k]) & ~(page - 1);
        if (to > from) madvise((void *)from, to - from, MADV_POPULATE_WRITE);
    }
#else
    (void)arg;
#endif
    return NULL;
}

#define AHEAD_FROM (4 << 20) /* bytes: below, faults are few */

static void fault_in_ahead(Engine *E, Faulting *a) {
    *a = (Faulting){.start = {E->events, E->invs, E->works},
                 .size = {(size_t)(E->n_invs + E->n_pay + E->n_adj) * sizeof(Event),
                          (size_t)E->n_invs * sizeof(Invoice),
                          (size_t)E->cap_works * sizeof(Work)}};
#if defined(__linux__)
    if (a->size[0] + a->size[1] + a->size[2] >= AHEAD_FROM)
        a->started = pthread_create(&a->thread, NULL, fault_in, a) == 0;
#endif
}

static void fault_in_done(Faulting *a) {
    if (a->started) pthread_join(a->thread, NULL);
    a->started = 0;
}

/* ------------------------------------------------------------- replay order */

/* Whether an owner code is the filter's (docs/columnar-kernel.md §1.5). */
static inline int owned(const Engine *E, int32_t owner) {
    return E->owner == -1 || owner == E->owner;
}

/* The owner code of an account's customer, or -1 (none). */
static int32_t customer_owner(const Engine *E, const Account *a) {
    return a->customer < E->n_customer_owner ? E->customer_owner[a->customer] : -1;
}

/* reference: reference_settle's item_owner: an invoice's owner code, its
 * customer's (`of_customer`) when it has none; -1: none. */
static inline int32_t item_owner(const Invoice *inv, int32_t of_customer) {
    return inv->owner >= 0 ? inv->owner : of_customer;
}

/* One more event, of the account of (customer, currency) codes (its lane
 * is given by assign_lanes). */
static int add_event(Engine *E, int kind, Py_ssize_t at, int32_t customer, int32_t currency) {
    int32_t ai = account_of(E, customer, currency);
    if (ai < 0) return -1;
    E->accounts[ai].n_events++;
    E->events[E->n_events++] = (Event){(int32_t)at, ai, (uint8_t)kind, 0};
    return 0;
}

typedef struct {
    Py_ssize_t n_events;
    int32_t account;
} Weight;

/* More records first; of as many, the account first met first. */
static int by_events(const void *x, const void *y) {
    const Weight *a = x, *b = y;
    if (a->n_events != b->n_events) return a->n_events > b->n_events ? -1 : 1;
    return a->account < b->account ? -1 : a->account > b->account;
}

/* Each account's lane: the accounts with the most records first, each to
 * the lane with the fewest records so far (the lane of the lowest number
 * of those), so that the lanes end at about the same time whatever the
 * ledger (one customer held 12% of the records at 1M). */
static int assign_lanes(Engine *E) {
    if (E->n_lanes == 1) return 0;
    Weight *order = PyMem_RawMalloc((size_t)(E->n_accounts ? E->n_accounts : 1) *
                                    sizeof(Weight));
    if (order == NULL) {
        no_memory();
        return -1;
    }
    for (Py_ssize_t ai = 0; ai < E->n_accounts; ai++)
        order[ai] = (Weight){E->accounts[ai].n_events, (int32_t)ai};
    qsort(order, (size_t)E->n_accounts, sizeof(Weight), by_events);
    Py_ssize_t load[MAX_LANES] = {0};
    for (Py_ssize_t k = 0; k < E->n_accounts; k++) {
        Account *a = &E->accounts[order[k].account];
        int lightest = 0;
        for (int l = 1; l < E->n_lanes; l++)
            if (load[l] < load[lightest]) lightest = l;
        a->lane = lightest;
        load[lightest] += a->n_events;
    }
    PyMem_RawFree(order);
    for (Py_ssize_t j = 0; j < E->n_events; j++)
        E->events[j].lane = (uint8_t)E->accounts[E->events[j].account].lane;
    return 0;
}

/* reference: _in_order. The records in replay order: before each invoice,
 * the adjustments and payments dated before it (on one date, adjustments
 * first); then the invoice; with no invoices left, all the rest. Each with
 * its account, made in the order first met; and each invoice laid out: its
 * works' place (in invoice order), its instalments (the ins_ columns' run of
 * it) and its early-payment offer (the offers are in invoice order). */
static int order_events(Engine *E) {
    Py_ssize_t n = E->n_invs, adj = 0, pay = 0, ins_at = 0, offer_at = 0, works = 0;
    for (Py_ssize_t i = 0; i <= n; i++) {
        int32_t day = i < n ? E->inv_date[i] : INT32_MAX;
        for (;;) {
            int32_t next_adj = adj < E->n_adj ? E->adj_date[adj] : INT32_MAX;
            int32_t next_pay = pay < E->n_pay ? E->pay_date[pay] : INT32_MAX;
            if (!(next_adj < day || next_pay < day || i == n)) break;
            int failed;
            if (next_adj <= next_pay) {
                if (next_adj == INT32_MAX) break;
                failed = add_event(E, EV_ADJUSTMENT, adj, E->adj_customer[adj],
                                   E->adj_currency[adj]);
                adj++;
            } else {
                failed = add_event(E, EV_PAYMENT, pay, E->pay_customer[pay],
                                   E->pay_currency[pay]);
                pay++;
            }
            if (failed < 0) return -1;
        }
        if (i == n) break;
        if (add_event(E, EV_INVOICE, i, E->inv_customer[i], E->inv_currency[i]) < 0)
            return -1;
        Invoice *inv = &E->invs[i];
        inv->account = E->events[E->n_events - 1].account;
        inv->issued = 0;
        Py_ssize_t count = 0;
        while (ins_at + count < E->n_ins && E->ins_invoice[ins_at + count] == i) count++;
        inv->first_ins = count ? (int32_t)ins_at : -1;
        ins_at += count;
        inv->first_work = (int32_t)works;
        inv->n_works = (int32_t)(count ? count : 1);
        works += inv->n_works;
        inv->offer = -1;
        if (offer_at < E->n_offers && E->offers[offer_at].invoice == i)
            inv->offer = (int32_t)offer_at++;
    }
    /* at most one work per invoice and one per instalment (state_for) */
    E->n_works = works;
    return assign_lanes(E);
}

/* reference: settle(), the items kept. What the items of lane `L`'s
 * accounts will show, found while the lane still runs: whether an account
 * has an invoice of the owner (`item_owner`), and the works shown, invoice
 * by invoice in the order issued: every one with the paid ones, else the
 * open ones. */
static int lane_shown(Engine *E, Lane *L) {
    for (Py_ssize_t ai = 0; ai < E->n_accounts; ai++) {
        Account *a = &E->accounts[ai];
        if (a->lane != L->lane) continue;
        int32_t owner_of_customer = customer_owner(E, a);
        for (Py_ssize_t k = 0; k < a->items.n; k++) {
            const Invoice *inv = &E->invs[a->items.data[k]];
            if (!owned(E, item_owner(inv, owner_of_customer))) continue;
            a->listed = 1;
            for (int32_t wi = inv->first_work; wi < inv->first_work + inv->n_works; wi++)
                if ((E->paid || E->works[wi].open != 0) && vec_push(&a->shown, wi) < 0)
                    return -1;
        }
    }
    return 0;
}

/* Lane `L`'s records, in replay order, then what its items show. */
static int replay_lane(Engine *E, Lane *L) {
    for (Py_ssize_t j = 0; j < E->n_events; j++) {
        const Event *ev = &E->events[j];
        if (ev->lane != L->lane) continue;
        int failed = ev->kind == EV_INVOICE
                         ? issue(E, L, ev->at)
                         : receive(E, L, ev->at, ev->kind == EV_PAYMENT, ev->account);
        if (failed < 0) return -1;
    }
    return lane_shown(E, L);
}

/* A lane replayed on a thread of its own, without the GIL. */
typedef struct {
    Engine *E;
    Lane *L;
    int failed, out_of_memory;
} LaneRun;

static void *lane_thread(void *arg) {
    LaneRun *r = arg;
    without_gil = 1;
    r->failed = replay_lane(r->E, r->L) < 0;
    r->out_of_memory = out_of_memory;
    return NULL;
}

/* Every lane replayed: the first here, each other on a thread of its own
 * (here too, after the first, when no thread can be made). Without the
 * history no Python object is made, and the GIL is let go meanwhile. */
static int replay_lanes(Engine *E) {
    PyThreadState *saved = NULL;
    if (!E->history) {
        without_gil = 1;
        saved = PyEval_SaveThread();
    }
    LaneRun runs[MAX_LANES];
    pthread_t threads[MAX_LANES];
    int started[MAX_LANES] = {0};
    for (int l = 1; l < E->n_lanes; l++) {
        runs[l] = (LaneRun){E, &E->lanes[l], 0, 0};
        started[l] = pthread_create(&threads[l], NULL, lane_thread, &runs[l]) == 0;
    }
    int failed = replay_lane(E, &E->lanes[0]) < 0;
    for (int l = 1; l < E->n_lanes; l++) {
        if (started[l])
            pthread_join(threads[l], NULL);
        else
            runs[l].failed = replay_lane(E, runs[l].L) < 0;
        failed |= runs[l].failed;
        out_of_memory |= runs[l].out_of_memory;
    }
    if (saved != NULL) {
        PyEval_RestoreThread(saved);
        without_gil = 0;
        if (out_of_memory) {
            out_of_memory = 0;
            PyErr_NoMemory();
        }
    }
    return failed ? -1 : 0;
}

/* ------------------------------------------------------------- results */

/* reference: settle(): items and credits, account by account. */

static int credit_of(Engine *E, Account *a, const Chunk *c, PyObject *credits) {
    PyObject *amount = chunk_decimal(E, c, c->left, a->mu);
    PyObject *on = amount ? date_of(&E->mk, c->date) : NULL;
    PyObject *ref = on ? chunk_ref(E, c) : NULL;
    PyObject *waiting = ref == NULL ? NULL
                        : c->waiting >= 0 ? string_at(&E->ids, c->waiting) : Py_None;
    PyObject *t = waiting ? new_tuple(E->credit_type, 7) : NULL;
    if (t == NULL) {
        Py_XDECREF(amount);
        return -1;
    }
    PyObject *fields[7] = {PyList_GET_ITEM(E->customers, a->customer),
                           PyList_GET_ITEM(E->currencies, a->currency), E->kinds[c->kind],
                           ref, on, amount, waiting};
    for (int f = 0; f < 7; f++) {
        if (f != 5) Py_INCREF(fields[f]);
        PyTuple_SET_ITEM(t, f, fields[f]);
    }
    int failed = PyList_Append(credits, t);
    Py_DECREF(t);
    return failed;
}

/* The credits left, account by account: unapplied chunks oldest first, then
 * those waiting for an invoice, by invoice in the order first waited for. */
static int credits_left(Engine *E, PyObject *credits) {
    for (Py_ssize_t ai = 0; ai < E->n_accounts; ai++) {
        Account *a = &E->accounts[ai];
        if (!owned(E, customer_owner(E, a))) continue;
        const Lane *L = &E->lanes[a->lane];
        for (Py_ssize_t k = a->credits_head; k < a->credits.n; k++) {
            const Chunk *c = &L->chunks[a->credits.data[k]];
            if (c->left > 0 && credit_of(E, a, c, credits) < 0) return -1;
        }
        for (Py_ssize_t k = 0; k < a->waits.n; k++)
            for (int32_t ci = L->waits[a->waits.data[k]].head; ci >= 0; ci = L->chunks[ci].next)
                if (L->chunks[ci].left > 0 && credit_of(E, a, &L->chunks[ci], credits) < 0)
                    return -1;
    }
    return 0;
}

static void lanes_free(Engine *E) {
    for (int l = 0; l < MAX_LANES; l++) {
        Lane *L = &E->lanes[l];
        PyMem_RawFree(L->chunks);
        PyMem_RawFree(L->waits);
        PyMem_RawFree(L->first_wait);
        *L = (Lane){.lane = l};
    }
    PyMem_RawFree(E->events);
    E->events = NULL;
    E->n_events = 0;
}

/* What the replay needed and the items do not: the events, the lanes'
 * chunks and waiting entries, offers, the accounts' queues. Let go before
 * the items are made, the biggest of the results, so that the two are never
 * held at once. */
static void replay_free(Engine *E) {
    lanes_free(E);
    PyMem_RawFree(E->offers);
    E->offers = NULL;
    E->n_offers = 0;
    for (Py_ssize_t i = 0; i < E->n_accounts; i++) {
        Account *a = &E->accounts[i];
        vec_free(&a->heap);
        vec_free(&a->pending);
        vec_free(&a->credits);
        vec_free(&a->waits);
    }
}

/* The items, account by account, each account's in the order issued; and
 * each account with an item, open or paid, as (customer, currency), in that
 * order (whether paid items are kept or not): what lane_shown found. */
/* ------------------------------------------------------------- the items
 *
 * The items are made last, each of a Row: what its work and invoice hold,
 * copied out of the replay's state. By default `run` makes them at once; with
 * context["later"] it returns an ItemsObject that keeps the rows and makes
 * the items when taken (`take`), and meanwhile sums their open balances by
 * group (`fold`) without making one: at a million invoices, `aging` reads
 * 12,000 accounts' sums where 95,000 items cost 0.1 s to make. */

typedef struct {
    money open;       /* minor units */
    money minor;      /* the amount's, of exponent `exp`, when `amount` is NULL */
    PyObject *amount; /* owned; NULL: made of minor and exp */
    int32_t id, inst, date, due, owner; /* owner: a code, or -1: none */
    int8_t exp;
    uint8_t disputed, touched;
} Row;

/* A listed account of the rows: its codes, minor units and rows. */
typedef struct {
    int32_t customer, currency;
    int mu;
    Py_ssize_t n_rows;
} RowAccount;

/* What an item is made with, besides its row: the engine's, or an
 * ItemsObject's. */
typedef struct {
    Makers *mk;
    Strings *ids;
    PyObject *customers, *currencies, *owners, *item_type;
} ItemMaker;

/* Work `wi`'s row: its own amount as a Decimal when one is at hand (made by
 * the replay, or a record's), else its minor units and exponent. */
static void row_of(Engine *E, int32_t wi, int32_t owner_of_customer, Row *r) {
    Work *w = &E->works[wi];
    Invoice *inv = &E->invs[w->inv];
    int which = w->inst ? A_INS : A_INV;
    Py_ssize_t k = w->inst ? inv->first_ins + w->inst - 1 : w->inv;
    *r = (Row){.open = w->open, .id = w->inv, .inst = w->inst, .date = inv->date,
               .due = w->due, .owner = item_owner(inv, owner_of_customer),
               .disputed = inv->disputed, .touched = w->touched};
    if (w->amount != NULL)
        r->amount = Py_NewRef(w->amount);
    else if (E->amounts[which] != NULL)
        r->amount = Py_NewRef(PyList_GET_ITEM(E->amounts[which], k));
    else {
        r->minor = minor_at(E, which, k);
        r->exp = E->exp[which][k];
    }
}

/* The Item of a row of account `a`. New reference. */
static PyObject *item_made(const ItemMaker *m, const Row *r, const RowAccount *a) {
    PyObject *id = string_at(m->ids, r->id);
    PyObject *issued = id ? date_of(m->mk, r->date) : NULL;
    PyObject *due = issued ? date_of(m->mk, r->due) : NULL;
    if (due == NULL) return NULL;
    PyObject *amount =
        r->amount ? Py_NewRef(r->amount) : decimal_written(m->mk, r->minor, r->exp, a->mu);
    if (amount == NULL) return NULL;
    PyObject *open = r->touched ? decimal_made(m->mk, r->open, a->mu) : Py_NewRef(amount);
    PyObject *inst = open ? instalment_of(r->inst) : NULL;
    PyObject *t = inst ? new_tuple(m->item_type, 10) : NULL;
    if (t == NULL) {
        Py_DECREF(amount);
        Py_XDECREF(open);
        Py_XDECREF(inst);
        return NULL;
    }
    PyObject *fields[10] = {
        id, inst, PyList_GET_ITEM(m->customers, a->customer),
        PyList_GET_ITEM(m->currencies, a->currency), issued, due, amount, open,
        r->disputed ? Py_True : Py_False,
        r->owner >= 0 ? PyList_GET_ITEM(m->owners, r->owner) : Py_None};
    for (int f = 0; f < 10; f++) {
        if (f != 1 && f != 6 && f != 7) Py_INCREF(fields[f]); /* those are new */
        PyTuple_SET_ITEM(t, f, fields[f]);
    }
    return t;
}

typedef struct {
    PyObject_HEAD
    ItemMaker maker;   /* pointing into this object */
    Makers mk;
    Strings ids;
    Row *rows;         /* NULL once taken */
    Py_ssize_t n_rows;
    RowAccount *accounts;
    Py_ssize_t n_accounts;
} ItemsObject;

static void items_release(ItemsObject *self) {
    for (Py_ssize_t k = 0; self->rows != NULL && k < self->n_rows; k++)
        Py_XDECREF(self->rows[k].amount);
    PyMem_RawFree(self->rows);
    self->rows = NULL;
    PyMem_RawFree(self->accounts);
    self->accounts = NULL;
    makers_free(&self->mk);
    strings_free(&self->ids);
    Py_CLEAR(self->maker.customers);
    Py_CLEAR(self->maker.currencies);
    Py_CLEAR(self->maker.owners);
    Py_CLEAR(self->maker.item_type);
}

static void items_dealloc(ItemsObject *self) {
    items_release(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Py_ssize_t items_len(ItemsObject *self) { return self->n_rows; }

static int items_taken(ItemsObject *self) {
    if (self->rows != NULL) return 0;
    PyErr_SetString(PyExc_RuntimeError, "the items were taken already");
    return -1;
}

PyDoc_STRVAR(items_take_doc,
"take($self, /)\n--\n\n"
"The items, made now, as a list in the order `run` makes them; the rows are\n"
"let go (once only).");

static PyObject *items_take(ItemsObject *self, PyObject *Py_UNUSED(ignored)) {
    if (items_taken(self) < 0) return NULL;
    PyObject *items = PyList_New(self->n_rows);
    if (items == NULL) return NULL;
    const Row *r = self->rows;
    for (Py_ssize_t ai = 0; ai < self->n_accounts; ai++) {
        const RowAccount *a = &self->accounts[ai];
        for (Py_ssize_t k = 0; k < a->n_rows; k++, r++) {
            PyObject *item = item_made(&self->maker, r, a);
            if (item == NULL) {
                Py_DECREF(items);
                return NULL;
            }
            PyList_SET_ITEM(items, r - self->rows, item);
        }
    }
    items_release(self);
    return items;
}

PyDoc_STRVAR(items_fold_doc,
"fold($self, group_of, count, by_due, least, /)\n--\n\n"
"Per listed account (in the order of `run`'s accounts): of its items with an\n"
"open balance, grouped by group_of(day, disputed) -> a group below `count`, or\n"
"-1: not counted (asked once per day and flag; `day` is the item's due date\n"
"when by_due, else its issue date), a tuple of `count` values: the sum of the\n"
"open balances of each group (Decimals of the currency's minor units), or\n"
"with `least` the earliest day of each (None: no item). None for an account\n"
"with no item counted.");

static PyObject *items_fold(ItemsObject *self, PyObject *args) {
    PyObject *group_of;
    int count, by_due, least;
    if (!PyArg_ParseTuple(args, "Oipp:fold", &group_of, &count, &by_due, &least)) return NULL;
    if (items_taken(self) < 0) return NULL;
    if (count < 1 || count > 4096) {
        PyErr_Format(PyExc_ValueError, "count: %d, not 1 to 4096", count);
        return NULL;
    }
    Makers *mk = &self->mk;
    Py_ssize_t slots = 2 * mk->n_days;
    int16_t *groups = PyMem_Malloc((size_t)slots * sizeof(int16_t));
    money *sums = PyMem_Malloc((size_t)count * sizeof(money));
    int32_t *earliest = PyMem_Malloc((size_t)count * sizeof(int32_t));
    PyObject *out = groups && sums && earliest ? PyList_New(self->n_accounts) : NULL;
    if (out == NULL) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < slots; k++) groups[k] = -2; /* not asked yet */
    const Row *r = self->rows;
    for (Py_ssize_t ai = 0; ai < self->n_accounts; ai++) {
        const RowAccount *a = &self->accounts[ai];
        int counted = 0;
        for (int g = 0; g < count; g++) {
            sums[g] = 0;
            earliest[g] = INT32_MAX;
        }
        for (Py_ssize_t k = 0; k < a->n_rows; k++, r++) {
            if (r->open == 0) continue;
            int32_t day = by_due ? r->due : r->date;
            int16_t *slot = &groups[2 * (Py_ssize_t)(day - mk->first_day) + r->disputed];
            if (*slot == -2) {
                PyObject *on = date_of(mk, day);
                PyObject *asked = on ? PyObject_CallFunctionObjArgs(
                                           group_of, on, r->disputed ? Py_True : Py_False, NULL)
                                     : NULL;
                long g = asked ? PyLong_AsLong(asked) : -1;
                Py_XDECREF(asked);
                if (asked == NULL || (g == -1 && PyErr_Occurred())) goto failed;
                if (g < -1 || g >= count) {
                    PyErr_Format(PyExc_ValueError, "group_of gave %ld, not -1 to %d", g,
                                 count - 1);
                    goto failed;
                }
                *slot = (int16_t)g;
            }
            if (*slot < 0) continue;
            counted = 1;
            sums[*slot] += r->open;
            if (day < earliest[*slot]) earliest[*slot] = day;
        }
        PyObject *values = counted ? PyTuple_New(count) : Py_NewRef(Py_None);
        if (values == NULL) goto failed;
        PyList_SET_ITEM(out, ai, values);
        for (int g = 0; counted && g < count; g++) {
            PyObject *v = !least ? decimal_made(mk, sums[g], a->mu)
                          : earliest[g] == INT32_MAX ? Py_NewRef(Py_None)
                                                     : Py_XNewRef(date_of(mk, earliest[g]));
            if (v == NULL) goto failed;
            PyTuple_SET_ITEM(values, g, v);
        }
    }
    goto done;
failed:
    Py_CLEAR(out);
done:
    PyMem_Free(groups);
    PyMem_Free(sums);
    PyMem_Free(earliest);
    return out;
}

static PyMethodDef items_methods[] = {
    {"take", (PyCFunction)items_take, METH_NOARGS, items_take_doc},
    {"fold", (PyCFunction)items_fold, METH_VARARGS, items_fold_doc},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods items_as_sequence = {.sq_length = (lenfunc)items_len};

static PyTypeObject ItemsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "arledger._settle.Items",
    .tp_basicsize = sizeof(ItemsObject),
    .tp_dealloc = (destructor)items_dealloc,
    .tp_as_sequence = &items_as_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The items of a run with context['later']: their rows, made into "
              "items when taken (take), and summed by group meanwhile (fold).",
    .tp_methods = items_methods,
};

/* Each listed account's (customer, currency) into `accounts`, and the rows
 * of the works its items show, in order, into `rows` (n_rows of them). */
static int rows_of(Engine *E, PyObject *accounts, Row **rows, Py_ssize_t *n_rows,
                   RowAccount **listed, Py_ssize_t *n_listed) {
    Py_ssize_t n = 0, m = 0;
    for (Py_ssize_t ai = 0; ai < E->n_accounts; ai++)
        if (E->accounts[ai].listed) {
            n += E->accounts[ai].shown.n;
            m++;
        }
    *rows = PyMem_RawMalloc((size_t)(n ? n : 1) * sizeof(Row));
    *listed = PyMem_RawMalloc((size_t)(m ? m : 1) * sizeof(RowAccount));
    if (*rows == NULL || *listed == NULL) {
        no_memory();
        return -1;
    }
    *n_rows = *n_listed = 0;
    for (Py_ssize_t ai = 0; ai < E->n_accounts; ai++) {
        Account *a = &E->accounts[ai];
        if (!a->listed) continue;
        PyObject *account = PyTuple_Pack(2, PyList_GET_ITEM(E->customers, a->customer),
                                         PyList_GET_ITEM(E->currencies, a->currency));
        if (account == NULL || PyList_Append(accounts, account) < 0) {
            Py_XDECREF(account);
            return -1;
        }
        Py_DECREF(account);
        int32_t owner_of_customer = customer_owner(E, a);
        for (Py_ssize_t k = 0; k < a->shown.n; k++)
            row_of(E, a->shown.data[k], owner_of_customer, &(*rows)[(*n_rows)++]);
        (*listed)[(*n_listed)++] =
            (RowAccount){.customer = a->customer, .currency = a->currency, .mu = a->mu,
                         .n_rows = a->shown.n};
    }
    return 0;
}

/* The items of the replay: an ItemsObject holding their rows, which takes
 * what makes them from the engine. New reference. */
static PyObject *items_of(Engine *E, PyObject *accounts) {
    ItemsObject *self = PyObject_New(ItemsObject, &ItemsType);
    if (self == NULL) return NULL;
    memset((char *)self + offsetof(ItemsObject, maker), 0,
           sizeof *self - offsetof(ItemsObject, maker));
    if (rows_of(E, accounts, &self->rows, &self->n_rows, &self->accounts,
                &self->n_accounts) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->mk = E->mk;
    memset(&E->mk, 0, sizeof E->mk);
    self->ids = E->ids;
    memset(&E->ids, 0, sizeof E->ids);
    self->maker = (ItemMaker){
        .mk = &self->mk, .ids = &self->ids, .customers = Py_NewRef(E->customers),
        .currencies = Py_NewRef(E->currencies), .owners = Py_NewRef(E->owners),
        .item_type = Py_NewRef(E->item_type)};
    return (PyObject *)self;
}

/* ------------------------------------------------------------- the run */

static PyObject *context(PyObject *ctx, const char *name) {
    PyObject *value = PyDict_GetItemString(ctx, name);
    if (value == NULL) PyErr_Format(PyExc_KeyError, "settle context lacks %s", name);
    return value;
}

static void engine_free(Engine *E) {
    for (Py_ssize_t i = 0; E->amounts[A_INV] == NULL && i < E->n_works; i++)
        Py_XDECREF(E->works[i].amount); /* rebuilt: owned */
    PyMem_RawFree(E->works);
    PyMem_RawFree(E->invs);
    for (Py_ssize_t i = 0; i < E->n_accounts; i++) {
        Account *a = &E->accounts[i];
        vec_free(&a->heap);
        vec_free(&a->pending);
        vec_free(&a->credits);
        vec_free(&a->items);
        vec_free(&a->shown);
        vec_free(&a->waits);
    }
    PyMem_RawFree(E->accounts);
    PyMem_RawFree(E->account_table);
    PyMem_RawFree(E->account_keys);
    PyMem_RawFree(E->offers);
    lanes_free(E);
    makers_free(&E->mk);
    PyMem_RawFree(E->customer_owner);
    Py_XDECREF(E->customers);
    Py_XDECREF(E->currencies);
    Py_XDECREF(E->owners);
    Py_XDECREF(E->applications);
    Py_XDECREF(E->discounts);
    for (int k = 0; k < N_VIEWS; k++)
        if (E->views_held[k]) PyBuffer_Release(&E->views[k]);
    for (int k = 0; k < N_AMOUNTS; k++) Py_XDECREF(E->lists_held[k]);
    strings_free(&E->ids);
    strings_free(&E->refs);
    strings_free(&E->adj_ids);
}

/* The replay's state, sized by the columns: invoices, works, the account
 * table, the day cache (each day a record is dated or due). */
static int state_for(Engine *E) {
    Py_ssize_t n = E->n_invs ? E->n_invs : 1;
    E->invs = PyMem_RawMalloc((size_t)n * sizeof(Invoice));
    E->cap_works = E->n_invs + E->n_ins + 1;
    /* zeroed: a work is made by its lane, and one a failed replay never
     * made holds no amount for engine_free to let go */
    E->works = PyMem_RawCalloc((size_t)E->cap_works, sizeof(Work));
    Py_ssize_t events = E->n_invs + E->n_pay + E->n_adj;
    E->events = PyMem_RawMalloc((size_t)(events ? events : 1) * sizeof(Event));
    if (E->invs == NULL || E->works == NULL || E->events == NULL) goto no_memory;
    Py_ssize_t pairs = PyList_GET_SIZE(E->customers) * E->n_currencies;
    if (pairs <= 4 * 1024 * 1024) {
        E->account_table = PyMem_RawMalloc((size_t)(pairs ? pairs : 1) * sizeof(int32_t));
        if (E->account_table == NULL) goto no_memory;
        memset(E->account_table, 0xff, (size_t)(pairs ? pairs : 1) * sizeof(int32_t));
    } else {
        E->keys_mask = 1023;
        E->account_keys = PyMem_RawMalloc(1024 * sizeof(AccountKey));
        if (E->account_keys == NULL) goto no_memory;
        memset(E->account_keys, 0xff, 1024 * sizeof(AccountKey));
    }
    const int32_t *dated[5] = {E->inv_date, E->inv_due, E->ins_due, E->pay_date, E->adj_date};
    Py_ssize_t counts[5] = {E->n_invs, E->n_invs, E->n_ins, E->n_pay, E->n_adj};
    int32_t first = INT32_MAX, last = INT32_MIN;
    for (int k = 0; k < 5; k++)
        for (Py_ssize_t j = 0; j < counts[k]; j++) {
            if (dated[k][j] < first) first = dated[k][j];
            if (dated[k][j] > last) last = dated[k][j];
        }
    E->mk.first_day = first;
    E->mk.n_days = first <= last ? (Py_ssize_t)last - first + 1 : 1;
    E->mk.days = PyMem_RawCalloc((size_t)E->mk.n_days, sizeof(PyObject *));
    if (E->mk.days == NULL) goto no_memory;
    return 0;
no_memory:
    no_memory();
    return -1;
}

/* run's context: the result types and constructors, and
 * `history` and `paid`. */
static int context_in(Engine *E, PyObject *ctx) {
    const char *names[] = {"decimal", "item", "application", "credit", "early_payment",
                           "history", "paid"};
    PyObject *values[7];
    for (int k = 0; k < 7; k++)
        if ((values[k] = context(ctx, names[k])) == NULL) return -1;
    E->mk.decimal = Py_NewRef(values[0]);
    E->item_type = values[1];
    E->application_type = values[2];
    E->credit_type = values[3];
    E->early_payment = values[4];
    E->history = PyObject_IsTrue(values[5]);
    if (E->history < 0) return -1;
    E->paid = PyObject_IsTrue(values[6]);
    if (E->paid < 0) return -1;
    E->paid = E->paid && E->history;
    /* lanes (optional, 1 by default): more than one only without the
     * history, whose applications are made in replay order */
    PyObject *lanes = PyDict_GetItemString(ctx, "lanes");
    long n_lanes = lanes ? PyLong_AsLong(lanes) : 1;
    if (n_lanes == -1 && PyErr_Occurred()) return -1;
    if (n_lanes < 1 || n_lanes > MAX_LANES) {
        PyErr_Format(PyExc_ValueError, "lanes: %ld, not 1 to %d", n_lanes, MAX_LANES);
        return -1;
    }
    E->n_lanes = E->history ? 1 : (int)n_lanes;
    for (int l = 0; l < MAX_LANES; l++) E->lanes[l].lane = l;
    for (int k = 1; k <= 3; k++)
        if (!PyType_Check(values[k]) ||
            !PyType_IsSubtype((PyTypeObject *)values[k], &PyTuple_Type)) {
            PyErr_SetString(PyExc_TypeError, "result types are tuples");
            return -1;
        }
    E->kinds[K_PAYMENT] = S_payment;
    for (int k = 0; k < 3; k++) E->kinds[1 + k] = S_adjustment_kinds[k];
    return 0;
}

/* run, `release`: what only the replay and the credits read goes
 * once they are made, before the items (the biggest of the results): every
 * buffer but, when the records' Decimals are rebuilt, the invoices' and
 * instalments' amounts; the payments', adjustments' and allocations' amount
 * lists, refs and adj_ids (the results hold the strings they show). Each is
 * also dropped from the caller's dict, so that it is freed now. */
static int release_columns(Engine *E) {
    for (int k = 0; k < N_VIEWS; k++) {
        if (!E->views_held[k]) continue;
        int rebuilt = E->amounts[A_INV] == NULL;
        if (rebuilt && (k == C_INV_MINOR || k == C_INV_EXP || k == C_INS_MINOR ||
                        k == C_INS_EXP))
            continue;
        PyBuffer_Release(&E->views[k]);
        E->views_held[k] = 0;
        const char *name = k < N_COLUMNS ? columns[k].name
                           : k == V_CUSTOMER_OWNER ? "customer_owner"
                           : k == V_OFFER_INVOICE  ? "offer_invoice"
                           : k == V_OFFER_LAST_DAY ? "offer_last_day"
                                                   : "offer_threshold";
        if (PyDict_DelItemString(E->given, name) < 0) return -1;
    }
    static const char *lists[] = {"refs", "adj_ids", "pay_amounts", "adj_amounts",
                                  "alloc_amounts"};
    /* lists_held: the amount lists */
    static const int at[] = {-1, -1, A_PAY, A_ADJ, A_ALLOC};
    for (int k = 0; k < 5; k++) {
        if (PyDict_GetItemString(E->given, lists[k]) != NULL &&
            PyDict_DelItemString(E->given, lists[k]) < 0)
            return -1;
        if (at[k] >= 0) Py_CLEAR(E->lists_held[at[k]]);
    }
    strings_free(&E->refs);
    strings_free(&E->adj_ids);
    E->amounts[A_PAY] = E->amounts[A_ADJ] = E->amounts[A_ALLOC] = NULL;
    return 0;
}

/* The replay of the columns in E, its state and offers made: the five
 * results. */
static PyObject *replay(Engine *E) {
    PyObject *items = NULL, *credits = NULL, *accounts = NULL, *result = NULL;
    int failed;
    if ((E->applications = PyList_New(0)) == NULL || (E->discounts = PyList_New(0)) == NULL)
        goto done;

    /* the accounts, made in the order first met, and the records of each */
    Faulting faulting;
    fault_in_ahead(E, &faulting);
    failed = order_events(E) < 0 || replay_lanes(E) < 0;
    fault_in_done(&faulting);
    if (failed) goto done;

    if ((credits = PyList_New(0)) == NULL || (accounts = PyList_New(0)) == NULL)
        goto done;
    if (credits_left(E, credits) < 0) goto done;
    replay_free(E);
    if (E->release && release_columns(E) < 0) goto done;
    if ((items = items_of(E, accounts)) == NULL) goto done;
    if (!E->later) { /* made now */
        PyObject *made = items_take((ItemsObject *)items, NULL);
        Py_SETREF(items, made);
        if (items == NULL) goto done;
    }
    result = PyTuple_Pack(5, items, E->applications, credits, E->discounts, accounts);
done:
    Py_XDECREF(items);
    Py_XDECREF(credits);
    Py_XDECREF(accounts);
    return result;
}

/* ------------------------------------------------------------- run's entry */

/* The count a buffer's items agree with (docs/columnar-kernel.md §4.2). */
enum { G_INV, G_INS, G_PAY, G_ADJ, G_ALLOC, G_CURRENCIES, G_CUSTOMERS, G_OFFERS };

static const struct {
    const char *name;
    char code;
    int group;
} extra_views[N_VIEWS - N_COLUMNS] = {
    {"customer_owner", 'i', G_CUSTOMERS}, {"offer_invoice", 'i', G_OFFERS},
    {"offer_last_day", 'i', G_OFFERS}, {"offer_threshold", 'q', G_OFFERS},
};

static const char *view_name(int k) {
    return k < N_COLUMNS ? columns[k].name : extra_views[k - N_COLUMNS].name;
}

static char view_code(int k) {
    return k < N_COLUMNS ? columns[k].code[0] : extra_views[k - N_COLUMNS].code;
}

static int view_group(int k) {
    if (k >= N_COLUMNS) return extra_views[k - N_COLUMNS].group;
    if (k <= C_INV_OWNER) return G_INV;
    if (k <= C_INS_EXP) return G_INS;
    if (k <= C_PAY_INVOICE) return G_PAY;
    if (k <= C_ADJ_INVOICE) return G_ADJ;
    if (k <= C_ALLOC_EXP) return G_ALLOC;
    return G_CURRENCIES;
}

static size_t code_size(char code) {
    return code == 'q' ? 8 : code == 'i' ? 4 : code == 'h' ? 2 : 1;
}

/* Buffer `k` of `given`, held in E->views[k]: items of its type code, or
 * bytes of a whole number of them, aligned. Its item count into *n. */
static int view_in(Engine *E, PyObject *given, int k, Py_ssize_t *n) {
    const char *name = view_name(k);
    PyObject *value = PyDict_GetItemString(given, name);
    if (value == NULL) {
        PyErr_Format(PyExc_ValueError, "%s: missing from the columns", name);
        return -1;
    }
    Py_buffer *view = &E->views[k];
    if (PyObject_GetBuffer(value, view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s: not a contiguous buffer", name);
        return -1;
    }
    E->views_held[k] = 1;
    char code = view_code(k);
    size_t size = code_size(code);
    const char *format = view->format != NULL ? view->format : "B";
    size_t length = strlen(format);
    char last = length ? format[length - 1] : 0;
    int typed = length == 1 || (length == 2 && strchr("@=<", format[0]) != NULL);
    int bytes = view->itemsize == 1 && typed && (last == 'B' || last == 'b' || last == 'c');
    if (!(typed && (size_t)view->itemsize == size && last == code) && !bytes) {
        PyErr_Format(PyExc_ValueError, "%s: a buffer of '%c' items (or bytes), not '%s'",
                     name, code, format);
        return -1;
    }
    /* an empty array's buffer is a static byte, aligned or not: never read */
    if (view->len % (Py_ssize_t)size != 0 ||
        (view->len > 0 && (uintptr_t)view->buf % size != 0)) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes, not whole aligned '%c' items", name,
                     view->len, code);
        return -1;
    }
    *n = view->len / (Py_ssize_t)size;
    return 0;
}

/* A list of the columns' (a list, or None when `optional`): held, borrowed
 * into *out; `n` its length to agree with (-1: any). */
static int list_in(Engine *E, PyObject *given, const char *name, int held, Py_ssize_t n,
                   int optional, PyObject **out) {
    PyObject *value = PyDict_GetItemString(given, name);
    if ((value == NULL || value == Py_None) && optional) {
        *out = NULL;
        return 0;
    }
    if (value == NULL || !PyList_Check(value)) {
        PyErr_Format(PyExc_ValueError, "%s: a list", name);
        return -1;
    }
    if (n >= 0 && PyList_GET_SIZE(value) != n) {
        PyErr_Format(PyExc_ValueError, "%s: %zd items, not %zd", name, PyList_GET_SIZE(value),
                     n);
        return -1;
    }
    if (held >= 0) E->lists_held[held] = Py_NewRef(value);
    *out = value;
    return 0;
}

/* The strings of the columns' `name` into *out (Strings): a list, or a tuple
 * (offsets, bytes, list) where offsets is a buffer of int32 ('i'), one more
 * than the texts, rising from 0 or more to at most the length of bytes (text
 * k is bytes[offsets[k]:offsets[k + 1]]), and the list is what follows the
 * texts. */
static int strings_in(PyObject *given, const char *name, Strings *out) {
    PyObject *value = PyDict_GetItemString(given, name);
    if (value != NULL && PyList_Check(value)) {
        out->list = Py_NewRef(value);
        return 0;
    }
    if (value == NULL || !PyTuple_Check(value) || PyTuple_GET_SIZE(value) != 3 ||
        !PyList_Check(PyTuple_GET_ITEM(value, 2))) {
        PyErr_Format(PyExc_ValueError, "%s: a list, or (offsets, bytes, list)", name);
        return -1;
    }
    if (PyObject_GetBuffer(PyTuple_GET_ITEM(value, 0), &out->offsets,
                           PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    if (PyObject_GetBuffer(PyTuple_GET_ITEM(value, 1), &out->data, PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&out->offsets);
        return -1;
    }
    out->texts = 1;
    out->list = Py_NewRef(PyTuple_GET_ITEM(value, 2));
    const char *format = out->offsets.format ? out->offsets.format : "B";
    char code = format[0] == '@' ? format[1] : format[0];
    if (out->offsets.itemsize != 4 || (code != 'i' && code != 'l') || out->offsets.len < 4) {
        PyErr_Format(PyExc_ValueError, "%s: offsets of int32 ('i'), at least one", name);
        return -1;
    }
    const int32_t *at = out->offsets.buf;
    Py_ssize_t n = out->offsets.len / 4 - 1;
    if (at[0] < 0 || at[n] > out->data.len || n >= INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "%s: offsets beyond the bytes", name);
        return -1;
    }
    for (Py_ssize_t k = 0; k < n; k++)
        if (at[k + 1] < at[k]) {
            PyErr_Format(PyExc_ValueError, "%s: offsets falling", name);
            return -1;
        }
    out->n_texts = n;
    return 0;
}

/* Item `j` of buffer `k`, whatever its integer type. */
static inline int64_t value_at(const Engine *E, int k, Py_ssize_t j) {
    const void *b = E->views[k].buf;
    switch (view_code(k)) {
    case 'q': return ((const int64_t *)b)[j];
    case 'i': return ((const int32_t *)b)[j];
    case 'h': return ((const int16_t *)b)[j];
    case 'b': return ((const int8_t *)b)[j];
    default: return ((const uint8_t *)b)[j];
    }
}

/* The first item of buffer `k` (of `type`, `n` items) out of [lo, hi) or,
 * with `order`, out of order; n when none. */
#define FIRST_WRONG(type, k, n, lo, hi, order)                                       \
    do {                                                                             \
        const type *v = E->views[k].buf;                                             \
        for (j = 0; j < (n); j++) {                                                  \
            if (v[j] < (lo) || v[j] >= (hi)) break;                                  \
            if ((order) && j > 0 && (v[j] < v[j - 1] || ((order) == 2 && v[j] == v[j - 1]))) \
                break;                                                               \
        }                                                                            \
    } while (0)

/* Every item of buffer `k` in [lo, hi); `order` 1: never decreasing, 2:
 * increasing. Else a ValueError naming it. A loop per item type: the
 * columns of a million records each are checked in 20 ms, not 60. */
static int values_in(const Engine *E, int k, Py_ssize_t n, int64_t lo, int64_t hi,
                     int order) {
    Py_ssize_t j;
    switch (view_code(k)) {
    case 'q': FIRST_WRONG(int64_t, k, n, lo, hi, order); break;
    case 'i': FIRST_WRONG(int32_t, k, n, lo, hi, order); break;
    case 'h': FIRST_WRONG(int16_t, k, n, lo, hi, order); break;
    case 'b': FIRST_WRONG(int8_t, k, n, lo, hi, order); break;
    default: FIRST_WRONG(uint8_t, k, n, lo, hi, order); break;
    }
    if (j == n) return 0;
    int64_t v = value_at(E, k, j);
    if (v < lo || v >= hi)
        PyErr_Format(PyExc_ValueError, "%s[%zd]: %lld, out of range", view_name(k), j,
                     (long long)v);
    else
        PyErr_Format(PyExc_ValueError, "%s[%zd]: out of order", view_name(k), j);
    return -1;
}
#undef FIRST_WRONG

/* Each amount of column `k` (its records' currencies through `currency_of`)
 * above 0 and its exponent one the currency's minor units can give back. */
static int amounts_in(const Engine *E, int which, int k, Py_ssize_t n,
                      const int16_t *currency, const int32_t *through) {
    for (Py_ssize_t j = 0; j < n; j++) {
        money m = word_at(E->minor[which], E->wide, j);
        if (m <= 0) {
            PyErr_Format(PyExc_ValueError, "%s[%zd]: not above 0", columns[k].name, j);
            return -1;
        }
        Py_ssize_t r = through ? through[j] : j;
        int mu = E->minor_units[currency[r]];
        int e = E->exp[which][j];
        /* the Decimal's coefficient, minor * 10^(-mu-e), fits (own_amount) */
        int bad = e + mu > 38 || -mu - e > 38;
        unsigned __int128 coefficient = (unsigned __int128)m;
        for (int shift = -mu - e; !bad && shift > 0; shift--) {
            bad = coefficient > ((unsigned __int128)MONEY_MAX) / 10;
            coefficient *= 10;
        }
        if (bad) {
            PyErr_Format(PyExc_ValueError, "%s[%zd]: exponent %d for %d places",
                         columns[k + 1].name, j, e, mu);
            return -1;
        }
    }
    return 0;
}

/* The columns run is given, held and checked, into E
 * (docs/columnar-kernel.md §4.2). */
static int columns_given(Engine *E, PyObject *given) {
    PyObject *customers, *currencies, *owners;
    if (strings_in(given, "ids", &E->ids) < 0 || strings_in(given, "refs", &E->refs) < 0 ||
        strings_in(given, "adj_ids", &E->adj_ids) < 0 ||
        list_in(E, given, "customers", -1, -1, 0, &customers) < 0 ||
        list_in(E, given, "currencies", -1, -1, 0, &currencies) < 0 ||
        list_in(E, given, "owners", -1, -1, 0, &owners) < 0)
        return -1;
    E->customers = Py_NewRef(customers);
    E->currencies = Py_NewRef(currencies);
    E->owners = Py_NewRef(owners);
    Py_ssize_t count[8] = {-1, -1, strings_len(&E->refs), strings_len(&E->adj_ids), -1,
                           PyList_GET_SIZE(currencies), PyList_GET_SIZE(customers), -1};
    const int first[8] = {C_INV_DATE, C_INS_INVOICE, -1, -1, C_ALLOC_PAYMENT, -1, -1,
                          V_OFFER_INVOICE};
    /* the counts not given by a list are the first column's of the group */
    for (int k = 0; k < N_VIEWS; k++) {
        Py_ssize_t n;
        if (view_in(E, given, k, &n) < 0) return -1;
        int g = view_group(k);
        int amount = view_code(k) == 'q';
        if (amount && E->wide) {
            if (n % 2) {
                PyErr_Format(PyExc_ValueError, "%s: wide, an odd count of words",
                             view_name(k));
                return -1;
            }
            n /= 2;
        }
        if (count[g] < 0 && first[g] == k) count[g] = n;
        if (n != count[g]) {
            PyErr_Format(PyExc_ValueError, "%s: %zd items, not %zd", view_name(k), n,
                         count[g]);
            return -1;
        }
    }
    E->n_invs = count[G_INV];
    E->n_ins = count[G_INS];
    E->n_pay = count[G_PAY];
    E->n_adj = count[G_ADJ];
    E->n_alloc = count[G_ALLOC];
    E->n_offers = count[G_OFFERS];
    E->n_currencies = count[G_CURRENCIES];
    Py_ssize_t n_ids = strings_len(&E->ids);
    if (n_ids < E->n_invs || n_ids >= INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "ids: %zd items, for %zd invoices", n_ids, E->n_invs);
        return -1;
    }
    if (E->n_currencies > INT16_MAX + 1L) {
        PyErr_SetString(PyExc_ValueError, "currencies: more than int16 codes");
        return -1;
    }
    /* codes in range, dates ordered (date.min to date.max) */
    const int64_t DAY_MAX = 3652060;
    Py_ssize_t n_cust = PyList_GET_SIZE(customers), n_own = PyList_GET_SIZE(owners);
    const struct {
        int k;
        int64_t lo, hi;
        int order;
    } checks[] = {
        {C_INV_DATE, 1, DAY_MAX, 1}, {C_INV_CUSTOMER, 0, n_cust, 0},
        {C_INV_CURRENCY, 0, E->n_currencies, 0}, {C_INV_DUE, 1, DAY_MAX, 0},
        {C_INV_OWNER, -1, n_own, 0}, {C_INS_INVOICE, 0, E->n_invs, 1},
        {C_INS_DUE, 1, DAY_MAX, 0}, {C_PAY_DATE, 1, DAY_MAX, 1},
        {C_PAY_CUSTOMER, 0, n_cust, 0}, {C_PAY_CURRENCY, 0, E->n_currencies, 0},
        {C_PAY_INVOICE, -1, n_ids, 0}, {C_ADJ_KIND, 0, 3, 0}, {C_ADJ_DATE, 1, DAY_MAX, 1},
        {C_ADJ_CUSTOMER, 0, n_cust, 0}, {C_ADJ_CURRENCY, 0, E->n_currencies, 0},
        {C_ADJ_INVOICE, -1, n_ids, 0}, {C_ALLOC_PAYMENT, 0, E->n_pay, 1},
        {C_ALLOC_INVOICE, 0, n_ids, 0}, {C_MINOR_UNITS, 0, 39, 0},
        {V_CUSTOMER_OWNER, -1, n_own, 0}, {V_OFFER_INVOICE, 0, E->n_invs, 2},
    };
    Py_ssize_t lengths[N_VIEWS];
    for (int k = 0; k < N_VIEWS; k++) {
        int g = view_group(k);
        lengths[k] = count[g];
    }
    for (size_t c = 0; c < sizeof checks / sizeof checks[0]; c++)
        if (values_in(E, checks[c].k, lengths[checks[c].k], checks[c].lo, checks[c].hi,
                      checks[c].order) < 0)
            return -1;
#define BUF(type, k) ((const type *)E->views[k].buf)
    E->inv_date = BUF(int32_t, C_INV_DATE);
    E->inv_customer = BUF(int32_t, C_INV_CUSTOMER);
    E->inv_currency = BUF(int16_t, C_INV_CURRENCY);
    E->inv_flags = BUF(uint8_t, C_INV_FLAGS);
    E->inv_due = BUF(int32_t, C_INV_DUE);
    E->inv_owner = BUF(int32_t, C_INV_OWNER);
    E->ins_invoice = BUF(int32_t, C_INS_INVOICE);
    E->ins_due = BUF(int32_t, C_INS_DUE);
    E->pay_date = BUF(int32_t, C_PAY_DATE);
    E->pay_customer = BUF(int32_t, C_PAY_CUSTOMER);
    E->pay_currency = BUF(int16_t, C_PAY_CURRENCY);
    E->pay_invoice = BUF(int32_t, C_PAY_INVOICE);
    E->adj_kind = BUF(uint8_t, C_ADJ_KIND);
    E->adj_date = BUF(int32_t, C_ADJ_DATE);
    E->adj_customer = BUF(int32_t, C_ADJ_CUSTOMER);
    E->adj_currency = BUF(int16_t, C_ADJ_CURRENCY);
    E->adj_invoice = BUF(int32_t, C_ADJ_INVOICE);
    E->alloc_payment = BUF(int32_t, C_ALLOC_PAYMENT);
    E->alloc_invoice = BUF(int32_t, C_ALLOC_INVOICE);
    E->minor_units = BUF(int8_t, C_MINOR_UNITS);
    static const char *amount_lists[N_AMOUNTS] = {"inv_amounts", "ins_amounts",
                                                  "pay_amounts", "adj_amounts",
                                                  "alloc_amounts"};
    const int amount_columns[N_AMOUNTS] = {C_INV_MINOR, C_INS_MINOR, C_PAY_MINOR,
                                           C_ADJ_MINOR, C_ALLOC_MINOR};
    int given_lists = 0;
    for (int k = 0; k < N_AMOUNTS; k++) {
        int c = amount_columns[k];
        E->minor[k] = BUF(int64_t, c);
        E->exp[k] = BUF(int8_t, c + 1);
        if (list_in(E, given, amount_lists[k], k, lengths[c], 1, &E->amounts[k]) < 0)
            return -1;
        given_lists += E->amounts[k] != NULL;
    }
#undef BUF
    if (given_lists != 0 && given_lists != N_AMOUNTS) {
        PyErr_SetString(PyExc_ValueError,
                        "inv_amounts ... alloc_amounts: all five lists, or none");
        return -1;
    }
    if (amounts_in(E, A_INV, C_INV_MINOR, E->n_invs, E->inv_currency, NULL) < 0 ||
        amounts_in(E, A_INS, C_INS_MINOR, E->n_ins, E->inv_currency, E->ins_invoice) < 0 ||
        amounts_in(E, A_PAY, C_PAY_MINOR, E->n_pay, E->pay_currency, NULL) < 0 ||
        amounts_in(E, A_ADJ, C_ADJ_MINOR, E->n_adj, E->adj_currency, NULL) < 0 ||
        amounts_in(E, A_ALLOC, C_ALLOC_MINOR, E->n_alloc, E->pay_currency,
                   E->alloc_payment) < 0)
        return -1;
    /* the customers' owners, copied (a few per customer) */
    Py_ssize_t c = n_cust ? n_cust : 1;
    if ((E->customer_owner = PyMem_RawMalloc((size_t)c * sizeof(int32_t))) == NULL) {
        no_memory();
        return -1;
    }
    if (n_cust) memcpy(E->customer_owner, E->views[V_CUSTOMER_OWNER].buf,
                       (size_t)n_cust * sizeof(int32_t));
    E->n_customer_owner = n_cust;
    /* the offers: sparse, invoices ascending (§1.3) */
    E->offers = PyMem_RawMalloc((size_t)(E->n_offers ? E->n_offers : 1) * sizeof(Offer));
    if (E->offers == NULL) {
        no_memory();
        return -1;
    }
    const int32_t *offer_invoice = E->views[V_OFFER_INVOICE].buf;
    const int32_t *last_day = E->views[V_OFFER_LAST_DAY].buf;
    for (Py_ssize_t k = 0; k < E->n_offers; k++) {
        Offer *made = &E->offers[k];
        made->invoice = offer_invoice[k];
        made->last_day = last_day[k];
        made->threshold = word_at(E->views[V_OFFER_THRESHOLD].buf, E->wide, k);
        made->total = minor_at(E, A_INV, offer_invoice[k]);
        made->open = 1;
    }
    return 0;
}

PyDoc_STRVAR(run_doc,
"run(columns, context, /)\n"
"-> (items, applications, credits, discounts, accounts)\n\n"
"Settle the columns of records in SPEC \xc2\xa7" "2 order, as `read` returns them\n"
"(docs/columnar-kernel.md \xc2\xa7" "4.2): buffers (array.array, memoryview, bytes)\n"
"of int64 amounts, or two words each when context['wide'], the lists beside\n"
"them (the record amount lists may be None: Decimals are then rebuilt from\n"
"minor units and exponents), customer_owner and the offer_* columns.\n"
"context: history, paid, owner (a code: -1 none, -2 nobody), wide, decimal,\n"
"item, application, credit, early_payment; release (optional: drop each\n"
"column from `columns` once the replay is done with it) and lanes (optional,\n"
"1 or 2: without the history, the replay split by account between threads).\n"
"A malformed column is a ValueError naming it.");

static PyObject *run(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *given, *ctx;
    if (!PyArg_ParseTuple(args, "O!O!:run", &PyDict_Type, &given, &PyDict_Type, &ctx))
        return NULL;
    Engine engine, *E = &engine;
    memset(E, 0, sizeof engine);
    PyObject *result = NULL;
    PyObject *owner = context(ctx, "owner");
    PyObject *wide = owner ? context(ctx, "wide") : NULL;
    if (wide == NULL || context_in(E, ctx) < 0) goto done;
    if ((E->wide = PyObject_IsTrue(wide)) < 0) goto done;
    PyObject *release = PyDict_GetItemString(ctx, "release");
    if ((E->release = release ? PyObject_IsTrue(release) : 0) < 0) goto done;
    PyObject *later = PyDict_GetItemString(ctx, "later");
    if ((E->later = later ? PyObject_IsTrue(later) : 0) < 0) goto done;
    E->given = given;
    long code = PyLong_AsLong(owner);
    if (code == -1 && PyErr_Occurred()) goto done;
    if (columns_given(E, given) < 0) goto done;
    if (code < -2 || code >= PyList_GET_SIZE(E->owners)) {
        PyErr_Format(PyExc_ValueError, "owner: %ld, not an owner's code, -1 or -2", code);
        goto done;
    }
    E->owner = (int32_t)code;
    if (state_for(E) < 0) goto done;
    result = replay(E);
done:
    engine_free(E);
    return result;
}

static PyMethodDef methods[] = {
    {"read", read_records, METH_VARARGS, read_doc},
    {"run", run, METH_VARARGS, run_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_settle",
    "arledger's settlement engine, compiled (see arledger/settle.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__settle(void) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) return NULL;
    struct {
        PyObject **slot;
        const char *text;
    } strings[] = {
        {&S_payment, "payment"}, {&S_discount, "discount"},
        {&S_fromordinal, "fromordinal"}, {&S_fields, "_fields"},
    };
    for (size_t k = 0; k < sizeof strings / sizeof strings[0]; k++)
        if ((*strings[k].slot = PyUnicode_InternFromString(strings[k].text)) == NULL)
            return NULL;
    for (int f = 0; f < N_FIELDS; f++)
        if ((field_names[f] = PyUnicode_InternFromString(field_texts[f])) == NULL)
            return NULL;
    for (int k = 0; k < 3; k++)
        if ((S_adjustment_kinds[k] = PyUnicode_InternFromString(adjustment_kinds[k])) == NULL)
            return NULL;
    if (PyType_Ready(&ItemsType) < 0) return NULL;
    S_date_type = (PyObject *)PyDateTimeAPI->DateType;
    Py_INCREF(S_date_type);
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddStringConstant(m, "SOURCE_SHA256", SOURCE_SHA256) < 0 ||
        PyModule_AddObjectRef(m, "Items", (PyObject *)&ItemsType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
