/* PLACEHOLDER, to be replaced at merge by the settlement kernel (STYLE.md
 * section 12), which the lead writes in /work/main. It only lets the build side
 * (setup.py, .ci/run, the tests of the build) be made and tested: a module
 * `_settle` with `kernel_version()` (1) and `SOURCE_SHA256`, the SHA-256 of this
 * file that setup.py passes in as a define. The real kernel must expose
 * SOURCE_SHA256 the same way (tests/conftest.py refuses a stale build by it).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#ifndef SOURCE_SHA256
#error "SOURCE_SHA256 comes from setup.py: build with pip install ."
#endif

static PyObject *
kernel_version(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyLong_FromLong(1);
}

static PyMethodDef methods[] = {
    {"kernel_version", kernel_version, METH_NOARGS,
     "The version of the kernel's interface."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef settle_module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_settle",
    .m_doc = "Placeholder of the settlement kernel.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__settle(void)
{
    PyObject *module = PyModule_Create(&settle_module);
    if (module != NULL
        && PyModule_AddStringConstant(module, "SOURCE_SHA256", SOURCE_SHA256) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
