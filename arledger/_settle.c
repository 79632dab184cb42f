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

static PyMethodDef methods[] = {
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
        {&S_payment, "payment"}, {&S_discount, "discount"}, {&S_targets, "targets"},
        {&S_fromordinal, "fromordinal"}, {&S_fields, "_fields"},
    };
    for (size_t k = 0; k < sizeof strings / sizeof strings[0]; k++)
        if ((*strings[k].slot = PyUnicode_InternFromString(strings[k].text)) == NULL)
            return NULL;
    for (int f = 0; f < N_FIELDS; f++)
        if ((field_names[f] = PyUnicode_InternFromString(field_texts[f])) == NULL)
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
