"""How fast a columnar loader could be: a measurement, not a loader.

usage: python benchmarks/columnar_floor.py LEDGER_DIR [--threads 0|1]
           [--dates fast|masked] [--json]
needs: pip install pyarrow (not a dependency of arledger)

Issue 12's targets at 1M rows are below what a loader making a Python object
per record can reach (README, "Where the time goes"). This script reads the
invoices and payments of a generated ledger the way a columnar loader would,
to measure that floor on this machine. Its rule masks follow arledger/rules.py
closely but are simplified (amounts in minor units of two decimals, no
messages, no duplicate keys inside an allocations cell): it decides nothing
for arledger, and nothing in the package uses it.

No Python object per record: every step is a pyarrow.compute kernel over whole
columns. Steps timed (wall + CPU, summed over files):
  read      pyarrow.csv, all columns string, strings_can_be_null=False
            (+ customers.csv, for customer codes and currencies)
  trim      utf8_trim_whitespace on every column; '' -> null (validity bitmap)
  validate  rule masks (ids, dates, amounts, currencies, flags)
  convert   date32, int64 minor units, customer/currency codes (shared dicts)
  cross     invoice ids unique, payment.invoice exists / same customer /
            same currency, due >= date, over-invoice warnings
  compound  payments.allocations and invoices.schedule cells (split, validate,
            convert, sum per record, cross-check)
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import resource
import time
from collections import defaultdict

T_START = time.perf_counter()
C_START = time.process_time()
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402

from arledger.money import _iso4217  # noqa: E402

T_IMPORT = time.perf_counter() - T_START
C_IMPORT = time.process_time() - C_START
RSS_AFTER_IMPORT = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

CURRENCIES = pa.array(sorted(_iso4217()))  # the codes arledger accepts
FLAGS_TRUE = pa.array(["true", "yes", "1"])
FLAGS_ALL = pa.array(["true", "yes", "1", "false", "no", "0"])
D1900 = -25567  # 1900-01-01 as days since epoch
D2999 = 376199  # 2999-12-31
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
PLAIN_DECIMAL = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
MAX_DIGITS = 28
SCALE = 2  # minor units kept (USD/EUR); more places is its own bad mask

STEPS = ("read", "trim", "validate", "convert", "cross", "compound")
wall = defaultdict(float)
cpu = defaultdict(float)
bad = defaultdict(int)  # "kind.rule" -> rows
warn = defaultdict(int)


class step:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.t, self.c = time.perf_counter(), time.process_time()

    def __exit__(self, *exc):
        wall[self.name] += time.perf_counter() - self.t
        cpu[self.name] += time.process_time() - self.c


def count(name, mask):
    """Record a bad-row mask (null counts as not bad)."""
    n = pc.sum(mask).as_py() or 0 if mask is not None else 0
    bad[name] += n
    return mask


# ------------------------------------------------------------------ read
def read(path, threads):
    with open(path, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(use_threads=threads),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


# ------------------------------------------------------------------ trim
def _null_empty_chunk(a):
    t = pc.utf8_trim_whitespace(a)
    valid = pc.not_equal(t, "")  # fresh boolean array, offset 0, no nulls
    assert t.offset == 0 and valid.offset == 0 and t.null_count == 0
    return pa.Array.from_buffers(
        pa.string(), len(t), [valid.buffers()[1], t.buffers()[1], t.buffers()[2]]
    )


def trim(table):
    return {
        name: pa.chunked_array(
            [_null_empty_chunk(c) for c in table.column(name).chunks], pa.string()
        )
        for name in table.column_names
    }


# -------------------------------------------------------------- validate
def rule_required(kind, field, col):
    count(f"{kind}.{field}.empty", pc.is_null(col))


def rule_dates(kind, field, col, mode):
    """Returns date32 values (null where missing or bad)."""
    if mode == "fast":
        try:  # strict YYYY-MM-DD + real calendar date, or raises
            days = pc.cast(col, pa.date32())
            ints = days.cast(pa.int32())
            out = pc.or_(pc.less(ints, D1900), pc.greater(ints, D2999))
            count(f"{kind}.{field}.date", out)
            return days
        except pa.ArrowInvalid:
            pass  # some value is not a date: the masked path says which
    form = pc.match_substring_regex(col, ISO_DATE)
    parsed = pc.strptime(col, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime normalises 2025-02-30 to 2025-03-02: the day must read back
    dd = pc.cast(pc.utf8_slice_codeunits(col, 8, 10), pa.int8(), safe=False)
    real = pc.and_(pc.is_valid(parsed), pc.equal(pc.day(parsed), dd))
    days = pc.cast(parsed, pa.date32())
    ints = days.cast(pa.int32())
    inrange = pc.and_(pc.greater_equal(ints, D1900), pc.less_equal(ints, D2999))
    ok = pc.and_kleene(pc.and_kleene(form, real), inrange)
    badmask = pc.and_(pc.is_valid(col), pc.invert(pc.fill_null(ok, False)))
    count(f"{kind}.{field}.date", badmask)
    return pc.if_else(badmask, pa.scalar(None, pa.date32()), days)


def rule_amounts(kind, field, col):
    """Masks for plain decimal, <= 28 significant digits, > 0, <= SCALE places."""
    present = pc.is_valid(col)
    plain = pc.match_substring_regex(col, PLAIN_DECIMAL)
    count(f"{kind}.{field}.plain", pc.and_(present, pc.invert(plain)))
    digits = pc.replace_substring(pc.utf8_ltrim(col, characters="+-"), ".", "")
    sig = pc.utf8_length(pc.utf8_ltrim(digits, characters="0"))
    count(f"{kind}.{field}.digits", pc.greater(sig, MAX_DIGITS))
    # > 0, textually: no minus sign and some non-zero digit
    positive = pc.and_(
        pc.invert(pc.starts_with(col, "-")), pc.match_substring_regex(col, "[1-9]")
    )
    count(f"{kind}.{field}.positive", pc.and_(plain, pc.invert(positive)))
    dot = pc.find_substring(col, ".")
    places = pc.if_else(
        pc.less(dot, 0), 0, pc.subtract(pc.subtract(pc.utf8_length(col), dot), 1)
    )
    count(f"{kind}.{field}.places", pc.greater(places, SCALE))
    count(f"{kind}.{field}.int64", pc.greater(pc.utf8_length(digits), 18 - SCALE))
    return digits, places


def rule_currency(kind, field, col):
    known = pc.is_in(col, value_set=CURRENCIES, skip_nulls=True)
    count(f"{kind}.{field}.currency", pc.and_(pc.is_valid(col), pc.invert(known)))


def rule_flags(kind, field, col):
    lower = pc.utf8_lower(col)
    ok = pc.is_in(lower, value_set=FLAGS_ALL, skip_nulls=True)
    count(f"{kind}.{field}.flag", pc.and_(pc.is_valid(col), pc.invert(ok)))
    return lower


# --------------------------------------------------------------- convert
POW10 = pa.array([10**k for k in range(SCALE, -1, -1)], pa.int64())  # by places


def to_minor(digits, places):
    """Exact int64 minor units from the digit string (point removed) and places."""
    # rows refused above are zeroed so the cast cannot fail on them
    okp = pc.less_equal(places, SCALE)
    okd = pc.and_(
        pc.match_substring_regex(digits, r"^\d+$"),
        pc.less_equal(pc.utf8_length(digits), 18 - SCALE),
    )
    ok = pc.and_(okp, okd)
    units = pc.cast(pc.if_else(ok, digits, "0"), pa.int64())
    factor = pc.take(POW10, pc.if_else(okp, places, 0))
    return pc.multiply(units, factor)  # sign: amounts must be > 0 anyway


def codes(col, dictionary):
    """Dictionary-encode against a shared dictionary (index_in)."""
    idx = pc.index_in(col, value_set=dictionary, skip_nulls=True)
    return pa.chunked_array(
        [pa.DictionaryArray.from_arrays(c, dictionary) for c in idx.chunks]
    ), idx


# ------------------------------------------------------------------ main
def load_customers(root, threads):
    with step("read"):
        t = read(os.path.join(root, "customers.csv"), threads)
    with step("trim"):
        c = trim(t)
    with step("validate"):
        rule_required("customers", "id", c["id"])
        rule_currency("customers", "currency", c["currency"])
        ids = c["id"].combine_chunks()
        default = "USD"
        for line in open(os.path.join(root, "arledger.yaml")):
            if line.startswith("currency:"):
                default = line.split(":", 1)[1].strip()
        cur = pc.fill_null(c["currency"], default).combine_chunks()
        cur_code = pc.index_in(cur, value_set=CURRENCIES)
    return ids, cur_code


def load_kind(root, kind, threads, dates_mode, cust_ids):
    out = []
    for path in sorted(glob.glob(os.path.join(root, kind, "*.csv"))):
        with step("read"):
            table = read(path, threads)
        with step("trim"):
            c = trim(table)
        r = {}
        with step("validate"):
            if kind == "invoices":
                rule_required(kind, "id", c["id"])
            rule_required(kind, "customer", c["customer"])
            rule_required(kind, "amount", c["amount"])
            rule_required(kind, "date", c["date"])
            r["date"] = rule_dates(kind, "date", c["date"], dates_mode)
            if kind == "invoices":
                r["due"] = rule_dates(kind, "due", c["due"], dates_mode)
                r["disputed"] = rule_flags(kind, "disputed", c["disputed"])
            digits, places = rule_amounts(kind, "amount", c["amount"])
            rule_currency(kind, "currency", c["currency"])
        with step("convert"):
            r["amount"] = to_minor(digits, places)
            r["customer"], cidx = codes(c["customer"], cust_ids)
            count(
                f"{kind}.customer.unknown",
                pc.and_(pc.is_valid(c["customer"]), pc.is_null(cidx)),
            )
            r["currency"], _ = codes(c["currency"], CURRENCIES)
            if kind == "invoices":
                r["disputed"] = pc.is_in(
                    r["disputed"], value_set=FLAGS_TRUE, skip_nulls=True
                )
        for name in (
            "id",
            "invoice",
            "allocations",
            "schedule",
            "method",
            "reference",
            "description",
            "po",
        ):
            if name in c:
                r[name] = c[name]
        out.append(r)
    # one table per kind (chunked arrays, no copy)
    return {
        name: pa.chunked_array(
            [ch for r in out for ch in r[name].chunks], out[0][name].type
        )
        for name in out[0]
    }


def dict_indices(col):
    return pa.chunked_array([c.indices for c in col.chunks])


def cross(inv, pay, cust_currency):
    with step("cross"):
        inv_ids = inv["id"].combine_chunks()
        n = len(inv_ids)
        dup = n - inv_ids.null_count - pc.count_distinct(inv_ids).as_py()
        bad["invoices.id.duplicate"] += dup
        # due >= date
        count("invoices.due.before_date", pc.less(inv["due"], inv["date"]))
        inv_cust = dict_indices(inv["customer"]).combine_chunks()
        inv_cur = pc.coalesce(
            dict_indices(inv["currency"]).combine_chunks(),
            pc.take(cust_currency, inv_cust),
        )
        inv_amt = inv["amount"].combine_chunks()
        # payment.invoice
        idx = pc.index_in(pay["invoice"], value_set=inv_ids, skip_nulls=True)
        named = pc.is_valid(pay["invoice"])
        count("payments.invoice.unknown", pc.and_(named, pc.is_null(idx)))
        pay_cust = dict_indices(pay["customer"])
        count(
            "payments.invoice.customer", pc.not_equal(pc.take(inv_cust, idx), pay_cust)
        )
        pay_cur = dict_indices(pay["currency"])  # null: takes the invoice's
        count("payments.invoice.currency", pc.not_equal(pc.take(inv_cur, idx), pay_cur))
        warn["payments.invoice.over"] += (
            pc.sum(pc.greater(pay["amount"], pc.take(inv_amt, idx))).as_py() or 0
        )
        both = pc.and_(named, pc.is_valid(pay["allocations"]))
        count("payments.allocations.both", both)
    return inv_ids, inv_cust, inv_cur, inv_amt


def split_pairs(col):
    """'k=v;k=v' cells -> (parent row, key, value) flat arrays."""
    col = col.combine_chunks()
    parts = pc.split_pattern(col, ";")
    parent = pc.list_parent_indices(parts)
    flat = pc.utf8_trim_whitespace(pc.list_flatten(parts))
    kv = pc.split_pattern(flat, "=", max_splits=1)
    key = pc.utf8_trim_whitespace(pc.list_element(kv, 0))
    nparts = pc.list_value_length(kv)
    val = pc.if_else(
        pc.equal(nparts, 2),
        pc.list_element(
            pc.if_else(pc.equal(nparts, 2), kv, pa.scalar(["", ""], kv.type)), 1
        ),
        None,
    )
    return parent, key, pc.utf8_trim_whitespace(val)


def per_record_sum(parent, values, n):
    """Sum of values per parent record: (parent rows, sums)."""
    t = pa.table({"p": parent, "v": values}).group_by("p").aggregate([("v", "sum")])
    return t["p"], t["v_sum"]


def compound(inv, pay, inv_ids, inv_cust, inv_cur, cust_cur):
    with step("compound"):
        # payments.allocations: INV=amount;INV=amount
        parent, key, val = split_pairs(pay["allocations"])
        count("payments.allocations.pair", pc.or_(pc.equal(key, ""), pc.is_null(val)))
        digits, places = rule_amounts("payments", "allocations", val)
        amt = to_minor(digits, places)
        idx = pc.index_in(key, value_set=inv_ids, skip_nulls=True)
        count("payments.allocations.unknown", pc.is_null(idx))
        pay_cust = dict_indices(pay["customer"]).combine_chunks()
        count(
            "payments.allocations.customer",
            pc.not_equal(pc.take(inv_cust, idx), pc.take(pay_cust, parent)),
        )
        pay_cur = pc.coalesce(
            dict_indices(pay["currency"]).combine_chunks(), pc.take(cust_cur, pay_cust)
        )
        count(
            "payments.allocations.currency",
            pc.not_equal(pc.take(inv_cur, idx), pc.take(pay_cur, parent)),
        )
        p, s = per_record_sum(parent, amt, len(pay_cust))
        pay_amt = pay["amount"].combine_chunks()
        count("payments.allocations.sum", pc.greater(s, pc.take(pay_amt, p)))
        # invoices.schedule: DATE=amount;DATE=amount
        parent, key, val = split_pairs(inv["schedule"])
        count("invoices.schedule.pair", pc.or_(pc.equal(key, ""), pc.is_null(val)))
        due = rule_dates("invoices", "schedule", key, "fast")
        digits, places = rule_amounts("invoices", "schedule", val)
        amt = to_minor(digits, places)
        inv_date = inv["date"].combine_chunks()
        count("invoices.schedule.early", pc.less(due, pc.take(inv_date, parent)))
        p, s = per_record_sum(parent, amt, len(inv_date))
        inv_amt = inv["amount"].combine_chunks()
        count("invoices.schedule.sum", pc.not_equal(s, pc.take(inv_amt, p)))
        mx = pa.table({"p": parent, "d": due}).group_by("p").aggregate([("d", "max")])
        inv_due = inv["due"].combine_chunks()
        count(
            "invoices.schedule.due",
            pc.not_equal(pc.take(inv_due, mx["p"]), mx["d_max"]),
        )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dates", default="fast", choices=("fast", "masked"))
    ap.add_argument("--no-compound", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    threads = bool(a.threads)
    if not threads:
        pa.set_cpu_count(1)
        pa.set_io_thread_count(1)
    t0, c0 = time.perf_counter(), time.process_time()
    cust_ids, cust_cur = load_customers(a.root, threads)
    inv = load_kind(a.root, "invoices", threads, a.dates, cust_ids)
    pay = load_kind(a.root, "payments", threads, a.dates, cust_ids)
    inv_ids, inv_cust, inv_cur, _ = cross(inv, pay, cust_cur)
    if not a.no_compound:
        compound(inv, pay, inv_ids, inv_cust, inv_cur, cust_cur)
    total_w, total_c = time.perf_counter() - t0, time.process_time() - c0
    res = {
        "root": a.root,
        "threads": threads,
        "dates": a.dates,
        "rows": {"invoices": len(inv["amount"]), "payments": len(pay["amount"])},
        "wall": {k: round(wall[k], 4) for k in STEPS},
        "cpu": {k: round(cpu[k], 4) for k in STEPS},
        "total_wall": round(total_w, 4),
        "total_cpu": round(total_c, 4),
        "import_wall": round(T_IMPORT, 4),
        "import_cpu": round(C_IMPORT, 4),
        "rss_after_import_mb": round(RSS_AFTER_IMPORT / 1024, 1),
        "peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
        "arrow_pool_peak_mb": round(pa.default_memory_pool().max_memory() / 2**20, 1),
        "arrow_pool": pa.default_memory_pool().backend_name,
        "bad": {k: v for k, v in sorted(bad.items()) if v},
        "bad_total": sum(bad.values()),
        "warnings": dict(warn),
        "types": {k: str(v.type) for k, v in inv.items()},
    }
    print(json.dumps(res) if a.json else json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
