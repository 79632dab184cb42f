/* The native lane for the bulk kinds (invoices, payments, adjustments).
 *
 * A `Bulk` reads whole CSV files of a ledger into flat arrays, checks them the
 * way the loader's careful path would, and settles them as of a date (SPEC §2)
 * into the open items and credits that `settle(view, history=False)` gives.
 * It never decides an error: at the first thing it is not sure of (a quoted
 * cell over two lines, an unknown field, a bad date, an unknown invoice, an
 * amount with more decimals than its currency has, an integer overflow...) a
 * method returns False, and the caller loads the ledger the careful way, which
 * says precisely what is wrong and where. arledger/bulk.py holds the Python side
 * and the list of what is declined; tests/test_bulk.py holds the lane to the
 * careful path.
 *
 * Money. An amount is read from its text as an exact integer count of 1/10000
 * (no currency has more than four decimals, ISO 4217); an amount with more
 * decimals than its currency allows is declined, as the loader reports it. The
 * engine only adds, subtracts and compares those integers (overflow-checked),
 * and every amount it hands back is a decimal.Decimal made from its digits, at
 * the currency's exponent. No float is ever involved.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SCALE_PLACES 4
#define MAX_CURRENCIES 256
#define MIN_YEAR 1900
#define MAX_YEAR 2999

enum { K_INVOICES = 0, K_PAYMENTS = 1, K_ADJUSTMENTS = 2 };
enum { A_PAYMENT = 0, A_CREDIT_NOTE = 1, A_WRITE_OFF = 2, A_DISCOUNT = 3 };

typedef struct {
    const char *p;
    Py_ssize_t n;
} Span;

/* ------------------------------------------------------------ growable arrays */

static int
grow(void **items, Py_ssize_t *cap, Py_ssize_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    Py_ssize_t cap2 = *cap ? *cap : 64;
    while (cap2 < need)
        cap2 *= 2;
    void *p = PyMem_Realloc(*items, (size_t)cap2 * size);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *items = p;
    *cap = cap2;
    return 0;
}

#define VEC(T)           \
    struct {             \
        T *v;            \
        Py_ssize_t n;    \
        Py_ssize_t cap;  \
    }
#define PUSH(vec, value) \
    (grow((void **)&(vec).v, &(vec).cap, (vec).n + 1, sizeof(*(vec).v)) < 0 \
         ? -1                                                              \
         : ((vec).v[(vec).n++] = (value), 0))
#define FREE(vec) (PyMem_Free((vec).v), (vec).v = NULL, (vec).n = (vec).cap = 0)

/* ------------------------------------------------------------ hash table
 * Span -> index, open addressing. Keys point into texts the Bulk keeps alive. */

typedef struct {
    uint64_t hash;
    Span key;
    int32_t value;
} Slot;

typedef struct {
    Slot *slots;
    uint64_t mask;
    Py_ssize_t count;
} Table;

static uint64_t
hash_span(Span s)
{
    uint64_t h = 1469598103934665603ULL;
    for (Py_ssize_t i = 0; i < s.n; i++) {
        h ^= (unsigned char)s.p[i];
        h *= 1099511628211ULL;
    }
    return h | 1; /* 0 marks an empty slot */
}

static int
span_eq(Span a, Span b)
{
    return a.n == b.n && memcmp(a.p, b.p, (size_t)a.n) == 0;
}

/* Byte order, which for UTF-8 is code point order: Python's order of str. */
static int
span_cmp(Span a, Span b)
{
    Py_ssize_t n = a.n < b.n ? a.n : b.n;
    int c = memcmp(a.p, b.p, (size_t)n);
    return c ? c : (a.n > b.n) - (a.n < b.n);
}

static int
table_resize(Table *t, uint64_t size)
{
    Slot *slots = PyMem_Calloc((size_t)size, sizeof(Slot));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (uint64_t i = 0; t->slots && i <= t->mask; i++) {
        Slot *s = &t->slots[i];
        if (!s->hash)
            continue;
        uint64_t j = s->hash & (size - 1);
        while (slots[j].hash)
            j = (j + 1) & (size - 1);
        slots[j] = *s;
    }
    PyMem_Free(t->slots);
    t->slots = slots;
    t->mask = size - 1;
    return 0;
}

/* The value for key, or -1. */
static int32_t
table_get(const Table *t, Span key)
{
    if (t->slots == NULL)
        return -1;
    uint64_t h = hash_span(key);
    for (uint64_t j = h & t->mask;; j = (j + 1) & t->mask) {
        Slot *s = &t->slots[j];
        if (!s->hash)
            return -1;
        if (s->hash == h && span_eq(s->key, key))
            return s->value;
    }
}

/* Insert key -> value: 1 done, 0 already there, -1 error. */
static int
table_add(Table *t, Span key, int32_t value)
{
    if (t->slots == NULL || (uint64_t)(t->count + 1) * 2 > t->mask + 1) {
        if (table_resize(t, t->slots ? (t->mask + 1) * 2 : 1024) < 0)
            return -1;
    }
    uint64_t h = hash_span(key);
    for (uint64_t j = h & t->mask;; j = (j + 1) & t->mask) {
        Slot *s = &t->slots[j];
        if (!s->hash) {
            s->hash = h;
            s->key = key;
            s->value = value;
            t->count++;
            return 1;
        }
        if (s->hash == h && span_eq(s->key, key))
            return 0;
    }
}

/* ------------------------------------------------------------ records */

typedef struct {
    Span id;
    Span owner; /* n == 0: none given */
    int32_t customer;
    int32_t date;
    int32_t due;      /* the due date of a plain invoice; max of a schedule */
    int64_t amount;
    int16_t currency; /* resolved: given, else the customer's */
    uint8_t disputed;
    int32_t work;     /* first work (instalments in due order) */
    int32_t works;
} Invoice;

typedef struct {
    int32_t due;
    int32_t number; /* instalment number, 0 for an invoice without a schedule */
    int32_t invoice;
    int64_t amount;
} Work;

typedef struct {
    int32_t invoice;
    int64_t amount; /* -1: as much as it needs (a payment naming one `invoice`) */
} Target;

typedef struct {
    Span ref; /* the id, or FILE:LINE for a payment without one */
    int32_t customer;
    int32_t date;
    int64_t amount;
    int16_t currency;
    uint8_t kind; /* A_PAYMENT or the adjustment's kind */
    int32_t target;
    int32_t targets;
} Receipt;

typedef VEC(Receipt) Receipts;

typedef struct {
    char code[4];
    int places;
    PyObject *text;
} Currency;

typedef struct {
    PyObject_HEAD
    PyObject *texts;     /* list: every text read, kept alive for the spans */
    PyObject *customer_ids; /* list of str, index = customer index */
    Table customers;
    int32_t *terms;
    int16_t *customer_currency;
    Py_ssize_t ncustomers;
    Currency currencies[MAX_CURRENCIES];
    int ncurrencies;
    PyObject *minor_units; /* dict code -> places */
    Table invoice_ids, payment_ids, adjustment_ids;
    VEC(Invoice) invoices;
    VEC(Work) works;
    Receipts payments;
    Receipts adjustments;
    VEC(Target) targets;
    int broken; /* a file was declined half read */
} Bulk;

/* ------------------------------------------------------------ cells */

static int
utf8_first(const char *p, Py_ssize_t n, Py_UCS4 *cp)
{
    unsigned char c = (unsigned char)p[0];
    int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (len > n)
        return 0;
    Py_UCS4 v = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (int i = 1; i < len; i++)
        v = (v << 6) | ((unsigned char)p[i] & 0x3F);
    *cp = v;
    return len;
}

/* Strip spaces and tabs as str.strip() would; 0 when the cell starts or ends
 * with some other white space (then str.strip() would differ: declined). */
static int
strip(Span *s)
{
    while (s->n && (s->p[0] == ' ' || s->p[0] == '\t'))
        s->p++, s->n--;
    while (s->n && (s->p[s->n - 1] == ' ' || s->p[s->n - 1] == '\t'))
        s->n--;
    if (s->n == 0)
        return 1;
    Py_UCS4 cp;
    if (!utf8_first(s->p, s->n, &cp) || Py_UNICODE_ISSPACE(cp))
        return 0;
    Py_ssize_t last = s->n - 1;
    while (last > 0 && ((unsigned char)s->p[last] & 0xC0) == 0x80)
        last--;
    if (!utf8_first(s->p + last, s->n - last, &cp) || Py_UNICODE_ISSPACE(cp))
        return 0;
    return 1;
}

static int
is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 0001-01-01 as day 1, as date.toordinal() counts (H. Hinnant's
 * days_from_civil, moved from 1970-01-01 to Python's epoch). */
static int32_t
ordinal(int y, int m, int d)
{
    y -= m <= 2;
    int era = y / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468 + 719163);
}

static void
civil(int32_t ord, int *y, int *m, int *d)
{
    int z = ord - 719163 + 719468;
    int era = z / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp + (mp < 10 ? 3 : -9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* An ISO date YYYY-MM-DD in the ledger's years, as an ordinal; -1 if not. */
static int32_t
parse_date(Span s)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s.p;
    if (s.n != 10 || p[4] != '-' || p[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (p[i] < '0' || p[i] > '9'))
            return -1;
    int y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
    int m = (p[5] - '0') * 10 + (p[6] - '0');
    int d = (p[8] - '0') * 10 + (p[9] - '0');
    if (y < MIN_YEAR || y > MAX_YEAR || m < 1 || m > 12 || d < 1)
        return -1;
    if (d > days[m - 1] + (m == 2 && is_leap(y)))
        return -1;
    return ordinal(y, m, d);
}

/* A plain positive decimal (digits, at most one point) as 1/10000ths, and its
 * decimals without trailing zeros. 0 when not plain, zero, too long or with
 * more than four decimals (which no currency allows). */
static int
parse_amount(Span s, int64_t *value, int *places)
{
    int64_t v = 0;
    int digits = 0, frac = -1, significant = 0;
    for (Py_ssize_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c == '.') {
            if (frac >= 0)
                return 0;
            frac = 0;
            continue;
        }
        if (c < '0' || c > '9')
            return 0;
        if (frac >= 0) {
            frac++;
            if (c != '0')
                significant = frac;
            if (frac > SCALE_PLACES) {
                if (c != '0')
                    return 0;
                continue;
            }
        }
        else if (v == 0 && c == '0') {
            digits++;
            continue;
        }
        if (++digits > 18)
            return 0;
        v = v * 10 + (c - '0');
    }
    if (digits == 0 && frac <= 0)
        return 0; /* "", ".", no digit at all */
    for (int i = frac < 0 ? 0 : (frac > SCALE_PLACES ? SCALE_PLACES : frac);
         i < SCALE_PLACES; i++) {
        if (v > INT64_MAX / 10)
            return 0;
        v *= 10;
    }
    if (v <= 0 || v > (INT64_MAX >> 4))
        return 0;
    *value = v;
    *places = significant;
    return 1;
}

static int
parse_bool(Span s, uint8_t *out)
{
    static const char *yes[] = {"true", "yes", "1", "on", "t", "y"};
    static const char *no[] = {"false", "no", "0", "off", "f", "n"};
    char low[8];
    if (s.n == 0 || s.n > 5)
        return 0;
    for (Py_ssize_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        low[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    low[s.n] = 0;
    for (int i = 0; i < 6; i++) {
        if (strcmp(low, yes[i]) == 0)
            return (*out = 1, 1);
        if (strcmp(low, no[i]) == 0)
            return (*out = 0, 1);
    }
    return 0;
}

static int
span_is(Span s, const char *word)
{
    size_t n = strlen(word);
    return (size_t)s.n == n && memcmp(s.p, word, n) == 0;
}

/* A currency index for a code as written (case is folded, as the model does);
 * -1 when not three ASCII letters, -2 on error. */
static int
currency_index(Bulk *self, Span s)
{
    char code[4];
    if (s.n != 3)
        return -1;
    for (int i = 0; i < 3; i++) {
        char c = s.p[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        if (c < 'A' || c > 'Z')
            return -1;
        code[i] = c;
    }
    code[3] = 0;
    for (int i = 0; i < self->ncurrencies; i++)
        if (memcmp(self->currencies[i].code, code, 3) == 0)
            return i;
    if (self->ncurrencies == MAX_CURRENCIES)
        return -1;
    PyObject *text = PyUnicode_FromStringAndSize(code, 3);
    if (text == NULL)
        return -2;
    int places = 2;
    PyObject *known = PyDict_GetItemWithError(self->minor_units, text);
    if (known != NULL) {
        places = (int)PyLong_AsLong(known);
        if (places == -1 && PyErr_Occurred()) {
            Py_DECREF(text);
            return -2;
        }
    }
    else if (PyErr_Occurred()) {
        Py_DECREF(text);
        return -2;
    }
    if (places < 0 || places > SCALE_PLACES) {
        Py_DECREF(text);
        return -1;
    }
    Currency *c = &self->currencies[self->ncurrencies];
    memcpy(c->code, code, 4);
    c->places = places;
    c->text = text;
    return self->ncurrencies++;
}

/* ------------------------------------------------------------ fields */

enum {
    F_TEXT,  /* any text: read by the careful path, not needed here */
    F_ID, F_CUSTOMER, F_DATE, F_DUE, F_AMOUNT, F_CURRENCY, F_OWNER, F_DISPUTED,
    F_EMPTY, /* a nested field this lane does not take: must be empty */
    F_SCHEDULE, F_INVOICE, F_ALLOCATIONS, F_KIND,
    F_COUNT
};

typedef struct {
    const char *name;
    int role;
} Field;

static const Field INVOICE_FIELDS[] = {
    {"id", F_ID}, {"customer", F_CUSTOMER}, {"date", F_DATE}, {"due", F_DUE},
    {"amount", F_AMOUNT}, {"currency", F_CURRENCY}, {"description", F_TEXT},
    {"po", F_TEXT}, {"owner", F_OWNER}, {"disputed", F_DISPUTED},
    {"dunning_block", F_EMPTY}, {"schedule", F_SCHEDULE}, {NULL, 0}};
static const Field PAYMENT_FIELDS[] = {
    {"id", F_ID}, {"customer", F_CUSTOMER}, {"date", F_DATE},
    {"amount", F_AMOUNT}, {"currency", F_CURRENCY}, {"invoice", F_INVOICE},
    {"allocations", F_ALLOCATIONS}, {"method", F_TEXT}, {"reference", F_TEXT},
    {NULL, 0}};
static const Field ADJUSTMENT_FIELDS[] = {
    {"id", F_ID}, {"customer", F_CUSTOMER}, {"date", F_DATE},
    {"amount", F_AMOUNT}, {"kind", F_KIND}, {"invoice", F_INVOICE},
    {"currency", F_CURRENCY}, {"reason", F_TEXT}, {NULL, 0}};

#define MAX_COLUMNS 32

/* The next cell of a row at *pos: its span and whether it was quoted with a
 * doubled quote inside (then the span is not its value). 0 when the row does
 * not go on as plain CSV. `last`: the row's last cell, followed by its end. */
static int
next_cell(const char **pos, const char *end, int last, Span *cell, int *escaped)
{
    const char *p = *pos;
    *escaped = 0;
    if (p < end && *p == '"') {
        const char *start = ++p;
        for (;;) {
            if (p >= end || *p == '\n' || *p == '\r')
                return 0; /* unterminated, or a cell over two lines */
            if (*p == '"') {
                if (p + 1 < end && p[1] == '"') {
                    *escaped = 1;
                    p += 2;
                    continue;
                }
                break;
            }
            p++;
        }
        cell->p = start;
        cell->n = p - start;
        p++;
    }
    else {
        const char *start = p;
        while (p < end && *p != ',' && *p != '\n' && *p != '\r') {
            if (*p == '"')
                return 0;
            p++;
        }
        cell->p = start;
        cell->n = p - start;
    }
    if (!last) {
        if (p >= end || *p != ',')
            return 0;
        p++;
    }
    else if (p < end) {
        if (*p == '\r') {
            if (p + 1 >= end || p[1] != '\n')
                return 0;
            p++;
        }
        if (*p != '\n')
            return 0;
        p++;
    }
    *pos = p;
    return 1;
}

/* `key=value` pairs joined by `;` (fastpath.csv_nested): calls back with each
 * stripped pair; 0 when a part is not written that way or the callback says 0. */
typedef int (*PairFn)(Bulk *, void *, Span, Span);

static int
each_pair(Bulk *self, Span cell, PairFn fn, void *data)
{
    const char *p = cell.p, *end = cell.p + cell.n;
    while (p <= end) {
        const char *stop = memchr(p, ';', (size_t)(end - p));
        if (stop == NULL)
            stop = end;
        Span part = {p, stop - p};
        if (!strip(&part))
            return 0;
        if (part.n) {
            const char *eq = memchr(part.p, '=', (size_t)part.n);
            if (eq == NULL)
                return 0;
            Span key = {part.p, eq - part.p}, value = {eq + 1, part.p + part.n - eq - 1};
            if (!strip(&key) || !strip(&value) || key.n == 0)
                return 0;
            int ok = fn(self, data, key, value);
            if (ok <= 0)
                return ok;
        }
        p = stop + 1;
    }
    return 1;
}

typedef struct {
    int32_t first; /* first work of the invoice */
    int32_t date;
    int64_t total;
    int32_t latest;
    int places;
} ScheduleRead;

static int
schedule_part(Bulk *self, void *data, Span key, Span value)
{
    ScheduleRead *read = data;
    int32_t due = parse_date(key);
    int64_t amount;
    int places;
    if (due < 0 || due < read->date || !parse_amount(value, &amount, &places))
        return 0;
    if (__builtin_add_overflow(read->total, amount, &read->total))
        return 0;
    if (due > read->latest)
        read->latest = due;
    if (places > read->places)
        read->places = places;
    Work work = {due, (int32_t)(self->works.n - read->first + 1), (int32_t)self->invoices.n,
                 amount};
    return PUSH(self->works, work) < 0 ? -1 : 1;
}

typedef struct {
    int32_t first; /* first target of the payment */
    int32_t customer;
    int64_t total;
    int places;
} AllocationsRead;

static int
allocation_part(Bulk *self, void *data, Span key, Span value)
{
    AllocationsRead *read = data;
    int32_t invoice = table_get(&self->invoice_ids, key);
    int64_t amount;
    int places;
    if (invoice < 0 || self->invoices.v[invoice].customer != read->customer)
        return 0; /* unknown, or another customer's: the careful path says so */
    if (!parse_amount(value, &amount, &places))
        return 0;
    for (Py_ssize_t i = read->first; i < self->targets.n; i++)
        if (self->targets.v[i].invoice == invoice)
            return 0; /* named twice in one cell */
    if (__builtin_add_overflow(read->total, amount, &read->total))
        return 0;
    if (places > read->places)
        read->places = places;
    Target target = {invoice, amount};
    return PUSH(self->targets, target) < 0 ? -1 : 1;
}

static int
cmp_work(const void *a, const void *b)
{
    const Work *x = a, *y = b;
    if (x->due != y->due)
        return x->due < y->due ? -1 : 1;
    return x->number < y->number ? -1 : x->number > y->number;
}

/* Checks and stores one row. 1 stored, 0 declined, -1 error. */
static int
read_row(Bulk *self, int kind, const int *roles, Span *cells, int width, PyObject *rel,
         long line)
{
    Span id = {NULL, 0}, customer = {NULL, 0}, date = {NULL, 0}, due = {NULL, 0};
    Span amount = {NULL, 0}, currency = {NULL, 0}, owner = {NULL, 0}, disputed = {NULL, 0};
    Span schedule = {NULL, 0}, invoice = {NULL, 0}, allocations = {NULL, 0}, kindword = {NULL, 0};
    for (int c = 0; c < width; c++) {
        Span cell = cells[c];
        int role = roles[c];
        if (role == F_TEXT)
            continue;
        if (!strip(&cell))
            return 0;
        switch (role) {
        case F_ID: id = cell; break;
        case F_CUSTOMER: customer = cell; break;
        case F_DATE: date = cell; break;
        case F_DUE: due = cell; break;
        case F_AMOUNT: amount = cell; break;
        case F_CURRENCY: currency = cell; break;
        case F_OWNER: owner = cell; break;
        case F_DISPUTED: disputed = cell; break;
        case F_EMPTY: if (cell.n) return 0; break;
        case F_SCHEDULE: schedule = cell; break;
        case F_INVOICE: invoice = cell; break;
        case F_ALLOCATIONS: allocations = cell; break;
        case F_KIND: kindword = cell; break;
        }
    }
    if ((kind != K_PAYMENTS && id.n == 0) || customer.n == 0)
        return 0;
    int32_t who = table_get(&self->customers, customer);
    int32_t day = parse_date(date);
    int64_t value;
    int places;
    if (who < 0 || day < 0 || !parse_amount(amount, &value, &places))
        return 0;
    int cur = -1;
    if (currency.n) {
        cur = currency_index(self, currency);
        if (cur < 0)
            return cur == -2 ? -1 : 0;
    }

    if (kind == K_INVOICES) {
        Invoice inv = {id, owner, who, day, -1, value, 0, 0, (int32_t)self->works.n, 1};
        if (due.n && (inv.due = parse_date(due)) < day)
            return 0; /* not a date, or before the issue date */
        if (disputed.n && !parse_bool(disputed, &inv.disputed))
            return 0;
        inv.currency = (int16_t)(cur >= 0 ? cur : self->customer_currency[who]);
        if (places > self->currencies[inv.currency].places)
            return 0;
        if (schedule.n) {
            ScheduleRead read = {inv.work, day, 0, -1, 0};
            int ok = each_pair(self, schedule, schedule_part, &read);
            if (ok <= 0) {
                self->works.n = inv.work;
                return ok;
            }
            inv.works = (int32_t)(self->works.n - inv.work);
            if (inv.works == 0 || read.total != value ||
                (inv.due >= 0 && inv.due != read.latest) ||
                read.places > self->currencies[inv.currency].places) {
                self->works.n = inv.work;
                return 0;
            }
            inv.due = read.latest;
            qsort(self->works.v + inv.work, (size_t)inv.works, sizeof(Work), cmp_work);
        }
        else {
            if (inv.due < 0)
                inv.due = day + self->terms[who];
            Work work = {inv.due, 0, (int32_t)self->invoices.n, value};
            if (PUSH(self->works, work) < 0)
                return -1;
        }
        int added = table_add(&self->invoice_ids, id, (int32_t)self->invoices.n);
        if (added <= 0) {
            self->works.n = inv.work;
            return added; /* a duplicate id: the careful path reports it */
        }
        return PUSH(self->invoices, inv) < 0 ? -1 : 1;
    }

    Receipt r = {id, who, day, value, 0, A_PAYMENT, (int32_t)self->targets.n, 0};
    if (kind == K_ADJUSTMENTS) {
        if (span_is(kindword, "credit_note"))
            r.kind = A_CREDIT_NOTE;
        else if (span_is(kindword, "write_off"))
            r.kind = A_WRITE_OFF;
        else if (span_is(kindword, "discount"))
            r.kind = A_DISCOUNT;
        else
            return 0;
    }
    if (invoice.n && allocations.n)
        return 0;
    if (invoice.n) {
        int32_t named = table_get(&self->invoice_ids, invoice);
        if (named < 0 || self->invoices.v[named].customer != who)
            return 0;
        Target target = {named, -1};
        if (PUSH(self->targets, target) < 0)
            return -1;
    }
    if (allocations.n) {
        AllocationsRead read = {r.target, who, 0, 0};
        int ok = each_pair(self, allocations, allocation_part, &read);
        if (ok <= 0 || self->targets.n == r.target || read.total > value) {
            self->targets.n = r.target;
            return ok < 0 ? -1 : 0;
        }
        if (read.places > places)
            places = read.places;
    }
    r.targets = (int32_t)(self->targets.n - r.target);
    /* Its currency (Ledger.currency_of): given, else that of the invoices it
     * names when they agree, else its customer's. */
    int named_currency = -1, agree = 1;
    for (int32_t i = r.target; i < r.target + r.targets; i++) {
        int c = self->invoices.v[self->targets.v[i].invoice].currency;
        if (named_currency >= 0 && c != named_currency)
            agree = 0;
        named_currency = c;
    }
    if (cur >= 0)
        r.currency = (int16_t)cur;
    else if (named_currency >= 0 && agree)
        r.currency = (int16_t)named_currency;
    else
        r.currency = self->customer_currency[who];
    if (places > self->currencies[r.currency].places)
        return 0;
    /* loader.check_references: what it names is in its currency. */
    for (int32_t i = r.target; i < r.target + r.targets; i++) {
        if (self->invoices.v[self->targets.v[i].invoice].currency != r.currency) {
            self->targets.n = r.target;
            return 0;
        }
    }

    Table *ids = kind == K_PAYMENTS ? &self->payment_ids : &self->adjustment_ids;
    Receipts *list = kind == K_PAYMENTS ? &self->payments : &self->adjustments;
    if (id.n) {
        int added = table_add(ids, id, (int32_t)list->n);
        if (added <= 0) {
            self->targets.n = r.target;
            return added;
        }
    }
    else {
        /* SPEC §1: a payment without an id is known by where it was written. */
        PyObject *where = PyUnicode_FromFormat("%U:%ld", rel, line);
        if (where == NULL)
            return -1;
        int failed = PyList_Append(self->texts, where);
        Py_DECREF(where);
        if (failed)
            return -1;
        r.ref.p = PyUnicode_AsUTF8AndSize(where, &r.ref.n);
        if (r.ref.p == NULL)
            return -1;
    }
    return PUSH(*list, r) < 0 ? -1 : 1;
}

static int
table_reserve(Table *t, Py_ssize_t more)
{
    uint64_t size = t->slots ? t->mask + 1 : 1024;
    while ((uint64_t)(t->count + more) * 2 > size)
        size *= 2;
    return (t->slots && size == t->mask + 1) ? 0 : table_resize(t, size);
}

static int
reserve(Bulk *self, int kind, Py_ssize_t rows)
{
    if (kind == K_INVOICES)
        return table_reserve(&self->invoice_ids, rows) < 0 ||
                       grow((void **)&self->invoices.v, &self->invoices.cap,
                            self->invoices.n + rows, sizeof(Invoice)) < 0 ||
                       grow((void **)&self->works.v, &self->works.cap, self->works.n + rows,
                            sizeof(Work)) < 0
                   ? -1
                   : 0;
    Table *ids = kind == K_PAYMENTS ? &self->payment_ids : &self->adjustment_ids;
    Receipts *list = kind == K_PAYMENTS ? &self->payments : &self->adjustments;
    return table_reserve(ids, rows) < 0 ||
                   grow((void **)&list->v, &list->cap, list->n + rows, sizeof(Receipt)) < 0 ||
                   grow((void **)&self->targets.v, &self->targets.cap, self->targets.n + rows,
                        sizeof(Target)) < 0
               ? -1
               : 0;
}

/* The model's required fields are all there (an id is optional for payments). */
static int
has_required(int kind, const int *seen)
{
    return seen[F_CUSTOMER] && seen[F_DATE] && seen[F_AMOUNT] &&
           (kind == K_PAYMENTS || seen[F_ID]) && (kind != K_ADJUSTMENTS || seen[F_KIND]);
}

static const Field *
fields_of(int kind)
{
    return kind == K_INVOICES ? INVOICE_FIELDS
           : kind == K_PAYMENTS ? PAYMENT_FIELDS
                                : ADJUSTMENT_FIELDS;
}

/* Bulk.read(kind, text, rel) -> bool */
static PyObject *
Bulk_read(Bulk *self, PyObject *args)
{
    int kind;
    PyObject *text, *rel;
    if (!PyArg_ParseTuple(args, "iOU", &kind, &text, &rel))
        return NULL;
    if (kind < K_INVOICES || kind > K_ADJUSTMENTS) {
        PyErr_SetString(PyExc_ValueError, "kind: 0, 1 or 2");
        return NULL;
    }
    if (self->broken)
        Py_RETURN_FALSE;
    Py_ssize_t size;
    const char *p;
    if (PyBytes_Check(text)) { /* UTF-8 the caller has checked, without a BOM */
        p = PyBytes_AS_STRING(text);
        size = PyBytes_GET_SIZE(text);
    }
    else if (PyUnicode_Check(text)) {
        p = PyUnicode_AsUTF8AndSize(text, &size);
        if (p == NULL)
            return NULL;
    }
    else {
        PyErr_SetString(PyExc_TypeError, "text: str, or UTF-8 bytes");
        return NULL;
    }
    if (PyList_Append(self->texts, text) < 0)
        return NULL;
    const char *end = p + size;
    /* Room for every row at once: no table grows while the file is read. */
    Py_ssize_t lines = 0;
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
        lines++;
    if (reserve(self, kind, lines + 1) < 0)
        return NULL;
    const Field *fields = fields_of(kind);

    /* The header: known names, each once, the required ones there. */
    const char *eol = memchr(p, '\n', (size_t)size);
    if (eol == NULL || memchr(p, '"', (size_t)(eol - p)) != NULL)
        Py_RETURN_FALSE; /* no line after it, or quoted names */
    const char *header_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
    int roles[MAX_COLUMNS];
    int seen[F_COUNT] = {0};
    int width = 0;
    unsigned known_seen = 0;
    for (const char *q = p; q <= header_end;) {
        const char *comma = memchr(q, ',', (size_t)(header_end - q));
        const char *stop = comma ? comma : header_end;
        Span cell = {q, stop - q};
        if (width == MAX_COLUMNS || !strip(&cell))
            Py_RETURN_FALSE;
        int f = 0;
        while (fields[f].name && !span_is(cell, fields[f].name))
            f++;
        if (!fields[f].name || (known_seen & (1u << f)))
            Py_RETURN_FALSE; /* unknown, or twice */
        known_seen |= 1u << f;
        roles[width++] = fields[f].role;
        seen[fields[f].role] = 1;
        q = stop + 1;
    }
    if (!has_required(kind, seen))
        Py_RETURN_FALSE;
    p = eol + 1;

    Span cells[MAX_COLUMNS];
    int escaped[MAX_COLUMNS];
    long line = 2;
    int ok = 1;
    while (p < end) {
        if (*p == '\n' || *p == '\r') {
            ok = 0; /* a blank line */
            break;
        }
        for (int c = 0; c < width && ok; c++)
            ok = next_cell(&p, end, c == width - 1, &cells[c], &escaped[c]) &&
                 !(escaped[c] && roles[c] != F_TEXT);
        if (!ok)
            break;
        ok = read_row(self, kind, roles, cells, width, rel, line);
        if (ok <= 0)
            break;
        line++;
    }
    if (ok == 1)
        Py_RETURN_TRUE;
    /* Half a file is in: this Bulk is given up (the caller loads the careful way). */
    self->broken = 1;
    if (ok < 0)
        return NULL;
    Py_RETURN_FALSE;
}

/* A nested YAML value (a schedule's list of {due, amount}, an allocations
 * mapping) written into `buffer` as the CSV cell `key=value;...` it stands for;
 * 0 when it is not plainly that (the careful path says what is wrong). */
static int
nested_cell(PyObject *value, int role, char **buffer, Py_ssize_t *cap, Span *cell)
{
    Py_ssize_t n = 0;
    PyObject *pairs = NULL;
    if (role == F_SCHEDULE && PyList_Check(value)) {
        Py_ssize_t k = PyList_GET_SIZE(value);
        pairs = PyList_New(0);
        if (pairs == NULL)
            return -1;
        for (Py_ssize_t i = 0; i < k; i++) {
            PyObject *part = PyList_GET_ITEM(value, i), *due, *amount;
            if (!PyDict_Check(part) || PyDict_GET_SIZE(part) != 2 ||
                (due = PyDict_GetItemString(part, "due")) == NULL ||
                (amount = PyDict_GetItemString(part, "amount")) == NULL) {
                Py_DECREF(pairs);
                return 0;
            }
            PyObject *pair = PyTuple_Pack(2, due, amount);
            if (pair == NULL || PyList_Append(pairs, pair) < 0) {
                Py_XDECREF(pair);
                Py_DECREF(pairs);
                return -1;
            }
            Py_DECREF(pair);
        }
    }
    else if (role == F_ALLOCATIONS && PyDict_Check(value)) {
        pairs = PyDict_Items(value);
        if (pairs == NULL)
            return -1;
    }
    else
        return 0;
    Py_ssize_t k = PyList_GET_SIZE(pairs);
    int ok = k > 0;
    for (Py_ssize_t i = 0; i < k && ok; i++) {
        PyObject *pair = PyList_GET_ITEM(pairs, i);
        for (int j = 0; j < 2 && ok; j++) {
            PyObject *text = PyTuple_GET_ITEM(pair, j);
            Py_ssize_t size;
            const char *p;
            if (!PyUnicode_Check(text) || (p = PyUnicode_AsUTF8AndSize(text, &size)) == NULL) {
                if (PyErr_Occurred()) {
                    Py_DECREF(pairs);
                    return -1;
                }
                ok = 0;
                break;
            }
            /* YAML keeps a mapping's keys as written, where the cell form
             * strips them: white space at either end is declined. */
            Py_ssize_t length = PyUnicode_GET_LENGTH(text);
            if (size == 0 || memchr(p, ';', (size_t)size) || memchr(p, '=', (size_t)size) ||
                Py_UNICODE_ISSPACE(PyUnicode_READ_CHAR(text, 0)) ||
                Py_UNICODE_ISSPACE(PyUnicode_READ_CHAR(text, length - 1))) {
                ok = 0;
                break;
            }
            if (grow((void **)buffer, cap, n + size + 1, 1) < 0) {
                Py_DECREF(pairs);
                return -1;
            }
            memcpy(*buffer + n, p, (size_t)size);
            n += size;
            (*buffer)[n++] = j == 0 ? '=' : ';';
        }
    }
    Py_DECREF(pairs);
    cell->p = *buffer;
    cell->n = n;
    return ok;
}

/* Bulk.read_records(kind, records, lines, rel) -> bool: records of a YAML file
 * as fastpath.read_yaml_fast gives them (text scalars, a flag maybe a bool),
 * record i written from line lines[i]. */
static PyObject *
Bulk_read_records(Bulk *self, PyObject *args)
{
    int kind;
    PyObject *records, *lines, *rel;
    if (!PyArg_ParseTuple(args, "iO!O!U", &kind, &PyList_Type, &records, &PyList_Type, &lines,
                          &rel))
        return NULL;
    if (kind < K_INVOICES || kind > K_ADJUSTMENTS ||
        PyList_GET_SIZE(records) != PyList_GET_SIZE(lines)) {
        PyErr_SetString(PyExc_ValueError, "kind: 0, 1 or 2, and a line per record");
        return NULL;
    }
    if (self->broken)
        Py_RETURN_FALSE;
    if (PyList_Append(self->texts, records) < 0)
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(records);
    if (reserve(self, kind, count) < 0)
        return NULL;
    const Field *fields = fields_of(kind);
    char *buffer[2] = {NULL, NULL};
    Py_ssize_t caps[2] = {0, 0};
    int ok = 1;
    for (Py_ssize_t i = 0; i < count && ok == 1; i++) {
        PyObject *record = PyList_GET_ITEM(records, i);
        long line = PyLong_AsLong(PyList_GET_ITEM(lines, i));
        if (line == -1 && PyErr_Occurred()) {
            ok = -1;
            break;
        }
        if (!PyDict_Check(record) || PyDict_GET_SIZE(record) > MAX_COLUMNS) {
            ok = 0;
            break;
        }
        int roles[MAX_COLUMNS];
        Span cells[MAX_COLUMNS];
        int seen[F_COUNT] = {0};
        int width = 0, nested = 0;
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (ok == 1 && PyDict_Next(record, &pos, &key, &value)) {
            Py_ssize_t size;
            const char *name = PyUnicode_Check(key) ? PyUnicode_AsUTF8AndSize(key, &size) : NULL;
            if (name == NULL) {
                ok = PyErr_Occurred() ? -1 : 0;
                break;
            }
            Span span = {name, size};
            int f = 0;
            while (fields[f].name && !span_is(span, fields[f].name))
                f++;
            if (!fields[f].name) {
                ok = 0; /* an unknown field */
                break;
            }
            int role = fields[f].role;
            Span cell;
            if (PyUnicode_Check(value)) {
                cell.p = PyUnicode_AsUTF8AndSize(value, &cell.n);
                if (cell.p == NULL) {
                    ok = -1;
                    break;
                }
                if (cell.n == 0 || role == F_SCHEDULE || role == F_ALLOCATIONS)
                    ok = 0; /* `""` is a value given empty; nested ones as text */
            }
            else if (PyBool_Check(value) && role == F_DISPUTED) {
                cell.p = value == Py_True ? "true" : "false";
                cell.n = value == Py_True ? 4 : 5;
            }
            else if (role == F_SCHEDULE || role == F_ALLOCATIONS) {
                if (nested == 2) {
                    ok = 0;
                    break;
                }
                ok = nested_cell(value, role, &buffer[nested], &caps[nested], &cell);
                nested++;
            }
            else
                ok = 0;
            if (ok != 1)
                break;
            roles[width] = role;
            cells[width++] = cell;
            seen[role] = 1;
        }
        if (ok != 1)
            break;
        if (!has_required(kind, seen)) {
            ok = 0;
            break;
        }
        ok = read_row(self, kind, roles, cells, width, rel, line);
    }
    PyMem_Free(buffer[0]);
    PyMem_Free(buffer[1]);
    if (ok == 1)
        Py_RETURN_TRUE;
    self->broken = 1;
    if (ok < 0)
        return NULL;
    Py_RETURN_FALSE;
}

/* ------------------------------------------------------------ settlement */

typedef struct {
    uint8_t kind;
    uint8_t state; /* CH_ACTIVE, CH_WAITING, CH_CREDIT, CH_DONE */
    int32_t ref;   /* payment or adjustment index */
    int32_t account;
    int32_t date;
    int32_t waiting; /* the invoice an allocation waits for, or -1 */
    int32_t next;    /* next chunk waiting for the same invoice */
    int64_t left;
} Chunk;

enum { CH_ACTIVE, CH_WAITING, CH_CREDIT, CH_DONE };

typedef struct {
    int32_t customer;
    int16_t currency;
    VEC(int32_t) heap;    /* open, undisputed works, oldest due first */
    VEC(int32_t) credits; /* unapplied chunks, oldest first, from `head` */
    Py_ssize_t head;
} Account;

typedef struct {
    Bulk *bulk;
    int64_t *open;        /* per work */
    uint8_t *issued;      /* per invoice */
    int32_t *wait_head, *wait_tail; /* per invoice: chunks waiting for it */
    int32_t *account_of;  /* per customer x currency, -1: none yet */
    VEC(Account) accounts;
    VEC(Chunk) chunks;
    VEC(int32_t) order;   /* invoices in the order they were issued */
} Engine;

/* SPEC §2: oldest due date first, then issue date, then id, then instalment. */
static int
work_before(const Bulk *b, int32_t x, int32_t y)
{
    const Work *w = &b->works.v[x], *v = &b->works.v[y];
    if (w->due != v->due)
        return w->due < v->due;
    const Invoice *i = &b->invoices.v[w->invoice], *j = &b->invoices.v[v->invoice];
    if (i->date != j->date)
        return i->date < j->date;
    if (w->invoice != v->invoice)
        return span_cmp(i->id, j->id) < 0;
    return w->number < v->number;
}

static int
heap_push(Engine *e, Account *a, int32_t work)
{
    if (PUSH(a->heap, work) < 0)
        return -1;
    int32_t *h = a->heap.v;
    Py_ssize_t i = a->heap.n - 1;
    while (i > 0) {
        Py_ssize_t parent = (i - 1) / 2;
        if (!work_before(e->bulk, h[i], h[parent]))
            break;
        int32_t t = h[i];
        h[i] = h[parent];
        h[parent] = t;
        i = parent;
    }
    return 0;
}

static void
heap_pop(Engine *e, Account *a)
{
    int32_t *h = a->heap.v;
    Py_ssize_t n = --a->heap.n;
    if (n == 0)
        return;
    h[0] = h[n];
    Py_ssize_t i = 0;
    for (;;) {
        Py_ssize_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && work_before(e->bulk, h[l], h[m]))
            m = l;
        if (r < n && work_before(e->bulk, h[r], h[m]))
            m = r;
        if (m == i)
            break;
        int32_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int32_t
account_for(Engine *e, int32_t customer, int16_t currency)
{
    int32_t *slot = &e->account_of[(Py_ssize_t)customer * e->bulk->ncurrencies + currency];
    if (*slot < 0) {
        Account a;
        memset(&a, 0, sizeof a);
        a.customer = customer;
        a.currency = currency;
        if (PUSH(e->accounts, a) < 0)
            return -1;
        *slot = (int32_t)(e->accounts.n - 1);
    }
    return *slot;
}

static int64_t
min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* engine.apply_to_invoice: up to `limit` (-1: all) of a chunk to an invoice's
 * works, in due order. */
static void
apply_to_invoice(Engine *e, int32_t invoice, Chunk *chunk, int64_t limit)
{
    const Invoice *inv = &e->bulk->invoices.v[invoice];
    int64_t budget = limit < 0 ? chunk->left : min64(limit, chunk->left);
    for (int32_t w = inv->work; w < inv->work + inv->works; w++) {
        if (budget <= 0)
            break;
        if (e->open[w] > 0) {
            int64_t amount = min64(budget, e->open[w]);
            e->open[w] -= amount;
            chunk->left -= amount;
            budget -= amount;
        }
    }
}

/* engine.apply_oldest_first */
static void
apply_oldest_first(Engine *e, Account *a, Chunk *chunk)
{
    while (chunk->left > 0 && a->heap.n) {
        int32_t w = a->heap.v[0];
        if (e->open[w] > 0) {
            int64_t amount = min64(chunk->left, e->open[w]);
            e->open[w] -= amount;
            chunk->left -= amount;
        }
        if (e->open[w] <= 0)
            heap_pop(e, a);
    }
}

static int
to_credits(Engine *e, Account *a, int32_t c)
{
    e->chunks.v[c].state = CH_CREDIT;
    e->chunks.v[c].waiting = -1;
    return PUSH(a->credits, c);
}

/* engine.apply_credits */
static void
apply_credits(Engine *e, Account *a)
{
    while (a->head < a->credits.n && a->heap.n) {
        Chunk *chunk = &e->chunks.v[a->credits.v[a->head]];
        apply_oldest_first(e, a, chunk);
        if (chunk->left > 0)
            break;
        chunk->state = CH_DONE;
        a->head++;
    }
}

/* engine.issued: record an invoice's works, then let waiting cash and credits
 * meet them. */
static int
issue(Engine *e, int32_t invoice)
{
    const Invoice *inv = &e->bulk->invoices.v[invoice];
    int32_t account = account_for(e, inv->customer, inv->currency);
    if (account < 0)
        return -1;
    Account *a = &e->accounts.v[account];
    e->issued[invoice] = 1;
    if (PUSH(e->order, invoice) < 0)
        return -1;
    for (int32_t w = inv->work; w < inv->work + inv->works; w++) {
        e->open[w] = e->bulk->works.v[w].amount;
        /* Decision (README, "Disputed invoices"): never paid oldest-first. */
        if (!inv->disputed && heap_push(e, a, w) < 0)
            return -1;
    }
    for (int32_t c = e->wait_head[invoice]; c >= 0; c = e->chunks.v[c].next) {
        Chunk *chunk = &e->chunks.v[c];
        apply_to_invoice(e, invoice, chunk, -1);
        if (chunk->left > 0) {
            if (to_credits(e, a, c) < 0)
                return -1;
        }
        else
            chunk->state = CH_DONE;
    }
    e->wait_head[invoice] = -1;
    apply_credits(e, a);
    return 0;
}

static int32_t
new_chunk(Engine *e, uint8_t kind, int32_t ref, int32_t account, int32_t date, int64_t left,
          int32_t waiting)
{
    Chunk c = {kind, waiting >= 0 ? CH_WAITING : CH_ACTIVE, ref, account, date, waiting, -1,
               left};
    if (PUSH(e->chunks, c) < 0)
        return -1;
    return (int32_t)(e->chunks.n - 1);
}

/* engine.receive: explicit invoices first (or set aside until they are
 * issued), then oldest first, then what is left is credit. */
static int
receive(Engine *e, const Receipt *r, int32_t ref)
{
    int32_t account = account_for(e, r->customer, r->currency);
    if (account < 0)
        return -1;
    int32_t c = new_chunk(e, r->kind, ref, account, r->date, r->amount, -1);
    if (c < 0)
        return -1;
    const Target *targets = e->bulk->targets.v;
    for (int32_t t = r->target; t < r->target + r->targets; t++) {
        int32_t invoice = targets[t].invoice;
        int64_t limit = targets[t].amount;
        Chunk *chunk = &e->chunks.v[c];
        if (e->issued[invoice]) {
            apply_to_invoice(e, invoice, chunk, limit);
            continue;
        }
        int64_t share = limit < 0 ? chunk->left : min64(limit, chunk->left);
        if (share > 0) {
            chunk->left -= share;
            int32_t w = new_chunk(e, r->kind, ref, account, r->date, share, invoice);
            if (w < 0)
                return -1;
            if (e->wait_head[invoice] < 0)
                e->wait_head[invoice] = w;
            else
                e->chunks.v[e->wait_tail[invoice]].next = w;
            e->wait_tail[invoice] = w;
        }
    }
    Chunk *chunk = &e->chunks.v[c];
    Account *a = &e->accounts.v[account];
    if (chunk->left > 0) {
        apply_oldest_first(e, a, chunk);
        if (chunk->left > 0)
            return to_credits(e, a, c);
    }
    chunk->state = CH_DONE;
    return 0;
}

/* Event order (SPEC §2): by date, then by id; kinds are merged in `run`. */
static const Bulk *sort_bulk;
static const Receipt *sort_receipts;

static int
cmp_invoice(const void *x, const void *y)
{
    int32_t i = *(const int32_t *)x, j = *(const int32_t *)y;
    const Invoice *a = &sort_bulk->invoices.v[i], *b = &sort_bulk->invoices.v[j];
    if (a->date != b->date)
        return a->date < b->date ? -1 : 1;
    int c = span_cmp(a->id, b->id);
    return c ? c : (i > j) - (i < j);
}

static int
cmp_receipt(const void *x, const void *y)
{
    int32_t i = *(const int32_t *)x, j = *(const int32_t *)y;
    const Receipt *a = &sort_receipts[i], *b = &sort_receipts[j];
    if (a->date != b->date)
        return a->date < b->date ? -1 : 1;
    int c = span_cmp(a->ref, b->ref);
    return c ? c : (i > j) - (i < j);
}

/* Indexes 0..n-1 in event order, or NULL (error set). */
static int32_t *
in_order(const Bulk *b, Py_ssize_t n, int (*cmp)(const void *, const void *),
         const Receipt *receipts)
{
    int32_t *order = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    if (order == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        order[i] = (int32_t)i;
    sort_bulk = b;
    sort_receipts = receipts;
    int sorted = 1;
    for (Py_ssize_t i = 1; i < n && sorted; i++)
        sorted = cmp(&order[i - 1], &order[i]) < 0;
    if (!sorted)
        qsort(order, (size_t)n, sizeof(int32_t), cmp);
    return order;
}

static int
run(Engine *e, int32_t as_of)
{
    Bulk *b = e->bulk;
    int32_t *inv = in_order(b, b->invoices.n, cmp_invoice, NULL);
    int32_t *adj = inv ? in_order(b, b->adjustments.n, cmp_receipt, b->adjustments.v) : NULL;
    int32_t *pay = adj ? in_order(b, b->payments.n, cmp_receipt, b->payments.v) : NULL;
    int status = pay ? 0 : -1;
    Py_ssize_t i = 0, a = 0, p = 0;
    const int32_t never = INT32_MAX;
    while (status == 0) {
        /* Records dated after as-of do not exist yet; each kind is in date order. */
        int32_t di = i < b->invoices.n ? b->invoices.v[inv[i]].date : never;
        int32_t da = a < b->adjustments.n ? b->adjustments.v[adj[a]].date : never;
        int32_t dp = p < b->payments.n ? b->payments.v[pay[p]].date : never;
        di = di > as_of ? never : di;
        da = da > as_of ? never : da;
        dp = dp > as_of ? never : dp;
        if (di == never && da == never && dp == never)
            break;
        /* On one date: invoices, then adjustments, then payments. */
        if (di <= da && di <= dp)
            status = issue(e, inv[i++]);
        else if (da <= dp) {
            status = receive(e, &b->adjustments.v[adj[a]], adj[a]);
            a++;
        }
        else {
            status = receive(e, &b->payments.v[pay[p]], pay[p]);
            p++;
        }
    }
    PyMem_Free(inv);
    PyMem_Free(adj);
    PyMem_Free(pay);
    return status;
}

/* ------------------------------------------------------------ results */

static PyObject *DecimalType;

/* A Decimal of a value in 1/10000ths, at the currency's exponent. */
static PyObject *
to_decimal(int64_t value, int places)
{
    char digits[32], text[40];
    for (int i = places; i < SCALE_PLACES; i++)
        value /= 10; /* exact: the amounts have at most `places` decimals */
    int n = snprintf(digits, sizeof digits, "%0*lld", places + 1, (long long)value);
    if (places == 0)
        memcpy(text, digits, (size_t)n + 1);
    else {
        memcpy(text, digits, (size_t)(n - places));
        text[n - places] = '.';
        memcpy(text + n - places + 1, digits + n - places, (size_t)places + 1);
    }
    return PyObject_CallFunction(DecimalType, "s", text);
}

static PyObject *
to_date(int32_t ord)
{
    int y, m, d;
    civil(ord, &y, &m, &d);
    return PyDate_FromDate(y, m, d);
}

static PyObject *
span_text(Span s)
{
    return PyUnicode_DecodeUTF8(s.p, s.n, "strict");
}

static const char *KIND_NAMES[] = {"payment", "credit_note", "write_off", "discount"};

static PyObject *
item_tuple(Engine *e, int32_t invoice, int32_t w)
{
    Bulk *b = e->bulk;
    const Invoice *inv = &b->invoices.v[invoice];
    const Work *work = &b->works.v[w];
    const Currency *cur = &b->currencies[inv->currency];
    PyObject *number = work->number ? PyLong_FromLong(work->number) : Py_NewRef(Py_None);
    PyObject *owner = inv->owner.n ? span_text(inv->owner) : Py_NewRef(Py_None);
    /* (invoice, instalment, customer, currency, date, due, amount, open,
     *  disputed, owner) as settle.Item, the owner as the invoice gives it. */
    return Py_BuildValue("(NNOONNNNON)", span_text(inv->id), number,
                         PyList_GET_ITEM(b->customer_ids, inv->customer), cur->text,
                         to_date(inv->date), to_date(work->due),
                         to_decimal(work->amount, cur->places),
                         to_decimal(e->open[w], cur->places),
                         inv->disputed ? Py_True : Py_False, owner);
}

static PyObject *
credit_tuple(Engine *e, const Chunk *c)
{
    Bulk *b = e->bulk;
    const Account *a = &e->accounts.v[c->account];
    const Currency *cur = &b->currencies[a->currency];
    const Receipt *r = c->kind == A_PAYMENT ? &b->payments.v[c->ref] : &b->adjustments.v[c->ref];
    PyObject *waiting = c->waiting >= 0 ? span_text(b->invoices.v[c->waiting].id)
                                        : Py_NewRef(Py_None);
    /* (customer, currency, kind, ref, date, amount, waiting_for) as settle.Credit */
    return Py_BuildValue("(OOsNNNN)", PyList_GET_ITEM(b->customer_ids, a->customer),
                         cur->text, KIND_NAMES[c->kind], span_text(r->ref),
                         to_date(c->date), to_decimal(c->left, cur->places), waiting);
}

static void
engine_free(Engine *e)
{
    PyMem_Free(e->open);
    PyMem_Free(e->issued);
    PyMem_Free(e->wait_head);
    PyMem_Free(e->wait_tail);
    PyMem_Free(e->account_of);
    for (Py_ssize_t i = 0; i < e->accounts.n; i++) {
        FREE(e->accounts.v[i].heap);
        FREE(e->accounts.v[i].credits);
    }
    FREE(e->accounts);
    FREE(e->chunks);
    FREE(e->order);
}

static int
append_new(PyObject *list, PyObject *item)
{
    if (item == NULL)
        return -1;
    int failed = PyList_Append(list, item);
    Py_DECREF(item);
    return failed;
}

/* Bulk.settle(as_of_ordinal) -> (items, credits): the open items and the
 * credits as of that day, as settle(view, history=False) has them. */
static PyObject *
Bulk_settle(Bulk *self, PyObject *args)
{
    int as_of;
    if (!PyArg_ParseTuple(args, "i", &as_of))
        return NULL;
    if (self->broken) {
        PyErr_SetString(PyExc_RuntimeError, "a file was declined: load the careful way");
        return NULL;
    }
    Engine e;
    memset(&e, 0, sizeof e);
    e.bulk = self;
    Py_ssize_t ninv = self->invoices.n ? self->invoices.n : 1;
    Py_ssize_t nacc = (self->ncustomers ? self->ncustomers : 1) *
                      (self->ncurrencies ? self->ncurrencies : 1);
    e.open = PyMem_Calloc((size_t)(self->works.n ? self->works.n : 1), sizeof(int64_t));
    e.issued = PyMem_Calloc((size_t)ninv, 1);
    e.wait_head = PyMem_Malloc((size_t)ninv * sizeof(int32_t));
    e.wait_tail = PyMem_Malloc((size_t)ninv * sizeof(int32_t));
    e.account_of = PyMem_Malloc((size_t)nacc * sizeof(int32_t));
    PyObject *items = NULL, *credits = NULL, *result = NULL;
    if (!e.open || !e.issued || !e.wait_head || !e.wait_tail || !e.account_of) {
        PyErr_NoMemory();
        goto done;
    }
    memset(e.wait_head, 0xff, (size_t)ninv * sizeof(int32_t));
    memset(e.account_of, 0xff, (size_t)nacc * sizeof(int32_t));
    if (run(&e, as_of) < 0)
        goto done;
    items = PyList_New(0);
    credits = PyList_New(0);
    if (items == NULL || credits == NULL)
        goto done;
    /* Accounts in the order they were first met, each one's invoices in the
     * order they were issued (as settle() lists them). */
    Py_ssize_t *starts = PyMem_Calloc((size_t)e.accounts.n + 1, sizeof(Py_ssize_t));
    int32_t *by_account = PyMem_Malloc((size_t)(e.order.n ? e.order.n : 1) * sizeof(int32_t));
    if (starts == NULL || by_account == NULL) {
        PyMem_Free(starts);
        PyMem_Free(by_account);
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < e.order.n; k++) {
        const Invoice *inv = &self->invoices.v[e.order.v[k]];
        starts[e.account_of[(Py_ssize_t)inv->customer * self->ncurrencies + inv->currency] + 1]++;
    }
    for (Py_ssize_t k = 0; k < e.accounts.n; k++)
        starts[k + 1] += starts[k];
    for (Py_ssize_t k = 0; k < e.order.n; k++) {
        const Invoice *inv = &self->invoices.v[e.order.v[k]];
        int32_t acc = e.account_of[(Py_ssize_t)inv->customer * self->ncurrencies + inv->currency];
        by_account[starts[acc]++] = e.order.v[k];
    }
    int failed = 0;
    for (Py_ssize_t k = 0; k < e.order.n && !failed; k++) {
        int32_t invoice = by_account[k];
        const Invoice *inv = &self->invoices.v[invoice];
        for (int32_t w = inv->work; w < inv->work + inv->works && !failed; w++)
            if (e.open[w] != 0)
                failed = append_new(items, item_tuple(&e, invoice, w)) < 0;
    }
    PyMem_Free(starts);
    PyMem_Free(by_account);
    for (Py_ssize_t k = 0; k < e.accounts.n && !failed; k++) {
        Account *a = &e.accounts.v[k];
        for (Py_ssize_t j = a->head; j < a->credits.n && !failed; j++) {
            Chunk *c = &e.chunks.v[a->credits.v[j]];
            if (c->left > 0)
                failed = append_new(credits, credit_tuple(&e, c)) < 0;
        }
    }
    for (Py_ssize_t k = 0; k < e.chunks.n && !failed; k++) {
        Chunk *c = &e.chunks.v[k];
        if (c->state == CH_WAITING && c->left > 0)
            failed = append_new(credits, credit_tuple(&e, c)) < 0;
    }
    if (!failed)
        result = PyTuple_Pack(2, items, credits);
done:
    Py_XDECREF(items);
    Py_XDECREF(credits);
    engine_free(&e);
    return result;
}

/* Bulk.invoice_customer(id) -> the customer id of an invoice, or None. */
static PyObject *
Bulk_invoice_customer(Bulk *self, PyObject *arg)
{
    Span key;
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "an invoice id");
        return NULL;
    }
    key.p = PyUnicode_AsUTF8AndSize(arg, &key.n);
    if (key.p == NULL)
        return NULL;
    int32_t i = table_get(&self->invoice_ids, key);
    if (i < 0)
        Py_RETURN_NONE;
    return Py_NewRef(PyList_GET_ITEM(self->customer_ids, self->invoices.v[i].customer));
}

/* Bulk.counts() -> (invoices, payments, adjustments) */
static PyObject *
Bulk_counts(Bulk *self, PyObject *Py_UNUSED(ignored))
{
    return Py_BuildValue("(nnn)", self->invoices.n, self->payments.n, self->adjustments.n);
}

/* ------------------------------------------------------------ the type */

/* Bulk(customers, base_currency, minor_units): customers is a list of
 * (id, terms in days, currency code or None), the ledger's defaults applied. */
static int
Bulk_init(Bulk *self, PyObject *args, PyObject *kwds)
{
    PyObject *customers, *base, *minor;
    static char *names[] = {"customers", "base_currency", "minor_units", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!UO!", names, &PyList_Type, &customers,
                                     &base, &PyDict_Type, &minor))
        return -1;
    if (self->texts != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Bulk is initialised once");
        return -1;
    }
    self->texts = PyList_New(0);
    self->customer_ids = PyList_New(0);
    if (self->texts == NULL || self->customer_ids == NULL)
        return -1;
    self->minor_units = Py_NewRef(minor);
    Py_ssize_t n = PyList_GET_SIZE(customers);
    self->terms = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    self->customer_currency = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(int16_t));
    if (self->terms == NULL || self->customer_currency == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Span code;
    code.p = PyUnicode_AsUTF8AndSize(base, &code.n);
    if (code.p == NULL)
        return -1;
    int base_index = currency_index(self, code);
    if (base_index < 0) {
        if (base_index == -1)
            PyErr_SetString(PyExc_ValueError, "base_currency: a three-letter code");
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *id, *currency;
        int terms;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(customers, i), "UiO", &id, &terms, &currency))
            return -1;
        Span key;
        key.p = PyUnicode_AsUTF8AndSize(id, &key.n);
        if (key.p == NULL || PyList_Append(self->customer_ids, id) < 0)
            return -1;
        int added = table_add(&self->customers, key, (int32_t)i);
        if (added < 0)
            return -1;
        if (added == 0) {
            PyErr_SetString(PyExc_ValueError, "customers: an id twice");
            return -1;
        }
        self->terms[i] = terms;
        int c = base_index;
        if (currency != Py_None) {
            if (!PyUnicode_Check(currency) ||
                (code.p = PyUnicode_AsUTF8AndSize(currency, &code.n)) == NULL) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_TypeError, "a currency code or None");
                return -1;
            }
            c = currency_index(self, code);
            if (c < 0) {
                if (c == -1)
                    PyErr_SetString(PyExc_ValueError, "a customer's currency: a code");
                return -1;
            }
        }
        self->customer_currency[i] = (int16_t)c;
    }
    self->ncustomers = n;
    return 0;
}

static void
Bulk_dealloc(Bulk *self)
{
    Py_XDECREF(self->texts);
    Py_XDECREF(self->customer_ids);
    Py_XDECREF(self->minor_units);
    for (int i = 0; i < self->ncurrencies; i++)
        Py_XDECREF(self->currencies[i].text);
    PyMem_Free(self->terms);
    PyMem_Free(self->customer_currency);
    PyMem_Free(self->customers.slots);
    PyMem_Free(self->invoice_ids.slots);
    PyMem_Free(self->payment_ids.slots);
    PyMem_Free(self->adjustment_ids.slots);
    FREE(self->invoices);
    FREE(self->works);
    FREE(self->payments);
    FREE(self->adjustments);
    FREE(self->targets);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Bulk_methods[] = {
    {"read", (PyCFunction)Bulk_read, METH_VARARGS,
     "read(kind, text, rel) -> bool: take a whole CSV file (kind 0 invoices, "
     "1 payments, 2 adjustments); False: not sure of it, load the careful way."},
    {"read_records", (PyCFunction)Bulk_read_records, METH_VARARGS,
     "read_records(kind, records, lines, rel) -> bool: take a YAML file's records "
     "as fastpath.read_yaml_fast gives them; False: load the careful way."},
    {"settle", (PyCFunction)Bulk_settle, METH_VARARGS,
     "settle(as_of_ordinal) -> (items, credits): open items and credits as of that day."},
    {"invoice_customer", (PyCFunction)Bulk_invoice_customer, METH_O,
     "invoice_customer(id) -> the id of the invoice's customer, or None."},
    {"counts", (PyCFunction)Bulk_counts, METH_NOARGS,
     "counts() -> (invoices, payments, adjustments) read."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject BulkType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "arledger._bulk.Bulk",
    .tp_basicsize = sizeof(Bulk),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The bulk records of a ledger read from CSV, checked and settled natively.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Bulk_init,
    .tp_dealloc = (destructor)Bulk_dealloc,
    .tp_methods = Bulk_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "arledger._bulk",
    "The native lane for the bulk kinds: see arledger/bulk.py.", -1, NULL};

PyMODINIT_FUNC
PyInit__bulk(void)
{
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    PyObject *decimal = PyImport_ImportModule("decimal");
    if (decimal == NULL)
        return NULL;
    DecimalType = PyObject_GetAttrString(decimal, "Decimal");
    Py_DECREF(decimal);
    if (DecimalType == NULL || PyType_Ready(&BulkType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Bulk", (PyObject *)&BulkType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
