/* _asyncflow.c — the CPython binding of libasyncflow (the async-flow example's C library), with
 * timekeeper points at its entry and exit, so that the time spent inside the binding is measured.
 *
 * The C code of this extension (binding and library) records through the copy of libtimekeeper
 * inside `timekeeper` (timekeeper_capi.h), not a copy of its own: one segment, one TIMING stream and
 * one clock calibration for the Python and the C points of a request. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define TK_CAPI_IMPLEMENT
#include <timekeeper_capi.h>

#include "asyncflow.h"

PyMODINIT_FUNC PyInit__asyncflow(void);

static tk_label_t L_SEND_ENTRY, L_SEND_EXIT, L_GET_ENTRY, L_GET_EXIT;

typedef struct {
    PyObject_HEAD
    af_client *c;
    uint64_t client_id;
} ClientObject;

/* An unsigned 64-bit argument: ValueError below 0 or above 2**64-1, TypeError for a non-int. */
static int u64_arg(PyObject *o, void *out)
{
    if (!PyLong_Check(o) || PyBool_Check(o)) {
        PyErr_Format(PyExc_TypeError, "expected an int, not '%.100s'", Py_TYPE(o)->tp_name);
        return 0;
    }
    unsigned long long v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_ValueError, "expected an int in [0, 2**64-1], got %.60R", o);
        }
        return 0;
    }
    *(uint64_t *)out = v;
    return 1;
}

static ClientObject *open_client(ClientObject *self)
{
    if (!self->c)
        PyErr_SetString(PyExc_ValueError, "the client is closed");
    return self->c ? self : NULL;
}

static int Client_init(ClientObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"client_id", NULL};
    uint64_t id = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O&:Client", kwlist, u64_arg, &id))
        return -1;
    if (self->c) {
        PyErr_SetString(PyExc_RuntimeError, "Client.__init__ called twice");
        return -1;
    }
    int rc = af_client_new(id, &self->c);
    if (rc) {
        errno = -rc;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    self->client_id = id;
    return 0;
}

static void Client_dealloc(ClientObject *self)
{
    af_client_free(self->c);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* send(session, delay_ns, value) -> command id */
static PyObject *Client_send(ClientObject *self, PyObject *args)
{
    const uint64_t t0 = tk_now();
    uint64_t session, delay;
    long long value;
    if (!open_client(self) ||
        !PyArg_ParseTuple(args, "O&O&L:send", u64_arg, &session, u64_arg, &delay, &value))
        return NULL;
    /* stamped at entry, recorded once the session is known: it joins the caller's points */
    tk_point_at(L_SEND_ENTRY, t0, self->client_id, TK_ID_NONE, session, NULL, 0);
    int64_t cmd = af_send(self->c, session, delay, value);
    if (cmd < 0) {
        tk_point(L_SEND_EXIT, self->client_id, TK_ID_NONE, session, "error=1");
        errno = (int)-cmd;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    PyObject *r = PyLong_FromLongLong(cmd);
    tk_point(L_SEND_EXIT, self->client_id, (uint64_t)cmd, session, NULL);
    return r;
}

/* get_response(command) -> (ready, result or None, efd or -1) */
static PyObject *Client_get_response(ClientObject *self, PyObject *arg)
{
    const uint64_t t0 = tk_now();
    uint64_t command;
    if (!open_client(self) || !u64_arg(arg, &command))
        return NULL;
    tk_point_at(L_GET_ENTRY, t0, self->client_id, command, TK_ID_NONE, NULL, 0);
    int64_t result = 0;
    int efd = -1;
    int rc = af_get_response(self->c, command, &result, &efd);
    PyObject *r;
    if (rc < 0) {
        if (rc == -ENOENT)
            PyErr_Format(PyExc_KeyError, "no pending command %llu", (unsigned long long)command);
        else {
            errno = -rc;
            PyErr_SetFromErrno(PyExc_OSError);
        }
        r = NULL;
    } else if (rc == 1) {
        r = Py_BuildValue("(OLi)", Py_True, (long long)result, -1);
    } else {
        r = Py_BuildValue("(OOi)", Py_False, Py_None, efd);
    }
    tk_point(L_GET_EXIT, self->client_id, command, TK_ID_NONE, rc == 1 ? "ready=1" : "ready=0");
    return r;
}

static PyObject *Client_pending(ClientObject *self, PyObject *unused)
{
    (void)unused;
    if (!open_client(self))
        return NULL;
    return PyLong_FromUnsignedLongLong(af_pending(self->c));
}

static PyObject *Client_close(ClientObject *self, PyObject *unused)
{
    (void)unused;
    af_client_free(self->c);
    self->c = NULL;
    Py_RETURN_NONE;
}

static PyMethodDef Client_methods[] = {
    {"send", (PyCFunction)Client_send, METH_VARARGS,
     "send(session, delay_ns, value) -> command\n\nStarts an operation that doubles value and "
     "completes delay_ns later (0: at once)."},
    {"get_response", (PyCFunction)Client_get_response, METH_O,
     "get_response(command) -> (ready, result, efd)\n\nready: (True, result, -1), the command is "
     "forgotten. Pending: (False, None, efd), an eventfd that becomes readable at completion "
     "(owned by the library: read it, do not close it)."},
    {"pending", (PyCFunction)Client_pending, METH_NOARGS, "Commands sent and not yet taken."},
    {"close", (PyCFunction)Client_close, METH_NOARGS, "Stops the worker thread."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject Client_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_asyncflow.Client",
    .tp_basicsize = sizeof(ClientObject),
    .tp_dealloc = (destructor)Client_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = PyDoc_STR("Client(client_id=0): a libasyncflow client and its worker thread."),
    .tp_methods = Client_methods,
    .tp_init = (initproc)Client_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_asyncflow",
    .m_doc = "libasyncflow from Python: the C side of timekeeper's async-flow example.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__asyncflow(void)
{
    if (tk_capi_import() < 0) /* records go through `timekeeper`'s library */
        return NULL;
    L_SEND_ENTRY = tk_label("C_BIND_SEND_ENTRY");
    L_SEND_EXIT = tk_label("C_BIND_SEND_EXIT");
    L_GET_ENTRY = tk_label("C_BIND_GET_ENTRY");
    L_GET_EXIT = tk_label("C_BIND_GET_EXIT");
    if (PyType_Ready(&Client_Type) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "Client", (PyObject *)&Client_Type) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
