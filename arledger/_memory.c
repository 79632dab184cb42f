/* Memory faulted in ahead, on another core, for a big ledger's objects.
 *
 * Python keeps its small objects (every record, string, Decimal and tuple of a
 * ledger) in arenas of 1 MiB that its allocator (pymalloc) maps from the system
 * one at a time; each page of an arena is faulted in when an object first lands
 * on it. On a virtual machine that hands its free memory back to the host (free
 * page reporting, as Firecracker and many cloud VMs do), such a fault costs the
 * host's work too: measured on the development machine, 2 us a page while the
 * pages come from memory freed a moment ago, 13-28 us once they come from
 * memory the host took back, which is most of what a command at a million
 * invoices touches after its first seconds (1.4-4.2 s of its time, in the kernel).
 *
 * `prefault(n)` puts an arena allocator in front of pymalloc's own: a thread of
 * its own keeps up to `n` arenas mapped with their pages faulted in
 * (MAP_POPULATE), and pymalloc takes those first, so the faults are paid on the
 * other core while the command works. The thread takes no lock of Python's and
 * touches no Python object; an arena taken is an ordinary mapping of pymalloc's
 * size, which pymalloc's own free unmaps as it would any other. Where the ring
 * is empty (or off Linux), arenas are mapped as before.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if defined(__linux__)
#include <pthread.h>
#include <sys/mman.h>
#define PREFAULT 1
#endif

#ifdef PREFAULT

#define MOST 256 /* arenas held ready at most (256 MiB) */
#define SMALLEST_ARENA (256 << 10)

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wanted;
    PyObjectArenaAllocator pymalloc; /* the allocator this one stands before */
    void *ready[MOST];               /* arenas mapped and faulted in */
    int count;                       /* of them, in `ready` */
    int target;                      /* how many to keep ready; 0: none */
    size_t size;                     /* pymalloc's arena size, from its first arena */
    unsigned long taken, mapped;     /* arenas given from `ready`, and mapped then */
    int installed;
} R = {.lock = PTHREAD_MUTEX_INITIALIZER, .wanted = PTHREAD_COND_INITIALIZER};

/* The thread: keeps `R.target` arenas ready, mapping one while none waits on
 * the lock. Ends when a mapping fails (the system is short of memory: pymalloc
 * maps its own, and says so if that fails too). */
static void *keep_ready(void *unused) {
    (void)unused;
    pthread_mutex_lock(&R.lock);
    for (;;) {
        while (R.count >= R.target || R.size == 0) pthread_cond_wait(&R.wanted, &R.lock);
        size_t size = R.size;
        pthread_mutex_unlock(&R.lock);
        void *arena = mmap(NULL, size, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        pthread_mutex_lock(&R.lock);
        if (arena == MAP_FAILED) break;
        R.ready[R.count++] = arena; /* only this thread adds: still < target */
    }
    R.target = 0;
    pthread_mutex_unlock(&R.lock);
    return NULL;
}

/* pymalloc asks for an arena (called holding the GIL). */
static void *take(void *unused, size_t size) {
    (void)unused;
    void *arena = NULL;
    pthread_mutex_lock(&R.lock);
    /* Python maps its threads' frame stacks through the same allocator, in
     * chunks of 16 KiB and up; pymalloc's arenas are 256 KiB or 1 MiB. */
    if (R.size == 0 && size >= SMALLEST_ARENA) R.size = size;
    if (size == R.size && R.count > 0) {
        arena = R.ready[--R.count];
        R.taken++;
    } else if (size == R.size) {
        R.mapped++;
    }
    pthread_cond_signal(&R.wanted);
    pthread_mutex_unlock(&R.lock);
    return arena != NULL ? arena : R.pymalloc.alloc(R.pymalloc.ctx, size);
}

/* pymalloc gives an arena back: every arena is a mapping of its own size. */
static void give_back(void *unused, void *arena, size_t size) {
    (void)unused;
    R.pymalloc.free(R.pymalloc.ctx, arena, size);
}

/* Around a fork: the child has no thread to keep arenas ready; what was ready
 * stays mapped in it, unused. */
static void before_fork(void) { pthread_mutex_lock(&R.lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&R.lock); }
static void after_fork_child(void) {
    pthread_mutex_init(&R.lock, NULL);
    pthread_cond_init(&R.wanted, NULL);
    R.count = 0;
    R.target = 0;
}

#endif /* PREFAULT */

PyDoc_STRVAR(prefault_doc,
"prefault(arenas) -> bool\n\n"
"Keep up to `arenas` of pymalloc's arenas (1 MiB each) faulted in ahead by a\n"
"thread of their own, for the rest of the process. Once per process: a later\n"
"call changes nothing. False where it cannot be done (not Linux, or no thread\n"
"could be started).");

static PyObject *prefault(PyObject *Py_UNUSED(module), PyObject *arg) {
    long arenas = PyLong_AsLong(arg);
    if (arenas == -1 && PyErr_Occurred()) return NULL;
#ifdef PREFAULT
    if (R.installed) Py_RETURN_TRUE;
    if (arenas <= 0) Py_RETURN_FALSE;
    R.target = arenas < MOST ? (int)arenas : MOST;
    pthread_attr_t attr;
    pthread_t thread;
    if (pthread_attr_init(&attr) != 0) Py_RETURN_FALSE;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int failed = pthread_create(&thread, &attr, keep_ready, NULL);
    pthread_attr_destroy(&attr);
    if (failed) {
        R.target = 0;
        Py_RETURN_FALSE;
    }
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    PyObject_GetArenaAllocator(&R.pymalloc);
    PyObjectArenaAllocator ahead = {NULL, take, give_back};
    PyObject_SetArenaAllocator(&ahead);
    R.installed = 1;
    Py_RETURN_TRUE;
#else
    Py_RETURN_FALSE;
#endif
}

PyDoc_STRVAR(counts_doc,
"counts() -> (taken, mapped)\n\n"
"Arenas pymalloc took ready since `prefault`, and arenas it had mapped then\n"
"because none was ready (other mappings through its allocator, such as the\n"
"frame stacks of Python's threads, are not counted).");

static PyObject *counts(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(args)) {
#ifdef PREFAULT
    pthread_mutex_lock(&R.lock);
    unsigned long taken = R.taken, mapped = R.mapped;
    pthread_mutex_unlock(&R.lock);
    return Py_BuildValue("(kk)", taken, mapped);
#else
    return Py_BuildValue("(ii)", 0, 0);
#endif
}

static PyMethodDef methods[] = {
    {"prefault", prefault, METH_O, prefault_doc},
    {"counts", counts, METH_NOARGS, counts_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "arledger._memory",
    "Memory faulted in ahead, on another core, for a big ledger's objects.",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__memory(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
#ifdef SOURCE_SHA256
    if (PyModule_AddStringConstant(m, "SOURCE_SHA256", SOURCE_SHA256) < 0) {
        Py_DECREF(m);
        return NULL;
    }
#endif
    return m;
}
