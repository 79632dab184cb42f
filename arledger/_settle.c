/* The settlement engine (SPEC §2, §9): payments and adjustments applied to
 * invoices, in integer minor units.
 *
 * This is arledger's only engine; `arledger/settle.py` prepares its input and
 * documents its contract, and `tests/reference_settle.py` is the readable
 * Python version that property tests hold it to (STYLE.md §12). Every rule
 * below cites the function of the reference it follows, so that the two read
 * side by side.
 *
 * Amounts are exact integers of the account currency's minor unit (an
 * __int128: a 28-digit amount in minor units, summed a million times, still
 * fits), converted from the records' Decimals once and back to Decimals only
 * for what the settlement returns. Dates are proleptic Gregorian ordinals.
 *
 * State is plain arrays: works (an invoice, or one instalment of it), chunks
 * (what is left of a payment or adjustment, kept only while it waits or sits
 * as credit), invoices and accounts (a customer in one currency), each account
 * with a binary heap of its open works, oldest due first.
 *
 * `read`, at the end, turns the same records into columns of codes, day
 * ordinals and minor units, the input of the replay over columns that
 * docs/columnar-kernel.md designs; tests/reference_columns.py is its
 * readable version. `settle.py` does not call it yet.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <stdint.h>
#include <string.h>

#ifndef SOURCE_SHA256
#define SOURCE_SHA256 "unknown"
#endif

/* 8-byte aligned: a work or an invoice takes 48 bytes, not 64 or 80 */
typedef __int128 money __attribute__((aligned(8)));

#define HEAP_LIMIT 1024 /* reference: _HEAP_LIMIT */

/* ------------------------------------------------------------- records */

typedef struct {
    money open;
    PyObject *amount_obj; /* the Decimal of its amount (owned) */
    PyObject *due_obj;    /* the due date, or NULL: made from `due` (owned) */
    int32_t due;          /* ordinal */
    int32_t inst;         /* instalment number; 0: none */
    int32_t inv;          /* index in the invoices, in SPEC §2 order */
    uint8_t touched;      /* anything applied: else `open` is the amount */
} Work;

typedef struct {
    PyObject *kind;       /* "payment", "credit_note", "write_off" (owned) */
    PyObject *ref;        /* the record's id, or where it was written (owned) */
    PyObject *date_obj;   /* owned */
    PyObject *amount_obj; /* a Decimal equal to `amount`, or NULL (owned) */
    PyObject *waiting;    /* the invoice id it waits for, or NULL (owned) */
    money amount, left;
    int32_t date;
} Chunk;

typedef struct {
    PyObject *id, *date_obj, *owner; /* owned; owner: the item's, or None */
    int32_t account;                 /* -1: not issued yet */
    int32_t first_work, n_works;
    int32_t date;
    int32_t offer;                   /* its early-payment discount's, or -1 */
    uint8_t disputed;
} Invoice;

/* An invoice's early-payment discount while it can still be earned (SPEC §9). */
typedef struct {
    money total, threshold; /* the invoice's amount; what must be applied */
    int32_t last_day;
    uint8_t open;           /* 0: earned or lapsed */
} Offer;

typedef struct {
    int32_t *data;
    Py_ssize_t n, cap;
} Vec;

typedef struct {
    PyObject *customer, *currency; /* owned; NULL: an empty slot */
    int32_t account;
} AccountSlot;

typedef struct {
    uint32_t hash;   /* the id's hash, its low bits: most other ids differ */
    int32_t invoice; /* -1: empty */
} IdSlot;

typedef struct {
    PyObject *customer, *currency; /* owned */
    PyObject *waiting;             /* dict: invoice id -> list of chunk indexes */
    Vec heap, pending, credits, items;
    Py_ssize_t credits_head, heap_limit, pending_limit;
    int mu;                        /* minor units of the currency */
} Account;

static PyObject *S_payment, *S_discount, *S_targets, *S_fromordinal, *S_fields,
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

typedef struct {
    Work *works;
    Py_ssize_t n_works, cap_works;
    Invoice *invs;
    Py_ssize_t n_invs;
    Offer *offers;
    Py_ssize_t n_offers, cap_offers;
    Chunk *chunks;
    Py_ssize_t n_chunks, cap_chunks;
    Account *accounts;
    Py_ssize_t n_accounts, cap_accounts;
    PyObject *account_index; /* (customer, currency) -> index */
    /* The same, by the two objects themselves (held): a record's customer and
     * currency are the loader's shared strings, so most lookups find their
     * pair here without making, hashing and comparing a tuple. */
    AccountSlot *pairs;
    size_t pairs_mask;
    Py_ssize_t n_pairs;
    /* invoice id -> index: open addressing over the ids' own hashes, 8
     * bytes a slot (one cache line read a probe) where a dict and its int
     * objects take ~80 an invoice */
    IdSlot *ids;
    size_t id_mask;
    PyObject *applications, *discounts; /* lists */
    PyObject *dates;         /* ordinal -> date, made once each */
    PyObject *zeros;         /* minor units -> Decimal zero */
    int history;
    int paid; /* items paid in full are returned (history and `paid`) */
    /* from the context */
    PyObject *customer_currency, *terms, *customer_discounts, *customer_owner;
    PyObject *base, *owner, *offer, *currency_of, *payment_ref, *minor_units;
    PyObject *decimal, *item_type, *application_type, *credit_type;
    PyObject *early_payment;
    long default_terms;
    Layout invoice, payment, adjustment;
} Engine;


/* ------------------------------------------------------------- helpers */

/* Room for one more of `n` items of `size` bytes at `*data`, doubling `*cap`
 * (`first` to start with) when full. */
static int room(void *data, Py_ssize_t n, Py_ssize_t *cap, size_t size, Py_ssize_t first) {
    if (n < *cap) return 0;
    Py_ssize_t more = *cap ? 2 * *cap : first;
    void *grown = PyMem_Realloc(*(void **)data, (size_t)more * size);
    if (grown == NULL) {
        PyErr_NoMemory();
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
    PyMem_Free(v->data);
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

/* The date of an ordinal, made once per ordinal. Borrowed. */
static PyObject *date_of(Engine *E, int32_t ordinal) {
    PyObject *key = PyLong_FromLong(ordinal);
    if (key == NULL) return NULL;
    PyObject *found = PyDict_GetItemWithError(E->dates, key);
    if (found == NULL && !PyErr_Occurred()) {
        found = PyObject_CallMethodOneArg(S_date_type, S_fromordinal, key);
        if (found != NULL) {
            int failed = PyDict_SetItem(E->dates, key, found);
            Py_DECREF(found); /* the dict holds it */
            if (failed) found = NULL;
        }
    }
    Py_DECREF(key);
    return found;
}

static const money MONEY_MAX = (money)(((unsigned __int128)1 << 127) - 1);

/* A Decimal in minor units of `mu` decimal places, exact or an error; with
 * `exp`, also the exponent it is written with (Decimal.as_tuple().exponent:
 * 0 for 30, -2 for 30.00), which must fit an int8. */
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
    if (exp != NULL) {
        long written = exponent - decimals;
        if (written < INT8_MIN || written > INT8_MAX) goto bad;
        *exp = (int8_t)written;
    }
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

static int money_of(PyObject *amount, int mu, money *out) {
    return amount_of(amount, mu, out, NULL);
}

/* `known` (a Decimal of `value`) when given, else a new Decimal of `value`. */
static PyObject *decimal_or(Engine *E, money value, int mu, PyObject *known) {
    if (known != NULL) {
        Py_INCREF(known);
        return known;
    }
    if (value == 0) {
        PyObject *key = PyLong_FromLong(mu);
        if (key == NULL) return NULL;
        PyObject *zero = PyDict_GetItemWithError(E->zeros, key);
        if (zero != NULL) {
            Py_INCREF(zero);
            Py_DECREF(key);
            return zero;
        }
        if (PyErr_Occurred()) {
            Py_DECREF(key);
            return NULL;
        }
        char text[16];
        snprintf(text, sizeof text, "0E-%d", mu);
        zero = PyObject_CallFunction(E->decimal, "s", text);
        if (zero != NULL && PyDict_SetItem(E->zeros, key, zero) < 0) Py_CLEAR(zero);
        Py_DECREF(key);
        return zero;
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
    return PyObject_CallFunction(E->decimal, "s", p);
}

/* A new Decimal of `value` minor units; `known`, when equal, is reused. */
static PyObject *decimal_of(Engine *E, money value, int mu, PyObject *known,
                            money known_value) {
    if (known != NULL && value == known_value) {
        Py_INCREF(known);
        return known;
    }
    return decimal_or(E, value, mu, NULL);
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

/* ------------------------------------------------------------- accounts */

static size_t pair_hash(PyObject *customer, PyObject *currency) {
    size_t h = (size_t)customer * 0x9E3779B97F4A7C15ull;
    return (h ^ (h >> 29) ^ (size_t)currency * 0xBF58476D1CE4E5B9ull) >> 4;
}

/* Enter (customer, currency) -> account in `pairs`, doubling it past half
 * full. At most 4 pairs per account plus 1024 are kept: where the strings are
 * not shared (a ledger read otherwise), lookups go by value. */
static int pair_add(Engine *E, PyObject *customer, PyObject *currency, int32_t account) {
    if (E->n_pairs >= 4 * E->n_accounts + 1024) return 0;
    if ((size_t)(E->n_pairs + 1) * 2 > (E->pairs ? E->pairs_mask + 1 : 0)) {
        size_t size = E->pairs ? 2 * (E->pairs_mask + 1) : 256;
        AccountSlot *grown = PyMem_Calloc(size, sizeof(AccountSlot));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (size_t k = 0; E->pairs != NULL && k <= E->pairs_mask; k++) {
            AccountSlot *old = &E->pairs[k];
            if (old->customer == NULL) continue;
            size_t at = pair_hash(old->customer, old->currency) & (size - 1);
            while (grown[at].customer != NULL) at = (at + 1) & (size - 1);
            grown[at] = *old;
        }
        PyMem_Free(E->pairs);
        E->pairs = grown;
        E->pairs_mask = size - 1;
    }
    size_t at = pair_hash(customer, currency) & E->pairs_mask;
    while (E->pairs[at].customer != NULL) at = (at + 1) & E->pairs_mask;
    E->pairs[at].customer = Py_NewRef(customer);
    E->pairs[at].currency = Py_NewRef(currency);
    E->pairs[at].account = account;
    E->n_pairs++;
    return 0;
}

static int account_by_value(Engine *E, PyObject *customer, PyObject *currency);

/* The account of (customer, currency): by the two objects when seen before
 * (held, so never another object at the same address), else by value. */
static int account_of(Engine *E, PyObject *customer, PyObject *currency) {
    if (E->pairs != NULL) {
        for (size_t at = pair_hash(customer, currency) & E->pairs_mask;;
             at = (at + 1) & E->pairs_mask) {
            AccountSlot *slot = &E->pairs[at];
            if (slot->customer == NULL) break;
            if (slot->customer == customer && slot->currency == currency)
                return slot->account;
        }
    }
    int index = account_by_value(E, customer, currency);
    if (index < 0 || pair_add(E, customer, currency, index) < 0) return -1;
    return index;
}

/* reference: _Engine.account */
static int account_by_value(Engine *E, PyObject *customer, PyObject *currency) {
    PyObject *key = PyTuple_Pack(2, customer, currency);
    if (key == NULL) return -1;
    PyObject *found = PyDict_GetItemWithError(E->account_index, key);
    if (found != NULL) {
        Py_DECREF(key);
        return (int)PyLong_AsLong(found);
    }
    if (PyErr_Occurred()) goto fail;
    if (room(&E->accounts, E->n_accounts, &E->cap_accounts, sizeof(Account), 64) < 0)
        goto fail;
    PyObject *mu = PyObject_CallOneArg(E->minor_units, currency);
    if (mu == NULL) goto fail;
    long places = PyLong_AsLong(mu);
    Py_DECREF(mu);
    if (places == -1 && PyErr_Occurred()) goto fail;
    int index = (int)E->n_accounts;
    PyObject *number = PyLong_FromLong(index);
    if (number == NULL) goto fail;
    int failed = PyDict_SetItem(E->account_index, key, number);
    Py_DECREF(number);
    if (failed) goto fail;
    Account *a = &E->accounts[E->n_accounts++];
    memset(a, 0, sizeof *a);
    Py_INCREF(customer);
    Py_INCREF(currency);
    a->customer = customer;
    a->currency = currency;
    a->heap_limit = a->pending_limit = HEAP_LIMIT;
    a->mu = (int)places;
    Py_DECREF(key);
    return index;
fail:
    Py_DECREF(key);
    return -1;
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

/* The due date of a work, made once: its items and applications share it. Borrowed. */
static PyObject *due_of(Engine *E, Work *w) {
    if (w->due_obj == NULL) {
        PyObject *made = date_of(E, w->due);
        if (made == NULL) return NULL;
        w->due_obj = Py_NewRef(made);
    }
    return w->due_obj;
}

static int add_application(Engine *E, Account *a, Work *w, PyObject *kind,
                           PyObject *ref, PyObject *day, PyObject *amount,
                           int also_discount) {
    PyObject *due = due_of(E, w);
    PyObject *t = due ? new_tuple(E->application_type, 10) : NULL;
    if (t == NULL) {
        Py_DECREF(amount);
        return -1;
    }
    PyObject *inst = instalment_of(w->inst);
    PyObject *id = E->invs[w->inv].id;
    PyObject *issued = E->invs[w->inv].date_obj;
    Py_INCREF(id);
    Py_INCREF(issued);
    Py_INCREF(a->customer);
    Py_INCREF(a->currency);
    Py_INCREF(kind);
    Py_INCREF(ref);
    Py_INCREF(day);
    Py_INCREF(due);
    PyTuple_SET_ITEM(t, 0, id);
    PyTuple_SET_ITEM(t, 1, inst);
    PyTuple_SET_ITEM(t, 2, a->customer);
    PyTuple_SET_ITEM(t, 3, a->currency);
    PyTuple_SET_ITEM(t, 4, kind);
    PyTuple_SET_ITEM(t, 5, ref);
    PyTuple_SET_ITEM(t, 6, day);
    PyTuple_SET_ITEM(t, 7, amount);
    PyTuple_SET_ITEM(t, 8, due);
    PyTuple_SET_ITEM(t, 9, issued);
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
static int discount(Engine *E, Account *a, int32_t i, int32_t day, PyObject *day_obj) {
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
        Work *w = &E->works[inv->first_work + k];
        money rest = w->open;
        if (rest <= 0) continue;
        int whole = !w->touched;
        w->open = 0;
        w->touched = 1;
        if (E->history) {
            PyObject *amount = decimal_or(E, rest, a->mu, whole ? w->amount_obj : NULL);
            if (amount == NULL) return -1;
            if (add_application(E, a, w, S_discount, E->early_payment, day_obj, amount, 1) < 0)
                return -1;
        }
    }
    return 0;
}

/* reference: _Engine.apply and apply_and_discount */
static int apply(Engine *E, Account *a, int32_t wi, Chunk *c, money amount,
                 int32_t day, PyObject *day_obj) {
    Work *w = &E->works[wi];
    int whole = !w->touched && amount == w->open; /* the work's whole amount */
    w->open -= amount;
    w->touched = 1;
    c->left -= amount;
    if (E->history) {
        PyObject *value = whole ? decimal_or(E, amount, a->mu, w->amount_obj)
                                : decimal_of(E, amount, a->mu, c->amount_obj, c->amount);
        if (value == NULL) return -1;
        if (add_application(E, a, w, c->kind, c->ref, day_obj, value, 0) < 0) return -1;
    }
    return discount(E, a, w->inv, day, day_obj);
}

/* reference: _Engine.apply_to_invoice. Up to `limit` (has_limit 0: all) of a
 * chunk to one invoice's works, instalments in due order. */
static int apply_to_invoice(Engine *E, Account *a, int32_t i, Chunk *c,
                            int has_limit, money limit, int32_t day, PyObject *day_obj) {
    money budget = has_limit && limit < c->left ? limit : c->left;
    Invoice *inv = &E->invs[i];
    for (int32_t k = 0; k < inv->n_works; k++) {
        if (budget <= 0) break;
        int32_t wi = inv->first_work + k;
        money open = E->works[wi].open;
        if (open > 0) {
            money amount = budget < open ? budget : open;
            if (apply(E, a, wi, c, amount, day, day_obj) < 0) return -1;
            budget -= amount;
        }
    }
    return 0;
}

/* reference: _Engine.apply_oldest_first */
static int apply_oldest_first(Engine *E, Account *a, Chunk *c, int32_t day,
                              PyObject *day_obj) {
    if (flush(E, a) < 0) return -1;
    while (c->left > 0 && a->heap.n) {
        int32_t wi = a->heap.data[0];
        money open = E->works[wi].open;
        if (open > 0 &&
            apply(E, a, wi, c, c->left < open ? c->left : open, day, day_obj) < 0)
            return -1;
        if (E->works[wi].open <= 0) heap_pop(E, &a->heap);
    }
    return 0;
}

static void chunk_clear(Chunk *c) {
    Py_CLEAR(c->kind);
    Py_CLEAR(c->ref);
    Py_CLEAR(c->date_obj);
    Py_CLEAR(c->amount_obj);
    Py_CLEAR(c->waiting);
}

/* reference: _Engine.apply_credits: unapplied chunks, oldest first, meet the
 * account's open works. */
static int apply_credits(Engine *E, Account *a, int32_t day, PyObject *day_obj) {
    while (a->credits.n > a->credits_head) {
        if (flush(E, a) < 0) return -1;
        if (a->heap.n == 0) break;
        Chunk *c = &E->chunks[a->credits.data[a->credits_head]];
        if (apply_oldest_first(E, a, c, day, day_obj) < 0) return -1;
        if (c->left > 0) break;
        chunk_clear(c);
        a->credits_head++;
    }
    return 0;
}

/* A chunk kept: it waits for an invoice or sits as credit. */
static int32_t keep_chunk(Engine *E, const Chunk *c) {
    if (room(&E->chunks, E->n_chunks, &E->cap_chunks, sizeof(Chunk), 64) < 0) return -1;
    Chunk *kept = &E->chunks[E->n_chunks];
    *kept = *c;
    Py_XINCREF(kept->kind);
    Py_XINCREF(kept->ref);
    Py_XINCREF(kept->date_obj);
    Py_XINCREF(kept->amount_obj);
    Py_XINCREF(kept->waiting);
    return (int32_t)E->n_chunks++;
}

/* reference: _Engine.issued: record an invoice's works, then let waiting
 * allocations and credits meet them (SPEC §2). */
static int issued(Engine *E, int32_t ai, int32_t i) {
    Account *a = &E->accounts[ai];
    Invoice *inv = &E->invs[i];
    inv->account = ai;
    if (vec_push(&a->items, i) < 0) return -1;
    if (!inv->disputed) {
        /* Decision (README, "Disputed invoices"): cash meets a disputed
         * invoice only when a payment names it, never oldest first. */
        for (int32_t k = 0; k < inv->n_works; k++)
            if (push_pending(E, a, inv->first_work + k) < 0) return -1;
    }
    if (a->waiting != NULL && PyDict_GET_SIZE(a->waiting)) {
        PyObject *chunks = PyDict_GetItemWithError(a->waiting, inv->id);
        if (chunks == NULL && PyErr_Occurred()) return -1;
        if (chunks != NULL) {
            Py_INCREF(chunks);
            if (PyDict_DelItem(a->waiting, inv->id) < 0) {
                Py_DECREF(chunks);
                return -1;
            }
            for (Py_ssize_t k = 0; k < PyList_GET_SIZE(chunks); k++) {
                int32_t ci = (int32_t)PyLong_AsLong(PyList_GET_ITEM(chunks, k));
                Chunk *c = &E->chunks[ci];
                if (apply_to_invoice(E, a, i, c, 0, 0, inv->date, inv->date_obj) < 0) {
                    Py_DECREF(chunks);
                    return -1;
                }
                if (c->left > 0) {
                    /* what exceeds the invoice is unallocated credit */
                    Py_CLEAR(c->waiting);
                    if (vec_push(&a->credits, ci) < 0) {
                        Py_DECREF(chunks);
                        return -1;
                    }
                } else {
                    chunk_clear(c);
                }
            }
            Py_DECREF(chunks);
        }
    }
    if (a->credits.n > a->credits_head) return apply_credits(E, a, inv->date, inv->date_obj);
    return 0;
}

/* An id table: `slots` (a power of two, at most half full) of indexes into
 * ids kept elsewhere, the id of index k at `keys + k * stride` (the Invoice
 * structs of `run`, the list `ids` of `read`). Empty slots are -1. */
static int id_table_new(IdSlot **slots, size_t *mask, Py_ssize_t n) {
    size_t size = 16;
    while (size < 2 * (size_t)n) size *= 2;
    *slots = PyMem_Malloc(size * sizeof(IdSlot));
    if (*slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(*slots, 0xff, size * sizeof(IdSlot));
    *mask = size - 1;
    return 0;
}

/* The index of the id `id`, or -1; -2 with an error set. With `add`, `index`
 * is entered under `id` (the last of equal ids wins, as in a dict). */
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
            return add ? index : slot;
        }
    }
}

/* The index of the invoice `id`, or -1; -2 with an error set (see id_find). */
static int32_t find_invoice(Engine *E, PyObject *id, int add, int32_t index) {
    return id_find(E->ids, E->id_mask, (const char *)&E->invs[0].id, sizeof(Invoice), id,
                   add, index);
}

/* reference: _Engine.receive_for: what a record names for one invoice, or set
 * aside until the invoice is issued (SPEC §2). */
static int receive_for(Engine *E, int32_t ai, Chunk *c, PyObject *invoice_id,
                       int has_limit, money limit, PyObject *limit_obj) {
    int32_t i = find_invoice(E, invoice_id, 0, 0);
    if (i == -2) return -1;
    if (i >= 0) {
        if (E->invs[i].account == ai)
            return apply_to_invoice(E, &E->accounts[ai], i, c, has_limit, limit,
                                    c->date, c->date_obj);
    }
    money share = has_limit && limit < c->left ? limit : c->left;
    if (share <= 0) return 0;
    c->left -= share;
    Chunk waiting = *c;
    waiting.amount = share;
    waiting.left = share;
    waiting.amount_obj = has_limit && share == limit ? limit_obj
                         : share == c->amount        ? c->amount_obj
                                                     : NULL;
    waiting.waiting = invoice_id;
    int32_t ci = keep_chunk(E, &waiting);
    if (ci < 0) return -1;
    Account *a = &E->accounts[ai];
    if (a->waiting == NULL && (a->waiting = PyDict_New()) == NULL) return -1;
    PyObject *list = PyDict_GetItemWithError(a->waiting, invoice_id);
    if (list == NULL) {
        if (PyErr_Occurred()) return -1;
        list = PyList_New(0);
        if (list == NULL) return -1;
        int failed = PyDict_SetItem(a->waiting, invoice_id, list);
        Py_DECREF(list);
        if (failed) return -1;
    }
    PyObject *number = PyLong_FromLong(ci);
    if (number == NULL) return -1;
    int failed = PyList_Append(list, number);
    Py_DECREF(number);
    return failed;
}

/* reference: _Engine.receive and left_over: a payment or an adjustment. */
static int receive(Engine *E, PyObject *record, PyObject *kind, PyObject *ref,
                   int is_payment) {
    int status = -1;
    PyObject *customer = NULL, *currency = NULL, *amount = NULL, *day = NULL,
             *invoice = NULL, *allocations = NULL, *targets = NULL;
    const Layout *L = is_payment ? &E->payment : &E->adjustment;
    Chunk c;
    memset(&c, 0, sizeof c);
    if ((customer = get(L, record, F_CUSTOMER)) == NULL) goto done;
    if ((currency = get(L, record, F_CURRENCY)) == NULL) goto done;
    int given = PyObject_IsTrue(currency);
    if (given < 0) goto done;
    if (!given) {
        Py_SETREF(currency, PyObject_CallOneArg(E->currency_of, record));
        if (currency == NULL) goto done;
    }
    int ai = account_of(E, customer, currency);
    if (ai < 0) goto done;
    int mu = E->accounts[ai].mu;
    if ((amount = get(L, record, F_AMOUNT)) == NULL) goto done;
    if ((day = get(L, record, F_DATE)) == NULL) goto done;
    c.kind = kind;
    c.ref = ref;
    c.date_obj = day;
    c.date = ordinal_of(day);
    c.amount_obj = amount;
    if (money_of(amount, mu, &c.amount) < 0) goto done;
    c.left = c.amount;
    if (is_payment) {
        if ((allocations = get(L, record, F_ALLOCATIONS)) == NULL) goto done;
        int any = PyObject_IsTrue(allocations);
        if (any < 0) goto done;
        if (any) {
            targets = PyObject_CallMethodNoArgs(record, S_targets);
            if (targets == NULL) goto done;
            PyObject *id, *limit;
            Py_ssize_t pos = 0;
            while (PyDict_Next(targets, &pos, &id, &limit)) {
                money cap = 0;
                int has_limit = limit != Py_None;
                if (has_limit && money_of(limit, mu, &cap) < 0) goto done;
                if (receive_for(E, ai, &c, id, has_limit, cap, has_limit ? limit : NULL) < 0)
                    goto done;
            }
            goto left_over;
        }
    }
    if ((invoice = get(L, record, F_INVOICE)) == NULL) goto done;
    int named = PyObject_IsTrue(invoice);
    if (named < 0) goto done;
    if (named && receive_for(E, ai, &c, invoice, 0, 0, NULL) < 0) goto done;
left_over:
    if (c.left > 0) {
        Account *a = &E->accounts[ai];
        if (apply_oldest_first(E, a, &c, c.date, c.date_obj) < 0) goto done;
        if (c.left > 0) {
            int32_t ci = keep_chunk(E, &c);
            if (ci < 0 || vec_push(&E->accounts[ai].credits, ci) < 0) goto done;
        }
    }
    status = 0;
done:
    Py_XDECREF(customer);
    Py_XDECREF(currency);
    Py_XDECREF(amount);
    Py_XDECREF(day);
    Py_XDECREF(invoice);
    Py_XDECREF(allocations);
    Py_XDECREF(targets);
    return status;
}

static int add_work(Engine *E, int32_t i, int32_t inst, int32_t due, PyObject *due_obj,
                    PyObject *amount_obj, int mu) {
    if (room(&E->works, E->n_works, &E->cap_works, sizeof(Work), 1024) < 0) return -1;
    Work *w = &E->works[E->n_works];
    if (money_of(amount_obj, mu, &w->open) < 0) return -1;
    w->touched = 0;
    w->due = due;
    w->inst = inst;
    w->inv = i;
    Py_INCREF(amount_obj);
    w->amount_obj = amount_obj;
    Py_XINCREF(due_obj);
    w->due_obj = due_obj;
    E->n_works++;
    return 0;
}

static int by_due(const void *x, const void *y) {
    const Work *a = x, *b = y;
    if (a->due != b->due) return a->due < b->due ? -1 : 1;
    return a->inst < b->inst ? -1 : a->inst > b->inst;
}

/* A record's own `value` when given (true), else its customer's from
 * `theirs`, else `otherwise`. Steals `value`; a new reference, or NULL. */
static PyObject *own_or_customers(PyObject *value, PyObject *theirs,
                                  PyObject *customer, PyObject *otherwise) {
    int given = PyObject_IsTrue(value);
    if (given != 0) {
        if (given < 0) Py_CLEAR(value);
        return value;
    }
    Py_DECREF(value);
    PyObject *found = PyDict_GetItemWithError(theirs, customer);
    if (found == NULL && PyErr_Occurred()) return NULL;
    return Py_NewRef(found != NULL ? found : otherwise);
}

/* reference: _Engine.issue and offer: an invoice and its works. */
static int issue(Engine *E, int32_t i, PyObject *record) {
    int status = -1;
    Invoice *inv = &E->invs[i];
    const Layout *L = &E->invoice;
    PyObject *customer = NULL, *currency = NULL, *amount = NULL, *schedule = NULL,
             *due = NULL, *disputed = NULL, *offer = NULL;
    if ((customer = get(L, record, F_CUSTOMER)) == NULL) goto done;
    if ((currency = get(L, record, F_CURRENCY)) == NULL) goto done;
    currency = own_or_customers(currency, E->customer_currency, customer, E->base);
    if (currency == NULL) goto done;
    int ai = account_of(E, customer, currency);
    if (ai < 0) goto done;
    int mu = E->accounts[ai].mu;
    if ((amount = get(L, record, F_AMOUNT)) == NULL) goto done;
    if ((disputed = get(L, record, F_DISPUTED)) == NULL) goto done;
    int is_disputed = PyObject_IsTrue(disputed);
    if (is_disputed < 0) goto done;
    inv->disputed = (uint8_t)is_disputed;
    if ((schedule = get(L, record, F_SCHEDULE)) == NULL) goto done;
    int scheduled = PyObject_IsTrue(schedule);
    if (scheduled < 0) goto done;
    inv->first_work = (int32_t)E->n_works;
    if (scheduled) {
        PyObject *parts = PySequence_Fast(schedule, "a schedule is a sequence");
        if (parts == NULL) goto done;
        Py_ssize_t n = PySequence_Fast_GET_SIZE(parts);
        for (Py_ssize_t k = 0; k < n; k++) {
            PyObject *part = PySequence_Fast_GET_ITEM(parts, k);
            PyObject *part_due = PyObject_GetAttr(part, field_names[F_DUE]);
            PyObject *part_amount =
                part_due ? PyObject_GetAttr(part, field_names[F_AMOUNT]) : NULL;
            int failed = part_amount == NULL ||
                         add_work(E, i, (int32_t)k + 1, ordinal_of(part_due), part_due,
                                  part_amount, mu) < 0;
            Py_XDECREF(part_due);
            Py_XDECREF(part_amount);
            if (failed) {
                Py_DECREF(parts);
                goto done;
            }
        }
        Py_DECREF(parts);
        /* instalments in due order, then by number */
        qsort(&E->works[inv->first_work], (size_t)n, sizeof(Work), by_due);
    } else {
        if ((due = get(L, record, F_DUE)) == NULL) goto done;
        int32_t due_day;
        if (due == Py_None) {
            PyObject *terms = PyDict_GetItemWithError(E->terms, customer);
            if (terms == NULL && PyErr_Occurred()) goto done;
            long days = terms != NULL ? PyLong_AsLong(terms) : E->default_terms;
            if (days == -1 && PyErr_Occurred()) goto done;
            due_day = inv->date + (int32_t)days;
            Py_CLEAR(due);
        } else {
            due_day = ordinal_of(due);
        }
        if (add_work(E, i, 0, due_day, due, amount, mu) < 0) goto done;
    }
    inv->n_works = (int32_t)(E->n_works - inv->first_work);
    /* SPEC §9: the invoice's discount, else its customer's */
    if ((offer = get(L, record, F_DISCOUNT)) == NULL) goto done;
    offer = own_or_customers(offer, E->customer_discounts, customer, Py_None);
    if (offer == NULL) goto done;
    if (offer != Py_None) {
        PyObject *terms_of = PyObject_CallFunctionObjArgs(E->offer, record, offer, currency, NULL);
        if (terms_of == NULL) goto done;
        money total, threshold;
        int bad = !PyTuple_Check(terms_of) || PyTuple_GET_SIZE(terms_of) != 2 ||
                  !PyDate_Check(PyTuple_GET_ITEM(terms_of, 0));
        if (bad) PyErr_SetString(PyExc_TypeError, "offer() returns (last day, threshold)");
        if (bad || money_of(PyTuple_GET_ITEM(terms_of, 1), mu, &threshold) < 0 ||
            money_of(amount, mu, &total) < 0) {
            Py_DECREF(terms_of);
            goto done;
        }
        if (room(&E->offers, E->n_offers, &E->cap_offers, sizeof(Offer), 64) < 0) {
            Py_DECREF(terms_of);
            goto done;
        }
        Offer *made = &E->offers[E->n_offers];
        made->last_day = ordinal_of(PyTuple_GET_ITEM(terms_of, 0));
        made->threshold = threshold;
        made->total = total;
        made->open = 1;
        inv->offer = (int32_t)E->n_offers++;
        Py_DECREF(terms_of);
    }
    status = issued(E, ai, i);
done:
    Py_XDECREF(customer);
    Py_XDECREF(currency);
    Py_XDECREF(amount);
    Py_XDECREF(schedule);
    Py_XDECREF(due);
    Py_XDECREF(disputed);
    Py_XDECREF(offer);
    return status;
}

/* ------------------------------------------------------------- results */

/* reference: settle(): items and credits, account by account. */
/* The owner of an account's customer, or None. */
static PyObject *customer_owner(Engine *E, Account *a) {
    PyObject *owner = PyDict_GetItemWithError(E->customer_owner, a->customer);
    return owner != NULL || PyErr_Occurred() ? owner : Py_None;
}

/* The credits left, account by account: unapplied chunks oldest first, then
 * those waiting for an invoice. */
static int credits_left(Engine *E, PyObject *credits) {
    for (Py_ssize_t ai = 0; ai < E->n_accounts; ai++) {
        Account *a = &E->accounts[ai];
        PyObject *owner_of_customer = customer_owner(E, a);
        if (owner_of_customer == NULL) return -1;
        if (E->owner != Py_None) {
            int same = PyObject_RichCompareBool(owner_of_customer, E->owner, Py_EQ);
            if (same < 0) return -1;
            if (!same) continue;
        }
        /* unapplied chunks, oldest first, then those waiting for an invoice */
        Vec left = {0};
        for (Py_ssize_t k = a->credits_head; k < a->credits.n; k++)
            if (vec_push(&left, a->credits.data[k]) < 0) return -1;
        if (a->waiting != NULL) {
            PyObject *id, *chunks;
            Py_ssize_t pos = 0;
            while (PyDict_Next(a->waiting, &pos, &id, &chunks))
                for (Py_ssize_t k = 0; k < PyList_GET_SIZE(chunks); k++)
                    if (vec_push(&left, (int32_t)PyLong_AsLong(PyList_GET_ITEM(chunks, k))) < 0) {
                        vec_free(&left);
                        return -1;
                    }
        }
        for (Py_ssize_t k = 0; k < left.n; k++) {
            Chunk *c = &E->chunks[left.data[k]];
            if (c->left <= 0) continue;
            PyObject *amount = decimal_of(E, c->left, a->mu, c->amount_obj, c->amount);
            PyObject *t = amount ? new_tuple(E->credit_type, 7) : NULL;
            if (t == NULL) {
                Py_XDECREF(amount);
                vec_free(&left);
                return -1;
            }
            PyObject *waiting = c->waiting ? c->waiting : Py_None;
            PyObject *fields[7] = {a->customer, a->currency, c->kind, c->ref, c->date_obj,
                                   amount, waiting};
            for (int f = 0; f < 7; f++) {
                if (f != 5) Py_INCREF(fields[f]);
                PyTuple_SET_ITEM(t, f, fields[f]);
            }
            int failed = PyList_Append(credits, t);
            Py_DECREF(t);
            if (failed) {
                vec_free(&left);
                return -1;
            }
        }
        vec_free(&left);
    }
    return 0;
}

/* What the replay needed and the items do not: chunks, offers, the accounts'
 * queues. Let go before the items are made, the biggest of the results, so
 * that the two are never held at once (the chunks alone: 96 MB at a million
 * payments). */
static void replay_free(Engine *E) {
    for (Py_ssize_t i = 0; i < E->n_chunks; i++) chunk_clear(&E->chunks[i]);
    PyMem_Free(E->chunks);
    E->chunks = NULL;
    E->n_chunks = E->cap_chunks = 0;
    PyMem_Free(E->offers);
    E->offers = NULL;
    E->n_offers = E->cap_offers = 0;
    for (Py_ssize_t i = 0; i < E->n_accounts; i++) {
        Account *a = &E->accounts[i];
        Py_CLEAR(a->waiting);
        vec_free(&a->heap);
        vec_free(&a->pending);
        vec_free(&a->credits);
    }
}

/* The items, account by account, each account's in the order issued; and
 * each account with an item, open or paid, as (customer, currency), in that
 * order (whether paid items are kept or not). */
static int items_of(Engine *E, PyObject *items, PyObject *accounts) {
    for (Py_ssize_t ai = 0; ai < E->n_accounts; ai++) {
        Account *a = &E->accounts[ai];
        PyObject *owner_of_customer = customer_owner(E, a);
        if (owner_of_customer == NULL) return -1;
        int listed = 0;
        for (Py_ssize_t k = 0; k < a->items.n; k++) {
            Invoice *inv = &E->invs[a->items.data[k]];
            PyObject *owner = inv->owner != Py_None ? inv->owner : owner_of_customer;
            if (E->owner != Py_None) {
                int same = PyObject_RichCompareBool(owner, E->owner, Py_EQ);
                if (same < 0) return -1;
                if (!same) continue;
            }
            if (!listed) {
                PyObject *account = PyTuple_Pack(2, a->customer, a->currency);
                if (account == NULL || PyList_Append(accounts, account) < 0) {
                    Py_XDECREF(account);
                    return -1;
                }
                Py_DECREF(account);
                listed = 1;
            }
            for (int32_t j = 0; j < inv->n_works; j++) {
                Work *w = &E->works[inv->first_work + j];
                if (!E->paid && w->open == 0) continue;
                PyObject *due = due_of(E, w);
                if (due == NULL) return -1;
                PyObject *open = decimal_or(E, w->open, a->mu, w->touched ? NULL : w->amount_obj);
                if (open == NULL) return -1;
                PyObject *t = new_tuple(E->item_type, 10);
                if (t == NULL) {
                    Py_DECREF(open);
                    return -1;
                }
                PyObject *inst = instalment_of(w->inst);
                PyObject *flag = inv->disputed ? Py_True : Py_False;
                PyObject *fields[10] = {inv->id, inst, a->customer, a->currency, inv->date_obj,
                                        due, w->amount_obj, open, flag, owner};
                for (int f = 0; f < 10; f++) {
                    if (f != 1 && f != 7) Py_XINCREF(fields[f]);
                    PyTuple_SET_ITEM(t, f, fields[f]);
                }
                if (inst == NULL || PyList_Append(items, t) < 0) {
                    Py_DECREF(t);
                    return -1;
                }
                Py_DECREF(t);
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------- the run */

static PyObject *context(PyObject *ctx, const char *name) {
    PyObject *value = PyDict_GetItemString(ctx, name);
    if (value == NULL) PyErr_Format(PyExc_KeyError, "settle context lacks %s", name);
    return value;
}

static void engine_free(Engine *E) {
    for (Py_ssize_t i = 0; i < E->n_works; i++) {
        Py_XDECREF(E->works[i].amount_obj);
        Py_XDECREF(E->works[i].due_obj);
    }
    PyMem_Free(E->works);
    for (Py_ssize_t i = 0; i < E->n_invs; i++) {
        Py_XDECREF(E->invs[i].id);
        Py_XDECREF(E->invs[i].date_obj);
        Py_XDECREF(E->invs[i].owner);
    }
    PyMem_Free(E->invs);
    PyMem_Free(E->offers);
    for (Py_ssize_t i = 0; i < E->n_chunks; i++) chunk_clear(&E->chunks[i]);
    PyMem_Free(E->chunks);
    for (Py_ssize_t i = 0; i < E->n_accounts; i++) {
        Account *a = &E->accounts[i];
        Py_XDECREF(a->customer);
        Py_XDECREF(a->currency);
        Py_XDECREF(a->waiting);
        vec_free(&a->heap);
        vec_free(&a->pending);
        vec_free(&a->credits);
        vec_free(&a->items);
    }
    PyMem_Free(E->accounts);
    Py_XDECREF(E->account_index);
    for (size_t k = 0; E->pairs != NULL && k <= E->pairs_mask; k++) {
        Py_XDECREF(E->pairs[k].customer);
        Py_XDECREF(E->pairs[k].currency);
    }
    PyMem_Free(E->pairs);
    PyMem_Free(E->ids);
    Py_XDECREF(E->applications);
    Py_XDECREF(E->discounts);
    Py_XDECREF(E->dates);
    Py_XDECREF(E->zeros);
}

/* Invoice state for each invoice, in SPEC §2 order. */
static int read_invoices(Engine *E, PyObject *invoices) {
    Py_ssize_t n = PyList_GET_SIZE(invoices);
    if (id_table_new(&E->ids, &E->id_mask, n) < 0) return -1;
    E->invs = PyMem_Calloc((size_t)(n ? n : 1), sizeof(Invoice));
    if (E->invs == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *record = PyList_GET_ITEM(invoices, i);
        Invoice *inv = &E->invs[i];
        E->n_invs = i + 1;
        inv->account = -1;
        inv->offer = -1;
        if ((inv->id = get(&E->invoice, record, F_ID)) == NULL) return -1;
        if ((inv->date_obj = get(&E->invoice, record, F_DATE)) == NULL) return -1;
        if (!PyDate_Check(inv->date_obj)) {
            PyErr_SetString(PyExc_TypeError, "an invoice's date is a date");
            return -1;
        }
        inv->date = ordinal_of(inv->date_obj);
        PyObject *owner = get(&E->invoice, record, F_OWNER);
        if (owner == NULL) return -1;
        int given = PyObject_IsTrue(owner);
        if (given < 0) {
            Py_DECREF(owner);
            return -1;
        }
        if (!given) Py_SETREF(owner, Py_NewRef(Py_None));
        inv->owner = owner;
        if (find_invoice(E, inv->id, 1, (int32_t)i) == -2) return -1;
    }
    return 0;
}

static int32_t date_at(const Layout *L, PyObject *records, Py_ssize_t k, int *error) {
    if (k >= PyList_GET_SIZE(records)) return INT32_MAX;
    int32_t ordinal = INT32_MAX;
    if (day_at(L, PyList_GET_ITEM(records, k), F_DATE, "a record's date is a date", &ordinal) < 0) {
        *error = 1;
        return INT32_MAX;
    }
    return ordinal;
}

static int receive_at(Engine *E, PyObject *records, Py_ssize_t k, int is_payment,
                      PyObject *refs) {
    PyObject *record = PyList_GET_ITEM(records, k);
    const Layout *L = is_payment ? &E->payment : &E->adjustment;
    PyObject *kind = is_payment ? Py_NewRef(S_payment) : get(L, record, F_KIND);
    if (kind == NULL) return -1;
    PyObject *ref =
        refs != Py_None ? Py_NewRef(PyList_GET_ITEM(refs, k)) : get(L, record, F_ID);
    if (ref == NULL) {
        Py_DECREF(kind);
        return -1;
    }
    int status = receive(E, record, kind, ref, is_payment);
    Py_DECREF(kind);
    Py_DECREF(ref);
    return status;
}

PyDoc_STRVAR(run_doc,
"run(invoices, adjustments, payments, payment_refs, context)\n"
"-> (items, applications, credits, discounts, accounts)\n\n"
"Settle records already in SPEC §2 order (each list by date, then id; the\n"
"payments' refs beside them, or None to read their ids); see settle.settle.");

static PyObject *run(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *invoices, *adjustments, *payments, *refs, *ctx;
    if (!PyArg_ParseTuple(args, "O!O!O!OO!:run", &PyList_Type, &invoices, &PyList_Type,
                          &adjustments, &PyList_Type, &payments, &refs, &PyDict_Type, &ctx))
        return NULL;
    if (refs != Py_None &&
        (!PyList_Check(refs) || PyList_GET_SIZE(refs) != PyList_GET_SIZE(payments))) {
        PyErr_SetString(PyExc_TypeError, "payment_refs: a list beside the payments, or None");
        return NULL;
    }
    Engine engine, *E = &engine;
    memset(E, 0, sizeof engine);
    PyObject *items = NULL, *credits = NULL, *accounts = NULL, *result = NULL;
    const char *names[] = {"customer_currency", "terms", "customer_discounts",
                           "customer_owner", "base", "owner", "offer", "currency_of",
                           "minor_units", "decimal", "item", "application", "credit",
                           "early_payment", "history", "default_terms", "rows", "paid"};
    PyObject *values[18];
    for (int k = 0; k < 18; k++)
        if ((values[k] = context(ctx, names[k])) == NULL) return NULL;
    E->customer_currency = values[0];
    E->terms = values[1];
    E->customer_discounts = values[2];
    E->customer_owner = values[3];
    E->base = values[4];
    E->owner = values[5];
    E->offer = values[6];
    E->currency_of = values[7];
    E->minor_units = values[8];
    E->decimal = values[9];
    E->item_type = values[10];
    E->application_type = values[11];
    E->credit_type = values[12];
    E->early_payment = values[13];
    E->history = PyObject_IsTrue(values[14]);
    E->default_terms = PyLong_AsLong(values[15]);
    if (E->history < 0 || (E->default_terms == -1 && PyErr_Occurred())) return NULL;
    E->paid = PyObject_IsTrue(values[17]);
    if (E->paid < 0) return NULL;
    E->paid = E->paid && E->history;
    if (layouts_of(values[16], &E->invoice, &E->payment, &E->adjustment) < 0) return NULL;
    for (int k = 10; k <= 12; k++)
        if (!PyType_Check(values[k]) || !PyType_IsSubtype((PyTypeObject *)values[k], &PyTuple_Type)) {
            PyErr_SetString(PyExc_TypeError, "result types are tuples");
            return NULL;
        }
    if ((E->account_index = PyDict_New()) == NULL ||
        (E->applications = PyList_New(0)) == NULL || (E->discounts = PyList_New(0)) == NULL ||
        (E->dates = PyDict_New()) == NULL || (E->zeros = PyDict_New()) == NULL)
        goto done;
    if (read_invoices(E, invoices) < 0) goto done;

    /* reference: _in_order. Before each invoice, the adjustments and payments
     * dated before it (on one date, adjustments first); then the invoice; with
     * no invoices left, all the rest. */
    Py_ssize_t n = PyList_GET_SIZE(invoices), adj = 0, pay = 0;
    int error = 0;
    int32_t next_adj = date_at(&E->adjustment, adjustments, 0, &error);
    int32_t next_pay = date_at(&E->payment, payments, 0, &error);
    if (error) goto done;
    for (Py_ssize_t i = 0; i <= n; i++) {
        int32_t day = i < n ? E->invs[i].date : INT32_MAX;
        while (next_adj < day || next_pay < day || i == n) {
            if (next_adj <= next_pay) {
                if (next_adj == INT32_MAX) break;
                if (receive_at(E, adjustments, adj, 0, Py_None) < 0) goto done;
                next_adj = date_at(&E->adjustment, adjustments, ++adj, &error);
            } else {
                if (receive_at(E, payments, pay, 1, refs) < 0) goto done;
                next_pay = date_at(&E->payment, payments, ++pay, &error);
            }
            if (error) goto done;
        }
        if (i < n && issue(E, (int32_t)i, PyList_GET_ITEM(invoices, i)) < 0) goto done;
    }

    /* the ids are not looked up again: their table goes before the results */
    PyMem_Free(E->ids);
    E->ids = NULL;
    if ((items = PyList_New(0)) == NULL || (credits = PyList_New(0)) == NULL ||
        (accounts = PyList_New(0)) == NULL)
        goto done;
    if (credits_left(E, credits) < 0) goto done;
    replay_free(E);
    if (items_of(E, items, accounts) < 0) goto done;
    result = PyTuple_Pack(5, items, E->applications, credits, E->discounts, accounts);
done:
    Py_XDECREF(items);
    Py_XDECREF(credits);
    Py_XDECREF(accounts);
    engine_free(E);
    return result;
}

/* ------------------------------------------------------------- read */

/* `read`: sorted records to the columns of docs/columnar-kernel.md §1, every
 * value resolved by the rules the replay above applies to records (its
 * reference: tests/reference_columns.py, which asks the Ledger). Nothing is
 * replayed: the columns are what a replay over columns will read. */

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
} Reader;

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
    for (int k = 0; k < N_COLUMNS; k++) PyMem_Free(R->cols[k].data);
    for (int k = 0; k < N_LISTS; k++) Py_XDECREF(R->lists[k]);
    if (R->held) {
        PyBuffer_Release(&R->customer_currency);
        PyBuffer_Release(&R->terms);
    }
    PyMem_Free(R->slots);
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

/* reference: account_by_value's minor_units, once per currency. The code of
 * `currency`, its minor units in C_MINOR_UNITS. */
static long currency_code(Reader *R, PyObject *currency) {
    long code = code_in(R->currencies, currency, INT16_MAX + 1L, "currencies");
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

/* reference: issue's own_or_customers, with `customer_currency` and `base`. */
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
    IdSlot *grown = PyMem_Malloc(bigger * sizeof(IdSlot));
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(grown, 0xff, bigger * sizeof(IdSlot));
    for (size_t k = 0; k < size; k++) {
        if (R->slots[k].invoice < 0) continue;
        size_t at = R->slots[k].hash & (bigger - 1);
        while (grown[at].invoice >= 0) at = (at + 1) & (bigger - 1);
        grown[at] = R->slots[k];
    }
    PyMem_Free(R->slots);
    R->slots = grown;
    R->mask = bigger - 1;
    return 0;
}

/* reference: receive_for's find_invoice. The index in `ids` of an invoice a
 * record names; a name not in the view is added after the view's invoices. */
static int32_t named(Reader *R, PyObject *id) {
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

/* reference: issue and read_invoices: invoice `i` and its instalments. */
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
    if (id_find(R->slots, R->mask, keys, sizeof(PyObject *), id, 1, (int32_t)i) == -2)
        goto done;
    if (day_at(L, record, F_DATE, "an invoice's date is a date", &date) < 0 ||
        push_i32(R, C_INV_DATE, date) < 0)
        goto done;
    if ((customer = get(L, record, F_CUSTOMER)) == NULL) goto done;
    long c = code_in(R->customers, customer, INT32_MAX, "customers");
    if (c < 0 || push_i32(R, C_INV_CUSTOMER, c) < 0) goto done;
    /* reference: issue's own_or_customers (Ledger.currency_of for an invoice) */
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
    /* reference: read_invoices: a falsy owner is none (the customer's then) */
    if ((owner = get(L, record, F_OWNER)) == NULL) goto done;
    int has_owner = PyObject_IsTrue(owner);
    if (has_owner < 0) goto done;
    long o = has_owner ? code_in(R->owners, owner, INT32_MAX, "owners") : -1;
    if ((has_owner && o < 0) || push_i32(R, C_INV_OWNER, o) < 0) goto done;
    /* reference: issue: SPEC §9, the invoice's discount, else its customer's */
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

/* reference: receive: the fields a payment (`p`, with its ref) or an
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
    long c = code_in(R->customers, customer, INT32_MAX, "customers");
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

/* reference: receive and receive_at: payment `p`, its ref, its allocations
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

/* reference: receive_at: an adjustment, its id and its kind. */
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
 * high: arrow decimal128's layout (§1.6). */
static PyObject *amounts_array(PyObject *array_type, const Column *c, int wide) {
    const money *values = (const money *)c->data;
    Py_ssize_t words = wide ? 2 * c->n : c->n;
    int64_t *out = PyMem_Malloc((size_t)(words ? words : 1) * sizeof(int64_t));
    if (out == NULL) return PyErr_NoMemory();
    for (Py_ssize_t k = 0; k < c->n; k++) {
        if (wide) {
            out[2 * k] = (int64_t)(uint64_t)(unsigned __int128)values[k];
            out[2 * k + 1] = (int64_t)(values[k] >> 64);
        } else {
            out[k] = (int64_t)values[k];
        }
    }
    PyObject *made = array_of(array_type, "q", out, words * (Py_ssize_t)sizeof(int64_t));
    PyMem_Free(out);
    return made;
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
        const Column *c = &R->cols[k];
        PyObject *made = columns[k].size == sizeof(money)
                             ? amounts_array(array_type, c, wide)
                             : array_of(array_type, columns[k].code, c->data,
                                        c->n * (Py_ssize_t)columns[k].size);
        if (made == NULL || PyDict_SetItemString(result, columns[k].name, made) < 0)
            Py_CLEAR(result);
        Py_XDECREF(made);
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
"The columns of records already in SPEC \xc2\xa7" "2 order (see run; refs: the\n"
"payments' refs, or None to read their ids): docs/columnar-kernel.md \xc2\xa7" "1 and\n"
"\xc2\xa7" "4.1. `tables` gives the codes (customers, currencies, owners: dicts\n"
"extended here), per customer code customer_currency (array 'h'), terms\n"
"(array 'i') and customer_discount (list), and minor_units, base,\n"
"default_terms, currency_of and rows, as run's context does.");

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
    memset(R, 0, sizeof reader);
    R->base_code = -1;
    PyObject *result = NULL;
    /* held to the end: the callbacks may run any code */
    for (int k = 0; k < N_TABLES; k++) {
        PyObject *value = PyDict_GetItemString(tables, table_names[k]);
        if (value == NULL) {
            PyErr_Format(PyExc_KeyError, "read's tables lack %s", table_names[k]);
            goto done;
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
    if (R->default_terms == -1 && PyErr_Occurred()) goto done;
    if (codes_in_order(R->customers, "customers") < 0 ||
        codes_in_order(R->currencies, "currencies") < 0 ||
        codes_in_order(R->owners, "owners") < 0)
        goto done;
    if (!PyList_Check(R->customer_discount)) {
        PyErr_SetString(PyExc_TypeError, "customer_discount: a list");
        goto done;
    }
    if (layouts_of(R->tables[T_ROWS], &R->invoice, &R->payment, &R->adjustment) < 0)
        goto done;
    if (buffer_of(R->tables[T_CUSTOMER_CURRENCY], 'h', 2, "customer_currency",
                  &R->customer_currency) < 0)
        goto done;
    if (buffer_of(R->tables[T_TERMS], 'i', 4, "terms", &R->terms) < 0) {
        PyBuffer_Release(&R->customer_currency);
        goto done;
    }
    R->held = 1;
    for (int k = 0; k < N_LISTS; k++)
        if ((R->lists[k] = PyList_New(0)) == NULL) goto done;
    /* the minor units of the currencies given, then of each met */
    {
        PyObject *currency, *code;
        Py_ssize_t pos = 0;
        while (PyDict_Next(R->currencies, &pos, &currency, &code)) {
            Py_INCREF(currency);
            long made = currency_code(R, currency);
            Py_DECREF(currency);
            if (made < 0) goto done;
        }
        Py_ssize_t n = R->customer_currency.len / 2;
        for (Py_ssize_t c = 0; c < n; c++) {
            int16_t k = ((int16_t *)R->customer_currency.buf)[c];
            if (k < 0 || k >= R->cols[C_MINOR_UNITS].n) {
                PyErr_SetString(PyExc_ValueError, "customer_currency: a currency's code");
                goto done;
            }
        }
    }
    if (PyList_GET_SIZE(invoices) >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "more invoices than the columns' codes hold");
        goto done;
    }
    if (id_table_new(&R->slots, &R->mask, PyList_GET_SIZE(invoices)) < 0) goto done;
    /* each record held while read (a callback may change the lists); the
     * invoices first, so that names find them, then as the signature lists */
    PyObject *lists[3] = {invoices, adjustments, payments};
    for (int kind = 0; kind < 3; kind++) {
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(lists[kind]); k++) {
            PyObject *record = Py_NewRef(PyList_GET_ITEM(lists[kind], k));
            int failed = kind == 0   ? read_invoice(R, record, k)
                         : kind == 1 ? read_adjustment(R, record)
                                     : read_payment(R, record, k, refs);
            Py_DECREF(record);
            if (failed) goto done;
        }
    }
    result = columns_of(R, refs);
done:
    reader_free(R);
    return result;
}

static PyMethodDef methods[] = {
    {"run", run, METH_VARARGS, run_doc},
    {"read", read_records, METH_VARARGS, read_doc},
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
        {&S_payment, "payment"}, {&S_discount, "discount"}, {&S_targets, "targets"},
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
    S_date_type = (PyObject *)PyDateTimeAPI->DateType;
    Py_INCREF(S_date_type);
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddStringConstant(m, "SOURCE_SHA256", SOURCE_SHA256) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
